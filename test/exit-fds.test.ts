/**
 * A thread that ends leaves open no fd ringflow owns or was asked to close: a worker's
 * process.exit() with FileHandles open, in the tick that called fh.close() (the close request
 * written to the SQ, never submitted: native/ring_napi.c close_unsubmitted), after ring.close()
 * (which does the close(2) of what it takes back: src/ring/unsubmitted.ts), raw ring.closeFd()
 * requests, and sockets. Only the closes asked for run: an fd nobody asked to close stays open,
 * and a direct descriptor's close is not turned into a process fd's. node:fs/promises runs beside
 * it where it has the case (reported, not asserted: it leaves the fds of a close() in the exit
 * tick open in some runs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as net from 'node:net';
import { openSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { Ring, RingError, O, op, BulkCompletions } from '../src/index.js';
import { execFileSync } from 'node:child_process';
import { ringFor, fdsUnder, fileDirs, CPU_TIME_SCALE } from './helpers.js';
import { ENGINES, noEngine } from './security/asm-programs.js';

const N = 8;
/** A directory of its own for one test, with files f0..f(N-1). */
const files = fileDirs('rf-exit-fds-', N);

const fsUrl = new URL('../src/fs/index.js', import.meta.url).href;
const indexUrl = new URL('../src/index.js', import.meta.url).href;
const nativeUrl = new URL('../src/native.js', import.meta.url).href;

/** Runs `body` (an async function body, `dir` and `N` in scope) in a worker that ends with process.exit(); resolves once it has exited, with what it posted before. */
async function inWorker(dir: string, body: string): Promise<unknown[]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { dir, N, fsUrl, indexUrl, nativeUrl } = workerData;
    (async () => { ${body} })().catch((e) => { parentPort.postMessage({ error: String(e && e.stack || e) }); process.exit(1); });`;
  const w = new Worker(code, { eval: true, workerData: { dir, N, fsUrl, indexUrl, nativeUrl } });
  const posted: unknown[] = [];
  w.on('message', (m) => posted.push(m));
  const exit = await new Promise<number>((resolve, reject) => {
    w.once('exit', resolve);
    w.once('error', reject);
  });
  assert.equal(exit, 0, JSON.stringify(posted));
  return posted;
}

/** Runs `body` in a worker on ringflow/fs and on node:fs/promises; ringflow/fs must leave no fd open. node's count is reported, not asserted: the handles that close() in the exit tick node leaves open in some runs and not in others (seen on Node 22.23 and 26.12). */
async function againstNode(t: { diagnostic(m: string): void }, body: string): Promise<void> {
  const left: Record<string, string[]> = {};
  for (const [which, load] of [['ringflow/fs', '(await import(fsUrl)).default'], ['node:fs/promises', "require('node:fs/promises')"]]) {
    const dir = files();
    await inWorker(dir, `const fs = ${load};\n${body}`);
    left[which] = fdsUnder(dir);
  }
  t.diagnostic(`fds left open: ringflow/fs ${left['ringflow/fs'].length}, node:fs/promises ${left['node:fs/promises'].length} (Node ${process.versions.node})`);
  assert.deepEqual(left['ringflow/fs'], []);
}

test('a worker that exits with FileHandles open leaves none of their fds open (node:fs/promises beside it)', (t) =>
  againstNode(t, `
    const hs = [];
    for (let i = 0; i < N; i++) hs.push(await fs.open(dir + '/f' + i));
    globalThis.keep = hs;
    process.exit(0);`));

test('fh.close() of every handle, then process.exit() in the same tick: no fd left open (node:fs/promises beside it)', (t) =>
  againstNode(t, `
    const hs = [];
    for (let i = 0; i < N; i++) hs.push(await fs.open(dir + '/f' + i));
    for (const h of hs) h.close();
    process.exit(0);`));

for (const ringFirst of [false, true]) {
  const order = ringFirst ? 'ring.close(), then fh.close() of every handle' : 'fh.close() of every handle, then ring.close()';
  test(`ringflow/fs on an explicit ring: ${order} and process.exit(), all in one tick: no fd left open`, async () => {
    const dir = files();
    await inWorker(dir, `
      const { createFs } = await import(fsUrl);
      const { Ring } = await import(indexUrl);
      const ring = new Ring();
      const fs = createFs({ ring });
      const hs = [];
      for (let i = 0; i < N; i++) hs.push(await fs.open(dir + '/f' + i));
      if (${ringFirst}) ring.close();
      for (const h of hs) h.close();
      if (${!ringFirst}) ring.close();
      process.exit(0);`);
    assert.deepEqual(fdsUnder(dir), []);
  });
}

test('raw ring.closeFd() requests queued and never submitted when the worker exits are done; an fd no request names stays open, a direct descriptor close touches no process fd', async () => {
  // (fds opened through the ring: node closes those its own fs.openSync opened in a worker at its exit)
  const dir = files();
  const posted = (await inWorker(dir, `
    const { Ring, O } = await import(indexUrl);
    const ring = new Ring();
    const fds = [];
    for (let i = 0; i < N; i++) fds.push(await ring.openat(dir + '/f' + i, O.RDONLY));
    const kept = fds.pop();
    // a direct descriptor in slot 0, and its close queued too: IORING_OP_CLOSE with file_index
    // (whose fd field is 0 in the SQE: stdin must survive the teardown)
    await ring.openat(dir + '/f0', O.RDONLY, 0, { direct: 0 }).catch(async () => {
      ring.files.register({ sparse: 1 });
      return ring.openat(dir + '/f0', O.RDONLY, 0, { direct: 0 });
    });
    ring.closeFd(ring.files.slot(0)).catch(() => {});
    for (const fd of fds) ring.closeFd(fd);
    parentPort.postMessage({ kept });
    process.exit(0);`)) as { kept: number }[];
  const left = fdsUnder(dir);
  assert.equal(left.length, 1, left.join(', '));
  assert.match(left[0], new RegExp(`^${posted[0].kept} → `));
  closeSync(posted[0].kept);
  fstatSync(0); // stdin is still open
});

test('ring.close() does the close(2) of the close requests it takes back: they resolve, the fds are closed; one of an fd already closed rejects with EBADF (syscall close)', async (t) => {
  const dir = files();
  const ring = ringFor(t);
  const fds = Array.from({ length: N }, (_, i) => openSync(join(dir, `f${i}`), 'r'));
  const bad = openSync(join(dir, 'f0'), 'r');
  const closes = fds.map((fd) => ring.closeFd(fd));
  closeSync(bad);
  const badClose = ring.closeFd(bad);
  const read = ring.read(fds[0], Buffer.alloc(4), 0);
  const closing = ring.close();
  const outcomes = await Promise.allSettled([...closes, badClose, read]);
  await closing;
  for (let i = 0; i < N; i++) assert.deepEqual(outcomes[i], { status: 'fulfilled', value: undefined }, `close ${i}`);
  const b = outcomes[N] as PromiseRejectedResult;
  assert.ok(b.reason instanceof RingError && b.reason.code === 'EBADF' && b.reason.syscall === 'close', String(b.reason));
  const r = outcomes[N + 1] as PromiseRejectedResult;
  assert.equal(r.status, 'rejected');
  assert.equal(r.reason.name, 'RingClosedError');
  assert.equal(r.reason.submitted, false);
  assert.deepEqual(fdsUnder(dir), []);
});

test('ring.close() with close requests waiting in the JS backlog (in-flight limit reached) does their close(2) too', async () => {
  const dir = files();
  const ring = new Ring({ entries: 4, maxInflight: 1 });
  const fds = Array.from({ length: N }, (_, i) => openSync(join(dir, `f${i}`), 'r'));
  const closes = fds.map((fd) => ring.closeFd(fd));
  assert.ok(ring.stats().backlogged > 0, 'some closes waited in the backlog');
  await ring.close();
  const outcomes = await Promise.allSettled(closes);
  assert.deepEqual(outcomes.map((o) => o.status), fds.map(() => 'fulfilled'));
  assert.deepEqual(fdsUnder(dir), []);
});

test('a worker whose TcpServer and TcpSocket close() in the tick it exits leaves neither socket open: the port refuses, the peer sees the end', async () => {
  const dir = files();
  const peerGone = new Promise<void>((resolve) => {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      s.on('close', () => {
        srv.close();
        resolve();
      });
      s.resume();
    });
    srv.listen(0, '127.0.0.1', () => {
      ran = worker((srv.address() as net.AddressInfo).port);
      ran.catch(() => resolve()); // (a worker that failed: its error is asserted below)
    });
  });
  let ran: Promise<void> | undefined;
  let port = 0;
  const worker = async (peerPort: number) => {
    const posted = (await inWorker(dir, `
      const { Ring, TcpServer, TcpSocket } = await import(indexUrl);
      const ring = new Ring();
      const server = await TcpServer.listen(ring, { port: 0 });
      const sock = await TcpSocket.connect(ring, { port: ${peerPort}, host: '127.0.0.1' });
      parentPort.postMessage({ port: server.address().port });
      server.close();
      sock.close();
      process.exit(0);`)) as { port: number }[];
    port = posted[0].port;
  };
  let timer: NodeJS.Timeout | undefined;
  const gone = await Promise.race([peerGone.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000 * CPU_TIME_SCALE)))]);
  clearTimeout(timer);
  assert.ok(gone, 'the peer saw the worker\'s socket close');
  await ran; // the worker exited 0 (inWorker asserts it) and posted its server's port
  assert.ok(port > 0);
  const refused = await new Promise<string>((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => {
      c.destroy();
      resolve('connected');
    });
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
  });
  assert.equal(refused, 'ECONNREFUSED');
});

const asmUrl = new URL('./security/asm-programs.js', import.meta.url).href;

for (const { name, jit } of ENGINES) {
  for (const hostile of [false, true]) {
    const what = hostile ? 'a hostile program queueing copies of itself without end beside it' : 'a program request ahead of a close (the engine moves the close down a slot and submits it)';
    test(`${what}: the worker's exit closes the fds JS asked to close and no fd another thread has opened since (${name})`, { skip: noEngine }, async () => {
      const dir = files();
      const w = new Worker(
        `
        const { parentPort, workerData } = require('node:worker_threads');
        (async () => {
          const { Ring, O, Program } = await import(workerData.indexUrl);
          const { selfQueuingProgram } = await import(workerData.asmUrl);
          const ring = new Ring({ cqs: [8] });
          if (workerData.hostile) ring.runProgram(ring.registerProgram(selfQueuingProgram(workerData.jit))).catch(() => {});
          const p = ring.registerProgram(Program.fromAssembly('mov %r0, 0\\nexit', { kind: 'iouring.s', jit: workerData.jit }));
          const fd = await ring.openat(workerData.dir + '/f0', O.RDONLY);
          const run = ring.runProgram(p);
          const closed = ring.closeFd(fd); // in the tick of the program request: behind it in the SQ
          await Promise.all([run, closed]);
          const more = await ring.openat(workerData.dir + '/f3', O.RDONLY);
          parentPort.postMessage({ fd });
          parentPort.once('message', () => { ring.closeFd(more); process.exit(0); }); // queued, never submitted
        })().catch((e) => { parentPort.postMessage({ error: String(e && e.stack || e) }); process.exit(1); });`,
        { eval: true, workerData: { dir, indexUrl, asmUrl, jit, hostile } },
      );
      const msg = (await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      })) as { fd: number; error?: string };
      assert.equal(msg.error, undefined);
      // this thread opens a file now: the lowest free number, which the worker's close just freed
      const mine = openSync(join(dir, 'f1'), 'r');
      try {
        const exited = new Promise((r) => w.once('exit', r));
        w.postMessage('exit');
        assert.equal(await exited, 0);
        assert.doesNotThrow(() => fstatSync(mine), `fd ${mine} (the worker closed ${msg.fd}) is still open after the worker's teardown`);
        assert.deepEqual(fdsUnder(dir), [`${mine} → ${join(dir, 'f1')}`], 'the worker left nothing open, and closed nothing else');
      } finally {
        closeSync(mine);
      }
    });
  }
}

test('ring.close() closes the fd each taken-back close request\'s SQE names, not the one its Sqe object holds now (an Sqe submitted twice, its fd changed between)', async () => {
  const dir = files();
  const ring = new Ring();
  const a = openSync(join(dir, 'f0'), 'r');
  const b = openSync(join(dir, 'f1'), 'r');
  const s = op.close(a);
  const first = ring.run(s);
  s.fd = b;
  const second = ring.run(s);
  const closing = ring.close();
  assert.deepEqual((await Promise.allSettled([first, second])).map((o) => o.status), ['fulfilled', 'fulfilled']);
  await closing;
  assert.deepEqual(fdsUnder(dir), [], 'a and b closed, each once');
});

test('a bulk close taken back by ring.close() is done too', async () => {
  const dir = files();
  const ring = new Ring();
  const fd = await ring.openat(join(dir, 'f0'), O.RDONLY);
  const bulk = ring.bulk();
  assert.ok(bulk.push(op.close(fd), 1));
  await ring.close();
  assert.deepEqual(fdsUnder(dir), []);
});

test('SQPOLL: a close published to the poller, another queued, then ring.close(): close() ends, the published close runs once (a file opened after it keeps its number), the queued one is done by close(2)', async (t) => {
  const dir = files();
  for (let round = 0; round < 10; round++) {
    let ring: Ring;
    try {
      ring = new Ring({ sqpoll: { idle: 1 }, autoSubmit: false, entries: 8 });
    } catch (e) {
      if (e instanceof RingError && (e.code === 'EPERM' || e.code === 'EINVAL')) return t.skip(`no SQPOLL ring here: ${e.message}`);
      throw e;
    }
    const a = openSync(join(dir, 'f0'), 'r');
    const b = openSync(join(dir, 'f1'), 'r');
    const closedA = ring.closeFd(a);
    ring.submit(); // published: the poller takes it when it will
    const closedB = ring.closeFd(b);
    const closing = ring.close();
    await closedA;
    const mine = openSync(join(dir, 'f2'), 'r'); // may get a's number
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([closing.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5000 * CPU_TIME_SCALE)))]);
    clearTimeout(timer);
    assert.ok(ended, `round ${round}: ring.close() ended`);
    await closedB;
    assert.deepEqual(fdsUnder(dir), [`${mine} → ${join(dir, 'f2')}`], `round ${round}: a and b closed, the file opened after them still open`);
    closeSync(mine);
  }
});

test('careless caller: ring.close() from a close request\'s callback, with closes queued in the same callback: every fd closed, every promise fulfilled, close() ends', async () => {
  const dir = files();
  const ring = new Ring();
  const [a, b, c] = [0, 1, 2].map((i) => openSync(join(dir, `f${i}`), 'r'));
  const later: Promise<void>[] = [];
  let closing: Promise<void> | undefined;
  await ring.closeFd(a).then(() => {
    later.push(ring.closeFd(b), ring.closeFd(c));
    closing = ring.close();
  });
  assert.deepEqual((await Promise.allSettled(later)).map((o) => o.status), ['fulfilled', 'fulfilled']);
  await closing;
  assert.deepEqual(fdsUnder(dir), []);
});

// ---------------------------------------------------------------- the owned set until the close is written

test('a FileHandle\'s fd stays in the owned set while its close waits in the JS backlog, and leaves it as the close is written to the SQ', async () => {
  const { binding } = await import('../src/native.js');
  const { createFs } = await import('../src/fs/index.js');
  const dir = files();
  const ring = new Ring({ entries: 4, maxInflight: 1 });
  try {
    const fs = createFs({ ring });
    const hs = [];
    for (let i = 0; i < N; i++) hs.push(await fs.open(join(dir, `f${i}`)));
    const owned = binding.fdOwnedCount() as number;
    const closes = hs.map((h) => h.close());
    const waiting = ring.stats().backlogged;
    assert.ok(waiting > 0, 'closes wait in the backlog');
    // one close written to the SQ (the in-flight limit), the rest in the backlog: still owned
    assert.ok((binding.fdOwnedCount() as number) >= owned - 1, `${owned - (binding.fdOwnedCount() as number)} fds left the owned set with their closes still in the backlog`);
    await Promise.all(closes);
    assert.equal(binding.fdOwnedCount(), owned - N);
    assert.deepEqual(fdsUnder(dir), []);
  } finally {
    await ring.close();
  }
});

test('a worker that exits with FileHandle closes waiting in the JS backlog (in-flight limit reached) leaves none of their fds open', async () => {
  const dir = files();
  const posted = (await inWorker(dir, `
    const { createFs } = await import(fsUrl);
    const { Ring } = await import(indexUrl);
    const ring = new Ring({ entries: 4, maxInflight: 1 });
    const fs = createFs({ ring });
    const hs = [];
    for (let i = 0; i < N; i++) hs.push(await fs.open(dir + '/f' + i));
    for (const h of hs) h.close();
    parentPort.postMessage({ backlogged: ring.stats().backlogged });
    process.exit(0);`)) as { backlogged: number }[];
  assert.ok(posted[0].backlogged > 0, 'closes waited in the backlog when the worker exited');
  assert.deepEqual(fdsUnder(dir), []);
});

for (const call of ['readFile', 'writeFile'] as const) {
  test(`a worker that exits during a ${call} on plain descriptors (the ring's file table is the caller's) leaves the fd it opened closed`, async () => {
    const dir = files();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // this thread holds the other end: the open completes, then the read waits for bytes (or the
    // write for room: more than a pipe holds) until the worker is gone
    const mine = openSync(fifo, 'r+');
    try {
      await inWorker(dir, `
        const { createFs } = await import(fsUrl);
        const { Ring } = await import(indexUrl);
        const { readdirSync, readlinkSync } = require('node:fs');
        const ring = new Ring();
        ring.files.register({ sparse: 4 }); // someone else's table: no pool of slots, plain fds
        const fs = createFs({ ring });
        const fifo = dir + '/fifo';
        const { binding } = await import(nativeUrl);
        const owned = binding.fdOwnedCount();
        const call = ${call === 'readFile' ? 'fs.readFile(fifo)' : "fs.writeFile(fifo, Buffer.alloc(1 << 20, 'x'))"};
        call.catch(() => {});
        const opened = () => readdirSync('/proc/self/fd').filter((n) => { try { return readlinkSync('/proc/self/fd/' + n) === fifo; } catch { return false; } }).length;
        // the open done and seen by JS (registered): one whose completion the thread never saw is a known limit
        for (let i = 0; opened() < 2 || binding.fdOwnedCount() <= owned; i++) { // (one is the other end, the test's)
          if (i > 2000) throw new Error('the ${call} never opened the FIFO');
          await new Promise((r) => setTimeout(r, 5));
        }
        process.exit(0);`);
      assert.deepEqual(fdsUnder(dir), [`${mine} → ${fifo}`], `the worker's ${call} left its fd open`);
    } finally {
      closeSync(mine);
    }
  });
}

test('a close written to the SQ and taken back after a failed io_uring_enter (a disabled ring: EBADFD) is done by close(2): it resolves, the fd is closed; a NOP beside it rejects EBADFD; a bulk close completes with 0', async () => {
  const dir = files();
  const ring = new Ring({ disabled: true });
  try {
    const a = openSync(join(dir, 'f0'), 'r');
    const b = openSync(join(dir, 'f1'), 'r');
    const closed = ring.closeFd(a);
    const nop = ring.nop();
    const bulk = ring.bulk();
    assert.ok(bulk.push(op.close(b), 7));
    bulk.submit();
    const [c, n] = await Promise.allSettled([closed, nop]);
    assert.deepEqual(c, { status: 'fulfilled', value: undefined });
    assert.equal(n.status, 'rejected');
    assert.equal((n as PromiseRejectedResult).reason.code, 'EBADFD');
    await bulk.wait(1);
    const out = new BulkCompletions(4);
    assert.equal(bulk.take(out), 1);
    assert.deepEqual([out.tag[0], out.res[0]], [7, 0]);
    assert.deepEqual(fdsUnder(dir), []);
  } finally {
    ring.enable();
    await ring.close();
  }
});
