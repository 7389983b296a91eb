/**
 * src/ring/callback-requests.ts: groups and lone requests settled by a callback, not a promise
 * each (ringflow/fs's readFile and writeFile). The ring's rules hold as for ring.chain(): every
 * step settles exactly once, with its own outcome; a broken link cancels what follows; an abort
 * or a close settles what is in flight only when its CQE came (the kernel let go of its memory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor } from './helpers.js';
import { op, RingError } from '../src/index.js';
import { runGroupSettled, runWithCallback, runForTarget, type Settled, type SettleTarget } from '../src/ring/callback-requests.js';

const codeOf = (s: Settled): string | undefined => (s.ok ? undefined : (s.error as { code?: string }).code);

test('a group: values in order; a failed soft-linked step cancels the rest; one resolution', async (t) => {
  const ring = ringFor(t);
  const fd = openSync('/dev/zero', 'r');
  t.after(() => closeSync(fd));
  const buf = new Uint8Array(16);
  const ok = await runGroupSettled(ring, [op.nop().link(), op.read(fd, buf, 0)], undefined);
  assert.deepEqual(ok, [
    { ok: true, value: 0 },
    { ok: true, value: 16 },
  ]);
  const broken = await runGroupSettled(ring, [op.read(999_999, buf, 0).link(), op.nop().link(), op.nop()], undefined);
  assert.equal(codeOf(broken[0]), 'EBADF');
  assert.ok(!broken[0].ok && broken[0].error instanceof RingError);
  assert.equal(codeOf(broken[1]), 'ECANCELED');
  assert.equal(codeOf(broken[2]), 'ECANCELED');
  assert.equal(ring.pending, 0);
});

test('a signal aborted before: nothing is submitted, every step is an AbortError', async (t) => {
  const ring = ringFor(t);
  const ac = new AbortController();
  ac.abort();
  const before = ring.stats().sqesSubmitted;
  const r = await runGroupSettled(ring, [op.nop().link(), op.nop()], ac.signal);
  assert.equal(r.length, 2);
  for (const s of r) assert.ok(!s.ok && (s.error as Error).name === 'AbortError');
  await ring.nop();
  assert.equal(ring.stats().sqesSubmitted, before + 1, 'only the nop after it');
});

test('an abort while in flight settles the group once its CQEs came', async (t) => {
  const ring = ringFor(t);
  const ac = new AbortController();
  const p = runGroupSettled(ring, [op.timeout(10_000).link(), op.nop()], ac.signal);
  setTimeout(() => ac.abort(), 20);
  const r = await p;
  assert.ok(!r[0].ok && (r[0].error as Error).name === 'AbortError');
  assert.ok(!r[1].ok);
  assert.equal(ring.pending, 0, 'nothing left in flight');
});

test('the ring closes with a group and a lone callback request in flight: each settles once, nothing throws', async (t) => {
  const ring = ringFor(t);
  const calls: Settled[][] = [];
  const group = runGroupSettled(ring, [op.timeout(10_000).link(), op.nop()], undefined);
  runWithCallback(ring, op.timeout(10_000), (out) => calls.push(out));
  await ring.close();
  const r = await group;
  assert.ok(r.every((s) => !s.ok));
  assert.equal(calls.length, 1);
  assert.equal(calls[0].length, 1);
  assert.ok(!calls[0][0].ok);
  // submitting on a closed ring is refused, as ring.run() refuses it
  assert.throws(() => runWithCallback(ring, op.nop(), () => {}), { name: 'RingClosedError' });
  assert.throws(() => runGroupSettled(ring, [op.nop()], undefined), { name: 'RingClosedError' });
});

test('runWithCallback: the callback gets the result once, from the completion; 1000 at once', async (t) => {
  const ring = ringFor(t, { entries: 64 });
  let n = 0;
  let sum = 0;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < 1000; i++)
      runWithCallback(ring, op.nop(), (out) => {
        assert.equal(out.length, 1);
        if (out[0].ok) sum += 1;
        if (++n === 1000) resolve();
      });
  });
  assert.equal(sum, 1000);
  assert.equal(ring.pending, 0);
});

test('a request with more than one CQE (zero-copy send, multishot) is refused before anything is queued', (t) => {
  const ring = ringFor(t);
  const before = ring.stats().sqesSubmitted;
  assert.throws(() => runWithCallback(ring, op.sendZc(0, new Uint8Array(1)), () => {}), TypeError);
  assert.throws(() => runGroupSettled(ring, [op.nop().link(), op.sendZc(0, new Uint8Array(1))], undefined), TypeError);
  assert.equal(ring.pending, 0);
  assert.equal(ring.stats().sqesSubmitted, before);
});

test('what ring.chain() refuses is refused here too, before anything is queued: an empty group, skipSuccess() last, an entry too big for the ring', (t) => {
  const ring = ringFor(t);
  const before = ring.stats().sqesSubmitted;
  assert.throws(() => runGroupSettled(ring, [], undefined), TypeError);
  assert.throws(() => runGroupSettled(ring, [op.nop().link(), op.nop().skipSuccess()], undefined), RangeError);
  assert.throws(() => runWithCallback(ring, op.nop().skipSuccess(), () => {}), RangeError);
  const big = op.uringCmdRaw(0, 0, new Uint8Array(32)); // 32 command bytes need a 128-byte SQE
  assert.throws(() => runWithCallback(ring, big, () => {}), RangeError);
  assert.equal(ring.pending, 0);
  assert.equal(ring.stats().sqesSubmitted, before);
});

test('runForTarget: each request settles its target once with its token (value, RingError, abort before and in flight, ring closed)', async (t) => {
  const ring = ringFor(t, { entries: 16 });
  const got: [string, number, unknown][] = [];
  let done: () => void = () => {};
  const target: SettleTarget<number> = {
    resolved: (token, value) => {
      got.push(['resolved', token, value]);
      done();
    },
    rejected: (token, error) => {
      got.push(['rejected', token, error]);
      done();
    },
  };
  const until = (n: number) => new Promise<void>((resolve) => (done = () => got.length >= n && resolve()));
  // 100 NOPs through a 16-entry ring: each token once, with its own result (injected where the
  // kernel has nop's INJECT_RESULT, 6.10+; 0 otherwise)
  const inject = ring.supports('nop', { flag: 'INJECT_RESULT' });
  let wait = until(100);
  for (let i = 0; i < 100; i++) runForTarget(ring, inject ? op.nop({ injectResult: i }) : op.nop(), target, i, undefined);
  await wait;
  assert.deepEqual(got.map(([k, tok, v]) => [k, tok, v]).sort((a, b) => (a[1] as number) - (b[1] as number)), Array.from({ length: 100 }, (_, i) => ['resolved', i, inject ? i : 0]));
  got.length = 0;
  // a failure is the ring's RingError
  wait = until(1);
  runForTarget(ring, op.close(1 << 30), target, 7, undefined);
  await wait;
  assert.equal(got[0][0], 'rejected');
  assert.ok(got[0][2] instanceof RingError && got[0][2].code === 'EBADF');
  got.length = 0;
  // aborted before: rejected on a microtask, not inside the call, nothing submitted
  const before = ring.stats().sqesSubmitted;
  wait = until(1);
  runForTarget(ring, op.nop(), target, 8, AbortSignal.abort());
  assert.equal(got.length, 0, 'not inside the call');
  await wait;
  assert.equal(got[0][0], 'rejected');
  assert.equal((got[0][2] as Error).name, 'AbortError');
  assert.equal(ring.stats().sqesSubmitted, before);
  got.length = 0;
  // aborted in flight: the ring cancels it
  const ac = new AbortController();
  wait = until(1);
  runForTarget(ring, op.timeout(10_000), target, 9, ac.signal);
  setTimeout(() => ac.abort(), 10);
  await wait;
  assert.deepEqual([got[0][0], got[0][1], (got[0][2] as Error).name], ['rejected', 9, 'AbortError']);
  got.length = 0;
  // the ring closing under one: rejected once; a closed ring refuses more
  wait = until(1);
  runForTarget(ring, op.timeout(10_000), target, 10, undefined);
  await ring.close();
  await wait;
  assert.equal(got.length, 1);
  assert.equal(got[0][0], 'rejected');
  assert.throws(() => runForTarget(ring, op.nop(), target, 11, undefined), { name: 'RingClosedError' });
});
