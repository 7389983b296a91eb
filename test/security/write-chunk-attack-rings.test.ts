/**
 * Attacks on the ownership of provided buffers handed to sends (TcpSocket.write(chunk)), second
 * part: chunks across rings, rings closing under sends, ENOBUFS echo, listen() callbacks, closed
 * and incremental groups, a 2-entry SQ, close() under a linked chain. The promises attacked are
 * write-chunk-attack.test.ts's: a lent buffer goes back to its group once and only after the
 * kernel's last CQE for its send; JS never reads a lent or released chunk; writes reach the peer
 * in call order; nothing leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor } from '../helpers.js';
import { readExactly } from '../net-helpers.js';
import { Ring, TcpServer, TcpSocket, type ProvidedBuffer } from '../../src/index.js';
import { sleep, isReleased, gc, pair, chunkOf, fillSocket, readToEof, readAll, countByte } from './write-chunk-util.js';

test("a chunk of ring A's group written on ring B's socket: ring A (and its group) closing meanwhile does not change the bytes B's send reads", async (t) => {
  const ringA = ringFor(t);
  const ringB = ringFor(t);
  const gA = ringA.bufferGroup({ count: 1, size: 8192 });
  const gB = ringB.bufferGroup({ count: 4, size: 8192 });
  const a = await pair(ringA, gA);
  const b = await pair(ringB, gB);
  const data = Buffer.alloc(6000);
  for (let i = 0; i < data.length; i++) data[i] = 0x80 | (i & 0x7f);
  const c = await chunkOf(a.client, a.peer, data);
  const filler = await fillSocket(ringB, b.peer, b.client);
  const w = b.peer.write(c);
  await sleep(10);
  assert.equal(gA.outstanding, 1);
  await Promise.all([a.client.close(), a.peer.close(), a.server.close()]);
  await gA.close();
  await ringA.close();
  gc();
  await sleep(10);
  gc();
  const reading = readToEof(b.client);
  await w;
  await Promise.all(filler);
  await b.peer.close();
  const got = await reading;
  const mine = Buffer.from(got.filter((x) => x !== 2));
  assert.ok(mine.equals(data), 'the bytes sent are the ones received on ring A');
  assert.equal(gA.outstanding, 0);
  await Promise.all([b.client.close(), b.server.close()]);
  await gB.close();
});

test("a chunk of ring A's one-buffer group on ring B's socket, ring B closed while the send waits: back to A only after B's kernel let go, and A's next receive is not sent", async (t) => {
  const ringA = ringFor(t);
  const ringB = new Ring();
  t.after(() => ringB.close());
  const gA = ringA.bufferGroup({ count: 1, size: 8192 });
  const gB = ringB.bufferGroup({ count: 4, size: 8192 });
  const a = await pair(ringA, gA);
  const b = await pair(ringB, gB);
  const c = await chunkOf(a.client, a.peer, Buffer.alloc(4000, 0x41));
  const filler = await fillSocket(ringB, b.peer, b.client);
  const w = b.peer.write(c);
  await sleep(10);
  // keep B's client: read it with node's own fd afterwards? it is a ring B socket: take its bytes
  // through a fresh ring after B closes (the fd stays ours until close())
  const closing = ringB.close();
  await assert.rejects(w);
  assert.equal(gA.outstanding, 0);
  await closing;
  // A re-uses its only buffer now
  const c2 = await chunkOf(a.client, a.peer, Buffer.alloc(4000, 0x42));
  assert.equal(c2.id, c.id);
  c2.release();
  await Promise.all(filler);
  // read what reached B's client, through a third ring (B's sockets keep their fds until close())
  const ringC = ringFor(t);
  const reader = { read: (buf: Uint8Array) => ringC.recv(b.client.fd, buf, 0) };
  const peerFd = b.peer.fd;
  await b.peer.close(); // ring B is closed: a direct close(2)
  assert.ok(peerFd >= 0);
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    const n = await reader.read(buf);
    if (n === 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  const out = Buffer.concat(parts);
  assert.equal(countByte(out, 0x42), 0, "ring A's later receive never went out on ring B's send");
  await Promise.all([b.client.close(), b.server.close(), a.client.close(), a.peer.close(), a.server.close()]);
  await gA.close();
});

test('echo by write(chunk): 24 connections over a two-buffer group of 64 bytes (ENOBUFS all the time): every byte back in order, every buffer home', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 2, size: 64 });
  const server = await TcpServer.listen(ring, { port: 0, group });
  const N = 24;
  const echoes: Promise<void>[] = [];
  const peers: TcpSocket[] = [];
  const clients: TcpSocket[] = [];
  for (let i = 0; i < N; i++) {
    const acc = server.accept();
    clients.push(await TcpSocket.connect(ring, { port: server.address()!.port, noDelay: true }));
    const p = await acc;
    peers.push(p);
    echoes.push(
      new Promise<void>((resolve, reject) => {
        p.chunks().listen(
          (c) => void p.write(c as ProvidedBuffer).catch(reject),
          (err) => (err ? reject(err) : resolve()),
        );
      }),
    );
  }
  const msg = (i: number, k: number) => Buffer.from(`<${i}:${k}>`.padEnd(150, String.fromCharCode(97 + ((i + k) % 26))));
  await Promise.all(
    clients.map(async (c, i) => {
      for (let k = 0; k < 20; k++) {
        const m = msg(i, k);
        await c.write(m);
        const back = await readExactly(c, m.length);
        assert.ok(back.equals(m), `connection ${i} message ${k}`);
      }
      // a burst: 10 messages at once, back in order
      const burst = Array.from({ length: 10 }, (_, k) => msg(i, 100 + k));
      await Promise.all(burst.map((m) => c.write(m)));
      const back = await readExactly(c, 1500);
      assert.ok(back.equals(Buffer.concat(burst)), `connection ${i}: the burst came back in order`);
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(echoes);
  assert.equal(group.outstanding, 0);
  assert.equal(group.available, 2);
  await Promise.all([...peers.map((p) => p.close()), server.close()]);
  await group.close();
});

test('release() and write() from inside a listen callback: the chunk is handed over once; a release-then-write is refused and returns nothing twice', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 4, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const results: string[] = [];
  const writes: Promise<unknown>[] = [];
  let n = 0;
  const done = new Promise<void>((resolve) => {
    const st = peer.chunks();
    st.listen((item) => {
      const c = item as ProvidedBuffer;
      if (n++ === 0) {
        writes.push(peer.write(c));
        try {
          c.release();
          results.push('release ok');
        } catch (e) {
          results.push(isReleased(e) ? 'release refused' : String(e));
        }
      } else {
        c.release();
        writes.push(peer.write(c).then(() => results.push('write ok'), (e) => results.push(isReleased(e) ? 'write refused' : String(e))));
        st.close();
        resolve();
      }
    });
  });
  await client.write('one');
  assert.equal((await readExactly(client, 3)).toString(), 'one');
  await client.write('two');
  await done;
  await Promise.all(writes);
  assert.deepEqual(results, ['release refused', 'write refused']);
  assert.equal(group.outstanding, 0);
  assert.equal(group.available, 4, 'no buffer given back twice (available would exceed count)');
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('write(chunk) after its group closed: the bytes go out intact, the chunk counts as returned', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 2, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const data = Buffer.from('x'.repeat(50) + 'y'.repeat(50));
  const c = await chunkOf(client, peer, data);
  await group.close();
  gc();
  await peer.write(c);
  assert.ok((await readExactly(client, 100)).equals(data));
  assert.equal(group.outstanding, 0);
  await Promise.all([client.close(), peer.close(), server.close()]);
});

test('incremental group: pieces of one buffer forwarded while the kernel keeps filling the rest arrive intact and in order', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 2, size: 16384, incremental: true });
  if (group.kind !== 'incremental') {
    t.skip('no incremental groups on this kernel');
    await group.close();
    return;
  }
  const { server, client, peer } = await pair(ring, group);
  const writes: Promise<void>[] = [];
  let ids = new Set<number>();
  const st = peer.chunks();
  let got = 0;
  const total = 40 * 300;
  const forwarded = new Promise<void>((resolve, reject) => {
    st.listen((item) => {
      const c = item as ProvidedBuffer;
      ids.add(c.id);
      got += c.length;
      writes.push(peer.write(c).catch(reject));
      if (got === total) resolve();
    });
  });
  const sent: Buffer[] = [];
  for (let k = 0; k < 40; k++) {
    const m = Buffer.alloc(300, 0x41 + (k % 26));
    m.write(`#${k}#`);
    sent.push(m);
    await client.write(m);
    await sleep(0);
  }
  const back = await readExactly(client, total);
  await forwarded;
  await Promise.all(writes);
  st.close();
  assert.ok(back.equals(Buffer.concat(sent)), 'forwarded pieces intact, in order');
  assert.ok(ids.size <= 2);
  assert.equal(group.outstanding, 0);
  ids = new Set();
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('a ring of 2 SQ entries: 40 chunk writes queued behind a full socket go as short chains, in order, every chunk home', async (t) => {
  const ring = ringFor(t, { entries: 2 });
  const group = ring.bufferGroup({ count: 48, size: 2048 });
  const { server, client, peer } = await pair(ring, group);
  peer.zeroCopyThreshold = Infinity;
  const cs: ProvidedBuffer[] = [];
  const want: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const d = Buffer.alloc(1000 + i, 0x21 + i);
    cs.push(await chunkOf(client, peer, d));
  }
  const head = Buffer.alloc(256 << 10, 0x7e);
  const ws = [peer.write(head)];
  want.push(head);
  await sleep(20);
  for (let i = 0; i < 40; i++) {
    ws.push(peer.write(cs[i]));
    want.push(Buffer.alloc(1000 + i, 0x21 + i));
    if (i % 7 === 3) {
      const s = Buffer.from(`s${i}`);
      ws.push(peer.write(s));
      want.push(s);
    }
  }
  const all = Buffer.concat(want);
  const got = await readAll(client, all.length);
  await Promise.all(ws);
  assert.ok(got.equals(all), 'in call order');
  assert.equal(group.outstanding, 0);
  assert.equal(group.available, 48);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('close() while a chain of chunk writes is in flight, with more queued and one aborted: all settle, all chunks home, the peer got a prefix in order', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 32, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const cs: ProvidedBuffer[] = [];
  for (let i = 0; i < 24; i++) cs.push(await chunkOf(client, peer, Buffer.alloc(4000, 0x41 + i)));
  const filler = await fillSocket(ring, peer, client);
  const ac = new AbortController();
  const ws = cs.map((c, i) => peer.write(c, i === 12 ? { signal: ac.signal } : undefined));
  await sleep(10);
  ac.abort();
  const closing = peer.close();
  const outs = await Promise.allSettled(ws);
  await closing;
  assert.ok(outs.every((o) => o.status === 'rejected'), 'none completes: the peer reads nothing');
  assert.equal(group.outstanding, 0);
  assert.equal(group.available, 32);
  await ring.cancel({ fd: peer.fd }, { all: true }).catch(() => 0);
  await Promise.all(filler);
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    const n = await client.read(buf);
    if (n === 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  const out = Buffer.concat(parts).filter((x) => x !== 2);
  // whatever of the chunks went out is a prefix of them in order
  const seq = Buffer.concat(cs.map((_, i) => Buffer.alloc(4000, 0x41 + i)));
  assert.ok(Buffer.from(out).equals(seq.subarray(0, out.length)), `a prefix in order (${out.length} bytes)`);
  await Promise.all([client.close(), server.close()]);
  await group.close();
});

test('close() from inside a chunk callback, with that chunk and more writes queued: every write settles, the chunk comes home once, no fd left', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 4, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  peer.zeroCopyThreshold = Infinity;
  let writes: Promise<PromiseSettledResult<void>[]> | undefined;
  const closed = new Promise<void>((resolve) => {
    peer.chunks().listen((c) => {
      writes = Promise.allSettled([peer.write(Buffer.alloc(1 << 20, 1)), peer.write(c), peer.write('tail')]);
      void peer.close().then(resolve);
    });
  });
  await client.write('hello');
  await closed;
  const outcomes = await writes!;
  assert.equal(outcomes.length, 3);
  for (const o of outcomes) if (o.status === 'rejected') assert.match(String(o.reason), /the socket is closed|ECANCELED|EPIPE|ECONNRESET/);
  assert.equal(group.outstanding, 0, 'the chunk came home');
  assert.equal(group.available, 4);
  await Promise.all([client.close(), server.close()]);
  await group.close();
});
