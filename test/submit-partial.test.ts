/**
 * A batch with an SQE the kernel refuses before issuing it (here IOSQE_BUFFER_SELECT on a nop:
 * EOPNOTSUPP from io_init_req on every kernel since 5.7). Without IORING_SETUP_SUBMIT_ALL the
 * kernel posts that SQE's error CQE and stops consuming the SQ there; io_uring_enter returns
 * fewer than asked. Every request after it must still reach the kernel and settle: found on 6.1,
 * where a bulk wait() hung forever on the SQEs left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor } from './helpers.js';
import { op, BulkCompletions, RingError, type Sqe } from '../src/index.js';

const IOSQE_BUFFER_SELECT = 1 << 5;
/** A nop the kernel refuses at submission (EOPNOTSUPP): nop takes no provided buffer. */
function refusedNop(): Sqe {
  const s = op.nop();
  s.flags |= IOSQE_BUFFER_SELECT;
  return s;
}

test('promise path: a refused SQE in the middle of a batch fails alone; the requests after it are submitted and settle', async (t) => {
  const ring = ringFor(t, { entries: 16 });
  assert.equal(ring.setupFlags & 0x80, 0, 'the default ring has no SUBMIT_ALL');
  const ps = [ring.run(op.nop()), ring.run(refusedNop()), ring.run(op.nop()), ring.run(op.nop()), ring.run(refusedNop()), ring.run(op.nop())];
  const rs = await Promise.allSettled(ps);
  assert.deepEqual(
    rs.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
  );
  for (const i of [1, 4]) {
    const e = (rs[i] as PromiseRejectedResult).reason;
    assert.ok(e instanceof RingError, String(e));
    assert.equal(e.code, 'EOPNOTSUPP');
  }
  assert.equal(ring.pending, 0);
  assert.equal(ring.stats().queued, 0, 'nothing left in the SQ');
});

test('bulk path: a refused SQE among pushed ones: wait() resolves with every completion, the refused one with its errno', async (t) => {
  const ring = ringFor(t, { entries: 16 });
  const bulk = ring.bulk({ depth: 8 });
  const out = new BulkCompletions(8);
  for (let i = 0; i < 8; i++) assert.ok(bulk.push(i === 2 || i === 5 ? refusedNop() : op.nop(), i));
  bulk.submit();
  assert.equal(await bulk.wait(8), 8);
  assert.equal(bulk.take(out), 8);
  const byTag = new Map<number, number>();
  for (let i = 0; i < 8; i++) byTag.set(out.tag[i], out.res[i]);
  for (let i = 0; i < 8; i++) assert.equal(byTag.get(i), i === 2 || i === 5 ? -95 : 0, `tag ${i}`);
  assert.equal(ring.stats().queued, 0);
});

test('a refused SQE in a batch larger than the SQ (backlog): everything after it still runs', async (t) => {
  const ring = ringFor(t, { entries: 4 });
  const ps: Promise<unknown>[] = [];
  for (let i = 0; i < 40; i++) ps.push(ring.run(i % 7 === 3 ? refusedNop() : op.nop()));
  const rs = await Promise.allSettled(ps);
  rs.forEach((r, i) => assert.equal(r.status, i % 7 === 3 ? 'rejected' : 'fulfilled', `request ${i}`));
  assert.equal(ring.pending, 0);
});
