/**
 * ELF loader for objects from `clang -O2 -target bpf -c` (ELF64, little-endian, EM_BPF 247).
 * Pure parsing and linking: returns program instructions with relocations applied and the map
 * specs they refer to by index; program.ts creates the maps through the native binding.
 *
 * - Programs: every executable section except .text, one per global function symbol in it
 *   (section names decide the kind: SEC("iouring/...") → 'iouring', SEC("iouring.s/...") and
 *   the bpf_v3 prototype's plain SEC("iouring") → 'iouring.s', anything else 'standard'). If .text
 *   is the only code, its global functions are.
 * - Subprograms: the .text functions a program calls (R_BPF_64_32 or pc-relative calls) or takes
 *   the address of (R_BPF_64_64 on ld_imm64, e.g. a bpf_loop callback) are appended after it and
 *   the call / code_addr offsets fixed up.
 * - Maps: BTF-defined in SEC(".maps") (needs .BTF, i.e. -g), legacy struct bpf_map_def in
 *   SEC("maps"), and global data .data* / .rodata* / .bss* as one-entry array maps (.rodata*
 *   read-only for programs). ld_imm64 map references become src 5 (map_by_idx) and global data
 *   references src 6 (map_value_by_idx, offset in the second slot).
 *
 * Untrusted input: every malformed object is a ProgramError 'EELF' naming the section, symbol or
 * offset at fault, found before anything is read, allocated or looped over on its word; the work
 * and memory of a parse are bounded by the file's length and LOADER_LIMITS (elf-read.ts,
 * elf-link.ts, btf.ts, loader-bytes.ts).
 */
import { Btf, btfMaps } from './btf.js';
import { MapType, MapFlags } from './binding.js';
import type { ProgramKind } from './helpers.js';
import type { MapInfo } from './verify.js';
import { ElfFile, elfFail as fail, SHT, STT_SECTION, type Section } from './elf-read.js';
import { codeSections, linkProgram, type LinkTargets } from './elf-link.js';
import { LOADER_LIMITS } from './loader-bytes.js';

/** A map the object declares. Index in ObjectSpec.maps = the ld_imm64 imm. */
export interface MapSpec extends MapInfo {
  readonly name: string;
  /** Where it came from: BTF `.maps`, legacy `maps`, or a global data section. */
  readonly origin: 'btf' | 'legacy' | 'data';
  /** Initial value bytes for global data maps (absent for .bss: the map starts zeroed). */
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

/** The program kind a section name implies. */
export function kindOfSection(name: string): ProgramKind {
  // plain SEC("iouring") is the bpf_v3 prototype's section, whose programs called every helper
  if (name === 'iouring.s' || name.startsWith('iouring.s/') || name === 'iouring') return 'iouring.s';
  if (name.startsWith('iouring/')) return 'iouring';
  return 'standard';
}

const LEGACY_DEF_MIN = 16; // type, key_size, value_size, max_entries (struct bpf_map_def)
const DATA_SECTION = /^\.(data|rodata|bss)(\.|$)/;

/** The maps an object declares, with the lookups its relocations need. */
function objectMaps(elf: ElfFile): { maps: MapSpec[]; targets: LinkTargets } {
  const maps: MapSpec[] = [];
  const mapAt = new Map<string, number>(); // `${section}:${offset}` -> map index
  let bytes = 0;
  const add = (m: MapSpec, key?: string): void => {
    if (maps.length >= LOADER_LIMITS.maps) fail(`map ${m.name}: the object declares more than ${LOADER_LIMITS.maps} maps`);
    bytes += (m.keySize + m.valueSize) * m.maxEntries;
    if (bytes > LOADER_LIMITS.mapBytes) fail(`map ${m.name}: the object's maps declare more than ${LOADER_LIMITS.mapBytes} bytes (key ${m.keySize}, value ${m.valueSize}, entries ${m.maxEntries})`);
    if (key !== undefined) {
      if (mapAt.has(key)) fail(`map ${m.name}: a second map at the same place (${key})`);
      mapAt.set(key, maps.length);
    }
    maps.push(m);
  };

  const dotMaps = elf.byName('.maps');
  if (dotMaps && dotMaps.size > 0) {
    const btfSec = elf.byName('.BTF') ?? fail('section .maps needs BTF (.BTF section missing: compile with -g)');
    const defs = btfMaps(new Btf(elf.data(btfSec)));
    const symByName = new Map<string, (typeof elf.syms)[number]>();
    for (const s of elf.syms) if (s.shndx === dotMaps.index && s.type !== STT_SECTION && !symByName.has(s.name)) symByName.set(s.name, s);
    for (const d of defs) {
      const sym = symByName.get(d.name) ?? fail(`map ${d.name} in .BTF has no symbol in .maps`);
      if (!d.type) fail(`map ${d.name}: missing __uint(type, ...)`);
      if (sym.value >= dotMaps.size) fail(`map ${d.name}: ${elf.symLabel(sym)} value ${sym.value} is outside ${elf.label(dotMaps)} (${dotMaps.size} bytes)`);
      add({ name: d.name, origin: 'btf', type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: d.maxEntries, flags: d.flags }, `${dotMaps.index}:${sym.value}`);
    }
  }

  const legacy = elf.byName('maps');
  if (legacy && legacy.size > 0) {
    const d = elf.data(legacy);
    const ddv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const ls = elf.syms.filter((s) => s.shndx === legacy.index && s.type !== STT_SECTION).sort((a, b) => a.value - b.value);
    if (ls.length === 0) fail('section maps has no symbols');
    const defSize = Math.floor(legacy.size / ls.length);
    if (defSize < LEGACY_DEF_MIN) fail(`section maps: definitions of ${defSize} bytes are smaller than struct bpf_map_def (${LEGACY_DEF_MIN})`);
    for (const s of ls) {
      if (s.value + LEGACY_DEF_MIN > d.length) fail(`map ${s.name}: ${elf.symLabel(s)} value ${s.value} + ${LEGACY_DEF_MIN} runs past ${elf.label(legacy)} (${d.length} bytes)`);
      const f = (i: number): number => (s.value + i * 4 + 4 <= d.length && i * 4 < defSize ? ddv.getUint32(s.value + i * 4, true) : 0);
      add({ name: s.name, origin: 'legacy', type: f(0), keySize: f(1), valueSize: f(2), maxEntries: f(3), flags: f(4) }, `${legacy.index}:${s.value}`);
    }
  }

  const dataMapOf = new Map<number, number>(); // section index -> map index
  for (const s of elf.sections) {
    if (!DATA_SECTION.test(s.name) || s.size === 0 || (s.type !== SHT.PROGBITS && s.type !== SHT.NOBITS)) continue;
    if (s.size > 0xffffffff) fail(`${elf.label(s)}: ${s.size} bytes of global data do not fit a map value`);
    const ro = s.name.startsWith('.rodata');
    dataMapOf.set(s.index, maps.length);
    const initial = s.type === SHT.PROGBITS ? { initial: elf.data(s).slice() } : {};
    add({ name: s.name, origin: 'data', type: MapType.Array, keySize: 4, valueSize: s.size, maxEntries: 1, flags: ro ? MapFlags.RdonlyProg : 0, ...initial });
  }

  const isMapSection = (sec: Section): boolean => sec === dotMaps || sec === legacy;
  return {
    maps,
    targets: { mapAt: (sec, off) => mapAt.get(`${sec.index}:${off}`), isMapSection, dataMap: (sec) => dataMapOf.get(sec.index) },
  };
}

/** The license string (up to its NUL). */
function licenseOf(elf: ElfFile, sec: Section): string {
  const d = elf.data(sec);
  const n = d.indexOf(0);
  const len = n < 0 ? d.length : n;
  if (len > LOADER_LIMITS.nameBytes) fail(`${elf.label(sec)}: license longer than ${LOADER_LIMITS.nameBytes} bytes`);
  return new TextDecoder().decode(d.subarray(0, len));
}

/**
 * Parses and links an eBPF ELF object.
 * @throws ProgramError code 'EELF' with message `elf: ...` for malformed or unsupported objects.
 */
export function parseObject(bytes: Uint8Array): ObjectSpec {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('elf must be a Uint8Array');
  const elf = new ElfFile(bytes);
  const { maps, targets } = objectMaps(elf);
  const code = codeSections(elf);
  const budget = { used: 0 };
  const programs: ProgramSpec[] = [];
  const all = [...code.values()];
  const progSecs = all.filter((c) => c.sec.name !== '.text');
  for (const cs of progSecs.length ? progSecs : all) {
    const name = cs.sec.name;
    const kind = kindOfSection(name);
    const fs = cs.funcs.filter((f) => f.global);
    if (fs.length === 0) programs.push({ name, section: name, kind, insns: linkProgram(elf, code, targets, cs, 0, cs.insns, name, budget) });
    for (const f of fs) programs.push({ name: f.name, section: name, kind, insns: linkProgram(elf, code, targets, cs, f.start, f.end, f.name, budget) });
  }
  const lic = elf.byName('license');
  const license = lic ? licenseOf(elf, lic) : undefined;
  return { programs, maps, ...(license !== undefined ? { license } : {}) };
}
