/**
 * Issue #9, items 12, 9 and 4 (request buffers): every bad input to the public API outside
 * completion programs is ringflow's own TypeError/RangeError naming the argument, before anything
 * is created or queued; setup flags ringflow cannot drive are refused; memory that can shrink or
 * vanish under the kernel is refused, SharedArrayBuffers work end to end. The table-driven sweep
 * over every builder and method is in input-sweep.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempFile, tempDir, pattern } from '../helpers.js';
import { Ring, RingError, op, fixed, OPS, SqeFlags, SetupFlags, O } from '../../src/index.js';
import { SETUP_FLAGS, KNOWN_SETUP_FLAGS } from '../../src/ring/abi.js';
import { RING_OPTION_KEYS, PROFILES } from '../../src/ring/setup.js';

/** ringflow's own TypeError/RangeError (never a Node ERR_* or a V8 message) whose text matches `re`. */
function own(type: ErrorConstructor, re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    assert.equal(e.constructor, type, `exactly ${type.name}`);
    assert.equal((e as { code?: unknown }).code, undefined, `not a Node internal error: ${e.message}`);
    assert.match(e.message, re);
    return true;
  };
}

const openFds = () => readdirSync('/proc/self/fd').length;

function detached(n = 16): ArrayBuffer {
  const ab = new ArrayBuffer(n);
  structuredClone(ab, { transfer: [ab] });
  return ab;
}

test('item 12: timeout(1e300) and other out-of-range times are RangeErrors naming "time" and the range', () => {
  for (const t of [1e300, 2 ** 53, Infinity, -1, NaN])
    assert.throws(() => op.timeout(t), own(RangeError, /^timeout\(\): "time" must be a finite number of milliseconds in \[0, 2\^53 - 1\]/), String(t));
  assert.throws(() => op.timeout(2n ** 63n), own(RangeError, /^timeout\(\): "time" as bigint nanoseconds must be in \[0, 2\^63 - 1\], got 9223372036854775808n/));
  assert.throws(() => op.linkTimeout({ sec: 2 ** 60 }), own(RangeError, /^linkTimeout\(\): "time"\.sec must be in \[0, 2\^53 - 1\]/));
  assert.throws(() => op.timeout({ sec: 1, nsecs: 5 } as any), own(TypeError, /"time" as an object takes only "sec" and "nsec", got "nsecs"/));
  // the largest accepted values encode
  const b = Buffer.from(op.timeout(2n ** 63n - 1n).toBytes());
  assert.ok(b.readBigUInt64LE(16) > 0n);
  assert.ok(op.timeout(Number.MAX_SAFE_INTEGER) && op.timeout({ sec: Number.MAX_SAFE_INTEGER, nsec: 999_999_999 }));
});

test('item 12: a detached buffer is a TypeError "is a detached ArrayBuffer", whatever shape it comes in', () => {
  const re = /"buffers?"(\[0\])? is a detached ArrayBuffer/;
  assert.throws(() => op.read(0, detached()), own(TypeError, re));
  assert.throws(() => op.read(0, detachedView()), own(TypeError, re));
  assert.throws(() => op.write(0, detachedDataView()), own(TypeError, re));
  assert.throws(() => op.readv(0, [detachedView()]), own(TypeError, re));
  assert.throws(() => op.openat(detachedView()), own(TypeError, /"path" is a detached ArrayBuffer/));
});
function detachedView(): Uint8Array {
  const ab = new ArrayBuffer(16);
  const v = new Uint8Array(ab, 4, 8);
  structuredClone(ab, { transfer: [ab] });
  return v;
}
function detachedDataView(): DataView {
  const ab = new ArrayBuffer(16);
  const v = new DataView(ab, 2);
  structuredClone(ab, { transfer: [ab] });
  return v;
}

test('item 12: SharedArrayBuffers (and views over them, growable ones too) are read into and written from', async (t) => {
  const ring = ringFor(t);
  const data = pattern(4096);
  const f = tempFile(data);
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const sab = new SharedArrayBuffer(64);
  assert.equal(await ring.read(fd, sab, 100), 64);
  assert.deepEqual(Buffer.from(new Uint8Array(sab)), data.subarray(100, 164));
  const view = new Uint8Array(new SharedArrayBuffer(32), 8, 16);
  assert.equal(await ring.read(fd, view, 0, { offset: 4, length: 8 }), 8);
  assert.deepEqual(Buffer.from(view.subarray(4, 12)), data.subarray(0, 8));
  const dv = new DataView(new SharedArrayBuffer(8));
  assert.equal(await ring.read(fd, dv, 7), 8);
  assert.equal(dv.getUint8(0), data[7]);
  const a = new Uint8Array(new SharedArrayBuffer(10)), b = new Int32Array(new SharedArrayBuffer(8));
  assert.equal(await ring.readv(fd, [a, b], 1000), 18);
  assert.deepEqual(Buffer.from(a), data.subarray(1000, 1010));
  assert.deepEqual(Buffer.from(b.buffer), data.subarray(1010, 1018));
  const growable = new (SharedArrayBuffer as any)(16, { maxByteLength: 1 << 16 }) as SharedArrayBuffer;
  const tracking = new Uint8Array(growable);
  assert.equal(await ring.read(fd, tracking, 200), 16);
  assert.deepEqual(Buffer.from(tracking), data.subarray(200, 216));
  (growable as any).grow(4096);
  assert.equal(await ring.read(fd, growable, 0), 4096, 'a grown SharedArrayBuffer is read into at its new length');
  assert.deepEqual(Buffer.from(new Uint8Array(growable)), data);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const wfd = await ring.openat(join(dir, 'out'), O.CREAT | O.WRONLY, 0o600);
  assert.equal(await ring.write(wfd, sab, 0), 64);
  assert.equal(await ring.writev(wfd, [view], 64), 16);
  await ring.closeFd(wfd);
  const back = readFileSync(join(dir, 'out'));
  assert.deepEqual(back.subarray(0, 64), data.subarray(100, 164));
  assert.deepEqual(back.subarray(64), Buffer.from(view));
});

test('item 12: sqeFlags cannot name FIXED_FILE or BUFFER_SELECT, nor unknown bits; link/drain/async/skip pass', () => {
  assert.throws(() => op.read(3, Buffer.alloc(4), 0, { sqeFlags: SqeFlags.FIXED_FILE }), own(RangeError, /^read\(\): "sqeFlags" must not include FIXED_FILE: pass the fd as a FixedFile/));
  assert.throws(() => op.nop({ sqeFlags: SqeFlags.BUFFER_SELECT | SqeFlags.IO_LINK }), own(RangeError, /"sqeFlags" must not include BUFFER_SELECT: buffer selection comes with provided buffers/));
  assert.throws(() => op.nop({ sqeFlags: 0x80 }), own(RangeError, /"sqeFlags" must be a combination of SqeFlags IO_DRAIN \(2\), IO_LINK \(4\), IO_HARDLINK \(8\), ASYNC \(16\), CQE_SKIP_SUCCESS \(64\)/));
  const ok = SqeFlags.IO_DRAIN | SqeFlags.IO_LINK | SqeFlags.IO_HARDLINK | SqeFlags.ASYNC | SqeFlags.CQE_SKIP_SUCCESS;
  assert.equal(op.nop({ sqeFlags: ok }).flags, ok);
  assert.equal(op.read(fixed(2), Buffer.alloc(4)).flags, SqeFlags.FIXED_FILE, 'a FixedFile argument still sets it');
});

test('item 12: EBADF of a FixedFile request says the slot is empty, not "fd is not open"', async (t) => {
  const ring = ringFor(t);
  await assert.rejects(ring.read(fixed(3), Buffer.alloc(4), 0), (e: unknown) => {
    assert.ok(e instanceof RingError);
    assert.equal(e.code, 'EBADF');
    assert.doesNotMatch(String(e.hint), /not open/);
    assert.match(String(e.hint), /no file is registered in that FixedFile slot/);
    return true;
  });
  await assert.rejects(ring.read(99999, Buffer.alloc(4), 0), (e: any) => e.code === 'EBADF' && /not open/.test(e.hint));
});

test('item 12: ring options must be an object of known keys; the profile one of PROFILES', () => {
  const before = openFds();
  for (const bad of [null, 5, 'fast', [], true])
    assert.throws(() => new Ring(bad as any), own(TypeError, /^ring options must be an object, got /), String(bad));
  assert.throws(() => new Ring({ entires: 8 } as any), own(TypeError, new RegExp(`^"entires" is not a ring option; ring options are ${RING_OPTION_KEYS.join(', ')}$`)));
  assert.throws(() => new Ring({ profile: 'turbo' } as any), own(RangeError, /^ring option "profile" must be one of "fast", "coop", "plain", got string "turbo"$/));
  assert.throws(() => new Ring({ profile: 'toString' } as any), own(RangeError, /"profile" must be one of/), 'no prototype keys');
  assert.throws(() => new Ring({ sqpoll: { idle: 10, cpus: 1 } } as any), own(TypeError, /ring option "sqpoll" takes "idle", "cpu", got "cpus"/));
  assert.equal(openFds(), before, 'nothing was created');
  assert.deepEqual(Object.keys(PROFILES), ['fast', 'coop', 'plain']);
});

test('item 12: a builder\'s unknown option is a TypeError naming the op and the keys derived from the opcode table', () => {
  const common = ['signal', 'personality', 'sqeFlags', 'ioprio', 'cq', 'userData'];
  let n = 0;
  for (const o of OPS) {
    if (!o.params) continue;
    const positional = o.params.filter((p) => p.positional).length;
    const args: unknown[] = [];
    const want = [
      ...o.params.filter((p) => !p.positional && p.kind !== 'statx' && !p.internal).map((p) => p.name),
      ...(o.params.some((p) => p.kind === 'buffer' || p.kind === 'dataBuffer' || p.kind === 'fixedData') ? ['offset', 'length'] : []),
      ...common,
    ];
    args[positional] = { bogus: 1 };
    assert.throws(() => (op as any)[o.name](...args), (e: any) => {
      assert.ok(e instanceof TypeError, `${o.name}: ${e}`);
      // the key check comes before any positional argument is read
      assert.equal(e.message, `${o.name}(): "bogus" is not an option of ${o.name}(); it accepts ${want.join(', ')}`);
      return true;
    });
    n++;
  }
  assert.ok(n >= 13, `every op with a builder was tried (${n})`);
});

test('item 9: setup flags ringflow cannot drive are RangeErrors naming the flag, before the kernel is asked', () => {
  const unsupported = SETUP_FLAGS.filter((f) => f.support === 'unsupported');
  assert.deepEqual(unsupported.map((f) => f.name), ['IOPOLL', 'NO_MMAP', 'REGISTERED_FD_ONLY', 'HYBRID_IOPOLL', 'SQE_MIXED']);
  const before = openFds();
  for (const f of unsupported)
    assert.throws(() => new Ring({ profile: 'plain', flags: 2 ** f.bit }), own(RangeError, new RegExp(`^ring option "flags" includes SetupFlags\\.${f.name}, which ringflow does not support yet: `)), f.name);
  for (let bit = 0; bit < 32; bit++) {
    if (KNOWN_SETUP_FLAGS & (2 ** bit)) continue;
    assert.throws(() => new Ring({ flags: 2 ** bit }), own(RangeError, new RegExp(`unknown IORING_SETUP_\\* bits 0x${(2 ** bit).toString(16)}; known flags: IOPOLL, `)), `bit ${bit}`);
  }
  assert.equal(openFds(), before, 'no ring fd was created (or leaked)');
  for (const f of SETUP_FLAGS) assert.equal(SetupFlags[f.name as keyof typeof SetupFlags], 2 ** f.bit, `SetupFlags.${f.name} comes from SETUP_FLAGS`);
  assert.equal(SetupFlags.CQE_MIXED, 1 << 18);
  assert.equal(SetupFlags.SQE_MIXED, 1 << 19);
});

test('item 9: a supported flag given raw still makes a working ring', async (t) => {
  const ring = ringFor(t, { profile: 'plain', flags: SetupFlags.SUBMIT_ALL });
  assert.ok(ring.setupFlags & SetupFlags.SUBMIT_ALL);
  assert.equal(await ring.nop(), 0);
  assert.equal(await ring.nop(), 0, 'the second request completes too (the SQE128/CQE32 symptom)');
});

test('item 4: resizable ArrayBuffers (and views over them) are refused for every buffer, iovec and path argument', () => {
  const rab = (): ArrayBuffer => new (ArrayBuffer as any)(16, { maxByteLength: 64 });
  assert.equal((rab() as any).resizable, true, 'this runtime has resizable ArrayBuffers');
  const why = /is a resizable ArrayBuffer \(or a view over one\): it could shrink while the kernel uses it/;
  const shapes: [string, () => unknown][] = [
    ['ArrayBuffer', rab],
    ['length-tracking Uint8Array', () => new Uint8Array(rab())],
    ['fixed-length Uint8Array', () => new Uint8Array(rab(), 0, 8)],
    ['DataView', () => new DataView(rab())],
    ['Float64Array', () => new Float64Array(rab())],
  ];
  for (const [name, make] of shapes) {
    assert.throws(() => op.read(0, make() as any), own(TypeError, new RegExp(`^read\\(\\): "buffer" ${why.source}`)), name);
    assert.throws(() => op.write(0, make() as any), own(TypeError, why), name);
    assert.throws(() => op.readv(0, [Buffer.alloc(1), make() as any]), own(TypeError, new RegExp(`"buffers"\\[1\\] ${why.source}`)), name);
    assert.throws(() => op.writev(0, [make() as any]), own(TypeError, why), name);
  }
  assert.throws(() => op.openat(new Uint8Array(rab())), own(TypeError, new RegExp(`"path" ${why.source}`)));
  assert.throws(() => op.statx(new Uint8Array(rab())), own(TypeError, why));
});

test('buffers of 4 GiB or more: the SQE length is 32 bits, so the window must say how much', (t) => {
  let big: ArrayBuffer;
  try {
    big = new ArrayBuffer(2 ** 32 + 8);
  } catch (e) {
    return t.skip(`cannot allocate a 4 GiB ArrayBuffer here: ${(e as Error).message}`);
  }
  assert.throws(() => op.read(0, big), own(RangeError, /^read\(\): "length" must be in \[0, 4294967295\] \(buffer 4294967304 bytes, offset 0; the SQE length is 32 bits\), got 4294967304 \(the rest of the buffer\)/));
  assert.equal(op.read(0, big, 0, { length: 16 }).len, 16);
  assert.equal(op.read(0, big, 0, { offset: 2 ** 32, length: 8 }).len, 8);
  const iov = Buffer.from(op.readv(0, [big]).keep!.at(-1) as ArrayBuffer);
  assert.equal(iov.readBigUInt64LE(8), 2n ** 32n + 8n, 'iov_len is a 64-bit size_t');
});

test('-0 is 0: fd, position and lengths encode as zero (not -1, the current position)', () => {
  const b = Buffer.from(op.read(-0, Buffer.alloc(8), -0, { offset: -0, length: -0 }).toBytes());
  assert.equal(b.readInt32LE(4), 0, 'fd');
  assert.equal(b.readBigInt64LE(8), 0n, 'off');
  assert.equal(b.readUInt32LE(24), 0, 'len');
});
