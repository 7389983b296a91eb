/** Closing with requests in flight, double close, use after close, asyncDispose. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, RingClosedError } from '../src/index.js';
import { CPU_TIME_SCALE } from './helpers.js';

test('close cancels in-flight requests and rejects their promises with a clear error', async () => {
  const ring = new Ring();
  const timers = [ring.timeout(60_000), ring.timeout(60_000)];
  const nop = ring.nop();
  await nop;
  const t0 = performance.now();
  await ring.close();
  assert.ok(performance.now() - t0 < 2000 * CPU_TIME_SCALE, 'close did not wait for the 60 s timers'); // (a TCG guest is slower)
  for (const p of timers) await assert.rejects(p, (e: any) => e instanceof RingClosedError && /in flight/.test(e.message) && e.submitted === true && (e.cause as any)?.code === 'ECANCELED');
});

test('close rejects requests still queued in JS (never submitted)', async () => {
  const ring = new Ring({ autoSubmit: false });
  const p = ring.nop();
  await ring.close();
  await assert.rejects(p, (e: any) => e instanceof RingClosedError && /before the request was submitted/.test(e.message) && e.submitted === false);
});

test('second close is a no-op; using a closed ring throws RingClosedError', async () => {
  const ring = new Ring();
  const a = ring.close();
  const b = ring.close();
  await Promise.all([a, b]);
  await ring.close();
  assert.equal(ring.closed, true);
  assert.throws(() => ring.nop(), (e: any) => e instanceof RingClosedError && e.submitted === false);
  assert.throws(() => ring.submit(), RingClosedError);
  assert.throws(() => ring.register(8, null, 0), RingClosedError);
});

test('Symbol.asyncDispose closes the ring', async () => {
  let kept: Ring;
  {
    await using ring = new Ring();
    kept = ring;
    assert.equal(await ring.nop(), 0);
  }
  assert.equal(kept.closed, true);
});

test('many rings created and closed back to back do not leak fds', async () => {
  const { readdirSync } = await import('node:fs');
  const before = readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 200; i++) {
    const r = new Ring({ entries: 8 });
    await r.nop();
    await r.close();
  }
  const after = readdirSync('/proc/self/fd').length;
  assert.ok(after - before <= 2, `fds grew from ${before} to ${after}`);
});
