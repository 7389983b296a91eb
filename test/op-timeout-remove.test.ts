/** IORING_OP_TIMEOUT_REMOVE against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, requireOp } from './helpers.js';

test('timeoutRemove of an unknown user_data rejects ENOENT', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'timeoutRemove')) return;
  await assert.rejects(ring.timeoutRemove(0xabcdefn), { code: 'ENOENT', op: 'timeoutRemove' });
});
