/**
 * ELF loader for objects from `clang -O2 -target bpf -c` (ELF64, little-endian, EM_BPF 247).
 * Pure parsing and linking: returns program instructions with relocations applied and the map
 * specs they refer to by index; program.ts creates the maps through the native binding.
 *
 * - Programs: every executable section except .text, one per global function symbol in it
 *   (section names decide the kind: SEC("iouring/...") → 'iouring', SEC("iouring.s/...") →
 *   'iouring.s', anything else 'standard'). If .text is the only code, its global functions are.
 * - Subprograms: the .text functions a program calls (R_BPF_64_32 or pc-relative calls) or takes
 *   the address of (R_BPF_64_64 on ld_imm64, e.g. a bpf_loop callback) are appended after it and
 *   the call / code_addr offsets fixed up.
 * - Maps: BTF-defined in SEC(".maps") (needs .BTF, i.e. -g), legacy struct bpf_map_def in
 *   SEC("maps"), and global data .data* / .rodata* / .bss* as one-entry array maps (.rodata*
 *   read-only for programs). ld_imm64 map references become src 5 (map_by_idx) and global data
 *   references src 6 (map_value_by_idx, offset in the second slot).
 */
import { Btf, btfMaps } from './btf.js';
import { MapType, MapFlags } from './binding.js';
import { ProgramError } from './errors.js';
import type { ProgramKind } from './helpers.js';
import type { MapInfo } from './verify.js';

/** A map the object declares. Index in ObjectSpec.maps = the ld_imm64 imm. */
export interface MapSpec extends MapInfo {
  readonly name: string;
  /** Where it came from: BTF `.maps`, legacy `maps`, or a global data section. */
  readonly origin: 'btf' | 'legacy' | 'data';
  /** Initial value bytes for global data maps (.bss: zeroes). */
  readonly initial?: Uint8Array;
}

/** A program with its subprograms linked in. */
export interface ProgramSpec {
  /** Function name (or the section name when the section has no function symbol). */
  readonly name: string;
  /** ELF section it came from. */
  readonly section: string;
  /** Kind implied by the section name. */
  readonly kind: ProgramKind;
  /** Linked instructions, 8 bytes each. */
  readonly insns: Uint8Array;
}

/** Everything an object file holds that ringflow uses. */
export interface ObjectSpec {
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly MapSpec[];
  /** Contents of the "license" section, if any. */
  readonly license?: string;
}

const EM_BPF = 247;
const SHT = { PROGBITS: 1, SYMTAB: 2, NOBITS: 8, REL: 9 } as const;
const SHF_EXECINSTR = 4;
const STT_FUNC = 2;
const STT_SECTION = 3;
const R_BPF_64_64 = 1;
const R_BPF_64_32 = 10;

interface Section {
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}
interface Sym {
  name: string;
  type: number;
  bind: number;
  shndx: number;
  value: number;
  size: number;
}

const fail = (msg: string): never => {
  throw new ProgramError('EELF', -1, `elf: ${msg}`);
};

/** The program kind a section name implies. */
export function kindOfSection(name: string): ProgramKind {
  if (name === 'iouring.s' || name.startsWith('iouring.s/')) return 'iouring.s';
  if (name === 'iouring' || name.startsWith('iouring/')) return 'iouring';
  return 'standard';
}

/**
 * Parses and links an eBPF ELF object.
 * @throws ProgramError code 'EELF' with message `elf: ...` for malformed or unsupported objects.
 */
export function parseObject(bytes: Uint8Array): ObjectSpec {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('elf must be a Uint8Array');
  if (bytes.length < 64) fail(`file too small for an ELF header (${bytes.length} bytes)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) fail('not an ELF file (bad magic)');
  if (bytes[4] !== 2) fail('not a 64-bit ELF (EI_CLASS must be ELFCLASS64)');
  if (bytes[5] !== 1) fail('not a little-endian ELF (EI_DATA must be ELFDATA2LSB)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number): number => dv.getUint16(o, true);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const u64 = (o: number): number => {
    const v = dv.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`value 0x${v.toString(16)} at ${o} too large`);
    return Number(v);
  };
  const machine = u16(18);
  if (machine !== EM_BPF) fail(`e_machine is ${machine}, expected EM_BPF (247): compile with -target bpf`);
  const shoff = u64(0x28);
  const shentsize = u16(0x3a);
  const shnum = u16(0x3c);
  const shstrndx = u16(0x3e);
  if (shentsize !== 64) fail(`e_shentsize is ${shentsize}, expected 64`);
  if (shoff + shnum * 64 > bytes.length) fail('section header table out of bounds');
  if (shstrndx >= shnum) fail(`e_shstrndx ${shstrndx} out of range`);
  const raw: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * 64;
    const s: Section = { index: i, name: '', type: u32(o + 4), flags: u64(o + 8), offset: u64(o + 24), size: u64(o + 32), link: u32(o + 40), info: u32(o + 44), entsize: u64(o + 56) };
    if (s.type !== SHT.NOBITS && s.type !== 0 && s.offset + s.size > bytes.length) fail(`section ${i} data out of bounds`);
    (s as { nameOff?: number }).nameOff = u32(o);
    raw.push(s);
  }
  const strAt = (sec: Section, off: number): string => {
    if (off >= sec.size) fail(`string offset ${off} outside section ${sec.index}`);
    let e = sec.offset + off;
    const end = sec.offset + sec.size;
    while (e < end && bytes[e] !== 0) e++;
    return new TextDecoder().decode(bytes.subarray(sec.offset + off, e));
  };
  const shstr = raw[shstrndx]!;
  for (const s of raw) s.name = strAt(shstr, (s as { nameOff?: number }).nameOff!);
  const data = (s: Section): Uint8Array => (s.type === SHT.NOBITS ? new Uint8Array(s.size) : bytes.subarray(s.offset, s.offset + s.size));
  const byName = (n: string): Section | undefined => raw.find((s) => s.name === n);

  // Symbols.
  const symtab = raw.find((s) => s.type === SHT.SYMTAB);
  if (!symtab) fail('no symbol table (.symtab)');
  if (symtab!.entsize !== 24) fail(`symbol entry size ${symtab!.entsize}, expected 24`);
  const strtab = raw[symtab!.link] ?? fail(`symbol string table ${symtab!.link} missing`);
  const syms: Sym[] = [];
  for (let o = symtab!.offset; o + 24 <= symtab!.offset + symtab!.size; o += 24) {
    const info = bytes[o + 4]!;
    syms.push({ name: strAt(strtab, u32(o)), type: info & 0xf, bind: info >> 4, shndx: u16(o + 6), value: u64(o + 8), size: u64(o + 16) });
  }

  // Maps: BTF-defined, legacy, global data.
  const maps: MapSpec[] = [];
  const mapAt = new Map<string, number>(); // `${shndx}:${offset}` -> index
  const dotMaps = byName('.maps');
  if (dotMaps && dotMaps.size > 0) {
    const btfSec = byName('.BTF') ?? fail('section .maps needs BTF (.BTF section missing: compile with -g)');
    const defs = btfMaps(new Btf(data(btfSec)));
    for (const d of defs) {
      const sym = syms.find((s) => s.shndx === dotMaps.index && s.name === d.name) ?? fail(`map ${d.name} in .BTF has no symbol in .maps`);
      if (!d.type) fail(`map ${d.name}: missing __uint(type, ...)`);
      mapAt.set(`${dotMaps.index}:${sym.value}`, maps.length);
      maps.push({ name: d.name, origin: 'btf', type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: d.maxEntries, flags: d.flags });
    }
  }
  const legacy = byName('maps');
  if (legacy && legacy.size > 0) {
    const ls = syms.filter((s) => s.shndx === legacy.index && s.type !== STT_SECTION).sort((a, b) => a.value - b.value);
    if (ls.length === 0) fail('section maps has no symbols');
    const defSize = Math.floor(legacy.size / ls.length);
    if (defSize < 16) fail(`section maps: definitions of ${defSize} bytes are smaller than struct bpf_map_def`);
    const d = data(legacy);
    const ddv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    for (const s of ls) {
      if (s.value + 16 > d.length) fail(`map ${s.name} definition out of bounds`);
      const f = (i: number): number => (s.value + i * 4 + 4 <= d.length && i * 4 < defSize ? ddv.getUint32(s.value + i * 4, true) : 0);
      mapAt.set(`${legacy.index}:${s.value}`, maps.length);
      maps.push({ name: s.name, origin: 'legacy', type: f(0), keySize: f(1), valueSize: f(2), maxEntries: f(3), flags: f(4) });
    }
  }
  const dataMapOf = new Map<number, number>(); // section index -> map index
  for (const s of raw) {
    if (!/^\.(data|rodata|bss)(\.|$)/.test(s.name) || s.size === 0 || (s.type !== SHT.PROGBITS && s.type !== SHT.NOBITS)) continue;
    const ro = s.name.startsWith('.rodata');
    dataMapOf.set(s.index, maps.length);
    maps.push({ name: s.name, origin: 'data', type: MapType.Array, keySize: 4, valueSize: s.size, maxEntries: 1, flags: ro ? MapFlags.RdonlyProg : 0, initial: new Uint8Array(data(s)) });
  }

  // Relocations by target section.
  const relocs = new Map<number, Map<number, { type: number; sym: Sym }>>();
  for (const s of raw) {
    if (s.type !== SHT.REL) continue;
    const target = raw[s.info];
    if (!target || !(target.flags & SHF_EXECINSTR)) continue;
    const m = new Map<number, { type: number; sym: Sym }>();
    for (let o = s.offset; o + 16 <= s.offset + s.size; o += 16) {
      const off = u64(o);
      const info = dv.getBigUint64(o + 8, true);
      const symIdx = Number(info >> 32n);
      const sym = syms[symIdx] ?? fail(`relocation in ${s.name} refers to symbol ${symIdx} (only ${syms.length})`);
      if (off % 8 !== 0 || off + 8 > target.size) fail(`relocation in ${s.name} at offset ${off} is outside its code`);
      m.set(off / 8, { type: Number(info & 0xffffffffn), sym });
    }
    relocs.set(target.index, m);
  }

  // Code sections and the functions in them.
  const code = raw.filter((s) => s.type === SHT.PROGBITS && s.flags & SHF_EXECINSTR && s.size > 0);
  for (const s of code) if (s.size % 8) fail(`code section ${s.name} size ${s.size} is not a multiple of 8`);
  const funcs = (sec: Section): Sym[] => syms.filter((s) => s.shndx === sec.index && s.type === STT_FUNC).sort((a, b) => a.value - b.value);
  const text = byName('.text');

  const link = (sec: Section, start: number, end: number): Uint8Array => {
    const out: number[][] = []; // slots as [u8 x 8]
    const placed = new Map<string, number>();
    const queue: { sec: Section; start: number; end: number; base: number }[] = [];
    const place = (s: Section, startInsn: number, endInsn: number): number => {
      const key = `${s.index}:${startInsn}`;
      const have = placed.get(key);
      if (have !== undefined) return have;
      const base = out.length;
      placed.set(key, base);
      const d = data(s);
      for (let i = startInsn; i < endInsn; i++) out.push([...d.subarray(i * 8, i * 8 + 8)]);
      queue.push({ sec: s, start: startInsn, end: endInsn, base });
      return base;
    };
    const locate = (s: Section, insn: number): number => {
      const n = s.size / 8;
      if (insn < 0 || insn >= n) fail(`call or code address into ${s.name} at instruction ${insn}, outside the section`);
      const f = funcs(s).find((f) => f.value / 8 <= insn && insn < (f.value + Math.max(f.size, 8)) / 8);
      const [a, b] = f ? [f.value / 8, (f.value + f.size) / 8] : [0, n];
      return place(s, a, b) + (insn - a);
    };
    place(sec, start, end);
    while (queue.length) {
      const c = queue.shift()!;
      const rel = relocs.get(c.sec.index);
      for (let i = c.start; i < c.end; i++) {
        const pc = c.base + (i - c.start);
        const slot = out[pc]!;
        const sdv = new DataView(Uint8Array.from(slot).buffer);
        const opcode = slot[0]!;
        const srcReg = slot[1]! >> 4;
        const imm = sdv.getInt32(4, true);
        const setImm = (p: number, v: number): void => {
          const b = new Uint8Array(4);
          new DataView(b.buffer).setInt32(0, v, true);
          out[p]!.splice(4, 4, ...b);
        };
        const setSrc = (v: number): void => void (slot[1] = (slot[1]! & 0x0f) | (v << 4));
        const r = rel?.get(i);
        const where = `${c.sec.name}+${i * 8}`;
        if (r) {
          const tsec = raw[r.sym.shndx] ?? fail(`relocation at ${where} against symbol ${r.sym.name || '?'} in section ${r.sym.shndx}`);
          if (r.type === R_BPF_64_64) {
            if (opcode !== 0x18 || i + 1 >= c.end) fail(`R_BPF_64_64 at ${where} is not on an ld_imm64`);
            const symOff = r.sym.type === STT_SECTION ? imm : r.sym.value;
            if (tsec === dotMaps || tsec === legacy) {
              const idx = mapAt.get(`${tsec.index}:${symOff}`) ?? fail(`reference at ${where} to ${r.sym.name || tsec.name}+${symOff} is not a map`);
              setSrc(5);
              setImm(pc, idx);
              setImm(pc + 1, 0);
            } else if (dataMapOf.has(tsec.index)) {
              const off = r.sym.type === STT_SECTION ? imm : r.sym.value + imm;
              setSrc(6);
              setImm(pc, dataMapOf.get(tsec.index)!);
              setImm(pc + 1, off);
            } else if (tsec.flags & SHF_EXECINSTR) {
              const byteOff = r.sym.type === STT_SECTION ? imm : r.sym.value + imm;
              if (byteOff % 8) fail(`code address at ${where} is not instruction-aligned`);
              const t = locate(tsec, byteOff / 8);
              setSrc(4);
              setImm(pc, t - pc - 1);
              setImm(pc + 1, 0);
            } else fail(`ld_imm64 at ${where} refers to ${r.sym.name || tsec.name} in section ${tsec.name}, which is not a map, global data or code`);
          } else if (r.type === R_BPF_64_32) {
            if (opcode !== 0x85 || srcReg !== 1) fail(`R_BPF_64_32 at ${where} is not on a BPF-to-BPF call`);
            if (!(tsec.flags & SHF_EXECINSTR)) fail(`call at ${where} into non-code section ${tsec.name}`);
            const t = locate(tsec, r.sym.value / 8 + imm + 1);
            setImm(pc, t - pc - 1);
          } else fail(`unsupported relocation type ${r.type} at ${where}`);
        } else if (opcode === 0x85 && srcReg === 1) {
          const t = locate(c.sec, i + imm + 1);
          setImm(pc, t - pc - 1);
        } else if (opcode === 0x85 && srcReg === 0 && imm === -1) {
          fail(`call at ${where} to an unresolved function (extern or missing relocation)`);
        }
        if (opcode === 0x18) i++; // skip the second slot (pc advances via the loop too)
      }
    }
    return Uint8Array.from(out.flat());
  };

  const programs: ProgramSpec[] = [];
  const progSecs = code.filter((s) => s !== text);
  for (const s of progSecs.length ? progSecs : text ? [text] : []) {
    const fs = funcs(s).filter((f) => f.bind === 1 /* GLOBAL */);
    if (fs.length === 0) programs.push({ name: s.name, section: s.name, kind: kindOfSection(s.name), insns: link(s, 0, s.size / 8) });
    for (const f of fs) {
      const a = f.value / 8;
      const b = f.size ? (f.value + f.size) / 8 : s.size / 8;
      programs.push({ name: f.name, section: s.name, kind: kindOfSection(s.name), insns: link(s, a, b) });
    }
  }
  const lic = byName('license');
  const license = lic ? new TextDecoder().decode(data(lic)).replace(/\0.*$/s, '') : undefined;
  return { programs, maps, ...(license !== undefined ? { license } : {}) };
}
