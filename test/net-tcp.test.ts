/**
 * The TCP layer (src/net/tcp.ts) against the kernel over loopback: multishot accept and multishot
 * recv as async iterators, 10,000 messages through one multishot recv, 1000 connections accepted
 * by one multishot accept, peers that reset or vanish, adopting node:net sockets, bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as net from 'node:net';
import { ringFor } from './helpers.js';
import { readExactly } from './net-helpers.js';
import { until } from './wait-util.js';
import { TcpServer, TcpSocket, RingError, type Ring } from '../src/index.js';

const openFds = () => readdirSync('/proc/self/fd').length;

/** An echo server on the ring: every chunk written back from the kernel's buffer, then released. */
function echoServer(server: TcpServer, errors: Error[] = [], stream = server.connections()): Promise<void> {
  return (async () => {
    for await (const sock of stream) {
      void (async () => {
        try {
          for await (const c of sock.chunks()) {
            try {
              await sock.write(c.bytes);
            } finally {
              c.release();
            }
          }
        } catch (e) {
          errors.push(e as Error);
        } finally {
          await sock.close();
        }
      })();
    }
  })();
}

async function listen(ring: Ring): Promise<[TcpServer, number]> {
  const server = await TcpServer.listen(ring, { port: 0, backlog: 4096 });
  return [server, server.address()!.port];
}

test('TCP echo: multishot accept + multishot recv + send, 10,000 messages through one recv', async (t) => {
  const ring = ringFor(t);
  const [server, port] = await listen(ring);
  const done = echoServer(server);
  const c = await TcpSocket.connect(ring, { port, noDelay: true });
  assert.equal(c.remotePort, port);
  assert.equal(c.remoteAddress, '127.0.0.1');
  for (let i = 0; i < 10_000; i++) {
    const msg = Buffer.alloc(16, i & 0xff);
    msg.writeUInt32LE(i, 0);
    await c.write(msg);
    const back = await readExactly(c, 16);
    assert.equal(back.readUInt32LE(0), i);
  }
  assert.equal(c.bytesWritten, 160_000);
  await c.close();
  await server.close();
  await done;
});

test('a client iterates what arrives as Buffers; end() gives the peer end-of-stream', async (t) => {
  const ring = ringFor(t);
  const [server, port] = await listen(ring);
  const accepted = server.accept();
  const c = await TcpSocket.connect(ring, { port });
  const s = await accepted;
  await c.end('hello, ring');
  const parts: Buffer[] = [];
  for await (const b of s) parts.push(b);
  assert.equal(Buffer.concat(parts).toString(), 'hello, ring');
  await s.close();
  await c.close();
  await server.close();
});

test('1000 connections accepted by one multishot accept; all served, no fd left behind', async (t) => {
  const ring = ringFor(t, { entries: 1024 });
  const before = openFds();
  const [server, port] = await listen(ring);
  const accepts = server.connections();
  const done = echoServer(server, [], accepts);
  const clients: TcpSocket[] = [];
  for (let i = 0; i < 1000; i += 100)
    clients.push(...(await Promise.all(Array.from({ length: 100 }, () => TcpSocket.connect(ring, { port })))));
  await Promise.all(
    clients.map(async (c, i) => {
      const msg = Buffer.from(`client ${i}`);
      await c.write(msg);
      assert.equal((await readExactly(c, msg.length)).toString(), `client ${i}`);
    }),
  );
  assert.equal(accepts.rearms, 0, 'one multishot accept took all 1000');
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
  await done;
  // the server's sockets close when their peers' end-of-stream arrives (scaled: later in a loaded TCG guest)
  await until(() => openFds() <= before, 2000, 20);
  assert.equal(openFds(), before);
});

test('a peer that resets mid-stream ends its own connection; the server keeps serving the others', async (t) => {
  const ring = ringFor(t, { entries: 512 });
  const [server, port] = await listen(ring);
  const errors: Error[] = [];
  const done = echoServer(server, errors);
  // node:net peers that reset (resetAndDestroy: SO_LINGER 0) while data flows
  const resets = await Promise.all(
    Array.from({ length: 50 }, () => new Promise<net.Socket>((res) => {
      const s = net.connect(port, '127.0.0.1', () => res(s));
      s.on('error', () => {});
      s.on('data', () => {});
    })),
  );
  t.after(() => resets.forEach((s) => s.destroy())); // (should a failed assertion skip the resets: they would hold the loop)
  const good = await Promise.all(Array.from({ length: 20 }, () => TcpSocket.connect(ring, { port })));
  for (const s of resets) s.write(Buffer.alloc(4096, 1));
  const load = good.map(async (c, i) => {
    for (let k = 0; k < 200; k++) {
      const m = Buffer.alloc(32, (i + k) & 0xff);
      await c.write(m);
      assert.deepEqual(await readExactly(c, 32), m);
    }
  });
  for (const s of resets) s.resetAndDestroy();
  await Promise.all(load);
  // the reset connections ended (with ECONNRESET or end-of-stream), the rest still echo
  const probe = await TcpSocket.connect(ring, { port });
  await probe.write('still there');
  assert.equal((await readExactly(probe, 11)).toString(), 'still there');
  for (const e of errors) assert.ok(e instanceof RingError && (e.code === 'ECONNRESET' || e.code === 'EPIPE'), String(e));
  await Promise.all([...good, probe].map((c) => c.close()));
  await server.close();
  await done;
});

test('1000 clients that connect and vanish: nothing leaks and the server still serves', async (t) => {
  const ring = ringFor(t, { entries: 1024 });
  const [server, port] = await listen(ring);
  const done = echoServer(server);
  const before = openFds();
  for (let round = 0; round < 10; round++) {
    await Promise.all(
      Array.from({ length: 100 }, () => new Promise<void>((res) => {
        const s = net.connect(port, '127.0.0.1', () => {
          if (round % 2) s.resetAndDestroy();
          else s.destroy();
          res();
        });
        s.on('error', () => res());
      })),
    );
  }
  const c = await TcpSocket.connect(ring, { port });
  await c.write('ping');
  assert.equal((await readExactly(c, 4)).toString(), 'ping');
  await c.close();
  await until(() => openFds() <= before, 2000, 20); // (scaled: later in a loaded TCG guest)
  assert.ok(openFds() <= before, `fds: ${before} before, ${openFds()} after`);
  await server.close();
  await done;
});

test('adopting a node:net server and a node:net socket', async (t) => {
  const ring = ringFor(t);
  const ns = net.createServer();
  await new Promise<void>((r) => ns.listen(0, '127.0.0.1', r));
  const port = (ns.address() as net.AddressInfo).port;
  const server = TcpServer.adopt(ring, ns);
  assert.equal(server.address()?.port, port);
  const done = echoServer(server);
  const nc = await new Promise<net.Socket>((res) => {
    const s = net.connect(port, '127.0.0.1', () => res(s));
  });
  const c = TcpSocket.adopt(ring, nc);
  await c.write('adopted');
  assert.equal((await readExactly(c, 7)).toString(), 'adopted');
  await c.close();
  await server.close();
  await done;
});

test('bad input and closed sockets: clear errors', async (t) => {
  const ring = ringFor(t);
  await assert.rejects(TcpServer.listen(ring, { port: 70000 }), /"port" must be in \[0, 65535\]/);
  await assert.rejects(TcpServer.listen(ring, { host: 'example.com' }), /does not resolve names/);
  await assert.rejects(TcpSocket.connect(ring, { port: 'x' as never }), /"port" must be an integer/);
  await assert.rejects(TcpSocket.connect(ring, null as never), /options must be an object/);
  assert.throws(() => TcpSocket.adopt(ring, {}), /expected a connected node:net Socket/);
  const [server, port] = await listen(ring);
  const occupied = TcpServer.listen(ring, { port });
  await assert.rejects(occupied, (e: unknown) => e instanceof RingError && e.code === 'EADDRINUSE');
  await server.close();
  await assert.rejects(TcpSocket.connect(ring, { port }), (e: unknown) => e instanceof RingError && e.code === 'ECONNREFUSED');
  const [s2, p2] = await listen(ring);
  const acc = s2.accept();
  const c = await TcpSocket.connect(ring, { port: p2 });
  await c.close();
  await assert.rejects(c.write('x'), /the socket is closed/);
  assert.throws(() => c.chunks(), /the socket is closed/);
  await assert.rejects(c.write(42 as never), /"data" must be a string, a TypedArray, a DataView or a received chunk/);
  await (await acc).close();
  await s2.close();
  assert.throws(() => s2.connections(), /the server is closed/);
});

test('recv bundles: one completion fills several buffers of the group, yielded in order', async (t) => {
  const ring = ringFor(t);
  if (!ring.hasFeature('RECVSEND_BUNDLE')) return t.skip('this kernel lacks IORING_FEAT_RECVSEND_BUNDLE (6.10)');
  const group = ring.bufferGroup({ count: 256, size: 1024 });
  const server = await TcpServer.listen(ring, { group });
  const acc = server.accept();
  const c = await TcpSocket.connect(ring, { port: server.address()!.port });
  const s = await acc;
  const data = Buffer.alloc(200_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const before = ring.stats().cqesReaped;
  const got: Buffer[] = [];
  let chunks = 0;
  const reading = (async () => {
    let n = 0;
    for await (const ch of s.chunks({ bundle: true })) {
      got.push(Buffer.from(ch.bytes));
      ch.release();
      chunks++;
      if ((n += got[got.length - 1].length) === data.length) break;
    }
  })();
  await c.write(data);
  await reading;
  assert.ok(Buffer.concat(got).equals(data));
  const cqes = ring.stats().cqesReaped - before;
  assert.ok(chunks > cqes, `${chunks} chunks from ${cqes} CQEs: bundles took several buffers per completion`);
  await Promise.all([c.close(), s.close(), server.close()]);
  await group.close();
});
