/** IORING_OP_ASYNC_CANCEL against the kernel (directly and through AbortSignal). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, requireOp } from './helpers.js';


test('AbortSignal cancels a pending timeout with AbortError; pre-aborted signal never submits', async (t) => {
  const ring = ringFor(t);
  const ac = new AbortController();
  const p = ring.timeout(60_000, { signal: ac.signal });
  setTimeout(() => ac.abort(new Error('stop')), 10);
  await assert.rejects(p, (e: any) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause.message === 'stop');
  const before = ring.stats().sqesSubmitted;
  await assert.rejects(ring.nop({ signal: AbortSignal.abort() }), { name: 'AbortError' });
  assert.equal(ring.stats().sqesSubmitted, before);
});

test('asyncCancel by user_data: ENOENT for an unknown target', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'asyncCancel')) return;
  await assert.rejects(ring.asyncCancel(0xdeadbeefn), { code: 'ENOENT' });
});

test('one AbortSignal shared by many requests: one listener at most, none left after they settle', async (t) => {
  const { EventEmitter } = await import('node:events');
  const getEventListeners = EventEmitter.getEventListeners;
  const ring = ringFor(t, { entries: 4, cqEntries: 4 });
  const ac = new AbortController();
  const ok = await Promise.all(Array.from({ length: 50 }, () => ring.nop({ signal: ac.signal })));
  assert.deepEqual(new Set(ok), new Set([0]));
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'settled requests leave no listener');
  const ps = Array.from({ length: 50 }, () => ring.timeout(60_000, { signal: ac.signal }));
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  ac.abort();
  const rs = await Promise.allSettled(ps);
  assert.ok(rs.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'AbortError'));
  assert.equal(ring.pending, 0);
});
