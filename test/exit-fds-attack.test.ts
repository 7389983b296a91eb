/**
 * Attack on e08eaab ("owned fds stay owned until their close is written"): linked closes, a close's
 * CQE the thread never reaped, another ring of the thread reusing a freed number, SQPOLL and
 * disabled SQPOLL rings, ring.cancel() of the backlog. The rule under attack: every fd ringflow owns
 * or was asked to close is closed exactly once when a thread ends or its ring closes, and no number
 * is closed twice (after another thread or file reused it).
 *
 * The numbered findings failed on e08eaab (1-3 it brought, 4-6 older) and pass since the commit
 * after it: every close of a process fd leaves the owned set as its SQE is written, linked or not;
 * writeFile on plain descriptors closes after its write instead of linking the close; the native
 * teardown lets an SQPOLL poller consume what was published; a disabled ring is not entered; a
 * close cancelled before it ran is done by closeOwnedFd. The other tests held and stay as
 * regression tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { openSync, closeSync, fstatSync, writeSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Ring, RingError, op } from '../src/index.js';
import { createFs } from '../src/fs/index.js';
import { fdsUnder, fileDirs, CPU_TIME_SCALE } from './helpers.js';

const N = 8;
/** A directory of its own for one test, with files f0..f(N-1). */
const files = fileDirs('rf-exit-fds-attack-', N);

const fsUrl = new URL('../src/fs/index.js', import.meta.url).href;
const indexUrl = new URL('../src/index.js', import.meta.url).href;
const nativeUrl = new URL('../src/native.js', import.meta.url).href;

/** A FIFO in `dir`, and this thread's fd on it opened 'r+' (both ends: opens of it never block). */
function fifoIn(dir: string): { fifo: string; fd: number } {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  return { fifo, fd: openSync(fifo, 'r+') };
}

/** Closes (in this thread) the fds `fdsUnder` listed: a leak a test found is not the next test's. */
function closeLeft(left: string[]): void {
  for (const l of left) {
    try {
      closeSync(Number(l.split(' ')[0]));
    } catch {
      /* gone */
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Can this host make an SQPOLL ring? (a reason to skip if not) */
function sqpollMissing(): string | false {
  try {
    const r = new Ring({ sqpoll: { idle: 1 } });
    void r.close();
    return false;
  } catch (e) {
    if (e instanceof RingError && (e.code === 'EPERM' || e.code === 'EINVAL')) return `no SQPOLL ring here: ${e.message}`;
    throw e;
  }
}

interface Spawned {
  worker: Worker;
  messages: unknown[];
  /** The next message (resolves at once for one already posted and not yet taken). */
  next(): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  exited: Promise<number>;
}

/** Runs `body` (an async function body; `workerData` fields, fsUrl, indexUrl, nativeUrl and parentPort in scope) in a worker. */
function spawn(body: string, data: Record<string, unknown> = {}): Spawned {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { fsUrl, indexUrl, nativeUrl } = workerData;
    (async () => { ${body} })().catch((e) => { parentPort.postMessage({ error: String(e && e.stack || e) }); process.exit(1); });`;
  const worker = new Worker(code, { eval: true, workerData: { fsUrl, indexUrl, nativeUrl, ...data } });
  const messages: unknown[] = [];
  const waiting: ((m: unknown) => void)[] = [];
  let taken = 0;
  worker.on('message', (m) => {
    messages.push(m);
    const w = waiting.shift();
    if (w) {
      taken++;
      w(m);
    }
  });
  const exited = new Promise<number>((resolve, reject) => {
    worker.once('exit', resolve);
    worker.once('error', reject);
  });
  return {
    worker,
    messages,
    next: () => (taken < messages.length ? Promise.resolve(messages[taken++]) : new Promise((r) => waiting.push(r))),
    exited,
  };
}

// ------------------------------------------------------------------------------------------------
// 1. Found (e08eaab): raw closes linked behind another SQE, never submitted when the
//    worker exits. The native scan (ring_napi.c close_unsubmitted) skipped every close behind a
//    link, on the grounds that "the owned set's cleanup closes it"; but an fd the caller opened with
//    ring.openat() (or fs.openSync) is in no owned set, and a bulk close behind a linked bulk push
//    was even taken out of it (placeTagged calls disownIfCloses, not disownWhenRun). Nobody closes it.

for (const how of ['ring.chain()', 'ring.link()', 'bulk.push()'] as const) {
  test(`a raw close linked behind a request (${how}), queued and never submitted when the worker exits, is done by the teardown (as an unlinked one is)`, async () => {
    const dir = files();
    const queue =
      how === 'ring.chain()'
        ? 'ring.chain([op.nop().link(), op.close(fd)]).forEach((p) => p.catch(() => {}));'
        : how === 'ring.link()'
          ? 'ring.link([op.nop(), op.close(fd)]).catch(() => {});'
          : "const bulk = ring.bulk(); if (!bulk.push(op.nop().link(), 1) || !bulk.push(op.close(fd), 2)) throw new Error('bulk full');";
    const w = spawn(
      `
      const { Ring, O, op } = await import(indexUrl);
      const ring = new Ring();
      const fd = await ring.openat(workerData.dir + '/f0', O.RDONLY);
      const lone = await ring.openat(workerData.dir + '/f1', O.RDONLY);
      ${queue}
      ring.closeFd(lone); // (the unlinked close beside it: done by the teardown today)
      process.exit(0);`,
      { dir },
    );
    assert.equal(await w.exited, 0, JSON.stringify(w.messages));
    const left = fdsUnder(dir);
    closeLeft(left);
    assert.deepEqual(left, [], 'the linked close of f0 was neither submitted nor done by the teardown');
  });
}

// ------------------------------------------------------------------------------------------------
// 2. Was: writeFile on plain descriptors linked its close behind the write, and the fd stayed in
//    the owned set until the close's CQE was reaped: a close the kernel ran (task work on a
//    'plain'/'coop' ring, the poller of an SQPOLL ring) before a thread ended without reaping it left
//    the number in the set, and the set's cleanup closed it again, after this thread had reopened it.
//    Now the close is a request of its own once the write is done (src/fs/fast/write-file.ts): while
//    the write is in flight nothing closes the fd but the thread's end, once.

for (const profile of ['plain', 'coop', 'sqpoll'] as const) {
  test(`a worker ends while writeFile's write on a plain descriptor completes unreaped: its fd is closed once, by the teardown; this thread's fds on the same FIFO stay open (${profile} ring)`, async (t) => {
    if (profile === 'sqpoll') {
      const why = sqpollMissing();
      if (why) return t.skip(why);
    }
    const dir = files();
    const { fifo, fd: mine } = fifoIn(dir);
    const opened: number[] = [];
    try {
      writeSync(mine, Buffer.alloc(65536, 'y')); // the pipe is full: the worker's write waits for room
      const sab = new SharedArrayBuffer(4);
      const w = spawn(
        `
        const { createFs } = await import(fsUrl);
        const { Ring } = await import(indexUrl);
        const { readdirSync, readlinkSync } = require('node:fs');
        const ring = new Ring(workerData.profile === 'sqpoll' ? { sqpoll: { idle: 1000 } } : { profile: workerData.profile });
        ring.files.register({ sparse: 4 }); // someone else's table: plain fds, no slot pool
        const fs = createFs({ ring });
        fs.writeFile(workerData.fifo, Buffer.alloc(4096, 'x')).catch(() => {});
        const onFifo = () => readdirSync('/proc/self/fd').filter((n) => { try { return readlinkSync('/proc/self/fd/' + n) === workerData.fifo; } catch { return false; } }).map(Number);
        for (let i = 0; onFifo().length < 2; i++) { if (i > 2000) throw new Error('writeFile never opened the FIFO'); await new Promise((r) => setTimeout(r, 5)); }
        await new Promise((r) => setTimeout(r, 50)); // the write waits for room
        parentPort.postMessage({ fd: onFifo().find((n) => n !== workerData.mine) });
        Atomics.wait(new Int32Array(workerData.sab), 0, 0); // no event loop from here: no reap
        process.exit(0);`,
        { fifo, mine, sab, profile },
      );
      const msg = await w.next();
      assert.equal(msg.error, undefined, msg.error);
      const theirs = msg.fd as number;
      readSync(mine, Buffer.alloc(8192)); // room: the write completes in the kernel
      await sleep(100);
      assert.equal(fdsUnder(dir).length, 2, 'no close ran behind the write: the worker did not reap it');
      for (let i = 0; i < 8; i++) opened.push(openSync(fifo, 'r+')); // this thread's fds on the same file
      Atomics.store(new Int32Array(sab), 0, 1);
      Atomics.notify(new Int32Array(sab), 0);
      assert.equal(await w.exited, 0);
      assert.throws(() => fstatSync(theirs), { code: 'EBADF' }, `the worker's teardown closed its fd ${theirs}`);
      for (const fd of opened) assert.doesNotThrow(() => fstatSync(fd), `this thread's fd ${fd} is still open`);
      assert.doesNotThrow(() => fstatSync(mine));
    } finally {
      for (const fd of opened) {
        try {
          closeSync(fd);
        } catch {
          /* closed by the worker's teardown (a finding) */
        }
      }
      closeSync(mine);
    }
  });
}

// ------------------------------------------------------------------------------------------------
// 3. Found (e08eaab): #place recorded closesFd for every linked close of a process fd
//    (unsubmitted.ts disownWhenRun), owned or not, and #complete disowned that *number* when the CQE
//    was reaped (closeRan). Between the kernel's close and that reap the number can be reused and
//    registered by another ring of the same thread (ringflow/fs on its own ring): its FileHandle's
//    fd is then taken out of the owned set, and the worker's exit leaves it open.

for (const profile of ['plain', 'coop'] as const) {
  test(`a linked close's CQE reaped after another ring of the thread opened a FileHandle on the freed number does not disown that handle's fd (it is closed at the worker's exit; ${profile} ring)`, async (t) => {
    const dir = files();
    const { fd: pipe } = fifoIn(dir);
    try {
      const w = spawn(
        `
        const { createFs } = await import(fsUrl);
        const { Ring, O, op } = await import(indexUrl);
        const { binding } = await import(nativeUrl);
        const { fstatSync } = require('node:fs');
        const a = new Ring({ profile: workerData.profile });
        const fs = createFs({ ring: new Ring() });
        const x = await a.openat(workerData.dir + '/f0', O.RDONLY); // the caller's own fd (not owned)
        // close x once a byte comes through the main thread's FIFO (its fd: the process's fd table)
        const [read, close] = a.chain([op.read(workerData.pipe, Buffer.alloc(1), -1).link(), op.close(x)]);
        let reaped = false;
        read.catch(() => {});
        close.then(() => (reaped = true), () => (reaped = true));
        await new Promise((r) => setTimeout(r, 50));
        parentPort.postMessage({ x });
        for (let i = 0; ; i++) { try { fstatSync(x); } catch { break; } if (i > 1e8) throw new Error('the close never ran'); }
        // ring a has not reaped the close's CQE yet; ringflow/fs (another ring) opens f0 again
        const hs = [];
        while (!hs.some((h) => h.fd === x) && hs.length < 256) hs.push(await fs.open(workerData.dir + '/f0'));
        const reapedBefore = reaped;
        const ownedBefore = binding.fdOwnedCount();
        await new Promise((r) => setTimeout(r, 100)); // ring a reaps its close's CQE
        globalThis.keep = hs;
        parentPort.postMessage({ reused: hs.some((h) => h.fd === x), reapedBefore, reaped, ownedBefore, ownedAfter: binding.fdOwnedCount() });
        // every FileHandle still open: the owned set's cleanup closes them
        process.exit(0);`,
        { dir, pipe, profile },
      );
      const first = await w.next();
      assert.equal(first.error, undefined, first.error);
      writeSync(pipe, 'z');
      const second = await w.next();
      assert.equal(second.error, undefined, second.error);
      assert.equal(await w.exited, 0);
      assert.ok(second.reused && second.reaped, JSON.stringify(second));
      // (on a slow guest ring a may reap the close while fs.open() waits: then the race is not reached)
      if (second.reapedBefore) t.diagnostic('ring a reaped the close before the number was reopened in this run');
      const left = fdsUnder(dir).filter((l) => !l.startsWith(`${pipe} → `));
      closeLeft(left);
      assert.deepEqual(left, [], `the FileHandle on fd ${first.x} left the owned set when ring a reaped its close (owned ${second.ownedBefore} → ${second.ownedAfter}), and stayed open`);
    } finally {
      closeSync(pipe);
    }
  });
}

// ------------------------------------------------------------------------------------------------
// 4. Found (older than e08eaab): under SQPOLL a close published to the poller but
//    not yet consumed is out of the owned set (written) and out of the native scan (which starts at
//    the published tail), and the poller never consumes it once the ring is torn down: FileHandle
//    closes flushed right before process.exit() leak their fds (in nearly every round here).

test('SQPOLL: fh.close() of every handle, flushed (ring.submit()), then process.exit(): no fd left open', async (t) => {
  const why = sqpollMissing();
  if (why) return t.skip(why);
  const left: string[] = [];
  for (let round = 0; round < 5; round++) {
    const dir = files();
    const w = spawn(
      `
      const { createFs } = await import(fsUrl);
      const { Ring } = await import(indexUrl);
      const ring = new Ring({ sqpoll: { idle: 1 } });
      const fs = createFs({ ring });
      const hs = [];
      for (let i = 0; i < workerData.N; i++) hs.push(await fs.open(workerData.dir + '/f' + i));
      for (const h of hs) h.close();
      ring.submit(); // published to the poller
      process.exit(0);`,
      { dir, N },
    );
    assert.equal(await w.exited, 0, JSON.stringify(w.messages));
    left.push(...fdsUnder(dir));
  }
  closeLeft(left);
  assert.deepEqual(left, [], `${left.length} fds of ${5 * N} left open`);
});

// ------------------------------------------------------------------------------------------------
// 5. Found (hang + leak): a disabled SQPOLL ring. Its io_uring_enter fails (EBADFD), but under
//    SQPOLL SubmissionQueue.enter() counts every published SQE in flight whatever the enter said,
//    and a disabled ring's poller consumes nothing: the close never settles, ring.close() never ends
//    (its cancels are published and never consumed either), and the close's fd stays open (also
//    at the worker's exit: the native scan starts at the published tail).

test('a disabled SQPOLL ring: ring.closeFd() settles, ring.close() ends, the fd is closed (by the worker\'s exit at the latest)', async (t) => {
  const why = sqpollMissing();
  if (why) return t.skip(why);
  const dir = files();
  const w = spawn(
    `
    const { Ring, O } = await import(indexUrl);
    // (opened through a ring: node closes at a worker's exit the fds its own fs.openSync opened)
    const fd = await new Ring().openat(workerData.dir + '/f0', O.RDONLY);
    const ring = new Ring({ sqpoll: { idle: 1 }, disabled: true });
    let closeSettled = false, ringClosed = false;
    ring.closeFd(fd).then(() => (closeSettled = true), () => (closeSettled = true));
    await new Promise((r) => setTimeout(r, 200));
    ring.close().then(() => (ringClosed = true));
    await new Promise((r) => setTimeout(r, 1000 * workerData.scale));
    parentPort.postMessage({ closeSettled, ringClosed, pending: ring.pending });
    process.exit(0);`,
    { dir, scale: CPU_TIME_SCALE },
  );
  const m = await w.next();
  assert.equal(m.error, undefined, m.error);
  assert.equal(await w.exited, 0);
  const left = fdsUnder(dir);
  closeLeft(left);
  assert.deepEqual({ closeSettled: m.closeSettled, ringClosed: m.ringClosed, left }, { closeSettled: true, ringClosed: true, left: [] }, `pending ${m.pending}`);
});

// ------------------------------------------------------------------------------------------------
// 6. Found (leak until the thread ends; on the main thread, for good): ring.cancel({ any: true })
//    takes FileHandle closes waiting in the JS backlog and rejects them ECANCELED
//    (cancel.ts cancelWith → cancelQueued); closeOwnedFd (close-fd.ts) rethrows anything but
//    "never ran because the ring closed", so the fd stays open while the handle says it is closed:
//    fh.close() again resolves at once, and ring.close() has nothing of it to close.

test('ring.cancel({ any: true }) with FileHandle closes waiting in the JS backlog: their fds are closed by ring.close() at the latest, or fh.close() again closes them', async () => {
  const dir = files();
  const ring = new Ring({ entries: 4, maxInflight: 1 });
  const fs = createFs({ ring });
  const hs = [];
  try {
    for (let i = 0; i < N; i++) hs.push(await fs.open(join(dir, `f${i}`)));
    const closes = hs.map((h) => h.close());
    assert.ok(ring.stats().backlogged > 0, 'closes wait in the backlog');
    await ring.cancel({ any: true });
    await Promise.allSettled(closes);
    await Promise.allSettled(hs.map((h) => h.close()));
  } finally {
    await ring.close();
  }
  const left = fdsUnder(dir);
  closeLeft(left);
  assert.deepEqual(left, []);
});

// ================================================================================================
// Held: regression tests.

/**
 * Runs `body` in a worker beside a FIFO this thread holds open (full first, with `fill`: a write
 * waits); once the worker has exited (0), the FIFO's only fd left under the test's directory is
 * this thread's. Resolves with the worker's first message, if it posted one.
 */
async function fifoWorker(body: string, fill: boolean): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const dir = files();
  const { fifo, fd: mine } = fifoIn(dir);
  try {
    if (fill) writeSync(mine, Buffer.alloc(65536, 'y'));
    const w = spawn(`
      const { createFs } = await import(fsUrl);
      const { Ring } = await import(indexUrl);
      ${body}`, { fifo });
    assert.equal(await w.exited, 0, JSON.stringify(w.messages));
    assert.deepEqual(fdsUnder(dir), [`${mine} → ${fifo}`]);
    return w.messages[0];
  } finally {
    closeSync(mine);
  }
}

test('a worker that exits with writeFile calls waiting in the JS backlog (in-flight limit 1, plain descriptors) leaves no fd open', async () => {
  const m = await fifoWorker(`
      const ring = new Ring({ entries: 4, maxInflight: 1 });
      ring.files.register({ sparse: 4 });
      const fs = createFs({ ring });
      const { binding } = await import(nativeUrl);
      const owned = binding.fdOwnedCount();
      for (let i = 0; i < 4; i++) fs.writeFile(workerData.fifo, Buffer.alloc(16, 'x')).catch(() => {});
      // every open seen by JS (an fd whose open completes after the thread is gone is a known limit)
      // and writes waiting in the backlog behind the one that waits for room
      for (let i = 0; ring.stats().backlogged === 0 || binding.fdOwnedCount() < owned + 4; i++) { if (i > 4000) throw new Error('not all opened, or nothing backlogged'); await new Promise((res) => setTimeout(res, 5)); }
      await new Promise((res) => setTimeout(res, 50));
      parentPort.postMessage({ backlogged: ring.stats().backlogged });
      process.exit(0);`, true);
  assert.equal(m.error, undefined, m.error);
  assert.ok(m.backlogged > 0);
});

test('a worker that exits while writeFile\'s write waits on a full FIFO (plain descriptors, default ring) leaves its fd closed and the main thread\'s fd on the FIFO open', () =>
  fifoWorker(`
      const { readdirSync, readlinkSync } = require('node:fs');
      const ring = new Ring();
      ring.files.register({ sparse: 4 });
      const fs = createFs({ ring });
      fs.writeFile(workerData.fifo, Buffer.alloc(4096, 'x')).catch(() => {});
      const onFifo = () => readdirSync('/proc/self/fd').filter((n) => { try { return readlinkSync('/proc/self/fd/' + n) === workerData.fifo; } catch { return false; } }).length;
      for (let i = 0; onFifo() < 2; i++) { if (i > 2000) throw new Error('never opened'); await new Promise((r) => setTimeout(r, 5)); }
      await new Promise((r) => setTimeout(r, 50));
      process.exit(0);`, true));

test('fh.close() while fh.readFile() waits on a FIFO, then process.exit(): the handle\'s fd is closed, once', () =>
  fifoWorker(`
      const ring = new Ring({ entries: 4, maxInflight: 1 });
      const fs = createFs({ ring });
      const h = await fs.open(workerData.fifo, 'r+');
      h.readFile().catch(() => {});
      h.close().catch(() => {});
      h.close().catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
      process.exit(0);`, false));

test('ring.close() with a [read → close] chain of raw fds waiting in the JS backlog (maxInflight 1) does the close; the read rejects unsubmitted', async () => {
  const dir = files();
  const ring = new Ring({ entries: 4, maxInflight: 1 });
  const { fd: pipe } = fifoIn(dir);
  try {
    const fd = openSync(join(dir, 'f0'), 'r');
    const head = ring.read(pipe, Buffer.alloc(1), -1); // holds the one in-flight place
    const [r, c] = ring.chain([op.read(fd, Buffer.alloc(1), 0).link(), op.close(fd)]);
    assert.ok(ring.stats().backlogged >= 2);
    const closing = ring.close();
    const out = await Promise.allSettled([head, r, c]);
    await closing;
    assert.equal(out[2].status, 'fulfilled');
    assert.equal(out[1].status, 'rejected');
    assert.deepEqual(fdsUnder(dir), [`${pipe} → ${join(dir, 'fifo')}`]);
  } finally {
    closeSync(pipe);
  }
});

test('writeFile on plain descriptors (its close linked behind the write) leaves the owned set as it found it and no fd open', async () => {
  const { binding } = await import('../src/native.js');
  const dir = files();
  const ring = new Ring();
  try {
    ring.files.register({ sparse: 4 });
    const fs = createFs({ ring });
    const owned = binding.fdOwnedCount() as number;
    await fs.writeFile(join(dir, 'out'), 'hello');
    assert.equal(binding.fdOwnedCount(), owned);
    assert.deepEqual(fdsUnder(dir), []);
  } finally {
    await ring.close();
  }
});
