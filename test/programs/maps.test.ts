// Maps: JS classes over native handles; exact TypeError/RangeError messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayMap, HashMap, RingBufMap, createMap, engineAvailable, Program, ProgramError, MapType } from '../../src/programs/index.js';

const skip = engineAvailable() ? false : 'native eBPF engine not built';
const k32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const v64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);

test('ArrayMap: zero-copy views shared with programs', { skip }, () => {
  const m = new ArrayMap({ valueSize: 8, maxEntries: 4, name: 'a' });
  assert.equal(m.stride, 8);
  m.view(2).setBigUint64(0, 40n, true);
  const p = Program.fromAssembly('stw [%r10-4], 2\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\ncall 1\njeq %r0, 0, +3\nldxdw %r1, [%r0+0]\nadd %r1, 2\nstxdw [%r0+0], %r1\nmov %r0, 0\nexit', { maps: [m] });
  assert.equal(p.run().status, 'ok');
  assert.equal(m.view(2).getBigUint64(0, true), 42n);
  assert.deepEqual(m.get(2), v64(42n));
  m.set(1, v64(5n));
  assert.equal(m.view(1).getBigUint64(0, true), 5n);
});

test('ArrayMap: argument errors', { skip }, () => {
  const m = new ArrayMap({ valueSize: 4, maxEntries: 2 });
  assert.throws(() => m.value(2), { name: 'RangeError', message: 'index 2 out of range (maxEntries 2)' });
  assert.throws(() => m.value(-1), { name: 'RangeError', message: 'index -1 out of range (maxEntries 2)' });
  assert.throws(() => m.value(1.5), { name: 'TypeError', message: 'index must be an integer' });
  assert.throws(() => m.set(0, new Uint8Array(3)), { name: 'RangeError', message: 'value must be 4 bytes (got 3)' });
  assert.throws(() => m.set(0, [1, 2, 3, 4] as unknown as Uint8Array), { name: 'TypeError', message: 'value must be a Uint8Array' });
  assert.throws(() => new ArrayMap({ valueSize: 0, maxEntries: 1 }), { name: 'RangeError', message: 'valueSize must be between 1 and 4294967295 (got 0)' });
  assert.throws(() => new ArrayMap({ valueSize: 4, maxEntries: 'x' as unknown as number }), { name: 'TypeError', message: 'maxEntries must be an integer' });
});

test('HashMap: get/set/delete/keys/entries and modes', { skip }, () => {
  const m = new HashMap({ keySize: 4, valueSize: 8, maxEntries: 2 });
  assert.equal(m.get(k32(1)), undefined);
  m.set(k32(1), v64(10n)).set(k32(2), v64(20n));
  assert.deepEqual(m.get(k32(2)), v64(20n));
  assert.equal(m.size, 2);
  assert.deepEqual([...m.keys()].map((k) => k[0]).sort(), [1, 2]);
  assert.deepEqual(new Map([...m.entries()].map(([k, v]) => [k[0], v[0]])), new Map([[1, 10], [2, 20]]));
  assert.throws(() => m.set(k32(3), v64(1n)), (e: unknown) => e instanceof ProgramError && /E2BIG \(map full, maxEntries 2\)/.test(e.message));
  assert.throws(() => m.set(k32(1), v64(1n), 'noexist'), /EEXIST/);
  assert.throws(() => m.set(k32(9), v64(1n), 'exist'), /ENOENT/);
  assert.equal(m.delete(k32(1)), true);
  assert.equal(m.delete(k32(1)), false);
  assert.equal(m.has(k32(2)), true);
  assert.throws(() => m.get(new Uint8Array(2)), { name: 'RangeError', message: 'key must be 4 bytes (got 2)' });
  assert.throws(() => m.set(k32(1), v64(1n), 'sometimes' as 'any'), { name: 'TypeError', message: "mode must be 'any', 'noexist' or 'exist'" });
  assert.throws(() => new HashMap({ keySize: 0, valueSize: 8, maxEntries: 1 }), { name: 'RangeError', message: 'keySize must be between 1 and 4294967295 (got 0)' });
});

test('RingBufMap: records from bpf_ringbuf_output, read and drain', { skip }, () => {
  const rb = new RingBufMap({ size: 4096 });
  const p = Program.fromAssembly(
    `stdw [%r10-8], 0x1234
     lddw %r1, map_by_idx(0)
     mov %r2, %r10
     add %r2, -8
     mov %r3, 8
     mov %r4, 0
     call 130
     exit`,
    { maps: [rb] },
  );
  assert.equal(p.run().r0, 0n);
  assert.equal(p.run().r0, 0n);
  assert.deepEqual(rb.read(), v64(0x1234n));
  assert.deepEqual(rb.drain(), [v64(0x1234n)]);
  assert.equal(rb.read(), undefined);
  assert.throws(() => new RingBufMap({ size: 5000 }), { name: 'RangeError', message: 'size must be a power of two and a multiple of 4096 (got 5000)' });
});

test('createMap picks the class; unsupported types are a RangeError', { skip }, () => {
  assert.ok(createMap({ type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 1 }) instanceof ArrayMap);
  assert.ok(createMap({ type: MapType.Hash, keySize: 8, valueSize: 8, maxEntries: 1 }) instanceof HashMap);
  assert.throws(() => createMap({ type: 9, keySize: 4, valueSize: 4, maxEntries: 1, name: 'x' }), { name: 'RangeError', message: 'map x: unsupported map type 9 (supported: 1 hash, 2 array, 27 ringbuf)' });
});

test('Program.run validates its arguments; faults report a status', { skip }, () => {
  const p = Program.fromAssembly('ldxdw %r0, [%r1+0]\nexit');
  assert.throws(() => p.run('x' as unknown as Uint8Array), { name: 'TypeError', message: 'mem must be a Uint8Array or null' });
  assert.throws(() => p.run(null, { budget: 0 }), { name: 'RangeError', message: `budget must be between 1 and ${Number.MAX_SAFE_INTEGER} (got 0)` });
  const r = p.run(new Uint8Array(4));
  assert.equal(r.status, 'memfault');
  assert.equal(r.faultPc, 0);
  assert.equal(p.run(new Uint8Array(8)).status, 'ok');
  assert.equal(Program.fromAssembly('mov %r0, 0\nja -1').run(null, { budget: 100 }).status, 'budget');
});
