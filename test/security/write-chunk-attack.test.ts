/**
 * Attacks on the ownership of provided buffers handed to sends (TcpSocket.write(chunk): lend() in
 * src/buffers/provided-buffer.ts, SocketWriter in src/net/writer.ts, BufferGroup's give-back in
 * src/buffers/buffer-group.ts). The promises attacked: a lent buffer goes back to its group once,
 * and only after the kernel's last CQE for its send (a one-buffer group makes the kernel re-use it
 * for the next receive at once, so a send still reading it would put the new bytes on the wire);
 * JS never reads a lent or released chunk; writes reach the peer in call order; nothing leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor } from '../helpers.js';
import { readExactly } from '../net-helpers.js';
import { settledWithin } from '../wait-util.js';
import { Ring, type ProvidedBuffer } from '../../src/index.js';
import { sleep, isReleased, fdCount, pair, chunkOf, fillSocket, drainAfterClose, readAll, countByte } from './write-chunk-util.js';
import { binding } from '../../src/native.js';
import { SOL, SO } from '../../src/ops/net-abi.js';

test('lent chunk: views (and subarrays) read before are detached, bytes/release throw, a second socket is refused, the first delivers', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 4, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const other = await pair(ring, group, server);
  const c = await chunkOf(client, peer, Buffer.from('secret-bytes'));
  const view = c.bytes;
  const sub = view.subarray(2, 6);
  const ab = view.buffer;
  const w = peer.write(c);
  assert.equal(view.length, 0);
  assert.equal(sub.length, 0, 'a subarray of the view is detached too');
  assert.equal(ab.byteLength, 0, 'its ArrayBuffer is detached');
  assert.throws(() => c.bytes, isReleased);
  assert.throws(() => c.release(), isReleased);
  assert.doesNotThrow(() => c[Symbol.dispose](), '`using` after lend does nothing');
  await assert.rejects(other.peer.write(c), isReleased);
  await assert.rejects(peer.write(c), isReleased);
  await w;
  assert.equal((await readExactly(client, 12)).toString(), 'secret-bytes');
  assert.equal(group.outstanding, 0, 'returned exactly once');
  assert.equal(group.available, 4);
  await Promise.all([client.close(), peer.close(), other.client.close(), other.peer.close(), server.close()]);
  await group.close();
});

test('write(chunk) with an already aborted signal: rejects at once, chunk back, nothing of it sent, later writes go', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 2, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const c = await chunkOf(client, peer, Buffer.alloc(100, 0x41));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(peer.write(c, { signal: ac.signal }), { name: 'AbortError' });
  assert.equal(c.released, true);
  assert.equal(group.outstanding, 0);
  await peer.write('after');
  assert.equal((await readExactly(client, 5)).toString(), 'after');
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('abort at various moments (same tick, next microtask, next macrotask, after settle): all-or-nothing, chunk back once', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 2, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const moments: (() => Promise<unknown>)[] = [async () => {}, () => Promise.resolve(), () => new Promise((r) => setImmediate(r)), () => sleep(5)];
  for (let i = 0; i < moments.length; i++) {
    const data = Buffer.alloc(1000, 0x61 + i);
    const c = await chunkOf(client, peer, data);
    const ac = new AbortController();
    const w = peer.write(c, { signal: ac.signal });
    await moments[i]();
    ac.abort();
    const outcome = await w.then(() => 'sent', (e: Error) => e.name);
    assert.ok(outcome === 'sent' || outcome === 'AbortError', `moment ${i}: ${outcome}`);
    assert.equal(group.outstanding, 0, `moment ${i}: the chunk is back`);
    await peer.write('|');
    const want = (outcome === 'sent' ? data.toString() : '') + '|';
    assert.equal((await readExactly(client, want.length)).toString(), want, `moment ${i}: ${outcome}: the peer got all of it or none`);
  }
  assert.equal(group.available, 2);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('a one-buffer group: after an aborted write(chunk) whose send waited for room, the kernel re-uses the buffer and the new bytes never reach the old send', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 1, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const c = await chunkOf(client, peer, Buffer.alloc(3000, 0x41));
  const filler = await fillSocket(ring, peer, client);
  const ac = new AbortController();
  const w = peer.write(c, { signal: ac.signal });
  await sleep(20);
  assert.equal(group.outstanding, 1, 'held while the send may read it');
  assert.equal(group.available, 0);
  ac.abort();
  await assert.rejects(w, { name: 'AbortError' });
  assert.equal(group.outstanding, 0);
  assert.equal(group.available, 1);
  // the kernel now receives new bytes into the very same buffer
  const c2 = await chunkOf(client, peer, Buffer.alloc(3000, 0x42));
  assert.equal(c2.id, c.id, 'the same buffer');
  assert.equal(c2.bytes[0], 0x42);
  c2.release();
  const out = await drainAfterClose(ring, peer, client, filler);
  assert.equal(countByte(out, 0x42), 0, 'the aborted send never read the buffer after it went back');
  assert.ok(countByte(out, 0x41) === 0, 'an aborted send waiting for room sent nothing');
  assert.equal(group.outstanding, 0);
  await Promise.all([client.close(), server.close()]);
  await group.close();
});

test('a one-buffer group: close() of the socket while a write(chunk) send waits, then the buffer is re-used by another connection: no new bytes on the old send', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 1, size: 4096 });
  const a = await pair(ring, group);
  const b = await pair(ring, group, a.server);
  const c = await chunkOf(a.client, a.peer, Buffer.alloc(3000, 0x41));
  const filler = await fillSocket(ring, a.peer, a.client);
  const more = [a.peer.write('queued-1'), a.peer.write(Buffer.alloc(10, 0x43))];
  const w = a.peer.write(c);
  await sleep(10);
  const fds = fdCount();
  const closing = a.peer.close();
  const outcomes = await Promise.allSettled([w, ...more]);
  assert.ok(outcomes.every((o) => o.status === 'rejected' && /the socket is closed/.test(String(o.reason))), 'every write rejects as closed');
  await closing;
  assert.equal(group.outstanding, 0);
  assert.ok(fdCount() <= fds - 1, 'the socket fd is closed');
  const c2 = await chunkOf(b.client, b.peer, Buffer.alloc(3000, 0x42));
  assert.equal(c2.id, c.id);
  c2.release();
  await ring.cancel({ fd: a.peer.fd }, { all: true }).catch(() => 0);
  await Promise.all(filler);
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    const n = await a.client.read(buf);
    if (n === 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  const out = Buffer.concat(parts);
  assert.equal(countByte(out, 0x42), 0, 'bytes received later for someone else never went out on the closed socket');
  assert.equal(countByte(out, 0x43), 0, 'writes queued behind never went');
  await Promise.all([a.client.close(), b.client.close(), b.peer.close(), a.server.close()]);
  await group.close();
});

test('writes mixing chunks, strings, copying and zero-copy Uint8Arrays queued behind a full socket arrive intact and in call order', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 8, size: 8192 });
  const { server, client, peer } = await pair(ring, group);
  peer.zeroCopyThreshold = 65536;
  const pieces: Buffer[] = [];
  const chunks: ProvidedBuffer[] = [];
  for (let i = 0; i < 6; i++) chunks.push(await chunkOf(client, peer, Buffer.alloc(5000 + i, 0x30 + i)));
  assert.equal(group.outstanding, 6);
  // the peer's send side fills behind the writer's back: the writes below all queue
  const first = Buffer.alloc(256 << 10, 0x61);
  const writes: Promise<void>[] = [peer.write(first)];
  pieces.push(first);
  await sleep(30);
  const ac = new AbortController(); // a signal never aborted: the write is not linkable
  const seq: (() => void)[] = [
    () => (pieces.push(Buffer.alloc(5000, 0x30)), writes.push(peer.write(chunks[0]))),
    () => (pieces.push(Buffer.from('str')), writes.push(peer.write('str'))),
    () => {
      const z = Buffer.alloc(100_000, 0x7a); // zero-copy
      pieces.push(z);
      writes.push(peer.write(z));
    },
    () => (pieces.push(Buffer.alloc(5001, 0x31)), writes.push(peer.write(chunks[1]))),
    () => (pieces.push(Buffer.alloc(5002, 0x32)), writes.push(peer.write(chunks[2], { signal: ac.signal }))),
    () => (pieces.push(Buffer.alloc(7, 0x62)), writes.push(peer.write(Buffer.alloc(7, 0x62)))),
    () => (pieces.push(Buffer.alloc(5003, 0x33)), writes.push(peer.write(chunks[3]))),
    () => (pieces.push(Buffer.alloc(5004, 0x34)), writes.push(peer.write(chunks[4]))),
    () => {
      const z = Buffer.alloc(70_000, 0x79);
      pieces.push(z);
      writes.push(peer.write(z));
    },
    () => (pieces.push(Buffer.alloc(5005, 0x35)), writes.push(peer.write(chunks[5]))),
  ];
  for (const s of seq) s();
  const want = Buffer.concat(pieces);
  const got = await readAll(client, want.length);
  await Promise.all(writes);
  assert.ok(got.equals(want), 'the peer read every write whole, in call order');
  assert.equal(group.outstanding, 0);
  assert.equal(group.available, 8);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('aborts of queued writes between linked ones: the aborted ones never go, the rest keep order, every chunk comes back', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 8, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  peer.zeroCopyThreshold = Infinity;
  const cs: ProvidedBuffer[] = [];
  for (let i = 0; i < 6; i++) cs.push(await chunkOf(client, peer, Buffer.alloc(3000, 0x41 + i)));
  // small fixed socket buffers: the head write really waits for room until the client reads (with
  // autotuned ones loopback may take it whole, and the writes behind it go at once)
  assert.equal(binding.sockSetInt(peer.fd, SOL.SOCKET, SO.SNDBUF, 4096), 0);
  assert.equal(binding.sockSetInt(client.fd, SOL.SOCKET, SO.RCVBUF, 4096), 0);
  const head = peer.write(Buffer.alloc(512 << 10, 0x7e)); // waits for room
  await sleep(20);
  const acs = cs.map(() => new AbortController());
  const ws = cs.map((c, i) => (i % 2 === 1 ? peer.write(c, { signal: acs[i].signal }) : peer.write(c)));
  const settled = Promise.allSettled(ws); // ws[5] rejects while the client reads
  acs[1].abort();
  await assert.rejects(ws[1], { name: 'AbortError' });
  assert.equal(group.outstanding, 5, 'the aborted one is back at once');
  acs[5].abort();
  const want = Buffer.concat([Buffer.alloc(512 << 10, 0x7e), ...[0, 2, 3, 4].map((i) => Buffer.alloc(3000, 0x41 + i))]);
  const got = await readAll(client, want.length);
  await head;
  const outs = await settled;
  assert.deepEqual(outs.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
  assert.ok(got.equals(want), 'in order, aborted writes absent');
  await peer.write('|');
  assert.equal((await readExactly(client, 1)).toString(), '|', 'nothing else was sent');
  assert.equal(group.outstanding, 0);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('ring.close() with write(chunk) sends in flight and a chain queued: every write settles, every chunk is accounted for, no fd left', async (t) => {
  const ring = new Ring();
  t.after(() => ring.close());
  const group = ring.bufferGroup({ count: 8, size: 4096 });
  const fds0 = fdCount();
  const { server, client, peer } = await pair(ring, group);
  const cs: ProvidedBuffer[] = [];
  for (let i = 0; i < 6; i++) cs.push(await chunkOf(client, peer, Buffer.alloc(2000, 0x41 + i)));
  const filler = await fillSocket(ring, peer, client);
  const ws = cs.map((c) => peer.write(c));
  ws.push(peer.write('tail'));
  await sleep(10);
  const closed = ring.close();
  const outs = await settledWithin(Promise.allSettled(ws), 3000); // (3 s × CPU_TIME_SCALE: a loaded TCG guest is slower)
  assert.notEqual(outs, 'pending', 'every write settles when the ring closes');
  assert.ok((outs as PromiseSettledResult<void>[]).every((o) => o.status === 'rejected'));
  await closed;
  await Promise.all(filler);
  assert.equal(group.outstanding, 0, 'every lent chunk was given back');
  await Promise.all([client.close(), peer.close(), server.close()]);
  assert.ok(fdCount() <= fds0, `no fds left (${fdCount()} vs ${fds0})`);
});

test('a Uint8Array transferred while its write waits for its turn: that write rejects (the builder refuses a detached buffer when the send is made), the writes around it go whole and in order', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 2, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  peer.zeroCopyThreshold = Infinity;
  const first = peer.write(Buffer.alloc(1 << 20, 0x7e)); // in flight: the next writes queue behind it
  const victim = Buffer.allocUnsafeSlow(4096).fill(0x62);
  const w = peer.write(victim);
  structuredClone(victim.buffer, { transfer: [victim.buffer as ArrayBuffer] }); // moved away before its send exists
  assert.equal(victim.length, 0);
  const after = peer.write('after');
  const got = await readAll(client, (1 << 20) + 5);
  await first;
  await assert.rejects(w, (e: unknown) => e instanceof TypeError && /detached/.test((e as Error).message));
  await after;
  assert.equal(countByte(got, 0x7e), 1 << 20);
  assert.equal(countByte(got, 0x62), 0);
  assert.equal(got.subarray(-5).toString(), 'after', 'nothing of the transferred buffer went out');
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});
