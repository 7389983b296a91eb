// ELF loader: C programs compiled by clang -O2 -target bpf, loaded, verified and run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseObject, verifyProgram, loadObject, loadProgram, engineAvailable, readTrace, ProgramError, MapType, MapFlags, ArrayMap, HashMap } from '../../src/programs/index.js';
import { noClang } from '../ring-programs-util.js';
import { processDir } from '../helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cDir = join(root, 'test', 'programs', 'c');
const noEngine = engineAvailable() ? false : 'native eBPF engine not built';
const out = processDir('rf-bpf-');

function compile(name: string, extra: string[] = ['-g']): Uint8Array {
  const o = join(out(), name.replace(/\.c$/, '.o'));
  const r = spawnSync('clang', ['-O2', '-target', 'bpf', ...extra, '-I', join(root, 'include'), '-c', join(cDir, name), '-o', o], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(o);
}

test('features.c: maps (BTF, legacy), globals, subprogram, loops, bpf_loop, trace_printk', { skip: noClang || noEngine }, () => {
  const elf = compile('features.c');
  const spec = parseObject(elf);
  assert.deepEqual(spec.programs.map((p) => [p.section, p.name, p.kind]), [['iouring/features', 'features', 'iouring']]);
  assert.deepEqual(
    spec.maps.filter((m) => m.origin !== 'data').map((m) => [m.name, m.origin, m.type, m.keySize, m.valueSize, m.maxEntries]),
    [
      ['squares', 'btf', MapType.Hash, 4, 8, 16],
      ['counters', 'btf', MapType.Array, 4, 8, 4],
      ['legacy', 'legacy', MapType.Array, 4, 8, 2],
    ],
  );
  const ro = spec.maps.find((m) => m.name === '.rodata')!;
  assert.equal(ro.flags, MapFlags.RdonlyProg);
  const v = verifyProgram(spec.programs[0]!.insns, { maps: spec.maps, kind: 'iouring' });
  assert.equal(v.subprograms.length, 3, 'main + square + bpf_loop callback');
  assert.deepEqual(v.helpers, [1, 2, 6, 181]);

  const obj = loadObject(elf);
  const prog = obj.program('features');
  readTrace();
  for (const [n, sum, acc] of [[5, 30, 10], [3, 5, 3]] as const) {
    const mem = new Uint8Array(16);
    new DataView(mem.buffer).setUint32(0, n, true);
    const r = prog.run(mem);
    assert.equal(r.status, 'ok');
    assert.equal(r.r0, BigInt(sum + acc));
    assert.equal(new DataView(mem.buffer).getBigUint64(8, true), BigInt(sum * 3), 'in->out = sum * multiplier (.rodata)');
    assert.equal((obj.maps.get('legacy') as ArrayMap).view(0).getBigUint64(0, true), BigInt(acc));
    assert.equal((obj.maps.get('.bss') as ArrayMap).view(0).getBigUint64(0, true), BigInt(sum));
  }
  assert.equal((obj.maps.get('counters') as ArrayMap).view(0).getBigUint64(0, true), 2n);
  assert.equal((obj.maps.get('.data') as ArrayMap).view(0).getBigUint64(0, true), 102n, 'runs starts at 100');
  const squares = obj.maps.get('squares') as HashMap;
  assert.equal(squares.size, 5);
  assert.equal(new DataView(squares.get(Uint8Array.of(4, 0, 0, 0))!.buffer).getBigUint64(0, true), 16n);
  assert.match(readTrace(), /sum 30 acc 10[\s\S]*sum 5 acc 3/);
});

test('ring.c: prototype-style program with ring helpers compiles, loads and verifies', { skip: noClang || noEngine }, () => {
  const elf = compile('ring.c');
  const obj = loadObject(elf);
  assert.deepEqual(obj.programs.map((p) => [p.name, p.kind]), [['pingpong', 'iouring.s'], ['emit', 'iouring']]);
  assert.deepEqual(obj.program('pingpong').verification.helpers, [1, 164, 165, 166]);
  assert.equal(loadProgram(elf, { section: 'iouring/emit' }).name, 'emit');
});

test('.maps without BTF is a clear error', { skip: noClang }, () => {
  const elf = compile('ring.c', []);
  assert.throws(() => parseObject(elf), { message: 'elf: section .maps needs BTF (.BTF section missing: compile with -g)' });
});

test('malformed ELF: clear errors', () => {
  const e = (b: Uint8Array, msg: string): void => {
    assert.throws(() => parseObject(b), (x: unknown) => x instanceof ProgramError && x.code === 'EELF' && x.message === msg);
  };
  e(new Uint8Array(10), 'elf: file too small for an ELF header (10 bytes)');
  e(new Uint8Array(64), 'elf: not an ELF file (bad magic)');
  const h = new Uint8Array(64);
  h.set([0x7f, 0x45, 0x4c, 0x46, 1, 1]);
  e(h, 'elf: not a 64-bit ELF (EI_CLASS must be ELFCLASS64)');
  h[4] = 2;
  h[5] = 2;
  e(h, 'elf: not a little-endian ELF (EI_DATA must be ELFDATA2LSB)');
  h[5] = 1;
  h[18] = 62;
  e(h, 'elf: e_machine is 62, expected EM_BPF (247): compile with -target bpf');
  h[18] = 247;
  h[0x3a] = 64;
  h[0x3c] = 4;
  h[0x28] = 200;
  e(h, 'elf: section header table out of bounds (e_shoff 200 + 4 entries of 64 bytes > file size 64)');
  assert.throws(() => parseObject('x' as unknown as Uint8Array), { name: 'TypeError', message: 'elf must be a Uint8Array' });
});

test('loadProgram: unknown section', { skip: noClang || noEngine }, () => {
  const elf = compile('ring.c');
  assert.throws(() => loadProgram(elf, { section: 'nope' }), { message: 'elf: no program in section or named nope (have iouring.s/pingpong, iouring/emit)' });
});

test('legacy.c: plain clang -O2 -target bpf -c (no -g), legacy map, ctx access', { skip: noClang || noEngine }, () => {
  const elf = compile('legacy.c', []);
  const obj = loadObject(elf);
  const p = obj.program('iouring/count');
  const ctx = new Uint8Array(16);
  new DataView(ctx.buffer).setBigUint64(0, 7n, true);
  assert.equal(p.run(ctx).status, 'ok');
  assert.equal(p.run(ctx).r0, 0n);
  assert.equal((obj.maps.get('hits') as ArrayMap).view(0).getBigUint64(0, true), 14n);
});
