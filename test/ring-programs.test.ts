// Completion programs on the ring (docs/completion-programs.md, issue 4 item 7): C programs
// compiled with clang (test/programs/ring/*.c; skipped without clang) or shipped prebuilt
// (programs/*.bpf.o; need no clang), registered with a ring, run as requests against the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { op, O } from '../src/index.js';
import { ringFor, tempDir, tempFile, pattern, lacksFlag, CPU_TIME_SCALE } from './helpers.js';
import { skipReason, noEngine, load, mapView, mapI64, addr, rejectsWith, E } from './ring-programs-util.js';
import { loadObject, builtinObject } from '../src/programs/index.js';

const skip = skipReason;
/** Tests of the shipped programs (programs/*.bpf.o) need no clang. */
const skipBuiltin = noEngine;

/** Collects CQ 0 completions that belong to no JS promise (program-emitted). */
function collect(ring: { onCompletion(fn: (c: { userData: bigint; res: number; flags: number }) => void): void }) {
  const got: { userData: bigint; res: number; flags: number }[] = [];
  ring.onCompletion((c) => got.push({ userData: c.userData, res: c.res, flags: c.flags }));
  return got;
}

test('read(open()): the fd returned by OPENAT is propagated into the READ by the program; JS wakes at most once', { skip: skipBuiltin }, async (t) => {
  const data = pattern(3000);
  const f = tempFile(data);
  t.after(f.cleanup);
  const ring = ringFor(t, { cqs: [64] });
  const obj = loadObject(builtinObject('read_open'));
  const idx = ring.registerProgram(obj.program('iouring.s/read_open'));
  const path = Buffer.from(basename(f.path) + '\0');
  const dirfd = ring.allowDir(dirname(f.path)); // programs open files only beneath a grant
  const rp = ring.registerRegion(path, { writable: false });
  const rb = ring.registerRegion(4096);
  const buf = rb.bytes;
  assert.equal(rp.length, path.length);
  assert.equal(rb.length, 4096);
  const a = mapView(obj, 'args');
  a.setBigUint64(0, addr(rp), true);
  a.setBigUint64(8, addr(rb), true);
  a.setUint32(16, buf.length, true);
  a.setInt32(20, dirfd, true);
  const emitted = collect(ring);
  const w0 = ring.stats().wakeups;
  assert.equal(await ring.runProgram(idx, { userData: 7n }), 0);
  const w1 = ring.stats().wakeups;
  assert.deepEqual(emitted, [{ userData: 0xa0a0n, res: 3000, flags: 0 }], 'one CQE to CQ 0 with the byte count');
  assert.ok(buf.subarray(0, 3000).equals(data), 'the bytes landed in the registered buffer');
  const st = mapView(obj, 'state');
  assert.equal(st.getUint32(0, true), 4, 'open, read, close, done: 4 steps');
  assert.ok(st.getInt32(4, true) >= 0, 'fd from openat');
  assert.equal(st.getUint32(12, true), 4, 'the program ran 4 times');
  assert.ok(w1 - w0 <= 1, `JS woke ${w1 - w0} times for the whole open/read/close chain (expected at most 1)`);
  assert.equal(ring.cq(1).ready, 0, 'the program reaped every CQE of CQ 1');
});

test('read(open()) of a missing file: the OPENAT error reaches CQ 0 through the program', { skip: skipBuiltin }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = ringFor(t, { cqs: [64] });
  const obj = loadObject(builtinObject('read_open'));
  const idx = ring.registerProgram(obj.program('read_open'));
  const path = Buffer.from('missing\0');
  const buf = Buffer.alloc(64);
  const a = mapView(obj, 'args');
  a.setBigUint64(0, addr(ring.registerRegion(path, { writable: false })), true);
  a.setBigUint64(8, addr(ring.registerRegion(buf)), true);
  a.setUint32(16, 64, true);
  a.setInt32(20, ring.allowDir(dir), true);
  const emitted = collect(ring);
  assert.equal(await ring.runProgram(idx), 0);
  assert.deepEqual(emitted, [{ userData: 0xa0a0n, res: -E.ENOENT, flags: 0 }]);
});

test('timer: N ticks through 1 ms TIMEOUTs (modern helper 1000) without waking JS, then one CQE', { skip }, async (t) => {
  const N = 20;
  const ring = ringFor(t, { cqs: [8] });
  const obj = load('timer.c');
  const idx = ring.registerProgram(obj.program('timer'));
  const ts = new BigInt64Array([0n, 1_000_000n]); // struct __kernel_timespec { 0 s, 1 ms }
  const r = ring.registerRegion(ts, { writable: false });
  const a = mapView(obj, 'args');
  a.setBigUint64(0, addr(r), true);
  a.setUint32(8, N, true);
  const emitted = collect(ring);
  const w0 = ring.stats().wakeups;
  const t0 = performance.now();
  assert.equal(await ring.runProgram(idx, { userData: 1n }), 0);
  const ms = performance.now() - t0;
  const w1 = ring.stats().wakeups;
  assert.deepEqual(emitted, [{ userData: 0x71c4n, res: N, flags: 0 }]);
  assert.equal(mapI64(obj, 'ticks', 0), BigInt(N), 'ticks counted in the map');
  assert.equal(mapI64(obj, 'ticks', 1), BigInt(N + 1), 'one run to arm + one per tick');
  assert.equal(mapI64(obj, 'ticks', 2), 0n, 'every timeout completed with -ETIME');
  assert.equal(mapI64(obj, 'ticks', 3), BigInt(N), 'timeouts armed');
  assert.ok(ms >= N * 0.9, `${N} ticks of 1 ms took ${ms.toFixed(1)} ms`);
  assert.equal(w1 - w0, 1, `JS woke ${w1 - w0} times for ${N} ticks (expected exactly 1)`);
});

test('ping-pong: two program requests pass a counter through each other\'s CQs until N', { skip }, async (t) => {
  const N = 10;
  const ring = ringFor(t, { cqs: [4, 4] });
  const obj = load('pingpong.c');
  const idx = ring.registerProgram(obj.program('pingpong'));
  const emitted = collect(ring);
  const ud = (me: number, peer: number, starter: boolean) => BigInt(me | (peer << 8) | (starter ? 1 << 16 : 0)) | (BigInt(N) << 32n);
  const w0 = ring.stats().wakeups;
  // the waiter first, then the starter, in one submission
  const [b, a] = ring.chain([op.program(idx, { userData: ud(2, 1, false) }), op.program(idx, { userData: ud(1, 2, true) })]);
  assert.deepEqual(await Promise.all([a, b]), [0, 0]);
  const w1 = ring.stats().wakeups;
  assert.deepEqual(emitted, [{ userData: 0xf1n, res: N, flags: 0 }], 'the side that received N reports it on CQ 0');
  assert.equal(mapI64(obj, 'got', 1), BigInt(N / 2), 'CQ 1 side received 2, 4, …, N');
  assert.equal(mapI64(obj, 'got', 2), BigInt(N / 2), 'CQ 2 side received 1, 3, …, N-1');
  assert.equal(ring.cq(1).ready + ring.cq(2).ready, 0, 'every message was reaped');
  assert.equal(ring.cq(1).dropped + ring.cq(2).dropped, 0);
  assert.ok(w1 - w0 <= 2, `JS woke ${w1 - w0} times for ${N} messages`);
});

test('file writer keeps QD 4: K blocks from a registered buffer, at most 4 writes in flight, then fsync', { skip }, async (t) => {
  const K = 13;
  const BS = 4096;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'out');
  const fd = openSync(path, 'w');
  t.after(() => closeSync(fd));
  const ring = ringFor(t, { cqs: [16] });
  const obj = load('write_qd.c');
  const idx = ring.registerProgram(obj.program('write_qd'));
  const data = pattern(K * BS, 7);
  const r = ring.registerRegion(data, { writable: false });
  ring.allowFd(fd);
  const a = mapView(obj, 'args');
  a.setBigUint64(0, addr(r), true);
  a.setUint32(8, BS, true);
  a.setUint32(12, K, true);
  a.setInt32(16, fd, true);
  const emitted = collect(ring);
  assert.equal(await ring.runProgram(idx), 0);
  assert.deepEqual(emitted, [{ userData: 0xd0n, res: K * BS, flags: 0 }]);
  assert.ok(readFileSync(path).equals(data), 'file content = the registered buffer');
  assert.equal(mapI64(obj, 'stats', 0), 4n, 'max in flight was exactly 4');
  assert.equal(mapI64(obj, 'stats', 1), BigInt(K), 'writes submitted');
  assert.equal(mapI64(obj, 'stats', 2), BigInt(K), 'writes completed');
  assert.equal(mapI64(obj, 'stats', 4), 0n, 'no short or failed write');
});

test('decide: the program reads a registered buffer and picks the next request from its bytes', { skip }, async (t) => {
  const f = tempFile('hello, ring');
  t.after(f.cleanup);
  const ring = ringFor(t, { cqs: [8] });
  const obj = load('decide.c');
  const idx = ring.registerProgram(obj.program('decide'));
  const fd = openSync(f.path, 'r+');
  t.after(() => closeSync(fd));
  ring.allowFd(fd);
  const rc = ring.registerRegion(16);
  const rd = ring.registerRegion(64);
  const cmd = rc.bytes;
  const data = rd.bytes;
  const a = mapView(obj, 'args');
  a.setBigUint64(0, addr(rc), true);
  a.setBigUint64(8, addr(rd), true);
  a.setInt32(16, fd, true);
  const emitted = collect(ring);
  const seen = (i: number) => mapI64(obj, 'seen', i);

  // 'R': read 11 bytes into data
  cmd.write('R', 0);
  cmd.writeUInt32LE(11, 8);
  assert.equal(await ring.runProgram(idx), 0);
  assert.deepEqual(emitted.splice(0), [{ userData: 0xden, res: 11, flags: 0 }]);
  assert.equal(data.toString('latin1', 0, 11), 'hello, ring');
  assert.equal(cmd.readInt32LE(4), 11, 'bpf_copy_to_user wrote the result back');
  assert.equal(seen(1), 22n, 'IORING_OP_READ');
  assert.equal(seen(2), 1n, '164 accepted');

  // 'W': write 5 bytes from data
  data.write('HELLO', 0);
  cmd.write('W', 0);
  cmd.writeUInt32LE(5, 8);
  assert.equal(await ring.runProgram(idx), 0);
  assert.deepEqual(emitted.splice(0), [{ userData: 0xden, res: 5, flags: 0 }]);
  assert.equal(readFileSync(f.path, 'latin1'), 'HELLO, ring');
  assert.equal(seen(1), 23n, 'IORING_OP_WRITE');

  // anything else: an error CQE, no request
  cmd.write('?', 0);
  const before = seen(0);
  assert.equal(await ring.runProgram(idx), 0);
  assert.deepEqual(emitted.splice(0), [{ userData: 0xden, res: -E.EINVAL, flags: 0 }]);
  assert.equal(seen(0), before + 1n, 'one run, nothing submitted');
});

test('decide: READ into a read-only region is refused (-EFAULT) before the kernel sees it', { skip }, async (t) => {
  const f = tempFile('secret data');
  t.after(f.cleanup);
  const ring = ringFor(t, { cqs: [8] });
  const obj = load('decide.c');
  const idx = ring.registerProgram(obj.program('decide'));
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  ring.allowFd(fd);
  const rc = ring.registerRegion(16);
  const rd = ring.registerRegion(Buffer.alloc(64, 0x2e), { writable: false });
  const cmd = rc.bytes;
  const data = rd.bytes;
  const a = mapView(obj, 'args');
  a.setBigUint64(0, addr(rc), true);
  a.setBigUint64(8, addr(rd), true);
  a.setInt32(16, fd, true);
  cmd.write('R', 0);
  cmd.writeUInt32LE(11, 8);
  const emitted = collect(ring);
  assert.equal(await ring.runProgram(idx), 0);
  assert.deepEqual(emitted, [{ userData: 0xden, res: -E.EFAULT, flags: 0 }]);
  assert.equal(mapI64(obj, 'seen', 2), 0n, '164 returned 0 (rejected, error CQE posted)');
  assert.ok(data.equals(Buffer.alloc(64, 0x2e)), 'the read-only buffer is untouched');
});

test('link chains: a program request after a failing request gets ECANCELED without running', { skip }, async (t) => {
  const ring = ringFor(t);
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program('count'));
  const [open, run] = ring.chain([op.openat('/nonexistent/ringflow/x', O.RDONLY).link(), op.program(idx, { userData: 5n })]);
  await rejectsWith(open!, 'ENOENT');
  await rejectsWith(run!, 'ECANCELED');
  assert.equal(mapI64(obj, 'out', 3), 0n, 'the program never ran');
});

test('link chains: after a succeeding request the program runs; requests linked after it wait for it', { skip }, async (t) => {
  const ring = ringFor(t);
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program('count'));
  const [nop, run, after] = ring.chain([op.nop().link(), op.program(idx, { userData: 9n }).link(), op.nop()]);
  const [, res] = await Promise.all([nop, run, after]);
  assert.equal(res, 0);
  assert.equal(mapI64(obj, 'out', 3), 1n, 'ran once');
  assert.equal(mapI64(obj, 'out', 2), 9n, 'ctx->user_data is the program request\'s user_data');
});

test('link chains: a request linked after a failing program request is cancelled', { skip }, async (t) => {
  const ring = ringFor(t, { cqs: [4] });
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program('badwait'));
  const [run, after] = ring.chain([op.program(idx).link(), op.nop()]);
  await rejectsWith(run!, 'EINVAL');
  await rejectsWith(after!, 'ECANCELED');
});

test('ring.close() while a program request waits: its promise rejects with EAGAIN', { skip }, async (t) => {
  const ring = ringFor(t, { cqs: [4] });
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program('park'));
  mapView(obj, 'args').setUint32(24, 1, true); // waits on CQ 1, where nothing ever arrives
  const p = ring.runProgram(idx);
  let settled = false;
  p.then(() => (settled = true), () => (settled = true));
  await new Promise((r) => setTimeout(r, 30 * CPU_TIME_SCALE)); // (its first run: later in a loaded TCG guest)
  assert.equal(settled, false, 'still waiting');
  assert.equal(mapI64(obj, 'out', 3), 1n, 'ran once, then parked (not re-run: its count is not reached)');
  await ring.close();
  await rejectsWith(p, 'EAGAIN');
});

test('runProgram: contract options { userData, cq: 0 } and a bad program index (EINVAL)', { skip }, async (t) => {
  const ring = ringFor(t);
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program('count'));
  const opts = { userData: 0x1234n, cq: 0 }; // `cq` is in the contract's runProgram options
  assert.equal(await ring.runProgram(idx, opts), 0);
  assert.equal(mapI64(obj, 'out', 2), 0x1234n);
  await rejectsWith((async () => ring.runProgram(idx + 1))(), 'EINVAL');
});

test('an unlinked program request never enters the kernel; a linked one runs behind a NOP stand-in', { skip }, async (t) => {
  const ring = ringFor(t);
  const obj = load('neg.c');
  const idx = ring.registerProgram(obj.program('count'));
  const s0 = ring.stats();
  assert.equal(await ring.runProgram(idx, { userData: 7n }), 0);
  const s1 = ring.stats();
  assert.equal(s1.enterCalls - s0.enterCalls, 0, 'nothing for the kernel: no io_uring_enter');
  assert.equal((s1.programRuns ?? 0) - (s0.programRuns ?? 0), 1);
  assert.equal(mapI64(obj, 'out', 2), 7n);
  // linked after a NOP: the stand-in holds its place in the kernel's chain (one enter for both)
  const [nop, prog] = ring.chain([op.nop().link(), op.program(idx, { userData: 8n })]);
  assert.deepEqual(await Promise.all([nop, prog]), [0, 0]);
  const s2 = ring.stats();
  assert.equal(s2.enterCalls - s1.enterCalls, 1);
  assert.equal(mapI64(obj, 'out', 2), 8n);
});


test('programs/chain.bpf.o: an 8-step dependent READ chain done by a program, one CQE for JS', { skip: skipBuiltin }, async (t) => {
  const words = 64;
  const file = Buffer.alloc(words * 8);
  for (let i = 0; i < words; i++) file.writeBigUInt64LE(BigInt(((i * 7 + 3) % words) * 8), i * 8); // word i → word (7i+3) mod 64
  const f = tempFile(file);
  t.after(f.cleanup);
  const ring = ringFor(t, { cqs: [16] });
  const obj = loadObject(builtinObject('chain'));
  const idx = ring.registerProgram(obj.program('chain'));
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  ring.allowFd(fd);
  const buf = Buffer.alloc(8);
  const a = mapView(obj, 'args');
  a.setBigUint64(0, addr(ring.registerRegion(buf)), true);
  a.setInt32(16, fd, true);
  a.setUint32(20, 8, true);
  for (const start of [0, 5, 63]) {
    a.setBigUint64(8, BigInt(start * 8), true);
    const w0 = ring.stats().wakeups;
    assert.equal(await ring.runProgram(idx), 0);
    assert.ok(ring.stats().wakeups - w0 <= 1);
    let w = start;
    for (let k = 0; k < 8; k++) w = (w * 7 + 3) % words;
    const st = mapView(obj, 'state');
    assert.equal(st.getBigInt64(16, true), 0n, 'no error');
    assert.equal(st.getBigUint64(8, true), BigInt(w * 8), `chain from word ${start}`);
    assert.equal(st.getUint32(0, true), 8, 'steps');
  }
  assert.equal(mapView(obj, 'state').getBigUint64(24, true), 3n, 'chains');
});

test('a dependent chain longer than one reaping pass (3000 NOP steps) finishes: the pass yields and resumes, nothing stalls', { skip: skipBuiltin || lacksFlag('nop', 'INJECT_RESULT'), timeout: 20_000 * CPU_TIME_SCALE }, async (t) => {
  // programs/chain.bpf.c in NOP mode: each NOP's injected result picks the next table index. One
  // reaping pass runs at most 1024 rounds and 1024 programs (one step each here), so this chain
  // spans several passes;
  // completions left unread when a pass stops must be picked up without an eventfd signal.
  const steps = 3000;
  const words = 97;
  const table = new Uint32Array(words);
  for (let i = 0; i < words; i++) table[i] = (i * 5 + 1) % words;
  const ring = ringFor(t, { cqs: [16] });
  const obj = loadObject(builtinObject('chain'));
  if (process.arch === 'x64') assert.ok(obj.program('chain').jitBytes > 0, 'the chain program is compiled by the JIT');
  const idx = ring.registerProgram(obj.program('chain'));
  const a = mapView(obj, 'args');
  a.setBigUint64(0, addr(ring.registerRegion(Buffer.alloc(8))), true);
  a.setUint32(20, steps, true);
  a.setUint32(24, 1, true); // NOP mode
  a.setUint32(28, words, true);
  a.setBigUint64(32, addr(ring.registerRegion(table, { writable: false })), true);
  for (const start of [0, 42]) {
    a.setBigUint64(8, BigInt(start), true);
    const runs0 = ring.stats().programRuns ?? 0;
    assert.equal(await ring.runProgram(idx), 0);
    let w = start;
    for (let k = 0; k < steps; k++) w = table[w]!;
    const st = mapView(obj, 'state');
    assert.equal(st.getBigInt64(16, true), 0n, 'no error');
    assert.equal(st.getUint32(0, true), steps, 'steps');
    assert.equal(st.getBigUint64(8, true), BigInt(w), `chain from index ${start}`);
    assert.equal((ring.stats().programRuns ?? 0) - runs0, steps + 1, 'one run per step plus the first');
  }
});
