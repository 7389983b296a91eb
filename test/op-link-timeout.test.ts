/** IORING_OP_LINK_TIMEOUT against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, requireOp } from './helpers.js';
import { op, TimeoutFlags } from '../src/index.js';


test('linkTimeout cancels a request that takes too long; resolves false when the request wins', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'linkTimeout')) return;
  const [slow, lt] = ring.chain([op.timeout(5_000).link(), op.linkTimeout(20)]);
  await assert.rejects(slow, { code: 'ECANCELED' });
  assert.equal(await lt, true, 'the link timeout fired');
  const [fast, lt2] = ring.chain([op.nop().link(), op.linkTimeout(5_000)]);
  assert.equal(await fast, 0);
  assert.equal(await lt2, false);
  const [etime] = ring.chain([op.timeout(1, { timeoutFlags: TimeoutFlags.ETIME_SUCCESS }).link(), op.nop()]);
  assert.equal(await etime, true);
});
