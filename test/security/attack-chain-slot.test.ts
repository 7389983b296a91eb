// Attack: the engine frees "silent" CQE_SKIP_SUCCESS predecessors of a chain member by walking
// rf_req.chain_prev (native/engine.c, reap_kernel) when that member completes. chain_prev is an
// index into the request table, not a reference: when the predecessor already completed (it
// failed, posted its own CQE and was freed) its slot may meanwhile hold an unrelated request.
// A program uses that to free its own in-flight TIMEOUT (flags CQE_SKIP_SUCCESS) from the table
// while the kernel still runs it; the slot goes to a JS read, and when the timeout fires with
// -ETIME its CQE carries the read's engine tag: it settles the JS read while the kernel still
// owns the read's buffer (the very fault of issue #9, item 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { O } from '../../src/index.js';
import { ringFor, fifo, CPU_TIME_SCALE } from '../helpers.js';
import { ENGINES, noEngine, ringProgram } from './asm-programs.js';
import { IOSQE, OP, submitFlagsAsm } from './attack-asm.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
function watch<T>(p: Promise<T>): { settled: () => boolean; outcome: () => unknown; promise: Promise<T> } {
  let done = false;
  let outcome: unknown;
  p.then((v) => ((done = true), (outcome = v)), (e) => ((done = true), (outcome = e)));
  return { settled: () => done, outcome: () => outcome, promise: p };
}

for (const { name, jit } of ENGINES) {
  test(`a program's timeout freed through a stale chain_prev cannot settle the JS read that reuses its slot (${name})`, { skip: noEngine, timeout: 20_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = ringFor(t, { cqs: [64] });
    const ts = ring.registerRegion(48, { writable: false });
    ts.bytes.writeBigInt64LE(1_000_000n, 8); // [0]: 1 ms
    ts.bytes.writeBigInt64LE(150_000_000n, 24); // [16]: 150 ms
    ts.bytes.writeBigInt64LE(800_000_000n, 40); // [32]: 800 ms
    const at = (o: number) => BigInt(ts.address + o);
    // P1: A = timeout 1 ms, HARDLINK → B = timeout 150 ms. A fails (-ETIME) at once, posts its CQE
    // and is freed; B keeps A's slot index in chain_prev.
    const p1 = ring.registerProgram(ringProgram(`mov %r6, %r1
      ${submitFlagsAsm({ opcode: OP.TIMEOUT, addr: at(0), len: 1, userData: 0xan, cq: 1, flags: IOSQE.HARDLINK })}
      ${submitFlagsAsm({ opcode: OP.TIMEOUT, addr: at(16), len: 1, userData: 0xbn, cq: 1 })}
      mov %r0, 0
      exit`, jit));
    // P2: X = timeout 800 ms with CQE_SKIP_SUCCESS (not linked to anything): it takes A's slot
    const p2 = ring.registerProgram(ringProgram(`mov %r6, %r1
      ${submitFlagsAsm({ opcode: OP.TIMEOUT, addr: at(32), len: 1, userData: 0xcn, cq: 1, flags: IOSQE.SKIP })}
      mov %r0, 0
      exit`, jit));
    const f1 = fifo(t);
    const f2 = fifo(t);
    const fd1 = await ring.openat(f1.path, O.RDWR);
    const fd2 = await ring.openat(f2.path, O.RDWR);

    assert.equal(await ring.runProgram(p1), 0);
    await tick(40); // A has failed and been reaped: its slot is free
    assert.equal(await ring.runProgram(p2), 0); // X now sits in A's old slot
    await tick(300); // B completed: its chain_prev walk freed X's entry (X is still in the kernel)
    // two JS reads: the second one takes X's old slot
    const b1 = Buffer.alloc(16);
    const b2 = Buffer.alloc(16);
    const r1 = watch(ring.read(fd1, b1, -1));
    const r2 = watch(ring.read(fd2, b2, -1));
    await tick(900); // X fires (-ETIME) with its engine tag
    assert.equal(r1.settled(), false, 'the first read is still the kernel\'s');
    assert.equal(r2.settled(), false, `the second read is still the kernel's, yet it settled with ${String(r2.outcome())}`);
    f1.write('a');
    f2.write('b');
    await r1.promise;
    await r2.promise.catch(() => undefined);
  });
}
