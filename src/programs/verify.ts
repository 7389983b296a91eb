/**
 * Static verifier, table-driven from isa.ts (fields, registers, shapes) and helpers.ts (helper
 * ids, argument kinds, program kinds). Passes 1-4 (here) check each instruction, the branch
 * targets, the control flow (reachable exit, no fall-through, no unreachable code) and the call
 * graph (acyclic, bounded depth). Pass 5 (verify-types.ts) follows what every register and stack
 * slot holds, with each subprogram and callback checked in the context of its call, and enforces
 * the kernel's rules for unprivileged programs: no address the program holds reaches r0 at exit,
 * a helper, or memory other than its own stack frame; no arithmetic or comparison that turns an
 * address into a number. Memory bounds (map values, pointers computed at run time) are the native
 * engine's runtime check. Every message reads `verifier: insn <pc>: <what>` (one prefix, the pc).
 */
import { lookupSpec, decodeAll, branchTarget, MAX_INSNS, MAX_CALL_FRAMES, type Insn, type InsnSpec } from './isa.js';
import { helperFor, helperById, type ProgramKind } from './helpers.js';
import { checkTypes } from './verify-types.js';
import { MapType } from './binding.js';
import { ProgramError } from './errors.js';

/** What the verifier needs to know about a map referenced by index from ld_imm64. */
export interface MapInfo {
  /** MapType (kernel numbering). */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags?: number;
  readonly name?: string;
}

/** Verifier options. */
export interface VerifyOptions {
  /** Maps, by the index ld_imm64 uses. Default: none. */
  maps?: readonly MapInfo[];
  /** Program kind: decides the helpers allowed. Default 'standard'. */
  kind?: ProgramKind;
  /** Unreachable instructions are an error (default, as in the kernel) or only a note. */
  unreachable?: 'error' | 'note';
}

/** What the verifier found about an accepted program. */
export interface VerifyResult {
  /** Instruction slots. */
  readonly insnCount: number;
  /** Subprogram entry points (0 first), including bpf_loop callbacks. */
  readonly subprograms: readonly number[];
  /** Deepest stack use per subprogram (bytes below r10), same order as subprograms. */
  readonly stackDepth: readonly number[];
  /** Deepest call chain in frames (main program = 1). */
  readonly callDepth: number;
  /** Helper ids called. */
  readonly helpers: readonly number[];
  /** Remarks that are not errors (e.g. division by a constant zero), same prefix and pc. */
  readonly notes: readonly string[];
}

/**
 * Verifies a program. Returns what it learned, or throws on the first violation.
 * @param insns instruction bytes (multiple of 8) or decoded slots
 * @throws ProgramError code 'EVERIFY' with `pc` and message `verifier: insn <pc>: <what>`
 */
export function verifyProgram(insns: Uint8Array | readonly Insn[], options: VerifyOptions = {}): VerifyResult {
  const maps = options.maps ?? [];
  const kind: ProgramKind = options.kind ?? 'standard';
  const notes: string[] = [];
  const fail = (pc: number, msg: string): never => {
    throw new ProgramError('EVERIFY', pc, `verifier: insn ${pc}: ${msg}`, notes);
  };
  const note = (pc: number, msg: string): void => void notes.push(`verifier: insn ${pc}: ${msg}`);

  let prog: readonly Insn[];
  if (insns instanceof Uint8Array) {
    if (insns.length % 8 !== 0) fail(Math.floor(insns.length / 8), `truncated instruction (${insns.length % 8} trailing bytes)`);
    prog = decodeAll(insns);
  } else prog = insns;
  const n = prog.length;
  if (n === 0) fail(0, 'empty program');
  if (n > MAX_INSNS) fail(MAX_INSNS, `program too long (${n} > ${MAX_INSNS} instructions)`);

  // ---- pass 1: each instruction on its own -------------------------------------------------
  const specs: (InsnSpec | undefined)[] = new Array(n);
  const second = new Uint8Array(n); // 1 = second slot of an lddw
  const entries = new Set<number>([0]); // subprogram entry points
  const helpersUsed = new Set<number>();
  for (let pc = 0; pc < n; pc++) {
    if (second[pc]) continue;
    const x = prog[pc]!;
    const found = lookupSpec(x);
    if ('error' in found) fail(pc, found.error);
    const spec = found as InsnSpec;
    specs[pc] = spec;
    const sh = spec.shape;
    const usesDst = !(sh === 'ja' || sh === 'gotol' || sh === 'call' || sh === 'call-local' || sh === 'exit');
    const usesSrc = sh === 'alu-x' || sh === 'ldx' || sh === 'stx' || sh === 'atomic' || sh === 'jcc-x';
    if (usesDst && x.dst > 10) fail(pc, `invalid destination register r${x.dst}`);
    if (usesSrc && x.src > 10) fail(pc, `invalid source register r${x.src}`);
    if (spec.writesDst && x.dst === 10) fail(pc, `cannot write to r10 (frame pointer is read-only)`);
    if (sh === 'atomic' && (x.imm & 1) && x.src === 10) fail(pc, `cannot write to r10 (${spec.mnemonic} fetches into its source)`);
    if (sh === 'lddw') {
      if (pc + 1 >= n) fail(pc, 'incomplete ld_imm64 (second slot missing)');
      const y = prog[pc + 1]!;
      if (y.opcode !== 0 || y.dst !== 0 || y.src !== 0 || y.off !== 0) fail(pc + 1, 'ld_imm64 second slot must have opcode 0, registers 0 and offset 0');
      second[pc + 1] = 1;
      switch (x.src) {
        case 0:
          break;
        case 1:
        case 5:
        case 2:
        case 6: {
          const idx = x.imm >>> 0;
          if (idx >= maps.length) fail(pc, `map index ${idx} out of range (${maps.length} map${maps.length === 1 ? '' : 's'})`);
          const m = maps[idx]!;
          if (x.src === 1 || x.src === 5) {
            if (y.imm !== 0) fail(pc, `map reference must have 0 in its second slot (got ${y.imm})`);
          } else {
            if (m.type !== MapType.Array) fail(pc, `map value address needs an array map (map ${idx} has type ${m.type})`);
            const off = y.imm >>> 0;
            if (off >= m.valueSize) fail(pc, `map value offset ${off} out of range for map ${idx} (value size ${m.valueSize})`);
          }
          break;
        }
        case 4: {
          const t = pc + x.imm + 1;
          if (y.imm !== 0) fail(pc, `code address must have 0 in its second slot (got ${y.imm})`);
          if (t < 0 || t >= n) fail(pc, `code address out of code to ${t}`);
          entries.add(t);
          break;
        }
        default:
          fail(pc, `invalid ld_imm64 source ${x.src} (expected 0, 1, 2, 4, 5 or 6)`);
      }
      continue;
    }
    if (sh === 'call') {
      const h = helperFor(x.imm, kind);
      if (!h) {
        const other = helperById(x.imm);
        fail(pc, other ? `helper ${x.imm} (${other.name}) is not allowed in ${kind} programs` : `unknown helper ${x.imm}`);
      }
      helpersUsed.add(x.imm);
    }
    if (sh === 'call-local') {
      const t = pc + x.imm + 1;
      if (t < 0 || t >= n) fail(pc, `call out of code to ${t}`);
      entries.add(t);
    }
    if (sh === 'alu-k' && x.imm === 0 && /^s?(div|mod)/.test(spec.mnemonic))
      note(pc, `${spec.mnemonic} by constant zero (RFC 9669: ${spec.mnemonic.includes('div') ? 'dst becomes 0' : 'dst is left unchanged'})`);
  }

  // ---- pass 2: branch targets ----------------------------------------------------------------
  for (let pc = 0; pc < n; pc++) {
    const spec = specs[pc];
    if (!spec) continue;
    const t = branchTarget(spec, prog[pc]!, pc);
    if (t === undefined) continue;
    const what = spec.shape === 'call-local' ? 'call' : 'jump';
    if (t < 0 || t >= n) fail(pc, `${what} out of code to ${t}`);
    if (second[t]) fail(pc, `${what} into the middle of ld_imm64 at ${t}`);
  }
  for (const e of entries) if (second[e]) fail(e - 1, `code address into the middle of ld_imm64 at ${e}`);
  const subs = [...entries].sort((a, b) => a - b);
  const subOf = (pc: number): number => {
    let lo = 0;
    let hi = subs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (subs[mid]! <= pc) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  for (let pc = 0; pc < n; pc++) {
    const spec = specs[pc];
    if (!spec || spec.shape === 'call-local') continue;
    const t = branchTarget(spec, prog[pc]!, pc);
    if (t !== undefined && subOf(t) !== subOf(pc)) fail(pc, `jump from subprogram at ${subs[subOf(pc)]} into subprogram at ${subs[subOf(t)]}`);
  }

  // ---- pass 3: control flow: reachability, fall-through ---------------------------------------
  const succ = (pc: number): number[] => {
    const spec = specs[pc]!;
    const x = prog[pc]!;
    switch (spec.shape) {
      case 'exit':
        return [];
      case 'ja':
      case 'gotol':
        return [branchTarget(spec, x, pc)!];
      case 'jcc-k':
      case 'jcc-x':
        return [pc + 1, branchTarget(spec, x, pc)!];
      case 'lddw':
        return [pc + 2];
      default:
        return [pc + 1];
    }
  };
  const reached = new Uint8Array(n);
  const work: number[] = [0];
  reached[0] = 1;
  while (work.length) {
    const pc = work.pop()!;
    const spec = specs[pc]!;
    const x = prog[pc]!;
    const next = succ(pc);
    if (spec.shape === 'call-local') next.push(pc + x.imm + 1);
    if (spec.shape === 'lddw' && x.src === 4) next.push(pc + x.imm + 1);
    for (const t of next) {
      const seq = t === pc + 1 || (spec.shape === 'lddw' && t === pc + 2);
      if (seq && !(spec.shape === 'call-local' && t !== pc + 1)) {
        if (t >= n) fail(pc, 'falls through the end of the program (last instruction must be exit or a jump)');
        if (entries.has(t) && subOf(t) !== subOf(pc)) fail(pc, `falls through into subprogram at ${t}`);
      }
      if (!reached[t]) {
        reached[t] = 1;
        work.push(t);
      }
    }
  }
  const last = second[n - 1] ? n - 2 : n - 1;
  const lastShape = specs[last]!.shape;
  if (options.unreachable === 'note' && !reached[last] && lastShape !== 'exit' && lastShape !== 'ja' && lastShape !== 'gotol')
    fail(last, 'falls through the end of the program (last instruction must be exit or a jump)');
  for (let pc = 0; pc < n; pc++) {
    if (second[pc] || reached[pc]) continue;
    if (options.unreachable === 'note') note(pc, 'unreachable instruction');
    else fail(pc, 'unreachable instruction');
  }

  // ---- pass 4: call graph: no recursion, bounded depth ---------------------------------------
  const calls: { from: number; to: number; pc: number }[] = [];
  for (let pc = 0; pc < n; pc++) {
    const spec = specs[pc];
    if (!spec || !reached[pc]) continue;
    const x = prog[pc]!;
    if (spec.shape === 'call-local' || (spec.shape === 'lddw' && x.src === 4)) calls.push({ from: subOf(pc), to: subOf(pc + x.imm + 1), pc });
  }
  let maxDepth = 1;
  const onPath: number[] = [];
  const depthDone = new Map<number, number>();
  const walk = (s: number, depth: number): void => {
    if (depth > maxDepth) maxDepth = depth;
    if ((depthDone.get(s) ?? 0) >= depth) return;
    onPath.push(s);
    for (const c of calls) {
      if (c.from !== s) continue;
      if (onPath.includes(c.to)) fail(c.pc, `recursive call: subprogram at ${subs[c.to]} is already on the call chain ${onPath.map((i) => subs[i]).join(' -> ')}`);
      if (depth + 1 > MAX_CALL_FRAMES) fail(c.pc, `call depth ${depth + 1} exceeds ${MAX_CALL_FRAMES} frames (${[...onPath, c.to].map((i) => subs[i]).join(' -> ')})`);
      walk(c.to, depth + 1);
    }
    onPath.pop();
    depthDone.set(s, depth);
  };
  walk(0, 1);

  // ---- pass 5: types: what each register and stack slot holds, no address leaks ------------
  const stackDepth = checkTypes({ prog, specs, maps, kind, subs, subOf, succ, fail, note });

  return {
    insnCount: n,
    subprograms: subs,
    stackDepth,
    callDepth: maxDepth,
    helpers: [...helpersUsed].sort((a, b) => a - b),
    notes,
  };
}
