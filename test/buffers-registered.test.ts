/**
 * Registered buffers (ring.buffers, src/ring/registered-buffers.ts): register dense/sparse,
 * update and unregister with ringflow's tags (a buffer's `released` resolves when the kernel lets
 * go), read_fixed / write_fixed through raw SQEs, memory JS cannot take from under the kernel, and
 * the RLIMIT_MEMLOCK error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { ringFor, fifo, CPU_TIME_SCALE } from './helpers.js';
import { unregisterPostsTags } from '../src/ring/tag-probe.js';
import { runUnprivileged } from './unprivileged.js';
import { Sqe, opByName, RingError, RegisteredBuffer, type Ring } from '../src/index.js';

/** READ_FIXED (4) / WRITE_FIXED (5) as raw SQEs: buf_index + an address inside the buffer. */
function fixedIo(ring: Ring, write: boolean, fd: number, b: RegisteredBuffer, offset: number, length: number): Promise<number> {
  const span = b.span(offset, length);
  const s = new Sqe(opByName(write ? 'writeFixed' : 'readFixed')!);
  s.fd = fd;
  s.setAddr(span.address);
  s.len = span.length;
  s.bufIndex = span.index;
  s.setOff(-1);
  s.hold(b);
  return ring.run(s);
}

/** `p`'s value, or 'timeout' after `ms` (the waits for a release are × CPU_TIME_SCALE: a TCG guest is slower). */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> => Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);

test('register: sizes, contents and holes; write_fixed and read_fixed move bytes through the registered memory', async (t) => {
  const ring = ringFor(t);
  const pipe = fifo(t);
  const [a, b, hole] = ring.buffers.register([8192, Buffer.from('registered!'), null]);
  assert.equal(ring.buffers.size, 3);
  assert.ok(a && b);
  assert.equal(hole, undefined);
  assert.equal(ring.buffers.at(2), undefined);
  assert.equal(ring.buffers.at(1), b);
  assert.deepEqual([a.index, a.length, b.index, b.length], [0, 8192, 1, 11]);
  assert.equal(a.address % 4096, 0, 'page-aligned native memory');
  assert.equal(b.bytes.toString(), 'registered!');
  assert.equal(await fixedIo(ring, true, pipe.fd, b, 0, 11), 11);
  assert.equal(await fixedIo(ring, false, pipe.fd, a, 100, 11), 11);
  assert.equal(a.bytes.subarray(100, 111).toString(), 'registered!', 'the kernel wrote where the span said');
  a.bytes.write('from JS', 4000);
  assert.equal(await fixedIo(ring, true, pipe.fd, a, 4000, 7), 7);
  assert.equal(await fixedIo(ring, false, pipe.fd, b, 2, 7), 7);
  assert.equal(b.bytes.toString(), 'refrom JSd!');
  // a hole (empty slot) is refused by the kernel
  const s = new Sqe(opByName('readFixed')!);
  s.fd = pipe.fd;
  s.setAddr(a.address);
  s.len = 4;
  s.bufIndex = 2;
  await assert.rejects(ring.run(s), (e: RingError) => e.code === 'EFAULT' || e.code === 'EINVAL');
});

test('sparse table, update with tags: a replaced buffer is released by the kernel after the request using it; unregister releases the rest', async (t) => {
  const ring = ringFor(t);
  const pipe = fifo(t);
  const empty = ring.buffers.register({ sparse: 4 });
  assert.deepEqual(empty, [undefined, undefined, undefined, undefined]);
  const [x, y] = ring.buffers.update(1, [4096, Buffer.from('yy')]);
  assert.ok(x && y);
  assert.deepEqual([x.index, y.index], [1, 2]);
  // a read_fixed into x waits in the kernel while x is replaced
  const reading = fixedIo(ring, false, pipe.fd, x, 0, 16);
  await new Promise((r) => setTimeout(r, 20));
  const [z] = ring.buffers.update(1, [1024]);
  assert.equal(x.registered, false);
  assert.equal(ring.buffers.at(1), z);
  assert.equal(await within(x.released, 50), 'timeout', 'the kernel still uses x for the read in flight');
  pipe.write('after replace');
  assert.equal(await reading, 13);
  assert.equal(x.bytes.subarray(0, 13).toString(), 'after replace', 'the request finished in the replaced buffer');
  await ring.nop(); // the tag's CQE may come with the next completions
  assert.equal(await within(x.released, 2000 * CPU_TIME_SCALE), undefined, "x's tag CQE came: the kernel let go");
  ring.buffers.unregister();
  assert.equal(ring.buffers.size, 0);
  await ring.nop();
  assert.deepEqual(await within(Promise.all([y.released, z!.released]), 2000 * CPU_TIME_SCALE), [undefined, undefined]);
  assert.equal(y.bytes.toString(), 'yy', 'views stay readable after the kernel let go');
  assert.equal(ring.pending, 0, 'tag CQEs are not requests');
});

const POSTS_TAGS = unregisterPostsTags();

test('src/ring/tag-probe.ts answers on this kernel, and a table unregistered with only other requests in flight is released once they end', async (t) => {
  assert.equal(typeof POSTS_TAGS, 'boolean', 'the probe got an answer from a scratch ring');
  t.diagnostic(`this kernel's unregister ${POSTS_TAGS ? 'posts tags' : 'quiesces and posts no tag'}`);
  const ring = ringFor(t);
  const pipe = fifo(t);
  const waiting = ring.read(pipe.fd, Buffer.alloc(8), -1);
  await new Promise((r) => setImmediate(r));
  const [b] = ring.buffers.register([4096]);
  ring.buffers.unregister();
  let released = false;
  void b!.released.then(() => (released = true));
  pipe.write('x');
  assert.equal(await waiting, 1);
  assert.equal(await within(b!.released, 2000 * CPU_TIME_SCALE), undefined, 'released');
  assert.equal(released, true);
});

test('unregister() with a read_fixed into the table waiting (a FIFO): unregister returns, the read finishes into the buffer, then its tag releases it', { skip: POSTS_TAGS === false && "this kernel's unregister quiesces (before 6.13): it would wait in the kernel for the read, whose completion (DEFER_TASKRUN) only this thread can run" }, async (t) => {
  const ring = ringFor(t);
  const pipe = fifo(t);
  const [b] = ring.buffers.register([4096]);
  const reading = fixedIo(ring, false, pipe.fd, b!, 0, 16);
  await new Promise((r) => setTimeout(r, 20));
  ring.buffers.unregister();
  assert.equal(b!.registered, false);
  assert.equal(await within(b!.released, 50), 'timeout', 'the kernel still uses it for the read');
  pipe.write('registered bytes');
  assert.equal(await reading, 16);
  assert.equal(Buffer.from(b!.bytes.subarray(0, 16)).toString(), 'registered bytes');
  assert.equal(await within(b!.released, 2000 * CPU_TIME_SCALE), undefined, "its tag came: the kernel let go");
  assert.equal(ring.pending, 0);
});

test('ring.close() releases every registered buffer', async () => {
  const { Ring } = await import('../src/index.js');
  const ring = new Ring({ entries: 8 });
  const [b] = ring.buffers.register([4096]);
  await ring.close();
  assert.equal(await within(b!.released, 1000 * CPU_TIME_SCALE), undefined);
  assert.equal(b!.registered, false);
});

test('bad input: RangeError/TypeError before the kernel, EBUSY for a second table', (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.buffers.register([]), TypeError);
  assert.throws(() => ring.buffers.register([0]), /entry 0 must be in \[1, 1073741824\]/);
  assert.throws(() => ring.buffers.register([2 ** 30 + 1]), RangeError);
  assert.throws(() => ring.buffers.register(['x' as unknown as number]), TypeError);
  assert.throws(() => ring.buffers.register({ sparse: 0 }), RangeError);
  assert.throws(() => ring.buffers.register({ sparse: 16385 }), RangeError);
  assert.throws(() => ring.buffers.update(0, [16]), /no buffer table/);
  assert.throws(() => ring.buffers.unregister(), /no buffer table/);
  const [b] = ring.buffers.register([64, 64]);
  assert.throws(() => ring.buffers.register([64]), (e: RingError) => e.code === 'EBUSY');
  assert.throws(() => ring.buffers.update(1, [16, 16]), /past the table/);
  assert.throws(() => b!.span(60, 5), /not inside registered buffer 0/);
  assert.throws(() => b!.span(-1), RangeError);
  assert.deepEqual(b!.span(10, 4), { buffer: b, index: 0, address: b!.address + 10, length: 4 });
});

test('registered memory cannot be taken from the kernel: no resize, no transfer list; transfer() moves only the view', async (t) => {
  const ring = ringFor(t);
  const pipe = fifo(t);
  const [b] = ring.buffers.register([4096]);
  const ab = b!.bytes.buffer as ArrayBuffer & { resize?: (n: number) => void; resizable?: boolean; transfer?: () => ArrayBuffer };
  assert.notEqual(ab.resizable, true, 'not a resizable ArrayBuffer');
  if (typeof ab.resize === 'function') assert.throws(() => ab.resize!(16), TypeError);
  const { port1 } = new MessageChannel();
  // in a transfer list it is refused (Node 21+) or copied instead of moved (Node 20): never detached
  try {
    port1.postMessage(ab, [ab]);
  } catch (e) {
    assert.match(String((e as Error).message), /transfer|clone/i);
  }
  port1.close();
  assert.equal(b!.bytes.length, 4096, 'still attached after the transfer list');
  let moved: ArrayBuffer | undefined;
  if (typeof ab.transfer === 'function') {
    try {
      moved = ab.transfer();
    } catch (e) {
      assert.ok(e instanceof TypeError, 'transfer() refuses (Node 24+)');
    }
  }
  // whatever happened to the view, the registered memory is intact and the kernel writes into it
  pipe.write('still pinned');
  assert.equal(await fixedIo(ring, false, pipe.fd, b!, 0, 12), 12);
  const view = new Uint8Array(moved ?? ab, 0, 12);
  assert.equal(Buffer.from(view).toString(), 'still pinned', moved ? 'the transferred buffer is the same memory' : 'the view reads what the kernel wrote');
});

test('RLIMIT_MEMLOCK refuses a registration: RingError ENOMEM says how much was asked, the limit, and how to raise it', (t) => {
  const index = new URL('../src/index.js', import.meta.url);
  const addon = new URL('../../build/Release/ringflow.node', import.meta.url);
  const r = runUnprivileged(
    [index, addon],
    `
    const { Ring } = await import(${JSON.stringify(index.href)});
    let ring;
    try { ring = new Ring({ entries: 4 }); } catch (e) { console.log(JSON.stringify({ setup: e.code })); process.exit(0); }
    try {
      ring.buffers.register([1 << 20]);
      console.log(JSON.stringify({ registered: true }));
    } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, hint: e.hint })); }
    await ring.close();`,
    256 * 1024,
  );
  if ('skip' in r) return t.skip(r.skip);
  const out = r.out as { setup?: string; registered?: boolean; name?: string; code?: string; message?: string; hint?: string };
  if (out.setup) return t.skip(`a ring cannot be created as uid 65534 with RLIMIT_MEMLOCK 256 KiB here (${out.setup})`);
  assert.notEqual(out.registered, true, 'registering 1 MiB under a 256 KiB limit must fail');
  assert.deepEqual([out.name, out.code], ['RingError', 'ENOMEM']);
  assert.match(out.message!, /asked to lock 1 MiB/);
  assert.match(out.message!, /RLIMIT_MEMLOCK is 256 KiB/);
  assert.match(out.hint!, /ulimit -l/);
  assert.match(out.hint!, /LimitMEMLOCK=/);
  assert.match(out.hint!, /prlimit/);
});
