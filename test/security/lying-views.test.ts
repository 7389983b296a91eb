/**
 * A view or buffer that misreports its extent (a subclass's getter, an own property defined on
 * the instance, a swapped prototype) must not make ringflow hand the kernel memory past the end of
 * the real buffer, nor pass off memory that can shrink or be transferred: ringflow reads extents
 * with the engine's own accessors (src/ring/memory.ts), on the builders' fast path (a view seen
 * before) and on the first sight of a view alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, pattern, patternFd } from '../helpers.js';
import { op, TcpServer, TcpSocket } from '../../src/index.js';
import { readExactly } from '../net-helpers.js';
import { MSG } from '../../src/ops/net-abi.js';

const MSG_WAITALL = MSG.WAITALL;

const FILE = 64 * 1024;

/** A 64-byte buffer laid out as [guard 16][window 16][guard 32]; the window is a view over its middle. */
function guarded(): { whole: Uint8Array; window: Uint8Array } {
  const whole = new Uint8Array(64).fill(0xee);
  return { whole, window: whole.subarray(16, 32) };
}

function checkGuards(whole: Uint8Array, what: string): void {
  for (let i = 0; i < 16; i++) assert.equal(whole[i], 0xee, `${what}: byte ${i} before the window was written`);
  for (let i = 32; i < 64; i++) assert.equal(whole[i], 0xee, `${what}: byte ${i} after the window was written`);
}

test('a Uint8Array subclass whose byteLength/length/byteOffset getters lie reads only its real 16 bytes', async (t) => {
  const fd = patternFd(t, FILE);
  const ring = ringFor(t);
  class Liar extends Uint8Array {
    override get byteLength(): number {
      return 4096;
    }
    override get length(): number {
      return 4096;
    }
    override get byteOffset(): number {
      return 0;
    }
  }
  const ab = new ArrayBuffer(64);
  const whole = new Uint8Array(ab).fill(0xee);
  const liar = new Liar(ab, 16, 16);
  for (let round = 0; round < 3; round++) {
    // round 0: first sight of the view (slow path); later rounds: the builders' cached fast path
    assert.equal(await ring.read(fd, liar, 0), 16, `round ${round}`);
    checkGuards(whole, `round ${round}`);
    assert.deepEqual(Buffer.from(whole.subarray(16, 32)), pattern(16));
    whole.fill(0xee);
  }
});

test('an own byteLength/length property defined on a Buffer after it was used changes nothing the kernel sees', async (t) => {
  const fd = patternFd(t, FILE);
  const ring = ringFor(t);
  const { whole, window } = guarded();
  assert.equal(await ring.read(fd, window, 0), 16); // cached now
  whole.fill(0xee);
  for (const key of ['byteLength', 'length', 'byteOffset']) Object.defineProperty(window, key, { get: () => (key === 'byteOffset' ? 0 : 4096) });
  assert.equal(await ring.read(fd, window, 0), 16);
  checkGuards(whole, 'after defineProperty');
  // and a fresh view lying from its first use
  const { whole: whole2, window: window2 } = guarded();
  Object.defineProperty(window2, 'byteLength', { get: () => 4096 });
  Object.defineProperty(window2, 'length', { get: () => 4096 });
  assert.equal(await ring.read(fd, window2, 0), 16);
  checkGuards(whole2, 'lying from the start');
  // the builder's SQE says 16 too
  const sqe = op.read(fd, window2, 0);
  assert.equal(sqe.len, 16);
});

test('a DataView subclass whose extent getters lie is read through the engine accessors', async (t) => {
  const fd = patternFd(t, FILE);
  const ring = ringFor(t);
  class LyingView extends (DataView as new (buffer: ArrayBuffer, offset: number, length: number) => DataView) {
    override get byteLength(): number {
      return 4096;
    }
    override get byteOffset(): number {
      return 0;
    }
  }
  const ab = new ArrayBuffer(64);
  const whole = new Uint8Array(ab).fill(0xee);
  assert.equal(await ring.read(fd, new LyingView(ab, 16, 16), 0), 16);
  checkGuards(whole, 'DataView');
});

test('a resizable ArrayBuffer whose "resizable" getter lies is still refused; a swapped prototype does not make an ArrayBuffer shared', async (t) => {
  const ring = ringFor(t);
  const Ctor = ArrayBuffer as unknown as new (n: number, o?: { maxByteLength: number }) => ArrayBuffer;
  const rab = new Ctor(64, { maxByteLength: 128 });
  if ((rab as { resizable?: boolean }).resizable !== true) return t.skip('this Node has no resizable ArrayBuffers');
  Object.defineProperty(rab, 'resizable', { get: () => false });
  assert.throws(() => op.read(0, new Uint8Array(rab, 0, 16), 0), (e: unknown) => e instanceof TypeError && /resizable ArrayBuffer/.test((e as Error).message));
  // an ArrayBuffer posing as a SharedArrayBuffer is lent as what it is: marked untransferable like any other ArrayBuffer
  if (typeof SharedArrayBuffer === 'undefined') return;
  const fd = patternFd(t, FILE);
  const ab = new ArrayBuffer(32);
  Object.setPrototypeOf(ab, SharedArrayBuffer.prototype);
  assert.equal(await ring.read(fd, new Uint8Array(ab), 0), 32);
  Object.setPrototypeOf(ab, ArrayBuffer.prototype);
  try {
    structuredClone(ab, { transfer: [ab] }); // refused (Node 22+) or cloned (Node 20): never moved
  } catch {
    /* refused */
  }
  assert.equal(ab.byteLength, 32, 'a buffer lent to the kernel is not transferred away');
});

test('the fast path\'s buffer windows and socket buffers: a lying view\'s window and a recv into a lying view stay inside the real bytes; a resizable one is refused, a sent one stays put', async (t) => {
  const fd = patternFd(t, FILE);
  const ring = ringFor(t);
  class Liar extends Uint8Array {
    override get byteLength(): number {
      return 4096;
    }
    override get length(): number {
      return 4096;
    }
  }
  const ab = new ArrayBuffer(64);
  const whole = new Uint8Array(ab).fill(0xee);
  const liar = new Liar(ab, 16, 16);
  for (let round = 0; round < 3; round++) {
    // round 0 caches the view; later rounds take the fast path with the window
    assert.equal(await ring.read(fd, liar, 0, { offset: 4, length: 12 }), 12, `round ${round}`);
    checkGuards(whole, `window round ${round}`);
    assert.deepEqual(Buffer.from(whole.subarray(20, 32)), pattern(12));
    assert.throws(() => op.read(fd, liar, 0, { offset: 4, length: 13 }), RangeError, 'a window past the real 16 bytes');
    whole.fill(0xee);
  }
  // a recv into the lying view over a socket with 100 bytes waiting: 16 arrive, the guards hold
  const server = await TcpServer.listen(ring, { port: 0 });
  t.after(() => server.close());
  const acc = server.accept();
  const client = await TcpSocket.connect(ring, { port: server.address()!.port });
  const peer = await acc;
  t.after(() => Promise.all([client.close(), peer.close()]));
  for (let round = 0; round < 3; round++) {
    await peer.write(Buffer.alloc(16, 0x30 + round));
    assert.equal(await ring.recv(client.fd, liar, MSG_WAITALL), 16, `recv round ${round}`);
    checkGuards(whole, `recv round ${round}`);
    assert.deepEqual([...whole.subarray(16, 32)], new Array(16).fill(0x30 + round));
  }
  // a resizable buffer is refused by send's fast path as by the table's path, window or not
  const Ctor = ArrayBuffer as unknown as new (n: number, o?: { maxByteLength: number }) => ArrayBuffer;
  const rab = new Ctor(64, { maxByteLength: 128 });
  if ((rab as { resizable?: boolean }).resizable === true)
    for (const opts of [undefined, { offset: 0, length: 8 }])
      assert.throws(() => op.send(peer.fd, new Uint8Array(rab), 0, opts), (e: unknown) => e instanceof TypeError && /resizable/.test((e as Error).message));
  // a Buffer sent twice (the second time on the fast path) cannot be transferred away afterwards
  const sent = Buffer.alloc(32, 0x41);
  await peer.write(sent);
  await peer.write(sent);
  assert.deepEqual(await readExactly(client, 64), Buffer.alloc(64, 0x41));
  try {
    structuredClone(sent.buffer, { transfer: [sent.buffer] }); // refused (Node 22+) or cloned (Node 20)
  } catch (e) {
    assert.equal((e as Error).name, 'DataCloneError');
  }
  assert.equal(sent.byteLength, 32, 'a buffer lent to the kernel stays attached');
});
