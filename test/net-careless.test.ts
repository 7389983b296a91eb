/**
 * TcpSocket and UdpSocket used the way a careless caller does: reads made before the last one
 * settled, a ring closed under a connect, node:net sockets adopted with bytes still in them, a
 * socket (or its ring) closed while the kernel holds its zero-copy sends for a peer that does not
 * read, the errors a wrong address gets, and the serving programs given an fd in the wrong state.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, openSync, closeSync } from 'node:fs';
import { binding } from '../src/native.js';
import { fileURLToPath } from 'node:url';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ringFor, CPU_TIME_SCALE } from './helpers.js';
import { until, settledWithin } from './wait-util.js';
import { Ring, TcpServer, TcpSocket, UdpSocket, RingError, RingClosedError, relay, serveEcho, serveEchoFromGroup } from '../src/index.js';
import { noEngine } from './ring-programs-util.js';

/** The socket fds this process has open. */
const socketFds = (): string[] =>
  readdirSync('/proc/self/fd').filter((f) => {
    try {
      return readlinkSync(`/proc/self/fd/${f}`).startsWith('socket:');
    } catch {
      return false;
    }
  });

async function pair(ring: Ring): Promise<{ server: TcpServer; client: TcpSocket; peer: TcpSocket }> {
  const server = await TcpServer.listen(ring, { port: 0 });
  const acc = server.accept();
  const client = await TcpSocket.connect(ring, { port: server.address()!.port, noDelay: true });
  return { server, client, peer: await acc };
}

/** A listener whose accept queue is full (backlog 0, never accepting): SYNs are dropped, so connects to it wait. */
async function fullListener(t: TestContext): Promise<{ full: TcpServer; port: number }> {
  const full = await TcpServer.listen(ringFor(t), { port: 0, backlog: 0 });
  const port = full.address()!.port;
  let connected = 0;
  const fillers = [0, 1, 2, 3].map(() => net.connect(port, '127.0.0.1').on('error', () => {}).on('connect', () => connected++));
  t.after(() => fillers.forEach((f) => f.destroy()));
  await until(() => connected > 0, 1000); // (the queue is full once one is in: 200 ms alone may not see that in a loaded TCG guest)
  await sleep(200);
  return { full, port };
}

/** Settles with `p`'s outcome, or 'pending' after `ms` × CPU_TIME_SCALE (a TCG guest is slower; the timer is cleared). */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'pending'> => settledWithin(p, ms);

test('read() calls made before the last one settled take turns: bytes in call order', async (t) => {
  const ring = ringFor(t);
  const { server, client, peer } = await pair(ring);
  for (let i = 0; i < 100; i++) {
    const first = Buffer.alloc(5);
    const second = Buffer.alloc(5);
    const r1 = peer.read(first);
    const r2 = peer.read(second);
    await client.write('AAAAA');
    await new Promise((r) => setImmediate(r));
    await client.write('BBBBB');
    assert.deepEqual(await Promise.all([r1, r2]), [5, 5]);
    // (the kernel wakes the newest of two waiting recvs first: without turns, 100 of 100 reversed)
    assert.equal(`${first}${second}`, 'AAAAABBBBB', `round ${i}`);
  }
  // a read waiting for its turn is aborted at once, holding nothing; the one after it still reads
  const ac = new AbortController();
  const b1 = Buffer.alloc(3);
  const b3 = Buffer.alloc(3);
  const r1 = peer.read(b1);
  const r2 = peer.read(Buffer.alloc(3), { signal: ac.signal });
  const r3 = peer.read(b3);
  ac.abort();
  await assert.rejects(r2, { name: 'AbortError' });
  await client.write('xyzuvw');
  assert.deepEqual(await Promise.all([r1, r3]), [3, 3]);
  assert.equal(`${b1}${b3}`, 'xyzuvw');
  // reads still waiting when the socket closes reject as closed
  const waiting = [peer.read(Buffer.alloc(1)), peer.read(Buffer.alloc(1)), peer.read(Buffer.alloc(1))];
  await peer.close();
  for (const w of waiting) await assert.rejects(w, /the socket is closed/);
  assert.throws(() => peer.chunks(), /the socket is closed/);
  await Promise.all([client.close(), server.close()]);
  assert.equal(ring.pending, 0);
});

test('chunks() is refused while read() calls wait for their turn (EBUSY)', async (t) => {
  const ring = ringFor(t);
  const { server, client, peer } = await pair(ring);
  const reads = [peer.read(Buffer.alloc(2)), peer.read(Buffer.alloc(2))];
  assert.throws(() => peer.chunks(), (e: unknown) => e instanceof RingError && e.code === 'EBUSY');
  await client.write('abcd');
  assert.deepEqual(await Promise.all(reads), [2, 2]);
  const s = peer.chunks(); // both settled: a stream may read now
  await client.write('e');
  for await (const c of s) {
    assert.equal(Buffer.from(c.bytes).toString(), 'e');
    c.release();
    break;
  }
  await Promise.all([client.close(), peer.close(), server.close()]);
});

test('a ring closed while connect() waits leaves no socket fd behind', async (t) => {
  const { full, port } = await fullListener(t);
  const before = socketFds();
  const ring = new Ring();
  t.after(() => ring.close()); // (its connect waits for good: should an assertion fail before the close below)
  const connecting = TcpSocket.connect(ring, { port });
  await sleep(200);
  assert.equal(await within(connecting, 0), 'pending', 'the connect waits (the accept queue is full)');
  await ring.close();
  await assert.rejects(connecting, { name: 'RingClosedError' });
  await until(() => socketFds().every((f) => before.includes(f)), 50); // (the socket's close comes later in a loaded TCG guest)
  assert.deepEqual(socketFds().filter((f) => !before.includes(f)), [], 'the connecting socket was closed');
  await full.close();
});

test('adopt(): bytes node:net received are the first bytes read; bytes it has not sent refuse the adoption', async (t) => {
  const ring = ringFor(t);
  for (const encoding of [undefined, 'latin1'] as const) {
    const adopted = new Promise<TcpSocket>((resolve) => {
      const ns = net.createServer(async (s) => {
        s.pause();
        if (encoding) s.setEncoding(encoding);
        s.once('readable', () => {}); // node:net reads ahead into its buffer
        while (s.readableLength === 0) await sleep(10);
        await sleep(50);
        assert.ok(s.readableLength > 0);
        resolve(TcpSocket.adopt(ring, s));
        ns.close();
      });
      ns.listen(0, '127.0.0.1', () => {
        const c = net.connect((ns.address() as net.AddressInfo).port, '127.0.0.1', () => c.end(data));
        c.on('data', () => {});
      });
    });
    const data = Buffer.alloc(100_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    const s = await adopted;
    const got: Buffer[] = [];
    for await (const b of s) got.push(b);
    assert.ok(Buffer.concat(got).equals(data), `${encoding ?? 'no'} encoding: every byte once, in order (${Buffer.concat(got).length} of ${data.length})`);
    await s.close();
  }
  // unsent bytes: refused, and the node:net socket is left as it was (still flowing, still open)
  const ns = net.createServer((s) => {
    s.write(Buffer.alloc(8 << 20, 1));
    assert.ok(s.writableLength > 0);
    assert.throws(() => TcpSocket.adopt(ring, s), (e: unknown) => e instanceof RingError && e.code === 'EBUSY' && /still holds \d+ bytes written/.test(e.message));
    assert.equal(s.destroyed, false);
    s.end();
  });
  await new Promise<void>((r) => ns.listen(0, '127.0.0.1', r));
  const c = net.connect((ns.address() as net.AddressInfo).port, '127.0.0.1');
  t.after(() => {
    c.destroy();
    ns.close();
  });
  let n = 0;
  c.on('data', (d: Buffer) => (n += d.length));
  await new Promise((r) => c.on('end', r));
  assert.equal(n, 8 << 20, 'node:net went on sending everything');
  c.destroy();
  ns.close();
});

/** A node:net server in a child process that accepts and never reads; its port. */
async function deafPeer(t: { after(fn: () => void): void }): Promise<number> {
  const code = `const s = require('net').createServer((c) => c.pause()); s.listen(0, '127.0.0.1', () => process.send(s.address().port));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  t.after(() => child.kill());
  return new Promise((resolve) => child.once('message', (p) => resolve(p as number)));
}

test('closing a socket whose zero-copy sends a non-reading peer holds resets it: nothing stays in flight', async (t) => {
  const ring = ringFor(t);
  if (!ring.supports('sendZc')) return t.skip('this kernel lacks IORING_OP_SEND_ZC (6.0)');
  const port = await deafPeer(t);
  const c = await TcpSocket.connect(ring, { port });
  const w = c.write(Buffer.alloc(16 << 20)); // zero-copy (>= zeroCopyThreshold)
  await sleep(200);
  assert.ok(ring.pending > 0, 'the write waits for the peer');
  await c.close();
  const outcome = await within(w.then(() => 'ok', (e: Error) => e.message), 2000);
  assert.match(String(outcome), /the socket is closed/, 'the write ended with the socket (it waited for the peer for good before)');
  assert.equal(ring.pending, 0, 'the kernel let go of the pages (the connection was reset)');
});

test('closing the ring of a socket whose zero-copy sends a non-reading peer holds: the close finishes, the socket is closed', async (t) => {
  const probe = new Ring();
  const zc = probe.supports('sendZc');
  await probe.close();
  if (!zc) return t.skip('this kernel lacks IORING_OP_SEND_ZC (6.0)');
  const port = await deafPeer(t);
  const ring = new Ring();
  t.after(() => ring.close()); // (should an assertion fail first: its write waits for good)
  const c = await TcpSocket.connect(ring, { port });
  const w = c.write(Buffer.alloc(16 << 20)).then(() => 'ok', (e: Error) => e.message);
  await sleep(200);
  assert.ok(ring.pending > 0);
  assert.equal(await within(ring.close(), 3000), undefined, 'ring.close() finished (it waited for the peer for good before)');
  assert.equal(c.closed, true);
  assert.match(await w, /the socket is closed/);
  await c.close(); // again: nothing left to do
});

test('errors about an address name it', async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0 });
  const port = server.address()!.port;
  await assert.rejects(TcpServer.listen(ring, { port }), (e: unknown) => e instanceof RingError && e.code === 'EADDRINUSE' && e.message.includes(`127.0.0.1:${port}`) && /address already in use/.test(e.message));
  await server.close();
  await assert.rejects(TcpSocket.connect(ring, { port }), (e: unknown) => e instanceof RingError && e.code === 'ECONNREFUSED' && e.message.includes(`127.0.0.1:${port}`) && /connection refused/.test(e.message));
  const u = await UdpSocket.bind(ring, { port: 0 });
  try {
    // from a loopback address to another host: the kernel's EINVAL, and why (ENETUNREACH where no route leads there at all)
    await assert.rejects(u.send('x', 9, '192.0.2.1'), (e: unknown) =>
      e instanceof RingError && e.message.includes('to 192.0.2.1:9') && (e.code === 'EINVAL' ? /loopback address, which cannot send to another host/.test(e.message) : e.code === 'ENETUNREACH'));
  } finally {
    await u.close();
  }
});

test('a socket dropped without close() is closed when collected, with a warning; one closed first is left alone', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0 });
  const port = server.address()!.port;
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => void (w.code === 'RINGFLOW_SOCKET_GC' && warnings.push(w.message));
  process.on('warning', onWarning);
  t.after(() => void process.off('warning', onWarning));
  /** What fd `fd` is now ("socket:[inode]"), or '' once closed. */
  const what = (fd: number): string => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  };
  const dropped: [number, string][] = [];
  const peers: TcpSocket[] = [];
  let closedFd = -1;
  await (async () => {
    for (let i = 0; i < 20; i++) {
      const acc = server.accept();
      const fd = (await TcpSocket.connect(ring, { port })).fd; // dropped: never closed
      dropped.push([fd, what(fd)]);
      peers.push(await acc);
    }
    const acc = server.accept();
    const kept = await TcpSocket.connect(ring, { port }); // closed properly, then dropped
    peers.push(await acc);
    closedFd = kept.fd;
    await kept.close();
  })();
  const peerFiles = peers.map((p) => what(p.fd));
  // (a socket an earlier test dropped may be collected now too: only these sockets' warnings count)
  const ours = (): string[] => warnings.filter((w) => dropped.some(([fd]) => w.includes(`socket fd ${fd} `)));
  // (20 rounds, and on while a loaded TCG guest has not had 20 × 20 ms × CPU_TIME_SCALE)
  for (let i = 0, end = Date.now() + 400 * CPU_TIME_SCALE; ours().length < 20 && (i < 20 || Date.now() < end); i++) {
    gc();
    await sleep(20);
  }
  assert.equal(ours().length, 20, 'one warning per dropped socket');
  // (its number was taken while the dropped ones were open: none of theirs)
  assert.ok(!warnings.some((w) => w.includes(`fd ${closedFd} `)), 'the socket closed before it was dropped gets no warning');
  for (const [fd, file] of dropped) assert.notEqual(what(fd), file, `fd ${fd} (${file}) is closed`);
  assert.deepEqual(peers.map((p) => what(p.fd)), peerFiles, "the peers' fds stay open");
  // the peers see their connections end
  for (const p of peers.slice(0, 20)) assert.equal(await p.read(Buffer.alloc(1)), 0);
  await Promise.all(peers.map((p) => p.close()));
  await server.close();
});

test('connect() with a signal gives up when it fires, closing its socket; read() of an empty buffer and writes of any view', async (t) => {
  const { full, port } = await fullListener(t);
  const ring = ringFor(t);
  const before = socketFds();
  const ac = new AbortController();
  const connecting = TcpSocket.connect(ring, { port, signal: ac.signal });
  await sleep(100);
  ac.abort();
  await assert.rejects(connecting, { name: 'AbortError' });
  assert.deepEqual(socketFds().filter((f) => !before.includes(f)), [], 'the socket made for it is closed');
  assert.equal(ring.pending, 0);
  await assert.rejects(TcpSocket.connect(ring, { port, signal: AbortSignal.abort() }), { name: 'AbortError' });
  await assert.rejects(TcpSocket.connect(ring, { port, signal: 'x' as never }), /"signal" must be an AbortSignal/);
  await full.close();

  const { server, client, peer } = await pair(ring);
  await assert.rejects(peer.read(Buffer.alloc(0)), (e: unknown) => e instanceof RangeError && /"buffer" is empty/.test(e.message));
  await client.write(new Uint16Array([0x6261, 0x6463])); // 'abcd' in little-endian bytes
  const src = Buffer.from('xyz!');
  await client.write(new DataView(src.buffer, src.byteOffset, 3));
  const got = Buffer.alloc(7);
  for (let n = 0; n < 7; ) n += await peer.read(got.subarray(n));
  assert.equal(got.toString(), 'abcdxyz');
  await Promise.all([client.close(), peer.close(), server.close()]);
});

test('a relay pair running when its ring closes ends with RingClosedError (not the program\'s EAGAIN)', { skip: noEngine }, async (t) => {
  const ring = new Ring();
  t.after(() => ring.close()); // (should an assertion fail before the close below: the relay runs on)
  const { server, client, peer } = await pair(ring);
  const acc = server.accept();
  const client2 = await TcpSocket.connect(ring, { port: server.address()!.port });
  const peer2 = await acc;
  const p = relay(ring, peer, peer2);
  await client.write('through');
  assert.equal((await readSome(client2, 7)).toString(), 'through');
  await ring.close();
  await assert.rejects(p.done, (e: unknown) => e instanceof RingClosedError && /ring closed while the relay ran/.test(e.message));
  await Promise.all([client, client2, peer, peer2, server].map((s) => s.close()));
});

/** Reads until `n` bytes came. */
async function readSome(s: TcpSocket, n: number): Promise<Buffer> {
  const b = Buffer.alloc(n);
  for (let got = 0; got < n; ) got += await s.read(b.subarray(got));
  return b;
}

test('serveEcho(), serveEchoFromGroup() and relay() refuse an fd that is not a socket in the state they need, at the call (the program would serve nothing, silently)', { skip: noEngine }, async (t) => {
  const ring = ringFor(t);
  const file = openSync(fileURLToPath(import.meta.url), 'r');
  t.after(() => closeSync(file));
  const { server, client, peer } = await pair(ring);
  t.after(() => Promise.all([client.close(), peer.close(), server.close()]));
  assert.throws(() => serveEcho(ring, file), /serveEcho\(listen\): fd \d+ is not a socket; it must be a listening socket/);
  assert.throws(() => serveEcho(ring, client), /serveEcho\(listen\): fd \d+ is a socket that is not listening; call listen\(\) on it first/);
  const group = ring.bufferGroup({ count: 4, size: 64 });
  t.after(() => group.close());
  assert.throws(() => serveEchoFromGroup(ring, peer.fd, { group }), /serveEchoFromGroup\(listen\): fd \d+ is a socket that is not listening/);
  assert.throws(() => relay(ring, server, client), /relay\(a\): fd \d+ is a listening socket; it must be a connected one/);
  assert.throws(() => relay(ring, client, file), /relay\(b\): fd \d+ is not a socket; it must be a connected socket/);
  assert.throws(() => relay(ring, client, 1_000_000), /relay\(b\): fd 1000000 is not an open socket \(EBADF/);
  const unconnected = binding.sockCreate(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0) as number; // never connected
  assert.ok(unconnected >= 0, `socket(2): ${unconnected}`);
  t.after(() => closeSync(unconnected));
  assert.throws(() => relay(ring, client, unconnected), /relay\(b\): fd \d+ is a socket that is not connected \(ENOTCONN\); connect it first/);
  // a refused first relay() makes no RelayProgram: the next call may give other options
  assert.throws(() => relay(ring, file, client, { maxPairs: 1024 }), /relay\(a\): fd \d+ is not a socket/);
  const pair2 = await pair(ring);
  t.after(() => Promise.all([pair2.client.close(), pair2.peer.close(), pair2.server.close()]));
  const relayed = relay(ring, client, pair2.client, { maxPairs: 4 });
  relayed.stop();
  await relayed.done.catch(() => {});
  // a closed TcpServer / TcpSocket is refused by its own state, whatever its old fd names now
  const gone = await TcpServer.listen(ring, { port: 0 });
  await gone.close();
  assert.throws(() => serveEcho(ring, gone), /serveEcho\(listen\): it was closed \(its fd \d+ is not its own any more\); it must be a listening socket/);
  assert.equal(ring.pending, 0, 'nothing was submitted');
  // the state they need is still accepted: a listening server, connected sockets
  const echo = serveEcho(ring, server);
  await echo.close();
});
