/**
 * Attack on the turn budget (bulk.wait, cached stat, flushes), disabled rings, neverRan and
 * writeFile on plain descriptors (2026-11-29). Found and fixed: a ready bulk.wait() held for the
 * check phase hung when take() emptied the ready list meanwhile (it now answers the count ready when
 * asked, as an answer given at once does); writeFile on plain descriptors leaked the fd it opened
 * when the ring closed before its write was queued (the write threw, outside any try). The rest held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, writeFileSync, readFileSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ringFor, tempDir, fdsUnder, CPU_TIME_SCALE } from './helpers.js';
import { op, BulkCompletions, Ring, RingError } from '../src/index.js';
import { createFs } from '../src/fs/index.js';

/** A ring (ended with the test), ringflow/fs on it, and file `f` (`content`) in a temp dir. */
function fsOnRing(t: Parameters<typeof ringFor>[0], content: string) {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = ringFor(t);
  const rfs = createFs({ ring });
  const f = join(dir, 'f');
  writeFileSync(f, content);
  return { dir, ring, rfs, f };
}

const sleep = (ms: number, v?: unknown) => new Promise((r) => setTimeout(r, ms, v));
const HUNG = Symbol('hung');
/** Two reads that wait (an empty FIFO opened r+): the ring's in-flight limit (maxInflight 2) is full. */
function pendingReads(t: { after(fn: () => void): void }, ring: Ring, dir: string): Promise<unknown>[] {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const rfd = openSync(fifo, 'r+');
  t.after(() => closeSync(rfd));
  return [0, 1].map(() => ring.read(rfd, Buffer.alloc(8), 0).catch((e: unknown) => e));
}
/** `p`'s outcome, or HUNG after `ms`. */
function within<T>(p: Promise<T>, ms = 3000 * CPU_TIME_SCALE): Promise<T | typeof HUNG | { rejected: unknown }> {
  let timer: NodeJS.Timeout;
  const t = new Promise<typeof HUNG>((r) => (timer = setTimeout(r, ms, HUNG)));
  return Promise.race([p.then((v) => v, (e: unknown) => ({ rejected: e })), t]).finally(() => clearTimeout(timer));
}

test('bulk: wait() then take() in the same tick, in a loop of inline completions: every wait settles', async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk({ depth: 8 });
  const out = new BulkCompletions(8);
  // a single timer for the whole loop: a wait held for the check phase and then starved by take() never settles
  let hungAt = -1;
  let timer: NodeJS.Timeout;
  const hang = new Promise<typeof HUNG>((r) => (timer = setTimeout(r, 3000 * CPU_TIME_SCALE, HUNG)));
  try {
    for (let i = 0; i < 20000; i++) {
      assert.ok(bulk.push(op.nop(), i));
      const p = bulk.wait(1);
      // the careless part: take what is ready before the wait's promise is awaited (as when a
      // wait resolved at once: its count is the number ready when it was asked)
      bulk.take(out);
      const r = await Promise.race([p, hang]);
      if (r === HUNG) {
        hungAt = i;
        break;
      }
    }
  } finally {
    clearTimeout(timer!);
  }
  assert.equal(hungAt, -1, `bulk.wait() #${hungAt} never settled: held for the check phase (turn budget spent), then its completion was taken and #wake found READY < min with nothing in flight`);
});

test('bulk: a second wait() while the first is answered at once behaves the same whether or not the turn budget is spent', async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk({ depth: 8 });
  const out = new BulkCompletions(8);
  let typeErrors = 0;
  let resolvedBoth = 0;
  for (let i = 0; i < 20000; i++) {
    bulk.push(op.nop(), i);
    const a = bulk.wait(1);
    const b = bulk.wait(1);
    const [ra, rb] = await Promise.allSettled([a, b]);
    if (ra.status === 'fulfilled' && rb.status === 'fulfilled') resolvedBoth++;
    else if (rb.status === 'rejected' && rb.reason instanceof TypeError) typeErrors++;
    bulk.take(out);
  }
  assert.ok(resolvedBoth === 0 || typeErrors === 0, `a second wait() resolved ${resolvedBoth} times and was refused ("already pending") ${typeErrors} times: depends on the turn budget`);
});

test('bulk: a loop of push/wait/take lets a timer fire and loses no completion', async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk({ depth: 16 });
  const out = new BulkCompletions(16);
  let fired = false;
  setTimeout(() => (fired = true), 1);
  let seen = 0;
  let pushed = 0;
  const t0 = Date.now();
  while (!fired && Date.now() - t0 < 5000 * CPU_TIME_SCALE) {
    for (let k = 0; k < 3; k++) bulk.push(op.nop(), pushed++);
    await bulk.wait(3);
    while (bulk.ready > 0) seen += bulk.take(out);
  }
  assert.ok(fired, 'the timer never fired');
  assert.equal(seen, pushed);
});

test('disabled ring: more requests than the SQ holds all fail EBADFD (none left hanging in the backlog)', async (t) => {
  const ring = ringFor(t, { disabled: true, entries: 4 });
  const ps = Array.from({ length: 40 }, () => ring.nop());
  const rs = await Promise.all(ps.map((p) => within(p, 2000 * CPU_TIME_SCALE)));
  const hung = rs.filter((r) => r === HUNG).length;
  assert.equal(hung, 0, `${hung} of 40 nops on a disabled ring never settled`);
  for (const r of rs) {
    assert.ok(typeof r === 'object' && r !== null && 'rejected' in r, 'a nop on a disabled ring resolved');
    assert.equal((r.rejected as RingError).code, 'EBADFD');
  }
});

test('disabled ring: enable() from a request callback, and twice', async (t) => {
  const ring = ringFor(t, { disabled: true });
  const e1 = await within(ring.nop());
  assert.equal(((e1 as { rejected: RingError }).rejected).code, 'EBADFD');
  ring.enable();
  assert.throws(() => ring.enable(), (e: unknown) => e instanceof RingError, 'a second enable() is refused by the kernel');
  assert.equal(await within(ring.nop()), 0);
});

test('disabled ring: ring.close() with a raw close and other work queued: everything settles, the fd is closed once', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = new Ring({ disabled: true, entries: 4 });
  const f = join(dir, 'a');
  writeFileSync(f, 'x');
  const fd = openSync(f, 'r');
  const ps: Promise<unknown>[] = [];
  for (let i = 0; i < 10; i++) ps.push(ring.nop());
  ps.push(ring.closeFd(fd));
  for (let i = 0; i < 10; i++) ps.push(ring.nop());
  const closing = ring.close();
  const rs = await Promise.all(ps.map((p) => within(p)));
  assert.equal(rs.filter((r) => r === HUNG).length, 0);
  assert.notEqual(await within(closing), HUNG);
  assert.deepEqual(fdsUnder(dir), [], 'the fd closed (by close(2)) — or left open');
});

test('ringflow/fs stat: 64 concurrent loops of cached stat let a timer fire and each stat settles once', async (t) => {
  const { rfs, f } = fsOnRing(t, 'hello');
  let fired = 0;
  const timer = setInterval(() => fired++, 1);
  t.after(() => clearInterval(timer));
  const t0 = Date.now();
  let count = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (fired < 3 && Date.now() - t0 < 5000 * CPU_TIME_SCALE) {
        const s = await rfs.stat(f);
        assert.equal(s.size, 5);
        count++;
      }
    }),
  );
  assert.ok(fired >= 3, `the interval fired ${fired} times (${count} stats)`);
});

test('FileHandle.close() raced by ring.cancel({ any: true }) from the JS backlog: closed once, second close() settles', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = ringFor(t, { entries: 2, maxInflight: 2 });
  const rfs = createFs({ ring });
  const handles = [];
  for (let i = 0; i < 6; i++) handles.push(await rfs.open(join(dir, `f${i}`), 'w'));
  const fds = handles.map((h) => h.fd);
  // fill the SQ and more, so closes wait in the JS backlog, and cancel everything in the same tick
  const blockers = pendingReads(t, ring, dir);
  const closes = handles.map((h) => h.close());
  const cancel = ring.cancel({ any: true });
  const again = handles.map((h) => h.close());
  const rs = await Promise.all([...closes, ...again, cancel, ...blockers.map((b) => b.catch(() => {}))].map((p) => within(p as Promise<unknown>)));
  assert.equal(rs.filter((r) => r === HUNG).length, 0, 'a close never settled');
  assert.deepEqual(fdsUnder(dir).filter((l) => !l.endsWith('/fifo')), [], 'an fd left open');
  // a number reused by another open is not closed by a late close
  const other = openSync(join(dir, 'other'), 'w');
  t.after(() => closeSync(other));
  await sleep(20);
  assert.doesNotThrow(() => fstatSync(other));
  void fds;
});

test('raw ring.closeFd(fd) cancelled in the JS backlog: ringflow does not close the caller\'s fd', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = ringFor(t, { entries: 2, maxInflight: 2 });
  const f = join(dir, 'raw');
  writeFileSync(f, 'x');
  const fd = openSync(f, 'r');
  t.after(() => {
    try {
      closeSync(fd);
    } catch {
      /* */
    }
  });
  const blockers = pendingReads(t, ring, dir);
  const c = ring.closeFd(fd);
  const n = ring.cancel({ any: true });
  const [rc] = await Promise.all([within(c), within(n), ...blockers.map((b) => within(b))]);
  if (typeof rc === 'object' && rc !== null && 'rejected' in rc && (rc.rejected as RingError).code === 'ECANCELED') {
    assert.doesNotThrow(() => fstatSync(fd), 'the raw close was cancelled, yet the caller\'s fd was closed');
  } else t.diagnostic(`the close was not cancelled: ${String(rc)}`);
});

test('writeFile on plain descriptors (caller-registered file table): many concurrent, with aborts and ring.close(): no fd left open, contents right', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = new Ring({ entries: 4 });
  ring.files.register({ sparse: 4 });
  const rfs = createFs({ ring });
  const big = Buffer.alloc(3 << 20, 7);
  const ok = await Promise.all(Array.from({ length: 8 }, (_, i) => within(rfs.writeFile(join(dir, `w${i}`), i % 2 ? big : `small ${i}`))));
  assert.equal(ok.filter((r) => r !== undefined).length, 0, `writes failed: ${ok.filter((r) => r !== undefined).map(String).join(', ')}`);
  assert.equal(readFileSync(join(dir, 'w0'), 'utf8'), 'small 0');
  assert.equal(readFileSync(join(dir, 'w1')).length, big.length);
  const ac = new AbortController();
  const aborted = Array.from({ length: 8 }, (_, i) => within(rfs.writeFile(join(dir, `a${i}`), big, { signal: ac.signal })));
  setImmediate(() => ac.abort());
  await Promise.all(aborted);
  const last = Array.from({ length: 8 }, (_, i) => within(rfs.writeFile(join(dir, `c${i}`), big)));
  await sleep(0);
  const closing = ring.close();
  const rs = await Promise.all(last);
  assert.equal(rs.filter((r) => r === HUNG).length, 0);
  assert.notEqual(await within(closing), HUNG);
  await sleep(50);
  assert.deepEqual(fdsUnder(dir), []);
});

test('writeFile on plain descriptors, ring.close() at varying points mid-write: no fd left open', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const big = Buffer.alloc(3 << 20, 7);
  const leaks: string[] = [];
  for (let k = 0; k < 40; k++) {
    const ring = new Ring({ entries: 4 });
    ring.files.register({ sparse: 4 });
    const rfs = createFs({ ring });
    const ws = Array.from({ length: 8 }, (_, i) => within(rfs.writeFile(join(dir, `k${k}-${i}`), i % 2 ? big : 'small')));
    for (let j = 0; j < k % 10; j++) await new Promise((r) => setImmediate(r));
    if (k >= 20) await sleep(k - 20);
    const closing = ring.close();
    const rs = await Promise.all(ws);
    assert.equal(rs.filter((r) => r === HUNG).length, 0, `k=${k}: a writeFile never settled`);
    assert.notEqual(await within(closing), HUNG);
    await sleep(5);
    const open = fdsUnder(dir);
    if (open.length) leaks.push(`k=${k}: ${open.join(', ')} (outcomes: ${rs.map((r) => (r === undefined ? 'ok' : typeof r === 'object' && r !== null && 'rejected' in r ? String((r.rejected as Error).message).slice(0, 60) : String(r))).join(' | ')})`);
    for (const l of open) closeSync(Number(l.split(' ')[0])); // (so the next round starts clean)
  }
  assert.deepEqual(leaks, []);
});

test('readFile on plain descriptors, ring.close() in the tick of the calls: no fd left open', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  for (let i = 0; i < 8; i++) writeFileSync(join(dir, `r${i}`), Buffer.alloc(i % 2 ? 1 << 20 : 10, 1));
  const leaks: string[] = [];
  for (let k = 0; k < 10; k++) {
    const ring = new Ring({ entries: 4 });
    ring.files.register({ sparse: 4 });
    const rfs = createFs({ ring });
    const rs = Array.from({ length: 8 }, (_, i) => within(rfs.readFile(join(dir, `r${i}`))));
    for (let j = 0; j < k; j++) await new Promise((r) => setImmediate(r));
    await within(ring.close());
    assert.equal((await Promise.all(rs)).filter((r) => r === HUNG).length, 0);
    await sleep(5);
    const open = fdsUnder(dir);
    if (open.length) leaks.push(`k=${k}: ${open.join(', ')}`);
    for (const l of open) closeSync(Number(l.split(' ')[0]));
  }
  assert.deepEqual(leaks, []);
});

test('disabled ring: a chain [read.link(), close(fd)] the ring cannot submit: the read fails EBADFD, the close is done by close(2) and says so (docs/guide.md: linked or not, as ring.close() does)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = ringFor(t, { disabled: true });
  const f = join(dir, 'c');
  writeFileSync(f, 'abc');
  const fd = openSync(f, 'r');
  t.after(() => {
    try {
      closeSync(fd);
    } catch {
      /* */
    }
  });
  const [r, c] = await Promise.allSettled(ring.chain([op.read(fd, Buffer.alloc(3), 0).link(), op.close(fd)]));
  t.diagnostic(`read: ${r.status} ${r.status === 'rejected' ? (r.reason as RingError).code : ''}; close: ${c.status} ${c.status === 'rejected' ? (c.reason as RingError).code : ''}`);
  let stillOpen = true;
  try {
    fstatSync(fd);
  } catch {
    stillOpen = false;
  }
  assert.equal(r.status, 'rejected');
  // either the close never ran (as the kernel's link would have it) and says so, or it ran and the fd is closed
  assert.ok((c.status === 'rejected') === stillOpen, `close ${c.status}, fd ${stillOpen ? 'open' : 'closed'}`);
  assert.equal(c.status, 'fulfilled', 'the close is done by close(2), as every close the ring takes back');
});

test('disabled SQPOLL ring: requests fail EBADFD at once, enable() then works, close() is prompt', async (t) => {
  let ring: Ring;
  try {
    ring = new Ring({ disabled: true, sqpoll: true } as never);
  } catch (e) {
    t.skip(`no SQPOLL here: ${(e as Error).message}`);
    return;
  }
  const e1 = await within(ring.nop(), 2000);
  assert.equal(((e1 as { rejected: RingError }).rejected).code, 'EBADFD');
  ring.enable();
  assert.equal(await within(ring.nop(), 2000), 0);
  const t0 = Date.now();
  await within(ring.close(), 3000);
  assert.ok(Date.now() - t0 < 150 * CPU_TIME_SCALE, `close took ${Date.now() - t0} ms`);
});

test('node:test mock.timers (setImmediate, setTimeout faked after load): loops of cached stat, nop and bulk.wait still finish', async (t) => {
  const { ring, rfs, f } = fsOnRing(t, 'x');
  const bulk = ring.bulk({ depth: 4 });
  const out = new BulkCompletions(4);
  t.mock.timers.enable({ apis: ['setImmediate', 'setTimeout', 'setInterval'] });
  const run = (async () => {
    for (let i = 0; i < 20000; i++) await rfs.stat(f);
    for (let i = 0; i < 20000; i++) await ring.nop();
    for (let i = 0; i < 20000; i++) {
      bulk.push(op.nop(), i);
      await bulk.wait(1);
      bulk.take(out);
    }
    return 'done';
  })();
  // (the watchdog on the real clock: a child's spawnSync would be heavier; a busy poll of the run's state)
  let state = 'pending';
  void run.then((v) => (state = v), (e: unknown) => (state = String(e)));
  const t0 = Date.now();
  while (state === 'pending' && Date.now() - t0 < 10000 * CPU_TIME_SCALE) {
    await new Promise<void>((r) => ring.nop().then(() => r(), () => r()));
    await new Promise<void>((r) => process.nextTick(r));
    // (let the loop make progress without real timers: yield through I/O)
    await rfs.readFile(f);
  }
  t.mock.timers.reset();
  assert.equal(state, 'done', 'loops under fake timers did not finish');
});

test('a loop alternating await ring.nop() and await stat() lets an interval fire', async (t) => {
  const { ring, rfs, f } = fsOnRing(t, 'x');
  let fired = 0;
  const iv = setInterval(() => fired++, 1);
  t.after(() => clearInterval(iv));
  const t0 = Date.now();
  let n = 0;
  while (fired < 5 && Date.now() - t0 < 5000 * CPU_TIME_SCALE) {
    await ring.nop();
    await rfs.stat(f);
    await rfs.lstat(f);
    n++;
  }
  assert.ok(fired >= 5, `interval fired ${fired} times in ${n} rounds`);
});

test('cached stat loops in 3 workers and the main thread at once: each lets its own timer fire', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const f = join(dir, 'f');
  writeFileSync(f, 'x');
  const { Worker } = await import('node:worker_threads');
  const entry = new URL('../src/fs/index.js', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(entry)}).then(async ({ default: fs }) => {
      let fired = 0; const iv = setInterval(() => fired++, 1);
      const t0 = Date.now(); let n = 0;
      while (fired < 3 && Date.now() - t0 < 5000) { await fs.stat(workerData); n++; }
      clearInterval(iv);
      parentPort.postMessage({ fired, n });
    });`;
  const runs = Array.from({ length: 3 }, () => new Promise<{ fired: number; n: number }>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: f });
    w.once('message', (m) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  }));
  const rfs = createFs({ ring: ringFor(t) });
  let fired = 0;
  const iv = setInterval(() => fired++, 1);
  const t0 = Date.now();
  while (fired < 3 && Date.now() - t0 < 5000 * CPU_TIME_SCALE) await rfs.stat(f);
  clearInterval(iv);
  const rs = await Promise.all(runs.map((r) => within(r, 10000 * CPU_TIME_SCALE)));
  assert.ok(fired >= 3, `main: ${fired}`);
  for (const r of rs) assert.ok(r !== HUNG && (r as { fired: number }).fired >= 3, `worker: ${JSON.stringify(r)}`);
});

test('64 concurrent loops of await ring.nop() with bulk.wait loops beside them: an interval fires, every nop settles once', async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk({ depth: 8 });
  const out = new BulkCompletions(8);
  let fired = 0;
  const iv = setInterval(() => fired++, 1);
  t.after(() => clearInterval(iv));
  const t0 = Date.now();
  let nops = 0;
  let taken = 0;
  let pushed = 0;
  const loops = Array.from({ length: 64 }, async () => {
    while (fired < 5 && Date.now() - t0 < 5000 * CPU_TIME_SCALE) {
      assert.equal(await ring.nop(), 0);
      nops++;
    }
  });
  loops.push((async () => {
    while (fired < 5 && Date.now() - t0 < 5000 * CPU_TIME_SCALE) {
      bulk.push(op.nop(), pushed++);
      await bulk.wait(1);
      taken += bulk.take(out);
    }
  })());
  await Promise.all(loops);
  assert.ok(fired >= 5, `interval fired ${fired} times (${nops} nops)`);
  assert.equal(taken, pushed);
});

test('disabled ring: a loop of await on requests that fail EBADFD lets an interval fire', async (t) => {
  const ring = ringFor(t, { disabled: true });
  let fired = 0;
  const iv = setInterval(() => fired++, 1);
  t.after(() => clearInterval(iv));
  const t0 = Date.now();
  let n = 0;
  while (fired < 3 && Date.now() - t0 < 5000 * CPU_TIME_SCALE) {
    await ring.nop().catch(() => {});
    n++;
  }
  assert.ok(fired >= 3, `interval fired ${fired} times in ${n} failed nops`);
});

test('bulk: a wait held (for the check phase, or pending), then ring.close(): it settles once', async (t) => {
  const ring = new Ring();
  const bulk = ring.bulk({ depth: 4 });
  const out = new BulkCompletions(4);
  let held: Promise<number> | undefined;
  for (let i = 0; i < 20000 && !held; i++) {
    bulk.push(op.nop(), i);
    let sync = false;
    const p = bulk.wait(1);
    void p.then(() => (sync = true), () => {});
    await Promise.resolve();
    await Promise.resolve();
    if (!sync) held = p;
    else bulk.take(out);
  }
  if (!held) return t.skip('no wait was held');
  let settled = 0;
  const r = held.then((v) => (settled++, `resolved ${v}`), (e: Error) => (settled++, `rejected ${e.name}`));
  await ring.close();
  const outcome = await within(r);
  assert.notEqual(outcome, HUNG, 'the held wait never settled');
  await sleep(10);
  assert.equal(settled, 1);
  t.diagnostic(`the held wait: ${String(outcome)}`);
});
