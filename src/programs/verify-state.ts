/**
 * The abstract state of the verifier's type pass (verify-types.ts): what each register and each
 * stack slot of each live frame may hold. Values are numbers (`scalar`) or one of the address
 * kinds a program can hold (stack, context, map reference, map value, ring buffer record, code
 * address); `unknown` is anything, an address included, and is treated as an address wherever
 * an address must not go. A stack slot (8 bytes) remembers which of its bytes were written and,
 * for an aligned 8-byte store of a register, the value spilled there (kernel: STACK_SPILL).
 */
import { STACK_SIZE } from './isa.js';

/** An abstract register value. */
export type Reg =
  | { readonly t: 'uninit' }
  | { readonly t: 'unknown' }
  | { readonly t: 'scalar'; readonly c?: bigint }
  | { readonly t: 'map'; readonly i: number }
  | { readonly t: 'func'; readonly pc: number }
  /** moved: changed by arithmetic since r1 at entry. */
  | { readonly t: 'ctx'; readonly moved?: true }
  /** f: the frame (0 = main program), o: offset from that frame's r10 when known (moved unless 0). */
  | { readonly t: 'stack'; readonly f: number; readonly o?: number }
  /**
   * null: may be NULL (not yet checked); id: the helper call that produced it (copies share it);
   * moved: changed by arithmetic since the helper or lddw produced it.
   */
  | { readonly t: 'mapval' | 'ringbuf'; readonly null?: true; readonly id?: number; readonly moved?: true };

export const UNINIT: Reg = { t: 'uninit' };
export const UNKNOWN: Reg = { t: 'unknown' };
export const SCALAR: Reg = { t: 'scalar' };

/** True for the address kinds (not for `unknown`, which only may be one). */
export const isPtr = (r: Reg): boolean => r.t !== 'scalar' && r.t !== 'uninit' && r.t !== 'unknown';
/** True when the value may be an address: it must not reach anything JS or a helper observes. */
export const mayBeAddr = (r: Reg): boolean => r.t !== 'scalar' && r.t !== 'uninit';
/**
 * True for an address as a helper, lddw or the entry produced it (r10 itself for the stack): the
 * only addresses that may be compared with 0. For one moved by arithmetic, `p + k == 0` would
 * test a guess of the address (the kernel only compares addresses whose outcome it knows).
 */
export const unmoved = (r: Reg): boolean =>
  r.t === 'map' || r.t === 'func' || (r.t === 'stack' && r.o === 0) || ((r.t === 'ctx' || r.t === 'mapval' || r.t === 'ringbuf') && !r.moved);
/** True for a pointer that may still be NULL. */
export const maybeNull = (r: Reg): boolean => (r.t === 'mapval' || r.t === 'ringbuf') && r.null === true;

export function sameReg(a: Reg, b: Reg): boolean {
  if (a === b) return true;
  if (a.t !== b.t) return false;
  switch (a.t) {
    case 'scalar':
      return a.c === (b as typeof a).c;
    case 'map':
      return a.i === (b as typeof a).i;
    case 'func':
      return a.pc === (b as typeof a).pc;
    case 'stack':
      return a.f === (b as typeof a).f && a.o === (b as typeof a).o;
    case 'ctx':
      return a.moved === (b as typeof a).moved;
    case 'mapval':
    case 'ringbuf':
      return a.null === (b as typeof a).null && a.id === (b as typeof a).id && a.moved === (b as typeof a).moved;
    default:
      return true;
  }
}

/** Least upper bound. A register unset on one path is unset (at run time it holds whatever was there). */
export function joinReg(a: Reg, b: Reg): Reg {
  if (sameReg(a, b)) return a;
  if (a.t === 'uninit' || b.t === 'uninit') return UNINIT;
  if (a.t === 'scalar' && b.t === 'scalar') return SCALAR;
  if (a.t === 'stack' && b.t === 'stack' && a.f === b.f) return { t: 'stack', f: a.f };
  if (a.t === 'ctx' && b.t === 'ctx') return { t: 'ctx', moved: true };
  if ((a.t === 'mapval' || a.t === 'ringbuf') && a.t === b.t)
    return { t: a.t, ...(a.null || b.null ? { null: true } : {}), ...(a.id === b.id && a.id !== undefined ? { id: a.id } : {}), ...(a.moved || b.moved ? { moved: true } : {}) };
  // NULL on one path, a pointer of a kind that may be NULL on the other: that kind, maybe NULL
  const zero = (r: Reg): boolean => r.t === 'scalar' && r.c === 0n;
  if ((a.t === 'mapval' || a.t === 'ringbuf') && !a.moved && zero(b)) return { t: a.t, null: true };
  if ((b.t === 'mapval' || b.t === 'ringbuf') && !b.moved && zero(a)) return { t: b.t, null: true };
  return UNKNOWN;
}

export const describe = (r: Reg): string => {
  switch (r.t) {
    case 'scalar':
      return r.c !== undefined ? `constant ${r.c}` : 'a number';
    case 'map':
      return 'a map reference';
    case 'stack':
      return 'a stack pointer';
    case 'mapval':
      return r.null ? 'a map value pointer that may be NULL' : 'a map value pointer';
    case 'ringbuf':
      return r.null ? 'a ring buffer record that may be NULL' : 'a ring buffer record';
    case 'ctx':
      return r.moved ? 'a context pointer' : 'the context';
    case 'func':
      return 'a code address';
    case 'unknown':
      return 'a value that may be an address';
    default:
      return 'nothing (never written)';
  }
};

// ---- stack slots and frames ---------------------------------------------------------------

/**
 * One 8-byte slot: m = bit mask of bytes written; s = the register spilled there (8 bytes,
 * aligned); km/kv = bytes whose value is a known constant (mask, little-endian values), so that
 * a format string built on the stack can be read (bpf_trace_printk).
 */
export interface Slot {
  readonly m: number;
  readonly s?: Reg;
  readonly km?: number;
  readonly kv?: bigint;
}
export const SLOTS = STACK_SIZE / 8;
const EMPTY: Slot = { m: 0 };
const FULL: Slot = { m: 0xff };

/** One call frame: its registers, its stack, and the subprogram (index) it runs. */
export interface Frame {
  readonly regs: readonly Reg[];
  readonly stack: readonly Slot[];
  readonly sub: number;
}
/** The frames of the call chain, main program first. */
export type State = readonly Frame[];

export function newFrame(sub: number, depth: number, args: readonly Reg[] = []): Frame {
  const regs: Reg[] = new Array(11).fill(UNINIT);
  args.forEach((r, i) => (regs[i + 1] = r));
  regs[10] = { t: 'stack', f: depth, o: 0 };
  return { regs, stack: new Array(SLOTS).fill(EMPTY), sub };
}

const byteMask = (mask: number): bigint => {
  let b = 0n;
  for (let j = 0; j < 8; j++) if (mask & (1 << j)) b |= 0xffn << BigInt(8 * j);
  return b;
};
/** A slot with the known bytes (km, kv) given, dropping empty ones. */
const known = (slot: Slot, km: number, kv: bigint): Slot => {
  const { km: _m, kv: _v, ...rest } = slot;
  return km ? { ...rest, km, kv: kv & byteMask(km) } : rest.s || (rest.m !== 0 && rest.m !== 0xff) ? rest : rest.m === 0xff ? FULL : EMPTY;
};

function joinSlot(a: Slot, b: Slot): Slot {
  if (a === b) return a;
  const m = a.m & b.m;
  let out: Slot;
  if (a.s && b.s) {
    const s = joinReg(a.s, b.s);
    out = s.t === 'scalar' && s.c === undefined ? { m } : { m, s };
  } else {
    const sp = a.s ?? b.s;
    out = sp && mayBeAddr(sp) ? { m, s: UNKNOWN } : { m }; // an address on one path: may be one
  }
  let km = (a.km ?? 0) & (b.km ?? 0);
  const diff = (a.kv ?? 0n) ^ (b.kv ?? 0n);
  for (let j = 0; j < 8; j++) if ((diff >> BigInt(8 * j)) & 0xffn) km &= ~(1 << j);
  return known(out, km, a.kv ?? 0n);
}
const sameSlot = (a: Slot, b: Slot): boolean =>
  a === b || (a.m === b.m && (a.km ?? 0) === (b.km ?? 0) && (a.kv ?? 0n) === (b.kv ?? 0n) && (a.s === b.s || (!!a.s && !!b.s && sameReg(a.s, b.s))));

/** Joins b into a; returns a itself when nothing changed. */
export function joinState(a: State, b: State): State {
  let changed = false;
  const out = a.map((fa, i) => {
    const fb = b[i]!;
    if (fa === fb) return fa;
    let regs = fa.regs;
    for (let r = 0; r < 11; r++) {
      const j = joinReg(fa.regs[r]!, fb.regs[r]!);
      if (!sameReg(j, fa.regs[r]!)) {
        if (regs === fa.regs) regs = fa.regs.slice();
        (regs as Reg[])[r] = j;
      }
    }
    let stack = fa.stack;
    for (let s = 0; s < SLOTS; s++) {
      const j = joinSlot(fa.stack[s]!, fb.stack[s]!);
      if (!sameSlot(j, fa.stack[s]!)) {
        if (stack === fa.stack) stack = fa.stack.slice();
        (stack as Slot[])[s] = j;
      }
    }
    if (regs === fa.regs && stack === fa.stack) return fa;
    changed = true;
    return { regs, stack, sub: fa.sub };
  });
  return changed ? out : a;
}

/** Replaces every value with this null-check id, in every frame (registers and spills). */
export function mapId(st: State, id: number, to: (r: Reg) => Reg): State {
  const hit = (r: Reg | undefined): boolean => !!r && (r.t === 'mapval' || r.t === 'ringbuf') && r.id === id;
  return st.map((f) => {
    const regs = f.regs.some(hit) ? f.regs.map((r) => (hit(r) ? to(r) : r)) : f.regs;
    const stack = f.stack.some((s) => hit(s.s)) ? f.stack.map((s) => (hit(s.s) ? { m: s.m, s: to(s.s!) } : s)) : f.stack;
    return regs === f.regs && stack === f.stack ? f : { regs, stack, sub: f.sub };
  });
}

// ---- stack reads and writes (offsets relative to the frame's r10, already inside the frame) ----

const bytesOf = (lo: number, size: number): [slot: number, mask: number, first: number][] => {
  const out: [number, number, number][] = [];
  for (let b = lo + STACK_SIZE; b < lo + STACK_SIZE + size; b++) {
    const s = b >> 3;
    const last = out[out.length - 1];
    if (last && last[0] === s) last[1] |= 1 << (b & 7);
    else out.push([s, 1 << (b & 7), b - lo - STACK_SIZE]);
  }
  return out;
};
export const where = (lo: number, size: number): string => `[r10${lo < 0 ? lo : '+' + lo}, ${size} bytes]`;

/**
 * What [lo, lo+size) may hold: `addr`, the first spilled value there that may be an address;
 * `unwritten`, bytes never written in a frame that is not `zeroed` (the main program's frame is
 * zeroed at the start of each run; a called frame may hold what an earlier call left there).
 */
export function scanStack(f: Frame, zeroed: boolean, lo: number, size: number): { addr?: Reg; unwritten?: true } {
  for (const [i, mask] of bytesOf(lo, size)) {
    const slot = f.stack[i]!;
    if (slot.s && mayBeAddr(slot.s)) return { addr: slot.s };
    if (!slot.s && !zeroed && (slot.m & mask) !== mask) return { unwritten: true };
  }
  return {};
}

/** What a read of [lo, lo+size) yields (an aligned 8-byte read fills the spilled register), or an error text. */
export function readStack(f: Frame, zeroed: boolean, lo: number, size: number): Reg | string {
  const parts = bytesOf(lo, size);
  if (parts.length === 1 && parts[0]![1] === 0xff && f.stack[parts[0]![0]]!.s) return f.stack[parts[0]![0]]!.s!;
  const { addr, unwritten } = scanStack(f, zeroed, lo, size);
  if (addr && isPtr(addr)) return `invalid size of register fill: ${where(lo, size)} holds part of ${describe(addr)}`;
  if (unwritten) return `invalid read from stack ${where(lo, size)}: not written in this frame`;
  return addr ? UNKNOWN : SCALAR;
}

/** The frame after writing v to [lo, lo+size), or an error text. */
export function writeStack(f: Frame, lo: number, size: number, v: Reg): Frame | string {
  const parts = bytesOf(lo, size);
  const stack = f.stack.slice();
  const c = v.t === 'scalar' && v.c !== undefined ? BigInt.asUintN(64, v.c) : undefined;
  if (parts.length === 1 && parts[0]![1] === 0xff) stack[parts[0]![0]] = c !== undefined ? { m: 0xff, s: v, km: 0xff, kv: c } : v.t === 'scalar' ? FULL : { m: 0xff, s: v };
  else if (mayBeAddr(v)) return `invalid size of register spill: ${describe(v)} stored to ${where(lo, size)} (addresses are spilled whole, to 8-byte aligned slots)`;
  else
    for (const [i, mask, first] of parts) {
      const slot = stack[i]!;
      if (slot.s && isPtr(slot.s)) return `attempt to corrupt spilled pointer on stack: ${where(lo, size)} overlaps ${describe(slot.s)}`;
      if (slot.s && mayBeAddr(slot.s)) continue; // may still hold part of an address
      const m = slot.s ? 0xff : slot.m | mask;
      const shift = BigInt(8 * ((lo + STACK_SIZE + first) & 7)) - BigInt(8 * first);
      const bytes = c === undefined ? 0n : shift >= 0n ? c << shift : c >> -shift;
      stack[i] = known({ m }, c === undefined ? (slot.km ?? 0) & ~mask : (slot.km ?? 0) | mask, ((slot.kv ?? 0n) & ~byteMask(mask)) | (bytes & byteMask(mask)));
    }
  return { regs: f.regs, stack, sub: f.sub };
}

/** The frame after a number was written at an offset not known here: any slot may have changed. */
export function blurStack(f: Frame): Frame {
  if (!f.stack.some((s) => s.s || s.km)) return f;
  return { regs: f.regs, stack: f.stack.map((s) => (s.s && mayBeAddr(s.s) ? { m: s.m, s: UNKNOWN } : s.s || s.km ? { m: s.s ? 0xff : s.m } : s)), sub: f.sub };
}

/** The frame after numbers may have been written to some bytes of [lo, lo+size) (no address there). */
export function blurRange(f: Frame, lo: number, size: number): Frame {
  const parts = bytesOf(lo, size);
  if (!parts.some(([i]) => f.stack[i]!.s || f.stack[i]!.km)) return f;
  const stack = f.stack.slice();
  for (const [i] of parts) if (stack[i]!.s || stack[i]!.km) stack[i] = { m: stack[i]!.s ? 0xff : stack[i]!.m };
  return { regs: f.regs, stack, sub: f.sub };
}

/** True when no byte of the frame may hold an address (whatever offset is read). */
export function stackClean(f: Frame, zeroed: boolean): boolean {
  return f.stack.every((s) => (s.s ? !mayBeAddr(s.s) : zeroed || s.m === 0xff));
}

/** The NUL-terminated string at [lo, lo+max) when every byte up to the NUL is a known constant. */
export function stackString(f: Frame, zeroed: boolean, lo: number, max: number): string | undefined {
  let out = '';
  for (let b = lo + STACK_SIZE; b < lo + STACK_SIZE + max && b < STACK_SIZE; b++) {
    const slot = f.stack[b >> 3]!;
    const bit = 1 << (b & 7);
    const byte = slot.km && slot.km & bit ? Number((slot.kv! >> BigInt(8 * (b & 7))) & 0xffn) : !slot.s && zeroed && !(slot.m & bit) ? 0 : undefined;
    if (byte === undefined) return undefined;
    if (byte === 0) return out;
    out += String.fromCharCode(byte);
  }
  return undefined;
}
