// Misuse, attacked: a careless caller of the public socket API (TcpServer, TcpSocket, UdpSocket,
// their streams) and of ringflow/fs (FileHandle, its streams, readFile/writeFile) calls things in
// the wrong order or twice: close() twice or concurrently, methods after close(), close() while an
// accept()/read()/receive() waits, chunks() iterated again after a break, listen() twice, write()
// after end(), a closed socket's address, an adopted node:net object adopted again; a FileHandle
// used after close(), closed under its own streams, read by fh.read() while a stream or readLines
// reads it, a writeFile aborted half-way.
//
// The promise: a misuse is a clear error (EBADF "the socket is closed", node's "file closed"),
// never a crash, a hang or wrong data; close() ends everything the object had in flight (what
// waited settles, the peer sees the connection end, the port is free again); nothing leaks (fds,
// heap per call); and ringflow/fs gives what node:fs/promises gives for the same calls (results,
// errors, file contents and the file position afterwards) — each fs test runs the scenario on
// node:fs/promises too and compares.
//
// Every wait is bounded (`within`), so a hang fails its test instead of stalling the file.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../wait-util.js';
import net from 'node:net';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as nodeFsp from 'node:fs/promises';
import { ringFor, tempDir, fifo, gcChild, CPU_TIME_SCALE, repeats } from '../helpers.js';
import { TcpServer, TcpSocket, UdpSocket, RingError, type Ring } from '../../src/index.js';
import ringFsp from '../../src/fs/index.js';

const index = new URL('../../src/index.js', import.meta.url).href;
const BOUND = { timeout: 30_000 * CPU_TIME_SCALE };
const WAIT = 2_000 * CPU_TIME_SCALE;

const fds = (): number => readdirSync('/proc/self/fd').length;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const HANG = Symbol('hang');
/** The promise's outcome, or HANG if it has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms = WAIT): Promise<{ ok: true; value: T } | { ok: false; error: any } | typeof HANG> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<typeof HANG>((r) => (timer = setTimeout(() => r(HANG), ms)));
  try {
    return await Promise.race([p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** A new server can listen on `port` (the closed one let it go); closed again at once. */
async function assertPortFree(ring: Ring, port: number, what: string): Promise<void> {
  const again = await within(TcpServer.listen(ring, { port }));
  assert.ok(again !== HANG && again.ok, `${what}: ${again === HANG ? 'hang' : again.ok ? 'ok' : again.error}`);
  await again.value.close();
}
/** The error of a promise that must reject within the bound with EBADF "the socket is closed". */
async function closedError(p: Promise<unknown>, what: string): Promise<void> {
  const r = await within(p);
  assert.notEqual(r, HANG, `${what}: settled`);
  assert.ok(r !== HANG && !r.ok, `${what}: rejected`);
  assertClosed((r as { error: unknown }).error, what);
}
function assertClosed(e: unknown, what: string): void {
  assert.ok(e instanceof RingError, `${what}: a RingError, got ${String(e)}`);
  assert.equal((e as RingError).code, 'EBADF', what);
  assert.match((e as Error).message, /the socket is closed|the server is closed/, `${what}: the message says why`);
}

/** A server, a client connected to it and the accepted peer. */
/** A server, a client connected to it and the server's side; all three closed when the test ends (close() again is harmless). */
async function pair(ring: Ring, t: TestContext) {
  const server = await TcpServer.listen(ring, { port: 0 });
  const acc = server.accept();
  const client = await TcpSocket.connect(ring, { port: server.address()!.port, noDelay: true });
  const peer = await acc;
  t.after(async () => {
    await client.close();
    await peer.close();
    await server.close();
  });
  return { server, client, peer };
}

// ======================================================================== sockets

test('TcpServer.close() while accept() waits: the accept settles, and the port can be listened on again', BOUND, async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0 });
  const port = server.address()!.port;
  const pending = server.accept();
  await sleep(20); // the accept is in the kernel
  assert.notEqual(await within(server.close()), HANG, 'close() settles');
  const r = await within(pending);
  assert.notEqual(r, HANG, 'the accept() that waited settles once the server is closed (as the iterator does)');
  assert.ok(r !== HANG && !r.ok, 'it rejects: there is no connection to give');
  // the listening socket must really be gone: a new server on the same port
  await assertPortFree(ring, port, 'listen() on the port of the closed server');
});

test('TcpSocket.close() while read() waits: the read settles and the peer sees the connection end', BOUND, async (t) => {
  const ring = ringFor(t);
  const { client, peer } = await pair(ring, t);
  const pending = client.read(Buffer.alloc(16));
  await sleep(20);
  assert.notEqual(await within(client.close()), HANG, 'close() settles');
  const r = await within(pending);
  assert.notEqual(r, HANG, 'the read() that waited settles once the socket is closed');
  const eof = await within(peer.read(Buffer.alloc(16)));
  assert.ok(eof !== HANG && eof.ok && eof.value === 0, 'the peer reads end-of-stream: close() closed the connection');
});

test('close() from a callback: a connection callback closes its server while an accept() waits, and the socket it got while that socket\'s read() waits; both reject "closed", the port is free, no fd left', BOUND, async (t) => {
  const ring = ringFor(t);
  const before = fds();
  const server = await TcpServer.listen(ring, { port: 0 });
  const port = server.address()!.port;
  let waiting: ReturnType<typeof within<unknown>> | undefined;
  let read: ReturnType<typeof within<number>> | undefined;
  const closed = new Promise<void>((resolve) =>
    server.connections().listen((sock) => {
      // from inside the callback: a read of this socket and a second accept, then both closed
      read = within(sock.read(Buffer.alloc(8)));
      waiting = within(server.accept());
      void sock.close().then(() => server.close()).then(resolve);
    }),
  );
  const client = await TcpSocket.connect(ring, { port });
  t.after(() => client.close());
  assert.notEqual(await within(closed), HANG, 'both closes settle');
  for (const [what, r] of [['accept()', await waiting!], ['read()', await read!]] as const) {
    assert.ok(r !== HANG && !r.ok, `${what} settles, rejected`);
    assert.match(String((r as { error: Error }).error.message), /closed/, `${what}: "the socket/server is closed"`);
  }
  await assertPortFree(ring, port, 'the port of the server closed from its own callback');
  await client.close();
  await until(() => fds() <= before, 20); // (a canceled accept's fd may be closed later in a loaded TCG guest)
  assert.ok(fds() <= before, `no fd left (${fds()} against ${before})`);
});

test('UdpSocket.close() while receive() waits: the receive settles', BOUND, async (t) => {
  const ring = ringFor(t);
  const u = await UdpSocket.bind(ring, {});
  const pending = u.receive();
  await sleep(20);
  assert.notEqual(await within(u.close()), HANG, 'close() settles');
  assert.notEqual(await within(pending), HANG, 'the receive() that waited settles once the socket is closed (the iterator does)');
});

test('close() twice, concurrently and through destroy(); then every method: one close, each later call a clear EBADF, callbacks called once', BOUND, async (t) => {
  const ring = ringFor(t);
  const before = fds();
  const { server, client, peer } = await pair(ring, t);
  const closes = [client.close(), client.close(), client.destroy()];
  assert.equal(closes[0], closes[1], 'close() again returns the same promise');
  const all = await within(Promise.all(closes));
  assert.ok(all !== HANG && all.ok, 'every close settles');
  assert.equal(client.closed, true);
  await closedError(client.write('x'), 'write()');
  await closedError(client.write(Buffer.alloc(100_000)), 'a zero-copy sized write()');
  await closedError(client.end(), 'end()');
  await closedError(client.end('data'), 'end(data)');
  await closedError(client.read(Buffer.alloc(4)), 'read()');
  await closedError(client.send(Buffer.from('x')), 'send()');
  await closedError(client[Symbol.asyncIterator]().next(), 'for await (const b of sock)');
  for (const [what, f] of [['setNoDelay', () => client.setNoDelay()], ['setKeepAlive', () => client.setKeepAlive()], ['chunks', () => client.chunks()]] as const) {
    assert.throws(f, (e: unknown) => (assertClosed(e, what), true));
  }
  let calls = 0;
  let cbErr: unknown;
  client.write('x', (e) => {
    calls++;
    cbErr = e;
  });
  assert.equal(calls, 0, 'the callback is never called inside write()');
  await sleep(10);
  assert.equal(calls, 1, 'the callback is called once');
  assertClosed(cbErr, 'write(data, cb)');

  const sc = await within(Promise.all([server.close(), server.close()]));
  assert.ok(sc !== HANG && sc.ok, 'server close() twice settles');
  assert.equal(server.listening, false);
  assert.equal(server.address(), null);
  await closedError(server.accept(), 'server.accept()');
  assert.throws(() => server.connections(), (e: unknown) => (assertClosed(e, 'connections()'), true));
  assert.throws(() => server[Symbol.asyncIterator](), (e: unknown) => (assertClosed(e, 'server iterator'), true));
  await peer.close();
  await until(() => fds() === before, 20);
  assert.equal(fds(), before, 'no fd left behind');
});

test("a closed socket's address(), remoteAddress and remotePort never describe the socket that took its fd number", BOUND, async (t) => {
  const ring = ringFor(t);
  const { server, client, peer } = await pair(ring, t);
  const fd = client.fd;
  await client.close();
  // the lowest free number is the one just closed: the next socket takes it
  const other = await TcpServer.listen(ring, { port: 0 });
  t.after(async () => {
    await other.close();
    await peer.close();
    await server.close();
  });
  assert.equal(other.fd, fd, 'precondition: the number was reused');
  assert.equal(client.address(), null, `closed TcpSocket.address() reports ${JSON.stringify(client.address())}, the address of the server that took fd ${fd}`);
  assert.equal(client.remoteAddress, undefined);
  assert.equal(client.remotePort, undefined);

  const u = await UdpSocket.bind(ring, {});
  const ufd = u.fd;
  await u.close();
  const u2 = await UdpSocket.bind(ring, {});
  t.after(() => u2.close());
  assert.equal(u2.fd, ufd, 'precondition: the number was reused');
  assert.equal(u.address(), null, `closed UdpSocket.address() reports ${JSON.stringify(u.address())}, another socket's address`);
});

test('chunks(): break then iterate the same stream again (done), a new chunks() still gets the data, listen() twice throws, next() in callback mode rejects', BOUND, async (t) => {
  const ring = ringFor(t);
  const { client, peer } = await pair(ring, t);
  const s1 = peer.chunks();
  await client.write('abc');
  const got: string[] = [];
  for await (const c of s1) {
    got.push(Buffer.from(c.bytes).toString());
    c.release();
    break;
  }
  assert.deepEqual(got, ['abc']);
  const again = await within(s1.next());
  assert.ok(again !== HANG && again.ok && again.value.done === true, 'a stream left by break is done, at once');
  assert.equal(s1.done, true);
  await client.write('def');
  const s2 = peer.chunks();
  const r = await within(s2.next());
  assert.ok(r !== HANG && r.ok && !r.value.done, 'a new chunks() gets what arrived after the break');
  assert.equal(Buffer.from((r as { value: IteratorResult<{ bytes: Uint8Array; release(): void }> }).value.value.bytes).toString(), 'def');
  (r as { value: IteratorResult<{ release(): void }> }).value.value.release();
  s2.listen(() => {});
  assert.throws(() => s2.listen(() => {}), /already listening/);
  const n = await within(s2.next());
  assert.ok(n !== HANG && !n.ok && /callback mode/.test(String(n.error)), 'next() on a listening stream rejects, saying why');
  s2.close();
  s2.close(); // twice: nothing
});

test('write() after end(): rejects (promise) / calls back once with the error (callback); end() twice settles', BOUND, async (t) => {
  const ring = ringFor(t);
  const { client, peer } = await pair(ring, t);
  await client.write('before');
  const e1 = await within(client.end());
  assert.ok(e1 !== HANG && e1.ok, 'end() settles');
  const w = await within(client.write('after'));
  assert.ok(w !== HANG && !w.ok, 'a write after end() rejects');
  assert.equal((w as { error: { code?: string } }).error.code, 'EPIPE', 'the kernel refuses the send: EPIPE');
  let calls = 0;
  await new Promise<void>((resolve) =>
    client.write('after', (e) => {
      calls++;
      assert.ok(e instanceof Error, 'the callback hears the error');
      resolve();
    }),
  );
  await sleep(10);
  assert.equal(calls, 1);
  const e2 = await within(client.end());
  assert.ok(e2 !== HANG && e2.ok, 'end() again settles');
  // the peer got exactly what was written before end(), then end-of-stream
  const chunks: Buffer[] = [];
  for (;;) {
    const b = Buffer.alloc(64);
    const r = await within(peer.read(b));
    assert.ok(r !== HANG && r.ok, 'peer read settles');
    if ((r as { value: number }).value === 0) break;
    chunks.push(b.subarray(0, (r as { value: number }).value));
  }
  assert.equal(Buffer.concat(chunks).toString(), 'before');
});

test('server.close() while its iterator and a listen() wait: both end; the same port listens again', BOUND, async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0 });
  const port = server.address()!.port;
  const it = server[Symbol.asyncIterator]();
  const pending = it.next();
  const done = new Promise<Error | undefined>((r) => server.connections().listen(() => {}, r));
  await sleep(20);
  await server.close();
  const a = await within(pending);
  assert.ok(a !== HANG && a.ok && a.value.done === true, 'the iterator ends');
  const b = await within(done);
  assert.ok(b !== HANG && b.ok && b.value === undefined, 'listen() hears the end, without an error');
  await assertPortFree(ring, port, 'the port is free again');
});

test('close() with writes queued behind a send to a peer that does not read: they reject "the socket is closed", the peer reads the end', BOUND, async (t) => {
  const ring = ringFor(t);
  const { client, peer } = await pair(ring, t);
  client.zeroCopyThreshold = Infinity;
  const w1 = client.write(Buffer.alloc(16 << 20));
  const w2 = client.write('tail');
  await sleep(30);
  assert.notEqual(await within(client.close()), HANG);
  await closedError(w1, 'the write waiting for room');
  await closedError(w2, 'the write queued behind it');
  const buf = Buffer.alloc(1 << 20);
  for (;;) {
    const r = await within(peer.read(buf));
    assert.ok(r !== HANG && r.ok, 'peer reads settle');
    if ((r as { value: number }).value === 0) break;
  }
});

test('adopting a node:net socket or server twice: the second is a TypeError, nothing leaks', BOUND, async (t) => {
  const ring = ringFor(t);
  const before = fds();
  const ns = net.createServer();
  await new Promise<void>((r) => ns.listen(0, '127.0.0.1', r));
  const port = (ns.address() as net.AddressInfo).port;
  const cli = net.connect(port, '127.0.0.1');
  await new Promise((r) => cli.once('connect', r));
  const srv = TcpServer.adopt(ring, ns);
  assert.throws(() => TcpServer.adopt(ring, ns), TypeError);
  const sock = TcpSocket.adopt(ring, cli);
  assert.throws(() => TcpSocket.adopt(ring, cli), TypeError);
  await sock.close();
  await srv.close();
  await until(() => fds() === before, 50); // (node:net's handles close a loop turn later: longer in a TCG guest)
  assert.equal(fds(), before, 'no fd left behind');
});

test('chunks()/connections() opened and closed 20,000 times (a fifth under TCG) on one open socket and server: heap does not grow per call', { timeout: 120_000 * CPU_TIME_SCALE }, () => {
  const r = gcChild(`
    import { Ring, TcpServer, TcpSocket } from '${index}';
    const ring = new Ring();
    const server = await TcpServer.listen(ring, { port: 0 });
    const acc = server.accept();
    const client = await TcpSocket.connect(ring, { port: server.address().port });
    const peer = await acc;
    async function settle() { for (let i = 0; i < 4; i++) { gc(); await new Promise((r) => setTimeout(r, 2)); } }
    async function round(n) {
      for (let i = 0; i < n; i++) {
        const s = peer.chunks();
        client.write('x');
        const c = await s.next();
        c.value.release();
        s.close();
        server.connections().close();
      }
    }
    await round(2000);
    await settle();
    const h0 = process.memoryUsage().heapUsed;
    await round(${repeats(20000)});
    await settle();
    const h1 = process.memoryUsage().heapUsed;
    console.log('RESULT ' + JSON.stringify({ kib: Math.round((h1 - h0) / 1024) }));
    await client.close(); await peer.close(); await server.close(); await ring.close();
  `);
  assert.equal(r.code, 0, r.out);
  const kib = r.result.kib as number;
  // a stream retained per call is ~0.7 KiB: 20,000 × 2 of them would be ~28 MiB (4,000 × 2, 5.6)
  assert.ok(kib < 4096, `heap grew ${kib} KiB over 20,000 chunks()+connections() opened and closed: closed streams are kept until the socket/server closes`);
});

// ======================================================================== ringflow/fs

type Fsp = typeof nodeFsp;
const both: Array<[string, Fsp]> = [
  ['node:fs/promises', nodeFsp],
  ['ringflow/fs', ringFsp as unknown as Fsp],
];

/** Lines 'line 0'..'line n-1', about 540 KB for 50,000: several stream chunks. */
const linesText = (n = 50_000): string => Array.from({ length: n }, (_, i) => `line ${i}`).join('\n') + '\n';

/** An outcome comparable across implementations: ok + value, or the error's name, code, message, syscall. */
async function outcome(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    const v = typeof p === 'function' ? p() : await p;
    return { ok: v === undefined ? 'undefined' : typeof v };
  } catch (e) {
    const x = e as NodeJS.ErrnoException;
    return { name: x.name, code: x.code, message: x.message, syscall: x.syscall };
  }
}

test('FileHandle: close() twice and concurrently, then every method: what node:fs/promises gives, call for call', BOUND, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  writeFileSync(path, 'hello');
  await (await ringFsp.open(path)).close(); // the default ring exists before counting fds (stat may answer without it)
  const results: Record<string, unknown>[] = [];
  for (const [, fs] of both) {
    const before = fds();
    const fh = await fs.open(path, 'r+');
    const out: Record<string, unknown> = {};
    const r = await within(Promise.all([fh.close(), fh.close()]));
    assert.ok(r !== HANG && r.ok, 'concurrent close() settles');
    out.closeAgain = await outcome(fh.close());
    out.fd = fh.fd;
    out.read = await outcome(fh.read(Buffer.alloc(4), 0, 4, 0));
    out.readNoArgs = await outcome(fh.read());
    out.readv = await outcome(fh.readv([Buffer.alloc(4)]));
    out.write = await outcome(fh.write('x'));
    out.writev = await outcome(fh.writev([Buffer.from('x')]));
    out.stat = await outcome(fh.stat());
    out.truncate = await outcome(fh.truncate(0));
    out.sync = await outcome(fh.sync());
    out.datasync = await outcome(fh.datasync());
    out.chmod = await outcome(fh.chmod(0o644));
    out.utimes = await outcome(fh.utimes(1, 1));
    out.readFile = await outcome(fh.readFile());
    out.writeFile = await outcome(fh.writeFile('abc'));
    out.appendFile = await outcome(fh.appendFile('abc'));
    out.createReadStream = await outcome(() => fh.createReadStream());
    out.createWriteStream = await outcome(() => fh.createWriteStream());
    out.readLines = await outcome(() => fh.readLines());
    out.readableWebStream = await outcome(() => fh.readableWebStream());
    results.push(out);
    assert.equal(fds(), before, 'no fd left behind');
  }
  assert.deepEqual(results[1], results[0]);
  assert.equal(readFileSync(path, 'utf8'), 'hello', 'nothing was written through a closed handle');
});

test('FileHandle.close() while a read waits (a FIFO): close waits for it, the read gets its data, as node:fs/promises', BOUND, async (t) => {
  const results: unknown[] = [];
  for (const [, fs] of both) {
    const f = fifo(t);
    const fh = await fs.open(f.path, 'r');
    const read = fh.read(Buffer.alloc(16), 0, 16, null);
    await sleep(20);
    let closed = false;
    const close = fh.close().then(() => void (closed = true));
    await sleep(30);
    const closedEarly = closed;
    f.write('data');
    const r = await within(read);
    const c = await within(close);
    assert.notEqual(r, HANG, 'the read settles');
    assert.notEqual(c, HANG, 'close() settles');
    const rv = r !== HANG && r.ok ? Buffer.from((r.value as { buffer: Buffer; bytesRead: number }).buffer.subarray(0, (r.value as { bytesRead: number }).bytesRead)).toString() : r;
    results.push({ closedEarly, read: rv, fd: fh.fd });
  }
  assert.deepEqual(results[1], results[0]);
});

test('FileHandle closed under its write stream with writes queued: the stream finishes and the file holds them, as node:fs/promises', BOUND, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  await ringFsp.writeFile(join(dir, 'warm'), ''); // the default ring exists before counting fds
  const results: unknown[] = [];
  for (const [name, fs] of both) {
    const path = join(dir, name.replace(/\W/g, '_'));
    const before = fds();
    const fh = await fs.open(path, 'w');
    const ws = fh.createWriteStream();
    const events: string[] = [];
    ws.on('error', (e: NodeJS.ErrnoException) => events.push(`error ${e.code} ${e.message}`));
    ws.on('finish', () => events.push('finish'));
    const closed = new Promise<void>((r) => ws.on('close', () => r()));
    for (let i = 0; i < 100; i++) ws.write(Buffer.alloc(10_000, 0x61));
    const c = await within(fh.close());
    assert.notEqual(c, HANG, `${name}: fh.close() settles`);
    assert.notEqual(await within(closed), HANG, `${name}: the stream closes`);
    await until(() => fds() <= before, 20);
    // (at most as many: a FileHandle of an earlier test that the GC closes meanwhile takes one away)
    assert.ok(fds() <= before, `${name}: no fd left behind (${fds()} against ${before})`);
    results.push({ close: c !== HANG && c.ok, events, size: statSync(path).size });
  }
  assert.deepEqual(results[0], { close: true, events: ['finish'], size: 1_000_000 }, 'node: the queued writes land');
  assert.deepEqual(results[1], results[0], 'ringflow/fs: the same');
});

test('FileHandle closed under a read stream: the stream closes without an error, fh.close() settles, no fd left', BOUND, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  writeFileSync(path, linesText());
  await (await ringFsp.open(path)).close();
  const results: unknown[] = [];
  for (const [name, fs] of both) {
    const before = fds();
    const fh = await fs.open(path);
    const st = fh.createReadStream({ highWaterMark: 1024 });
    const errors: string[] = [];
    let bytes = 0;
    let close: Promise<void> | undefined;
    st.on('error', (e: Error) => errors.push(e.message));
    const ended = new Promise<void>((r) => st.on('close', () => r()));
    st.on('data', (d: string | Buffer) => {
      bytes += d.length;
      if (bytes >= 4096 && !close) close = fh.close();
    });
    assert.notEqual(await within(ended), HANG, `${name}: the stream closes`);
    assert.notEqual(await within(close!), HANG, `${name}: fh.close() settles`);
    await until(() => fds() <= before, 20);
    // (at most as many: a FileHandle of an earlier test that the GC closes meanwhile takes one away)
    assert.ok(fds() <= before, `${name}: no fd left behind (${fds()} against ${before})`);
    results.push({ errors, bytes, fd: fh.fd });
  }
  assert.deepEqual(results[1], results[0]);
});

test('readLines(), break after a few lines, then fh.readFile(): the rest starts where node:fs/promises starts it (no chunk read ahead and lost)', BOUND, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  const text = linesText();
  writeFileSync(path, text);
  const results: unknown[] = [];
  for (const [, fs] of both) {
    const fh = await fs.open(path);
    const seen: string[] = [];
    for await (const l of fh.readLines()) {
      seen.push(l);
      if (l === 'line 2') break;
    }
    await sleep(50 * CPU_TIME_SCALE); // reads the stream had in flight are done (later in a TCG guest)
    const rest = (await within(fh.readFile('utf8'))) as { ok: boolean; value: string };
    assert.ok(rest.ok, 'readFile after the break settles');
    results.push({ seen, restOffset: text.length - rest.value.length, restStart: rest.value.slice(0, 12) });
    await fh.close();
  }
  assert.deepEqual(results[1], results[0], 'the file position after readLines() was left matches node:fs/promises');
});

test('createReadStream() paused after its first chunk, then fh.read() at the file position: reads where node:fs/promises reads', BOUND, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  const text = linesText(2000);
  writeFileSync(path, text);
  const results: unknown[] = [];
  for (const [, fs] of both) {
    const fh = await fs.open(path);
    const s = fh.createReadStream({ highWaterMark: 100 });
    const first = await within(new Promise<Buffer>((r) => s.once('data', (d: string | Buffer) => (s.pause(), r(d as Buffer)))));
    assert.ok(first !== HANG && first.ok);
    await sleep(50 * CPU_TIME_SCALE); // whatever the stream reads ahead, it has read (later in a TCG guest)
    const r = await within(fh.read(Buffer.alloc(12), 0, 12, null));
    assert.ok(r !== HANG && r.ok);
    const got = (r as { value: { buffer: Buffer } }).value.buffer.toString();
    results.push({ first: (first as { value: Buffer }).value.length, at: text.indexOf(got), got });
    s.destroy();
    await sleep(20);
    await fh.close().catch(() => {});
  }
  assert.deepEqual(results[1], results[0]);
});

test('readLines() while fh.read() reads the same handle at the file position: every byte goes to exactly one of them, no hang, no fd left', BOUND, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  const text = linesText();
  writeFileSync(path, text);
  await (await ringFsp.open(path)).close();
  for (const [name, fs] of both) {
    const before = fds();
    const fh = await fs.open(path);
    let lineBytes = 0;
    let userBytes = 0;
    const reader = (async () => {
      for (let i = 0; i < 5; i++) userBytes += (await fh.read(Buffer.alloc(4096), 0, 4096, null)).bytesRead;
    })();
    const lines = (async () => {
      for await (const l of fh.readLines()) lineBytes += l.length + 1;
    })();
    assert.notEqual(await within(reader), HANG, `${name}: the reads settle`);
    assert.notEqual(await within(lines, 5000 * CPU_TIME_SCALE), HANG, `${name}: readLines ends`);
    assert.equal(lineBytes + userBytes, text.length, `${name}: bytes conserved`);
    assert.equal(fh.fd, -1, `${name}: the stream closed the handle at its end`);
    await until(() => fds() <= before, 20);
    // (at most as many: a FileHandle of an earlier test that the GC closes meanwhile takes one away)
    assert.ok(fds() <= before, `${name}: no fd left behind (${fds()} against ${before})`);
  }
});

test('two read streams on one handle at the file position: together they read the file once', BOUND, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  const text = linesText();
  writeFileSync(path, text);
  for (const [name, fs] of both) {
    const fh = await fs.open(path);
    t.after(() => fh.close().catch(() => {})); // (closed even when an assertion below fails: no handle left for the GC to close under a later test's fd count)
    const streams = [fh.createReadStream({ autoClose: false }), fh.createReadStream({ autoClose: false })];
    const r = await within(Promise.all(streams.map(async (s) => {
      let n = 0;
      for await (const c of s) n += (c as Buffer).length;
      return n;
    })));
    assert.ok(r !== HANG && r.ok, `${name}: both end`);
    assert.equal((r as { value: number[] }).value[0]! + (r as { value: number[] }).value[1]!, text.length, `${name}: every byte read once`);
    assert.notEqual(await within(fh.close()), HANG);
  }
});

test('32 fh.read() calls at the file position at once, on tmpfs (io-wq): each gets its own 4 KiB and the position ends past all of them, as node:fs/promises', BOUND, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(existsSync('/dev/shm') ? '/dev/shm' : dir, `ringflow-misuse-${process.pid}`);
  t.after(() => rmSync(path, { force: true }));
  const data = Buffer.alloc(1 << 20);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
  writeFileSync(path, data);
  for (const [name, fs] of both) {
    const fh = await fs.open(path);
    const bufs = Array.from({ length: 32 }, () => Buffer.alloc(4096));
    const r = await within(Promise.all(bufs.map((b) => fh.read(b, 0, 4096, null))));
    assert.ok(r !== HANG && r.ok, `${name}: the reads settle`);
    // (node's reads run on its thread pool: each its own bytes, in whatever order they took f_pos)
    assert.deepEqual(bufs.map((b) => b.readUInt32LE(0)).sort((a, b) => a - b), bufs.map((_, i) => i * 4096), `${name}: every read its own bytes`);
    const next = await fh.read(Buffer.alloc(4), 0, 4, null);
    assert.equal(next.buffer.readUInt32LE(0), 32 * 4096, `${name}: the position is past them all`);
    await fh.close();
  }
});

test('writeFile(path, 128 MiB, { signal }) aborted mid-way: AbortError, no fd left, and (as node:fs/promises) an AbortError means the file was not all written', BOUND, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  await ringFsp.writeFile(join(dir, 'warm'), '');
  const data = Buffer.alloc(128 << 20, 0x41);
  const results: Record<string, unknown>[] = [];
  for (const [name, fs] of both) {
    const path = join(dir, name.replace(/\W/g, '_'));
    writeFileSync(path, 'OLD CONTENTS');
    const before = fds();
    const ac = new AbortController();
    const p = fs.writeFile(path, data, { signal: ac.signal });
    setTimeout(() => ac.abort(), 2);
    const r = await within(p, 20_000 * CPU_TIME_SCALE);
    assert.notEqual(r, HANG, `${name}: settles`);
    const size = statSync(path).size;
    await until(() => fds() <= before, 20);
    // (at most as many: a FileHandle of an earlier test that the GC closes meanwhile takes one away)
    assert.ok(fds() <= before, `${name}: no fd left behind (${fds()} against ${before})`);
    const rejected = r !== HANG && !r.ok;
    if (rejected) {
      assert.equal((r as { error: Error }).error.name, 'AbortError', `${name}: AbortError`);
      const written = readFileSync(path);
      assert.ok(written.every((b) => b === 0x41), `${name}: what is in the file is a prefix of the data`);
    }
    results.push({ name, rejected, size, complete: size === data.length });
    // the path works again at once
    await fs.writeFile(path, 'again');
    assert.equal(readFileSync(path, 'utf8'), 'again');
  }
  for (const r of results) {
    if (r.rejected) assert.equal(r.complete, false, `${r.name}: rejected with AbortError although the whole ${data.length} bytes were written (${JSON.stringify(results)})`);
  }
});
