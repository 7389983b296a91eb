/**
 * Multishot streams in callback mode (MultishotStream.listen(), src/net/stream.ts): each item as
 * its CQE is reaped, no promise per item; pause()/resume() for backpressure; one onDone at the
 * end; an exception from the callback ends the stream (buffers given back), never the ring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { ringFor, CPU_TIME_SCALE } from './helpers.js';
import { until } from './wait-util.js';
import { TcpServer, type TcpSocket, type RecvChunk } from '../src/index.js';

/** A node:net client to `port`; resolves with the socket once connected. */
function client(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
    c.once('error', reject);
  });
}

/** Reads from `c` until `n` bytes arrived. */
function readN(c: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer): void => {
      parts.push(d);
      got += d.length;
      if (got >= n) {
        c.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    c.on('data', onData);
    c.once('error', reject);
  });
}

test('an echo server in callback mode: 10,000 messages back in order, one onDone at the peer close', async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0 });
  t.after(() => server.close());
  const ends: (Error | undefined)[] = [];
  let sockets = 0;
  server.connections().listen((sock: TcpSocket) => {
    sockets++;
    sock.chunks().listen(
      (chunk: RecvChunk) => {
        sock.write(chunk.bytes).then(
          () => chunk.release(),
          () => chunk.release(),
        );
      },
      (err) => {
        ends.push(err);
        void sock.close();
      },
    );
  });
  const c = await client(server.address()!.port);
  t.after(() => c.destroy()); // (a failed assertion would leave it open, holding the loop)
  const total = 10_000 * 16;
  const sent = Buffer.alloc(total);
  for (let i = 0; i < total; i++) sent[i] = (i * 7) & 0xff;
  const back = readN(c, total);
  for (let i = 0; i < 10_000; i++) c.write(sent.subarray(i * 16, i * 16 + 16));
  assert.deepEqual(await back, sent);
  c.end();
  await until(() => ends.length > 0, 1000); // (scaled: a loaded TCG guest is slower)
  assert.deepEqual(ends, [undefined], 'onDone once, without an error');
  assert.equal(sockets, 1);
});

test('pause() stops delivery until resume(); nothing is lost or reordered', async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0 });
  t.after(() => server.close());
  const got: Buffer[] = [];
  let stream: ReturnType<TcpSocket['chunks']> | undefined;
  const accepted = new Promise<TcpSocket>((resolve) => server.connections().listen(resolve));
  const c = await client(server.address()!.port);
  t.after(() => c.destroy());
  const sock = await accepted;
  t.after(() => sock.close());
  stream = sock.chunks().listen((chunk) => {
    got.push(Buffer.from(chunk.bytes));
    chunk.release();
  });
  c.write('a'.repeat(100));
  await until(() => got.length > 0, 400);
  stream.pause();
  await new Promise((r) => setTimeout(r, 30 * CPU_TIME_SCALE)); // the cancel's CQE has come (later in a TCG guest)
  const before = Buffer.concat(got).length;
  c.write('b'.repeat(100));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(Buffer.concat(got).length, before, 'nothing delivered while paused');
  stream.resume();
  await until(() => Buffer.concat(got).length >= 200, 400);
  assert.equal(Buffer.concat(got).toString(), 'a'.repeat(100) + 'b'.repeat(100));
  assert.equal(stream.done, false);
  c.destroy();
});

test('a callback that throws ends its stream with the error; the ring and the server go on', async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0 });
  t.after(() => server.close());
  const boom = new Error('boom');
  const done: (Error | undefined)[] = [];
  const socks: TcpSocket[] = [];
  server.connections().listen((sock) => {
    socks.push(sock);
    const first = socks.length === 1;
    sock.chunks().listen(
      (chunk) => {
        if (first) {
          chunk.release();
          throw boom;
        }
        void sock.write(chunk.bytes).finally(() => chunk.release());
      },
      (err) => done.push(err),
    );
  });
  const c1 = await client(server.address()!.port);
  t.after(() => c1.destroy());
  c1.write('x');
  await until(() => done.length > 0, 400);
  assert.deepEqual(done, [boom]);
  const c2 = await client(server.address()!.port);
  t.after(() => c2.destroy());
  const back = readN(c2, 5);
  c2.write('hello');
  assert.equal((await back).toString(), 'hello', 'another connection is served');
  c1.destroy();
  c2.destroy();
  for (const s of socks) await s.close();
});

test('listen() after items were queued delivers them first, in order; next() then refuses; bad callbacks are TypeErrors', async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0 });
  t.after(() => server.close());
  const conns = server.connections();
  const c1 = await client(server.address()!.port);
  const c2 = await client(server.address()!.port);
  t.after(() => [c1, c2].forEach((c) => c.destroy()));
  await until(() => conns.buffered >= 2, 400);
  assert.equal(conns.buffered, 2, 'two accepted connections queued');
  assert.throws(() => conns.listen(42 as unknown as () => void), TypeError);
  assert.throws(() => conns.listen(() => {}, 'x' as unknown as () => void), TypeError);
  const seen: TcpSocket[] = [];
  conns.listen((s) => seen.push(s));
  assert.equal(seen.length, 2, 'the queued ones, at once');
  assert.equal(conns.buffered, 0);
  await assert.rejects(conns.next(), TypeError);
  assert.throws(() => conns.listen(() => {}), TypeError, 'already listening');
  for (const s of seen) await s.close();
  c1.destroy();
  c2.destroy();
});

test('careless caller: ring.close() from inside a listen() callback ends every stream once, without an error, and throws nothing into the ring', async (t) => {
  const { Ring } = await import('../src/index.js');
  const ring = new Ring();
  t.after(() => ring.close()); // (should an assertion fail before the callback closed it)
  const server = await TcpServer.listen(ring, { port: 0 });
  const done: (Error | undefined)[] = [];
  let closing: Promise<void> | undefined;
  server.connections().listen(
    (sock) => {
      sock.chunks().listen(
        (chunk) => {
          chunk.release();
          closing ??= ring.close(); // from the completion path, mid-reap
        },
        (err) => done.push(err),
      );
    },
    (err) => done.push(err),
  );
  const c = await client(server.address()!.port);
  t.after(() => c.destroy());
  c.write('x');
  await until(() => closing !== undefined, 400);
  await closing;
  await until(() => done.length >= 2, 200);
  assert.deepEqual(done, [undefined, undefined], 'the connection stream and the accept stream each ended once, cleanly');
  assert.equal(ring.closed, true);
  c.destroy();
});
