/**
 * The networking examples run (TCP echo, UDP echo, TCP proxy, zero-copy sender, HTTP responder),
 * and zero-copy send's two CQEs: the promise settles at the notification, the request holds its
 * buffer until then, also after an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import { ringFor } from './helpers.js';
import { TcpServer, TcpSocket, UdpSocket, CqeFlags, RingError } from '../src/index.js';
import { serveEcho } from '../examples/tcp-echo.js';
import { serveUdpEcho } from '../examples/udp-echo.js';
import { serveProxy } from '../examples/tcp-proxy.js';
import { serveHttpServer } from '../examples/http-responder.js';

/** IORING_SEND_ZC_REPORT_USAGE is 6.2: a kernel without it refuses the request (EINVAL). */
async function probeReportUsage(ring: import('../src/index.js').Ring): Promise<boolean> {
  const fd = await ring.socket('ipv4', 'dgram');
  try {
    await ring.sendZc(fd, Buffer.alloc(1), 0, { reportUsage: true, to: { address: '127.0.0.1', port: 9 } });
    return true;
  } catch (e) {
    return !(e instanceof RingError && e.code === 'EINVAL');
  } finally {
    await ring.closeFd(fd);
  }
}

async function readAll(s: TcpSocket): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of s) parts.push(b);
  return Buffer.concat(parts);
}

test('examples/tcp-proxy relays both ways to examples/tcp-echo and passes end-of-stream on', async (t) => {
  const ring = ringFor(t, { entries: 512 });
  const echo = await TcpServer.listen(ring);
  const proxy = await TcpServer.listen(ring);
  const servers = [serveEcho(echo), serveProxy(proxy, { port: echo.address()!.port })];
  const clients = await Promise.all(Array.from({ length: 20 }, () => TcpSocket.connect(ring, { port: proxy.address()!.port })));
  const payloads = clients.map((_, i) => Buffer.alloc(50_000 + i, i));
  const got = await Promise.all(
    clients.map(async (c, i) => {
      const r = readAll(c);
      await c.end(payloads[i]);
      return r;
    }),
  );
  got.forEach((g, i) => assert.ok(g.equals(payloads[i]), `client ${i}: ${g.length} bytes back`));
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([echo.close(), proxy.close()]);
  await Promise.all(servers);
});

test('examples/udp-echo sends each datagram back to its sender', async (t) => {
  const ring = ringFor(t);
  const sock = await UdpSocket.bind(ring);
  const served = serveUdpEcho(sock);
  const client = dgram.createSocket('udp4');
  t.after(() => client.close());
  const replies: string[] = [];
  const all = new Promise<void>((res) => client.on('message', (m) => replies.push(m.toString()) === 50 && res()));
  for (let i = 0; i < 50; i++) client.send(`datagram ${i}`, sock.address()!.port, '127.0.0.1');
  await all;
  assert.deepEqual(new Set(replies), new Set(Array.from({ length: 50 }, (_, i) => `datagram ${i}`)));
  await sock.close();
  assert.equal(await served, 50);
});

test('examples/http-responder answers keep-alive and pipelined requests', async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring);
  const port = server.address()!.port;
  const served = serveHttpServer(server);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  for (let i = 0; i < 100; i++) {
    const body = await new Promise<string>((res, rej) =>
      http.get({ port, host: '127.0.0.1', path: `/${i}`, agent }, (r) => {
        let b = '';
        r.on('data', (d) => (b += d));
        r.on('end', () => res(b));
      }).on('error', rej),
    );
    assert.equal(body, 'hello world');
  }
  // ten requests in one write: ten answers
  const raw = net.connect(port, '127.0.0.1');
  let text = '';
  raw.on('data', (d) => (text += d));
  raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(10));
  while ((text.match(/hello world/g) ?? []).length < 10) await new Promise((r) => setTimeout(r, 5));
  raw.destroy();
  await server.close();
  await served;
});

test('examples/zc-sender runs: zero-copy sends, each settled at its notification', () => {
  const script = fileURLToPath(new URL('../examples/zc-sender.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, '8'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^8388608 bytes in 32 zero-copy sends \(32 copied by the kernel\), 8388608 received, \d+ MB\/s\n$/);
});

test('send_zc: the result CQE (F_MORE) then the notification (F_NOTIF); the request holds its buffer until the notification', async (t) => {
  const ring = ringFor(t);
  const reportUsage = await probeReportUsage(ring);
  await using server = await TcpServer.listen(ring);
  const accepted = server.accept();
  await using c = await TcpSocket.connect(ring, { port: server.address()!.port });
  await using peer = await accepted;
  const buf = Buffer.alloc(100_000, 3);
  // the peer reads all along: where the kernel really sends from the buffer over loopback (6.1), the
  // notification comes only once the receiver has consumed the data
  const reading = (async () => {
    let got = 0;
    for await (const ch of peer.chunks()) {
      got += ch.bytes.length;
      ch.release();
      if (got === 101_000 + (reportUsage ? 10 : 0)) break;
    }
    return got;
  })();
  const seen: [string, number, number, number][] = [];
  await new Promise<void>((done, fail) => {
    ring.runMulti(ring.op.sendZc(c.fd, buf), {
      more: (res, flags) => seen.push(['more', res, flags, ring.pending]),
      end: (res, flags) => {
        seen.push(['end', res, flags, ring.pending]);
        done();
      },
      fail,
    });
  });
  assert.equal(seen.length, 2);
  assert.equal(seen[0][1], 100_000);
  assert.ok(seen[0][2] & CqeFlags.MORE);
  assert.ok(seen[0][3] >= 1, 'still in flight (buffer held) between the result and the notification');
  assert.ok(seen[1][2] & CqeFlags.NOTIF);
  assert.equal(seen[1][2] & CqeFlags.MORE, 0);
  // the promise form resolves the bytes at the notification; reportUsage (6.2) says whether it copied
  assert.equal(await ring.sendZc(c.fd, buf.subarray(0, 1000)), 1000);
  if (reportUsage) {
    const r = await ring.sendZc(c.fd, buf.subarray(0, 10), 0, { reportUsage: true });
    assert.equal(r.bytes, 10);
    assert.equal(typeof r.copied, 'boolean');
  }
  assert.equal(await reading, 101_000 + (reportUsage ? 10 : 0));
});

test('send_zc that fails still waits for its notification, then rejects', async (t) => {
  const ring = ringFor(t);
  const fd = await ring.socket('ipv4', 'stream'); // never connected: -EPIPE with F_MORE, then NOTIF
  const seen: number[] = [];
  await new Promise<void>((done) =>
    ring.runMulti(ring.op.sendZc(fd, Buffer.alloc(64)), { more: (_r, f) => seen.push(f), end: (_r, f) => (seen.push(f), done()), fail: () => done() }),
  );
  assert.ok(seen.length === 1 || seen[seen.length - 1] & CqeFlags.NOTIF, JSON.stringify(seen));
  await assert.rejects(ring.sendZc(fd, Buffer.alloc(64)), (e: unknown) => e instanceof RingError && e.code === 'EPIPE');
  await ring.closeFd(fd);
});
