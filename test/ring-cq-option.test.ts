// The `cq` option of JS requests (docs/completion-programs.md, "JS requests and programs"): a JS
// request's completion is also posted to the CQ it names, where programs reap and wait on it; the
// promise settles as usual.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { op } from '../src/index.js';
import { ringFor } from './helpers.js';
import { ENGINES, noEngine, ringProgram, emitAsm } from './security/asm-programs.js';

test('{ cq, userData }: the completion goes to that CQ with that user_data, and the promise settles', { skip: noEngine }, async (t) => {
  const ring = ringFor(t, { cqs: [16] });
  const results = await Promise.all([
    ring.nop({ cq: 1, userData: 7 }),
    ring.statx('/nonexistent/ringflow', { cq: 1, userData: 2n ** 64n - 1n }).catch((e: { code: string }) => e.code),
    ring.nop(),
  ]);
  assert.deepEqual(results, [0, 'ENOENT', 0], 'the promises settled from the same completions');
  assert.deepEqual(ring.cq(1).drain().map((c) => [c.userData, c.res]), [
    [7n, 0],
    [2n ** 64n - 1n, -2],
  ], 'one copy per request that named CQ 1, failures included; the request without cq posted none');
});

test('Sqe.toCq() in a chain: each member names its own CQ; skipped successes post nothing', { skip: noEngine }, async (t) => {
  const ring = ringFor(t, { cqs: [16, 16] });
  const [a, b, c] = ring.chain([op.nop().toCq(1, 1), op.nop().skipSuccess().toCq(1, 2), op.nop().toCq(2, 3)], { link: true });
  assert.deepEqual(await Promise.all([a, b, c]), [0, undefined, 0]);
  assert.deepEqual(ring.cq(1).drain().map((x) => x.userData), [1n], 'the skip-success member had no completion to copy');
  assert.deepEqual(ring.cq(2).drain().map((x) => x.userData), [3n]);
});

test('cq 0 is the programs\' CQ 0: onCompletion sees the copy', { skip: noEngine }, async (t) => {
  const ring = ringFor(t);
  const seen: bigint[] = [];
  ring.onCompletion((c) => seen.push(c.userData));
  assert.equal(await ring.nop({ cq: 0, userData: 42 }), 0);
  await ring.nop();
  assert.deepEqual(seen, [42n]);
});

test('bad cq / userData: ringflow RangeError/TypeError before anything is submitted', { skip: noEngine }, async (t) => {
  const ring = ringFor(t, { cqs: [4] });
  assert.throws(() => ring.nop({ cq: 2 }), /"cq" 2 is not a completion queue of this ring/);
  assert.throws(() => ring.nop({ cq: -1 }), RangeError);
  assert.throws(() => ring.nop({ cq: 1.5 }), TypeError);
  assert.throws(() => ring.nop({ cq: '1' as unknown as number }), TypeError);
  assert.throws(() => ring.nop({ userData: 1 }), /pass "cq" too/);
  assert.throws(() => ring.nop({ cq: 1, userData: -1 }), RangeError);
  assert.throws(() => op.nop().toCq(1, 1.5), TypeError);
  assert.throws(() => ring.chain([op.nop(), op.nop().toCq(9)]), /"cq" 9/);
  assert.equal(ring.pending, 0, 'nothing was queued');
  assert.equal(ring.cq(1).ready, 0);
});

for (const { name, jit } of ENGINES) {
  test(`a program waits for three JS reads named to CQ 1, sums their user_data and reports on CQ 0 (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [16] });
    const reap = (to: string) => `mov %r1, %r6\nmov %r2, 1\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 16\ncall 166\njne %r0, 0, ${to}\nldxdw %r1, [%r10-16]\nadd %r7, %r1`;
    const prog = ring.registerProgram(ringProgram(`
      mov %r6, %r1
      mov %r7, 0
      ${reap('wait')}
      ${reap('fail')}
      ${reap('fail')}
      mov %r1, %r6
      mov %r2, 0
      mov %r3, %r7
      mov %r4, 3
      mov %r5, 0
      call 165
      mov %r0, 0
      exit
      wait:
      stw [%r6+8], 3
      stw [%r6+12], 1
      mov %r0, 0
      exit
      fail:
      ${emitAsm(0, 0xbadn, -1)}
      mov %r0, 0
      exit`, jit));
    const reports: [bigint, number][] = [];
    ring.onCompletion((c) => reports.push([c.userData, c.res]));
    const waiter = ring.runProgram(prog);
    const buf = Buffer.alloc(8);
    const fd = (await import('node:fs')).openSync('/proc/self/stat', 'r');
    t.after(() => (import('node:fs').then((f) => f.closeSync(fd))));
    const reads = await Promise.all([100, 20, 3].map((ud) => ring.read(fd, buf, 0, { cq: 1, userData: ud })));
    assert.deepEqual(reads, [8, 8, 8], 'the reads resolved their promises');
    assert.equal(await waiter, 0, 'the program ran again once CQ 1 held three completions');
    assert.deepEqual(reports, [[123n, 3]], 'it reaped the three copies, nothing else');
  });
}
