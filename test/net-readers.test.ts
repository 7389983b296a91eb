// A TcpSocket's readers (src/net/socket-reader.ts) and its end(): one reader at a time (a second
// chunks() or a read() beside a live chunks() is EBUSY: two multishot recvs split the data in no
// order); a chunks() stream left by break/close() keeps what it had not handed out, and what the
// kernel posted before the recv's cancel took, for the next reader, in order: no byte lost; a
// write() after end() is refused naming end(), and end() twice is one shutdown.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { ringFor, CPU_TIME_SCALE } from './helpers.js';
import { readExactly, nodeClientPair } from './net-helpers.js';

/** Every test bounded: a reader that waits for bytes that went elsewhere fails here, not by hanging the suite. */
const BOUND = { timeout: 30_000 * CPU_TIME_SCALE };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/**
 * A chunks() stream gets one chunk per letter of `letters` (100 bytes each, written with pauses),
 * hands out the first and is closed: the rest are kept for the next reader. What it handed out, and
 * the client's fd (writeSync() puts bytes in the socket at once).
 */
async function keptChunks(t: TestContext, letters: string) {
  const ring = ringFor(t);
  const { peer, client } = await nodeClientPair(t, ring);
  const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
  const a = peer.chunks({ highWater: 16 });
  await sleep(20);
  for (const ch of letters) {
    writeSync(fd, ch.repeat(100)); // one CQE each
    await sleep(20);
  }
  const first = (await a.next()).value!;
  const got = [Buffer.from(first.bytes)];
  first.release();
  a.close(); // the rest kept
  await sleep(20);
  return { peer, fd, got };
}
const lettered = (letters: string) => letters.replace(/./g, (ch) => ch.repeat(100));

test('a second chunks() or a read() while a chunks() stream is live: EBUSY, naming what to do; once it is closed, both work', BOUND, async (t) => {
  const ring = ringFor(t);
  const { peer, client } = await nodeClientPair(t, ring);
  const s = peer.chunks();
  assert.throws(() => peer.chunks(), { name: 'RingError', code: 'EBUSY', message: /chunks: .*a chunks\(\) stream is reading this socket: close\(\) it/ });
  await assert.rejects(peer.read(Buffer.alloc(4)), { name: 'RingError', code: 'EBUSY', message: /^read: / });
  client.write('one');
  const c = (await s.next()).value!;
  assert.equal(Buffer.from(c.bytes).toString(), 'one');
  c.release();
  s.close();
  client.write('two');
  assert.equal((await readExactly(peer, 3)).toString(), 'two');
  const s2 = peer.chunks();
  client.write('three');
  const c2 = (await s2.next()).value!;
  assert.equal(Buffer.from(c2.bytes).toString(), 'three');
  c2.release();
  s2.close();
  // and a chunks() while a read() waits
  const reading = peer.read(Buffer.alloc(8));
  assert.throws(() => peer.chunks(), { code: 'EBUSY', message: /chunks: .*a read\(\) is under way on this socket/ });
  client.write('four');
  assert.equal(await reading, 4);
  peer.chunks().close();
});

test('break out of chunks() with chunks queued and more arriving: the next read()/chunks() gets every byte, in order', BOUND, async (t) => {
  const ring = ringFor(t);
  const { peer, client } = await nodeClientPair(t, ring);
  const total = 200_000;
  const data = Buffer.alloc(total);
  for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
  const got: Buffer[] = [];
  // a stream that takes one chunk and leaves; the client keeps writing meanwhile
  for (let off = 0; off < total; off += 1000) client.write(data.subarray(off, off + 1000));
  for (let round = 0; got.reduce((n, b) => n + b.length, 0) < total; round++) {
    if (round % 2 === 0) {
      for await (const c of peer.chunks({ highWater: 4 })) {
        got.push(Buffer.from(c.bytes));
        c.release();
        break;
      }
    } else {
      const b = Buffer.alloc(1 + (round % 3000));
      const n = await peer.read(b);
      got.push(b.subarray(0, n));
    }
    if (round % 7 === 0) await sleep(1);
  }
  assert.ok(Buffer.concat(got).equals(data), 'every byte once, in order');
  assert.equal(peer.bytesRead, total);
});

test('a chunks() stream closed just as its recv, armed behind kept chunks, finds data waiting: the kept chunks stay ahead of the new data', BOUND, async (t) => {
  // the next stream yields a kept chunk at once and arms its recv; a break then submits the recv and
  // its cancel together, and the recv posts the bytes waiting in the socket before the cancel takes:
  // those arrive inside close(), which must keep the stream's queued (older) chunks first
  const { peer, fd, got } = await keptChunks(t, 'abcd'); // b, c, d kept
  writeSync(fd, 'e'.repeat(100)); // waits in the socket: no recv armed
  await sleep(20);
  for await (const c of peer.chunks()) {
    got.push(Buffer.from(c.bytes));
    c.release();
    break;
  }
  got.push(await readExactly(peer, 500 - got[0]!.length - got[1]!.length));
  assert.equal(Buffer.concat(got).toString(), lettered('abcde'));
});

test('a chunks() stream closed before it could start (the chunks it is to yield first still coming): the next read() gets those chunks first', BOUND, async (t) => {
  const { peer, fd, got } = await keptChunks(t, 'abc'); // b and c kept
  peer.chunks().close(); // takes b and c to yield them first, and is closed before it could: it keeps them again
  const b = Buffer.alloc(1000);
  const reading = peer.read(b);
  setTimeout(() => writeSync(fd, 'd'.repeat(100)), 50); // newer bytes: the read must not get these first
  got.push(b.subarray(0, await reading));
  got.push(await readExactly(peer, 400 - got[0]!.length - got[1]!.length));
  assert.equal(Buffer.concat(got).toString(), lettered('abcd'));
});

test('write() after end(): refused (EPIPE) naming end(), a chunk goes back to its group; end() twice is the same promise; the peer reads what came before', BOUND, async (t) => {
  const ring = ringFor(t);
  const { peer, client } = await nodeClientPair(t, ring);
  const received: Buffer[] = [];
  client.on('data', (d) => void received.push(d));
  const ended = new Promise((r) => client.once('end', r));
  client.write('x');
  const s = peer.chunks();
  const chunk = (await s.next()).value!;
  s.close();
  await peer.write('before');
  const e1 = peer.end('last');
  assert.equal(peer.end(), e1, 'end() again: the same promise');
  await assert.rejects(peer.end('more'), { code: 'EPIPE', message: /^end: .*end\(\) was called/ });
  await assert.rejects(peer.write('after'), { name: 'RingError', code: 'EPIPE', message: /^write: .*end\(\) was called: the socket writes no more/ });
  const cbErr = await new Promise<Error | undefined>((r) => peer.write('cb', (err) => r(err as Error | undefined)));
  assert.match(String(cbErr?.message), /end\(\) was called/);
  await assert.rejects(peer.write(chunk), { code: 'EPIPE' });
  assert.throws(() => chunk.bytes, 'the chunk went back to its group');
  await e1;
  await ended;
  assert.equal(Buffer.concat(received).toString(), 'beforelast');
});
