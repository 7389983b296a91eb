/** TIMEOUT_REMOVE with IORING_TIMEOUT_UPDATE / IORING_LINK_TIMEOUT_UPDATE as ring.timeoutUpdate(): a running timer re-armed in place. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, requireOp, fifo, CPU_TIME_SCALE } from './helpers.js';
import { op } from '../src/index.js';

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));
/** An elapsed-time bound: 5 s, scaled for a TCG guest (10-40 times slower) yet well under the 60 s an update that did nothing would take. */
const SOON = Math.min(5_000 * CPU_TIME_SCALE, 30_000);

test('timeoutUpdate shortens a running ring.timeout() named by its promise', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'timeoutRemove')) return;
  const start = Date.now();
  const p = ring.timeout(60_000);
  await tick();
  await ring.timeoutUpdate(p, 20);
  assert.equal(await p, true, 'it fired (-ETIME) under its new time');
  assert.ok(Date.now() - start < SOON, `fired after ${Date.now() - start} ms, not 60 s`);
  await assert.rejects(ring.timeoutUpdate(p, 10), { code: 'ENOENT', op: 'timeoutRemove' }, 'gone: nothing to update');
});

test('timeoutUpdate lengthens a timer named by its Sqe; timeoutRemove by the Sqe removes it', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'timeoutRemove')) return;
  const sqe = op.timeout(30 * CPU_TIME_SCALE); // (× CPU_TIME_SCALE: in a loaded TCG guest 30 ms may pass before the update runs)
  let fired = false;
  const p = ring.run<boolean>(sqe).then((v) => ((fired = true), v));
  await ring.timeoutUpdate(sqe, 60_000);
  await tick(80 * CPU_TIME_SCALE);
  assert.equal(fired, false, 'the 30 ms timer now runs for a minute');
  await ring.timeoutRemove(sqe);
  await assert.rejects(p, { code: 'ECANCELED' });
});

test('timeoutUpdate of a linkTimeout (IORING_LINK_TIMEOUT_UPDATE) fires it sooner: the request it guards is cancelled', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'linkTimeout') || !requireOp(t, ring, 'pollAdd')) return;
  const f = fifo(t);
  const lt = op.linkTimeout(60_000);
  const [poll, timer] = ring.chain([op.pollAdd(f.fd, ['in']).link(), lt]);
  await tick();
  const start = Date.now();
  await ring.timeoutUpdate(lt, 10);
  await assert.rejects(poll, { code: 'ECANCELED' });
  assert.equal(await timer, true, 'the link timeout fired');
  assert.ok(Date.now() - start < SOON);
});

test('a linkTimeout cannot be removed by TIMEOUT_REMOVE (ENOENT: removal looks among plain timeouts only), nor updated with UPDATE alone', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'linkTimeout') || !requireOp(t, ring, 'pollAdd')) return;
  const f = fifo(t);
  const lt = op.linkTimeout(60_000);
  const [poll, timer] = ring.chain([op.pollAdd(f.fd, ['in']).link(), lt]);
  await tick();
  await assert.rejects(ring.timeoutRemove(lt), { code: 'ENOENT' });
  await assert.rejects(ring.timeoutUpdate(lt, 10, { timeoutFlags: 0x2 }), { code: 'ENOENT' });
  f.write('x');
  assert.equal(await poll, 1);
  assert.equal(await timer, false, 'the request finished first');
});

test('a timeout cancelled by AbortSignal settles once; updating it afterwards says ENOENT', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'timeoutRemove')) return;
  const ac = new AbortController();
  let settled = 0;
  const p = ring.timeout(60_000, { signal: ac.signal });
  p.then(() => settled++, () => settled++);
  await tick();
  ac.abort();
  await assert.rejects(p, { name: 'AbortError' });
  await assert.rejects(ring.timeoutUpdate(p, 1), { code: 'ENOENT' });
  await tick(20);
  assert.equal(settled, 1);
});

test('timeoutUpdate refuses bad arguments naming them', (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.timeoutUpdate(op.nop(), 1), /^TypeError: timeoutRemove\(\): "target": this nop Sqe cannot be named/);
  assert.throws(() => ring.timeoutUpdate({} as never, 1), /^TypeError: timeoutRemove\(\): "target" must be a user_data/);
  assert.throws(() => ring.timeoutUpdate(1, -5), /^RangeError: timeoutRemove\(\): "time" must be a finite number of milliseconds/);
  assert.throws(() => (ring.timeoutUpdate as (...a: unknown[]) => unknown)(1), /^TypeError: timeoutUpdate\(\): takes target, time, options; got 1/);
  assert.throws(() => ring.timeoutUpdate(1, 5, { bogus: 1 } as never), /^TypeError: timeoutUpdate\(\): "bogus" is not an option of timeoutUpdate\(\); it accepts signal, timeoutFlags/);
  assert.equal(ring.pending, 0);
});
