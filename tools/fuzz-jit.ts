// JIT differential fuzzer (fuzzJit): generated programs run compiled and interpreted must agree.
//   node dist/tools/fuzz.js --jit --count 200000 [--seed N] [--case I] [--keep-going]
import {
  Program, ProgramError, Cls, lookupSpec, disassemble, encodeAll, engineAvailable,
  ArrayMap, HashMap, MapFlags, HelperSet, type BpfMap, type Insn, type RunResult, type RunStatusName,
} from '../src/programs/index.js';
import { bpf } from '../src/programs/binding.js';
import { runHandle } from '../src/programs/program.js';

/** Small deterministic PRNG (xorshift32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

// ---- JIT differential fuzzer ----------------------------------------------------------------
// fuzzJit generates programs that both verifiers accept, built to reach every instruction kind
// the JIT compiles (native/bpf/jit.c) with edge operands: immediates and register values at the
// 8/16/32/64-bit boundaries, division by 0 and -1, shift counts 0 and >= width, accesses at the
// edges of the frame, the run memory and map values (and just outside), misaligned atomics,
// pointers kept across helper calls, branches taken and not, loops ended by a counter or by the
// budget. Each case runs compiled and interpreted (Program.compareRuns) with a full budget and
// with one that stops it midway; every traceEvery-th case also with each budget up to its end,
// which checks every budget stop and tells which instructions ran.

/**
 * How a case is created: through Program (TS verifier and native check) as a 'standard' or
 * 'conformance' program, or 'raw': through the binding, native check only, for what the TS
 * verifier refuses: conformance helpers 0-4, r10 accesses outside the frame, r1-r5 read after a
 * helper call (both engines keep them), loads and stores through data registers.
 */
export type JitFuzzMode = 'standard' | 'conformance' | 'raw';
/** Helper set of a generated program. */
export type HelperKind = 'standard' | 'conformance';

const ALU_NAMES = ['add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'mov'] as const;
type AluName = (typeof ALU_NAMES)[number];
const ALU_OP: Readonly<Record<AluName, readonly [code: number, off: number]>> = {
  add: [0x00, 0], sub: [0x10, 0], mul: [0x20, 0], div: [0x30, 0], sdiv: [0x30, 1], or: [0x40, 0], and: [0x50, 0],
  lsh: [0x60, 0], rsh: [0x70, 0], mod: [0x90, 0], smod: [0x90, 1], xor: [0xa0, 0], mov: [0xb0, 0], arsh: [0xc0, 0],
};
const JMP_NAMES = ['jeq', 'jgt', 'jge', 'jset', 'jne', 'jsgt', 'jsge', 'jlt', 'jle', 'jslt', 'jsle'] as const;
const JMP_OP: Readonly<Record<(typeof JMP_NAMES)[number], number>> = {
  jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
};
/** Atomic imm -> kind name part (f = fetch). */
const ATOMIC_NAMES: Readonly<Record<number, string>> = { 0x00: 'add', 0x40: 'or', 0x50: 'and', 0xa0: 'xor', 0x01: 'fadd', 0x41: 'for', 0x51: 'fand', 0xa1: 'fxor', 0xe1: 'xchg', 0xf1: 'cmpxchg' };

/** Instruction kinds the JIT compiles: native/bpf/internal.h RF_KINDS, lower case. */
export const JIT_KINDS: readonly string[] = [
  ...[64, 32].flatMap((w) => [...ALU_NAMES.flatMap((n) => [`${n}${w}k`, `${n}${w}x`]), `neg${w}`]),
  ...['movsx8_64', 'movsx16_64', 'movsx32_64', 'movsx8_32', 'movsx16_32'],
  ...['le16', 'le32', 'le64', 'be16', 'be32', 'be64'],
  'ja',
  ...[64, 32].flatMap((w) => JMP_NAMES.flatMap((n) => [`${n}${w}k`, `${n}${w}x`])),
  ...['call', 'call_map_lookup', 'call_unwind', 'exit'],
  ...['ldxb', 'ldxh', 'ldxw', 'ldxdw', 'ldxsb', 'ldxsh', 'ldxsw'],
  ...['stb', 'sth', 'stw', 'stdw', 'stxb', 'stxh', 'stxw', 'stxdw'],
  ...[32, 64].flatMap((w) => ['add', 'or', 'and', 'xor', 'fadd', 'xchg', 'cmpxchg'].map((n) => `a${n}${w}`)),
  'lddw',
];

/**
 * The native kind of an instruction as check.c decodes it for a helper set, in JIT_KINDS' names
 * ('add32x', 'jsle64k', 'movsx8_32', 'be16', 'ldxsh', 'afadd64', 'call_map_lookup', ...).
 */
export function insnKind(x: Insn, helpers: HelperKind): string {
  const spec = lookupSpec(x);
  if ('error' in spec) return 'bad';
  const w = spec.cls === Cls.ALU64 || spec.cls === Cls.JMP ? 64 : 32;
  const kx = spec.shape === 'alu-k' || spec.shape === 'jcc-k' ? 'k' : 'x';
  switch (spec.shape) {
    case 'alu-k':
    case 'alu-x':
      return spec.mnemonic.startsWith('movsx') ? `movsx${x.off}_${w}` : `${spec.mnemonic.replace(/32$/, '')}${w}${kx}`;
    case 'unary':
      return spec.mnemonic.startsWith('neg') ? `neg${w}` : `${x.opcode === 0xd4 ? 'le' : 'be'}${x.imm}`;
    case 'jcc-k':
    case 'jcc-x':
      return `${spec.mnemonic.replace(/32$/, '')}${w}${kx}`;
    case 'ja':
    case 'gotol':
      return 'ja';
    case 'atomic':
      return `a${ATOMIC_NAMES[x.imm]}${spec.size! * 8}`;
    case 'call':
      if (helpers === 'conformance') return x.imm === 5 ? 'call_unwind' : 'call';
      return x.imm === 1 ? 'call_map_lookup' : x.imm === 181 ? 'call_loop' : 'call';
    case 'call-local':
      return 'call_local';
    default:
      return spec.mnemonic; // lddw, ldx*, st*, stx*, exit
  }
}

/** Random choices (xorshift32 underneath). */
class Rand {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  /** 0 <= n < k */
  int(k: number): number {
    return this.next() % k;
  }
  chance(p: number): boolean {
    return this.next() < p * 0x100000000;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.next() % a.length]!;
  }
  u64(): bigint {
    return (BigInt(this.next()) << 32n) | BigInt(this.next());
  }
}

/** The seed of case i: cases are independent, so one can be rerun alone (--case). */
function caseSeed(seed: number, i: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 13;
  return h >>> 0 || 1;
}

const INT32_MIN = -0x80000000;
/** 32-bit immediates at the edges. */
const IMM = [0, 1, -1, 2, -2, 3, 7, 8, 16, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, INT32_MIN, INT32_MIN + 1, 0x55555555, -0x55555556, 0x12345678];
const SHIFT_IMM = [0, 1, 7, 8, 15, 16, 31, 32, 33, 48, 63, 64, 65, 127, -1, -32];
const DIV_IMM = [0, 0, 1, -1, -1, 2, 3, 7, -7, 16, 0x7fffffff, INT32_MIN, 0x10000, -0x10000];
/** 64-bit register values at the edges. */
const VAL = [
  0n, 1n, 2n, 3n, 7n, 8n, 31n, 32n, 33n, 63n, 64n, 65n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n,
  0xffffffffn, 0x100000000n, 0x1ffffffffn, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xfffffffffffffffen,
  0xffffffff80000000n, 0xffffffff7fffffffn, 0x8000000080000000n, 0xffffffff00000000n, 0x80000000ffffffffn, 0xffff8080n,
  0xdeadbeefcafebaben, 0x0123456789abcdefn,
];
const SHIFT_VAL = [0n, 1n, 31n, 32n, 33n, 63n, 64n, 65n, 0xffffffffn, 0x100000020n, 0xffffffffffffffffn];
const DIV_VAL = [0n, 1n, 2n, 3n, 7n, 0xffffffffn, 0xffffffffffffffffn, 0x80000000n, 0x8000000000000000n, 0x100000000n, 0xffffffff00000000n, 0xfffffffffffffff9n];

const ins = (opcode: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ opcode, dst, src, off, imm });
/** Memory size -> opcode size bits. */
const SZ: Readonly<Record<number, number>> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };
const lddw = (d: number, v: bigint): Insn[] => [ins(0x18, d, 0, 0, Number(BigInt.asIntN(32, v))), ins(0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n)))];
const CALL = (id: number): Insn => ins(0x85, 0, 0, 0, id);
const MOVX = (d: number, s: number): Insn => ins(0xbf, d, s);
const ADDK = (d: number, k: number): Insn => ins(0x07, d, 0, 0, k);

/**
 * The maps of generated programs, by index. Six value regions: the JIT checks the first four
 * (writable ones for a store) with constants, the others through the run's hit cache.
 * len: bytes of value storage; stride: between values. H is a hash map (key 4, 2 entries).
 */
const FUZZ_MAPS = [
  { name: 'A', valueSize: 16, entries: 2, stride: 16, len: 32, ro: false },
  { name: 'H', valueSize: 8, entries: 2, stride: 8, len: 16, ro: false },
  { name: 'R', valueSize: 8, entries: 1, stride: 8, len: 8, ro: true },
  { name: 'B', valueSize: 8, entries: 1, stride: 8, len: 8, ro: false },
  { name: 'C', valueSize: 12, entries: 2, stride: 16, len: 32, ro: false },
  { name: 'S', valueSize: 24, entries: 1, stride: 24, len: 24, ro: true },
] as const;
const MAP_H = 1;
/** Array maps, by index; C and S twice: their regions are checked through the hit cache. */
const ARRAYS = [0, 2, 3, 4, 4, 5, 5];
/** Where a pointer register points (on the path being generated: a guide to pick offsets near edges). */
interface Ptr {
  region: 'stack' | 'mem' | 'map' | 'other';
  /** Map regions: bytes. */
  len: number;
  off: number;
}
const OTHER: Ptr = { region: 'other', len: 0, off: 0 };
const stackAt = (off: number): Ptr => ({ region: 'stack', len: 512, off });
/** Data registers; r6 (run memory), r7 and r8 (frame, memory or map value) hold pointers. */
const DATA = [0, 1, 2, 3, 4, 5, 9];
/** An instruction; `to`: a jump to the first slot of that block (offset set at layout). */
interface Item {
  x: Insn;
  to?: number;
}
const plain = (xs: Insn[]): Item[] => xs.map((x) => ({ x }));

/** One generated program: a prologue, random blocks, a final exit. */
class JitGen {
  private readonly blocks: Item[][] = [];
  private readonly ptr = new Map<number, Ptr>();
  /** A loop counter the loop body must not write (-1: none). */
  private avoid = -1;
  /** Recent stores and atomics, for loads that read them back. */
  private readonly stored: { base: number; off: number }[] = [];
  /** Frame slots (8-byte aligned offsets from r10) written: the final digest reads them. */
  private readonly slots = new Set<number>();
  private cur = 0;
  private last = 0;

  constructor(
    private readonly r: Rand,
    private readonly mode: JitFuzzMode,
    private readonly helpers: HelperKind,
    private readonly maps: boolean,
    private readonly memLen: number,
  ) {}

  build(): Insn[] {
    const n = this.r.chance(0.1) ? 20 + this.r.int(100) : 2 + this.r.int(18);
    this.last = n + 1;
    this.blocks.push(plain(this.prologue()));
    for (this.cur = 1; this.cur <= n; this.cur++) this.blocks.push(this.block());
    // the end: a digest, then exit (now and then a jump back: only early exits or the budget end the run)
    this.blocks.push([...plain(this.digest()), this.r.chance(0.97) ? { x: ins(0x95) } : { x: ins(0x05), to: 1 }]);
    const start: number[] = [];
    let pc = 0;
    for (const b of this.blocks) {
      start.push(pc);
      pc += b.length;
    }
    const out: Insn[] = [];
    for (const b of this.blocks)
      for (const it of b) {
        const x = { ...it.x };
        if (it.to !== undefined) {
          const rel = start[it.to]! - (out.length + 1);
          if (x.opcode === 0x06) x.imm = rel; // gotol
          else x.off = rel;
        }
        out.push(x);
      }
    return out;
  }

  // ---- values and registers ----

  private val(): bigint {
    return this.r.chance(0.85) ? this.r.pick(VAL) : this.r.u64();
  }
  /** dst = v, by mov, mov32 or lddw. */
  private set(d: number, v: bigint): Insn[] {
    const s = BigInt.asIntN(64, v);
    if (s === BigInt.asIntN(32, s) && this.r.chance(0.7)) return [ins(0xb7, d, 0, 0, Number(s))];
    if (s >= 0n && s <= 0xffffffffn && this.r.chance(0.7)) return [ins(0xb4, d, 0, 0, Number(BigInt.asIntN(32, s)))];
    return lddw(d, v);
  }
  /** A register value equal or next to imm, its upper half random now and then (32-bit compares ignore it). */
  private near(imm: number): bigint {
    let v = BigInt.asUintN(64, BigInt(imm) + BigInt(this.r.int(3)) - 1n);
    if (this.r.chance(0.3)) v = (this.r.u64() & 0xffffffff00000000n) | (v & 0xffffffffn);
    return v;
  }
  /** A register to write: a data register (in raw mode now and then any but r10). */
  private dst(): number {
    for (;;) {
      const d = this.mode === 'raw' && this.r.chance(0.08) ? this.r.int(10) : this.r.pick(DATA);
      if (d === this.avoid) continue;
      if (d >= 6 && d <= 8) this.ptr.set(d, OTHER);
      return d;
    }
  }
  /**
   * A register to read: mostly data, sometimes a pointer or r10 (raw mode only: the TS verifier
   * refuses addresses as operands of ALU ops, comparisons and stores to memory, as the kernel
   * does for unprivileged programs).
   */
  private src(): number {
    return this.r.chance(0.75) || this.mode !== 'raw' ? this.r.pick(DATA) : this.r.pick([6, 7, 8, 10]);
  }
  /**
   * Hides p's offset from the TS verifier, so that its accesses are checked at run time only: raw
   * mode with an or/and/xor, the verified modes with p += t, p -= t, t a byte loaded from the
   * frame (a number the verifier does not know: the offset becomes variable, the address stays).
   */
  private hide(p: number): Insn[] {
    if (this.mode !== 'raw') {
      const t = this.r.pick(DATA.filter((x) => x !== this.avoid));
      return [ins(0x71, t, 10, -1), ins(0x0f, p, t), ins(0x1f, p, t)];
    }
    return [this.r.pick([ins(0x47, p, 0, 0, 0), ins(0x57, p, 0, 0, -1), ins(0xa7, p, 0, 0, 0)])];
  }
  private writable(reg: number): boolean {
    return DATA.includes(reg) && reg !== this.avoid;
  }

  // ---- addresses ----

  /** Offsets from the start (stack: from the top) of a region of len bytes: inside, at both edges, just outside. */
  private edge(lo: number, hi: number, size: number, atomic: boolean): number {
    const inside = hi - lo >= size ? lo + this.r.int(hi - lo - size + 1) : lo;
    let e = this.r.chance(0.85) ? this.r.pick([lo, hi - size, inside, inside, lo + size]) : this.r.pick([hi - size + 1, hi, lo - 1, lo - size]);
    if (atomic && this.r.chance(0.85)) e -= ((e % size) + size) % size;
    return e;
  }
  /** An offset from r10: in the frame (both verifiers), or in raw mode also outside. */
  private frameOffset(size: number, atomic: boolean): number {
    if (this.mode === 'raw' && this.r.chance(0.25)) return this.r.pick([0, 8, -size + 1, -1, -513, -512 - size, -520, -1024, 4096, 32767, -32768]);
    let e = this.r.pick([-512, -512 + size, -size, -8, -16, -64, -256, -size * (1 + this.r.int(512 / size))]);
    if (atomic && this.r.chance(0.15)) e = Math.min(-size, e + 1 + this.r.int(size - 1)); // misaligned, still in the frame
    return e;
  }
  private address(size: number, atomic: boolean): { base: number; off: number } {
    const roll = this.r.int(100);
    if (roll < 28) return { base: 10, off: this.frameOffset(size, atomic) };
    if (this.mode === 'raw' && roll < 33) return { base: this.r.pick(DATA), off: this.r.int(33) - 16 };
    let base = this.r.pick([6, 7, 8]);
    if ((this.ptr.get(base) ?? OTHER).region === 'other' && this.r.chance(0.7)) base = this.r.pick([6, 7, 8]); // fewer wild accesses
    const p = this.ptr.get(base) ?? OTHER;
    if (p.region === 'other') return { base, off: (this.r.int(33) - 16) & (atomic ? -size : -1) };
    const e = p.region === 'stack' ? this.edge(-512, 0, size, atomic) : this.edge(0, p.region === 'mem' ? this.memLen : p.len, size, atomic);
    const off = e - p.off;
    return { base, off: off >= -32768 && off <= 32767 ? off : 0 };
  }
  /** Notes a write, for loads that read it back and for the digest of the frame. */
  private wrote(base: number, off: number): void {
    this.stored.push({ base, off });
    if (this.stored.length > 6) this.stored.shift();
    const p = base === 10 ? stackAt(0) : this.ptr.get(base);
    const e = p?.region === 'stack' ? p.off + off : 1;
    if (e >= -512 && e <= -1) this.slots.add(e & -8);
  }
  /** r0 ^= some frame slots and map values written: stores the runs' results do not show otherwise. */
  private digest(): Insn[] {
    const out: Insn[] = [];
    const slots = [...this.slots];
    for (let k = 0; k < 6 && slots.length; k++) {
      const slot = slots.splice(this.r.int(slots.length), 1)[0]!;
      out.push(ins(0x79, 1, 10, slot), ins(0xaf, 0, 1)); // ldxdw r1, [r10+slot]; xor r0, r1
    }
    if (this.maps)
      for (const m of [0, 3, 4]) {
        out.push(...this.mapValue(2, m, 0));
        for (let o = 0; o < FUZZ_MAPS[m]!.len; o += 8) if (this.r.chance(0.5)) out.push(ins(0x79, 1, 2, o), ins(0xaf, 0, 1));
      }
    if (this.maps && this.mode !== 'raw') out.push(...this.set(2, this.val())); // a number again (the end may jump back)
    return out;
  }

  // ---- blocks ----

  private block(): Item[] {
    const w = this.r.int(100);
    if (w < 24) return plain(this.aluBlock());
    if (w < 28) return plain(this.setBlock());
    if (w < 32) return plain(this.movsxBlock());
    if (w < 38) return plain(this.unaryBlock());
    if (w < 47) return plain(this.loadBlock());
    if (w < 55) return plain(this.storeBlock());
    if (w < 60) return plain(this.atomicBlock());
    if (w < 62) return plain(this.switchBlock());
    if (w < 64) return plain(this.cacheBlock());
    if (w < 68) return plain(this.ptrBlock());
    if (w < 78) return this.jccBlock(false);
    if (w < 80) return [{ x: ins(this.r.chance(0.7) ? 0x05 : 0x06), to: this.fwdTarget() }];
    if (w < 82) return this.jccBlock(true);
    if (w < 87) return plain(this.loopBlock());
    if (w < 96) return plain(this.callBlock());
    if (w < 97) return [{ x: ins(this.r.pick([0x05, 0x06])), to: this.backTarget() }]; // ends with the budget unless a branch leaves
    return plain(this.r.chance(0.5) ? [ins(0x95)] : [...this.set(0, this.val()), ins(0x95)]);
  }
  /** A block without jumps out of it (loop bodies). */
  private simpleBlock(calls: boolean): Insn[] {
    const w = this.r.int(calls ? 100 : 90);
    if (w < 30) return this.aluBlock();
    if (w < 36) return this.unaryBlock();
    if (w < 40) return this.movsxBlock();
    if (w < 55) return this.loadBlock();
    if (w < 68) return this.storeBlock();
    if (w < 80) return this.atomicBlock();
    if (w < 90) return this.ptrBlock();
    return this.callBlock();
  }
  private fwdTarget(): number {
    return Math.min(this.last, this.cur + 1 + this.r.int(4));
  }
  private backTarget(): number {
    return Math.max(1, this.cur - this.r.int(4));
  }

  private prologue(): Insn[] {
    const out: Insn[] = [MOVX(6, 1)]; // r6 = the run memory
    this.ptr.set(6, { region: 'mem', len: 0, off: 0 });
    if (this.maps) {
      // reset what a run can change, so the compiled and the interpreted run see the same maps:
      // the writable arrays, and H's keys 0 and 1 (after this H is full with them: its values never move)
      for (const [m, map] of FUZZ_MAPS.entries()) {
        if (map.ro || m === MAP_H) continue;
        out.push(...this.mapValue(8, m, 0));
        for (let o = 0; o < map.len; o += 8) out.push(ins(0x7a, 8, 0, o, this.r.pick(IMM)));
      }
      if (this.helpers === 'standard')
        for (const key of [0, 1])
          out.push(ins(0x62, 10, 0, -4, key), ins(0x7a, 10, 0, -16, this.r.pick(IMM)), ...this.mapRef(1, MAP_H), MOVX(2, 10), ADDK(2, -4), MOVX(3, 10), ADDK(3, -16), ins(0xb7, 4), CALL(2));
    }
    out.push(...(this.maps && this.r.chance(0.3) ? this.mapPtr(7) : this.stackPtr(7)));
    if (this.maps && this.r.chance(0.7)) out.push(...this.mapPtr(8));
    else out.push(...(this.r.chance(0.5) ? this.stackPtr(8) : this.memPtr(8)));
    for (const d of DATA) if (this.mode !== 'raw' || this.r.chance(0.7)) out.push(...this.set(d, this.val()));
    return out;
  }

  private mapRef(d: number, map: number): Insn[] {
    return [ins(0x18, d, this.r.pick([1, 5]), 0, map), ins(0, 0, 0, 0, 0)];
  }
  private mapValue(d: number, map: number, off: number): Insn[] {
    return [ins(0x18, d, this.r.pick([2, 6]), 0, map), ins(0, 0, 0, 0, off)];
  }
  /** p = r10 + k, hidden from the TS verifier (see hide()). */
  private stackPtr(p: number): Insn[] {
    const k = this.r.pick([-512, -256, -64, -16, -8, -4, 0, 8, -520, -600, -32]);
    this.ptr.set(p, stackAt(k));
    return [MOVX(p, 10), ADDK(p, k), ...this.hide(p)];
  }
  private memPtr(p: number): Insn[] {
    const k = this.r.pick([0, 0, 1, 8, this.memLen >> 1, this.memLen - 8, this.memLen, -8]);
    const m = this.ptr.get(6) ?? OTHER;
    this.ptr.set(p, m.region === 'mem' ? { region: 'mem', len: 0, off: m.off + k } : OTHER);
    return [MOVX(p, 6), ADDK(p, k)];
  }
  /** p = the address of an array map value (ld_imm64 map value: value 0 + k). */
  private mapPtr(p: number): Insn[] {
    const m = this.r.pick(ARRAYS);
    const k = this.r.chance(0.6) ? 0 : this.r.int(FUZZ_MAPS[m]!.valueSize);
    this.ptr.set(p, { region: 'map', len: FUZZ_MAPS[m]!.len, off: k });
    return this.mapValue(p, m, k);
  }

  private aluBlock(): Insn[] {
    const name = this.r.pick(ALU_NAMES);
    const is64 = this.r.chance(0.5);
    const [code, off] = ALU_OP[name];
    const shift = name === 'lsh' || name === 'rsh' || name === 'arsh';
    const div = code === 0x30 || code === 0x90;
    const d = this.dst();
    const out: Insn[] = [];
    if (name !== 'mov' && this.r.chance(0.5)) out.push(...this.set(d, this.val()));
    if (this.r.chance(0.45)) {
      const s = this.r.chance(0.15) ? d : this.src();
      if (s !== d && this.writable(s) && this.r.chance(0.5)) out.push(...this.set(s, shift ? this.r.pick(SHIFT_VAL) : div ? this.r.pick(DIV_VAL) : this.val()));
      out.push(ins(code | (is64 ? 0x0f : 0x0c), d, s, off));
    } else {
      const imm = shift ? this.r.pick(SHIFT_IMM) : div ? this.r.pick(DIV_IMM) : this.r.chance(0.9) ? this.r.pick(IMM) : this.r.int(0x100000000) | 0;
      out.push(ins(code | (is64 ? 0x07 : 0x04), d, 0, off, imm));
    }
    return out;
  }
  private setBlock(): Insn[] {
    return this.set(this.dst(), this.val());
  }
  private movsxBlock(): Insn[] {
    const is64 = this.r.chance(0.5);
    const bits = this.r.pick(is64 ? [8, 16, 32] : [8, 16]);
    const d = this.dst();
    const s = this.r.chance(0.2) ? d : this.src();
    const out = s !== d && this.writable(s) && this.r.chance(0.6) ? this.set(s, this.val()) : [];
    return [...out, ins(is64 ? 0xbf : 0xbc, d, s, bits)];
  }
  private unaryBlock(): Insn[] {
    const d = this.dst();
    const out = this.r.chance(0.5) ? this.set(d, this.val()) : [];
    const op = this.r.int(4);
    if (op === 0) out.push(ins(this.r.chance(0.5) ? 0x87 : 0x84, d));
    else out.push(ins([0xd4, 0xdc, 0xd7][op - 1]!, d, 0, 0, this.r.pick([16, 32, 64])));
    return out;
  }
  private loadBlock(): Insn[] {
    const size = this.r.pick([1, 2, 4, 8]);
    const signed = size < 8 && this.r.chance(0.4);
    const at = this.stored.length && this.r.chance(0.35) ? this.r.pick(this.stored) : this.address(size, false);
    const off = at.base === 10 && this.mode !== 'raw' ? Math.min(at.off, -size) : at.off; // a read-back of another size: still in the frame
    const d = this.r.chance(0.9) ? this.dst() : this.r.pick([6, 7, 8].filter((p) => p !== this.avoid));
    this.ptr.set(d, OTHER);
    return [ins((signed ? 0x81 : 0x61) | SZ[size]!, d, at.base, off)];
  }
  private storeBlock(): Insn[] {
    const size = this.r.pick([1, 2, 4, 8]);
    const { base, off } = this.address(size, false);
    this.wrote(base, off);
    if (this.r.chance(0.4)) return [ins(0x62 | SZ[size]!, base, 0, off, this.r.pick(IMM))];
    const s = this.src();
    const out = this.writable(s) && this.r.chance(0.4) ? this.set(s, this.val()) : [];
    return [...out, ins(0x63 | SZ[size]!, base, s, off)];
  }
  /** Accesses through r6, r7 and r8 in turn: regions alternate in the run's hit cache. */
  private switchBlock(): Insn[] {
    const out: Insn[] = [];
    const first = this.r.int(3);
    const step = this.r.chance(0.5) ? 1 : 2; // r6 r7 r8 or r6 r8 r7, from a random one
    for (let k = 2 + this.r.int(2), i = first; k > 0; k--, i = (i + step) % 3) {
      const base = 6 + i;
      const size = this.r.pick([1, 2, 4, 8]);
      const p = this.ptr.get(base) ?? OTHER;
      const e = p.region === 'stack' ? this.edge(-512, 0, size, false) : p.region === 'other' ? p.off : this.edge(0, p.region === 'mem' ? this.memLen : p.len, size, false);
      const off = Math.max(-32768, Math.min(32767, e - p.off));
      if (this.r.chance(0.3)) {
        out.push(ins(0x62 | SZ[size]!, base, 0, off, this.r.pick(IMM)));
        this.wrote(base, off);
      } else out.push(ins(0x61 | SZ[size]!, this.dst(), base, off));
    }
    return out;
  }
  /**
   * The run's hit cache (jit.c checks its entries 0 and 1, interp.c the same and then searches):
   * the run memory and map C or S (not among the regions checked with constants) in turn, then
   * an access at the end of one of them (or one byte past it), now through entry 1.
   */
  private cacheBlock(): Insn[] {
    const mem = this.ptr.get(6);
    if (!this.maps || this.memLen === 0 || mem?.region !== 'mem') return this.switchBlock();
    const t = this.r.pick(DATA.filter((x) => x !== this.avoid)); // t = a value of C or S
    const m = this.r.pick([4, 5]);
    const size = this.r.pick([2, 4, 8]);
    const past = this.r.int(2);
    const out = [ins(0x71, this.dst(), 6, -mem.off), ...this.mapValue(t, m, 0), ins(0x71, this.dst(), t, 0)]; // ldxb from each
    if (this.r.chance(0.5)) {
      const e = this.memLen - size + past - mem.off; // the run memory's end, through entry 1
      out.push(this.r.chance(0.5) ? ins(0x61 | SZ[size]!, this.dst(), 6, e) : ins(0x62 | SZ[size]!, 6, 0, e, 1));
    } else {
      // back to the run memory, then a store to S (read-only) or at C's end, through entry 1
      out.push(ins(0x71, this.dst(), 6, -mem.off), ins(0x62 | SZ[size]!, t, 0, FUZZ_MAPS[m]!.len - size + past, 1));
    }
    if (this.mode !== 'raw') out.push(...this.set(t, this.val())); // t is a data register again: a number
    return out;
  }
  private atomicBlock(): Insn[] {
    const size = this.r.chance(0.5) ? 8 : 4;
    let op = this.r.pick([0x00, 0x40, 0x50, 0xa0, 0x01, 0x01, 0xe1, 0xe1, 0xf1, 0xf1]);
    if (op === 0xf1 && this.avoid === 0) op = 0x00; // cmpxchg writes r0
    const { base, off } = this.address(size, true);
    this.wrote(base, off);
    let s = this.src();
    if (op & 1 && (s === this.avoid || (s === 10 && !(this.mode === 'raw' && op === 0xf1)))) s = this.r.pick(DATA.filter((x) => x !== this.avoid));
    if (op & 1 && op !== 0xf1) this.ptr.set(s, OTHER);
    const out: Insn[] = [];
    if (this.writable(s) && this.r.chance(0.4)) out.push(...this.set(s, this.val()));
    if (op === 0xf1 && this.r.chance(0.5)) {
      // r0 = the current value: the exchange happens; 32-bit: r0's upper half set now and then
      out.push(ins((size === 4 && this.r.chance(0.5) ? 0x81 : 0x61) | SZ[size]!, 0, base, off));
      const t = DATA.find((x) => x !== 0 && x !== s && x !== this.avoid)!;
      if (size === 4 && this.r.chance(0.5)) out.push(...lddw(t, this.r.u64() << 32n), ins(0x4f, 0, t)); // or r0, t
    }
    out.push(ins(size === 8 ? 0xdb : 0xc3, base, s, off, op));
    return out;
  }
  private ptrBlock(): Insn[] {
    const p = this.r.pick([6, 7, 8].filter((x) => x !== this.avoid));
    const st = this.ptr.get(p) ?? OTHER;
    switch (this.r.int(6)) {
      case 0:
        return p === 6 ? this.memPtr(6) : this.stackPtr(p);
      case 1:
        return p !== 6 && this.maps ? this.mapPtr(p) : this.memPtr(p === 6 ? 8 : p);
      case 2: {
        const q = this.r.pick([6, 7, 8, 10].filter((x) => x !== p));
        this.ptr.set(p, q === 10 ? stackAt(0) : { ...(this.ptr.get(q) ?? OTHER) });
        return q === 10 ? [MOVX(p, 10), ...this.hide(p)] : [MOVX(p, q)]; // hide r10 copies
      }
      case 3: {
        const k = this.r.pick([1, 2, 4, 8, 16, -1, -4, -8, -16, 0x7fffffff, INT32_MIN]);
        this.ptr.set(p, { ...st, off: st.off + k });
        return [ADDK(p, k)];
      }
      case 4: {
        this.ptr.set(p, st.region === 'stack' ? stackAt(st.off & -8) : OTHER); // the frame's top is 16-aligned
        if (this.mode === 'raw') return [ins(0x57, p, 0, 0, -8)];
        return [ADDK(p, st.region === 'stack' ? (st.off & -8) - st.off : -8)]; // no bitwise ops on addresses
      }
      default: {
        if (this.r.chance(0.5)) return this.stackPtr(p === 6 ? 7 : p);
        const s = this.r.pick(DATA);
        this.ptr.set(p, OTHER);
        return [ins(this.r.pick([0x0f, 0x1f]), p, s)]; // add/sub a data register
      }
    }
  }
  private jccBlock(back: boolean): Item[] {
    const name = this.r.pick(JMP_NAMES);
    const is64 = this.r.chance(0.5);
    const x = this.r.chance(0.4);
    const code = JMP_OP[name] | (is64 ? 0x05 : 0x06) | (x ? 0x08 : 0);
    const d = this.r.chance(0.85) || this.mode !== 'raw' ? this.r.pick(DATA) : this.r.pick([6, 7, 8, 10]);
    const to = back ? this.backTarget() : this.fwdTarget();
    const preset = !back && this.r.chance(0.5);
    const out: Insn[] = [];
    if (x) {
      const s = this.r.chance(0.15) ? d : this.src();
      if (preset && s !== d && this.writable(d) && this.writable(s)) {
        const v = this.val();
        out.push(...this.set(d, v), ...this.set(s, this.r.chance(0.5) ? v : this.near(Number(BigInt.asIntN(32, v)))));
      }
      return [...plain(out), { x: ins(code, d, s), to }];
    }
    const imm = this.r.chance(0.9) ? this.r.pick(IMM) : this.r.int(0x100000000) | 0;
    if (preset && this.writable(d)) out.push(...this.set(d, this.near(imm)));
    return [...plain(out), { x: ins(code, d, 0, 0, imm), to }];
  }
  /** c = n; body; count down (or up) and jump back; now and then a loop only the budget ends. */
  private loopBlock(): Insn[] {
    const c = this.r.chance(0.85) ? 9 : this.r.pick([0, 3, 4]);
    const n = this.r.pick([1, 2, 3, 5, 8]);
    const up = this.r.chance(0.3);
    const head = this.set(c, up ? 0n : BigInt(n));
    this.avoid = c;
    const body: Insn[] = [];
    for (let k = 1 + this.r.int(3); k > 0; k--) body.push(...this.simpleBlock(c === 9));
    this.avoid = -1;
    const tail: Insn[] = [];
    const v = this.r.int(20);
    if (v === 0) tail.push(ins(0x05));
    else if (up) tail.push(ADDK(c, 1), ins(0xa5, c, 0, 0, n)); // jlt c, n
    else if (v < 10) tail.push(ADDK(c, -1), ins(0x55, c)); // jne c, 0
    else if (v < 15) tail.push(ins(0x14, c, 0, 0, 1), ins(0x66, c)); // sub32 c, 1; jsgt32 c, 0
    else tail.push(ins(0x17, c, 0, 0, 1), ins(0x65, c, 0, 0, 0)); // sub c, 1; jsgt c, 0
    const j = tail[tail.length - 1]!;
    j.off = -(body.length + tail.length);
    return [...head, ...body, ...tail];
  }

  // ---- helper calls ----

  private callBlock(): Insn[] {
    let out: Insn[];
    if (this.helpers === 'standard') out = this.callStandard();
    else if (this.mode === 'raw') out = this.callConformance();
    else out = this.callUnwind();
    // both verifiers: r1-r5 are unset after a call; raw mode reads them now and then (they keep their values)
    if (this.mode !== 'raw' || this.r.chance(0.5)) for (let i = 1; i <= 5; i++) if (i !== this.avoid) out.push(...this.set(i, this.val()));
    return out;
  }
  private keyPtr(reg: number, k: number, any: boolean): Insn[] {
    if (any && this.r.chance(0.3)) {
      const out = [MOVX(reg, this.r.pick([6, 7, 8]))];
      if (this.r.chance(0.5)) out.push(ADDK(reg, this.r.pick([0, 4, 8, -4])));
      return out;
    }
    return [MOVX(reg, 10), ADDK(reg, -k)];
  }
  private callStandard(): Insn[] {
    if (!this.maps) return [CALL(8)]; // bpf_get_smp_processor_id
    const what = this.r.pick(['lookup', 'lookup', 'lookup', 'update', 'delete', 'cpu'] as const);
    if (what === 'cpu') return [CALL(8)];
    const m = this.r.int(FUZZ_MAPS.length);
    const k = this.r.pick([4, 8, 12, 100, 512]);
    // deleting H's key 0 or 1 would move its values (the runs would see different pointers)
    const safe = what === 'delete' && m === MAP_H;
    const key = safe ? this.r.pick([2, -1]) : this.r.pick([0, 1, 2, -1, 0, 1]);
    const out = [ins(0x62, 10, 0, -k, key)];
    this.slots.add(-k & -8);
    if (this.mode === 'raw' && this.r.chance(0.1)) out.push(...this.set(1, this.val())); // not a map: the helper stops the run
    else out.push(...this.mapRef(1, m));
    out.push(...this.keyPtr(2, k, !safe));
    if (what === 'update') {
      const size = FUZZ_MAPS[m]!.valueSize;
      const v = this.r.pick([24, 32, 64, 512].filter((x) => x >= size));
      for (let o = 0; o < size; o += 8) out.push(ins(0x7a, 10, 0, o - v, this.r.pick(IMM)));
      if (this.r.chance(0.8)) out.push(MOVX(3, 10), ADDK(3, -v));
      else out.push(MOVX(3, this.r.pick([6, 7, 8])));
      out.push(...this.set(4, this.r.pick([0n, 0n, 1n, 2n, 4n])));
    }
    out.push(CALL(what === 'lookup' ? 1 : what === 'update' ? 2 : 3));
    if (what === 'lookup') {
      if (this.avoid !== 8 && this.r.chance(0.6)) {
        // keep the value pointer in r8, across later calls
        out.push(MOVX(8, 0));
        if (this.mode !== 'raw') out.push(ins(0x55, 8, 0, 1, 0), MOVX(8, 6)); // jne r8, 0, +1; r8 = r6 when NULL
        const map = FUZZ_MAPS[m]!;
        this.ptr.set(8, key >= 0 && key < map.entries ? { region: 'map', len: map.len, off: m === MAP_H ? 0 : key * map.stride } : OTHER);
      }
      if (this.r.chance(0.4)) {
        // if r0: an access through it (for cmpxchg r0 is also the comparand)
        const off = this.r.pick([0, 8, 15, 16, 24, -1]);
        const s = this.avoid === 9 ? 7 : this.r.pick([9, 9, 7]); // r1-r5 are unset until after the block
        out.push(ins(0x15, 0, 0, 1, 0)); // jeq r0, 0, +1
        switch (this.mode !== 'raw' && s === 7 ? this.r.int(2) : this.r.int(5)) { // r7 is an address: not stored
          case 0: out.push(ins(0x79, this.dst(), 0, off)); break; // ldxdw
          case 1: out.push(ins(0x7a, 0, 0, off, 7)); break; // stdw
          case 2: out.push(ins(0xdb, 0, s, off & -8, 0x00)); break; // lock add
          case 3: out.push(ins(0xdb, 0, s, off & -8, this.mode === 'raw' ? 0xf1 : 0x00)); break; // lock cmpxchg (its comparand r0 is an address here)
          default: out.push(ins(0xc3, 0, s, off & -4, 0xe1)); this.ptr.set(s, OTHER); // lock xchg32
        }
      }
    }
    if (what === 'lookup' && this.mode !== 'raw' && this.avoid !== 0) out.push(...this.set(0, this.val())); // r0 returned or computed with: a number
    return out;
  }
  private callUnwind(): Insn[] {
    const out = this.r.chance(0.25) ? this.set(1, 0n) : this.r.chance(0.6) ? this.set(1, this.val()) : [MOVX(1, this.r.pick(this.mode === 'raw' ? [0, 3, 4, 9, 6, 10] : [0, 3, 4, 9]))];
    return [...out, CALL(5)];
  }
  /** bpf_conformance helpers: 0 gather_bytes, 1 memfrob, 2 no_op, 3 sqrti, 4 strcmp, 5 unwind. */
  private callConformance(): Insn[] {
    const id = this.r.int(6);
    const ptr = (reg: number): Insn[] => {
      const out = [MOVX(reg, this.r.pick([6, 7, 8, 10]))];
      if (this.r.chance(0.5)) out.push(ADDK(reg, this.r.pick([0, 1, 4, 8, -8, -16, -1])));
      return out;
    };
    switch (id) {
      case 0: {
        const out: Insn[] = [];
        for (let i = 1; i <= 5; i++) if (this.r.chance(0.6)) out.push(...this.set(i, this.val()));
        return [...out, CALL(0)];
      }
      case 1:
        return [...ptr(1), ...this.set(2, this.r.pick([0n, 1n, 7n, 8n, 16n, BigInt(this.memLen), 33n, 600n])), CALL(1)];
      case 3:
        return [...this.set(1, this.val()), CALL(3)];
      case 4:
        return [...ptr(1), ...ptr(2), CALL(4)];
      case 5:
        return this.callUnwind();
      default:
        return [CALL(2)];
    }
  }
}

/** Run memory for a case: bytes at the sign and zero edges. */
function memBytes(r: Rand, len: number): Uint8Array {
  const m = new Uint8Array(len);
  for (let i = 0; i < len; i++) m[i] = r.chance(0.4) ? r.int(256) : r.pick([0, 0, 0xff, 0x80, 0x7f, 1]);
  return m;
}

/** One case of fuzzJit: the program and how it runs. */
export interface JitCase {
  mode: JitFuzzMode;
  /** Helper set: standard (maps A, H, R) or conformance. */
  helpers: HelperKind;
  insns: Insn[];
  bytes: Uint8Array;
  /** Run memory at the start (null: none, r1 = 0). */
  mem: Uint8Array | null;
  /** Budget of the full run. */
  budget: number;
  /** Picks the budget of the run stopped midway: 1 + mid % (instructions of the full run - 1). */
  mid: number;
}

/** Case i of a seed (cases are independent of each other). */
export function jitCase(seed: number, i: number, modes: readonly JitFuzzMode[] = ['standard', 'conformance', 'raw']): JitCase {
  const r = new Rand(caseSeed(seed, i));
  const mode = r.pick(modes);
  const helpers: HelperKind = mode === 'raw' ? r.pick(['standard', 'conformance'] as const) : mode;
  const useMaps = r.chance(0.6);
  const memLen = r.pick([0, 1, 4, 8, 13, 16, 24, 64, 64]);
  const insns = new JitGen(r, mode, helpers, useMaps, memLen).build();
  return { mode, helpers, insns, bytes: encodeAll(insns), mem: memLen ? memBytes(r, memLen) : null, budget: r.pick([200, 2000, 5000]), mid: r.int(0x40000000) };
}

/** Options for fuzzJit. */
export interface JitFuzzOptions {
  /** Every traceEvery-th compiled case also runs at every budget up to its end (default 4; 0: never). */
  traceEvery?: number;
  /** Longest run traced, in instructions (default 300). */
  traceCap?: number;
  /** Modes to draw from (default all). */
  modes?: readonly JitFuzzMode[];
  /** Index of the first case (cases are independent: first = i, count = 1 reruns case i). */
  first?: number;
  /** Called with each difference instead of throwing; the fuzzer goes on. */
  onDifference?: (d: JitDifference) => void;
}

/** A disagreement between the compiled and the interpreted run. */
export interface JitDifference {
  seed: number;
  case: number;
  mode: JitFuzzMode;
  budget: number;
  /** compareRuns' description (first field that differs). */
  difference: string;
  /** Compiled run's result. */
  result: RunResult;
  /** Assembler text (reassembles to the same bytes). */
  program: string;
  hex: string;
  /** Run memory at the start, hex (null: no memory). */
  mem: string | null;
  /** All of the above, as thrown. */
  message: string;
}

/** What fuzzJit did. */
export interface JitFuzzStats {
  cases: number;
  /** Cases a verifier refused: the generator's mistakes (messages of the first few in rejects). */
  rejected: number;
  rejects: string[];
  /** Cases compiled (jitBytes > 0), each compared with the interpreter. */
  compiled: number;
  /** Cases created but not compiled. */
  interpreted: number;
  /** Compiled cases by mode. */
  modes: Record<JitFuzzMode, number>;
  /** compareRuns calls. */
  runs: number;
  /** Outcomes of the full-budget runs of compiled cases. */
  outcomes: Record<RunStatusName, number>;
  /** Instructions executed by those runs. */
  insns: number;
  /** Instruction kinds in compiled programs (instructions, counted once per program and slot). */
  kinds: Record<string, number>;
  /** Instruction kinds executed in traced cases (distinct instructions per case). */
  ran: Record<string, number>;
  /** Helper calls in compiled programs, by `set:id`. */
  helpers: Record<string, number>;
  /** Budget stops at a helper call: by its charge (native/bpf/helpers.c) but for one budget per
   * call in a sweep (the one that ends right before it). */
  chargedStops: number;
  /** Differences found (with onDifference; otherwise the first one throws). */
  differences: number;
}

/** A program to compare: created through Program, or through the binding (raw mode). */
export interface JitSubject {
  /** Bytes of native code (0: interpreted). */
  readonly jitBytes: number;
  /** Program.compareRuns. */
  compare(mem: Uint8Array | null, budget: number): { result: RunResult; difference?: string };
}

/**
 * A program created through the binding, past the TS verifier (native check only), e.g. with the
 * conformance helpers 0-4 or reading r1-r5 after a call. @throws ProgramError 'ECREATE'
 */
export function rawProgram(bytes: Uint8Array, helpers: HelperKind, maps: readonly BpfMap[] = []): JitSubject {
  const out = new Int32Array(2);
  const h = bpf.bpfProgCreate(bytes, maps.map((m) => m.handle), helpers === 'standard' ? HelperSet.Standard : HelperSet.Conformance, out);
  if (typeof h === 'number') throw new ProgramError('ECREATE', out[0]!, `native: insn ${out[0]}: rejected (code ${-h})`);
  return { jitBytes: out[1]!, compare: (mem, budget) => runHandle(h, mem, budget, true) };
}

let jitMaps: BpfMap[] | undefined;
/** The maps of generated programs (FUZZ_MAPS), made once per process; read-only ones hold sign-edge bytes. */
export function jitFuzzMaps(): BpfMap[] {
  jitMaps ??= FUZZ_MAPS.map((m, i) => {
    if (i === MAP_H) return new HashMap({ keySize: 4, valueSize: m.valueSize, maxEntries: m.entries, name: m.name });
    const a = new ArrayMap({ valueSize: m.valueSize, maxEntries: m.entries, flags: m.ro ? MapFlags.RdonlyProg : 0, name: m.name });
    if (m.ro) a.memory.set([0x80, 0x01, 0xff, 0x7f, 0x00, 0x80, 0xfe, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 1, 0, 0, 0, 0, 0, 0, 0x80].slice(0, a.memory.length));
    return a;
  });
  return jitMaps;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * The JIT differential fuzzer: count generated programs (see JitFuzzMode), each compiled one run
 * compiled and interpreted from the same start with several budgets. Throws on the first
 * difference (unless options.onDifference), with the program's text and bytes.
 */
export function fuzzJit(count: number, seed = 1, options: JitFuzzOptions = {}): JitFuzzStats {
  const modes = options.modes ?? (['standard', 'conformance', 'raw'] as const);
  const traceEvery = options.traceEvery ?? 4;
  const traceCap = options.traceCap ?? 300;
  const first = options.first ?? 0;
  const stats: JitFuzzStats = {
    cases: 0, rejected: 0, rejects: [], compiled: 0, interpreted: 0, modes: { standard: 0, conformance: 0, raw: 0 }, runs: 0,
    outcomes: { ok: 0, budget: 0, memfault: 0, calldepth: 0, badinsn: 0, helper: 0 }, insns: 0, kinds: {}, ran: {}, helpers: {}, chargedStops: 0, differences: 0,
  };
  if (!engineAvailable()) return stats;
  const maps = jitFuzzMaps();
  const bump = (m: Record<string, number>, k: string): void => void (m[k] = (m[k] ?? 0) + 1);
  for (let i = first; i < first + count; i++) {
    const { mode, helpers, insns: prog, bytes, mem: init, budget, mid } = jitCase(seed, i, modes);
    stats.cases++;
    let subject: JitSubject;
    try {
      if (mode === 'raw') subject = rawProgram(bytes, helpers, maps);
      else {
        const p = new Program(bytes, { kind: helpers, maps, unreachable: 'note' });
        subject = { jitBytes: p.jitBytes, compare: (mem, budget) => p.compareRuns(mem, { budget }) };
      }
    } catch (e) {
      if (!(e instanceof ProgramError)) throw e;
      stats.rejected++;
      if (stats.rejects.length < 10) stats.rejects.push(`case ${i} (${mode}): ${e.message}\n${disassemble(bytes, { pcs: true })}`);
      continue;
    }
    if (subject.jitBytes === 0) {
      stats.interpreted++;
      continue;
    }
    stats.compiled++;
    stats.modes[mode]++;
    const kinds = prog.map((x) => insnKind(x, helpers));
    prog.forEach((x, pc) => {
      if (pc > 0 && prog[pc - 1]!.opcode === 0x18) return; // second lddw slot
      bump(stats.kinds, kinds[pc]!);
      if (x.opcode === 0x85) bump(stats.helpers, `${helpers}:${x.imm}`);
    });
    const mem = init ? init.slice() : null;
    const check = (budget: number): RunResult => {
      if (mem && init) mem.set(init);
      stats.runs++;
      const { result, difference } = subject.compare(mem, budget);
      if (difference !== undefined) {
        const program = disassemble(bytes);
        const memHex = init ? hex(init) : null;
        const message = `fuzzJit seed ${seed} case ${i} (${mode}${mode === 'raw' ? `, ${helpers} helpers` : ''}, budget ${budget}, mem ${memHex ?? 'null'}): JIT and interpreter differ (${difference})\n${program}\nhex ${hex(bytes)}`;
        stats.differences++;
        const d: JitDifference = { seed, case: i, mode, budget, difference, result, program, hex: hex(bytes), mem: memHex, message };
        if (options.onDifference) options.onDifference(d);
        else throw new Error(message);
      }
      if (result.status === 'budget' && kinds[result.faultPc!] === 'call') stats.chargedStops++;
      return result;
    };
    const full = check(budget);
    stats.outcomes[full.status]++;
    stats.insns += full.insns;
    if (full.insns > 1) check(1 + (mid % (full.insns - 1)));
    if (traceEvery > 0 && stats.compiled % traceEvery === 0 && full.insns <= traceCap) {
      // the run with budget b stops before its (b+1)th instruction: budgets 1..insns-1 name them all
      const ran = new Set([0]);
      for (let b = 1; b < full.insns; b++) {
        const t = check(b);
        if (t.status === 'budget') ran.add(t.faultPc!);
      }
      for (const pc of ran) bump(stats.ran, kinds[pc]!);
    }
  }
  return stats;
}
