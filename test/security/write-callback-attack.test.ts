/**
 * Attacks on TcpSocket.write(data, callback) (src/net/tcp.ts, src/net/writer.ts), on the one
 * request a socket reuses for its lone chunk sends (SocketWriter#loneSend, Sqe.retarget() in
 * src/ops/sqe.ts) and on the 256 x 64 KiB default group (src/net/recv-group.ts), as a careless
 * user and as an adversarial peer. The promises attacked: a write callback is called exactly once,
 * with no argument or with the error the promise would have rejected with; never inside write() or
 * the caller's abort(); what it throws is an uncaught exception later, never an exception inside the
 * ring's completion handling; callback and promise writes keep call order; a callback may write
 * again, close the socket or the ring; one lone send in flight per socket (the bytes on the wire
 * are exactly what was written, once); every chunk goes home, no fd is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ringFor, CPU_TIME_SCALE } from '../helpers.js';
import { readExactly } from '../net-helpers.js';
import { Ring, TcpServer, RingError, type ProvidedBuffer, type RecvChunk } from '../../src/index.js';
import { binding } from '../../src/native.js';
import { SOL, SO } from '../../src/ops/net-abi.js';
import { Sqe } from '../../src/ops/sqe.js';
import { sleep, isReleased, fdCount, pair, chunkOf, readToEof } from './write-chunk-util.js';
import { Callbacks, collect, unique, isClosedError, split, smallBuffers, fillUp } from './write-callback-util.js';
test('the same chunk written twice with callbacks (same socket, another socket, a promise write between): the first delivers once, the others hear ERR_BUFFER_RELEASED on a microtask', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 4, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const other = await pair(ring, group, server);
  const cbs = new Callbacks();
  for (let round = 0; round < 20; round++) {
    const data = unique(round, 100 + round * 37);
    const c = await chunkOf(client, peer, data);
    cbs.during(() => {
      peer.write(c, cbs.cb(`first ${round}`));
      other.peer.write(c, cbs.cb(`other socket ${round}`));
      peer.write(c, cbs.cb(`same socket ${round}`));
      peer.write(c, { signal: new AbortController().signal }, cbs.cb(`with options ${round}`));
    });
    const promised = peer.write(c).then(
      () => 'resolved',
      (e: unknown) => (isReleased(e) ? 'released' : String(e)),
    );
    assert.deepEqual(await cbs.of(`first ${round}`), [], 'the first write succeeded');
    for (const n of ['other socket', 'same socket', 'with options']) {
      const [e] = await cbs.of(`${n} ${round}`);
      assert.ok(isReleased(e), `${n}: ERR_BUFFER_RELEASED, got ${String(e)}`);
    }
    assert.equal(await promised, 'released');
    assert.ok((await readExactly(client, data.length)).equals(data), `round ${round}: the bytes once`);
  }
  await cbs.all();
  // nothing more on either socket: a sentinel is the next thing each client reads
  await peer.write('|');
  await other.peer.write('|');
  assert.equal((await readExactly(client, 1)).toString(), '|');
  assert.equal((await readExactly(other.client, 1)).toString(), '|');
  assert.equal(group.outstanding, 0);
  assert.equal(group.available, 4);
  await Promise.all([client.close(), peer.close(), other.client.close(), other.peer.close(), server.close()]);
  await group.close();
});

test('a callback that writes or releases the chunk it was just handed (one-buffer group, the buffer re-filled meanwhile): refused, the new bytes never go out through the old chunk', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 1, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const cbs = new Callbacks();
  const seen: string[] = [];
  const stream = peer.chunks();
  const received: ProvidedBuffer[] = [];
  const taking = (async () => {
    let taken = 0;
    for await (const c of stream) {
      received.push(c as ProvidedBuffer);
      if (++taken === 11) break; // 6 written back, 5 received into the same buffer after them
    }
  })();
  const expected: Buffer[] = [];
  for (let i = 0; i < 6; i++) {
    const data = unique(100 + i, 1000 + i);
    await client.write(data);
    while (received.length <= i) await sleep(1);
    const c = received[i];
    assert.equal(c.id, 0, 'the one buffer');
    expected.push(data);
    const next = unique(200 + i, 900); // what the kernel will put in the same buffer next
    cbs.during(() =>
      peer.write(
        c,
        cbs.cb(`write ${i}`, (err) => {
          assert.equal(err, undefined);
          // careless: the chunk was handed over; it is gone
          try {
            c.release();
            seen.push('release did not throw');
          } catch (e) {
            seen.push(isReleased(e) ? 'release refused' : String(e));
          }
          try {
            void c.bytes;
            seen.push('bytes readable');
          } catch (e) {
            seen.push(isReleased(e) ? 'bytes refused' : String(e));
          }
          // and written again, after the buffer went back (the next receive may already sit in it)
          peer.write(c, cbs.cb(`rewrite ${i}`));
          void client.write(next);
        }),
      ),
    );
    const [again] = await cbs.of(`rewrite ${i}`);
    assert.ok(isReleased(again), `the rewrite is refused: ${String(again)}`);
    // the receive of `next` goes into buffer 0 again; let the loop take it (it is not echoed)
    while (received.length <= i + 1 && i < 5) await sleep(1);
    if (i < 5) {
      const n = received[i + 1];
      assert.ok(Buffer.from(n.bytes).equals(next));
      n.release();
      received.splice(i + 1, 1);
    }
  }
  stream.close();
  await taking.catch(() => {});
  await cbs.all();
  assert.deepEqual(seen, Array.from({ length: 6 }, () => ['release refused', 'bytes refused']).flat());
  await peer.write('|');
  const want = Buffer.concat([...expected, Buffer.from('|')]);
  assert.ok((await readExactly(client, want.length)).equals(want), 'each chunk once, nothing of the later receives');
  assert.equal(group.outstanding, 0);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('callback writes mixed with zero-copy writes, promise writes and linked runs behind a busy socket, more written from inside callbacks: exact bytes in call order, each callback once', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 16, size: 8192 });
  const { server, client, peer } = await pair(ring, group);
  peer.zeroCopyThreshold = 2048; // strings and views from 2 KiB go zero-copy (not linkable)
  smallBuffers(peer, client, 32768);
  const chunks: ProvidedBuffer[] = [];
  const chunkData: Buffer[] = [];
  for (let i = 0; i < 10; i++) {
    const d = unique(300 + i, 3000 + i * 11);
    chunkData.push(d);
    chunks.push(await chunkOf(client, peer, d));
  }
  const cbs = new Callbacks();
  const order: Buffer[] = [];
  const promises: Promise<void>[] = [];
  const big = unique(1, 256 << 10);
  order.push(big);
  cbs.during(() => peer.write(big, cbs.cb('big')));
  await sleep(20); // its send waits for room: everything below queues
  let k = 0;
  for (let round = 0; round < 10; round++) {
    const small = unique(400 + round, 50 + round);
    const zc = unique(500 + round, 3000 + round);
    const str = `<string ${round}>`;
    cbs.during(() => {
      order.push(chunkData[round]);
      peer.write(chunks[round], cbs.cb(`chunk ${round}`, () => {
        // from the callback: one more write, which joins the queue after everything written so far
        const tail = unique(600 + round, 20 + round);
        order.push(tail);
        peer.write(tail, cbs.cb(`from callback ${round}`));
      }));
      order.push(small);
      peer.write(small, cbs.cb(`small ${round}`));
      order.push(zc);
      peer.write(zc, cbs.cb(`zero-copy ${round}`));
      order.push(Buffer.from(str));
      promises.push(peer.write(str));
      order.push(Buffer.from(str + '!'));
      peer.write(str + '!', { signal: new AbortController().signal }, cbs.cb(`with signal ${round}`));
      k++;
    });
  }
  // the client reads as things go (the callbacks append while it reads): 'big' and 5 callbacks a round
  const reader = collect(client);
  const total = () => order.reduce((n, b) => n + b.length, 0);
  const deadline = Date.now() + 8000;
  while ((reader.length < total() || cbs.outcomes.size < 1 + 5 * 10) && Date.now() < deadline) await sleep(5);
  const outcomes = await cbs.all();
  await Promise.all(promises);
  for (const [name, args] of outcomes) assert.deepEqual(args, [], `${name} succeeded`);
  await sleep(20); // a duplicate would have come by now
  const got = reader.bytes();
  void reader.stop();
  const want = Buffer.concat(order);
  assert.equal(got.length, want.length, 'as many bytes as written');
  assert.ok(got.equals(want), 'every write once, whole, in call order');
  assert.equal(group.outstanding, 0);
  assert.equal(group.available, 16);
  assert.equal(k, 10);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

// ------------------------------------------------------------------------------------------ adversarial peer

test('a peer that resets mid-stream while an echo by write(chunk, cb) runs linked chains and its callbacks write again: each callback once, the writes after the reset fail, the ring serves another socket', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 32, size: 4096 });
  const server = await TcpServer.listen(ring, { port: 0, group });
  const cbs = new Callbacks();
  let chunks = 0;
  let afterError = 0;
  const streamDone = new Promise<Error | undefined>((resolve) => {
    void server.accept().then((sock) => {
      sock.zeroCopyThreshold = Infinity;
      assert.equal(binding.sockSetInt(sock.fd, SOL.SOCKET, SO.SNDBUF, 4096), 0); // a small send buffer: chains form, the group fills
      sock.chunks().listen(
        (c) => {
          const i = chunks++;
          cbs.during(() =>
            sock.write(
              c,
              cbs.cb(`echo ${i}`, (err) => {
                if (err === undefined) sock.write(`+${i}`, cbs.cb(`ack ${i}`));
                else if (afterError++ < 50) sock.write(c as never, cbs.cb(`rewrite after error ${i}`)); // the chunk: released
              }),
            ),
          );
        },
        (err) => {
          resolve(err);
          void sock.close();
        },
      );
    });
  });
  // the peer: sends much, reads little, then resets (RST: SO_LINGER 0)
  const peerSock = net.connect(server.address()!.port, '127.0.0.1');
  t.after(() => void peerSock.destroy()); // (paused, it would hold the test file's loop after a failure)
  await new Promise((r) => peerSock.once('connect', r));
  peerSock.pause();
  const nodeFd = (peerSock as unknown as { _handle: { fd: number } })._handle.fd;
  assert.equal(binding.sockSetInt(nodeFd, SOL.SOCKET, SO.RCVBUF, 4096), 0); // it reads nothing: the echo fills its window at once
  const block = unique(7, 4 << 20);
  peerSock.write(block);
  peerSock.on('error', () => {});
  // (a loaded TCG guest may take long to accept and receive: wait for the first chunk, not a fixed time)
  for (let i = 0; i < 400 && chunks === 0; i++) await sleep(25 * CPU_TIME_SCALE);
  assert.ok(chunks > 0, 'the server received something');
  await sleep(200); // the echo runs on: chains form, the group fills
  peerSock.resetAndDestroy();
  const err = await streamDone;
  assert.ok(err === undefined || err instanceof RingError, `the stream ended: ${String(err)}`);
  const outcomes = await cbs.all();
  let failed = 0;
  for (const [name, [e]] of outcomes) {
    if (name.startsWith('rewrite')) assert.ok(isReleased(e), `${name}: a handed-over chunk is refused`);
    else if (e !== undefined) {
      failed++;
      assert.ok(e instanceof RingError, `${name}: ${String(e)}`);
      assert.match(e.message, /ECONNRESET|EPIPE|the socket is closed|ECANCELED/);
    }
  }
  assert.ok(failed > 0, `some writes met the reset: ${chunks} chunks, ${[...outcomes].map(([n, [e]]) => `${n}=${String(e)}`).join(', ')}`);
  assert.equal(group.outstanding, 0, 'every chunk home');
  // the ring goes on serving
  const { client, peer } = await pair(ring, group, server);
  const echoed = new Promise<void>((resolve) => peer.chunks().listen((c) => peer.write(c, () => resolve())));
  const d = unique(8, 3000);
  await client.write(d);
  assert.ok((await readExactly(client, d.length)).equals(d));
  await echoed;
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('large chunks through lone sends that come back short (a tiny send buffer): the reused request is re-pointed at the rest each time, the echo is byte-exact', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 8, size: 65536 });
  const { server, client, peer } = await pair(ring, group);
  assert.equal(binding.sockSetInt(peer.fd, SOL.SOCKET, SO.SNDBUF, 4096), 0); // a 64 KiB send never fits at once
  const cbs = new Callbacks();
  // count the re-pointings of the socket's one lone-send request: more than chunks = short sends resumed
  let retargets = 0;
  const original = Sqe.prototype.retarget;
  Sqe.prototype.retarget = function (this: Sqe, ...a: Parameters<Sqe['retarget']>) {
    retargets++;
    return original.apply(this, a);
  };
  t.after(() => void (Sqe.prototype.retarget = original));
  // one write at a time (the next from the previous one's callback): every send is the lone one
  let i = 0;
  const waiting: RecvChunk[] = [];
  let busy = false;
  const next = (): void => {
    const c = waiting.shift();
    if (!c) return void (busy = false);
    busy = true;
    const n = i++;
    cbs.during(() => peer.write(c, cbs.cb(`echo ${n}`, next)));
  };
  peer.chunks().listen((c) => {
    waiting.push(c);
    if (!busy) next();
  });
  const total = 3 << 20;
  const data = unique(9, total);
  const sending = (async () => {
    for (let at = 0; at < total; at += 65536) await client.write(data.subarray(at, at + 65536));
  })();
  const back = await readExactly(client, total);
  await sending;
  assert.ok(back.equals(data), 'every byte back, in order, once');
  const outcomes = await cbs.all();
  for (const [name, a] of outcomes) assert.deepEqual(a, [], name);
  assert.equal(peer.bytesWritten, total);
  assert.ok(retargets > i, `short sends were resumed through the reused request (${retargets} sends for ${i} chunks)`);
  assert.equal(group.outstanding, 0);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

/** Raw sends of 4 KiB (byte 2) on `peer` until one finds no room; that one is cancelled: the socket is full. Bytes the kernel took. */
test('abort of a lone chunk send waiting for room, then a new chunk written from its callback, five rounds: the peer reads at most a prefix of the old one, then the new one whole (the reused request re-pointed only after the old send ended)', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 4, size: 65536 });
  const { server, client, peer } = await pair(ring, group);
  smallBuffers(peer, client);
  for (let round = 0; round < 5; round++) {
    const old = unique(10 + round, 3000 + round);
    const fresh = unique(20 + round, 2500 + round);
    const c1 = await chunkOf(client, peer, old);
    const c2 = await chunkOf(client, peer, fresh);
    assert.equal(binding.sockSetInt(client.fd, SOL.SOCKET, SO.RCVBUF, 4096), 0);
    const filled = await fillUp(ring, peer);
    const cbs = new Callbacks();
    const ac = new AbortController();
    const before = peer.bytesWritten;
    // c1 is the lone send, waiting for room the client does not make
    peer.write(c1, { signal: ac.signal }, cbs.cb('aborted', () => peer.write(c2, cbs.cb('fresh'))));
    await sleep(10);
    ac.abort(); // (whether its callback may run inside abort() is another test's)
    const [e] = await cbs.of('aborted');
    // (a kernel that found room for it before the abort, as Debian's 6.1 can after the filler's cancel, sent it whole)
    const sentWhole = e === undefined;
    if (!sentWhole) assert.equal((e as Error)?.name, 'AbortError', `round ${round}: ${String(e)}`);
    assert.equal(binding.sockSetInt(client.fd, SOL.SOCKET, SO.RCVBUF, 1 << 20), 0); // (reads faster)
    const reader = collect(client);
    assert.deepEqual(await cbs.of('fresh'), []);
    await peer.write('|');
    const want = filled + peer.bytesWritten - before;
    for (let i = 0; i < 1000 && reader.length < want; i++) await sleep(5);
    await sleep(10);
    const got = reader.bytes();
    assert.equal(got.length, want, `round ${round}: the peer read what the kernel took, no more`);
    assert.ok(got.subarray(0, filled).every((x) => x === 2), 'the filler first');
    const k = got.length - filled - fresh.length - 1;
    assert.ok(k >= 0 && (sentWhole ? k === old.length : k < old.length), `round ${round}: ${sentWhole ? 'the old chunk whole' : 'at most a part of the old chunk'} went (${k} bytes)`);
    assert.ok(got.subarray(filled, filled + k).equals(old.subarray(0, k)), 'that part is a prefix of the old chunk');
    assert.ok(got.subarray(filled + k).equals(Buffer.concat([fresh, Buffer.from('|')])), 'then the new chunk whole, then the sentinel');
    await cbs.all();
    assert.equal(group.outstanding, 0);
    // the reader's last read is still pending: end it with a byte it takes and drops
    void reader.stop();
    await peer.write('#');
    await sleep(5);
  }
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

// ------------------------------------------------------------------------------------------ closing from callbacks

type Stage = 'lone' | 'linked' | 'zero-copy' | 'aborted' | 'refused';
type Action = 'socket' | 'ring' | 'group';

for (const stage of ['lone', 'linked', 'zero-copy', 'aborted', 'refused'] as Stage[]) {
  for (const action of ['socket', 'ring', 'group'] as Action[]) {
    test(`${action}.close() from the callback of a ${stage} write, chunks and strings queued after it: each callback once, chunks home, the client got a prefix in order`, async (t) => {
      const ring = new Ring({ entries: 64 });
      t.after(() => ring.close());
      const clientRing = ringFor(t);
      const group = ring.bufferGroup({ count: 8, size: 4096 });
      const { server, client, peer } = await split(ring, clientRing, group);
      peer.zeroCopyThreshold = stage === 'zero-copy' ? 1000 : Infinity;
      const datas = [unique(20, 1500), unique(21, 1600), unique(22, 1700)];
      const cs: ProvidedBuffer[] = [];
      for (const d of datas) cs.push(await chunkOf(client, peer, d));
      const cbs = new Callbacks();
      const fdsBefore = fdCount();
      let closing: Promise<void> | undefined;
      const act = () => {
        closing = action === 'socket' ? peer.close() : action === 'ring' ? ring.close() : group.close();
      };
      const written: Buffer[] = []; // in call order
      const busyFirst = stage === 'linked' || stage === 'aborted';
      if (busyFirst) {
        // a small send buffer, a client that reads nothing yet: this send waits, the rest queues
        assert.equal(binding.sockSetInt(peer.fd, SOL.SOCKET, SO.SNDBUF, 4096), 0);
        const big = unique(23, 4 << 20);
        written.push(big);
        peer.write(big, cbs.cb('big'));
        await sleep(20);
      }
      const ac = new AbortController();
      cbs.during(() => {
        if (stage === 'zero-copy') {
          const z = unique(24, 5000);
          written.push(z);
          peer.write(z, cbs.cb('trigger', act));
          written.push(datas[0]);
          peer.write(cs[0], cbs.cb('chunk 0'));
        } else if (stage === 'refused') {
          peer.write(cs[0], { signal: AbortSignal.abort() }, cbs.cb('trigger', act));
        } else if (stage === 'aborted') {
          peer.write(cs[0], { signal: ac.signal }, cbs.cb('trigger', act));
        } else {
          written.push(datas[0]);
          peer.write(cs[0], cbs.cb('trigger', act));
        }
        for (let i = 1; i < 3; i++) {
          written.push(datas[i]);
          peer.write(cs[i], cbs.cb(`chunk ${i}`));
          const s = `[after ${i}]`;
          written.push(Buffer.from(s));
          peer.write(s, cbs.cb(`string ${i}`));
        }
      });
      if (stage === 'aborted') cbs.during(() => ac.abort());
      const reading = readToEof(client).catch((e: unknown) => e);
      const outcomes = await cbs.all();
      await closing;
      if (action !== 'socket') await peer.close().catch(() => {});
      const got = await reading;
      assert.ok(Buffer.isBuffer(got), `the client read to its end: ${String(got)}`);
      const want = Buffer.concat(written);
      assert.ok(want.subarray(0, got.length).equals(got), `the client got a prefix of the writes in call order (${got.length} of ${want.length})`);
      const heardNames = [...outcomes.keys()];
      for (const [name, [e]] of outcomes) {
        if (name === 'trigger' && (stage === 'aborted' || stage === 'refused')) assert.equal((e as Error)?.name, 'AbortError', `${name}: ${String(e)}`);
        else assert.ok(e === undefined || isClosedError(e) || (e instanceof RingError && /ECANCELED|EBADF|EPIPE/.test(e.message)), `${name}: sent or refused as closed: ${String(e)}`);
      }
      if (action === 'group') {
        // nothing closed but the group: every write after the trigger goes out whole
        for (const [name, [e]] of outcomes) if (!(name === 'trigger' && (stage === 'aborted' || stage === 'refused'))) assert.equal(e, undefined, name);
        assert.equal(got.length, want.length, 'all of it');
      }
      assert.equal(heardNames.length, busyFirst || stage === 'zero-copy' ? 6 : 5);
      assert.equal(group.outstanding, 0, 'every chunk home');
      for (const c of cs) assert.equal(c.released, true);
      await server.close().catch(() => {});
      await ring.close();
      await group.close();
      assert.ok(fdCount() <= fdsBefore - 1, 'the socket (and with the ring its fds) closed');
      await client.close();
    });
  }
}

// ------------------------------------------------------------------------------------------ load

