// The JIT's contract with the rest of the engine (native/bpf/jit.c): which programs it compiles,
// the jit option, and the paths it inlines (array-map lookups, map value regions) against the
// interpreter, result for result. Instruction-level coverage is in the differential fuzzer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayMap, HashMap, Program, engineAvailable } from '../../src/programs/index.js';

const skip = !engineAvailable() ? 'native eBPF engine not built' : process.arch !== 'x64' ? `no JIT for ${process.arch}: programs are interpreted` : false;
const k32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const v64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);

/** Runs p compiled and interpreted; they must agree; returns the compiled result. */
function agree(p: Program, mem: Uint8Array | null = null, budget?: number) {
  assert.ok(p.jitBytes > 0, 'compiled');
  const { result, difference } = p.compareRuns(mem, budget === undefined ? {} : { budget });
  assert.equal(difference, undefined);
  return result;
}

/** Looks up the key r2 points to (set up by `keyCode`) in map `map`; r0 = `load` from the value
 *  (r0 = its address), or 99 when the lookup returns NULL. */
const lookupThen = (keyCode: string, map: number, load: string) => Program.fromAssembly(
  `${keyCode}
   lddw %r1, map_by_idx(${map})
   call 1
   jeq %r0, 0, +2
   ${load}
   exit
   mov %r0, 99
   exit`,
  { maps: maps() },
);
const inFrame = (key: string) => `stw [%r10-4], ${key}\nmov %r2, %r10\nadd %r2, -4`;
// r0 = the value's first u64
const lookup = (key: string, map = 0) => lookupThen(inFrame(key), map, 'ldxdw %r0, [%r0+0]');
let shared: [ArrayMap, ArrayMap, HashMap] | undefined;
function maps(): [ArrayMap, ArrayMap, HashMap] {
  if (!shared) {
    const a = new ArrayMap({ valueSize: 8, maxEntries: 4 });
    const b = new ArrayMap({ valueSize: 12, maxEntries: 3 }); // stride 16
    const h = new HashMap({ keySize: 4, valueSize: 8, maxEntries: 4 });
    for (let i = 0; i < 4; i++) a.set(i, v64(BigInt(100 + i)));
    for (let i = 0; i < 3; i++) b.view(i).setBigUint64(0, BigInt(200 + i), true);
    h.set(k32(7), v64(700n));
    shared = [a, b, h];
  }
  return shared;
}

test('JIT: array-map lookups resolve inline like the helper: every index, past the end, second map, hash map through the helper', { skip }, () => {
  for (let i = 0; i < 4; i++) assert.equal(agree(lookup(String(i))).r0, BigInt(100 + i));
  assert.equal(agree(lookup('4')).r0, 99n, 'index == maxEntries: NULL');
  assert.equal(agree(lookup('-1')).r0, 99n, 'index 0xffffffff: NULL');
  assert.equal(agree(lookup('2', 1)).r0, 202n, 'a map with a 16-byte stride');
  assert.equal(agree(lookup('3', 1)).r0, 99n);
  assert.equal(agree(lookup('7', 2)).r0, 700n, 'hash map: the helper');
  assert.equal(agree(lookup('8', 2)).r0, 99n);
});

test('JIT: a lookup whose key is not in the frame goes through the helper (key in the run memory)', { skip }, () => {
  const q = lookupThen('mov %r2, %r1', 0, 'ldxdw %r0, [%r0+0]');
  const mem = new Uint8Array(8);
  mem.set(k32(3));
  assert.equal(agree(q, mem).r0, 103n);
});

test('JIT: map value bounds checked with constants: the last byte of the storage is in, one past it faults', { skip }, () => {
  // map 0 storage: 4 values x 8 bytes = 32 bytes; value 3 starts at +24
  const at = (off: number, size: 'b' | 'dw') => lookupThen(inFrame('3'), 0, `ldx${size} %r0, [%r0${off >= 0 ? '+' : ''}${off}]`);
  assert.equal(agree(at(7, 'b')).status, 'ok');
  assert.equal(agree(at(0, 'dw')).r0, 103n);
  const past = agree(at(8, 'b'));
  assert.equal(past.status, 'memfault');
  assert.equal(past.faultPc, 7); // lddw takes two slots
  assert.equal(agree(at(1, 'dw')).status, 'memfault', 'an 8-byte load straddling the end');
  assert.equal(agree(at(-24, 'dw')).r0, 100n, 'value 0 from value 3');
  assert.equal(agree(at(-25, 'b')).status, 'memfault', 'one before the storage');
});

test('JIT: what is compiled: not programs with subprogram calls or bpf_loop; jit: false interprets; the option is type-checked', { skip }, () => {
  const plain = Program.fromAssembly('mov %r0, 7\nexit');
  assert.ok(plain.jitBytes > 0);
  const off = Program.fromAssembly('mov %r0, 7\nexit', { jit: false });
  assert.equal(off.jitBytes, 0);
  assert.equal(off.run().r0, 7n);
  const sub = Program.fromAssembly('call local sub\nexit\nsub:\nmov %r0, 3\nexit');
  assert.equal(sub.jitBytes, 0, 'local call: interpreted');
  assert.equal(sub.run().r0, 3n);
  assert.throws(() => Program.fromAssembly('mov %r0, 7\nexit', { jit: 'yes' as unknown as boolean }), { name: 'TypeError', message: 'jit must be a boolean' });
});

test('JIT: budget stops, faults and helper stops report the interpreter\'s counts', { skip }, () => {
  const loop = Program.fromAssembly('mov %r0, 0\nadd %r0, 1\njlt %r0, 100000, -2\nexit');
  for (const budget of [1, 2, 3, 1000, 1001]) {
    const r = agree(loop, null, budget);
    assert.equal(r.status, 'budget');
    assert.equal(r.insns, budget);
  }
  const fault = agree(Program.fromAssembly('mov %r0, 1\nldxdw %r0, [%r1+0]\nexit')); // no memory: r1 = 0
  assert.deepEqual([fault.status, fault.insns, fault.faultPc], ['memfault', 2, 1]);
  const unaligned = agree(Program.fromAssembly('mov %r0, 0\nstdw [%r10-16], 0\nmov %r1, 1\nlock add [%r10-12], %r1\nexit'));
  assert.deepEqual([unaligned.status, unaligned.faultPc], ['memfault', 3]);
});
