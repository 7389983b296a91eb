// Attack: the engine appends program SQEs to the SQ in passes that JS does not see (the idle
// hook's rf_engine_turn, native/engine_napi.c on_idle), moving the SQ tail. JS re-reads the tail
// only after its own submit or on an eventfd wake-up (src/ring/submission.ts enter, syncTail), so
// its next request is encoded at a stale index, and rf_engine_submit (native/engine.c) sees a
// tail behind its own, "hands over nothing" and still reports the SQE as submitted
// (native/ring_napi.c returns to_submit). The JS request is lost: its promise never settles,
// ring.pending never drops, and close() — whose own cancel is lost the same way — never resolves.
// A program only has to keep itself running across loop turns while submitting anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../../src/index.js';
import { ENGINES, noEngine, ringProgram, submitAsm } from './asm-programs.js';
import { OP, within } from './attack-asm.js';
import { CPU_TIME_SCALE } from '../helpers.js';

/** Program: while its token (ctx->user_data) is non-zero, submits a NOP to CQ 1 and a copy of
 * itself with token - 1. Runs past RUNS_PER_TURN, so the engine continues on idle-hook turns. */
function relay(jit: boolean) {
  return ringProgram(`mov %r6, %r1
    ldxdw %r7, [%r6+0]
    jeq %r7, 0, out
    ${submitAsm({ opcode: OP.NOP, userData: 1n, cq: 1 })}
    ${submitAsm({ opcode: OP.BPF, off: 0n, userData: 0n })}
    out:
    mov %r0, 0
    exit`.replace(/lddw %r2, 0\n(stxdw \[%r10-32\], %r2)/, 'mov %r2, %r7\nsub %r2, 1\n$1'), jit);
}

for (const { name, jit } of ENGINES) {
  test(`JS requests made while programs submit across loop turns are not lost (${name})`, { skip: noEngine, timeout: 30_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = new Ring({ cqs: [64] });
    t.after(() => ring.unref()); // a close() that hangs must not keep the test process alive
    const p = ring.registerProgram(relay(jit));
    assert.equal(await ring.runProgram(p, { userData: 20_000n }), 0);
    let lost = 0;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setImmediate(r));
      const r = await within(ring.nop(), 1000);
      if (!r.settled) {
        lost++;
        break;
      }
    }
    assert.ok(ring.stats().programRuns! > 2000, 'the relay ran across turns');
    assert.equal(lost, 0, `a JS NOP never completed (pending ${ring.pending}, program runs ${ring.stats().programRuns})`);
    const c = await within(ring.close(), 3000);
    assert.ok(c.settled, 'close() resolved');
  });
}
