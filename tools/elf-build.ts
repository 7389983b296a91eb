// A minimal ELF64 (EM_BPF, ET_REL) writer for loader tests that need shapes clang does not make
// (thousands of symbols, huge functions, many programs sharing one subprogram).
// Layout: [ehdr][section data...][section headers]; section 0 is NULL, the caller's sections are
// 1..n, then .shstrtab (n+1), .strtab (n+2) and .symtab (n+3).

/** A section to write (data, or size for SHT_NOBITS). */
export interface BuildSection {
  name: string;
  type: number;
  flags?: number;
  data?: Uint8Array;
  size?: number;
  link?: number;
  info?: number;
  entsize?: number;
}

/** A symbol to write (symbol 0, the null symbol, is added). */
export interface BuildSym {
  name: string;
  /** st_info: (bind << 4) | type. */
  info: number;
  shndx: number;
  value: number;
  size: number;
  /** st_name to write instead of the name's own offset (names sharing bytes). */
  nameOff?: number;
}

/** Index of .symtab for `n` caller sections (relocation sections link to it). */
export const symtabIndex = (n: number): number => n + 3;

/** An eBPF instruction (8 bytes). */
export function insn(opcode: number, dst = 0, src = 0, off = 0, imm = 0): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = opcode;
  b[1] = (src << 4) | dst;
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** SHT_REL entries (r_offset, symbol, type). */
export function rels(entries: readonly { offset: number; sym: number; type: number }[]): Uint8Array {
  const b = new Uint8Array(entries.length * 16);
  const dv = new DataView(b.buffer);
  entries.forEach((e, i) => {
    dv.setBigUint64(i * 16, BigInt(e.offset), true);
    dv.setUint32(i * 16 + 8, e.type, true);
    dv.setUint32(i * 16 + 12, e.sym, true);
  });
  return b;
}

/** Writes the object. */
export function buildElf(sections: readonly BuildSection[], syms: readonly BuildSym[]): Uint8Array {
  const enc = new TextEncoder();
  const table = (names: readonly string[]): { bytes: Uint8Array; offs: number[] } => {
    const offs: number[] = [];
    const parts: Uint8Array[] = [Uint8Array.of(0)];
    let o = 1;
    for (const n of names) {
      offs.push(o);
      const b = enc.encode(`${n}\0`);
      parts.push(b);
      o += b.length;
    }
    return { bytes: concat(parts), offs };
  };
  const n = sections.length;
  const symStr = table(syms.map((s) => s.name));
  const symtab = new Uint8Array((syms.length + 1) * 24);
  const sdv = new DataView(symtab.buffer);
  syms.forEach((s, i) => {
    const o = (i + 1) * 24;
    sdv.setUint32(o, s.nameOff ?? symStr.offs[i]!, true);
    symtab[o + 4] = s.info;
    sdv.setUint16(o + 6, s.shndx, true);
    sdv.setBigUint64(o + 8, BigInt(s.value), true);
    sdv.setBigUint64(o + 16, BigInt(s.size), true);
  });
  const all: BuildSection[] = [
    ...sections,
    { name: '.shstrtab', type: 3 },
    { name: '.strtab', type: 3, data: symStr.bytes },
    { name: '.symtab', type: 2, data: symtab, link: n + 2, info: 1, entsize: 24 },
  ];
  const shStr = table(all.map((s) => s.name));
  all[n] = { ...all[n]!, data: shStr.bytes };
  let off = 64;
  const placed = all.map((s) => {
    off = (off + 7) & ~7;
    const at = off;
    if (s.type !== 8) off += s.data?.length ?? 0;
    return at;
  });
  const shoff = (off + 7) & ~7;
  const out = new Uint8Array(shoff + (all.length + 1) * 64);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 1, true); // ET_REL
  dv.setUint16(18, 247, true); // EM_BPF
  dv.setUint32(20, 1, true);
  dv.setBigUint64(0x28, BigInt(shoff), true);
  dv.setUint16(0x34, 64, true);
  dv.setUint16(0x3a, 64, true);
  dv.setUint16(0x3c, all.length + 1, true);
  dv.setUint16(0x3e, n + 1, true);
  all.forEach((s, i) => {
    const h = shoff + (i + 1) * 64;
    if (s.type !== 8 && s.data) out.set(s.data, placed[i]!);
    dv.setUint32(h, shStr.offs[i]!, true);
    dv.setUint32(h + 4, s.type, true);
    dv.setBigUint64(h + 8, BigInt(s.flags ?? 0), true);
    dv.setBigUint64(h + 24, BigInt(placed[i]!), true);
    dv.setBigUint64(h + 32, BigInt(s.type === 8 ? (s.size ?? 0) : (s.data?.length ?? 0)), true);
    dv.setUint32(h + 40, s.link ?? 0, true);
    dv.setUint32(h + 44, s.info ?? 0, true);
    dv.setBigUint64(h + 48, 8n, true);
    dv.setBigUint64(h + 56, BigInt(s.entsize ?? 0), true);
  });
  return out;
}
