/** IORING_OP_NOP against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NopFlags } from '../src/ring/abi.js';
import { ringFor, requireOp, requireFlag } from './helpers.js';

test('nop completes with res 0; INJECT_RESULT returns the value given, negative ones as RingError', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'nop')) return;
  assert.equal(await ring.nop(), 0);
  if (!requireFlag(t, ring, 'nop', 'INJECT_RESULT')) return;
  assert.equal(await ring.nop({ injectResult: 12345 }), 12345);
  assert.equal(await ring.nop({ injectResult: 0, nopFlags: NopFlags.INJECT_RESULT }), 0);
  await assert.rejects(ring.nop({ injectResult: -11 }), { name: 'RingError', code: 'EAGAIN', op: 'nop' });
});
