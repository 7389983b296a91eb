/**
 * Encoders for the parameter kinds of the socket and buffer opcodes (src/ops/ops-net.ts,
 * ops-buffers.ts): addresses, messages, MSG_* flags, ioprio modifiers, buffer groups, registered
 * buffers, provided-buffer pools. build.ts calls applyNetParam for every kind it does not encode
 * itself; each check throws ringflow's TypeError/RangeError naming the argument.
 */
import type { OpDesc, ParamDesc, ParamKind } from './desc.js';
import type { Sqe } from './sqe.js';
import { SqeFlags } from '../ring/abi.js';
import { spanAddress, viewAddress, type ByteSpan } from '../ring/memory.js';
import { describeValue as describe } from '../errors.js';
import { bufferSpan, setField } from './build.js';
import { encodeSockaddr, parseSockaddr, sockaddrArea, type SockAddr } from './sockaddr.js';
import { encodeMsghdr } from './msghdr.js';
import { MSG, SOCK, SOCK_TYPE_MASK, MAX_BIDS_PER_BGID } from './net-abi.js';


function int(w: () => string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${w()} must be in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

/** A registered buffer (ring.buffers) or its span(): the part of it a fixed op uses. */
interface SpanLike {
  readonly buffer: object;
  readonly index: number;
  readonly address: number;
  readonly length: number;
}
/** The registered buffer index a fixed op's buffer argument named (read by its bufIndex param). */
const spanIndex = new WeakMap<Sqe, number>();
function fixedSpanOf(w: () => string, v: unknown, opts: Record<string, unknown>): SpanLike | undefined {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return undefined;
  const o = v as { span?: unknown; index?: unknown; address?: unknown; length?: unknown; buffer?: unknown };
  if (typeof o.span === 'function') {
    // a RegisteredBuffer: the offset/length window options pick the part (range-checked by span())
    const off = opts.offset === undefined ? 0 : opts.offset;
    return (o.span as (offset?: unknown, length?: unknown) => SpanLike).call(v, off, opts.length);
  }
  if (typeof o.index === 'number' && typeof o.address === 'number' && typeof o.length === 'number' && o.buffer !== null && typeof o.buffer === 'object') {
    if (opts.offset !== undefined || opts.length !== undefined) throw new TypeError(`${w()} is a span already: the offset/length options apply to views and RegisteredBuffers`);
    return o as SpanLike;
  }
  return undefined;
}

/** Does this Sqe's request post more than one CQE (F_MORE)? Such requests need ring.runMulti. */
export function postsManyCqes(s: Sqe): boolean {
  return s.op.multiCqe === true || s.multishot;
}

/**
 * Memory lent to the kernel by PROVIDE_BUFFERS outlives the request: the kernel writes into it
 * whenever a later request selects one of its buffers. Each pool stays reachable here, per buffer
 * group, until releaseProvidedBuffers(group) says the group is gone (REMOVE_BUFFERS of all of it,
 * or the ring closed). A BufferGroup owner calls that; the raw builder cannot know.
 */
const lent = new Map<number, Set<ArrayBuffer | SharedArrayBuffer>>();
const pools = new WeakMap<Sqe, ByteSpan>();
/** Lets the pools lent to `group` be collected (after the kernel dropped them). */
export function releaseProvidedBuffers(group: number): void {
  lent.delete(group);
}
/** The pools lent to `group` that ringflow keeps reachable (for tests and the BufferGroup owner). */
export function lentPools(group: number): number {
  return lent.get(group)?.size ?? 0;
}

const SOCK_TYPES: Readonly<Record<string, number>> = { stream: SOCK.STREAM, dgram: SOCK.DGRAM, seqpacket: SOCK.SEQPACKET, raw: SOCK.RAW };

function choice(w: () => string, p: ParamDesc, v: unknown): number {
  const values = p.values!;
  if (typeof v === 'string') {
    if (!Object.hasOwn(values, v)) throw new RangeError(`${w()} must be one of ${Object.keys(values).map((k) => `'${k}'`).join(', ')} (or their numbers), got ${describe(v)}`);
    return values[v]!;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be one of ${Object.keys(values).map((k) => `'${k}'`).join(', ')} or a number, got ${describe(v)}`);
  if (!Object.values(values).includes(v))
    throw new RangeError(`${w()} must be one of ${Object.entries(values).map(([k, n]) => `${n} ('${k}')`).join(', ')}, got ${describe(v)}`);
  return v;
}

/**
 * Encodes `v` (given, or the param's default) for a socket/buffer parameter kind. `as` encodes a
 * value with one of build.ts's own kinds (dataBuffer delegates to 'buffer').
 */
export function applyNetParam(op: OpDesc, s: Sqe, p: ParamDesc, v: unknown, opts: Record<string, unknown>, w: () => string, as: (kind: ParamKind, v: unknown) => void): void {
  switch (p.kind) {
    case 'sockaddr': {
      const b = encodeSockaddr(w, v);
      setField(s, p.field, viewAddress(b));
      setField(s, p.lengthField!, b.length);
      s.hold(b.buffer);
      return;
    }
    case 'sockaddrOut': {
      // a multishot accept would have every connection write the same area: it gets none
      if (opts.multishot === true) return;
      const { area, len } = sockaddrArea();
      setField(s, p.field, viewAddress(area));
      setField(s, p.lengthField!, viewAddress(len));
      s.hold(area.buffer).hold(len.buffer);
      const inner = s.parse;
      s.parse = (res: number, flags: number): { fd: unknown; address: SockAddr | null } => ({ fd: inner ? inner(res, flags) : res, address: parseSockaddr(area, len.readUInt32LE(0)) });
      return;
    }
    case 'msghdr': {
      const dir = /^send/.test(op.name) ? 'send' : 'recv';
      const total = encodeMsghdr(w, s, v, dir, opts.bufferGroup !== undefined, (a) => setField(s, p.field, a));
      s.expect = total; // the msgFlags parameter keeps it only with MSG_WAITALL
      return;
    }
    case 'msgFlags': {
      const f = int(w, v, 0, 0xffffffff);
      setField(s, p.field, f >>> 0);
      // io_uring fails a short send/recv (and breaks its link) only with MSG_WAITALL
      if (!(f & MSG.WAITALL)) s.expect = -1;
      if (f & MSG.WAITALL && opts.multishot === true) throw new RangeError(`${w()}: MSG_WAITALL cannot be combined with multishot (the kernel refuses it)`);
      return;
    }
    case 'flag': {
      if (typeof v !== 'boolean') throw new TypeError(`${w()} must be a boolean, got ${describe(v)}`);
      if (!v) return;
      if (p.requires && opts[p.requires] === undefined) throw new TypeError(`${w()} needs "${p.requires}" too (the kernel refuses it alone)`);
      (s as unknown as Record<string, number>)[p.field] |= p.bit!;
      if (p.multi) {
        s.multishot = true;
      }
      return;
    }
    case 'bufferGroup': {
      const g = int(w, v, 0, 0xffff);
      s.bufIndex = g;
      s.flags |= SqeFlags.BUFFER_SELECT;
      return;
    }
    case 'poolGroup': {
      const g = int(w, v, 0, 0xffff);
      s.bufIndex = g;
      const pool = pools.get(s);
      if (pool) {
        let set = lent.get(g);
        if (!set) lent.set(g, (set = new Set()));
        set.add(pool.buffer);
      }
      return;
    }
    case 'fixedBuffer': {
      const own = spanIndex.get(s);
      if (v === -1) {
        if (own === undefined) throw new TypeError(`${w()} is required when the buffer is a plain view (or pass a RegisteredBuffer of ring.buffers, or its span(), which names its index)`);
        s.bufIndex = own;
      } else {
        s.bufIndex = int(w, v, 0, 0xffff);
        if (own !== undefined && own !== s.bufIndex) throw new RangeError(`${w()} is ${s.bufIndex}, but the buffer given is registered buffer ${own}`);
      }
      if (p.bit) s.ioprio |= p.bit;
      return;
    }
    case 'fixedData': {
      const span = fixedSpanOf(w, v, opts);
      if (!span) return as('buffer', v);
      setField(s, p.field, span.address);
      s.len = span.length;
      s.expect = span.length;
      s.hold(span.buffer);
      spanIndex.set(s, span.index);
      return;
    }
    case 'dataBuffer': {
      const selected = opts.bufferGroup !== undefined;
      if (selected) int(() => `${op.name}(): "bufferGroup"`, opts.bufferGroup, 0, 0xffff); // its own error first
      if (v === null) {
        if (!selected) throw new TypeError(`${w()} must be a buffer (null only with "bufferGroup": the kernel picks the buffer)`);
        if (opts.offset !== undefined) throw new TypeError(`${op.name}(): "offset" has no buffer to apply to (the kernel picks it from the group)`);
        s.len = opts.length === undefined ? 0 : int(() => `${op.name}(): "length"`, opts.length, 0, 0x7fffffff);
        s.expect = -1;
        return;
      }
      if (selected) throw new TypeError(`${w()} must be null with "bufferGroup" (the kernel picks the buffer; "length" caps it), got ${describe(v)}`);
      as('buffer', v);
      return;
    }
    case 'choice': {
      const c = choice(w, p, v);
      const name = Object.keys(p.values!).find((k) => p.values![k] === c)!;
      for (const k of p.needs?.[name] ?? [])
        if (opts[k] === undefined) throw new TypeError(`${op.name}(): "${k}" is required with ${p.name} '${name}'`);
      setField(s, p.field, c);
      return;
    }
    case 'optval': {
      const sp = bufferSpan(w, v);
      setField(s, p.field, spanAddress(sp));
      setField(s, p.lengthField!, sp.length);
      s.hold(sp.buffer);
      return;
    }
    case 'bitmask': {
      const all = Object.values(p.values!).reduce((m, b) => m | b, 0);
      const f = int(w, v, 0, 0x7fffffff);
      if (f & ~all) throw new RangeError(`${w()} must be a combination of ${Object.entries(p.values!).map(([k, b]) => `${k} (0x${b.toString(16)})`).join(', ')}, got 0x${f.toString(16)}`);
      setField(s, p.field, f | (s as unknown as Record<string, number>)[p.field]!);
      return;
    }
    case 'sockType': {
      let t: number;
      if (typeof v === 'string') {
        if (!Object.hasOwn(SOCK_TYPES, v)) throw new RangeError(`${w()} must be one of ${Object.keys(SOCK_TYPES).map((k) => `'${k}'`).join(', ')} or a SOCK_* number, got ${describe(v)}`);
        t = SOCK_TYPES[v]!;
      } else {
        t = int(w, v, 0, 0x7fffffff);
        if (t & ~(SOCK_TYPE_MASK | SOCK.NONBLOCK | SOCK.CLOEXEC))
          throw new RangeError(`${w()} must be a SOCK_* type (at most 0xf) OR'd with SOCK.NONBLOCK or SOCK.CLOEXEC only, got 0x${t.toString(16)}`);
      }
      const direct = opts.direct !== undefined;
      if (direct && t & SOCK.CLOEXEC) throw new RangeError(`${w()}: SOCK_CLOEXEC cannot be combined with "direct" (the kernel refuses it for direct descriptors)`);
      setField(s, p.field, direct ? t : t | SOCK.CLOEXEC); // sockets the ring opens do not leak into child processes
      return;
    }
    case 'optname': {
      s.addrHi = int(w, v, 0, 0xffffffff) >>> 0;
      return;
    }
    case 'bufferPool': {
      const sp = bufferSpan(w, v);
      if (sp.length === 0) throw new RangeError(`${w()} must not be empty`);
      setField(s, p.field, spanAddress(sp));
      s.hold(sp.buffer);
      pools.set(s, sp);
      return;
    }
    case 'bufferCount': {
      const n = int(w, v, 1, MAX_BIDS_PER_BGID);
      const pool = pools.get(s);
      if (pool && n * s.len > pool.length)
        throw new RangeError(`${w()} × size must fit the buffer: ${n} × ${s.len} = ${n * s.len} bytes, the buffer has ${pool.length}`);
      setField(s, p.field, n);
      return;
    }
    default:
      throw new Error(`ringflow: no encoder for parameter kind ${p.kind} (${op.name}.${p.name})`);
  }
}
