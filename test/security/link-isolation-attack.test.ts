// Links across owners, attacked. IOSQE_IO_LINK ties an SQE to the next one in the same submission,
// and JS's requests and the completion programs' requests share one SQ: a link left on the last
// SQE of one owner's group would make the next owner's request wait for it and be cancelled by its
// failure. The promise (docs/security.md, "Links stay inside their group"; docs/chains.md): JS
// never links out of a group (ring.chain/link link inside it; a LINK/HARDLINK on a group's last
// SQE or a lone run() is dropped when the SQE is written), and the engine writes a program's SQEs
// after JS's in the submission it enters at once, so a program's trailing link reaches no request
// of JS's. Program attacks run under the JIT and the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, CPU_TIME_SCALE } from '../helpers.js';
import { op, SqeFlags, RingError } from '../../src/index.js';
import { ENGINES, noEngine, ringProgram, submitAsm } from './asm-programs.js';

const ASYNC_CANCEL = 14;
const NOP = 0;

/** Waits until CQ `cq` of `ring` holds `n` completions (bounded), then takes them. */
async function drained(ring: ReturnType<typeof ringFor>, cq: number, n: number) {
  const deadline = Date.now() + 2000 * CPU_TIME_SCALE;
  while (ring.cq(cq).ready < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  return ring.cq(cq).drain();
}

for (const { name, jit } of ENGINES) {
  test(`a careless caller's lone request with link() that fails does not cancel the program run queued after it in the same tick, nor the program's request (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [64] });
    const prog = ring.registerProgram(ringProgram([`mov %r6, %r1`, submitAsm({ opcode: NOP, userData: 7n, cq: 1 }), 'mov %r0, 0', 'exit'].join('\n'), jit));
    for (let round = 0; round < 20; round++) {
      // EBADF: were its link kept, the request written next (the program's run) would be cancelled
      const bad = ring.run(op.read(999_999, Buffer.alloc(4), 0).link()).then(
        () => 'resolved',
        (e: unknown) => (e instanceof RingError ? e.code : String(e)),
      );
      const ran = ring.runProgram(prog);
      assert.equal(await bad, 'EBADF');
      assert.equal(await ran, 0, `round ${round}: the program ran (its request was not cancelled by the failed read)`);
      const got = await drained(ring, 1, 1);
      assert.deepEqual(got.map((c) => [c.userData, c.res]), [[7n, 0]], "the program's NOP completed, not ECANCELED");
    }
  });

  test(`a hostile program's last SQE with IO_LINK (a cancel that fails) links into no request of JS's (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [64] });
    // ASYNC_CANCEL of a user_data no request has: -ENOENT, which breaks a soft link
    const code = ['mov %r6, %r1', submitAsm({ opcode: ASYNC_CANCEL, flags: SqeFlags.IO_LINK, addr: 0xdead_beefn, userData: 9n, cq: 1 }), 'mov %r0, 0', 'exit'].join('\n');
    const prog = ring.registerProgram(ringProgram(code, jit));
    for (let round = 0; round < 20; round++) {
      // JS's requests queued around the program's run, in the same tick and the next
      const before = ring.nop();
      const ran = ring.runProgram(prog);
      const after = ring.nop();
      assert.equal(await ran, 0);
      const later = ring.nop();
      assert.deepEqual(await Promise.all([before, after, later]), [0, 0, 0], `round ${round}: no JS request was cancelled by the program's failed, linked cancel`);
      const got = await drained(ring, 1, 1);
      assert.deepEqual(got.map((c) => [c.userData, c.res]), [[9n, -2]], "the program's cancel found nothing (ENOENT), in its own CQ");
    }
  });
}
