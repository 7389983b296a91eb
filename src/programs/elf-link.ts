/**
 * Links one eBPF program out of an object's code sections: the program's function, then every
 * function it calls (R_BPF_64_32 or a pc-relative call) or takes the address of (R_BPF_64_64 on
 * an ld_imm64, e.g. a bpf_loop callback), each placed once; calls, code addresses, map and
 * global data references are fixed up.
 *
 * Checked before use: function symbols lie inside their section, are instruction-aligned and do
 * not overlap (so each placed range is distinct code and a program is never longer than the
 * code in the file); relocations sit on an instruction of their section, one per instruction,
 * of a supported type, against a defined symbol; every call or code address lands inside a
 * function. Output is capped per program (MAX_INSNS) and per object (LOADER_LIMITS.linkedInsns).
 */
import { MAX_INSNS } from './isa.js';
import { LOADER_LIMITS } from './loader-bytes.js';
import { elfFail, SHF_EXECINSTR, SHT, STB_GLOBAL, STT_FUNC, STT_SECTION, R_BPF_64_32, R_BPF_64_64, type ElfFile, type Rel, type Section, type Sym } from './elf-read.js';

const INSN = 8;
const LD_IMM64 = 0x18;
const CALL = 0x85;
const PSEUDO_CALL = 1;
const PSEUDO_FUNC = 4;
const PSEUDO_MAP_IDX = 5;
const PSEUDO_MAP_IDX_VALUE = 6;

/** A function symbol as an instruction range of its section. */
export interface Func {
  readonly name: string;
  readonly global: boolean;
  readonly start: number;
  readonly end: number;
}

/** A code section: its instructions, functions (sorted, disjoint) and relocations by instruction. */
export interface CodeSection {
  readonly sec: Section;
  readonly code: Uint8Array;
  readonly insns: number;
  readonly funcs: readonly Func[];
  readonly relocs: ReadonlyMap<number, Rel>;
}

/** What ld_imm64 relocations may refer to besides code (decided by the object's maps). */
export interface LinkTargets {
  /** Map index of the map defined at this byte offset of a map section; undefined when none. */
  mapAt(section: Section, offset: number): number | undefined;
  /** True for the sections that hold map definitions (.maps, maps). */
  isMapSection(section: Section): boolean;
  /** The one-entry array map standing for a global data section. */
  dataMap(section: Section): number | undefined;
}

/** The code sections of an object, with their functions and relocations checked. */
export function codeSections(elf: ElfFile): Map<number, CodeSection> {
  const out = new Map<number, CodeSection>();
  const funcSyms = new Map<number, Sym[]>(); // function symbols by section: one pass over the symbols
  for (const s of elf.syms) {
    if (s.type !== STT_FUNC) continue;
    const list = funcSyms.get(s.shndx);
    if (list) list.push(s);
    else funcSyms.set(s.shndx, [s]);
  }
  for (const sec of elf.sections) {
    if (sec.type !== SHT.PROGBITS || !(sec.flags & SHF_EXECINSTR) || sec.size === 0) continue;
    const label = elf.label(sec);
    if (sec.size % INSN) elfFail(`code ${label}: size ${sec.size} is not a multiple of ${INSN}`);
    const insns = sec.size / INSN;
    const syms = (funcSyms.get(sec.index) ?? []).sort((a, b) => a.value - b.value);
    const funcs: Func[] = [];
    for (let k = 0; k < syms.length; k++) {
      const s = syms[k]!;
      const at = `function ${elf.symLabel(s)} in ${label}`;
      if (s.value % INSN || s.size % INSN) elfFail(`${at}: value ${s.value} or size ${s.size} is not a multiple of ${INSN}`);
      if (s.value >= sec.size || s.size > sec.size - s.value) elfFail(`${at}: value ${s.value} + size ${s.size} runs past the section (${sec.size} bytes)`);
      const next = syms[k + 1]?.value ?? sec.size;
      const end = s.size ? s.value + s.size : next; // size 0 (hand-written code): up to the next function
      if (next < end) elfFail(`${at}: bytes ${s.value}..${end} overlap function ${elf.symLabel(syms[k + 1]!)} at ${next}`);
      funcs.push({ name: s.name, global: s.bind === STB_GLOBAL, start: s.value / INSN, end: end / INSN });
    }
    out.set(sec.index, { sec, code: elf.data(sec), insns, funcs, relocs: new Map() });
  }
  for (const rs of elf.sections) {
    if (rs.type !== SHT.REL) continue;
    const target = out.get(rs.info);
    if (!target) continue; // relocations of BTF, debug info or data: not applied
    const relocs = target.relocs as Map<number, Rel>;
    if (relocs.size) elfFail(`${elf.label(rs)}: a second relocation section for code ${elf.label(target.sec)}`);
    for (const r of elf.rels(rs)) {
      const at = `${elf.label(rs)} entry ${r.entry}`;
      if (r.offset % INSN || r.offset >= target.sec.size) elfFail(`${at}: offset ${r.offset} is not an instruction of ${elf.label(target.sec)} (${target.sec.size} bytes)`);
      if (r.type !== R_BPF_64_64 && r.type !== R_BPF_64_32) elfFail(`${at}: relocation type ${r.type} is not supported in code (R_BPF_64_64 1, R_BPF_64_32 10)`);
      if (relocs.has(r.offset / INSN)) elfFail(`${at}: a second relocation at offset ${r.offset}`);
      relocs.set(r.offset / INSN, r);
    }
  }
  return out;
}

/** Running total of linked instructions across an object's programs. */
export interface LinkBudget {
  used: number;
}

/**
 * Links the program starting with instructions [start, end) of `cs`.
 * @throws ProgramError 'EELF' naming the instruction (section+byte offset) that cannot be linked.
 */
export function linkProgram(elf: ElfFile, code: ReadonlyMap<number, CodeSection>, targets: LinkTargets, cs: CodeSection, start: number, end: number, name: string, budget: LinkBudget): Uint8Array {
  const ranges: { cs: CodeSection; start: number; end: number; base: number }[] = [];
  const placed = new Map<string, number>();
  const patches: { pc: number; src?: number; imm?: number; imm2?: number }[] = [];
  let total = 0;
  const place = (c: CodeSection, a: number, b: number): number => {
    const key = `${c.sec.index}:${a}`;
    const have = placed.get(key);
    if (have !== undefined) return have;
    total += b - a;
    if (total > MAX_INSNS) elfFail(`program ${name}: its code and subprograms add up to more than ${MAX_INSNS} instructions`);
    if (budget.used + total > LOADER_LIMITS.linkedInsns) elfFail(`program ${name}: the object's programs add up to more than ${LOADER_LIMITS.linkedInsns} linked instructions`);
    const base = total - (b - a);
    placed.set(key, base);
    ranges.push({ cs: c, start: a, end: b, base });
    return base;
  };
  /** Base (in the output) of instruction `insn` of `c`, placing the function that holds it. */
  const locate = (c: CodeSection, insn: number, where: () => string): number => {
    if (!Number.isInteger(insn) || insn < 0 || insn >= c.insns) elfFail(`${where()}: target instruction ${insn} is outside ${elf.label(c.sec)} (${c.insns} instructions)`);
    if (c.funcs.length === 0) return place(c, 0, c.insns) + insn;
    let lo = 0;
    let hi = c.funcs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (c.funcs[mid]!.start <= insn) lo = mid;
      else hi = mid - 1;
    }
    const f = c.funcs[lo]!;
    if (insn < f.start || insn >= f.end) elfFail(`${where()}: target instruction ${insn} of ${elf.label(c.sec)} is not inside a function`);
    return place(c, f.start, f.end) + (insn - f.start);
  };
  const int32 = (v: number, where: () => string, what: string): number => {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) elfFail(`${where()}: ${what} ${v} does not fit an instruction's 32-bit immediate`);
    return v;
  };

  place(cs, start, end);
  for (let k = 0; k < ranges.length; k++) {
    const { cs: c, start: a, end: b, base } = ranges[k]!;
    const dv = new DataView(c.code.buffer, c.code.byteOffset, c.code.byteLength);
    for (let i = a; i < b; i++) {
      const pc = base + (i - a);
      const opcode = c.code[i * INSN]!;
      const srcReg = c.code[i * INSN + 1]! >> 4;
      const imm = dv.getInt32(i * INSN + 4, true);
      const where = (): string => `${elf.label(c.sec)}+${i * INSN}`;
      const r = c.relocs.get(i);
      if (opcode === LD_IMM64 && i + 1 < b && c.relocs.has(i + 1)) elfFail(`${where()}: relocation on the second half of an ld_imm64`);
      if (r && opcode === LD_IMM64 && i + 1 >= b) elfFail(`${where()}: relocated ld_imm64 is cut off by the end of its function`);
      if (r) {
        const tsec = elf.sectionOf(r.sym, `relocation at ${where()}`);
        const target = `${elf.symLabel(r.sym)} in ${elf.label(tsec)}`;
        const isSec = r.sym.type === STT_SECTION;
        if (r.type === R_BPF_64_64) {
          if (opcode !== LD_IMM64) elfFail(`${where()}: R_BPF_64_64 is on opcode ${opcode}, not an ld_imm64`);
          const mapIdx = targets.isMapSection(tsec) ? targets.mapAt(tsec, isSec ? imm : r.sym.value) : undefined;
          const dataIdx = targets.dataMap(tsec);
          if (targets.isMapSection(tsec)) {
            if (mapIdx === undefined) elfFail(`${where()}: reference to ${target}+${isSec ? imm : r.sym.value} is not a map definition`);
            patches.push({ pc, src: PSEUDO_MAP_IDX, imm: mapIdx, imm2: 0 });
          } else if (dataIdx !== undefined) {
            const off = isSec ? imm : r.sym.value + imm;
            if (off < 0 || off > tsec.size) elfFail(`${where()}: reference to ${target}+${off} is outside the section (${tsec.size} bytes)`);
            patches.push({ pc, src: PSEUDO_MAP_IDX_VALUE, imm: dataIdx, imm2: int32(off, where, 'global data offset') });
          } else if (code.has(tsec.index)) {
            const byteOff = isSec ? imm : r.sym.value + imm;
            if (byteOff % INSN) elfFail(`${where()}: code address ${target}+${byteOff} is not instruction-aligned`);
            patches.push({ pc, src: PSEUDO_FUNC, imm: locate(code.get(tsec.index)!, byteOff / INSN, where) - pc - 1, imm2: 0 });
          } else elfFail(`${where()}: ld_imm64 refers to ${target}, which is not a map, global data or code`);
        } else {
          if (opcode !== CALL || srcReg !== PSEUDO_CALL) elfFail(`${where()}: R_BPF_64_32 is not on a BPF-to-BPF call`);
          const tc = code.get(tsec.index) ?? elfFail(`${where()}: call into ${target}, which is not code`);
          if (r.sym.value % INSN) elfFail(`${where()}: call target ${target} at ${r.sym.value} is not instruction-aligned`);
          patches.push({ pc, imm: locate(tc, r.sym.value / INSN + imm + 1, where) - pc - 1 });
        }
      } else if (opcode === CALL && srcReg === PSEUDO_CALL) {
        patches.push({ pc, imm: locate(c, i + imm + 1, where) - pc - 1 });
      } else if (opcode === CALL && srcReg === 0 && imm === -1) {
        elfFail(`${where()}: call to an unresolved function (extern or missing relocation)`);
      }
      if (opcode === LD_IMM64) i++; // the second slot
    }
  }
  budget.used += total;
  const out = new Uint8Array(total * INSN);
  for (const r of ranges) out.set(r.cs.code.subarray(r.start * INSN, r.end * INSN), r.base * INSN);
  const dv = new DataView(out.buffer);
  for (const p of patches) {
    if (p.src !== undefined) out[p.pc * INSN + 1] = (out[p.pc * INSN + 1]! & 0x0f) | (p.src << 4);
    if (p.imm !== undefined) dv.setInt32(p.pc * INSN + 4, p.imm, true);
    if (p.imm2 !== undefined) dv.setInt32((p.pc + 1) * INSN + 4, p.imm2, true);
  }
  return out;
}
