// Issue #9, item 3 — whose completion is it. A CQE settles a JS request only if the kernel
// produced it for that request: programs can neither forge, steal, nor cancel JS's completions.
// docs/security.md, "Completions". Every attack runs under the JIT and the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { O } from '../../src/index.js';
import { ringFor, fifo, lacksFlag, CPU_TIME_SCALE } from '../helpers.js';
import { ENGINES, noEngine, ringProgram, submitAsm, emitAsm } from './asm-programs.js';

const OP = { NOP: 0, TIMEOUT: 11, TIMEOUT_REMOVE: 12, ASYNC_CANCEL: 14 } as const;
const ENOENT = 2;
const ECANCELED = 125;
const TAG_HI = 0xa5a5a5a5n << 32n; // the engine's request tags (native/engine_internal.h)
const INTERNAL = 0xffffffffn << 32n; // ringflow's own requests (src/ring/submission.ts INTERNAL_TAG)

/** Tracks whether a promise has settled (without awaiting it). */
function watch<T>(p: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  return { settled: () => done, promise: p };
}
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));


for (const { name, jit } of ENGINES) {
  test(`forged CQEs on CQ 0 with JS's user_data (slots × generations) settle no JS request; the real read lands later (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [8] });
    const f = fifo(t);
    const fd = await ring.openat(f.path, O.RDWR);
    const buf = Buffer.alloc(16);
    const read = watch(ring.read(fd, buf, -1));
    const timer = watch(ring.timeout(60_000));
    await tick(5);
    // every (slot, gen) a fresh ring hands out first: slots 0..7, generations 0..4, and the
    // internal tag ringflow's own cancels use
    let code = 'mov %r6, %r1\n';
    for (let gen = 0n; gen < 5n; gen++) for (let slot = 0n; slot < 8n; slot++) code += emitAsm(0, (gen << 32n) | slot, 4096) + '\n';
    code += emitAsm(0, INTERNAL, 0) + '\nmov %r0, 0\nexit';
    const forged: bigint[] = [];
    ring.onCompletion((c) => forged.push(c.userData));
    const pendingBefore = ring.pending;
    assert.equal(await ring.runProgram(ring.registerProgram(ringProgram(code, jit))), 0);
    await tick(5);
    assert.equal(read.settled(), false, 'the read is still the kernel\'s: no forged CQE settled it');
    assert.equal(timer.settled(), false, 'the timeout is untouched');
    assert.equal(ring.pending, pendingBefore, 'ring.pending counts only real requests');
    assert.equal(forged.length, 41, 'every forged CQE reached onCompletion, and only it');
    f.write('real data');
    assert.equal(await read.promise, 9, 'the real completion settles the read');
    assert.equal(buf.toString('latin1', 0, 9), 'real data');
    await ring.close(); // resolves: the internal-tag CQE did not drive the count negative
    assert.equal(timer.settled(), true);
  });

  test(`a program that reaps or waits on CQ 0 never sees JS's completions (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [16] });
    // waiter: reaps CQ 0; empty → waits for 1 CQE on CQ 0; got one → reports its user_data on CQ 1
    const waiter = ring.registerProgram(ringProgram(`
      mov %r6, %r1
      mov %r1, %r6
      mov %r2, 0
      mov %r3, %r10
      add %r3, -16
      mov %r4, 16
      call 166
      jeq %r0, 0, got
      stw [%r6+8], 1
      stw [%r6+12], 0
      mov %r0, 0
      exit
      got:
      mov %r1, %r6
      mov %r2, 1
      ldxdw %r3, [%r10-16]
      mov %r4, 0
      mov %r5, 0
      call 165
      mov %r0, 0
      exit`, jit));
    const emitter = ring.registerProgram(ringProgram(`mov %r6, %r1\n${emitAsm(0, 0x77n, 5)}\nmov %r0, 0\nexit`, jit));
    const w = watch(ring.runProgram(waiter));
    const nops = await Promise.all(Array.from({ length: 64 }, () => ring.nop()));
    assert.deepEqual(nops, Array(64).fill(0), 'every JS request settled with its own result');
    assert.equal(await ring.timeout(2), true);
    await tick(5);
    assert.equal(w.settled(), false, '65 JS completions later the waiter still waits: none of them reached CQ 0 of the programs');
    assert.equal(await ring.runProgram(emitter), 0);
    assert.equal(await w.promise, 0);
    assert.deepEqual(ring.cq(1).drain().map((c) => c.userData), [0x77n], 'it reaped the program-emitted CQE, and only that');
  });

  test(`ASYNC_CANCEL / TIMEOUT_REMOVE from a program naming raw engine tags or JS's user_data find nothing (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [64] });
    const f = fifo(t);
    const fd = await ring.openat(f.path, O.RDWR);
    const buf = Buffer.alloc(8);
    const read = watch(ring.read(fd, buf, -1));
    const timer = watch(ring.timeout(60_000));
    await tick(5);
    const targets: bigint[] = [];
    for (let i = 0n; i < 8n; i++) targets.push(TAG_HI | i, (1n << 32n) | i);
    let code = 'mov %r6, %r1\n';
    targets.forEach((target, i) => {
      code += submitAsm({ opcode: OP.ASYNC_CANCEL, fd: 0, addr: target, userData: BigInt(i), cq: 1 }) + '\n';
      code += submitAsm({ opcode: OP.ASYNC_CANCEL, fd: 0, addr: target, opFlags: 1 /* CANCEL_ALL */, userData: 0x100n + BigInt(i), cq: 1 }) + '\n';
      code += submitAsm({ opcode: OP.TIMEOUT_REMOVE, addr: target, userData: 0x200n + BigInt(i), cq: 1 }) + '\n';
    });
    code += 'mov %r0, 0\nexit';
    assert.equal(await ring.runProgram(ring.registerProgram(ringProgram(code, jit))), 0);
    const deadline = Date.now() + 2000 * CPU_TIME_SCALE; // (a loaded TCG guest is slower)
    while (ring.cq(1).ready < targets.length * 3 && Date.now() < deadline) await tick(2);
    const got = ring.cq(1).drain();
    assert.equal(got.length, targets.length * 3, 'one CQE per cancel');
    // CANCEL_ALL answers with the number of requests it cancelled, the others -ENOENT
    for (const c of got) assert.equal(c.res, c.userData >= 0x100n && c.userData < 0x200n ? 0 : -ENOENT, `cancel ${c.userData.toString(16)} found nothing (res ${c.res})`);
    assert.equal(read.settled(), false, 'the JS read was not cancelled');
    assert.equal(timer.settled(), false, 'the JS timeout was not removed');
    f.write('ok');
    assert.equal(await read.promise, 2);
  });

  test(`a program cancels its own requests (positive control) (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [16] });
    const ts = ring.registerRegion(16, { writable: false });
    ts.bytes.writeBigInt64LE(60n, 0); // 60 s
    const code = `mov %r6, %r1
      ${submitAsm({ opcode: OP.TIMEOUT, addr: BigInt(ts.address), len: 1, userData: 0x55n, cq: 1 })}
      ${submitAsm({ opcode: OP.ASYNC_CANCEL, fd: 0, addr: 0x55n, userData: 0x56n, cq: 1 })}
      mov %r0, 0
      exit`;
    assert.equal(await ring.runProgram(ring.registerProgram(ringProgram(code, jit))), 0);
    const deadline = Date.now() + 2000 * CPU_TIME_SCALE;
    while (ring.cq(1).ready < 2 && Date.now() < deadline) await tick(2);
    const got = new Map(ring.cq(1).drain().map((c) => [c.userData, c.res]));
    assert.equal(got.get(0x56n), 0, 'the cancel found the program\'s own timeout');
    assert.equal(got.get(0x55n), -ECANCELED, 'and the timeout ended cancelled');
  });
}

test('JS chains with skipSuccess on an engine ring: successes stay silent, a failure cancels the rest, nothing is left behind', { skip: noEngine || lacksFlag('nop', 'INJECT_RESULT') }, async (t) => {
  const ring = ringFor(t, { cqs: [4] });
  const ok = await Promise.all(ring.chain([ring.op.nop().skipSuccess(), ring.op.nop().skipSuccess(), ring.op.nop({ injectResult: 7 })], { link: true }));
  assert.deepEqual(ok, [undefined, undefined, 7]);
  const settled = await Promise.allSettled(ring.chain([ring.op.nop({ injectResult: -5 }).skipSuccess(), ring.op.nop()], { link: true }));
  assert.equal(settled[0]!.status, 'rejected');
  assert.equal((settled[1] as PromiseRejectedResult).reason.code, 'ECANCELED');
  for (let i = 0; i < 3; i++) assert.equal(await ring.nop({ injectResult: i }), i, 'later requests get their own results');
  assert.equal(ring.pending, 0);
  await ring.close(); // resolves: the engine holds nothing
});
