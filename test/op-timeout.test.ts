/** IORING_OP_TIMEOUT against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, requireOp, CPU_TIME_SCALE } from './helpers.js';


test('timeout fires (resolves true) after about the time asked', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'timeout')) return;
  const t0 = performance.now();
  assert.equal(await ring.timeout(30), true);
  const dt = performance.now() - t0;
  assert.ok(dt >= 25 && dt < 1000 * CPU_TIME_SCALE, `took ${dt} ms`); // (the upper bound scaled: a TCG guest is slower)
  assert.equal(await ring.timeout({ sec: 0, nsec: 1_000_000 }), true);
  assert.equal(await ring.timeout(1_000_000n), true);
});

test('timeout with count completes (false) once enough other requests completed', async (t) => {
  const ring = ringFor(t);
  const tm = ring.timeout(10_000, { count: 2 });
  await ring.nop();
  await ring.nop();
  assert.equal(await tm, false);
});
