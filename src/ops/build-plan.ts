/**
 * The builders' fast path: per parameter of an op, chosen once from the opcode table, a small
 * encoder for the values nearly every call passes (an in-range integer for an integer kind, a
 * process fd, a non-negative position) that writes its SQE field and says it did. Anything else
 * (a FixedFile, a bigint, a value out of range, a wrong type) returns false, and buildSqe hands
 * the argument to applyParam (src/ops/build.ts), which encodes it or throws the error naming it:
 * the fast path decides nothing applyParam would decide differently.
 *
 * Why: buildSqe's per-parameter switch over every kind of the table is large and megamorphic;
 * on a NOP promise round trip it was a third of the JS time (docs/benchmarks.md, "Where the time
 * goes").
 */
import type { OpDesc, ParamDesc } from './desc.js';
import { NO_BYTES, type Sqe } from './sqe.js';
import { knownView } from '../ring/memory.js';
import { MSG } from './net-abi.js';

/** @internal tests only (test/build-fast-path.test.ts): false sends every argument through applyParam. */
export const fastPath = { enabled: true };

/** Writes `v` if it is a value this path handles; false: use applyParam. `opts`: the call's options object. */
export type FastEncoder = (s: Sqe, v: unknown, opts: Record<string, unknown>) => boolean;

const TWO32 = 0x1_0000_0000;

type Setter32 = (s: Sqe, v: number) => void;
/** A store into each 32-bit (or narrower) SQE field, one property per function (no keyed store on a computed name). */
const SETTERS_32: Readonly<Partial<Record<ParamDesc['field'], Setter32>>> = {
  fd: (s, v) => (s.fd = v),
  len: (s, v) => (s.len = v),
  opFlags: (s, v) => (s.opFlags = v),
  ioprio: (s, v) => (s.ioprio = v),
  bufIndex: (s, v) => (s.bufIndex = v),
  personality: (s, v) => (s.personality = v),
  fileIndex: (s, v) => (s.fileIndex = v),
};

/** The setter of a 32-bit (or narrower) SQE field; undefined for the 64-bit ones (off, addr, addr3). */
export function setter32(field: ParamDesc['field']): Setter32 | undefined {
  return SETTERS_32[field];
}

function intIn(set: (s: Sqe, v: number) => void, min: number, max: number): FastEncoder {
  return (s, v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return false;
    set(s, v);
    return true;
  };
}

/** The fast encoder of `p`, or undefined where every value goes through applyParam. */
export function fastEncoder(op: OpDesc, p: ParamDesc): FastEncoder | undefined {
  const set = setter32(p.field);
  switch (p.kind) {
    case 'u32':
      // (a flag word with multishot bits goes through applyParam, which marks the Sqe multishot)
      return p.multiBits === undefined ? set && intIn(set, 0, 0xffffffff) : undefined;
    case 'i32':
      return set && intIn(set, -0x80000000, 0x7fffffff);
    case 'u16':
      return set && intIn(set, 0, 0xffff);
    case 'fd':
      // a process fd; a FixedFile, and ops that take slots only, go through applyParam
      if (!set || p.fixed !== undefined || op.sqe?.fixedFile === 'required') return undefined;
      return intIn(set, 0, 0x7fffffff);
    case 'buffer':
      // a Uint8Array (a Buffer) over memory handed to the kernel before, whole or through an
      // offset/length window of in-range integers: its address, length and the buffer kept until
      // the CQE, as applyParam writes them (anything else, errors included, is applyParam's)
      return p.field === 'addr' ? bufferInto : undefined;
    case 'dataBuffer':
      // the same for a socket op's buffer when no group picks it (a null buffer is the group's);
      // NO_BYTES, the empty view a send over ringflow-owned memory starts from (sqe.setBuffer)
      if (p.field !== 'addr') return undefined;
      return (s, v, opts) => {
        if (opts.bufferGroup !== undefined) return false;
        if (v !== NO_BYTES) return bufferInto(s, v, opts);
        if ((opts.offset !== undefined && opts.offset !== 0) || (opts.length !== undefined && opts.length !== 0)) return false;
        s.expect = 0; // addr 0 (an empty buffer has no memory), len 0: a new Sqe's
        if (s.keep === undefined) s.keep = [v];
        else s.keep.push(v);
        return true;
      };
    case 'msgFlags':
      // MSG_* flags: io_uring fails a short send/recv (and breaks its link) only with MSG_WAITALL
      if (p.field !== 'opFlags') return undefined;
      return (s, v, opts) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) return false;
        if (v & MSG.WAITALL && opts.multishot === true) return false; // refused: applyParam says why
        s.opFlags = v;
        if (!(v & MSG.WAITALL)) s.expect = -1;
        return true;
      };
    case 'position':
      if (p.field !== 'off') return undefined;
      return (s, v) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -1 || v > Number.MAX_SAFE_INTEGER) return false;
        if (v === -1) {
          s.offLo = 0xffffffff;
          s.offHi = 0xffffffff;
        } else {
          s.offLo = v >>> 0;
          s.offHi = Math.floor(v / TWO32) >>> 0;
        }
        return true;
      };
    default:
      return undefined;
  }
}

/** The fast encoder of a `buffer` parameter (see fastEncoder). */
const bufferInto: FastEncoder = (s, v, opts) => {
  const span = knownView(v);
  if (span === undefined) return false;
  const size = span.length;
  const o = opts.offset;
  const l = opts.length;
  let off = 0;
  if (o !== undefined) {
    if (typeof o !== 'number' || !Number.isInteger(o) || o < 0 || o > size) return false;
    off = o;
  }
  let len = size - off;
  if (l !== undefined) {
    if (typeof l !== 'number' || !Number.isInteger(l) || l < 0 || l > len) return false;
    len = l;
  }
  if (len > 0xffffffff) return false;
  const a = span.address + off;
  s.addrLo = a >>> 0;
  s.addrHi = Math.floor(a / TWO32) >>> 0;
  s.len = len;
  s.expect = len;
  if (s.keep === undefined) s.keep = [v as Uint8Array]; // the view keeps its buffer (the memory) reachable
  else s.keep.push(v as Uint8Array);
  return true;
};

/** One parameter of an op's plan: how buildSqe treats its argument. */
export interface PlanStep {
  readonly p: ParamDesc;
  readonly fast: FastEncoder | undefined;
  /** Omitted, it writes nothing (optional, no default, not a result area ringflow allocates). */
  readonly skipWhenOmitted: boolean;
  /** Omitted, the fast encoder writes the default. */
  readonly fastDefault: boolean;
}

export function planOf(op: OpDesc, params: readonly ParamDesc[]): PlanStep[] {
  return params.map((p) => {
    const fast = fastEncoder(op, p);
    const allocated = p.kind === 'statx' || p.internal === true;
    const omittable = p.optional === true && !allocated;
    // a default of 0 for an integer kind the fast path writes into a 32-bit field: the field of a
    // new Sqe is 0 already (the fast encoder would write exactly that)
    const zeroDefault = fast !== undefined && p.default === 0 && INT_KINDS.has(p.kind) && setter32(p.field) !== undefined;
    return {
      p,
      fast,
      skipWhenOmitted: omittable && (p.default === undefined || zeroDefault),
      fastDefault: fast !== undefined && omittable && p.default !== undefined && !zeroDefault,
    };
  });
}

/** Kinds whose fast encoder writes the value itself into a 32-bit field (intIn). */
const INT_KINDS: ReadonlySet<ParamDesc['kind']> = new Set(['u32', 'i32', 'u16', 'fd']);
