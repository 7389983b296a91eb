// Issue #9 item 10: the ELF/BTF loader on hostile objects. Each class of malformation gives a
// ProgramError 'EELF' naming the section, symbol or offset at fault, promptly and within bounded
// memory (never a DataView RangeError, a TypeError, an OOM or a hang); then a fixed-seed run of
// the mutation fuzzer (tools/fuzz-elf.ts) in a heap-capped child process.
// Fixtures: test/security/fixtures (see its README), so no clang is needed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseObject, loadObject, ProgramError, engineAvailable, MAX_INSNS } from '../../src/programs/index.js';
import { LOADER_LIMITS } from '../../src/programs/loader-bytes.js';
import { CPU_TIME_SCALE } from '../helpers.js';
import { loadFixtures, put, get, SHDR, SYM, REL, BTF_HDR, type ElfLayout } from '../../tools/elf-layout.js';
import { buildElf, insn, concat, rels, symtabIndex } from '../../tools/elf-build.js';
import { runIsolated } from '../../tools/fuzz-elf-runner.js';

const fixtures = loadFixtures();
const noEngine = engineAvailable() ? false : 'native eBPF engine not built';

/** A fresh copy of a fixture and its layout. */
function fixture(name: string): { b: Uint8Array; L: ElfLayout } {
  const f = fixtures.find((x) => x.name === name) ?? assert.fail(`fixture ${name}`);
  return { b: f.bytes.slice(), L: f.layout };
}
const sec = (L: ElfLayout, name: string) => L.sections.find((s) => s.name === name) ?? assert.fail(`section ${name}`);
const sym = (L: ElfLayout, name: string) => L.syms.find((s) => s.name === name) ?? assert.fail(`symbol ${name}`);
const btfType = (L: ElfLayout, id: number) => L.btfTypes.find((t) => t.id === id) ?? assert.fail(`BTF type ${id}`);

/** parseObject(b) (or load) fails with EELF, a message matching re, quickly. */
function eelf(b: Uint8Array, re: RegExp, load: (b: Uint8Array) => unknown = parseObject): void {
  const t0 = performance.now();
  assert.throws(
    () => load(b),
    (e: unknown) => {
      assert.ok(e instanceof ProgramError, `expected ProgramError, got ${String(e)}`);
      assert.equal(e.code, 'EELF', e.message);
      assert.match(e.message, re);
      return true;
    },
  );
  assert.ok(performance.now() - t0 < 3000 * CPU_TIME_SCALE, `took ${performance.now() - t0} ms`);
}

test('the seed fixtures load and verify (the fuzzer starts from valid objects)', { skip: noEngine }, () => {
  assert.ok(fixtures.length >= 10);
  for (const f of fixtures) {
    const obj = loadObject(f.bytes);
    assert.ok(obj.programs.length > 0, f.name);
  }
});

test('symbol size or value past its section (the V8 OOM of issue #9)', () => {
  const heap = process.memoryUsage().heapUsed;
  for (const size of [2 ** 40, 704 + 8, 2 ** 52]) {
    const { b, L } = fixture('features.o');
    put(b, sym(L, 'features').at + SYM.size, 8, size);
    eelf(b, new RegExp(`function symbol 10 \\(features\\) in section 3 \\(iouring/features\\): value 0 \\+ size ${size} runs past the section \\(704 bytes\\)`));
  }
  const { b, L } = fixture('features.o');
  put(b, sym(L, 'features').at + SYM.size, 8, 2n ** 63n);
  eelf(b, /symbol 10 \(features\) st_size is 0x8000000000000000, larger than any offset or size in a file/);
  put(b, sym(L, 'features').at + SYM.size, 8, 704);
  put(b, sym(L, 'square').at + SYM.value, 8, 4);
  eelf(b, /function symbol 6 \(square\) in section 2 \(\.text\): value 4 or size 24 is not a multiple of 8/);
  put(b, sym(L, 'square').at + SYM.value, 8, 16);
  eelf(b, /function symbol 6 \(square\) in section 2 \(\.text\): bytes 16\.\.40 overlap function symbol 7 \(add_index\) at 24/);
  assert.ok(process.memoryUsage().heapUsed - heap < 64 * 2 ** 20, 'no large allocation');
});

test('section offset or size past the file', () => {
  let { b, L } = fixture('features.o');
  put(b, sec(L, '.text').hdr + SHDR.size, 8, b.length);
  eelf(b, new RegExp(`section 2 \\(\\.text\\): offset 64 \\+ size ${b.length} runs past the end of the file \\(${b.length} bytes\\)`));
  ({ b, L } = fixture('features.o'));
  put(b, sec(L, '.symtab').hdr + SHDR.offset, 8, 2 ** 53);
  eelf(b, /section 16 header sh_offset is 0x20000000000000, larger than any offset or size in a file/);
  ({ b, L } = fixture('features.o'));
  put(b, sec(L, '.symtab').hdr + SHDR.size, 8, 24 * 1e9);
  eelf(b, /section 16 \(\.symtab\): offset 3688 \+ size 24000000000 runs past the end of the file/);
  // Truncated file: the section header table is cut off.
  eelf(fixture('features.o').b.slice(0, 5000), /section header table out of bounds \(e_shoff 5272 \+ 17 entries of 64 bytes > file size 5000\)/);
  // SHT_NOBITS sizes are not backed by the file: never allocated, capped as map memory.
  ({ b, L } = fixture('features.o'));
  put(b, sec(L, '.bss').hdr + SHDR.size, 8, 2 ** 40);
  eelf(b, /section 9 \(\.bss\): 1099511627776 bytes of global data do not fit a map value/);
  put(b, sec(L, '.bss').hdr + SHDR.size, 8, 2 ** 31);
  eelf(b, /map \.bss: the object's maps declare more than 1073741824 bytes/);
  ({ b, L } = fixture('features.o'));
  put(b, sec(L, '.BTF').hdr + SHDR.type, 4, 8);
  eelf(b, /section 11 \(\.BTF\): section type 8 has no data in the file/);
});

test('string offsets out of range or unterminated', () => {
  let { b, L } = fixture('features.o');
  put(b, sec(L, '.text').hdr + SHDR.name, 4, 0x7fffffff);
  eelf(b, /section 2: name offset 2147483647 is outside section 1 \(section names\) \(222 bytes\)/);
  ({ b, L } = fixture('features.o'));
  put(b, sym(L, 'features').at + SYM.name, 4, 222);
  eelf(b, /symbol 10: name offset 222 is outside section 1 \(\.strtab\) \(222 bytes\)/);
  ({ b, L } = fixture('features.o'));
  const st = sec(L, '.strtab');
  b.fill(0x41, st.offset + st.size - 40, st.offset + st.size);
  eelf(b, /name at offset \d+ of section 1 \((section names|\.strtab)\) has no terminating NUL/);
  ({ b, L } = fixture('features.o'));
  put(b, btfType(L, 13).at, 4, 0xffffffff);
  eelf(b, /\.BTF: type 13: name offset 4294967295 is outside the BTF string section/);
  ({ b, L } = fixture('features.o'));
  const btf = sec(L, '.BTF');
  const strEnd = btf.offset + get(b, btf.offset + 4, 4) + get(b, btf.offset + BTF_HDR.str_off, 4) + get(b, btf.offset + BTF_HDR.str_len, 4);
  b[strEnd - 1] = 0x41;
  eelf(b, /\.BTF: string section must start with an empty string and end with a NUL/);
  // One long name referred to at every offset: decoding is capped by the table's own size.
  const syms = [{ name: 'A'.repeat(3000), info: 0, shndx: 1, value: 0, size: 0 }, ...Array.from({ length: 3000 }, (_, i) => ({ name: '', nameOff: 2 + i, info: 0, shndx: 1, value: 0, size: 0 }))];
  eelf(buildElf([{ name: '.text', type: 1, flags: 6, data: insn(0x95) }], syms), /symbol \d+: names decoded from section 3 \(\.strtab\) exceed \d+ bytes \(overlapping names\)/);
  assert.equal(parseObject(buildElf([{ name: '.text', type: 1, flags: 6, data: insn(0x95) }], syms.slice(0, 3))).programs.length, 1, 'a few overlapping names are fine');
});

test('relocations to bad symbols or offsets', () => {
  const rel = (L: ElfLayout, i = 0): number => L.codeRels[i]!;
  let { b, L } = fixture('features.o');
  put(b, rel(L) + REL.sym, 4, 5000);
  eelf(b, /section 4 \(\.reliouring\/features\) entry 0: symbol index 5000 is past the symbol table \(17 symbols\)/);
  ({ b, L } = fixture('features.o'));
  put(b, rel(L) + REL.offset, 8, 4);
  eelf(b, /section 4 \(\.reliouring\/features\) entry 0: offset 4 is not an instruction of section 3 \(iouring\/features\) \(704 bytes\)/);
  put(b, rel(L) + REL.offset, 8, 2 ** 50);
  eelf(b, /entry 0: offset 1125899906842624 is not an instruction of section 3/);
  ({ b, L } = fixture('features.o'));
  put(b, rel(L) + REL.type, 4, 3);
  eelf(b, /entry 0: relocation type 3 is not supported in code \(R_BPF_64_64 1, R_BPF_64_32 10\)/);
  ({ b, L } = fixture('features.o'));
  put(b, rel(L) + REL.sym, 4, 0);
  eelf(b, /relocation at section 3 \(iouring\/features\)\+\d+: symbol 0 \(unnamed\) is undefined \(an extern; externs are not supported\)/);
  ({ b, L } = fixture('features.o'));
  const target = L.syms[get(b, rel(L) + REL.sym, 4)]!;
  put(b, target.at + SYM.shndx, 2, 0xfff1);
  eelf(b, /has section index 0xfff1, not a section of this file \(e_shnum 17\)/);
  ({ b, L } = fixture('features.o'));
  put(b, rel(L) + REL.offset, 8, 0); // onto the first instruction, which is not an ld_imm64
  eelf(b, /section 3 \(iouring\/features\)\+0: R_BPF_64_\d+ is (on opcode \d+, not an ld_imm64|not on a BPF-to-BPF call)/);
  ({ b, L } = fixture('features.o'));
  put(b, sym(L, 'runs').at + SYM.value, 8, 4096); // .data reference past the section
  eelf(b, /reference to symbol 14 \(runs\) in section 7 \(\.data\)\+4096 is outside the section \(8 bytes\)/);
  ({ b, L } = fixture('features.o'));
  put(b, sec(L, '.reliouring/features').hdr + SHDR.link, 4, 1);
  eelf(b, /section 4 \(\.reliouring\/features\): sh_link 1 is not the symbol table \(section 16\)/);
  put(b, sec(L, '.reliouring/features').hdr + SHDR.link, 4, 16);
  put(b, sec(L, '.reliouring/features').hdr + SHDR.entsize, 8, 24);
  eelf(b, /section 4 \(\.reliouring\/features\): entry size 24, expected 16/);
});

test('bad e_shstrndx, e_shnum, e_shentsize', () => {
  const { b, L } = fixture('features.o');
  for (const [v, re] of [
    [17, /e_shstrndx 17 is not a section \(e_shnum 17\)/],
    [0xffff, /e_shstrndx 65535 is not a section/],
    [2, /e_shstrndx 2 is section type 1, not a string table \(SHT_STRTAB\)/],
    [0, /e_shstrndx 0 is section type 0, not a string table/],
  ] as const) {
    put(b, 0x3e, 2, v);
    eelf(b, re);
  }
  put(b, 0x3e, 2, 1);
  put(b, 0x3c, 2, 0xffff);
  eelf(b, /section header table out of bounds \(e_shoff 5272 \+ 65535 entries of 64 bytes > file size 6360\)/);
  put(b, 0x3c, 2, 0);
  eelf(b, /e_shnum is 0: no section headers/);
  put(b, 0x3c, 2, L.sections.length);
  put(b, 0x3a, 2, 32);
  eelf(b, /e_shentsize is 32, expected 64/);
});

test('overlapping, cyclic and oversized BTF', () => {
  const btfAt = (L: ElfLayout): number => sec(L, '.BTF').offset;
  let { b, L } = fixture('features.o');
  put(b, btfAt(L) + BTF_HDR.str_off, 4, get(b, btfAt(L) + BTF_HDR.type_off, 4));
  eelf(b, /\.BTF: type section \d+\.\.\d+ overlaps string section \d+\.\.\d+/);
  // typedef __u32 (8) -> itself: the key size of every map using it never resolves.
  ({ b, L } = fixture('features.o'));
  put(b, btfType(L, 8).typeRefs[0]!, 4, 8);
  eelf(b, /\.BTF: type 7: chain of modifiers longer than 32 \(a cycle\?\)|type 8: chain of modifiers/);
  // value -> array 3 whose element is itself (nelems 1: the size never grows, the walk must stop).
  ({ b, L } = fixture('features.o'));
  put(b, btfType(L, 10).typeRefs[0]!, 4, 3);
  put(b, btfType(L, 3).typeRefs[0]!, 4, 3);
  eelf(b, /\.BTF: type 3: arrays nested deeper than 32 \(a cycle\?\)/);
  // value -> array of 16 x array 6 ... whose sizes multiply past 2^32.
  ({ b, L } = fixture('features.o'));
  put(b, btfType(L, 10).typeRefs[0]!, 4, 6);
  put(b, btfType(L, 6).typeRefs[0]!, 4, 6);
  eelf(b, /\.BTF: type 6: array sizes multiply past 2\^32/);
  // A type id past the last type.
  ({ b, L } = fixture('features.o'));
  put(b, btfType(L, 10).typeRefs[0]!, 4, 0x7fffffff);
  eelf(b, /\.BTF: type 10 \(PTR\): its type refers to type 2147483647, past the last type \(\d+\)/);
  // Huge counts: vlen 0xffff on a struct, type_len past the section, hdr_len past it.
  ({ b, L } = fixture('features.o'));
  put(b, btfType(L, 13).at + 4, 4, (4 << 24) | 0xffff);
  eelf(b, /\.BTF: type 13 at offset \d+ needs 786420 bytes, past the end of the type section/);
  ({ b, L } = fixture('features.o'));
  put(b, btfAt(L) + BTF_HDR.type_len, 4, 0xfffffffc);
  eelf(b, /\.BTF: type section \(hdr_len 24 \+ type_off 0, type_len 4294967292\) runs past the end \(1944 bytes\)/);
  put(b, btfAt(L) + BTF_HDR.hdr_len, 4, 0xffffffff);
  eelf(b, /\.BTF: hdr_len 4294967295 is outside 24\.\.1944/);
});

test('map declarations the engine refuses are EELF naming the map', { skip: noEngine }, () => {
  const { b, L } = fixture('features.o');
  // squares' __uint(type, 1) -> ARRAY[1]; point the PTR at ARRAY[16] (type 16: unsupported).
  put(b, btfType(L, 1).typeRefs[0]!, 4, 6);
  eelf(b, /^elf: map squares \(btf\): map squares: unsupported map type 16/, loadObject);
  const legacy = fixture('legacy.o');
  const m = sec(legacy.L, 'maps');
  put(legacy.b, m.offset + 8, 4, 0); // value_size 0
  eelf(legacy.b, /^elf: map hits \(legacy\): valueSize must be between 1 and 4294967295 \(got 0\)/, loadObject);
});

test('huge counts: linked instructions, maps, programs are capped by LOADER_LIMITS', () => {
  // One 60,000-instruction subprogram called by 20 programs: linked copies stop at 2^20 instructions.
  const big = concat([...Array.from({ length: 59_999 }, () => insn(0xb7)), insn(0x95)]);
  const progs = concat(Array.from({ length: 20 }, () => concat([insn(0x85, 0, 1, 0, -1), insn(0x95)])));
  const n = 3;
  const syms = [
    { name: 'big', info: 0x02, shndx: 1, value: 0, size: big.length },
    ...Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, info: 0x12, shndx: 2, value: i * 16, size: 16 })),
  ];
  const obj = buildElf(
    [
      { name: '.text', type: 1, flags: 6, data: big },
      { name: 'iouring/p', type: 1, flags: 6, data: progs },
      { name: '.reliouring/p', type: 9, link: symtabIndex(n), info: 2, entsize: 16, data: rels(Array.from({ length: 20 }, (_, i) => ({ offset: i * 16, sym: 1, type: 10 }))) },
    ],
    syms,
  );
  eelf(obj, new RegExp(`program p17: the object's programs add up to more than ${LOADER_LIMITS.linkedInsns} linked instructions`));
  // One function longer than the verifier's MAX_INSNS.
  const long = concat([...Array.from({ length: MAX_INSNS }, () => insn(0xb7)), insn(0x95)]);
  eelf(buildElf([{ name: 'iouring/x', type: 1, flags: 6, data: long }], [{ name: 'x', info: 0x12, shndx: 1, value: 0, size: long.length }]), new RegExp(`program x: its code and subprograms add up to more than ${MAX_INSNS} instructions`));
  // 1,100 legacy maps.
  const defs = new Uint8Array(1100 * 20);
  const dv = new DataView(defs.buffer);
  for (let i = 0; i < 1100; i++) [2, 4, 8, 1].forEach((v, k) => dv.setUint32(i * 20 + k * 4, v, true));
  const maps = Array.from({ length: 1100 }, (_, i) => ({ name: `m${i}`, info: 0x11, shndx: 2, value: i * 20, size: 20 }));
  eelf(buildElf([{ name: '.text', type: 1, flags: 6, data: insn(0x95) }, { name: 'maps', type: 1, flags: 3, data: defs }], maps), /map m1024: the object declares more than 1024 maps/);
  // A call into the gap between functions, and one outside the section.
  const code = concat([insn(0x85, 0, 1, 0, 1), insn(0x95), insn(0xb7), insn(0x95)]);
  const fsyms = [{ name: 'f', info: 0x12, shndx: 1, value: 0, size: 16 }, { name: 'g', info: 0x02, shndx: 1, value: 24, size: 8 }];
  eelf(buildElf([{ name: 'iouring/f', type: 1, flags: 6, data: code }], fsyms), /section 1 \(iouring\/f\)\+0: target instruction 2 of section 1 \(iouring\/f\) is not inside a function/);
  code[4] = 100;
  eelf(buildElf([{ name: 'iouring/f', type: 1, flags: 6, data: code }], fsyms), /section 1 \(iouring\/f\)\+0: target instruction 101 is outside section 1 \(iouring\/f\) \(4 instructions\)/);
});

test('fuzz: 2,500 mutated objects in a heap-capped child, every outcome a ProgramError or a load', { timeout: 120_000 * CPU_TIME_SCALE }, async () => {
  const r = await runIsolated({ seed: 20251126, count: 2500, heapMb: 192, timeLimitMs: 5000 * CPU_TIME_SCALE, hangMs: 30_000 * CPU_TIME_SCALE });
  assert.deepEqual(r.findings, []);
  assert.equal(r.stats.cases, 2500);
  assert.ok(r.stats.elfRejected > 1000, `EELF ${r.stats.elfRejected}`);
  assert.ok(r.stats.verified > 200, `verified ${r.stats.verified}`);
  assert.ok(Object.keys(r.stats.messages).length > 100, 'many different malformations reached');
});
