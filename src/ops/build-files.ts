/**
 * Encoders for the parameter kinds of the file and path opcodes (src/ops/ops-files.ts,
 * ops-paths.ts). build.ts hands every kind of FILE_KINDS to applyFileParam; each check throws
 * ringflow's TypeError/RangeError naming the argument.
 * - offset: a file offset or length, number in [0, 2^53 - 1] or bigint in [0, 2^63 - 1] (loff_t) → 64-bit field
 * - length64: a length like offset → `field` (32-bit) when it fits, else `lengthField` (64-bit; Linux 6.11 for fadvise/madvise)
 * - byteCount: u32 byte count → `field`; the request fails when fewer bytes move (splice, tee): a short one breaks a link
 * - openHow: { flags, mode, resolve } or O_* flags alone → struct open_how at `field`, len = its size; O_CLOEXEC added unless `direct`
 * - xattrName: string or Buffer of 1 to 255 bytes, no NUL → NUL-terminated copy at `field`
 * - xattrValue: buffer of at most 65536 bytes → `field` = its address, len = its length
 * - xattrOut: a buffer (resolves the value's length), a size to allocate (resolves a Buffer of the value) or 0 (resolves the size)
 * - pipeFds: internal int[2] at `field`; resolves [read, write] (FixedFile with `direct`)
 * - spliceFdIn: process fd, or FixedFile (SPLICE_F_FD_IN_FIXED in the op flags) → `field` (splice_fd_in)
 * - pageRange: a view over whole pages → `field` = its address, len (or `lengthField` past 32 bits) = its length
 */
import { readFileSync } from 'node:fs';
import { types } from 'node:util';
import type { OpDesc, ParamDesc, ParamKind } from './desc.js';
import { FixedFile, type Sqe } from './sqe.js';
import { viewAddress, spanAddress, refusalOf } from '../ring/memory.js';
import { describeValue as describe } from '../errors.js';
import { bufferSpan, setField } from './build.js';
import { O } from '../ring/abi.js';
import { RESOLVE_FLAGS, allBits } from './sqe-fields.js';
import { SPLICE_F_FD_IN_FIXED, OPEN_HOW_SIZE, XATTR_NAME_MAX, XATTR_SIZE_MAX } from './file-abi.js';

export const FILE_KINDS: ReadonlySet<ParamKind> = new Set<ParamKind>(['offset', 'length64', 'byteCount', 'openHow', 'xattrName', 'xattrValue', 'xattrOut', 'pipeFds', 'spliceFdIn', 'pageRange']);

const U32_MAX = 0xffffffff;
const S64_MAX = 2n ** 63n - 1n;
const RESOLVE_ALL = allBits(RESOLVE_FLAGS);

function int(w: () => string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${w()} must be in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

/** A non-negative loff_t: number up to 2^53 - 1 or bigint up to 2^63 - 1. */
function offset(w: () => string, v: unknown): number | bigint {
  const range = 'in [0, 2^53 - 1] as a number or [0, 2^63 - 1] as a bigint';
  if (typeof v === 'bigint') {
    if (v < 0n || v > S64_MAX) throw new RangeError(`${w()} must be ${range}, got ${describe(v)}`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be an integer or bigint, got ${describe(v)}`);
  if (v < 0 || v > Number.MAX_SAFE_INTEGER) throw new RangeError(`${w()} must be ${range}, got ${describe(v)}`);
  return v;
}

/** The page size (AT_PAGESZ of the auxiliary vector): madvise acts on whole pages. */
let pageSize = 0;
export function systemPageSize(): number {
  if (pageSize) return pageSize;
  try {
    const auxv = readFileSync('/proc/self/auxv');
    for (let o = 0; o + 16 <= auxv.length; o += 16) {
      const type = auxv.readBigUInt64LE(o);
      if (type === 0n) break;
      if (type === 6n /* AT_PAGESZ */) pageSize = Number(auxv.readBigUInt64LE(o + 8));
    }
  } catch {
    // no /proc: the x86-64 page size
  }
  if (!pageSize) pageSize = 4096;
  return pageSize;
}

/** Bytes of a name or path argument (string as UTF-8), checked; `max` bytes without the NUL. */
function cstring(w: () => string, v: unknown, max: number): Buffer {
  let bytes: Uint8Array;
  if (typeof v === 'string') {
    if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) throw new TypeError(`${w()} must be well-formed UTF-16 (a lone surrogate would be sent as U+FFFD)`);
    if (v.length > max) throw new RangeError(`${w()} must be 1 to ${max} bytes, got ${v.length} characters`);
    bytes = Buffer.from(v, 'utf8');
  } else if (v instanceof Uint8Array) {
    const why = refusalOf(v.buffer);
    if (why) throw new TypeError(`${w()} ${why}`);
    bytes = v;
  } else {
    throw new TypeError(`${w()} must be a string or Buffer, got ${describe(v)}`);
  }
  if (bytes.byteLength === 0 || bytes.byteLength > max) throw new RangeError(`${w()} must be 1 to ${max} bytes, got ${bytes.byteLength} bytes`);
  if (bytes.includes(0)) throw new TypeError(`${w()} must not contain NUL bytes`);
  const b = Buffer.alloc(bytes.byteLength + 1);
  b.set(bytes);
  return b;
}

const HOW_KEYS = new Set(['flags', 'mode', 'resolve']);

function openHow(w: () => string, v: unknown, direct: boolean): Buffer {
  let flags = 0;
  let mode = 0;
  let resolve = 0;
  if (typeof v === 'number') {
    flags = int(w, v, 0, U32_MAX);
  } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!HOW_KEYS.has(k)) throw new TypeError(`${w()} takes flags, mode, resolve; got "${k}"`);
    if (o.flags !== undefined) flags = int(() => `${w()}.flags`, o.flags, 0, U32_MAX);
    if (o.mode !== undefined) mode = int(() => `${w()}.mode`, o.mode, 0, 0o7777);
    if (o.resolve !== undefined) {
      resolve = int(() => `${w()}.resolve`, o.resolve, 0, U32_MAX);
      if (resolve & ~RESOLVE_ALL)
        throw new RangeError(`${w()}.resolve must be a combination of ${Object.entries(RESOLVE_FLAGS).map(([k, b]) => `RESOLVE.${k} (0x${b.toString(16)})`).join(', ')}, got 0x${resolve.toString(16)}`);
    }
  } else {
    throw new TypeError(`${w()} must be O_* flags or { flags, mode, resolve }, got ${describe(v)}`);
  }
  if (direct && flags & O.CLOEXEC) throw new RangeError(`${w()}: O_CLOEXEC cannot be combined with "direct" (the kernel refuses it for direct descriptors)`);
  if (!direct) flags |= O.CLOEXEC; // fds the ring opens do not leak into child processes
  const b = Buffer.alloc(OPEN_HOW_SIZE);
  b.writeBigUInt64LE(BigInt(flags >>> 0), 0);
  b.writeBigUInt64LE(BigInt(mode), 8);
  b.writeBigUInt64LE(BigInt(resolve), 16);
  return b;
}

/** Encodes `v` (given, or the param's default) for a file or path parameter kind. */
export function applyFileParam(op: OpDesc, s: Sqe, p: ParamDesc, v: unknown, opts: Record<string, unknown>, w: () => string): void {
  switch (p.kind) {
    case 'offset':
      setField(s, p.field, offset(w, v));
      return;
    case 'length64': {
      const n = offset(w, v);
      if (n <= U32_MAX) setField(s, p.field, n);
      else setField(s, p.lengthField!, n);
      return;
    }
    case 'byteCount':
      setField(s, p.field, int(w, v, 0, U32_MAX));
      s.expect = v as number; // the kernel fails a request that moved fewer bytes
      return;
    case 'openHow': {
      const b = openHow(w, v, opts.direct !== undefined);
      setField(s, p.field, viewAddress(b));
      s.len = b.length;
      s.hold(b.buffer);
      return;
    }
    case 'xattrName': {
      const b = cstring(w, v, XATTR_NAME_MAX);
      setField(s, p.field, viewAddress(b));
      s.hold(b.buffer);
      return;
    }
    case 'xattrValue': {
      const span = bufferSpan(w, v);
      if (span.length > XATTR_SIZE_MAX) throw new RangeError(`${w()} must be at most ${XATTR_SIZE_MAX} bytes (XATTR_SIZE_MAX), got ${span.length}`);
      setField(s, p.field, spanAddress(span));
      s.len = span.length;
      s.hold(span.buffer);
      return;
    }
    case 'xattrOut': {
      if (typeof v === 'number') {
        const size = int(w, v, 0, XATTR_SIZE_MAX);
        if (size === 0) return; // len 0: the kernel answers the value's size
        const area = Buffer.allocUnsafeSlow(size); // only the bytes the kernel wrote are ever read
        setField(s, p.field, viewAddress(area));
        s.len = size;
        s.hold(area.buffer);
        s.parse = (res) => Buffer.from(area.subarray(0, res));
        return;
      }
      if (!ArrayBuffer.isView(v) && !types.isAnyArrayBuffer(v))
        throw new TypeError(`${w()} must be a buffer to read the value into, a size in [0, ${XATTR_SIZE_MAX}] to allocate, or 0 (the value's size), got ${describe(v)}`);
      const span = bufferSpan(w, v);
      setField(s, p.field, spanAddress(span));
      s.len = Math.min(span.length, U32_MAX);
      s.hold(span.buffer);
      return;
    }
    case 'pipeFds': {
      const fds = new Int32Array([-1, -1]);
      setField(s, p.field, viewAddress(fds));
      s.hold(fds.buffer);
      const direct = opts.direct !== undefined;
      s.parse = () => (direct ? [new FixedFile(fds[0]!), new FixedFile(fds[1]!)] : [fds[0]!, fds[1]!]);
      return;
    }
    case 'spliceFdIn':
      if (v instanceof FixedFile) {
        setField(s, p.field, v.index);
        s.opFlags |= SPLICE_F_FD_IN_FIXED;
        return;
      }
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be an integer (a process fd) or a FixedFile, got ${describe(v)}`);
      setField(s, p.field, int(w, v, 0, 0x7fffffff));
      return;
    case 'pageRange': {
      const span = bufferSpan(w, v);
      const address = spanAddress(span);
      const page = systemPageSize();
      if (span.length === 0 || address % page !== 0 || span.length % page !== 0)
        throw new RangeError(
          `${w()} must start on a page boundary and span whole pages of ${page} bytes (the kernel rounds the length up, which would reach memory past the view), got ${span.length} bytes at page offset ${address % page}`,
        );
      setField(s, p.field, address);
      if (span.length <= U32_MAX) s.len = span.length;
      else setField(s, p.lengthField!, span.length);
      s.hold(span.buffer);
      return;
    }
    default:
      throw new Error(`ringflow: no encoder for parameter kind ${p.kind} (${op.name}.${p.name})`);
  }
}
