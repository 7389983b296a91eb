/**
 * Helper calls in the verifier's type pass: each argument is checked against its kind in the
 * helper table (helpers.ts) and memory the helper reads or writes is checked against the stack
 * state. What a helper is given can reach JS (CQEs, maps, ring buffers, SQEs, the trace buffer),
 * so numbers it takes must not be addresses and memory it reads must not hold a spilled address
 * (kernel: "leaks addr into helper function", "invalid indirect read from stack").
 */
import type { HelperSpec } from './helpers.js';
import type { MapInfo } from './verify.js';
import { type Reg, type State, type Frame, mayBeAddr, describe, scanStack, writeStack, blurRange, blurStack, stackClean, stackString, where, SCALAR } from './verify-state.js';

/** Where a stack access lands: frame f at offset lo from its r10 (lo undefined: not known here). */
export interface StackSpot {
  readonly f: number;
  readonly lo?: number;
}

/** What the type pass lends the helper checks. */
export interface CallEnv {
  readonly maps: readonly MapInfo[];
  /** Throws the verifier's error for the current instruction. */
  fail(msg: string): never;
  /** Checks a stack access against the frame and records the depth; undefined when base is no stack pointer. */
  stackSpot(st: State, base: Reg, off: number, size: number | undefined, what: string): StackSpot | undefined;
}

/** The state after the call's memory effects, and the callback it runs (if any). */
export interface HelperEffect {
  readonly st: State;
  readonly callback?: { readonly target: number; readonly ctx: Reg };
}

const withFrame = (st: State, f: number, frame: Frame): State => st.map((x, i) => (i === f ? frame : x));

/** Checks the arguments of a helper call and applies what it does to the stack. */
export function checkHelper(h: HelperSpec, st: State, env: CallEnv): HelperEffect {
  const regs = st[st.length - 1]!.regs;
  const label = (i: number): string => `helper ${h.id} (${h.name}) arg${i + 1} (r${i + 1})`;
  let mapIdx: number | undefined;
  let callback: HelperEffect['callback'];

  /** Memory [v, v+size) the helper reads: no spilled address, nothing a previous call left. */
  const reads = (i: number, v: Reg, size: number | undefined, what: string): void => {
    const spot = env.stackSpot(st, v, 0, size, `${label(i)}: ${what}`);
    if (spot) {
      const frame = st[spot.f]!;
      if (spot.lo === undefined || size === undefined) {
        if (!stackClean(frame, spot.f === 0)) env.fail(`${label(i)}: ${what} at a variable offset or of a variable size in a frame that may hold an address`);
        return;
      }
      const { addr, unwritten } = scanStack(frame, spot.f === 0, spot.lo, size);
      if (addr) env.fail(`${label(i)} leaks addr into helper function: ${what} ${where(spot.lo, size)} holds ${describe(addr)}`);
      if (unwritten) env.fail(`${label(i)}: ${what} ${where(spot.lo, size)} is not written in this frame`);
    } else if (v.t === 'unknown' && !st.every((f, k) => stackClean(f, k === 0))) env.fail(`${label(i)} must point at memory of a known kind (it holds ${describe(v)} and a stack frame may hold an address)`);
  };
  /** Memory [v, v+size) the helper writes numbers into. */
  const writes = (i: number, v: Reg, size: number | undefined, fills: boolean): void => {
    const spot = env.stackSpot(st, v, 0, size, `${label(i)}: buffer`);
    if (spot) {
      const frame = st[spot.f]!;
      if (spot.lo === undefined || size === undefined) {
        st = withFrame(st, spot.f, blurStack(frame));
        return;
      }
      const { addr } = scanStack(frame, true, spot.lo, size);
      if (addr) env.fail(`${label(i)}: buffer ${where(spot.lo, size)} would overwrite ${describe(addr)} spilled there`);
      const next = fills && size > 0 ? writeStack(frame, spot.lo, size, SCALAR) : blurRange(frame, spot.lo, size);
      st = withFrame(st, spot.f, typeof next === 'string' ? env.fail(next) : next);
    } else if (v.t === 'unknown') st = st.map((f) => blurStack(f));
  };

  /** How many variadic arguments a format (argument `fmtArg`, 1-based) converts; 3 when it is not known. */
  const conversions = (fmtArg: number): number => {
    const fmt = regs[fmtArg]!;
    const size = regs[h.args[fmtArg - 1]!.sizeArg ?? 0];
    if (fmt.t !== 'stack' || fmt.o === undefined || st[fmt.f] === undefined) return Infinity;
    const max = size && size.t === 'scalar' && size.c !== undefined ? Number(size.c) : -fmt.o;
    const text = stackString(st[fmt.f]!, fmt.f === 0, fmt.o, Math.min(max, -fmt.o));
    return text === undefined ? Infinity : (text.replace(/%%/g, '').match(/%/g) ?? []).length;
  };
  let vararg = 0;

  h.args.forEach((arg, i) => {
    if (arg.kind === 'opaque') return;
    if (arg.formatArg && vararg++ >= conversions(arg.formatArg)) return; // not read by the helper
    const v = regs[i + 1]!;
    if (v.t === 'uninit') env.fail(`${label(i)} is not initialized`);
    const bad = (want: string): never => env.fail(`${label(i)} must be ${want}, got ${describe(v)}`);
    switch (arg.kind) {
      case 'map':
        if (v.t === 'map') {
          mapIdx = v.i;
          const m = env.maps[v.i]!;
          if (arg.types && !arg.types.includes(m.type)) env.fail(`${label(i)}: map ${v.i} has type ${m.type}, expected ${arg.types.join(' or ')}`);
        } else if (v.t !== 'unknown') bad('a map reference');
        break;
      case 'key':
      case 'value':
        if ((v.t === 'scalar' && v.c !== undefined) || v.t === 'map' || v.t === 'func') bad('a pointer');
        reads(i, v, mapIdx === undefined ? undefined : arg.kind === 'key' ? env.maps[mapIdx]!.keySize : env.maps[mapIdx]!.valueSize, arg.kind);
        break;
      case 'mem':
      case 'uninit_mem': {
        const size = regs[arg.sizeArg!]!;
        if (v.t === 'scalar' && v.c !== undefined && !(v.c === 0n && size.t === 'scalar' && size.c === 0n)) bad('a pointer');
        if (v.t === 'map' || v.t === 'func') bad('a pointer');
        let n: number | undefined;
        if (size.t === 'scalar' && size.c !== undefined) {
          if (size.c < 0n) env.fail(`helper ${h.id} (${h.name}) arg${arg.sizeArg} (r${arg.sizeArg}): negative size ${size.c}`);
          n = Number(size.c);
        }
        if (arg.kind === 'mem') reads(i, v, n, 'buffer');
        else writes(i, v, n, arg.fills === true);
        break;
      }
      case 'ctx':
        if (v.t !== 'ctx' && v.t !== 'unknown') bad('the program context (r1 at entry)');
        break;
      case 'func':
        if (v.t !== 'func') return bad('a callback (code address of a static function)');
        if (arg.callbackCtx) callback = { target: v.pc, ctx: regs[arg.callbackCtx]! };
        break;
      case 'ringbuf_mem':
        if (v.t !== 'ringbuf' && v.t !== 'unknown') bad('a record from bpf_ringbuf_reserve');
        break;
      case 'scalar':
      case 'size':
        if (mayBeAddr(v)) env.fail(`${label(i)} leaks addr into helper function (it holds ${describe(v)}, ${arg.name} is a number)`);
        break;
    }
  });
  return callback ? { st, callback } : { st };
}
