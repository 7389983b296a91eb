/**
 * SendQueue (src/buffers/send-queue.ts): sends from provided buffers of a ring-mapped group,
 * bundles where the kernel has them; the bytes arrive once and in order, partial sends keep order,
 * an empty queue is ENOBUFS, close() with a send in flight, bad input.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { ringFor } from './helpers.js';
import { TcpSocket, SendQueue, SendQueueEmptyError, SendQueueFullError, RingError, type Ring } from '../src/index.js';

/** A node:net peer collecting what it gets, and a ringflow socket connected to it. */
async function pair(ring: Ring, t: TestContext): Promise<{ sock: TcpSocket; peer: () => net.Socket; got: Buffer[]; until: (n: number) => Promise<Buffer> }> {
  const got: Buffer[] = [];
  let total = 0;
  let peer: net.Socket | undefined;
  const waiters: [number, () => void][] = [];
  const server = net.createServer((s) => {
    peer = s;
    s.on('data', (d) => {
      got.push(d);
      total += d.length;
      for (const w of waiters.splice(0)) if (total >= w[0]) w[1](); else waiters.push(w);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => { peer?.destroy(); server.close(); });
  const sock = await TcpSocket.connect(ring, { port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' });
  while (!peer) await new Promise((r) => setTimeout(r, 1));
  const until = (n: number) => new Promise<Buffer>((r) => { const done = () => r(Buffer.concat(got)); if (total >= n) done(); else waiters.push([n, done]); });
  return { sock, peer: () => peer!, got, until };
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function queueFor(t: TestContext, ring: Ring, o: { count: number; size: number; incremental?: boolean }): SendQueue | undefined {
  try {
    return new SendQueue(ring, o);
  } catch (e) {
    if (e instanceof RingError && e.code === 'EINVAL') { t.skip(`kernel refuses ring-mapped groups: ${e.message}`); return undefined; }
    if (e instanceof RingError && e.code === 'EOPNOTSUPP') { t.skip(`the kernel cannot send from provided buffers (6.10): ${e.message}`); return undefined; }
    throw e;
  }
}

for (const incremental of [true, false]) {
  const name = incremental ? 'incremental ring' : 'plain ring';

  test(`${name}: 10,000 small messages arrive exactly once and in order; bundles take several buffers per CQE`, async (t) => {
    const ring = ringFor(t);
    const q = queueFor(t, ring, { count: 64, size: 1024, incremental });
    if (!q) return;
    const { sock, until } = await pair(ring, t);
    const msgs: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) {
      const m = Buffer.from(`message ${i};`);
      msgs.push(m);
      if (q.freeBytes < m.length) await q.flush(sock.fd);
      q.append(m);
    }
    await q.flush(sock.fd);
    const want = Buffer.concat(msgs);
    const got = await until(want.length);
    assert.ok(got.equals(want), 'bytes arrive once, in order');
    assert.equal(q.stats.bytesSent, want.length);
    assert.equal(q.queuedBytes, 0);
    assert.equal(q.freeBuffers, 64);
    if (q.bundles) assert.ok(q.stats.buffersSent > q.stats.cqes, `${q.stats.buffersSent} buffers in ${q.stats.cqes} CQEs`);
    else assert.equal(q.stats.buffersSent, q.stats.cqes);
    await sock.close();
    await q.close();
  });

  test(`${name}: large writes cross buffers; a peer not reading forces partial sends, order kept`, async (t) => {
    const ring = ringFor(t);
    // 12,289-byte buffers, so that where the kernel stops a send to a full socket (an skb's end)
    // does not fall on a buffer's end by the sizes' arithmetic
    const size = 12 * 1024 + 1;
    const q = queueFor(t, ring, { count: 256, size, incremental });
    if (!q) return;
    const { sock, peer, until } = await pair(ring, t);
    peer().pause();
    const data = pattern(12 * 1024 * 1024 + 333, incremental ? 1 : 2);
    const w = q.write(sock.fd, data);
    await new Promise((r) => setTimeout(r, 200));
    const sentWhilePaused = q.stats.bytesSent;
    assert.ok(sentWhilePaused < data.length, 'the paused peer held the sender back');
    // the peer stalls again and again until the write is done. A send ends inside a buffer only when
    // the socket runs out of room with unsent bytes in its last skb (the peer's window closed): on
    // 6.12 under TCG one stall in eleven did, and a CI run there once saw none. So a plain ring
    // writes 4 MiB more, stalled longer, until one has.
    const stall = async (w: Promise<number>, pauseMs: number): Promise<number> => {
      let done = false;
      void w.finally(() => { done = true; }).catch(() => {});
      let n = 0;
      while (!done) {
        peer().resume();
        await new Promise((r) => setTimeout(r, 10));
        if (done) break;
        peer().pause();
        n++;
        await new Promise((r) => setTimeout(r, pauseMs));
      }
      peer().resume();
      return n;
    };
    let stalls = 1 + (await stall(w, 30));
    assert.equal(await w, data.length);
    const sent = [data];
    for (let round = 0; !incremental && q.stats.partial === 0 && round < 20; round++) {
      const more = pattern(4 * 1024 * 1024 + round, round);
      sent.push(more);
      const w2 = q.write(sock.fd, more);
      peer().pause();
      await new Promise((r) => setTimeout(r, 100));
      stalls += 1 + (await stall(w2, 100));
      assert.equal(await w2, more.length);
    }
    const want = Buffer.concat(sent);
    const got = await until(want.length);
    assert.ok(got.equals(want), 'bytes arrive once, in order, across partial sends');
    // a plain ring's short sends end inside a buffer (its rest re-published); on 6.18.44 an incremental
    // ring's bundle was seen to end its CQEs on buffer boundaries here, so only order is asserted for it
    t.diagnostic(`${q.stats.partial} of ${q.stats.cqes} CQEs ended inside a buffer; ${stalls} stalls of the peer`);
    if (!incremental) assert.ok(q.stats.partial > 0, `${q.stats.partial} of ${q.stats.cqes} CQEs ended inside a buffer (${stalls} stalls of the peer)`);
    assert.equal(q.freeBuffers, 256);
    await sock.close();
    await q.close();
  });
}

test('acquire(): fill a buffer in place, commit keeps append order; cancel frees; one end', async (t) => {
  const ring = ringFor(t);
  const q = queueFor(t, ring, { count: 4, size: 64 });
  if (!q) return;
  const { sock, until } = await pair(ring, t);
  q.append('ab');
  const b = q.acquire();
  b.bytes.write('cd');
  b.commit(2);
  assert.throws(() => b.commit(1), { name: 'BufferStateError' });
  assert.throws(() => b.bytes, { name: 'BufferStateError' });
  const c = q.acquire();
  c.cancel();
  assert.throws(() => c.cancel(), { name: 'BufferStateError' });
  q.append('ef');
  await q.flush(sock.fd);
  assert.equal((await until(6)).toString(), 'abcdef');
  assert.equal(q.freeBuffers, 4);
  await sock.close();
  await q.close();
});

test('ENOBUFS on an empty queue is SendQueueEmptyError (a RingError, code ENOBUFS)', async (t) => {
  const ring = ringFor(t);
  const q = queueFor(t, ring, { count: 4, size: 64 });
  if (!q) return;
  const { sock } = await pair(ring, t);
  await assert.rejects(q.send(sock.fd), (e: unknown) => e instanceof SendQueueEmptyError && e instanceof RingError && e.code === 'ENOBUFS');
  q.append('x');
  assert.equal(await q.send(sock.fd), 1);
  await assert.rejects(q.send(sock.fd), SendQueueEmptyError);
  await sock.close();
  await q.close();
});

test('close() with a send in flight: the send ends, the group id is free again', async (t) => {
  const ring = ringFor(t);
  const q = queueFor(t, ring, { count: 256, size: 65536 });
  if (!q) return;
  const { sock, peer } = await pair(ring, t);
  peer().pause();
  q.append(pattern(256 * 65536, 3));
  const s = q.send(sock.fd).then((n) => n, (e) => e);
  await new Promise((r) => setTimeout(r, 100));
  await q.close();
  const r = await s;
  assert.ok(r instanceof Error || typeof r === 'number', `send settled: ${r}`);
  assert.throws(() => q.append('x'), { name: 'RingClosedError' });
  const again = new SendQueue(ring, { count: 1, size: 64, id: q.id });
  await again.close();
  await sock.close();
});

test('TcpSocket.sendQueue: write() goes through the queue', async (t) => {
  const ring = ringFor(t);
  const q = queueFor(t, ring, { count: 8, size: 4096 });
  if (!q) return;
  const { sock, until } = await pair(ring, t);
  sock.sendQueue = q;
  const data = pattern(100_000, 5);
  await Promise.all([sock.write(data.subarray(0, 50_000)), sock.write(data.subarray(50_000))]);
  assert.ok((await until(data.length)).equals(data));
  assert.equal(sock.bytesWritten, data.length);
  assert.equal(q.stats.bytesSent, data.length);
  await sock.close();
  await q.close();
});

test('bad input: options, data, sizes, ids', async (t) => {
  const ring = ringFor(t);
  assert.throws(() => new SendQueue(ring, { count: 0, size: 64 }), RangeError);
  assert.throws(() => new SendQueue(ring, { count: 4, size: 0 }), RangeError);
  assert.throws(() => new SendQueue(ring, { count: 4, size: 64, nope: 1 } as never), TypeError);
  assert.throws(() => new SendQueue(ring, null as never), TypeError);
  const q = queueFor(t, ring, { count: 2, size: 8 });
  if (!q) return;
  assert.throws(() => new SendQueue(ring, { count: 2, size: 8, id: q.id }), /in use/);
  assert.throws(() => ring.bufferGroup({ count: 2, size: 8, id: q.id }), /in use/);
  assert.throws(() => q.append(42 as never), TypeError);
  assert.throws(() => q.append(Buffer.alloc(17)), (e: unknown) => e instanceof SendQueueFullError && e.free === 16);
  assert.equal(q.queuedBytes, 0, 'a refused append copies nothing');
  q.append(Buffer.alloc(16));
  assert.throws(() => q.acquire(), SendQueueFullError);
  await q.close();
});
