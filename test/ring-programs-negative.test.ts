// Completion programs can't touch unregistered memory through any helper or any SQE field, can't
// name fds they were not given, can't spin or wait without progress (docs/completion-programs.md).
// One program (neg.c `submit`) submits the SQE the test describes and reports the CQE it gets.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor, tempFile } from './helpers.js';
import { skipReason, load, mapView, mapI64, addr, rejectsWith, stat, E } from './ring-programs-util.js';
import type { Ring } from '../src/index.js';
import type { LoadedObject } from '../src/programs/index.js';

const skip = skipReason;
const OP = { NOP: 0, READV: 1, WRITEV: 2, FSYNC: 3, TIMEOUT: 11, ACCEPT: 13, OPENAT: 18, CLOSE: 19, STATX: 21, READ: 22, WRITE: 23, SEND: 26, SENDMSG: 9, SOCKET: 45 } as const;
const IOSQE = { FIXED_FILE: 1, IO_LINK: 4, BUFFER_SELECT: 32 } as const;

interface Sub {
  op: number;
  fd?: number;
  addr?: bigint;
  len?: number;
  off?: bigint;
  flags?: number;
  cq?: number;
  modern?: boolean;
}

/** A ring (CQ 1 of 8 entries), neg.c loaded, the given program registered. */
function setup(t: TestContext, program: string): { ring: Ring; obj: LoadedObject; idx: number; emitted: { userData: bigint; res: number }[] } {
  const ring = ringFor(t, { cqs: [8] });
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program(program));
  const emitted: { userData: bigint; res: number }[] = [];
  ring.onCompletion((c) => emitted.push({ userData: c.userData, res: c.res }));
  return { ring, obj, idx, emitted };
}

/** Runs neg.c `submit` with the SQE `s`; returns what 164/1000 returned and the CQE's res. */
async function submit(t: TestContext, s: Sub, prep?: (ring: Ring) => Partial<Sub> | void): Promise<{ ret: bigint; res: number; ud: bigint }> {
  const { ring, obj, idx, emitted } = setup(t, 'submit');
  s = { ...s, ...prep?.(ring) };
  const a = mapView(obj, 'args');
  a.setBigUint64(0, s.addr ?? 0n, true);
  a.setUint32(8, s.len ?? 0, true);
  a.setInt32(12, s.fd ?? -1, true);
  a.setUint32(16, s.op, true);
  a.setUint32(20, s.flags ?? 0, true);
  a.setUint32(24, s.cq ?? 1, true);
  a.setUint32(28, s.modern ? 1 : 0, true);
  a.setBigUint64(32, s.off ?? 0n, true);
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(emitted.length, 1, 'one report on CQ 0');
  assert.equal(emitted[0]!.userData, 0xbadn);
  assert.equal(mapI64(obj, 'out', 1), BigInt(emitted[0]!.res));
  return { ret: mapI64(obj, 'out', 0), res: emitted[0]!.res, ud: mapI64(obj, 'out', 2) };
}

for (const modern of [false, true]) {
  const h = modern ? '1000 rf_io_uring_submit_cq' : '164 iouring_queue_sqe';
  test(`${h}: READ into live memory registered on another ring only → 0, error CQE -EFAULT with the SQE's user_data`, { skip }, async (t) => {
    const f = tempFile('abcdefgh');
    t.after(f.cleanup);
    const fd = openSync(f.path, 'r');
    t.after(() => closeSync(fd));
    const outside = Buffer.alloc(64);
    // a real, live buffer: its address comes from another ring, this ring never registered it
    const other = ringFor(t, { cqs: [1] });
    const outsideAddr = addr(other.registerRegion(outside));
    const r = await submit(t, { op: OP.READ, fd, len: 8, addr: outsideAddr, modern }, (ring) => {
      ring.allowFd(fd);
      ring.registerRegion(Buffer.alloc(64)); // a region exists, but not there
    });
    assert.equal(r.ret, 0n, 'rejected');
    assert.equal(r.res, -E.EFAULT);
    assert.equal(r.ud, 0xbadn, 'the rejection CQE carries the SQE user_data');
    assert.ok(outside.equals(Buffer.alloc(64)), 'the kernel never wrote there');
  });

  test(`${h}: READ straddling the end of a registered region → -EFAULT`, { skip }, async (t) => {
    const f = tempFile('x'.repeat(256));
    t.after(f.cleanup);
    const fd = openSync(f.path, 'r');
    t.after(() => closeSync(fd));
    const buf = Buffer.alloc(128);
    const r = await submitWithRegion(t, modern, fd, buf.subarray(0, 64), 32, 64);
    assert.equal(r.ret, 0n);
    assert.equal(r.res, -E.EFAULT);
    assert.ok(buf.equals(Buffer.alloc(128)), 'nothing was read');
  });

  test(`${h}: fd the program was not given → -EBADF`, { skip }, async (t) => {
    const f = tempFile('abcdefgh');
    t.after(f.cleanup);
    const fd = openSync(f.path, 'r'); // open in this process, but not allowFd()
    t.after(() => closeSync(fd));
    const r = await submitWithRegion(t, modern, fd, Buffer.alloc(16), 0, 8, false);
    assert.equal(r.ret, 0n);
    assert.equal(r.res, -E.EBADF);
  });

  test(`${h}: opcodes programs may not submit, FIXED_FILE and BUFFER_SELECT → -EINVAL`, { skip }, async (t) => {
    for (const s of [
      { op: OP.SENDMSG, fd: 0 },
      { op: OP.SOCKET, fd: 2 },
      { op: 0x7f },
      { op: 0xa1 },
      { op: OP.NOP, flags: IOSQE.FIXED_FILE },
      { op: OP.NOP, flags: IOSQE.BUFFER_SELECT },
    ]) {
      await t.test(`op ${s.op} flags ${'flags' in s ? s.flags : 0}`, async (tt) => {
        const got = await submit(tt, { ...s, modern });
        assert.equal(got.ret, 0n);
        assert.equal(got.res, -E.EINVAL);
      });
    }
  });

  test(`${h}: OPENAT whose path is outside registered memory → -EFAULT; a path without NUL inside its region → -EFAULT`, { skip }, async (t) => {
    // (the dirfd is a granted directory: without a grant the open is refused first, -EACCES; test/security/files.test.ts)
    await t.test('unregistered path', async (tt) => {
      const r = await submit(tt, { op: OP.OPENAT, addr: 0x10000n, modern }, (ring) => ({ fd: ring.allowDir('/etc') }));
      assert.equal(r.res, -E.EFAULT);
    });
    await t.test('path runs past the end of its region', async (tt) => {
      const path = Buffer.from('hostname'); // no NUL
      const { ring, obj, idx, emitted } = setup(tt, 'submit');
      const a = mapView(obj, 'args');
      a.setBigUint64(0, addr(ring.registerRegion(path, { writable: false })), true);
      a.setInt32(12, ring.allowDir('/etc'), true);
      a.setUint32(16, OP.OPENAT, true);
      a.setUint32(24, 1, true);
      a.setUint32(28, modern ? 1 : 0, true);
      assert.equal(await ring.runProgram(idx), 0);
      assert.deepEqual(emitted, [{ userData: 0xbadn, res: -E.EFAULT }]);
    });
  });

  test(`${h}: TIMEOUT whose timespec is not registered → -EFAULT`, { skip }, async (t) => {
    const r = await submit(t, { op: OP.TIMEOUT, addr: 0x20000n, len: 1, modern });
    assert.equal(r.res, -E.EFAULT);
  });

  test(`${h}: a NOP is accepted (1) and its CQE comes back on the named CQ unchanged`, { skip }, async (t) => {
    const r = await submit(t, { op: OP.NOP, modern });
    assert.equal(r.ret, 1n);
    assert.equal(r.res, 0);
    assert.equal(r.ud, 0xbadn);
  });
}

/** neg.c `submit` with a READ/WRITE-style SQE at region+off of len bytes. */
async function submitWithRegion(t: TestContext, modern: boolean, fd: number, view: Buffer, off: number, len: number, allow = true, op: number = OP.READ, writable = true) {
  const { ring, obj, idx, emitted } = setup(t, 'submit');
  if (allow) ring.allowFd(fd);
  const reg = ring.registerRegion(view, { writable });
  view.set(reg.bytes); // the region is the ring's memory (a copy of view): show the caller what landed there later
  const a = mapView(obj, 'args');
  a.setBigUint64(0, addr(reg, off), true);
  a.setUint32(8, len, true);
  a.setInt32(12, fd, true);
  a.setUint32(16, op, true);
  a.setUint32(24, 1, true);
  a.setUint32(28, modern ? 1 : 0, true);
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(emitted.length, 1);
  view.set(reg.bytes);
  return { ret: mapI64(obj, 'out', 0), res: emitted[0]!.res };
}

test('164: an SQE naming a CQ that does not exist → -EINVAL (its CQE goes to CQ 0)', { skip }, async (t) => {
  const { ring, obj, idx, emitted } = setup(t, 'submit');
  const a = mapView(obj, 'args');
  a.setUint32(16, OP.NOP, true);
  a.setUint32(24, 9, true); // CQ 9: the program waits on it too, so it gets -EINVAL for the wait
  await assert.rejects(ring.runProgram(idx));
  assert.equal(mapI64(obj, 'out', 0), 0n, 'rejected');
  assert.ok(emitted.some((c) => c.userData === 0xbadn && c.res === -E.EINVAL), `the rejection CQE is on CQ 0: ${JSON.stringify(emitted, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
});

test('164: len other than 64 → -EINVAL, nothing queued', { skip }, async (t) => {
  const { ring, obj, idx } = setup(t, 'submit_badlen');
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(mapI64(obj, 'out', 0), BigInt(-E.EINVAL));
  assert.equal(mapI64(obj, 'out', 4), BigInt(-E.EINVAL));
  assert.equal(ring.cq(1).ready, 0);
});

test('READ/WRITE inside a registered region are accepted; WRITE from a read-only region is fine, READ into it is -EFAULT', { skip }, async (t) => {
  const f = tempFile('0123456789abcdef');
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r+');
  t.after(() => closeSync(fd));
  const ok = Buffer.alloc(16);
  const r1 = await submitWithRegion(t, false, fd, ok, 4, 8);
  assert.equal(r1.ret, 1n);
  assert.equal(r1.res, 8);
  assert.equal(ok.toString('latin1', 4, 12), '01234567');
  const ro = Buffer.from('WXYZ');
  const r2 = await submitWithRegion(t, false, fd, ro, 0, 4, true, OP.WRITE, false);
  assert.equal(r2.res, 4);
  const r3 = await submitWithRegion(t, false, fd, Buffer.alloc(8), 0, 8, true, OP.READ, false);
  assert.equal(r3.res, -E.EFAULT);
});

for (const [what, off, writable, toRes, fromRes] of [
  ['an unregistered pointer', -1, true, -E.EFAULT, -E.EFAULT],
  ['a pointer straddling the end of a region', 12, true, -E.EFAULT, -E.EFAULT],
  ['a read-only region (167 writes)', 0, false, -E.EFAULT, 0],
  ['a writable region', 0, true, 0, 0],
] as const) {
  test(`167 bpf_copy_to_user / 148 bpf_copy_from_user with ${what}`, { skip }, async (t) => {
    const { ring, obj, idx } = setup(t, 'copy');
    const reg = ring.registerRegion(Buffer.alloc(16, 0xee), { writable });
    const buf = reg.bytes;
    mapView(obj, 'args').setBigUint64(0, off < 0 ? 0x30000n : addr(reg, off), true);
    assert.equal(await ring.runProgram(idx), 0);
    assert.equal(mapI64(obj, 'out', 0), BigInt(toRes), '167');
    assert.equal(mapI64(obj, 'out', 4), BigInt(fromRes), '148');
    if (toRes === 0) assert.equal(buf.readBigUInt64LE(0), 0x1122334455667788n);
    else if (off >= 0) assert.ok(buf.equals(Buffer.alloc(16, 0xee)), 'region untouched');
    if (fromRes !== 0) assert.equal(mapI64(obj, 'out', 5), 0n, '148 zeroes dst on failure');
  });
}

test('165 emit / 166 reap with a CQ that does not exist → -EINVAL; 166 with len != 16 → -EINVAL', { skip }, async (t) => {
  const { ring, obj, idx } = setup(t, 'cq');
  mapView(obj, 'args').setUint32(24, 5, true);
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(mapI64(obj, 'out', 0), BigInt(-E.EINVAL), '165');
  assert.equal(mapI64(obj, 'out', 4), BigInt(-E.EINVAL), '166');
  assert.equal(mapI64(obj, 'out', 5), BigInt(-E.EINVAL), '166 len 32');
});

test('165/166 on an existing empty CQ: emit 0, reap pops it back', { skip }, async (t) => {
  const { ring, obj, idx } = setup(t, 'cq');
  mapView(obj, 'args').setUint32(24, 1, true);
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(mapI64(obj, 'out', 0), 0n);
  assert.equal(mapI64(obj, 'out', 4), 0n);
  assert.equal(ring.cq(1).ready, 0);
});

test('a direct load from an unregistered address: the program request rejects with EFAULT', { skip }, async (t) => {
  const { ring, obj, idx } = setup(t, 'load');
  ring.registerRegion(Buffer.alloc(64));
  mapView(obj, 'args').setBigUint64(0, 0x40000n, true);
  await rejectsWith(ring.runProgram(idx), 'EFAULT');
  assert.equal(mapI64(obj, 'out', 3), 1n, 'it ran');
  assert.equal(mapI64(obj, 'out', 5), 0n, 'the load never produced a value');
});

test('direct loads/stores: a registered region works, a store into a read-only one is EFAULT', { skip }, async (t) => {
  const { ring, obj, idx } = setup(t, 'load');
  const init = Buffer.alloc(8);
  init.writeBigInt64LE(-42n);
  const ro = ring.registerRegion(init, { writable: false });
  const buf = ro.bytes;
  mapView(obj, 'args').setBigUint64(0, addr(ro), true);
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(mapI64(obj, 'out', 5), -42n);
  const s = load('neg.c');
  const sidx = ring.registerProgram(s.program('store'));
  mapView(s, 'args').setBigUint64(0, addr(ro), true);
  await rejectsWith(ring.runProgram(sidx), 'EFAULT');
  assert.equal(buf.readBigInt64LE(0), -42n, 'untouched');
  const rw = ring.registerRegion(8);
  const w = rw.bytes;
  mapView(s, 'args').setBigUint64(0, addr(rw), true);
  assert.equal(await ring.runProgram(sidx), 0);
  assert.equal(w.readBigUInt64LE(0), 0x5555555555555555n);
});

test('an infinite loop: the instruction budget stops it with ELOOP', { skip }, async (t) => {
  const ring = ringFor(t, { programBudget: 100_000 } as Parameters<typeof ringFor>[1]);
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program('spin'));
  await rejectsWith(ring.runProgram(idx), 'ELOOP');
  const iters = mapI64(obj, 'out', 4);
  assert.ok(iters > 1000n && iters < 100_000n, `looped ${iters} times within a budget of 100000 instructions`);
  assert.equal(stat(ring, 'budgetStops'), 1, 'stats().budgetStops');
});

test('a program that waits on an already-satisfied count without progress: stopped with ELOOP after 64 re-runs', { skip }, async (t) => {
  const ring = ringFor(t, { cqs: [4] });
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program('stuck'));
  await rejectsWith(ring.runProgram(idx), 'ELOOP');
  assert.equal(mapI64(obj, 'out', 0), 0n, 'the CQE it waits on was emitted');
  const runs = mapI64(obj, 'out', 3);
  assert.ok(runs >= 64n && runs <= 66n, `ran ${runs} times (first run + 64 re-runs without progress)`);
  assert.equal(ring.cq(1).ready, 1, 'the CQE it never reaped is still there');
});

test('a program asking to wait on a CQ that does not exist completes with EINVAL', { skip }, async (t) => {
  const ring = ringFor(t, { cqs: [4] });
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program('badwait'));
  await rejectsWith(ring.runProgram(idx), 'EINVAL');
  assert.equal(mapI64(obj, 'out', 3), 1n);
});
