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
