/**
 * Provided buffers used the way a careless caller does (found by an attack): end() right after a
 * write through a SendQueue, a SendQueue whose send the socket failed and that is used again, a
 * group closed under an armed recv and a new one made at once, one socket in two relay pairs.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ringFor, CPU_TIME_SCALE } from './helpers.js';
import { until } from './wait-util.js';
import { noEngine } from './ring-programs-util.js';
import { Ring, SendQueue, TcpServer, TcpSocket, RelayProgram, RingError, RingClosedError } from '../src/index.js';

/** A node:net server keeping what each connection sent; its port. */
async function sink(t: { after(fn: () => void): void }): Promise<{ port: number; got: Buffer[][]; ended: Promise<void>[] }> {
  const got: Buffer[][] = [];
  const ended: Promise<void>[] = [];
  const conns: net.Socket[] = [];
  const server = net.createServer((s) => {
    conns.push(s);
    const mine: Buffer[] = [];
    got.push(mine);
    s.on('error', () => {});
    s.on('data', (d: Buffer) => mine.push(d));
    ended.push(new Promise((r) => s.on('end', () => r())));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // (its connections too: a ring socket a failed assertion left open keeps one open, holding the loop)
  t.after(() => {
    for (const c of conns) c.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, got, ended };
}

/** Connects to the sink and waits until it has seen the connection: its index in got/ended. */
async function connectTo(ring: Ring, s: { port: number; got: Buffer[][] }): Promise<[TcpSocket, number]> {
  const before = s.got.length;
  const sock = await TcpSocket.connect(ring, { port: s.port });
  while (s.got.length === before) await sleep(5);
  return [sock, before];
}

/** The queue kinds this kernel has. */
const kinds = (ring: Ring): boolean[] => (ring.hasFeature('RECVSEND_BUNDLE') ? [false, true] : [false]);

/** A SendQueue, or undefined (the test skipped) where the kernel cannot send from provided buffers. */
function queueFor(t: TestContext, ring: Ring, o: { count: number; size: number; incremental: boolean }): SendQueue | undefined {
  try {
    return new SendQueue(ring, o);
  } catch (e) {
    if (e instanceof RingError && (e.code === 'EOPNOTSUPP' || e.code === 'EINVAL')) {
      t.skip(`the kernel cannot send from provided buffers here (6.10): ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

test('end() waits for the writes made through sock.sendQueue: the peer gets every byte before the FIN', async (t) => {
  const ring = ringFor(t);
  const s = await sink(t);
  for (const incremental of kinds(ring)) {
    const q = queueFor(t, ring, { count: 8, size: 4096, incremental });
    if (!q) return;
    const [sock, at] = await connectTo(ring, s);
    sock.sendQueue = q;
    const data = Buffer.alloc(1 << 20, 7);
    const w = sock.write(data); // not awaited
    await sock.end();
    await w;
    await s.ended[at];
    assert.equal(Buffer.concat(s.got[at]).length, data.length, `${q.kind}: every byte before the end`);
    await sock.close();
    await q.close();
  }
});

test('a SendQueue whose send the socket failed drops what was queued and works on the next socket', async (t) => {
  const ring = ringFor(t);
  const s = await sink(t);
  for (const incremental of kinds(ring)) {
    const q = queueFor(t, ring, { count: 4, size: 64, incremental });
    if (!q) return;
    const [s1] = await connectTo(ring, s);
    await ring.shutdown(s1.fd, 'write');
    q.append('x'.repeat(64));
    q.append('stale bytes');
    await assert.rejects(q.send(s1.fd), { code: 'EPIPE' });
    // the buffers the kernel took went with the connection; the queue says so and has them back
    assert.deepEqual([q.queuedBytes, q.freeBuffers], [0, 4], q.kind);
    assert.ok(q.stats.buffersDropped >= 1);
    await s1.close();
    const [s2, at] = await connectTo(ring, s);
    s2.sendQueue = q;
    for (let i = 0; i < 3; i++) await s2.write(`new${i}`);
    await s2.end();
    await s.ended[at];
    assert.equal(Buffer.concat(s.got[at]).toString(), 'new0new1new2', `${q.kind}: only the new bytes, each once`);
    await s2.close();
    await q.close();
  }
});

test('a group closed while a recv selects from it: its id is not given to a new group until that recv is out of the kernel', async (t) => {
  const ring = ringFor(t);
  const a = ring.bufferGroup({ count: 4, size: 1024 });
  const server = await TcpServer.listen(ring, { port: 0, group: a });
  const c = net.connect(server.address()!.port, '127.0.0.1').on('error', () => {});
  t.after(() => c.destroy());
  await new Promise((r) => c.once('connect', r));
  const sock = await server.accept();
  const seen: string[] = [];
  const loop = (async () => {
    try {
      for await (const ch of sock.chunks()) {
        seen.push(Buffer.from(ch.bytes).toString());
        ch.release();
      }
      return 'ended';
    } catch (e) {
      return (e as Error & { code?: string }).code;
    }
  })();
  c.write('first');
  await until(() => seen.length > 0, 100); // (it was a fixed 100 ms: a loaded TCG guest may take longer)
  await sleep(100);
  await a.close();
  const b = ring.bufferGroup({ count: 4, size: 1024 });
  assert.notEqual(b.id, a.id, 'the armed recv still names the old id');
  assert.throws(() => ring.bufferGroup({ count: 1, size: 8, id: a.id }), /closed while requests selecting from it are still in flight/);
  c.write('second');
  await sleep(100);
  assert.deepEqual(seen, ['first'], 'nothing read from the new group into the old one');
  assert.equal(b.available, 4, "the new group's buffers are all its own");
  assert.equal(await loop, 'ERR_RING_CLOSED');
  await sock.close();
  c.destroy();
  await sleep(50 * CPU_TIME_SCALE); // (the recv leaves the kernel later in a TCG guest)
  const again = ring.bufferGroup({ count: 1, size: 8, id: a.id }); // free once nothing selects from it
  assert.equal(again.id, a.id);
  await Promise.all([again.close(), b.close(), server.close()]);
});

test('a socket in a live relay pair is refused for a second one', { skip: noEngine }, async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0 });
  const socks: TcpSocket[] = [];
  for (let i = 0; i < 3; i++) {
    const acc = server.accept();
    socks.push(await TcpSocket.connect(ring, { port: server.address()!.port }), await acc);
  }
  const rp = new RelayProgram(ring, { maxPairs: 4 });
  const [a, b, c] = [socks[1], socks[3], socks[5]];
  const p1 = rp.add(a, b);
  assert.throws(() => rp.add(a, c), new RegExp(`fd ${a.fd} is relayed by a live pair of this ring already`));
  await socks[0].write('hello');
  const got = Buffer.alloc(5);
  for (let n = 0; n < 5; ) n += await socks[2].read(got.subarray(n));
  assert.equal(got.toString(), 'hello');
  await p1.stop();
  const p2 = rp.add(a, c); // free again once the first pair ended
  await p2.stop();
  await rp.close();
  await Promise.all([...socks.map((s) => s.close()), server.close()]);
});

test('SendBuffer.commit() after the queue closed throws RingClosedError (its bytes were dropped without a word)', async (t) => {
  const ring = ringFor(t);
  const q = queueFor(t, ring, { count: 2, size: 16, incremental: false });
  if (!q) return;
  const b = q.acquire();
  b.bytes.write('late');
  await q.close();
  assert.throws(() => b.commit(4), (e: unknown) => e instanceof RingClosedError && /its 4 bytes are not sent/.test(e.message));
  assert.throws(() => b.commit(4), /committed or cancelled already/);
});
