/** Automatic batching, explicit submit, backpressure on a full SQ / in-flight limit, CQ overflow. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, tagged, CPU_TIME_SCALE } from './helpers.js';
import { op } from '../src/index.js';
import { CLOCK_EVERY } from '../src/ring/jobs.js';

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
  while (!fired && Date.now() - t0 < 3000 * CPU_TIME_SCALE) { // (a loaded TCG guest is slower)
    await ring.nop();
    n++;
  }
  assert.ok(fired, `the timer fired during the loop (after ${n} nops)`);
});

/** What the fake-timer children do with `ring` (sets n, all, name): flushes idle and busy, an abort. */
const RING_WORKOUT = `
    let n = 0;
    const t0 = process.hrtime.bigint();
    // idle ring (a microtask per flush): past the clock's count and the turn budget many times
    while (n < 200 || process.hrtime.bigint() - t0 < 20_000_000n) { await ring.nop(); n++; }
    // a ring with requests in flight (the tick queue's flush)
    const all = await Promise.all(Array.from({ length: 200 }, () => ring.nop()));
    // an abort (a cancel, retried on a timer if it misses)
    const ac = new AbortController();
    const aborted = ring.timeout(60_000, { signal: ac.signal }).catch((e) => e.name);
    await ring.nop();
    ac.abort();
    const name = await aborted;`;

test('fake timers installed after ringflow loaded (jest, sinon) stop no flush, abort or close, and do not freeze the turn budget (child process)', () => {
  const index = new URL('../src/index.js', import.meta.url).href;
  // every global job queue and clock replaced by one that never runs or never moves, as fake timers do
  const code = `
    import { Ring } from ${JSON.stringify(index)};
    const ring = new Ring({ entries: 64 });
    const never = [];
    const fake = (name) => (...args) => { never.push(name); };
    globalThis.setImmediate = fake('setImmediate');
    globalThis.setTimeout = fake('setTimeout');
    globalThis.queueMicrotask = fake('queueMicrotask');
    process.nextTick = fake('nextTick');
    performance.now = () => 0;
    Date.now = () => 0;
${RING_WORKOUT}
    const inFlight = ring.timeout(60_000).catch((e) => e.name);
    await ring.close();
    console.log(JSON.stringify({ n, all: all.length, name, closed: await inFlight }));
    process.exit(0);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 * CPU_TIME_SCALE });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { n: number; all: number; name: string; closed: string };
  assert.ok(r.n >= 200, `the loop went on (${r.n} round trips)`);
  assert.equal(r.all, 200);
  assert.equal(r.name, 'AbortError');
  assert.equal(r.closed, 'RingClosedError');
});

test('fake timers installed before ringflow loads (jest\'s fakeTimers.enableGlobally): rings, ringflow/fs, callbacks\' exceptions and the exit when idle work as without them (child process)', () => {
  const index = new URL('../src/index.js', import.meta.url).href;
  const fsIndex = new URL('../src/fs/index.js', import.meta.url).href;
  const here = fileURLToPath(import.meta.url);
  // every global job queue and clock replaced by one that never runs or never moves, then ringflow loaded
  const code = `
    const never = [];
    const fake = (name) => (...args) => { never.push(name); };
    for (const name of ['setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask']) globalThis[name] = fake(name);
    process.nextTick = fake('nextTick');
    performance.now = () => 0;
    Date.now = () => 0;
    const { Ring, TcpServer, TcpSocket } = await import(${JSON.stringify(index)});
    const { setTimeout } = await import('node:timers');
    const fs = (await import(${JSON.stringify(fsIndex)})).default;
    const ring = new Ring({ entries: 64 });
${RING_WORKOUT}
    // a socket write's callback that throws: an uncaught exception, reported once
    const uncaught = [];
    process.on('uncaughtException', (e) => uncaught.push(e.message));
    const server = await TcpServer.listen(ring, { port: 0 });
    const accepted = server.accept();
    const client = await TcpSocket.connect(ring, { port: server.address().port });
    const peer = await accepted;
    const called = await new Promise((resolve) => client.write('ping', () => { setTimeout(() => resolve('called'), 0); throw new Error('from the callback'); }));
    const got = Buffer.from((await peer.chunks().next()).value.bytes).toString();
    await new Promise((r) => setTimeout(r, 0));
    await Promise.all([client.close(), peer.close(), server.close()]);
    const inFlight = ring.timeout(60_000).catch((e) => e.name);
    await ring.close();
    // ringflow/fs on its default ring: concurrent readFiles and a FileHandle read loop
    const files = await Promise.all(Array.from({ length: 20 }, () => fs.readFile(${JSON.stringify(here)})));
    const fh = await fs.open(${JSON.stringify(here)});
    const b = Buffer.alloc(16);
    for (let i = 0; i < 100; i++) await fh.read(b, 0, 16, 0);
    await fh.close();
    console.log(JSON.stringify({ n, all: all.length, name, closed: await inFlight, files: files.length, called, got, uncaught }));
    // no process.exit(): the default ring lets the process end once idle`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 * CPU_TIME_SCALE });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { n: number; all: number; name: string; closed: string; files: number; called: string; got: string; uncaught: string[] };
  assert.ok(r.n >= 200, `the loop went on (${r.n} round trips)`);
  assert.equal(r.all, 200);
  assert.equal(r.name, 'AbortError');
  assert.equal(r.closed, 'RingClosedError');
  assert.equal(r.files, 20);
  assert.equal(r.called, 'called');
  assert.equal(r.got, 'ping');
  assert.deepEqual(r.uncaught, ['from the callback'], 'what the callback threw: one uncaught exception');
});
