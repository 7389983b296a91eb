/**
 * The ELF64 little-endian relocatable-object reader under the eBPF loader: header, section
 * headers, string tables, the symbol table and relocation entries, each checked against the
 * file before use (offsets and sizes inside the file, entry sizes, string offsets, symbol and
 * section indexes). Everything it builds is bounded by the file's own length: at most one
 * Section per 64 header bytes, one Sym per 24 symbol bytes, one Rel per 16 relocation bytes.
 * Errors are ProgramError 'EELF' ("elf: ..."), naming the section, symbol or offset.
 */
import { ProgramError } from './errors.js';
import { Bytes, StringTable, hex } from './loader-bytes.js';

/** Section header types and flags used by the loader (ELF gABI). */
export const SHT = { NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, NOBITS: 8, REL: 9 } as const;
export const SHF_EXECINSTR = 4;
/** Symbol types and bindings. */
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STB_GLOBAL = 1;
/** eBPF relocation types (llvm BPFELFObjectWriter) the loader applies in code. */
export const R_BPF_64_64 = 1;
export const R_BPF_64_32 = 10;

const EM_BPF = 247;
const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;

/** One section header. */
export interface Section {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  /** Low 32 bits of sh_flags (every flag ELF defines lives there). */
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly entsize: number;
}

/** One symbol table entry. */
export interface Sym {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly bind: number;
  readonly shndx: number;
  readonly value: number;
  readonly size: number;
}

/** One relocation entry (SHT_REL), its symbol index already checked. */
export interface Rel {
  /** Entry number in its section (for messages). */
  readonly entry: number;
  readonly offset: number;
  readonly type: number;
  readonly sym: Sym;
}

/** Throws ProgramError 'EELF' with the loader's prefix. */
export const elfFail = (msg: string): never => {
  throw new ProgramError('EELF', -1, `elf: ${msg}`);
};

/** A checked view of an eBPF ELF object. */
export class ElfFile {
  readonly file: Bytes;
  readonly sections: readonly Section[];
  readonly symtab: Section;
  readonly syms: readonly Sym[];

  constructor(bytes: Uint8Array) {
    if (bytes.length < EHDR_SIZE) elfFail(`file too small for an ELF header (${bytes.length} bytes)`);
    if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) elfFail('not an ELF file (bad magic)');
    if (bytes[4] !== 2) elfFail('not a 64-bit ELF (EI_CLASS must be ELFCLASS64)');
    if (bytes[5] !== 1) elfFail('not a little-endian ELF (EI_DATA must be ELFDATA2LSB)');
    const f = (this.file = new Bytes(bytes, 'the file', elfFail));
    const machine = f.u16(18, 'e_machine');
    if (machine !== EM_BPF) elfFail(`e_machine is ${machine}, expected EM_BPF (247): compile with -target bpf`);
    const shoff = f.u64(0x28, 'e_shoff');
    const shentsize = f.u16(0x3a, 'e_shentsize');
    const shnum = f.u16(0x3c, 'e_shnum');
    const shstrndx = f.u16(0x3e, 'e_shstrndx');
    if (shentsize !== SHDR_SIZE) elfFail(`e_shentsize is ${shentsize}, expected ${SHDR_SIZE}`);
    if (shnum === 0) elfFail('e_shnum is 0: no section headers (extended section numbering is not supported)');
    if (shoff + shnum * SHDR_SIZE > bytes.length) elfFail(`section header table out of bounds (e_shoff ${shoff} + ${shnum} entries of ${SHDR_SIZE} bytes > file size ${bytes.length})`);
    if (shstrndx >= shnum) elfFail(`e_shstrndx ${shstrndx} is not a section (e_shnum ${shnum})`);

    // The table's extent is checked above: its fields are read without a check each.
    const raw: ({ -readonly [K in keyof Section]: Section[K] } & { nameOff: number })[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * SHDR_SIZE;
      const field = (name: string) => (): string => `section ${i} header ${name}`;
      raw.push({
        index: i, name: '', nameOff: f.u32In(o), type: f.u32In(o + 4), flags: f.u32In(o + 8), offset: f.u64In(o + 24, field('sh_offset')),
        size: f.u64In(o + 32, field('sh_size')), link: f.u32In(o + 40), info: f.u32In(o + 44), entsize: f.u64In(o + 56, field('sh_entsize')),
      });
    }
    const inFile = (s: (typeof raw)[number], label: () => string): void => {
      if (s.type === SHT.NULL || s.type === SHT.NOBITS) return;
      if (s.offset + s.size > bytes.length) elfFail(`${label()}: offset ${s.offset} + size ${s.size} runs past the end of the file (${bytes.length} bytes)`);
    };
    const shstr = raw[shstrndx]!;
    if (shstr.type !== SHT.STRTAB) elfFail(`e_shstrndx ${shstrndx} is section type ${shstr.type}, not a string table (SHT_STRTAB)`);
    inFile(shstr, () => `section ${shstrndx} (section names)`);
    const names = new StringTable(f.sub(shstr.offset, shstr.size, 'section names'), `section ${shstrndx} (section names)`, elfFail);
    for (const s of raw) {
      s.name = names.get(s.nameOff, `section ${s.index}`);
      inFile(s, () => `section ${s.index} (${s.name})`);
    }
    this.sections = raw.map((s) => ({ index: s.index, name: s.name, type: s.type, flags: s.flags, offset: s.offset, size: s.size, link: s.link, info: s.info, entsize: s.entsize }));

    const symtabs = this.sections.filter((s) => s.type === SHT.SYMTAB);
    if (symtabs.length === 0) elfFail('no symbol table (.symtab)');
    if (symtabs.length > 1) elfFail(`${symtabs.length} symbol tables (sections ${symtabs.map((s) => s.index).join(', ')}); an object has one`);
    const st = (this.symtab = symtabs[0]!);
    if (st.entsize !== SYM_SIZE) elfFail(`${this.label(st)}: entry size ${st.entsize}, expected ${SYM_SIZE}`);
    if (st.size % SYM_SIZE) elfFail(`${this.label(st)}: size ${st.size} is not a multiple of ${SYM_SIZE}`);
    const strSec = this.sections[st.link];
    if (!strSec || strSec.type !== SHT.STRTAB) elfFail(`${this.label(st)}: sh_link ${st.link} is not a string table`);
    const strs = new StringTable(this.data(strSec!), this.label(strSec!), elfFail);
    const syms: Sym[] = [];
    // The symbol table lies inside the file (checked with the section headers).
    for (let i = 0, o = st.offset; i < st.size / SYM_SIZE; i++, o += SYM_SIZE) {
      const info = bytes[o + 4]!;
      const name = strs.get(f.u32In(o), `symbol ${i}`);
      const field = (n: string) => (): string => `symbol ${i} (${name}) ${n}`;
      syms.push({ index: i, name, type: info & 0xf, bind: info >> 4, shndx: f.u16In(o + 6), value: f.u64In(o + 8, field('st_value')), size: f.u64In(o + 16, field('st_size')) });
    }
    this.syms = syms;
  }

  /** "section N (name)" for messages. */
  label(s: Section): string {
    return `section ${s.index} (${s.name})`;
  }

  /** "symbol N (name)" for messages. */
  symLabel(s: Sym): string {
    return `symbol ${s.index} (${s.name || 'unnamed'})`;
  }

  /** The first section with this name. */
  byName(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The file bytes of a section that has some (not SHT_NOBITS or SHT_NULL): never allocates. */
  data(s: Section): Uint8Array {
    if (s.type === SHT.NOBITS || s.type === SHT.NULL) elfFail(`${this.label(s)}: section type ${s.type} has no data in the file`);
    return this.file.sub(s.offset, s.size, this.label(s));
  }

  /** The section a symbol is defined in, or a failure naming who needed it. */
  sectionOf(sym: Sym, user: string): Section {
    if (sym.shndx === 0) elfFail(`${user}: ${this.symLabel(sym)} is undefined (an extern; externs are not supported)`);
    return this.sections[sym.shndx] ?? elfFail(`${user}: ${this.symLabel(sym)} has section index ${hex(sym.shndx)}, not a section of this file (e_shnum ${this.sections.length})`);
  }

  /** The entries of a relocation section (SHT_REL), each with a valid symbol. */
  rels(s: Section): Rel[] {
    const label = this.label(s);
    if (s.entsize !== REL_SIZE) elfFail(`${label}: entry size ${s.entsize}, expected ${REL_SIZE}`);
    if (s.size % REL_SIZE) elfFail(`${label}: size ${s.size} is not a multiple of ${REL_SIZE}`);
    if (s.link !== this.symtab.index) elfFail(`${label}: sh_link ${s.link} is not the symbol table (section ${this.symtab.index})`);
    this.data(s); // inside the file: the entries are read without a check each
    const out: Rel[] = [];
    for (let i = 0, o = s.offset; i < s.size / REL_SIZE; i++, o += REL_SIZE) {
      const symIdx = this.file.u32In(o + 12);
      const sym = this.syms[symIdx] ?? elfFail(`${label} entry ${i}: symbol index ${symIdx} is past the symbol table (${this.syms.length} symbols)`);
      out.push({ entry: i, offset: this.file.u64In(o, () => `${label} entry ${i} r_offset`), type: this.file.u32In(o + 8), sym });
    }
    return out;
  }
}
