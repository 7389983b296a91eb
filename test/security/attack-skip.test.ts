// Attack: IOSQE_CQE_SKIP_SUCCESS on a program-submitted request that is not followed by a linked
// request. The kernel completes it without a CQE, so the engine's request entry (kind K_KERNEL)
// is never freed: close() waits forever for in_kernel == 0, and nprog_reqs leaks toward the
// 65,536 cap (after which every program submission is refused with -EBUSY).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, op } from '../../src/index.js';
import { ENGINES, noEngine, ringProgram } from './asm-programs.js';
import { IOSQE, OP, submitFlagsAsm, within } from './attack-asm.js';
import { lacksFlag, CPU_TIME_SCALE } from '../helpers.js';

const noInject = lacksFlag('nop', 'INJECT_RESULT');

for (const { name, jit } of ENGINES) {
  test(`a program NOP with CQE_SKIP_SUCCESS does not keep close() from resolving (${name})`, { skip: noEngine, timeout: 20_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = new Ring({ cqs: [4] });
    t.after(() => ring.unref()); // a close() that hangs must not keep the test process alive
    const p = ring.registerProgram(ringProgram(`mov %r6, %r1
      ${submitFlagsAsm({ opcode: OP.NOP, userData: 7n, flags: IOSQE.SKIP })}
      mov %r0, 0
      exit`, jit));
    assert.equal(await ring.runProgram(p), 0);
    assert.equal(await ring.nop(), 0); // the kernel has completed the skipped NOP by now
    const r = await within(ring.close(), 3000);
    assert.ok(r.settled, 'close() did not resolve within 3 s although the kernel holds nothing (the skipped NOP stays K_KERNEL)');
  });

  test(`program requests with CQE_SKIP_SUCCESS do not use up the program-request cap (${name})`, { skip: noEngine, timeout: 60_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = new Ring({ cqs: [4] });
    t.after(() => ring.unref()); // a close() that hangs must not keep the test process alive
    // 64 skipped NOPs per run
    const body = Array.from({ length: 64 }, (_, i) => submitFlagsAsm({ opcode: OP.NOP, userData: BigInt(i), flags: IOSQE.SKIP })).join('\n');
    const p = ring.registerProgram(ringProgram(`mov %r6, %r1\n${body}\nmov %r0, 0\nexit`, jit));
    for (let i = 0; i < 1100; i++) await ring.runProgram(p); // 70,400 successful NOPs
    const st = ring.stats();
    assert.equal(st.programSqesRejected, 0, `successful NOPs count against the cap: ${st.programSqesRejected} later submissions refused`);
    void within(ring.close(), 100);
  });
}

// The same fault without any program: when a CQE_SKIP_SUCCESS member of a chain fails, the kernel
// posts its CQE and suppresses the CQEs of the rest of the chain (REQ_F_SKIP_LINK_CQES). JS settles
// those members itself (src/ring/completion.ts #chainProgress), but on an engine ring their request
// entries stay K_KERNEL, and close() waits for them forever.
test('a JS chain whose skipSuccess() member fails does not keep close() from resolving on an engine ring', { skip: noEngine || noInject, timeout: 20_000 * CPU_TIME_SCALE }, async (t) => {
  const ring = new Ring({ cqs: [4] });
  t.after(() => ring.unref());
  const bad = await Promise.allSettled(ring.chain([op.nop({ injectResult: -9 }).skipSuccess(), op.nop(), op.nop()], { link: true }));
  assert.deepEqual(bad.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : r.value)), ['EBADF', 'ECANCELED', 'ECANCELED']);
  const r = await within(ring.close(), 3000);
  assert.ok(r.settled, 'close() did not resolve within 3 s: the suppressed members\' engine entries stay K_KERNEL');
});

for (const { name, jit } of ENGINES) {
  test(`a program chain whose CQE_SKIP_SUCCESS member fails does not keep close() from resolving (${name})`, { skip: noEngine || noInject, timeout: 20_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = new Ring({ cqs: [4] });
    t.after(() => ring.unref());
    // NOP(inject -EBADF, SKIP|LINK) → NOP: the second gets no CQE from the kernel
    const p = ring.registerProgram(ringProgram(`mov %r6, %r1
      ${submitFlagsAsm({ opcode: OP.NOP, opFlags: 1, len: -9 >>> 0, userData: 1n, cq: 1, flags: IOSQE.SKIP | IOSQE.LINK })}
      ${submitFlagsAsm({ opcode: OP.NOP, userData: 2n, cq: 1 })}
      mov %r0, 0
      exit`, jit));
    assert.equal(await ring.runProgram(p), 0);
    assert.equal(await ring.nop(), 0);
    // the engine honours CQE_SKIP_SUCCESS itself (docs/security.md): the failing member's CQE, and
    // the member it broke ends with -ECANCELED instead of the kernel's silence
    assert.deepEqual(ring.cq(1).drain().map((c) => [c.userData, c.res]), [[1n, -9], [2n, -125]]);
    const r = await within(ring.close(), 3000);
    assert.ok(r.settled, 'close() did not resolve within 3 s: the suppressed NOP\'s engine entry stays K_KERNEL');
  });
}
