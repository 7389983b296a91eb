/**
 * TcpSocket.write(chunk): a received chunk sent straight from its provided buffer and handed over
 * (src/net/tcp.ts, lend() in src/buffers/provided-buffer.ts). The chunk has one owner at a time:
 * JS until the call, the send request until the kernel's last CQE for it, then its group again,
 * also when the write fails, is aborted, or the group closes meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor } from './helpers.js';
import { readExactly, groupPair as pair, fillRest } from './net-helpers.js';
import { firstChunk, sleep } from './security/write-chunk-util.js';
import { TcpSocket, BufferStateError, type Ring, type ProvidedBuffer } from '../src/index.js';




/** Raw sends (not through a TcpSocket's writer) until one waits for room; their settled promises. */
async function fillSocket(ring: Ring, fd: number): Promise<Promise<unknown>[]> {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < 4096; i++) {
    const p = ring.send(fd, Buffer.alloc(65536, 2));
    sends.push(p.catch((e: unknown) => e));
    if (!(await Promise.race([p.then(() => true, () => true), sleep(20).then(() => false)]))) {
      await fillRest(ring, fd); // (the last send may only have been slow: see fillRest)
      return sends;
    }
  }
  throw new Error('the socket never filled');
}

const isReleased = (e: unknown) => e instanceof BufferStateError && e.code === 'ERR_BUFFER_RELEASED';

test('echo by write(chunk): 2,000 messages come back in order from 16 buffers; every chunk ends in its group', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  let written = 0;
  const echoed = new Promise<void>((resolve, reject) => {
    peer.chunks().listen((c) => {
      written += (c as ProvidedBuffer).length;
      peer.write(c as ProvidedBuffer).catch(reject);
    }, (err) => (err ? reject(err) : resolve()));
  });
  const msg = (i: number) => Buffer.from(`message ${i} `.padEnd(100, String.fromCharCode(97 + (i % 26))));
  let expect = 0;
  for (let i = 0; i < 2000; i++) {
    const m = msg(i);
    await client.write(m);
    expect += m.length;
    if (i % 100 === 99) {
      const back = await readExactly(client, 100 * 100);
      const want = Buffer.concat(Array.from({ length: 100 }, (_, k) => msg(i - 99 + k)));
      assert.ok(back.equals(want), `messages ${i - 99}..${i} came back as sent`);
    }
  }
  assert.equal(peer.bytesWritten, expect);
  assert.equal(written, expect);
  await client.close();
  await echoed;
  assert.equal(group.outstanding, 0, 'no chunk left out of the group');
  assert.equal(group.available, 16);
  await Promise.all([peer.close(), server.close()]);
  await group.close();
});

test('a chunk handed to write() is released for JS: bytes and release() throw, an earlier view reads nothing, a second write is refused', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  const got = firstChunk(peer);
  await client.write('hello, chunk');
  const c = await got;
  const view = c.bytes;
  assert.equal(view.toString(), 'hello, chunk');
  assert.equal(group.outstanding, 1);
  const w = peer.write(c);
  assert.equal(c.released, true);
  assert.equal(c.length, 0);
  assert.equal(view.length, 0, 'the view read before the write is detached');
  assert.throws(() => c.bytes, isReleased);
  assert.throws(() => c.release(), isReleased);
  await assert.rejects(peer.write(c), isReleased);
  await w;
  assert.equal((await readExactly(client, 12)).toString(), 'hello, chunk');
  assert.equal(group.outstanding, 0);
  // a released chunk cannot be written either
  const got2 = firstChunk(peer);
  await client.write('again');
  const c2 = await got2;
  c2.release();
  await assert.rejects(peer.write(c2), isReleased);
  assert.equal(group.outstanding, 0);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('write(chunk) that fails still gives the chunk back: a closed socket, an aborted send (after the kernel let go)', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  // closed socket: the write is refused and the chunk is back at once
  const got = firstChunk(peer);
  await client.write('x'.repeat(100));
  const c = await got;
  const other = await TcpSocket.connect(ring, { port: server.address()!.port });
  await other.close();
  await assert.rejects(other.write(c), /the socket is closed/);
  assert.equal(c.released, true);
  assert.equal(group.outstanding, 0);

  // aborted while another write is ahead of it: settles at once, nothing of it sent
  const got2 = firstChunk(peer);
  await client.write('y'.repeat(4000));
  const c2 = await got2;
  peer.zeroCopyThreshold = Infinity;
  const ahead = peer.write(Buffer.alloc(32 << 20, 1)).catch((e: unknown) => e); // the client reads nothing: this waits
  const ac = new AbortController();
  const w = peer.write(c2, { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(group.outstanding, 1);
  ac.abort();
  await assert.rejects(w, { name: 'AbortError' });
  assert.equal(group.outstanding, 0, 'back in the group at once: its send never started');

  await client.close();
  await peer.close();
  await ahead;
  await server.close();
  await group.close();
});

test('write(chunk) aborted while its own send waits for room: settles when the kernel ended the send, then the chunk is back', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  const got3 = firstChunk(peer);
  await client.write('z'.repeat(4000));
  const c3 = await got3;
  // the socket fills behind the writer's back (a raw send the client never reads), so the chunk's
  // own send is the one that waits
  const filler = await fillSocket(ring, peer.fd);
  const ac3 = new AbortController();
  const w3 = peer.write(c3, { signal: ac3.signal });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(group.outstanding, 1, 'the send holds the chunk while the kernel may read it');
  const inflight = ring.stats().inflight;
  ac3.abort();
  await assert.rejects(w3, { name: 'AbortError' });
  assert.equal(group.outstanding, 0, 'back in the group once the send ended');
  assert.ok(ring.stats().inflight < inflight, 'the send had ended when the write settled');
  await client.close();
  await peer.close();
  await Promise.all(filler);
  await server.close();
  await group.close();
});

test('writes reach the peer in call order: eight concurrent 8 MiB writes (copying and zero-copy), and end() after them', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  for (const zc of [false, true]) {
    peer.zeroCopyThreshold = zc ? 65536 : Infinity;
    const N = 8 << 20;
    const writes = Array.from({ length: 8 }, (_, k) => peer.write(Buffer.alloc(N, 65 + k)));
    await new Promise((r) => setTimeout(r, 50)); // let the socket fill: sends now wait for room
    const b = Buffer.alloc(1 << 16);
    let got = 0;
    const runs: number[] = [];
    while (got < 8 * N) {
      const n = await client.read(b);
      for (let i = 0; i < n; i++) if (runs[runs.length - 1] !== b[i]) runs.push(b[i]);
      got += n;
    }
    await Promise.all(writes);
    assert.deepEqual(runs, [65, 66, 67, 68, 69, 70, 71, 72], `${zc ? 'zero-copy' : 'copying'} writes arrived in call order`);
  }
  // end() sends its FIN after the writes queued before it
  peer.zeroCopyThreshold = Infinity;
  const last = [peer.write(Buffer.alloc(4 << 20, 7)), peer.write('tail')];
  const ending = peer.end();
  const all: Buffer[] = [];
  for await (const part of client) all.push(part);
  await Promise.all([...last, ending]);
  const data = Buffer.concat(all);
  assert.equal(data.length, (4 << 20) + 4);
  assert.equal(data.subarray(-4).toString(), 'tail');
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test("the group closing while write(chunk)'s send waits: the bytes still go out whole (the send holds the memory)", async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring, 4, 65536);
  const got = firstChunk(peer);
  const data = Buffer.alloc(60_000);
  for (let i = 0; i < data.length; i++) data[i] = 0x80 | (i & 0x7f); // never 2, the filler's byte
  await client.write(data);
  const c = await got; // may hold only part of the data
  const n = c.length;
  const filler = await fillSocket(ring, peer.fd);
  const w = peer.write(c);
  await sleep(20);
  await group.close();
  if (typeof globalThis.gc === 'function') globalThis.gc();
  await sleep(20);
  if (typeof globalThis.gc === 'function') globalThis.gc();
  // read everything: the filler's bytes (2) and the chunk's, in whatever order the kernel sent them
  const mine: number[] = [];
  const b = Buffer.alloc(1 << 16);
  let settled = false;
  const all = Promise.all([w, ...filler]).then(() => (settled = true));
  while (!settled || mine.length < n) {
    const r = await client.read(b);
    if (r === 0) break;
    for (let i = 0; i < r; i++) if (b[i] !== 2) mine.push(b[i]);
    if (mine.length >= n) await Promise.race([all, sleep(10)]);
  }
  await all;
  assert.ok(Buffer.from(mine).equals(data.subarray(0, n)), 'the forwarded bytes are the ones received, sent after the group closed');
  await Promise.all([client.close(), peer.close(), server.close()]);
});

test('close() with writes queued behind a send the peer never lets finish: every write rejects "the socket is closed", no stack grows with 100,000 of them', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  peer.zeroCopyThreshold = Infinity;
  const first = peer.write(Buffer.alloc(64 << 20, 1)); // the client reads nothing: this send waits
  await sleep(50);
  const small = Buffer.from('x');
  const queued = Array.from({ length: 100_000 }, () => peer.write(small));
  const outcomes = Promise.allSettled([first, ...queued]);
  await peer.close();
  const all = await outcomes;
  assert.ok(all.every((o) => o.status === 'rejected' && /the socket is closed/.test(String((o as PromiseRejectedResult).reason))), 'every write rejected as closed');
  await assert.rejects(peer.write('late'), /the socket is closed/);
  await Promise.all([client.close(), server.close()]);
  await group.close();
});
