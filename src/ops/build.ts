/**
 * Builders derived from the opcode table: each table entry with `params` becomes a function
 * (positional arguments, then an options object) that validates its input with exact
 * TypeError/RangeError messages and returns a prepared Sqe. Nothing here touches the ring.
 */
import { OPS, type OpDesc, type ParamDesc } from './table.js';
import { types } from 'node:util';
import { Sqe, FixedFile, split64, checkCqTarget, skipRefusal, type Fd } from './sqe.js';
import { applySlotParam, type FdEntry } from './fd-list.js';
import { SqeFlags, Statx, TIMESPEC_SIZE, AT_FDCWD } from '../ring/abi.js';
import { viewAddress, spanAddress, refusalOf, viewExtent, viewBuffer, bufferByteLength, type ByteSpan } from '../ring/memory.js';
import { describeValue as describe } from '../errors.js';
import { applyNetParam } from './build-net.js';
import { planOf, fastPath, setter32, type PlanStep } from './build-plan.js';
import { FILE_KINDS, applyFileParam } from './build-files.js';
import { applyMsgParam } from './build-msg.js';
import { applyBigParam } from './build-big.js';
import { applyWaitParam, WAIT_KINDS } from './build-wait.js';

/** Timeout argument: milliseconds, {sec, nsec}, or bigint nanoseconds. */
export type Timespec = number | bigint | { sec: number; nsec?: number };
export type BufferLike = ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

/** statx(2) result with the fields Node users know from fs.Stats. */
export interface StatxResult {
  mask: number;
  blksize: number;
  attributes: bigint;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  ino: bigint;
  size: bigint;
  blocks: bigint;
  atimeNs: bigint;
  btimeNs: bigint;
  ctimeNs: bigint;
  mtimeNs: bigint;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

function where(op: OpDesc, name: string): string {
  return `${op.name}(): "${name}"`;
}

function int(op: OpDesc, name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${where(op, name)} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${where(op, name)} must be in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

/** A 64-bit value given as a number (exact up to 2^53 - 1) or a bigint: the text of its accepted range. */
function range64(min: number, signed: boolean): string {
  return `in [${min}, 2^53 - 1] as a number or [${min}, 2^${signed ? 63 : 64} - 1] as a bigint`;
}

/** Validates a buffer argument: the byte range it names, over memory the kernel may use until the CQE. */
export function bufferSpan(what: string | (() => string), v: unknown): ByteSpan {
  return spanOf(what, undefined, v);
}

/** bufferSpan() naming `op`'s parameter `param` in its errors (no closure per call: the builders' hot path). */
/** The name of a buffer argument in an error message. */
function spanName(what: string | (() => string) | OpDesc, param: string | undefined): string {
  return typeof what === 'string' ? what : typeof what === 'function' ? what() : where(what, param!);
}

function spanOf(what: string | (() => string) | OpDesc, param: string | undefined, v: unknown): ByteSpan {
  const view = ArrayBuffer.isView(v);
  if (!view && !types.isAnyArrayBuffer(v))
    throw new TypeError(`${spanName(what, param)} must be a Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer, got ${describe(v)}`);
  const buffer = view ? viewBuffer(v) : (v as ArrayBuffer | SharedArrayBuffer);
  // before reading the view's extent: a DataView over a detached buffer throws on byteOffset
  const why = refusalOf(buffer);
  if (why) throw new TypeError(`${spanName(what, param)} ${why}`);
  return view ? viewExtent(v) : { buffer, offset: 0, length: bufferByteLength(buffer) };
}

/** Validates a buffer argument and returns a Uint8Array view over it (not a copy). */
export function asBytes(what: string, v: unknown): Uint8Array {
  const s = bufferSpan(what, v);
  return new Uint8Array(s.buffer, s.offset, s.length);
}

const NS_PER_SEC = 1_000_000_000n;
const S64_MAX = 2n ** 63n - 1n;
const TIMESPEC_KEYS = new Set(['sec', 'nsec']);

function timespecBytes(op: OpDesc, name: string, v: unknown): Buffer {
  const w = (): string => where(op, name); // built only for an error message
  let sec: bigint;
  let nsec: bigint;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0 || v > Number.MAX_SAFE_INTEGER)
      throw new RangeError(`${w()} must be a finite number of milliseconds in [0, 2^53 - 1] (or { sec, nsec }, or bigint nanoseconds in [0, 2^63 - 1]), got ${describe(v)}`);
    const ns = BigInt(Math.round(v * 1e6));
    sec = ns / NS_PER_SEC;
    nsec = ns % NS_PER_SEC;
  } else if (typeof v === 'bigint') {
    if (v < 0n || v > S64_MAX) throw new RangeError(`${w()} as bigint nanoseconds must be in [0, 2^63 - 1], got ${describe(v)}`);
    sec = v / NS_PER_SEC;
    nsec = v % NS_PER_SEC;
  } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'sec' in v) {
    const o = v as { sec: unknown; nsec?: unknown };
    for (const k of Object.keys(o))
      if (!TIMESPEC_KEYS.has(k)) throw new TypeError(`${w()} as an object takes only "sec" and "nsec", got "${k}"`);
    if (typeof o.sec !== 'number' || !Number.isInteger(o.sec)) throw new TypeError(`${w()}.sec must be an integer, got ${describe(o.sec)}`);
    if (o.sec < 0 || o.sec > Number.MAX_SAFE_INTEGER) throw new RangeError(`${w()}.sec must be in [0, 2^53 - 1], got ${describe(o.sec)}`);
    const n = o.nsec ?? 0;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 999_999_999)
      throw new RangeError(`${w()}.nsec must be an integer in [0, 999999999], got ${describe(n)}`);
    sec = BigInt(o.sec);
    nsec = BigInt(n);
  } else {
    throw new TypeError(`${w()} must be milliseconds, { sec, nsec } or bigint nanoseconds, got ${describe(v)}`);
  }
  const b = Buffer.alloc(TIMESPEC_SIZE);
  b.writeBigInt64LE(sec, 0);
  b.writeBigInt64LE(nsec, 8);
  return b;
}

/** PATH_MAX of include/uapi/linux/limits.h: the longest path the kernel copies, NUL included. */
const PATH_MAX = 4096;

function pathBytes(op: OpDesc, name: string, v: unknown): Buffer {
  // (no closures for the error messages: this runs for every path a request names)
  let b: Buffer;
  if (typeof v === 'string') {
    // every UTF-16 unit is at least one UTF-8 byte: refuse long strings before encoding them
    if (v.length >= PATH_MAX) throw pathTooLong(op, name, v.length);
    if (v.includes('\0')) throw new TypeError(`${where(op, name)} must not contain NUL bytes`);
    if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) throw new TypeError(`${where(op, name)} must be well-formed UTF-16 (a lone surrogate would be sent as U+FFFD, another path)`);
    b = Buffer.from(v + '\0', 'utf8');
    if (b.byteLength > PATH_MAX) throw pathTooLong(op, name, b.byteLength - 1);
  } else if (v instanceof Uint8Array) {
    const why = refusalOf(v.buffer);
    if (why) throw new TypeError(`${where(op, name)} ${why}`);
    if (v.byteLength >= PATH_MAX) throw pathTooLong(op, name, v.byteLength);
    if (v.includes(0)) throw new TypeError(`${where(op, name)} must not contain NUL bytes`);
    b = Buffer.alloc(v.byteLength + 1);
    b.set(v);
  } else {
    throw new TypeError(`${where(op, name)} must be a string or Buffer, got ${describe(v)}`);
  }
  return b;
}

/** Each op's path parameter, as repath() found it (it runs per readFile). */
const pathParams = new Map<OpDesc, ParamDesc>();

/**
 * @internal Points a built request's path parameter at another path, with the builder's checks
 * and encoding, the new bytes kept in place of the old (ringflow/fs reuses one open per pool slot:
 * src/fs/fast/read-file.ts). For an op with one path parameter, whose request keeps nothing else.
 */
export function repath(s: Sqe, v: unknown): void {
  let p = pathParams.get(s.op);
  if (p === undefined) {
    p = s.op.params?.find((q) => q.kind === 'path');
    if (p === undefined) throw new TypeError(`repath(): ${s.op.name} has no path parameter`);
    pathParams.set(s.op, p);
  }
  const b = pathBytes(s.op, p.name, v);
  setField(s, p.field, viewAddress(b));
  s.keep = [b.buffer];
}

/** Marks the RangeError of a path longer than PATH_MAX: ringflow/fs answers it as the kernel would (ENAMETOOLONG, src/fs/errors.ts). */
export const PATH_TOO_LONG: unique symbol = Symbol('ringflow.pathTooLong');

const pathTooLong = (op: OpDesc, name: string, n: number): RangeError =>
  Object.defineProperty(new RangeError(`${where(op, name)} must be at most ${PATH_MAX - 1} bytes (PATH_MAX ${PATH_MAX} with its NUL), got ${n} bytes`), PATH_TOO_LONG, { value: true });

export function parseStatx(b: Buffer): StatxResult {
  const ts = (o: number) => b.readBigInt64LE(o) * 1_000_000_000n + BigInt(b.readUInt32LE(o + 8));
  const mode = b.readUInt16LE(Statx.mode);
  const fmt = mode & 0o170000;
  return {
    mask: b.readUInt32LE(Statx.mask),
    blksize: b.readUInt32LE(Statx.blksize),
    attributes: b.readBigUInt64LE(Statx.attributes),
    nlink: b.readUInt32LE(Statx.nlink),
    uid: b.readUInt32LE(Statx.uid),
    gid: b.readUInt32LE(Statx.gid),
    mode,
    ino: b.readBigUInt64LE(Statx.ino),
    size: b.readBigUInt64LE(Statx.sizeField),
    blocks: b.readBigUInt64LE(Statx.blocks),
    atimeNs: ts(Statx.atime),
    btimeNs: ts(Statx.btime),
    ctimeNs: ts(Statx.ctime),
    mtimeNs: ts(Statx.mtime),
    rdevMajor: b.readUInt32LE(Statx.rdev_major),
    rdevMinor: b.readUInt32LE(Statx.rdev_minor),
    devMajor: b.readUInt32LE(Statx.dev_major),
    devMinor: b.readUInt32LE(Statx.dev_minor),
    isFile: () => fmt === 0o100000,
    isDirectory: () => fmt === 0o040000,
    isSymbolicLink: () => fmt === 0o120000,
  };
}

/** Writes one SQE field (64-bit fields as lo/hi words). */
export function setField(s: Sqe, field: ParamDesc['field'], v: number | bigint): void {
  switch (field) {
    case 'off':
      if (typeof v === 'number' && v >= 0) {
        s.offLo = v >>> 0;
        s.offHi = Math.floor(v / TWO32) >>> 0;
      } else [s.offLo, s.offHi] = split64(v);
      return;
    case 'addr':
      if (typeof v === 'number' && v >= 0) {
        s.addrLo = v >>> 0;
        s.addrHi = Math.floor(v / TWO32) >>> 0;
      } else [s.addrLo, s.addrHi] = split64(v);
      return;
    case 'addr3':
      [s.addr3Lo, s.addr3Hi] = split64(v);
      return;
    default:
      setter32(field)?.(s, Number(v)); // the 32-bit fields: the builders' fast path stores them the same way
  }
}
const TWO32 = 0x1_0000_0000;

/** Options every builder accepts besides its own. */
export interface CommonOptions {
  /** Cancels the request (IORING_OP_ASYNC_CANCEL) when aborted. Promise methods only. */
  signal?: AbortSignal;
  /** Personality id from io_uring_register(REGISTER_PERSONALITY). */
  personality?: number;
  /** Requested SQE flags (IOSQE_*), or use .link()/.drain()/… on the Sqe. */
  sqeFlags?: number;
  /** ioprio (I/O priority for read/write). */
  ioprio?: number;
  /**
   * Also post the completion to this completion queue (0: the programs' CQ 0; 1..: extra CQs),
   * for completion programs to reap and wait on; the promise settles as usual. Sqe.toCq() too.
   */
  cq?: number;
  /** The user_data of the completion posted to `cq` (default 0); only with `cq`. */
  userData?: number | bigint;
}
/** Buffer window for read/write: like fs.read's offset/length. */
export interface BufferWindow {
  /** Byte offset into the buffer (default 0). */
  offset?: number;
  /** Bytes to transfer (default: the rest of the buffer after offset). */
  length?: number;
}

/** IOSQE_* bits a builder sets from its arguments, and what to pass instead of naming them in `sqeFlags`. */
const SQE_FLAGS_FROM_ARGUMENTS: Partial<Record<keyof typeof SqeFlags, string>> = {
  FIXED_FILE: 'pass the fd as a FixedFile (fixed(index)) to name a registered file slot',
  BUFFER_SELECT: 'buffer selection comes with provided buffers, which set it themselves',
};
const SQE_FLAGS_SETTABLE = Object.entries(SqeFlags).filter(([k]) => !(k in SQE_FLAGS_FROM_ARGUMENTS));
const SQE_FLAGS_SETTABLE_MASK = SQE_FLAGS_SETTABLE.reduce((m, [, v]) => m | v, 0);

function sqeFlagsOption(op: OpDesc, v: unknown): number {
  const w = (): string => where(op, 'sqeFlags');
  const f = int(op, 'sqeFlags', v, 0, 0xff);
  if (f & SqeFlags.CQE_SKIP_SUCCESS && op.errorKeepsLink) throw new TypeError(skipRefusal(op.name));
  for (const [k, why] of Object.entries(SQE_FLAGS_FROM_ARGUMENTS))
    if (f & SqeFlags[k as keyof typeof SqeFlags]) throw new RangeError(`${w()} must not include ${k}: ${why}`);
  if (f & ~SQE_FLAGS_SETTABLE_MASK)
    throw new RangeError(`${w()} must be a combination of SqeFlags ${SQE_FLAGS_SETTABLE.map(([k, b]) => `${k} (${b})`).join(', ')}, got ${f} (unknown bits 0x${(f & ~SQE_FLAGS_SETTABLE_MASK).toString(16)})`);
  return f;
}

/** The options every builder takes besides its own, each with its check (keys of CommonOptions, no more, no less). */
const COMMON_OPTIONS = {
  signal: (op: OpDesc, s: Sqe, v: unknown) => {
    if (!(v instanceof AbortSignal)) throw new TypeError(`${where(op, 'signal')} must be an AbortSignal, got ${describe(v)}`);
  },
  personality: (op: OpDesc, s: Sqe, v: unknown) => {
    s.personality = int(op, 'personality', v, 0, 0xffff);
  },
  sqeFlags: (op: OpDesc, s: Sqe, v: unknown) => {
    s.flags |= sqeFlagsOption(op, v);
  },
  ioprio: (op: OpDesc, s: Sqe, v: unknown) => {
    s.ioprio = int(op, 'ioprio', v, 0, 0xffff);
  },
  cq: (op: OpDesc, s: Sqe, v: unknown, opts: Record<string, unknown>) => {
    [s.cq, s.cqUserData] = checkCqTarget(`${op.name}()`, v, opts.userData ?? 0);
  },
  userData: (op: OpDesc, s: Sqe, v: unknown, opts: Record<string, unknown>) => {
    if (opts.cq === undefined) throw new TypeError(`${where(op, 'userData')} is the user_data of the completion posted to "cq"; pass "cq" too`);
  },
} satisfies Record<keyof CommonOptions, (op: OpDesc, s: Sqe, v: unknown, opts: Record<string, unknown>) => void>;
const COMMON_CHECKS = Object.entries(COMMON_OPTIONS);
/** Options of builders with a `buffer` parameter (keys of BufferWindow). */
const WINDOW_OPTIONS = ['offset', 'length'] as const satisfies readonly (keyof BufferWindow)[];

/** Largest value of the SQE's 32-bit `len`. */
const LEN_MAX = 0xffffffff;

function applyParam(op: OpDesc, s: Sqe, p: ParamDesc, v: unknown, opts: Record<string, unknown>): void {
  if (v === undefined) {
    if (!p.optional) throw new TypeError(`${where(op, p.name)} is required`);
    if (p.kind === 'statx' || p.internal) {
      v = undefined;
    } else if (p.default !== undefined) {
      v = p.default;
    } else return;
  }
  // error messages name the argument: where(op, p.name); the kinds that hand a namer on build it themselves
  switch (p.kind) {
    case 'fd': {
      // what IOSQE_FIXED_FILE does for this op comes from its kernel declaration
      const fixedUse = op.sqe?.fixedFile;
      if (v instanceof FixedFile) {
        if (p.fixed === 'fileIndex') {
          s.fd = 0;
          s.fileIndex = v.index + 1;
        } else if (fixedUse === 'slot' || fixedUse === 'required') {
          s.fd = v.index;
          s.flags |= SqeFlags.FIXED_FILE;
        } else {
          throw new TypeError(`${where(op, p.name)} cannot be a FixedFile: IORING_OP_${op.constant} takes process fds only`);
        }
      } else {
        if (fixedUse === 'required') throw new TypeError(`${where(op, p.name)} must be a FixedFile (a slot of the ring's registered file table), got ${describe(v)}`);
        if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${where(op, p.name)} must be an integer (a process fd) or a FixedFile, got ${describe(v)}`);
        s.fd = int(op, p.name, v, 0, 0x7fffffff);
      }
      return;
    }
    case 'direct':
    case 'slotOffset':
    case 'fdList':
      applySlotParam(p.kind, s, () => where(op, p.name), v, (x) => setField(s, p.field, x));
      return;
    case 'dirfd':
      if (v instanceof FixedFile) throw new TypeError(`${where(op, p.name)} cannot be a FixedFile`);
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${where(op, p.name)} must be an integer (a directory fd or AT_FDCWD), got ${describe(v)}`);
      if (v !== AT_FDCWD && (v < 0 || v > 0x7fffffff)) throw new RangeError(`${where(op, p.name)} must be AT_FDCWD (${AT_FDCWD}) or in [0, 2147483647], got ${describe(v)}`);
      setField(s, p.field, v); // fd, or len (renameat/linkat's newDirfd)
      return;
    case 'u32': {
      const n = int(op, p.name, v, 0, 0xffffffff);
      setField(s, p.field, n);
      if (p.multiBits !== undefined && (n & p.multiBits) !== 0) s.multishot = true; // (IORING_TIMEOUT_MULTISHOT: a CQE per expiry)
      return;
    }
    case 'i32':
      setField(s, p.field, int(op, p.name, v, -0x80000000, 0x7fffffff));
      return;
    case 'u16':
      setField(s, p.field, int(op, p.name, v, 0, 0xffff));
      return;
    case 'position':
      if (typeof v === 'bigint') {
        if (v < -1n || v > 0x7fffffffffffffffn) throw new RangeError(`${where(op, p.name)} must be ${range64(-1, true)}, got ${describe(v)}`);
      } else if (v === null) {
        v = -1;
      } else if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw new TypeError(`${where(op, p.name)} must be an integer or bigint, got ${describe(v)}`);
      } else if (v < -1 || v > Number.MAX_SAFE_INTEGER) {
        throw new RangeError(`${where(op, p.name)} must be ${range64(-1, true)}, got ${describe(v)}`);
      }
      setField(s, p.field, v as number | bigint);
      return;
    case 'u64':
    case 'userData':
      if (typeof v === 'bigint') {
        if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`${where(op, p.name)} must be ${range64(0, false)}, got ${describe(v)}`);
      } else if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw new TypeError(`${where(op, p.name)} must be a non-negative integer or bigint, got ${describe(v)}`);
      } else if (v < 0 || v > Number.MAX_SAFE_INTEGER) {
        throw new RangeError(`${where(op, p.name)} must be ${range64(0, false)}, got ${describe(v)}`);
      }
      setField(s, p.field, v as number | bigint);
      return;
    case 'buffer': {
      const span = spanOf(op, p.name, v);
      const size = span.length;
      const win = opts as BufferWindow;
      const off = win.offset === undefined ? 0 : win.offset;
      if (typeof off !== 'number' || !Number.isInteger(off)) throw new TypeError(`${where(op, 'offset')} must be an integer, got ${describe(off)}`);
      if (off < 0 || off > size) throw new RangeError(`${where(op, 'offset')} must be in [0, ${size}], got ${describe(off)}`);
      const length = win.length === undefined ? size - off : win.length;
      if (typeof length !== 'number' || !Number.isInteger(length)) throw new TypeError(`${where(op, 'length')} must be an integer, got ${describe(length)}`);
      const max = Math.min(size - off, LEN_MAX);
      if (length < 0 || length > max)
        throw new RangeError(
          `${where(op, 'length')} must be in [0, ${max}] (buffer ${size} bytes, offset ${off}${max === LEN_MAX ? '; the SQE length is 32 bits' : ''}), got ${describe(length)}${win.length === undefined ? ' (the rest of the buffer)' : ''}`,
        );
      setField(s, p.field, spanAddress(span) + off);
      s.len = length;
      s.expect = length;
      s.hold(span.buffer);
      return;
    }
    case 'iovecs': {
      if (!Array.isArray(v)) throw new TypeError(`${where(op, p.name)} must be an array of buffers, got ${describe(v)}`);
      if (v.length === 0 || v.length > IOV_MAX) throw new RangeError(`${where(op, p.name)} must hold 1 to ${IOV_MAX} buffers (IOV_MAX), got ${v.length}`);
      const spans = v.map((b, i) => bufferSpan(() => `${where(op, p.name)}[${i}]`, b));
      const iov = Buffer.alloc(IOVEC_SIZE * spans.length);
      let total = 0;
      for (let i = 0; i < spans.length; i++) {
        const sp = spans[i];
        const o = i * IOVEC_SIZE;
        const [aLo, aHi] = split64(spanAddress(sp));
        const [lLo, lHi] = split64(sp.length);
        iov.writeUInt32LE(aLo, o);
        iov.writeUInt32LE(aHi, o + 4);
        iov.writeUInt32LE(lLo, o + 8); // iov_len is a size_t
        iov.writeUInt32LE(lHi, o + 12);
        total += sp.length;
        s.hold(sp.buffer);
      }
      setField(s, p.field, viewAddress(iov));
      s.hold(iov.buffer);
      s.len = spans.length;
      s.expect = total;
      return;
    }
    case 'path': {
      const b = pathBytes(op, p.name, v);
      setField(s, p.field, viewAddress(b));
      s.hold(b.buffer);
      return;
    }
    case 'timespec': {
      const b = timespecBytes(op, p.name, v);
      setField(s, p.field, viewAddress(b));
      s.hold(b.buffer);
      return;
    }
    case 'statx': {
      const b = Buffer.alloc(Statx.size);
      setField(s, p.field, viewAddress(b));
      s.hold(b.buffer);
      s.parse = () => parseStatx(b);
      return;
    }
    case 'cmdArea':
    case 'zcrxIfq':
      return applyBigParam(s, p, v, () => where(op, p.name)); // src/ops/build-big.ts
    case 'ringTarget':
    case 'ringMessage':
      return applyMsgParam(op, s, p, v, () => where(op, p.name)); // src/ops/build-msg.ts
    default: // socket and buffer kinds (src/ops/build-net.ts), file and path kinds (build-files.ts), waiting kinds (build-wait.ts)
      if (FILE_KINDS.has(p.kind)) return applyFileParam(op, s, p, v, opts, () => where(op, p.name));
      (WAIT_KINDS.has(p.kind) ? applyWaitParam : applyNetParam)(op, s, p, v, opts, () => where(op, p.name), (kind, x) => applyParam(op, s, { ...p, kind }, x, opts));
  }
}

/** struct iovec: iov_base u64, iov_len u64; UIO_MAXIOV (include/uapi/linux/uio.h). */
const IOVEC_SIZE = 16;
const IOV_MAX = 1024;

/** Per-op facts buildSqe needs, computed once per op instead of on every request. */
interface OpShape {
  positional: number;
  /** Names of the positional parameters, for the "too many arguments" message. */
  positionalNames: string[];
  /** Keys the trailing options object may hold: the op's own non-positional params, its buffer window, the common options. */
  optionKeys: ReadonlySet<string>;
  fixed: [ParamDesc['field'], number][];
  /** The param that writes the op flags, if any (its explicit use suppresses impliesOpFlags). */
  opFlagsParam: string | undefined;
  /** Per parameter: its fast encoder and what an omitted argument does (src/ops/build-plan.ts). */
  plan: PlanStep[];
  /**
   * The steps of `plan` a call without an options object runs: the positional parameters and the
   * options that write something when omitted (a default, a required check), in plan order. An
   * option that writes nothing when omitted (skipWhenOmitted) is not visited at all.
   */
  planNoOptions: PlanStep[];
}
const shapes = new WeakMap<OpDesc, OpShape>();
function shapeOf(op: OpDesc, params: ParamDesc[]): OpShape {
  let sh = shapes.get(op);
  if (!sh) {
    const positional = params.filter((p) => p.positional);
    sh = {
      positional: positional.length,
      positionalNames: positional.map((p) => p.name),
      optionKeys: new Set([
        // 'statx' params are result areas ringflow allocates, not caller input
        ...params.filter((p) => !p.positional && p.kind !== 'statx' && !p.internal).map((p) => p.name),
        ...(params.some((p) => p.kind === 'buffer' || p.kind === 'dataBuffer' || p.kind === 'fixedData') ? WINDOW_OPTIONS : []),
        ...Object.keys(COMMON_OPTIONS),
      ]),
      fixed: Object.entries(op.fixed ?? {}) as [ParamDesc['field'], number][],
      opFlagsParam: params.find((p) => p.field === 'opFlags')?.name,
      plan: planOf(op, params),
      planNoOptions: [],
    };
    sh.planNoOptions = sh.plan.filter((step) => step.p.positional || !step.skipWhenOmitted);
    shapes.set(op, sh);
  }
  return sh;
}

/** The option keys `op`'s builder accepts (derived from the opcode table plus the common options). */
export function builderOptionKeys(op: OpDesc): readonly string[] {
  return op.params ? [...shapeOf(op, op.params).optionKeys] : [];
}

/** The options of a call without an options object (read-only: nothing writes to options). */
const NO_OPTIONS: Record<string, unknown> = Object.freeze({});

/** Builds an Sqe for `op` from builder arguments (positional, then options). */
export function buildSqe(op: OpDesc, args: readonly unknown[]): Sqe {
  const params = op.params;
  if (!params) throw new TypeError(`ringflow: no builder for ${op.name} (IORING_OP_${op.constant}) yet`);
  return buildWith(op, shapeOf(op, params), args);
}

/**
 * buildSqe() for one op, its shape looked up once, at its first call (the builders and the promise
 * methods: made for every op when ringflow loads, which a test runner such as Jest does again for
 * every test file; most ops are never called there).
 */
export function builderOf(op: OpDesc): (args: readonly unknown[]) => Sqe {
  const params = op.params;
  if (!params) throw new TypeError(`ringflow: no builder for ${op.name} (IORING_OP_${op.constant}) yet`);
  let shape: OpShape | undefined;
  return (args) => buildWith(op, (shape ??= shapeOf(op, params)), args);
}

/** Is `name` among `keys`? (a loop the compiler inlines; Array.prototype.includes was a builtin call per parameter) */
function holds(keys: readonly string[], name: string): boolean {
  for (let k = 0; k < keys.length; k++) if (keys[k] === name) return true;
  return false;
}

function buildWith(op: OpDesc, shape: OpShape, args: readonly unknown[]): Sqe {
  if (args.length > shape.positional + 1)
    throw new TypeError(`${op.name}(): too many arguments (${args.length}); it takes ${[...shape.positionalNames, 'options'].join(', ')}`);
  const s = new Sqe(op);
  let i = 0;
  let opts: Record<string, unknown> = NO_OPTIONS;
  /**
   * A plain options object's own enumerable keys (an object literal, or one without a prototype):
   * an option not among them is omitted, and is not looked up (a keyed load by a name the object lacks is a
   * megamorphic miss that walks the prototype chain: a third of a FileHandle read's build).
   * undefined: every name is read, inherited ones and getters too (a class instance's options).
   */
  let own: string[] | undefined;
  const last = args[shape.positional];
  if (last !== undefined) {
    if (last === null || typeof last !== 'object' || ArrayBuffer.isView(last) || Array.isArray(last) || types.isAnyArrayBuffer(last) || last instanceof AbortSignal)
      throw new TypeError(`${op.name}(): options must be an object, got ${describe(last)}${last instanceof AbortSignal ? ' (pass { signal })' : ''}`);
    opts = last as Record<string, unknown>;
    const keys = Object.keys(opts);
    for (const k of keys)
      if (!shape.optionKeys.has(k)) throw new TypeError(`${op.name}(): "${k}" is not an option of ${op.name}(); it accepts ${[...shape.optionKeys].join(', ')}`);
    const proto = Object.getPrototypeOf(opts);
    if (proto === Object.prototype || proto === null) own = keys;
  }
  let implied = 0;
  let excluded = 0;
  // without an options object, the options that write nothing when omitted are not visited
  const plan = opts === NO_OPTIONS ? shape.planNoOptions : shape.plan;
  const fastOn = fastPath.enabled;
  for (let k = 0; k < plan.length; k++) {
    const step = plan[k];
    const p = step.p;
    // no options object: no keyed load by a parameter name (megamorphic; most calls pass none)
    const v = p.positional ? args[i++] : opts === NO_OPTIONS || (own !== undefined && !holds(own, p.name)) ? undefined : opts[p.name];
    if (v === undefined) {
      if (step.skipWhenOmitted) continue;
      if (!step.fastDefault || !fastOn || !step.fast!(s, p.default, opts)) applyParam(op, s, p, v, opts);
      continue;
    }
    if (step.fast === undefined || !fastOn || !step.fast(s, v, opts)) applyParam(op, s, p, v, opts);
    if (p.impliesOpFlags) implied |= p.impliesOpFlags;
    if (p.excludesOpFlags && v !== undefined) {
      if (s.opFlags & p.excludesOpFlags)
        throw new RangeError(`${op.name}(): "${p.name}" cannot be combined with op flags 0x${(s.opFlags & p.excludesOpFlags).toString(16)} (the kernel refuses them together)`);
      excluded |= p.excludesOpFlags;
    }
  }
  const fixedFields = shape.fixed;
  for (let k = 0; k < fixedFields.length; k++) setField(s, fixedFields[k][0], fixedFields[k][1]);
  if (op.alwaysOpFlags) s.opFlags |= op.alwaysOpFlags & ~excluded;
  // (with the op flags given too: an option that needs a flag gets it, never silently ignored)
  if (implied) s.opFlags |= implied;
  if (last !== undefined)
    for (const [k, check] of COMMON_CHECKS) {
      if (own !== undefined && !holds(own, k)) continue;
      const v = opts[k];
      if (v !== undefined) check(op, s, v, opts);
    }
  return s;
}

type PositionArg = number | bigint | null | undefined;

/** Typed builder signatures (implementations are generated from the table). */
export interface Builders {
  nop(options?: CommonOptions & { injectResult?: number; nopFlags?: number }): Sqe;
  read(fd: Fd, buffer: BufferLike, position?: PositionArg, options?: CommonOptions & BufferWindow & { rwFlags?: number }): Sqe;
  write(fd: Fd, buffer: BufferLike, position?: PositionArg, options?: CommonOptions & BufferWindow & { rwFlags?: number }): Sqe;
  readv(fd: Fd, buffers: BufferLike[], position?: PositionArg, options?: CommonOptions & { rwFlags?: number }): Sqe;
  writev(fd: Fd, buffers: BufferLike[], position?: PositionArg, options?: CommonOptions & { rwFlags?: number }): Sqe;
  fsync(fd: Fd, options?: CommonOptions & { fsyncFlags?: number }): Sqe;
  /** `direct`: open into a slot of the registered file table (or 'auto': a free one); the request then resolves that FixedFile. */
  openat(path: string | Uint8Array, flags?: number, mode?: number, options?: CommonOptions & { dirfd?: number; direct?: number | 'auto' }): Sqe;
  /** A FixedFile empties its slot (file_index). */
  close(fd: Fd, options?: CommonOptions): Sqe;
  /** IORING_OP_FILES_UPDATE: fds into slots from `offset` ('auto': free slots, resolved as their numbers); res = slots updated. */
  filesUpdate(fds: ArrayLike<FdEntry>, offset?: number | 'auto', options?: CommonOptions): Sqe;
  /** IORING_OP_FIXED_FD_INSTALL (6.8): a process fd for a slot's file; installFlags 1 = IORING_FIXED_FD_NO_CLOEXEC. */
  fixedFdInstall(fd: FixedFile, options?: CommonOptions & { installFlags?: number }): Sqe;
  statx(path: string | Uint8Array, options?: CommonOptions & { dirfd?: number; statxFlags?: number; mask?: number }): Sqe;
  timeout(time: Timespec, options?: CommonOptions & { count?: number; timeoutFlags?: number }): Sqe;
  timeoutRemove(target: number | bigint, options?: CommonOptions & { timeoutFlags?: number }): Sqe;
  asyncCancel(target: number | bigint, options?: CommonOptions & { cancelFlags?: number }): Sqe;
  linkTimeout(time: Timespec, options?: CommonOptions & { timeoutFlags?: number }): Sqe;
  /** A completion-program request (ringflow's IORING_OP_BPF): registered program `index`, context token `userData`. */
  program(index: number, options?: { userData?: bigint | number }): Sqe;
}

/** Low-level builders: `op.read(fd, buf, 0).link()` → an Sqe to pass to ring.submit(). */
export const op: Builders = Object.fromEntries(
  OPS.filter((o) => o.params).map((o) => {
    const build = builderOf(o);
    return [o.name, (...args: unknown[]) => build(args)];
  }),
) as unknown as Builders;

