/**
 * errorKeepsLink (src/ops/desc.ts) covers the errors an op's issue function completes with (no
 * req_set_fail). An error the kernel finds before that (the fd lookup of a needs_file op, a prep
 * error) fails the request the generic way (io_req_defer_failed -> req_set_fail), and the link
 * breaks there like any other op's: ring.link() must name that step, not the cancelled one after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, requireOp } from './helpers.js';
import { op } from '../src/index.js';

const BAD_FD = 999_999;

for (const [name, build] of [
  ['fallocate', () => op.fallocate(BAD_FD, 0, 10)],
  ['ftruncate', () => op.ftruncate(BAD_FD, 0)],
  ['syncFileRange', () => op.syncFileRange(BAD_FD, 0, 0, 0)],
  ['fgetxattr', () => op.fgetxattr(BAD_FD, 'user.x')],
] as const) {
  test(`${name} on a bad fd (EBADF at the file lookup) breaks its link: ring.link() says so at that step`, async (t) => {
    const ring = ringFor(t);
    if (!requireOp(t, ring, name)) return;
    // what the kernel does: the next step is cancelled
    const raw = await Promise.allSettled(ring.chain([build(), op.nop()], { link: true }));
    assert.equal((raw[0] as PromiseRejectedResult).reason.code, 'EBADF');
    assert.equal(raw[1].status, 'rejected', 'the kernel cancelled the step after it');
    assert.equal((raw[1] as PromiseRejectedResult).reason.code, 'ECANCELED');
    const outcome = await ring.link([build(), op.nop(), op.nop()]);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.broken?.index, 0, `the chain broke at ${name}, got ${JSON.stringify(outcome.broken && { index: outcome.broken.index, op: outcome.broken.op })}`);
    assert.equal(outcome.broken?.reason, 'error');
    assert.equal(outcome.steps[0].status, 'failed');
    assert.equal(outcome.steps[1].status, 'cancelled');
    assert.equal(outcome.steps[2].status, 'cancelled');
  });
}

test('an errorKeepsLink step that failed in its issue function still keeps the link (mkdirat EEXIST-like ENOENT), with a link timeout after it too', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'mkdirat') || !requireOp(t, ring, 'linkTimeout')) return;
  const outcome = await ring.link([op.mkdirat('/no/such/dir/x'), op.nop()]);
  assert.equal(outcome.broken, undefined);
  assert.deepEqual(outcome.steps[1], { status: 'ok', value: 0 });
  const timed = await ring.link([op.mkdirat('/no/such/dir/x'), op.linkTimeout(10_000), op.nop()]);
  assert.equal(timed.broken, undefined, 'the chain went on');
  assert.deepEqual(timed.steps[2], { status: 'ok', value: 0 });
  const badFdTimed = await ring.link([op.fallocate(BAD_FD, 0, 10), op.linkTimeout(10_000), op.nop()]);
  assert.equal(badFdTimed.broken?.index, 0, 'EBADF broke the chain at the fallocate, past its link timeout');
  assert.equal(badFdTimed.steps[2].status, 'cancelled');
});
