/** Bad input: a clear TypeError/RangeError/RingError, never a crash, nothing lost. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor } from './helpers.js';
import { op, fixed, FixedFile } from '../src/index.js';

test('wrong types and ranges are TypeError/RangeError before anything is submitted', async (t) => {
  const ring = ringFor(t);
  const b = Buffer.alloc(8);
  const cases: [() => unknown, ErrorConstructor, RegExp][] = [
    [() => ring.read('3' as any, b), TypeError, /"fd" must be an integer \(a process fd\) or a FixedFile, got string/],
    [() => ring.read(-1, b), RangeError, /"fd" must be in \[0, 2147483647\], got -1/],
    [() => ring.read(1.5, b), TypeError, /"fd" must be an integer/],
    [() => ring.read(0, 'abc' as any), TypeError, /"buffer" must be a Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer, got string/],
    [() => ring.read(0, [1, 2] as any), TypeError, /got an array/],
    [() => ring.read(0, b, -2), RangeError, /"position" must be in \[-1, 2\^53 - 1\] as a number/],
    [() => ring.read(0, b, 2 ** 60), RangeError, /"position"/],
    [() => ring.read(0, b, 1.5), TypeError, /"position" must be an integer or bigint/],
    [() => ring.read(0, b, '0' as any), TypeError, /"position"/],
    [() => ring.read(0, b, 0, { length: 9 }), RangeError, /"length" must be in \[0, 8\]/],
    [() => ring.read(0, b, 0, { length: -1 }), RangeError, /"length"/],
    [() => ring.read(0, b, 0, { offset: 9 }), RangeError, /"offset" must be in \[0, 8\]/],
    [() => ring.read(0, b, 0, 5 as any), TypeError, /options must be an object/],
    [() => (ring.read as any)(0, b, 0, {}, 1), TypeError, /too many arguments/],
    [() => ring.readv(0, []), RangeError, /1 to 1024 buffers/],
    [() => ring.readv(0, b as any), TypeError, /must be an array of buffers/],
    [() => ring.writev(0, [b, 'x' as any]), TypeError, /"buffers"\[1\]/],
    [() => ring.openat(42 as any), TypeError, /"path" must be a string or Buffer/],
    [() => ring.openat('a\0b'), TypeError, /NUL bytes/],
    [() => ring.openat('x'.repeat(5000)), RangeError, /PATH_MAX/],
    [() => ring.openat('x', 0, 0, { dirfd: fixed(1) as any }), TypeError, /cannot be a FixedFile/],
    [() => ring.timeout(-1), RangeError, /"time" must be a finite number of milliseconds in \[0, 2\^53 - 1\]/],
    [() => ring.timeout(NaN), RangeError, /finite/],
    [() => ring.timeout('1s' as any), TypeError, /milliseconds, \{ sec, nsec \} or bigint/],
    [() => ring.timeout({ sec: 1, nsec: 2e9 }), RangeError, /nsec must be an integer in \[0, 999999999\]/],
    [() => ring.asyncCancel(-1), RangeError, /"target" must be in \[0, 2\^53 - 1\] as a number/],
    [() => ring.asyncCancel(2n ** 64n), RangeError, /\[0, 2\^64 - 1\] as a bigint/],
    [() => ring.nop({ signal: {} as any }), TypeError, /"signal" must be an AbortSignal/],
    [() => ring.fsync(0, { fsyncFlags: -1 }), RangeError, /"fsyncFlags"/],
    [() => new FixedFile(-1), RangeError, /FixedFile\(\): "index" must be in/],
    [() => ring.run({} as any), TypeError, /takes an Sqe/],
    [() => ring.chain([]), TypeError, /non-empty array/],
    [() => (op as any).read(), TypeError, /"fd" is required/],
  ];
  for (const [fn, type, msg] of cases) assert.throws(fn, (e: any) => e instanceof type && msg.test(e.message), `${fn}`);
  assert.equal(ring.stats().sqesSubmitted, 0, 'nothing reached the kernel');
  assert.equal(ring.pending, 0, 'nothing left queued');
  assert.equal(await ring.nop(), 0, 'the ring still works');
});

test('a detached buffer is refused', async (t) => {
  const ring = ringFor(t);
  const ab = new ArrayBuffer(16);
  structuredClone(ab, { transfer: [ab] });
  assert.throws(() => ring.read(0, new Uint8Array(ab)), /detached/);
  assert.throws(() => ring.read(0, ab), /detached/);
});

test('kernel-side errors are RingErrors with code, errno, op and syscall', async (t) => {
  const ring = ringFor(t);
  await assert.rejects(ring.read(123456, Buffer.alloc(4), 0), (e: any) =>
    e.name === 'RingError' && e.code === 'EBADF' && e.errno === 9 && e.op === 'read' && e.syscall === 'io_uring:read' && /^read: EBADF/.test(e.message));
  // an injected EINVAL (6.10+) or the kernel refusing INJECT_RESULT (before 6.10): either way the hint points at ring.supports()
  await assert.rejects(ring.nop({ injectResult: -22 }), (e: any) => e.code === 'EINVAL' && /ring\.supports\('nop'/.test(e.hint));
});

test('a promise method takes `signal` as ring.run() does, inherited ones too: a non-AbortSignal is refused, an aborted one rejects, nothing is submitted', async (t) => {
  // the promise methods skip run()'s checks the builder already made (src/ring/ring.ts, runBuilt);
  // the builder reads only an object literal's own keys, so an inherited `signal` is checked there
  const ring = ringFor(t);
  Object.defineProperty(Object.prototype, 'signal', { value: 'not a signal', configurable: true, writable: true });
  try {
    assert.throws(() => ring.nop({}), { name: 'TypeError', message: /"signal" must be an AbortSignal, got string "not a signal"/ });
    assert.equal(ring.pending, 0);
  } finally {
    delete (Object.prototype as { signal?: unknown }).signal;
  }
  const ac = new AbortController();
  ac.abort();
  // a class instance's options are read whole, inherited names included (the builder checks them)
  await assert.rejects(ring.nop(Object.create({ signal: ac.signal })), { name: 'AbortError' });
  assert.throws(() => ring.nop(Object.create({ signal: 42 })), { name: 'TypeError', message: /"signal" must be an AbortSignal/ });
  assert.equal(ring.pending, 0);
  assert.equal(await ring.nop(), 0, 'the ring works on');
});
