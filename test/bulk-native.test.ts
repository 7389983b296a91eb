/**
 * Bulk completions reaped in C (native/bulk.c): on a plain ring a run of bulk CQEs at the CQ's
 * head is moved into the queue's ready list natively. What the JS path guarantees must hold
 * there too: a CQE for a slot out of range, of another generation or not in flight (stale or
 * forged: here posted by another ring's raw IORING_OP_MSG_RING with a bulk user_data) is dropped
 * and changes nothing; bulk and promise CQEs interleaved in one CQ each reach their owner; a
 * finished request's memory is let go of.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ringFor, requireOp } from './helpers.js';
import { op, BulkCompletions, Sqe, opByName } from '../src/index.js';
import { BULK_TAG } from '../src/ring/completion.js';

/** A raw MSG_RING (IORING_MSG_DATA) that posts a CQE with any user_data and res into `targetFd`'s ring. */
function forgedCqe(targetFd: number, userData: bigint, res: number): Sqe {
  const s = new Sqe(opByName('msgRing')!);
  s.fd = targetFd;
  s.len = res;
  s.setOff(userData);
  s.setAddr(0); // IORING_MSG_DATA
  return s;
}

const bulkUserData = (slot: number, gen: number): bigint => (BigInt(BULK_TAG) << 32n) | BigInt(((gen << 16) | slot) >>> 0);

test('forged and stale bulk CQEs between real ones are dropped by the native reap; real ones complete once', async (t) => {
  const ring = ringFor(t, { entries: 64 });
  if (!requireOp(t, ring, 'msgRing')) return;
  const sender = ringFor(t, { entries: 64 });
  const bulk = ring.bulk({ depth: 16 });
  const out = new BulkCompletions(16);
  // round 1 uses slots 0..7 (the free stack pops slot 0 first), generation 0; they are generation 1 now
  for (let i = 0; i < 8; i++) assert.ok(bulk.push(op.nop(), 100 + i));
  await bulk.wait(8);
  assert.equal(bulk.take(out), 8);
  // forged: a slot out of range, a slot never used, a used slot's old generation, a free slot's current generation
  for (const ud of [bulkUserData(999, 0), bulkUserData(15, 0), bulkUserData(3, 0), bulkUserData(3, 1)]) await sender.run(forgedCqe(ring.fd, ud, 77));
  // the forged CQEs sit in ring's CQ now; real requests after them
  for (let i = 0; i < 4; i++) assert.ok(bulk.push(op.nop(), 200 + i));
  bulk.submit();
  await bulk.wait(4);
  const n = bulk.take(out);
  assert.equal(n, 4, 'only the four real completions');
  assert.deepEqual([...out.tag.subarray(0, n)].sort(), [200, 201, 202, 203]);
  assert.ok([...out.res.subarray(0, n)].every((r) => r === 0), 'no forged res (77) reached a real slot');
  assert.equal(bulk.inflight, 0);
  assert.equal(bulk.ready, 0);
  // the queue still works at full depth
  for (let i = 0; i < 16; i++) assert.ok(bulk.push(op.nop(), i));
  assert.equal(bulk.push(op.nop(), 99), false, 'depth 16 reached');
  await bulk.wait(16);
  assert.equal(bulk.take(out), 16);
});

test('a forged CQE naming a slot in flight with its generation completes it early, as on the JS path (its res is what the forger chose), and only once', async (t) => {
  // documents the limit: a ring that can post into this ring's CQ (msg_ring with the ring's fd)
  // can complete a bulk slot; ringflow's own messages carry MESSAGE_TAG and cannot
  const ring = ringFor(t, { entries: 64 });
  if (!requireOp(t, ring, 'msgRing')) return;
  const sender = ringFor(t, { entries: 64 });
  const bulk = ring.bulk({ depth: 4 });
  const out = new BulkCompletions(4);
  assert.ok(bulk.push(op.timeout(10_000), 7)); // slot 0, gen 0: in flight for 10 s
  bulk.submit();
  await sender.run(forgedCqe(ring.fd, bulkUserData(0, 0), 55));
  await bulk.wait(1);
  assert.equal(bulk.take(out), 1);
  assert.equal(out.tag[0], 7);
  assert.equal(out.res[0], 55);
  // the real timeout's CQE, when the ring closes it, is stale now: dropped
  await ring.close();
  assert.equal(bulk.ready, 0);
});

test('bulk and promise CQEs interleaved in one CQ: the native reap stops at each promise CQE and goes on after it', async (t) => {
  const ring = ringFor(t, { entries: 256 });
  const bulk = ring.bulk({ depth: 128 });
  const out = new BulkCompletions(128);
  for (let round = 0; round < 20; round++) {
    const promises: Promise<number>[] = [];
    for (let i = 0; i < 96; i++) {
      if (i % 3 === 1) promises.push(ring.nop());
      else assert.ok(bulk.push(op.nop(), round * 1000 + i));
    }
    bulk.submit();
    const rs = await Promise.all(promises);
    assert.equal(rs.length, 32);
    assert.ok(rs.every((r) => r === 0));
    await bulk.wait(64);
    const n = bulk.take(out);
    assert.equal(n, 64);
    const tags = new Set(out.tag.subarray(0, n));
    assert.equal(tags.size, 64, 'each bulk completion once');
    for (let i = 0; i < 96; i++) if (i % 3 !== 1) assert.ok(tags.has(round * 1000 + i));
  }
  assert.equal(ring.pending, 0);
});

test('a buffer pushed with a read is let go of once its CQE is reaped natively (collectable)', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const ring = ringFor(t, { entries: 64 });
  const bulk = ring.bulk({ depth: 8 });
  const out = new BulkCompletions(8);
  const fd = openSync('/dev/zero', 'r');
  t.after(() => closeSync(fd));
  let ref: WeakRef<Uint8Array> | undefined;
  (() => {
    const b = new Uint8Array(1 << 20);
    ref = new WeakRef(b);
    assert.ok(bulk.push(op.read(fd, b, 0), 1));
  })();
  await bulk.wait(1);
  bulk.take(out);
  for (let i = 0; i < 5 && ref!.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(ref!.deref(), undefined, 'the queue keeps no reference after the CQE');
});

test('careless caller: a worker that exits with bulk requests in flight (a 10 s timeout) ends cleanly; this thread\'s bulk queue goes on', async (t) => {
  const { Worker } = await import('node:worker_threads');
  const entry = new URL('../src/index.js', import.meta.url).href;
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(entry)}).then(({ Ring, op }) => {
      const ring = new Ring();
      const bulk = ring.bulk({ depth: 8 });
      for (let i = 0; i < 4; i++) bulk.push(op.timeout(10_000), i);
      bulk.push(op.nop(), 9);
      bulk.submit();
      parentPort.postMessage(bulk.inflight);
      process.exit(0); // no close(): the environment's teardown takes the ring down
    });`;
  const ring = ringFor(t, { entries: 64 });
  const bulk = ring.bulk({ depth: 16 });
  const out = new BulkCompletions(16);
  const w = new Worker(code, { eval: true });
  // listened for from the start: a worker that exits right after posting may have its message and
  // its exit emitted in one callback, before an await of the message resumes
  const exited = new Promise((r) => w.once('exit', r));
  const inflight = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.ok(typeof inflight === 'number' && inflight >= 4);
  assert.equal(await exited, 0);
  for (let i = 0; i < 16; i++) assert.ok(bulk.push(op.nop(), i));
  await bulk.wait(16);
  assert.equal(bulk.take(out), 16);
  assert.ok([...out.res].every((r) => r === 0));
});
