/** Links, hardlinks and CQE_SKIP_SUCCESS across ops. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor, tempFile, lacksFlag } from './helpers.js';
import { op } from '../src/index.js';


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

test('hardlink continues after a failure', { skip: lacksFlag('nop', 'INJECT_RESULT') }, async (t) => {
  const ring = ringFor(t);
  const rs = await Promise.allSettled(ring.chain([op.nop({ injectResult: -5 }).hardlink(), op.nop()]));
  assert.equal((rs[0] as PromiseRejectedResult).reason.code, 'EIO');
  assert.deepEqual(rs[1], { status: 'fulfilled', value: 0 });
});

test('skipSuccess: members without CQEs settle from the chain', { skip: lacksFlag('nop', 'INJECT_RESULT') }, async (t) => {
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
