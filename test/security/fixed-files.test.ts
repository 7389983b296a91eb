// Registered files a program can reach (issue 10 items 3 and 4, docs/completion-programs.md
// "Registered files"): a program's SQE with IOSQE_FIXED_FILE names only slots JS allowed with
// ring.allowFd(fixed(i)), on ops whose fd the kernel then takes from the table; programs cannot
// change the table (direct opens, CLOSE of a slot, FILES_UPDATE, FIXED_FD_INSTALL); a slot a live
// program request named cannot be changed by JS, however late the kernel looks it up. Every case
// runs under the JIT and the interpreter.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempDir, pattern, CPU_TIME_SCALE } from '../helpers.js';
import { ENGINES, noEngine, ringProgram } from './asm-programs.js';
import { Submitter, makeRegion, sqeBytes } from './util.js';
import { RingError, RegisterOp, fixed, O, type Ring } from '../../src/index.js';

const OP = { NOP: 0, READV: 1, FSYNC: 3, TIMEOUT: 11, ASYNC_CANCEL: 14, OPENAT: 18, CLOSE: 19, FILES_UPDATE: 20, STATX: 21, READ: 22, WRITE: 23, OPENAT2: 28, FIXED_FD_INSTALL: 54 } as const;
const FIXED_FILE = 1;
const LINK = 4;
const E = { EBADF: 9, EINVAL: 22 } as const;

/** Two files in a temp dir: `public` (JS allows it to programs) and `secret` (it must not reach). */
function files(t: TestContext): { dir: string; pub: string; secret: string; pubFd: number; secretFd: number } {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const pub = join(dir, 'public');
  const secret = join(dir, 'secret');
  writeFileSync(pub, 'public data');
  writeFileSync(secret, 'SECRET DATA');
  const pubFd = openSync(pub, 'r+');
  const secretFd = openSync(secret, 'r+');
  t.after(() => {
    closeSync(pubFd);
    closeSync(secretFd);
  });
  return { dir, pub, secret, pubFd, secretFd };
}

const isBusy = (e: unknown) => e instanceof RingError && e.code === 'EBUSY' && /still alive/.test(e.message);

for (const { name, jit } of ENGINES) {
  test(`a program reads an allowed slot with IOSQE_FIXED_FILE; other slots, holes and slots past the table are -EBADF (${name})`, { skip: noEngine }, async (t) => {
    const f = files(t);
    const ring = ringFor(t, { cqs: [16] });
    const sub = new Submitter(ring, { jit });
    const buf = makeRegion(ring, 64);
    ring.files.register([f.pubFd, f.secretFd, null]);
    ring.allowFd(fixed(0));
    const read = (slot: number) => sub.submit(sqeBytes(OP.READ, { fd: slot, addr: buf.base, len: 32, off: 0n }, FIXED_FILE));
    const ok = await read(0);
    assert.deepEqual(ok, { accepted: true, res: 11 });
    assert.equal(Buffer.from(buf.bytes.subarray(0, 11)).toString(), 'public data');
    for (const slot of [1, 2, 3, 4096, 0x7fffffff, -1]) assert.deepEqual(await read(slot), { accepted: false, res: -E.EBADF }, `slot ${slot}`);
    // the process fd numbers are not slots, nor the other way round
    assert.deepEqual(await sub.submit(sqeBytes(OP.READ, { fd: f.secretFd, addr: buf.base, len: 32, off: 0n }, FIXED_FILE)), { accepted: false, res: -E.EBADF });
    assert.deepEqual(await sub.submit(sqeBytes(OP.READ, { fd: 0, addr: buf.base, len: 32, off: 0n })), { accepted: false, res: -E.EBADF }, 'slot 0 allowed is not process fd 0');
    assert.throws(() => ring.allowFd(fixed(2)), /slot 2 holds no file ringflow knows of/, 'an empty slot cannot be allowed');
    assert.throws(() => ring.allowFd(fixed(3)), /file table has 3 slots/);
    ring.allowFd(fixed(0), false);
    assert.deepEqual(await read(0), { accepted: false, res: -E.EBADF }, 'taken back');
  });

  test(`IOSQE_FIXED_FILE only on ops that take a slot; programs cannot open into, close, update or install slots (${name})`, { skip: noEngine }, async (t) => {
    const f = files(t);
    const ring = ringFor(t, { cqs: [16] });
    const sub = new Submitter(ring, { jit });
    const mem = makeRegion(ring, 256);
    mem.bytes.set(Buffer.from('public\0'), 0);
    ring.files.register([f.pubFd, null]);
    ring.allowFd(fixed(0));
    ring.allowFd(f.pubFd); // a process fd the program may name: CLOSE's file_index is then what is refused
    const g = ring.allowDir(f.dir, { write: true });
    const cases: [string, Uint8Array][] = [
      ['NOP with IOSQE_FIXED_FILE', sqeBytes(OP.NOP, {}, FIXED_FILE)],
      ['OPENAT with IOSQE_FIXED_FILE', sqeBytes(OP.OPENAT, { fd: g, addr: mem.base }, FIXED_FILE)],
      ['OPENAT into slot 1 (file_index)', sqeBytes(OP.OPENAT, { fd: g, addr: mem.base, fileIndex: 2 })],
      ['OPENAT into an auto slot', sqeBytes(OP.OPENAT, { fd: g, addr: mem.base, fileIndex: 0xffffffff })],
      ['OPENAT2 into slot 0', sqeBytes(OP.OPENAT2, { fd: g, addr: mem.base, off: mem.base + 64n, len: 24, fileIndex: 1 })],
      ['CLOSE of slot 0 (file_index)', sqeBytes(OP.CLOSE, { fd: f.pubFd, fileIndex: 1 })],
      ['CLOSE with IOSQE_FIXED_FILE', sqeBytes(OP.CLOSE, { fd: 0 }, FIXED_FILE)],
      ['STATX with IOSQE_FIXED_FILE', sqeBytes(OP.STATX, { fd: 0, addr: mem.base + 200n, off: mem.base, len: 1, opFlags: 0x1000 }, FIXED_FILE)],
      ['FILES_UPDATE over slot 0', sqeBytes(OP.FILES_UPDATE, { addr: mem.base, len: 1, off: 0n })],
      ['FIXED_FD_INSTALL of slot 0', sqeBytes(OP.FIXED_FD_INSTALL, { fd: 0 }, FIXED_FILE)],
      ['ASYNC_CANCEL by fixed fd', sqeBytes(OP.ASYNC_CANCEL, { fd: f.pubFd, opFlags: 0x2 | 0x8 })],
      ['TIMEOUT with IOSQE_FIXED_FILE', sqeBytes(OP.TIMEOUT, { addr: mem.base, len: 1 }, FIXED_FILE)],
      ['program request with IOSQE_FIXED_FILE', sqeBytes(0xa0, { off: BigInt(sub.index) }, FIXED_FILE)],
    ];
    for (const [what, sqe] of cases) assert.deepEqual(await sub.submit(sqe), { accepted: false, res: -E.EINVAL }, what);
    // the table is as JS left it: slot 0 holds the public file, slot 1 nothing
    const b = Buffer.alloc(16);
    assert.equal(await ring.read(fixed(0), b, 0), 11);
    await assert.rejects(ring.read(fixed(1), b, 0), (e: unknown) => e instanceof RingError && e.code === 'EBADF');
    // and what is permitted works: WRITE, READV, FSYNC on the allowed slot
    mem.bytes.set(Buffer.from('PUBLIC'), 100);
    assert.deepEqual(await sub.submit(sqeBytes(OP.WRITE, { fd: 0, addr: mem.base + 100n, len: 6, off: 0n }, FIXED_FILE)), { accepted: true, res: 6 });
    const iov = new DataView(mem.bytes.buffer, mem.bytes.byteOffset);
    iov.setBigUint64(128, mem.base + 160n, true);
    iov.setBigUint64(136, 11n, true);
    assert.deepEqual(await sub.submit(sqeBytes(OP.READV, { fd: 0, addr: mem.base + 128n, len: 1, off: 0n }, FIXED_FILE)), { accepted: true, res: 11 });
    assert.equal(Buffer.from(mem.bytes.subarray(160, 171)).toString(), 'PUBLIC data');
    assert.deepEqual(await sub.submit(sqeBytes(OP.FSYNC, { fd: 0 }, FIXED_FILE)), { accepted: true, res: 0 });
    assert.equal(readFileSync(f.secret, 'utf8'), 'SECRET DATA');
  });

  test(`JS changing an allowed slot takes the allowance back; a slot a live program request named cannot change (${name})`, { skip: noEngine }, async (t) => {
    const f = files(t);
    const ring = ringFor(t, { cqs: [16] });
    const sub = new Submitter(ring, { jit });
    const buf = makeRegion(ring, 64);
    ring.files.register([f.pubFd, f.pubFd]);
    ring.allowFd(fixed(0));
    ring.allowFd(fixed(1));
    const read = (slot: number) => sub.submit(sqeBytes(OP.READ, { fd: slot, addr: buf.base, len: 32, off: 0n }, FIXED_FILE));
    assert.equal((await read(0)).res, 11);
    // no program request is alive now: JS may change the slot, and the allowance goes with it
    assert.equal(ring.files.update(0, [f.secretFd]), 1);
    assert.deepEqual(await read(0), { accepted: false, res: -E.EBADF }, 'files.update() took slot 0 back');
    assert.equal((await read(1)).res, 11, 'slot 1 untouched');
    await ring.closeFd(fixed(1));
    assert.deepEqual(await read(1), { accepted: false, res: -E.EBADF }, 'closeFd(fixed(1)) took slot 1 back');
    assert.throws(() => ring.allowFd(fixed(1)), /holds no file/, 'closed: empty');
    const s1 = await ring.openat(f.pub, O.RDONLY, 0, { direct: 1 });
    ring.allowFd(s1);
    assert.equal((await read(1)).res, 11, 'allowed again after JS put a file there');
    await ring.openat(f.secret, O.RDONLY, 0, { direct: 1 });
    assert.deepEqual(await read(1), { accepted: false, res: -E.EBADF }, 'a direct open into it took it back');
    ring.allowFd(fixed(1));
    ring.files.unregister();
    assert.equal(ring.files.size, 0);
    ring.files.register([f.secretFd, f.secretFd]);
    assert.deepEqual(await read(1), { accepted: false, res: -E.EBADF }, 'unregister took every slot back');
    assert.deepEqual(await read(0), { accepted: false, res: -E.EBADF });
  });

  test(`attack: a linked WRITE to an allowed slot waits behind a timeout while JS swaps the slot; JS is refused (EBUSY) and the write lands in the allowed file (${name})`, { skip: noEngine }, async (t) => {
    const f = files(t);
    const ring = ringFor(t, { cqs: [16] });
    const mem = ring.registerRegion(64);
    // timespec { 0 s, 150 ms } (× CPU_TIME_SCALE: the swaps below must come before it fires, in a TCG guest too)
    const ms = 150 * CPU_TIME_SCALE;
    mem.bytes.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
    mem.bytes.writeBigInt64LE(BigInt((ms % 1000) * 1_000_000), 8);
    mem.bytes.set(Buffer.from('PWNED'), 32);
    ring.files.register([f.pubFd]);
    ring.allowFd(fixed(0));
    const base = BigInt(mem.address);
    // TIMEOUT (150 ms) linked to WRITE(slot 0): with IORING_FEAT_LINKED_FILE the kernel looks the
    // slot up only when the write starts, after the timeout
    const sqeAsm = (b: Uint8Array) => {
      const lines: string[] = [];
      for (let o = 0; o < 64; o += 8) lines.push(`lddw %r2, ${new DataView(b.buffer, b.byteOffset).getBigInt64(o, true)}`, `stxdw [%r10-${64 - o}], %r2`);
      lines.push('mov %r1, %r6', 'mov %r2, %r10', 'add %r2, -64', 'mov %r3, 64', 'mov %r4, 1', 'call 1000');
      return lines.join('\n');
    };
    const timeout = sqeBytes(OP.TIMEOUT, { addr: base, len: 1 }, LINK, 1n);
    // TIMEOUT completes with -ETIME, which breaks a plain link: hardlink (8) keeps the chain going
    timeout[1] = 8;
    const write = sqeBytes(OP.WRITE, { fd: 0, addr: base + 32n, len: 5, off: 0n }, FIXED_FILE, 2n);
    const p = ring.registerProgram(ringProgram(`mov %r6, %r1\n${sqeAsm(timeout)}\n${sqeAsm(write)}\nmov %r0, 0\nexit`, jit));
    assert.equal(await ring.runProgram(p), 0);
    // the swap JS might try while the write waits
    assert.throws(() => ring.files.update(0, [f.secretFd]), isBusy, 'files.update() of a named slot');
    assert.throws(() => ring.files.unregister(), isBusy, 'unregister()');
    assert.throws(() => ring.closeFd(fixed(0)), isBusy, 'closeFd(fixed(0))');
    assert.throws(() => ring.openat(f.secret, O.RDWR, 0, { direct: 0 }), isBusy, 'a direct open into it');
    assert.throws(() => ring.filesUpdate([f.secretFd], 0), isBusy, 'IORING_OP_FILES_UPDATE');
    assert.throws(() => ring.register(RegisterOp.UNREGISTER_FILES, null, 0), isBusy, 'ring.register() passthrough');
    // taking the allowance back does not unfreeze it either: the request is still alive
    ring.allowFd(fixed(0), false);
    assert.throws(() => ring.files.update(0, [f.secretFd]), isBusy);
    const cqes: { userData: bigint; res: number }[] = [];
    const deadline = Date.now() + 3000 * CPU_TIME_SCALE; // (a loaded TCG guest is slower)
    while (cqes.length < 2 && Date.now() < deadline) {
      cqes.push(...ring.cq(1).drain());
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(cqes.map((c) => [c.userData, c.res]), [[1n, -62], [2n, 5]], 'timeout fired (-ETIME), then the write');
    assert.equal(readFileSync(f.pub, 'utf8'), 'PWNEDc data', 'the write reached the file that was allowed');
    assert.equal(readFileSync(f.secret, 'utf8'), 'SECRET DATA', 'never the secret');
    // nothing names the slot any more: JS may change it
    assert.equal(ring.files.update(0, [f.secretFd]), 1);
  });

  test(`prototype scenario: a program writes 16 blocks of 16 KiB from a region to slot 0 (IOSQE_FIXED_FILE), queue depth 4, waiting on CQ 1 (${name})`, { skip: noEngine }, async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const path = join(dir, 'out');
    const fd = openSync(path, 'w+');
    t.after(() => closeSync(fd));
    const data = pattern(16 * 16384);
    const ring = ringFor(t, { cqs: [16] });
    const src = ring.registerRegion(data, { writable: false });
    const state = ring.registerRegion(16); // next u32 @0, inflight u32 @4, max inflight @8, first error @12
    ring.files.register([fd]);
    ring.allowFd(fixed(0));
    // state lives in a region; the program copies it to its stack (r10-96: next, -92: inflight,
    // -88: max inflight, -84: first error), works there and copies it back
    const code = `
      mov %r6, %r1
      mov %r1, %r10
      add %r1, -96
      mov %r2, 16
      lddw %r3, ${state.address}
      call 148
      reap:
      mov %r1, %r6
      mov %r2, 1
      mov %r3, %r10
      add %r3, -80
      mov %r4, 16
      call 166
      jne %r0, 0, fill
      ldxw %r8, [%r10-92]
      sub %r8, 1
      stxw [%r10-92], %r8
      ldxw %r1, [%r10-72]
      jeq %r1, 16384, reap
      stxw [%r10-84], %r1
      ja reap
      fill:
      ldxw %r8, [%r10-92]
      jge %r8, 4, wait
      ldxw %r9, [%r10-96]
      jge %r9, 16, wait
      stdw [%r10-64], 0
      stdw [%r10-56], 0
      stdw [%r10-48], 0
      stdw [%r10-40], 0
      stdw [%r10-32], 0
      stdw [%r10-24], 0
      stdw [%r10-16], 0
      stdw [%r10-8], 0
      stb [%r10-64], ${OP.WRITE}
      stb [%r10-63], ${FIXED_FILE}
      mov %r2, %r9
      lsh %r2, 14
      stxdw [%r10-56], %r2
      lddw %r3, ${src.address}
      add %r3, %r2
      stxdw [%r10-48], %r3
      stw [%r10-40], 16384
      stxdw [%r10-32], %r9
      mov %r1, %r6
      mov %r2, %r10
      add %r2, -64
      mov %r3, 64
      mov %r4, 1
      call 1000
      add %r9, 1
      stxw [%r10-96], %r9
      ldxw %r8, [%r10-92]
      add %r8, 1
      stxw [%r10-92], %r8
      ldxw %r1, [%r10-88]
      jge %r1, %r8, fill
      stxw [%r10-88], %r8
      ja fill
      wait:
      ldxw %r8, [%r10-92]
      jeq %r8, 0, save
      stw [%r6+8], 1
      stw [%r6+12], 1
      save:
      lddw %r1, ${state.address}
      mov %r2, %r10
      add %r2, -96
      mov %r3, 16
      call 167
      mov %r0, 0
      exit`;
    const p = ring.registerProgram(ringProgram(code, jit));
    assert.equal(await ring.runProgram(p), 0);
    const st = new DataView(state.bytes.buffer, state.bytes.byteOffset, 16);
    assert.equal(st.getUint32(12, true), 0, 'every write completed with 16384');
    assert.equal(st.getUint32(0, true), 16, '16 blocks submitted');
    assert.equal(st.getUint32(4, true), 0, 'none in flight');
    assert.equal(st.getUint32(8, true), 4, 'queue depth 4 reached');
    assert.ok(readFileSync(path).equals(data), 'the file holds the 16 blocks in order');
  });
}

test('the policy: IOSQE_FIXED_FILE is permitted exactly on the ops whose declaration says the fd is then a slot', async (t) => {
  const { programPolicy } = await import('../../src/ops/policy.js');
  const { opByCode } = await import('../../src/index.js');
  const withFixed = programPolicy().policy.ops.filter((o) => o.sqeFlags & FIXED_FILE).map((o) => o.name).sort();
  assert.deepEqual(withFixed, ['accept', 'connect', 'fsync', 'read', 'readv', 'recv', 'send', 'shutdown', 'write', 'writev']);
  for (const name of withFixed) assert.equal(opByCode(programPolicy().policy.ops.find((o) => o.name === name)!.code)!.sqe!.fixedFile, 'slot');
  void t;
});

/** The table a ring without an engine keeps too: nothing about programs gets in the way of JS. */
test('without completion programs, slot changes never meet EBUSY', async (t) => {
  const f = files(t);
  const ring: Ring = ringFor(t);
  ring.files.register([f.pubFd]);
  const b = Buffer.alloc(4);
  const r = ring.read(fixed(0), b, 0);
  assert.equal(ring.files.update(0, [f.secretFd]), 1);
  assert.equal(await r, 4);
});
