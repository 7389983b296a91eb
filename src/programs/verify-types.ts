/**
 * The verifier's type pass: an abstract interpretation of every register and stack slot
 * (verify-state.ts) along the control flow, with each subprogram and bpf_loop callback verified
 * in the context of its call (its caller's frames included, as the kernel does). It enforces the
 * kernel's rules for unprivileged programs (Documentation/bpf/verifier.rst, kernel/bpf/verifier.c)
 * so that no address the program holds (stack, context, map, map value, ring buffer record, code)
 * reaches what JS or a helper can observe:
 * - r0 at the main program's exit is a number ("leaks addr as return value");
 * - helper arguments the table declares as numbers are numbers, and memory a helper reads holds
 *   no spilled address ("leaks addr into helper function", verify-calls.ts);
 * - addresses are stored only to the program's own stack frame, whole and aligned (spills); never
 *   to map values, the context, ring buffer records or any other memory ("leaks addr into map");
 * - on addresses only 64-bit add/sub of a number; no 32-bit ALU, no pointer-minus-pointer, no
 *   bitwise or other operators; comparisons only 64-bit ==/!= 0 of an address as it was produced
 *   (null checks), which tell nothing of its bits ("pointer arithmetic ... prohibited", "pointer
 *   comparison prohibited").
 * Memory safety is not proved here: the engine checks every access at run time. Where this
 * differs from the kernel: no value ranges (bounds are the engine's runtime check), so variable
 * offsets on stack/context pointers and `sub` on stack pointers are allowed; the main frame is
 * zeroed at every run, so reading its unwritten bytes is allowed (a called frame's are refused:
 * they may hold what an earlier call left); addresses are spilled only to the current frame (the
 * kernel also allows a caller's); joins are not path-sensitive, so a value that is an address on
 * one path only is `unknown` and refused wherever an address is; a callback's r0 must be a
 * number (the kernel also wants it in [0, 1]).
 */
import { Cls, MAX_CALL_FRAMES, STACK_SIZE, type Insn, type InsnSpec } from './isa.js';
import { helperFor, type ProgramKind } from './helpers.js';
import type { MapInfo } from './verify.js';
import { checkHelper, type CallEnv, type StackSpot } from './verify-calls.js';
import {
  type Reg, type State, type Frame, UNINIT, UNKNOWN, SCALAR, isPtr, mayBeAddr, maybeNull, unmoved, describe,
  joinState, mapId, newFrame, readStack, writeStack, blurStack, stackClean,
} from './verify-state.js';

/** What the structural passes of verify.ts hand to the type pass. */
export interface TypePassInput {
  readonly prog: readonly Insn[];
  readonly specs: readonly (InsnSpec | undefined)[];
  readonly maps: readonly MapInfo[];
  readonly kind: ProgramKind;
  /** Subprogram entry points, sorted (0 first). */
  readonly subs: readonly number[];
  subOf(pc: number): number;
  succ(pc: number): number[];
  fail(pc: number, msg: string): never;
  note(pc: number, msg: string): void;
}

/** Instruction visits before the program is called too complex (the kernel's limit is 1 M too). */
export const MAX_VISITS = 1_000_000;

/** A verification context: the main program, or a subprogram/callback entered from a call site. */
interface Context {
  readonly key: string;
  readonly entry: number;
  readonly parent?: Context;
  /** pc of the call (call local, or the helper call running the callback) in the parent. */
  readonly site: number;
  /** Set for callbacks: the caller's register the callback gets as r2. */
  readonly ctxArg?: number;
}

/** The kernel's names of the ALU operators (bpf_alu_string), for its messages. */
const OPS: Readonly<Record<string, string>> = {
  add: '+=', sub: '-=', mul: '*=', div: '/=', sdiv: 's/=', or: '|=', and: '&=', lsh: '<<=', rsh: '>>=',
  mod: '%=', smod: 's%=', xor: '^=', arsh: 's>>=',
};
const BITWISE = new Set(['and', 'or', 'xor']);
const ZERO: Reg = { t: 'scalar', c: 0n };

/** Runs the type pass; returns the deepest stack use per subprogram (bytes below r10). */
export function checkTypes(p: TypePassInput): number[] {
  const { prog, specs, maps, kind, subs } = p;
  const stackDepth = new Array<number>(subs.length).fill(0);
  const contexts = new Map<string, Context>();
  const states = new Map<Context, Map<number, State>>();
  const queue: [Context, number][] = [];
  let visits = 0;

  const merge = (ctx: Context, pc: number, st: State): void => {
    let m = states.get(ctx);
    if (!m) states.set(ctx, (m = new Map()));
    const old = m.get(pc);
    const next = old ? joinState(old, st) : st;
    if (old === next) return;
    m.set(pc, next);
    queue.push([ctx, pc]);
  };

  /** The context of a call from `site` in `parent` to `entry` (checked for recursion and depth). */
  const enter = (parent: Context, site: number, entry: number, depth: number, ctxArg?: number): Context => {
    const key = `${parent.key}/${ctxArg ? 'cb' : ''}${site}:${entry}`;
    const known = contexts.get(key);
    if (known) return known;
    const chain: number[] = [];
    for (let c: Context | undefined = parent; c; c = c.parent) chain.unshift(c.entry);
    if (chain.includes(entry)) p.fail(site, `recursive call: subprogram at ${entry} is already on the call chain ${chain.join(' -> ')}`);
    if (depth > MAX_CALL_FRAMES) p.fail(site, `call depth ${depth} exceeds ${MAX_CALL_FRAMES} frames (${[...chain, entry].join(' -> ')})`);
    const ctx: Context = { key, entry, parent, site, ...(ctxArg ? { ctxArg } : {}) };
    contexts.set(key, ctx);
    return ctx;
  };

  const main: Context = { key: '', entry: 0, site: -1 };
  merge(main, 0, [newFrame(0, 0, [{ t: 'ctx' }, SCALAR])]);

  while (queue.length) {
    const [ctx, pc] = queue.pop()!;
    if (++visits > MAX_VISITS) p.fail(pc, `program too complex to verify (more than ${MAX_VISITS} instruction visits)`);
    step(ctx, pc, states.get(ctx)!.get(pc)!);
  }
  return stackDepth;

  function step(ctx: Context, pc: number, st: State): void {
    const spec = specs[pc]!;
    const x = prog[pc]!;
    const sh = spec.shape;
    const depth = st.length - 1;
    const fail = (msg: string): never => p.fail(pc, msg);
    const regs = st[depth]!.regs.slice();
    /** The state with the current frame's registers as in `regs` (and maybe its stack replaced). */
    const now = (s: State = st): State => s.map((f, i) => (i === depth ? { regs: regs.slice(), stack: f.stack, sub: f.sub } : f));
    const read = (r: number): Reg => {
      const v = regs[r]!;
      if (v.t === 'uninit') fail(`r${r} is read before it is written`);
      return v;
    };

    /** Bounds of a stack access through base + off; undefined when base is no stack pointer. */
    const stackSpot = (s: State, base: Reg, off: number, size: number | undefined, what: string): StackSpot | undefined => {
      if (base.t !== 'stack') return undefined;
      if (base.o === undefined) return { f: base.f };
      const lo = base.o + off;
      if (size !== undefined) {
        if (lo < -STACK_SIZE || lo + size > 0) fail(`${what} [r10${lo < 0 ? lo : '+' + lo}, ${size} bytes] outside the ${STACK_SIZE}-byte stack frame`);
        const sub = s[base.f]!.sub;
        stackDepth[sub] = Math.max(stackDepth[sub]!, -lo);
      }
      return { f: base.f, lo };
    };
    const allClean = (s: State): boolean => s.every((f, i) => stackClean(f, i === 0));
    const setFrame = (s: State, f: number, frame: Frame | string): State => {
      if (typeof frame === 'string') fail(frame);
      return s.map((y, i) => (i === f ? (frame as Frame) : y));
    };
    /** What a load of size bytes at base + off yields. */
    const load = (s: State, base: Reg, off: number, size: number): Reg => {
      const spot = stackSpot(s, base, off, size, 'load from');
      if (spot) {
        if (spot.lo === undefined) return stackClean(s[spot.f]!, spot.f === 0) ? SCALAR : UNKNOWN;
        const r = readStack(s[spot.f]!, spot.f === 0, spot.lo, size);
        return typeof r === 'string' ? fail(r) : r;
      }
      // memory that is no stack never holds an address: stores of addresses there are refused
      return base.t === 'unknown' && !allClean(s) ? UNKNOWN : SCALAR;
    };
    /** The state after storing v (register `name`) to base + off. */
    const store = (s: State, base: Reg, off: number, size: number, v: Reg, name: string): State => {
      const spot = stackSpot(s, base, off, size, 'store to');
      if (mayBeAddr(v)) {
        if (spot && spot.f === depth && spot.lo !== undefined) return setFrame(s, spot.f, writeStack(s[spot.f]!, spot.lo, size, v));
        const into = base.t === 'mapval' ? 'map' : base.t === 'ctx' ? 'ctx' : !spot ? 'mem' : spot.f !== depth ? "the caller's stack" : 'the stack at a variable offset';
        fail(`${name} leaks addr into ${into} (it holds ${describe(v)}; addresses may only be spilled to the program's own stack)`);
      }
      if (spot) return setFrame(s, spot.f, spot.lo === undefined ? blurStack(s[spot.f]!) : writeStack(s[spot.f]!, spot.lo, size, v));
      return base.t === 'unknown' ? s.map((f) => blurStack(f)) : s;
    };

    switch (sh) {
      case 'alu-k':
      case 'alu-x': {
        const is64 = spec.cls === Cls.ALU64;
        const m = spec.mnemonic.replace(/32$/, '');
        const src: Reg = sh === 'alu-x' ? read(x.src) : { t: 'scalar', c: is64 ? BigInt(x.imm) : BigInt(x.imm >>> 0) };
        if (m === 'mov') {
          if (is64) regs[x.dst] = src;
          else if (isPtr(src)) fail(`r${x.src} partial copy of pointer (mov32 of ${describe(src)})`);
          else regs[x.dst] = src.t === 'scalar' && src.c !== undefined ? { t: 'scalar', c: BigInt.asUintN(32, src.c) } : src.t === 'unknown' ? UNKNOWN : SCALAR;
          break;
        }
        if (m.startsWith('movsx')) {
          if (isPtr(src)) fail(`r${x.src} sign-extension part of pointer (${spec.mnemonic} of ${describe(src)})`);
          regs[x.dst] = src.t === 'unknown' ? UNKNOWN : SCALAR;
          break;
        }
        const dst = read(x.dst);
        if (sh === 'alu-x' && src.t === 'scalar' && src.c === 0n && /^s?(div|mod)/.test(m)) p.note(pc, `${spec.mnemonic} by a register that is always zero`);
        if (!isPtr(dst) && !isPtr(src)) {
          if (dst.t === 'unknown' || src.t === 'unknown') regs[x.dst] = UNKNOWN;
          else if (is64 && (m === 'add' || m === 'sub') && dst.t === 'scalar' && src.t === 'scalar' && dst.c !== undefined && src.c !== undefined)
            regs[x.dst] = { t: 'scalar', c: BigInt.asIntN(64, m === 'add' ? dst.c + src.c : dst.c - src.c) };
          else regs[x.dst] = SCALAR;
          break;
        }
        // an address is involved: the kernel's rules for unprivileged programs (adjust_ptr_min_max_vals)
        const op = OPS[m] ?? m;
        if (!is64) fail(`r${x.dst} 32-bit pointer arithmetic prohibited (${spec.mnemonic} on ${describe(isPtr(dst) ? dst : src)})`);
        if (isPtr(dst) && isPtr(src)) fail(`r${x.dst} pointer ${op} pointer prohibited`);
        if (m !== 'add' && m !== 'sub') fail(BITWISE.has(m) ? `r${x.dst} bitwise operator ${op} on pointer prohibited` : `r${x.dst} pointer arithmetic with ${op} operator prohibited`);
        if (isPtr(src) && m === 'sub') fail(`r${x.dst} tried to subtract pointer from scalar`);
        const [ptr, k] = isPtr(dst) ? [dst, src] : [src, dst];
        if (ptr.t === 'map' || ptr.t === 'func') fail(`r${x.dst} pointer arithmetic on ${describe(ptr)} prohibited`);
        if (maybeNull(ptr)) fail(`r${x.dst} pointer arithmetic on ${describe(ptr)} prohibited, null-check it first`);
        const d = k.t === 'scalar' && k.c !== undefined ? (m === 'add' ? k.c : -k.c) : undefined;
        if (k.t === 'unknown') regs[x.dst] = UNKNOWN;
        else if (ptr.t === 'stack') regs[x.dst] = ptr.o !== undefined && d !== undefined ? { t: 'stack', f: ptr.f, o: Number(BigInt(ptr.o) + d) } : { t: 'stack', f: ptr.f };
        else regs[x.dst] = d === 0n ? ptr : { t: ptr.t as 'ctx' | 'mapval' | 'ringbuf', moved: true };
        break;
      }
      case 'unary': {
        const d = read(x.dst);
        if (isPtr(d)) fail(`r${x.dst} pointer arithmetic prohibited (${spec.mnemonic} on ${describe(d)})`);
        regs[x.dst] = d.t === 'unknown' ? UNKNOWN : SCALAR;
        break;
      }
      case 'lddw': {
        const y = prog[pc + 1]!;
        regs[x.dst] =
          x.src === 0
            ? { t: 'scalar', c: BigInt.asIntN(64, (BigInt(y.imm >>> 0) << 32n) | BigInt(x.imm >>> 0)) }
            : x.src === 1 || x.src === 5
              ? { t: 'map', i: x.imm >>> 0 }
              : x.src === 4
                ? { t: 'func', pc: pc + x.imm + 1 }
                : { t: 'mapval' };
        break;
      }
      case 'ldx': {
        const base = read(x.src);
        if (base.t === 'scalar' && base.c !== undefined) fail(`load through r${x.src}, which holds ${describe(base)}`);
        regs[x.dst] = load(st, base, x.off, spec.size!);
        break;
      }
      case 'st':
      case 'stx': {
        const base = read(x.dst);
        const v: Reg = sh === 'stx' ? read(x.src) : { t: 'scalar', c: BigInt(x.imm) };
        if ((base.t === 'scalar' && base.c !== undefined) || base.t === 'map' || base.t === 'func') fail(`store through r${x.dst}, which holds ${describe(base)}`);
        return void succ(store(now(), base, x.off, spec.size!, v, `r${x.src}`));
      }
      case 'atomic': {
        const base = read(x.dst);
        const v = read(x.src);
        if ((base.t === 'scalar' && base.c !== undefined) || base.t === 'map' || base.t === 'func') fail(`store through r${x.dst}, which holds ${describe(base)}`);
        if (mayBeAddr(v)) fail(`r${x.src} leaks addr into mem (${spec.mnemonic} of ${describe(v)})`);
        const cmpxchg = x.imm === 0xf1;
        if (cmpxchg && mayBeAddr(read(0))) fail(`r0 leaks addr into mem (${spec.mnemonic} compares with ${describe(regs[0]!)})`);
        const size = spec.size!;
        const spot = stackSpot(st, base, x.off, size, 'store to');
        if (spot && spot.lo !== undefined && load(st, base, x.off, size).t !== 'scalar') fail(`${spec.mnemonic} on [r10${spot.lo}, ${size} bytes], which holds an address`);
        const old = spot && spot.lo !== undefined ? SCALAR : load(st, base, x.off, size);
        let s = store(now(), base, x.off, size, SCALAR, `r${x.src}`);
        if (cmpxchg || x.imm & 1) {
          const r = cmpxchg ? 0 : x.src;
          s = s.map((f, i) => (i === depth ? { regs: f.regs.map((y, j) => (j === r ? old : y)), stack: f.stack, sub: f.sub } : f));
        }
        return void succ(s);
      }
      case 'jcc-k':
      case 'jcc-x': {
        const d = read(x.dst);
        const s: Reg = sh === 'jcc-x' ? read(x.src) : { t: 'scalar', c: BigInt(x.imm) };
        if (sh === 'jcc-x' && mayBeAddr(s)) fail(`r${x.src} pointer comparison prohibited (it holds ${describe(s)})`);
        if (mayBeAddr(d)) {
          const m = spec.mnemonic;
          if (!((m === 'jeq' || m === 'jne') && s.t === 'scalar' && s.c === 0n))
            fail(`r${x.dst} pointer comparison prohibited (${m} on ${describe(d)}; only 64-bit == 0 and != 0 are allowed)`);
          if (!unmoved(d) && !maybeNull(d))
            fail(`r${x.dst} pointer comparison prohibited (${m} 0 on ${describe(d)} ${d.t === 'unknown' ? 'is no null check' : 'moved by arithmetic: it would test a guess of the address'})`);
          if (maybeNull(d) && d.t !== 'uninit') {
            const taken = pc + x.off + 1;
            const refine = (to: (r: Reg) => Reg): State => {
              const r = now();
              const id = (d as { id?: number }).id;
              const f = r[depth]!;
              const own = { regs: f.regs.map((y, j) => (j === x.dst ? to(y) : y)), stack: f.stack, sub: f.sub };
              const withOwn = r.map((y, i) => (i === depth ? own : y));
              return id !== undefined ? mapId(withOwn, id, to) : withOwn;
            };
            const isNull = refine(() => ZERO);
            const notNull = refine((y) => ({ t: y.t as 'mapval' | 'ringbuf', ...((y as { id?: number }).id !== undefined ? { id: (y as { id?: number }).id } : {}) }));
            merge(ctx, taken, m === 'jeq' ? isNull : notNull);
            merge(ctx, pc + 1, m === 'jeq' ? notNull : isNull);
            return;
          }
        }
        break;
      }
      case 'call': {
        const h = helperFor(x.imm, kind)!;
        const env: CallEnv = { maps, fail, stackSpot };
        const eff = checkHelper(h, now(), env);
        let s = eff.st;
        if (eff.callback) {
          const cbCtx = enter(ctx, pc, eff.callback.target, depth + 2, h.args.find((a) => a.callbackCtx)!.callbackCtx);
          merge(cbCtx, cbCtx.entry, [...s, newFrame(p.subOf(cbCtx.entry), depth + 1, [SCALAR, eff.callback.ctx])]);
        }
        const ret: Reg =
          h.ret === 'map_value_or_null' ? { t: 'mapval', null: true, id: pc } : h.ret === 'ringbuf_mem_or_null' ? { t: 'ringbuf', null: true, id: pc } : SCALAR;
        if (ret.t !== 'scalar') s = mapId(s, pc, (y) => ({ t: y.t as 'mapval' | 'ringbuf', ...((y as { null?: true }).null ? { null: true as const } : {}) }));
        return void succ(returned(s, depth, ret));
      }
      case 'call-local': {
        const target = pc + x.imm + 1;
        const c = enter(ctx, pc, target, depth + 2);
        merge(c, target, [...now(), newFrame(p.subOf(target), depth + 1, regs.slice(1, 6))]);
        return;
      }
      case 'exit': {
        const r0 = regs[0]!;
        if (!ctx.parent) {
          if (r0.t === 'uninit') fail('r0 is not set before exit');
          if (mayBeAddr(r0)) fail(`r0 leaks addr as return value (it holds ${describe(r0)})`);
          return;
        }
        const caller = st.slice(0, -1);
        if (ctx.ctxArg !== undefined) {
          if (r0.t !== 'scalar') fail(`r0 at callback return must be a number, got ${describe(r0)}`);
          merge(ctx, ctx.entry, [...caller, newFrame(p.subOf(ctx.entry), depth, [SCALAR, caller[depth - 1]!.regs[ctx.ctxArg]!])]);
          merge(ctx.parent, ctx.site + 1, returned(caller, depth - 1, SCALAR));
        } else {
          if (r0.t === 'stack') fail(`cannot return stack pointer to the caller (r0 holds ${describe(r0)})`);
          merge(ctx.parent, ctx.site + 1, returned(caller, depth - 1, r0));
        }
        return;
      }
      default:
        break;
    }
    succ(now());

    function succ(s: State): void {
      for (const t of p.succ(pc)) merge(ctx, t, s);
    }
  }

  /** The state after a call returns into frame f: r0 = ret, r1-r5 unset (the callee's values may be left there). */
  function returned(s: State, f: number, ret: Reg): State {
    return s.map((y, i) => (i === f ? { regs: y.regs.map((r, j) => (j === 0 ? ret : j <= 5 ? UNINIT : r)), stack: y.stack, sub: y.sub } : y));
  }
}
