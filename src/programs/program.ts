/**
 * Programs: load (ELF bytes, instructions, assembler text) → verify (TS verifier) → create (native
 * engine, which re-checks) → run on given memory. Errors are ProgramError (code, pc, message).
 */
import { bpf, RunStatus, CreateReject, PROG_NO_JIT, type ProgHandle } from './binding.js';
import { assemble } from './asm.js';
import { disassemble, type DisassembleOptions } from './disasm.js';
import { verifyProgram, type VerifyResult } from './verify.js';
import { parseObject, type ObjectSpec, type MapSpec } from './elf.js';
import { HELPER_SET, canonicalHelperIds, type ProgramKind } from './helpers.js';
import { BpfMap, createMap, engineAvailable, requireEngine } from './maps.js';
import { ProgramError } from './errors.js';

/** Options for creating a program. */
export interface ProgramOptions {
  /** Maps, by the index ld_imm64 (src 1/2/5/6) uses. */
  maps?: readonly BpfMap[];
  /** Program kind (decides helpers). Default 'standard'. */
  kind?: ProgramKind;
  /** Name for messages. */
  name?: string;
  /** Treat unreachable instructions as a note instead of an error. */
  unreachable?: 'error' | 'note';
  /**
   * Compile the program to native code (x86-64 hosts; same results, budget and faults as the
   * interpreter). Default true, or false when the environment sets RINGFLOW_JIT=0. Programs with
   * subprogram calls, bpf_loop or fetching atomic or/and/xor are always interpreted.
   */
  jit?: boolean;
}

/** Options for one run. */
export interface RunOptions {
  /** Maximum instructions executed before the run stops with status 'budget'. Default 1,000,000. */
  budget?: number;
}

/** Run outcome names, one per RunStatus. */
export type RunStatusName = 'ok' | 'budget' | 'memfault' | 'calldepth' | 'badinsn' | 'helper';
const STATUS_NAMES: RunStatusName[] = ['ok', 'budget', 'memfault', 'calldepth', 'badinsn', 'helper'];

/** What a run produced. */
export interface RunResult {
  /** r0 at exit; 0 from run() when the run did not end with exit (status other than 'ok'). */
  readonly r0: bigint;
  /** Instructions executed. */
  readonly insns: number;
  /** How the run ended. */
  readonly status: RunStatusName;
  /** Instruction that faulted (status other than 'ok'). */
  readonly faultPc?: number;
  /** Address that faulted (status 'memfault'). */
  readonly faultAddress?: bigint;
}

/** Default instruction budget per run. */
export const DEFAULT_BUDGET = 1_000_000;

const REJECT_NAMES = new Map<number, string>(Object.entries(CreateReject).map(([k, v]) => [v, k]));

/** A verified program, created in the native engine when it is available. */
export class Program {
  /** Instruction bytes (8 per slot). */
  readonly insns: Uint8Array;
  /** Maps by ld_imm64 index. */
  readonly maps: readonly BpfMap[];
  /** Program kind. */
  readonly kind: ProgramKind;
  /** Name (function or section). */
  readonly name: string;
  /** What the verifier found (notes, subprograms, stack depth...). */
  readonly verification: VerifyResult;
  private readonly handle: ProgHandle | undefined;
  /** Bytes of native code the program was compiled to; 0 when it is interpreted. */
  readonly jitBytes: number = 0;
  /** @internal The native program (for Ring.registerProgram). */
  get nativeHandle(): ProgHandle | undefined {
    return this.handle;
  }

  /**
   * Verifies instructions and creates the program.
   * @throws ProgramError 'EVERIFY' (TS verifier), 'ECREATE' (native re-check), 'ENATIVE'
   */
  constructor(insns: Uint8Array, options: ProgramOptions = {}) {
    if (!(insns instanceof Uint8Array)) throw new TypeError('insns must be a Uint8Array');
    const maps = options.maps ?? [];
    if (!Array.isArray(maps) || maps.some((m) => !(m instanceof BpfMap))) throw new TypeError('maps must be an array of BpfMap');
    const kind = options.kind ?? 'standard';
    // helper calls by the bpf_v3 prototype's ids become calls by ringflow's (helpers.ts altIds)
    this.insns = kind in HELPER_SET ? canonicalHelperIds(insns.slice(), kind) : insns.slice();
    this.maps = [...maps];
    this.kind = options.kind ?? 'standard';
    if (!(this.kind in HELPER_SET)) throw new TypeError(`kind must be one of ${Object.keys(HELPER_SET).join(', ')}`);
    this.name = options.name ?? '';
    this.verification = verifyProgram(this.insns, { maps: this.maps, kind: this.kind, unreachable: options.unreachable ?? 'error' });
    const jit = options.jit ?? process.env['RINGFLOW_JIT'] !== '0';
    if (typeof jit !== 'boolean') throw new TypeError('jit must be a boolean');
    if (engineAvailable()) {
      const out = new Int32Array(2);
      const h = bpf.bpfProgCreate(this.insns, this.maps.map((m) => m.handle), HELPER_SET[this.kind] | (jit ? 0 : PROG_NO_JIT), out);
      if (typeof h === 'number') {
        const pc = out[0]!;
        throw new ProgramError('ECREATE', pc, `native: insn ${pc}: rejected (${REJECT_NAMES.get(-h) ?? `code ${h}`})`);
      }
      this.handle = h;
      this.jitBytes = out[1]!;
    }
  }

  /** Assembles text (bpf_conformance syntax) and creates the program; `-- map` names resolve via maps[i].name. */
  static fromAssembly(text: string, options: ProgramOptions = {}): Program {
    if (typeof text !== 'string') throw new TypeError('text must be a string');
    return new Program(assemble(text, { maps: (options.maps ?? []).map((m) => m.name) }), options);
  }

  /** The program as assembler text. */
  disassemble(options?: DisassembleOptions): string {
    return disassemble(this.insns, options);
  }

  /**
   * Runs the program with r1 = address of mem (0 when null) and r2 = mem.byteLength.
   * mem is readable and writable by the program for the duration of the run.
   * @throws ProgramError 'ENATIVE' when the engine is not built in.
   */
  run(mem: Uint8Array | null = null, options: RunOptions = {}): RunResult {
    const r = this.runNative(mem, options, false).result;
    // r0 of a run that stopped early is whatever r0 held then, possibly an address the verifier
    // never let reach an exit: reported only for runs that ended with exit (docs/security.md)
    return r.status === 'ok' ? r : { ...r, r0: 0n };
  }

  /**
   * @internal The JIT's differential test (tools/fuzz.ts): runs the program as run() does, then
   * interpreted from the same mem contents and stack address, and describes the first difference
   * in outcome, r0, instructions counted, fault or mem contents (undefined when they agree).
   */
  compareRuns(mem: Uint8Array | null = null, options: RunOptions = {}): { result: RunResult; difference?: string } {
    return this.runNative(mem, options, true);
  }

  private runNative(mem: Uint8Array | null, options: RunOptions, compare: boolean): { result: RunResult; difference?: string } {
    if (mem !== null && !(mem instanceof Uint8Array)) throw new TypeError('mem must be a Uint8Array or null');
    const budget = options.budget ?? DEFAULT_BUDGET;
    if (typeof budget !== 'number' || !Number.isInteger(budget)) throw new TypeError('budget must be an integer');
    if (budget < 1 || budget > Number.MAX_SAFE_INTEGER) throw new RangeError(`budget must be between 1 and ${Number.MAX_SAFE_INTEGER} (got ${budget})`);
    if (!this.handle) requireEngine('program run');
    return runHandle(this.handle!, mem, budget, compare);
  }
}

/**
 * @internal Runs a native program (mem and budget already checked); with compare, also
 * interpreted from the same start (ProgRun's compare mode), describing the first difference.
 */
export function runHandle(h: ProgHandle, mem: Uint8Array | null, budget: number, compare: boolean): { result: RunResult; difference?: string } {
  const out = new BigUint64Array(compare ? 10 : 4);
  const status = bpf.bpfProgRun(h, mem, budget, out, compare);
  if (status < 0 || status >= STATUS_NAMES.length) throw new ProgramError('ENATIVE', -1, `native: program run failed (${status})`);
  const result = runResult(status, out, 0);
  if (!compare) return { result };
  const other = runResult(Number(out[8]!), out, 4);
  const fields = ['status', 'r0', 'insns', 'faultPc', 'faultAddress'] as const;
  const diff = fields.find((f) => result[f] !== other[f]);
  if (diff) return { result, difference: `${diff}: compiled ${String(result[diff])}, interpreted ${String(other[diff])}` };
  return out[9] === 1n ? { result } : { result, difference: 'mem: the runs left different bytes' };
}

function runResult(status: number, out: BigUint64Array, at: number): RunResult {
  const base = { r0: out[at]!, insns: Number(out[at + 1]!), status: STATUS_NAMES[status]! };
  if (status === RunStatus.Ok) return base;
  return status === RunStatus.MemFault ? { ...base, faultPc: Number(out[at + 2]!), faultAddress: out[at + 3]! } : { ...base, faultPc: Number(out[at + 2]!) };
}

/**
 * Describes a run that did not end with status 'ok' (the conformance plug-in prints this), or
 * undefined for 'ok'. Format: `run: insn <pc>: <what>`.
 */
export function runFailure(r: RunResult): string | undefined {
  const at = `run: insn ${r.faultPc ?? -1}: `;
  switch (r.status) {
    case 'ok':
      return undefined;
    case 'budget':
      return `${at}instruction budget exhausted after ${r.insns} instructions`;
    case 'memfault':
      return `${at}memory access out of bounds at 0x${(r.faultAddress ?? 0n).toString(16)}`;
    case 'calldepth':
      return `${at}call depth exceeded`;
    case 'badinsn':
      return `${at}invalid instruction`;
    case 'helper':
      return `${at}helper call failed`;
  }
}

/** An object file's programs and maps, created. */
export interface LoadedObject {
  /** Programs in file order. */
  readonly programs: readonly Program[];
  /** Maps by name (BTF / legacy maps by symbol, global data by section name, e.g. '.rodata'). */
  readonly maps: ReadonlyMap<string, BpfMap>;
  /** The parsed object (map specs, linked instructions). */
  readonly spec: ObjectSpec;
  /** A program by function or section name. @throws ProgramError when absent. */
  program(name: string): Program;
}

/** Which program to load from an object. */
export interface LoadOptions {
  /** Section name (e.g. 'iouring/features') or function name. Default: the first program. */
  section?: string;
  /** Override the kind implied by the section name. */
  kind?: ProgramKind;
  /** As ProgramOptions.jit. */
  jit?: boolean;
}

/**
 * Creates the maps an object declares. A declaration createMap or the native engine refuses
 * (unsupported type, key or value size, a ring buffer size that is not a power of two, too big)
 * is the object's fault: ProgramError 'EELF' naming the map, never a bare TypeError/RangeError.
 */
function objectMaps(specs: readonly MapSpec[]): BpfMap[] {
  if (specs.length === 0) return [];
  requireEngine('map create');
  return specs.map((m) => {
    try {
      return createMap(m);
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError || (e instanceof ProgramError && e.code === 'ENATIVE')) {
        throw new ProgramError('EELF', -1, `elf: map ${m.name} (${m.origin}): ${e.message}`);
      }
      throw e;
    }
  });
}

/**
 * Loads every program of an ELF object, sharing its maps (created through the native binding
 * with global data copied in). `jit`: as ProgramOptions.jit, for every program.
 * @throws ProgramError 'EELF' | 'EVERIFY' | 'ECREATE' | 'ENATIVE'
 */
export function loadObject(elf: Uint8Array, options: { jit?: boolean } = {}): LoadedObject {
  const spec = parseObject(elf);
  const maps = objectMaps(spec.maps);
  const programs = spec.programs.map((p) => new Program(p.insns, { maps, kind: p.kind, name: p.name, ...(options.jit === undefined ? {} : { jit: options.jit }) }));
  const byName = new Map(spec.maps.map((m, i) => [m.name, maps[i]!] as const));
  return {
    programs,
    maps: byName,
    spec,
    program(name: string): Program {
      const i = spec.programs.findIndex((p) => p.name === name || p.section === name);
      if (i < 0) throw new ProgramError('EELF', -1, `elf: no program named ${name} (have ${spec.programs.map((p) => `${p.section}:${p.name}`).join(', ')})`);
      return programs[i]!;
    },
  };
}

/**
 * Loads one program from an ELF object by section or function name (default: the first).
 * @throws ProgramError 'EELF' | 'EVERIFY' | 'ECREATE' | 'ENATIVE'
 */
export function loadProgram(elf: Uint8Array, options: LoadOptions = {}): Program {
  const spec = parseObject(elf);
  const want = options.section;
  const p = want === undefined ? spec.programs[0] : spec.programs.find((q) => q.section === want || q.name === want);
  if (!p) throw new ProgramError('EELF', -1, want === undefined ? 'elf: the object has no programs' : `elf: no program in section or named ${want} (have ${spec.programs.map((q) => q.section).join(', ')})`);
  const maps = objectMaps(spec.maps);
  return new Program(p.insns, { maps, kind: options.kind ?? p.kind, name: p.name, ...(options.jit === undefined ? {} : { jit: options.jit }) });
}

/** Drains the trace buffer (bpf_trace_printk output) as text; '' when empty or no engine. */
export function readTrace(): string {
  if (typeof (bpf as Partial<typeof bpf>).bpfTraceRead !== 'function') return '';
  const buf = new Uint8Array(65536);
  let s = '';
  for (let n = bpf.bpfTraceRead(buf); n > 0; n = bpf.bpfTraceRead(buf)) s += new TextDecoder().decode(buf.subarray(0, n));
  return s;
}
