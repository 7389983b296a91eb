/** timeout, link timeout, async cancel, AbortSignal, links and skip-success. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor, requireOp, tempFile } from './helpers.js';
import { op, TimeoutFlags } from '../src/index.js';

test('timeout fires (resolves true) after about the time asked', async (t) => {
  const ring = ringFor(t);
  const t0 = performance.now();
  assert.equal(await ring.timeout(30), true);
  const dt = performance.now() - t0;
  assert.ok(dt >= 25 && dt < 1000, `took ${dt} ms`);
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

test('link: write → fsync → read chain in one submission, in order', async (t) => {
  const ring = ringFor(t);
  const f = tempFile('');
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r+');
  t.after(() => closeSync(fd));
  const out = Buffer.alloc(5);
  const before = ring.stats().enterCalls;
  const [w, s, r] = ring.chain([op.write(fd, Buffer.from('chain'), 0), op.fsync(fd), op.read(fd, out, 0)], { link: true });
  assert.deepEqual(await Promise.all([w, s, r]), [5, undefined, 5]);
  assert.equal(out.toString(), 'chain');
  assert.equal(ring.stats().enterCalls - before, 1, 'one io_uring_enter for the chain');
});

test('link: a failing head cancels the rest with ECANCELED', async (t) => {
  const ring = ringFor(t);
  const ps = ring.chain([op.fsync(99999), op.nop(), op.nop()], { link: true });
  const rs = await Promise.allSettled(ps);
  assert.deepEqual(rs.map((r) => (r.status === 'rejected' ? (r.reason as any).code : r.value)), ['EBADF', 'ECANCELED', 'ECANCELED']);
});

test('hardlink continues after a failure', async (t) => {
  const ring = ringFor(t);
  const rs = await Promise.allSettled(ring.chain([op.nop({ injectResult: -5 }).hardlink(), op.nop()]));
  assert.equal((rs[0] as PromiseRejectedResult).reason.code, 'EIO');
  assert.deepEqual(rs[1], { status: 'fulfilled', value: 0 });
});

test('skipSuccess: members without CQEs settle from the chain', async (t) => {
  const ring = ringFor(t);
  if (!ring.hasFeature('CQE_SKIP')) return t.skip('IORING_FEAT_CQE_SKIP missing');
  const ok = ring.chain([op.nop().skipSuccess(), op.nop().skipSuccess(), op.nop()], { link: true });
  assert.deepEqual(await Promise.all(ok), [undefined, undefined, 0]);
  const before = ring.stats().cqesReaped;
  const bad = await Promise.allSettled(ring.chain([op.nop({ injectResult: -9 }).skipSuccess(), op.nop().skipSuccess(), op.nop()], { link: true }));
  assert.deepEqual(bad.map((r) => (r.status === 'rejected' ? (r.reason as any).code : r.value)), ['EBADF', 'ECANCELED', 'ECANCELED']);
  assert.equal(ring.stats().cqesReaped - before, 1, 'the kernel posted a single CQE');
  assert.throws(() => ring.run(op.nop().skipSuccess()), RangeError);
});

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
