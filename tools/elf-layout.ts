// Where the fields of a valid eBPF object live, for the ELF/BTF fuzzer (tools/fuzz-elf.ts) and the
// directed loader tests (test/security/elf.test.ts): an independent, trusting reader of the seed
// fixtures (which are known good), and little-endian field writers that ignore writes past the end.
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A field: file offset and width in bytes. */
export interface Field {
  readonly off: number;
  readonly width: 1 | 2 | 4 | 8;
}

/** Section header fields by name (offsets inside the 64-byte header). */
export const SHDR = { name: 0, type: 4, flags: 8, offset: 24, size: 32, link: 40, info: 44, entsize: 56 } as const;
export const SHDR_WIDTH = { name: 4, type: 4, flags: 8, offset: 8, size: 8, link: 4, info: 4, entsize: 8 } as const;
/** Symbol fields (offsets inside the 24-byte entry). */
export const SYM = { name: 0, info: 4, shndx: 6, value: 8, size: 16 } as const;
export const SYM_WIDTH = { name: 4, info: 1, shndx: 2, value: 8, size: 8 } as const;
/** Relocation fields (16-byte SHT_REL entry; info split into type and symbol). */
export const REL = { offset: 0, type: 8, sym: 12 } as const;
export const REL_WIDTH = { offset: 8, type: 4, sym: 4 } as const;
/** BTF header fields (offsets inside .BTF). */
export const BTF_HDR = { magic: 0, version: 2, flags: 3, hdr_len: 4, type_off: 8, type_len: 12, str_off: 16, str_len: 20 } as const;

export interface SectionLayout {
  readonly index: number;
  readonly name: string;
  readonly hdr: number;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
}
export interface SymLayout {
  readonly index: number;
  readonly name: string;
  readonly at: number;
  readonly type: number;
  readonly shndx: number;
  readonly value: number;
  readonly size: number;
}
export interface BtfTypeLayout {
  readonly id: number;
  readonly at: number;
  readonly kind: number;
  readonly vlen: number;
  /** File offsets of the u32 fields that hold type ids (size_or_type of ref kinds, array elem, members). */
  readonly typeRefs: readonly number[];
  /** File offsets of the u32 name offsets (the type's and its members'). */
  readonly nameRefs: readonly number[];
}
/** What the fuzzer mutates: the object's structure as file offsets. */
export interface ElfLayout {
  readonly length: number;
  readonly shoff: number;
  readonly sections: readonly SectionLayout[];
  readonly syms: readonly SymLayout[];
  /** Relocation entries of code sections (file offsets of 16-byte entries). */
  readonly codeRels: readonly number[];
  /** Every relocation entry. */
  readonly rels: readonly number[];
  /** String tables (section names, symbol names, BTF strings) as [start, end) file ranges. */
  readonly strtabs: readonly (readonly [number, number])[];
  /** .BTF section file offset, or -1. */
  readonly btf: number;
  readonly btfTypes: readonly BtfTypeLayout[];
}

const REF_KINDS = new Set([2, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18]);

/** Reads the layout of a known-good object (throws plainly on anything unexpected). */
export function elfLayout(b: Uint8Array): ElfLayout {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number): number => dv.getUint16(o, true);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const u64 = (o: number): number => Number(dv.getBigUint64(o, true));
  const shoff = u64(0x28);
  const shnum = u16(0x3c);
  const shstr = shoff + u16(0x3e) * 64;
  const cstr = (o: number): string => {
    let e = o;
    while (b[e] !== 0) e++;
    return Buffer.from(b.subarray(o, e)).toString('latin1');
  };
  const sections: SectionLayout[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * 64;
    sections.push({ index: i, name: cstr(u64(shstr + 24) + u32(h)), hdr: h, type: u32(h + 4), offset: u64(h + 24), size: u64(h + 32), link: u32(h + 40), info: u32(h + 44) });
  }
  const symtab = sections.find((s) => s.type === 2)!;
  const strtab = sections[symtab.link]!;
  const syms: SymLayout[] = [];
  for (let i = 0; i < symtab.size / 24; i++) {
    const at = symtab.offset + i * 24;
    syms.push({ index: i, name: cstr(strtab.offset + u32(at)), at, type: b[at + 4]! & 0xf, shndx: u16(at + 6), value: u64(at + 8), size: u64(at + 16) });
  }
  const rels: number[] = [];
  const codeRels: number[] = [];
  for (const s of sections) {
    if (s.type !== 9) continue;
    const code = sections[s.info]?.name !== undefined && (Number(dv.getBigUint64(sections[s.info]!.hdr + 8, true)) & 4) !== 0;
    for (let o = s.offset; o < s.offset + s.size; o += 16) (code ? codeRels : rels).push(o);
  }
  rels.push(...codeRels);
  const strtabs: [number, number][] = [[sections[u16(0x3e)]!.offset, sections[u16(0x3e)]!.offset + sections[u16(0x3e)]!.size], [strtab.offset, strtab.offset + strtab.size]];
  const btfSec = sections.find((s) => s.name === '.BTF');
  const btfTypes: BtfTypeLayout[] = [];
  if (btfSec) {
    const o = btfSec.offset;
    const hdr = u32(o + 4);
    strtabs.push([o + hdr + u32(o + 16), o + hdr + u32(o + 16) + u32(o + 20)]);
    let p = o + hdr + u32(o + 8);
    const end = p + u32(o + 12);
    for (let id = 1; p < end; id++) {
      const info = u32(p + 4);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const typeRefs: number[] = REF_KINDS.has(kind) ? [p + 8] : [];
      const nameRefs = [p];
      let extra = 0;
      if (kind === 1 || kind === 14 || kind === 17) extra = 4;
      else if (kind === 3) {
        extra = 12;
        typeRefs.push(p + 12, p + 16);
      } else if (kind === 4 || kind === 5) {
        extra = 12 * vlen;
        for (let i = 0; i < vlen; i++) {
          typeRefs.push(p + 12 + i * 12 + 4);
          nameRefs.push(p + 12 + i * 12);
        }
      } else if (kind === 15) {
        extra = 12 * vlen;
        for (let i = 0; i < vlen; i++) typeRefs.push(p + 12 + i * 12);
      } else if (kind === 6 || kind === 13) {
        extra = 8 * vlen;
        for (let i = 0; i < vlen; i++) {
          if (kind === 13) typeRefs.push(p + 12 + i * 8 + 4); // FUNC_PROTO params: {name_off, type}
          nameRefs.push(p + 12 + i * 8);
        }
      } else if (kind === 19) extra = 12 * vlen;
      btfTypes.push({ id, at: p, kind, vlen, typeRefs, nameRefs });
      p += 12 + extra;
    }
  }
  return { length: b.length, shoff, sections, syms, codeRels, rels, strtabs, btf: btfSec ? btfSec.offset : -1, btfTypes };
}

/** Writes an unsigned little-endian value of `width` bytes at `off` (bits past the width dropped; writes past the end ignored). */
export function put(b: Uint8Array, off: number, width: number, v: bigint | number): void {
  let x = BigInt.asUintN(width * 8, BigInt(v));
  for (let i = 0; i < width; i++, x >>= 8n) if (off + i >= 0 && off + i < b.length) b[off + i] = Number(x & 0xffn);
}

/** Reads an unsigned little-endian value (for tests). */
export function get(b: Uint8Array, off: number, width: number): number {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i] ?? 0);
  return Number(v);
}

/** The seed corpus: objects under test/security/fixtures (see its README). */
export function loadFixtures(): { name: string; bytes: Uint8Array; layout: ElfLayout }[] {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'security', 'fixtures');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.o'))
    .sort()
    .map((f) => {
      const bytes = new Uint8Array(readFileSync(join(dir, f)));
      return { name: f, bytes, layout: elfLayout(bytes) };
    });
}
