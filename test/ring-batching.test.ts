/** Automatic batching, explicit submit, backpressure on a full SQ / in-flight limit, CQ overflow. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, tagged } from './helpers.js';
import { op } from '../src/index.js';
import { CLOCK_EVERY } from '../src/ring/submission.js';

test('requests issued in the same tick go to the kernel in one io_uring_enter', async (t) => {
  const ring = ringFor(t);
  const before = ring.stats();
  const ps = [];
  for (let i = 0; i < 64; i++) ps.push(ring.nop());
  await Promise.all(ps);
  const after = ring.stats();
  assert.equal(after.enterCalls - before.enterCalls, 1);
  assert.equal(after.sqesSubmitted - before.sqesSubmitted, 64);
});

test('continuations that issue new requests in a batch callback are batched too', async (t) => {
  const ring = ringFor(t);
  const worker = async () => {
    for (let i = 0; i < 50; i++) await ring.timeout(0);
  };
  const before = ring.stats();
  await Promise.all(Array.from({ length: 16 }, worker));
  const d = ring.stats().sqesSubmitted - before.sqesSubmitted;
  const calls = ring.stats().enterCalls - before.enterCalls;
  assert.equal(d, 800);
  assert.ok(d / calls >= 4, `IOS/call ${d / calls} should show batching`);
});

test('an idle ring flushes by a microtask: a request that completes inline has settled before code queued after it resumes', async (t) => {
  const ring = ringFor(t);
  const before = ring.stats();
  let settled = false;
  const p = ring.nop().then((v) => ((settled = true), v));
  await Promise.resolve(); // queued behind the flush
  assert.equal(ring.stats().enterCalls - before.enterCalls, 1, 'flushed before a continuation queued after the request');
  assert.equal(await p, 0);
  assert.ok(settled);
  // awaits of one request after another on an idle ring never wait for the tick queue: a
  // nextTick callback queued first runs only after the loop's round trips (fewer than the flushes
  // after which the turn's time budget is looked at: before then no flush waits for the check phase)
  await new Promise((r) => setImmediate(r));
  let ticked = -1;
  let n = 0;
  const trips = CLOCK_EVERY - 1;
  process.nextTick(() => (ticked = n));
  for (; n < trips; n++) assert.equal(await ring.nop(), 0);
  await new Promise((r) => setImmediate(r));
  assert.equal(ticked, trips, 'the tick queue ran after the loop, not between its requests');
});

test('a ring with requests in flight flushes at the end of the tick: what every waiting continuation queues goes in one enter', async (t) => {
  const ring = ringFor(t);
  const timer = ring.timeout(60_000, { signal: AbortSignal.timeout(5_000) }).catch(() => false); // keeps the ring busy
  await new Promise((r) => setImmediate(r));
  const before = ring.stats();
  // requests queued three awaits apart, all before the microtask queue empties
  const deep = async (k: number): Promise<number> => {
    for (let i = 0; i < k; i++) await Promise.resolve();
    return ring.nop();
  };
  const ps = [ring.nop(), deep(1), deep(3), deep(10)];
  await Promise.resolve();
  assert.equal(ring.stats().enterCalls - before.enterCalls, 0, 'nothing flushed while continuations can still queue');
  assert.deepEqual(await Promise.all(ps), [0, 0, 0, 0]);
  const after = ring.stats();
  assert.equal(after.enterCalls - before.enterCalls, 1, 'one enter for all four');
  assert.equal(after.sqesSubmitted - before.sqesSubmitted, 4);
  await ring.cancel({ op: 'timeout' }, { all: true }).catch(() => 0);
  await timer;
});

test('autoSubmit false: nothing reaches the kernel until submit()', async (t) => {
  const ring = ringFor(t, { autoSubmit: false });
  const p = tagged(ring, 7);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ring.stats().sqesSubmitted, 0);
  assert.equal(ring.pending, 1);
  assert.equal(ring.submit(), 1);
  assert.equal(await p, 7);
});

test('a full SQ never throws: 10 000 requests through a 4-entry ring all complete', async (t) => {
  const ring = ringFor(t, { entries: 4, cqEntries: 8 });
  const ps = [];
  for (let i = 0; i < 10_000; i++) ps.push(tagged(ring, i & 0xffff));
  const rs = await Promise.all(ps);
  rs.forEach((r, i) => assert.equal(r, i & 0xffff));
  assert.equal(ring.pending, 0);
});

test('requests beyond the in-flight limit (CQ size) wait in JS, then all complete', async (t) => {
  const ring = ringFor(t, { entries: 4, cqEntries: 8 });
  const ps = [];
  for (let i = 0; i < 200; i++) {
    // 20 ms: long enough that none fires while the loop runs, even under emulation (QEMU/TCG)
    ps.push(ring.timeout(20));
    assert.ok(ring.stats().inflight <= 8, 'never more in flight than the CQ holds');
  }
  assert.ok(ring.stats().backlogged > 0);
  assert.ok((await Promise.all(ps)).every((r) => r === true));
  assert.equal(ring.pending, 0);
});

test('chain larger than the SQ is a RangeError; a chain waits for room and stays whole', async (t) => {
  const ring = ringFor(t, { entries: 4 });
  assert.throws(() => ring.chain(Array.from({ length: 5 }, () => op.nop())), RangeError);
  const fill = Array.from({ length: 20 }, () => ring.nop());
  const chain = ring.chain([op.nop(), op.nop(), op.nop(), op.nop()], { link: true });
  assert.deepEqual(await Promise.all(chain), [0, 0, 0, 0]);
  await Promise.all(fill);
});

test('CQ overflow loses nothing (IORING_FEAT_NODROP): 4096 timers in flight on an 8-entry CQ', async (t) => {
  const ring = ringFor(t, { entries: 8, cqEntries: 8, maxInflight: 100_000 });
  if (!ring.hasFeature('NODROP')) return t.skip('kernel lacks IORING_FEAT_NODROP');
  const ps = [];
  for (let i = 0; i < 4096; i++) ps.push(ring.timeout(1 + (i % 3)));
  // let every timer fire in the kernel before we reap anything: the CQ (8) overflows 500-fold
  const t0 = Date.now();
  while (Date.now() - t0 < 50) { /* block the event loop */ }
  const all = await Promise.all(ps);
  assert.equal(all.length, 4096);
  assert.ok(all.every((v) => v === true), 'every timer reported');
  assert.equal(ring.pending, 0);
  assert.throws(() => ringFor(t, { maxInflight: 0 }), RangeError);
});

test('a loop of requests that complete inline does not starve timers or I/O', async (t) => {
  const ring = ringFor(t);
  let fired = false;
  setTimeout(() => (fired = true), 5);
  let n = 0;
  const t0 = Date.now();
  while (!fired && Date.now() - t0 < 3000) {
    await ring.nop();
    n++;
  }
  assert.ok(fired, `the timer fired during the loop (after ${n} nops)`);
});
