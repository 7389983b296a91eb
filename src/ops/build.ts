/**
 * Builders derived from the opcode table: each table entry with `params` becomes a function
 * (positional arguments, then an options object) that validates its input with exact
 * TypeError/RangeError messages and returns a prepared Sqe. Nothing here touches the ring.
 */
import { OPS, type OpDesc, type ParamDesc } from './table.js';
import { Sqe, FixedFile, split64, type Fd } from './sqe.js';
import { SqeFlags, Statx, TIMESPEC_SIZE, AT_FDCWD } from '../ring/abi.js';
import { viewAddress, isDetached } from '../ring/memory.js';

/** Timeout argument: milliseconds, {sec, nsec}, or bigint nanoseconds. */
export type Timespec = number | bigint | { sec: number; nsec?: number };
export type BufferLike = ArrayBufferView | ArrayBuffer;

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

function where(op: OpDesc, p: ParamDesc): string {
  return `${op.name}(): "${p.name}"`;
}

function int(op: OpDesc, p: ParamDesc, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TypeError(`${where(op, p)} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${where(op, p)} must be in [${min}, ${max}], got ${v}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  if (typeof v === 'string') return `string "${v.length > 20 ? v.slice(0, 20) + '…' : v}"`;
  return `${typeof v} ${String(v)}`;
}

/** Validates a buffer argument and returns a Uint8Array view over it (not a copy). */
export function asBytes(what: string, v: unknown): Uint8Array {
  let view: Uint8Array;
  if (v instanceof Uint8Array) view = v;
  else if (ArrayBuffer.isView(v)) view = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  else if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer))
    view = new Uint8Array(v);
  else throw new TypeError(`${what} must be a Buffer, TypedArray, DataView or ArrayBuffer, got ${describe(v)}`);
  if (view.byteLength === 0 && isDetached(view.buffer)) throw new TypeError(`${what} is a detached ArrayBuffer`);
  return view;
}

function timespecBytes(op: OpDesc, p: ParamDesc, v: unknown): Buffer {
  let sec: bigint;
  let nsec: bigint;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${where(op, p)} must be a finite number of milliseconds >= 0, got ${v}`);
    const ns = BigInt(Math.round(v * 1e6));
    sec = ns / 1_000_000_000n;
    nsec = ns % 1_000_000_000n;
  } else if (typeof v === 'bigint') {
    if (v < 0n) throw new RangeError(`${where(op, p)} must be >= 0 nanoseconds, got ${v}`);
    sec = v / 1_000_000_000n;
    nsec = v % 1_000_000_000n;
  } else if (v && typeof v === 'object' && 'sec' in v) {
    const o = v as { sec: unknown; nsec?: unknown };
    if (typeof o.sec !== 'number' || !Number.isInteger(o.sec) || o.sec < 0)
      throw new RangeError(`${where(op, p)}.sec must be an integer >= 0, got ${describe(o.sec)}`);
    const n = o.nsec ?? 0;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 999_999_999)
      throw new RangeError(`${where(op, p)}.nsec must be an integer in [0, 999999999], got ${describe(n)}`);
    sec = BigInt(o.sec);
    nsec = BigInt(n);
  } else {
    throw new TypeError(`${where(op, p)} must be milliseconds, { sec, nsec } or bigint nanoseconds, got ${describe(v)}`);
  }
  const b = Buffer.alloc(TIMESPEC_SIZE);
  b.writeBigInt64LE(sec, 0);
  b.writeBigInt64LE(nsec, 8);
  return b;
}

function pathBytes(op: OpDesc, p: ParamDesc, v: unknown): Buffer {
  let b: Buffer;
  if (typeof v === 'string') {
    if (v.includes('\0')) throw new TypeError(`${where(op, p)} must not contain NUL bytes`);
    b = Buffer.from(v + '\0', 'utf8');
  } else if (v instanceof Uint8Array) {
    if (v.includes(0)) throw new TypeError(`${where(op, p)} must not contain NUL bytes`);
    b = Buffer.alloc(v.byteLength + 1);
    b.set(v);
  } else {
    throw new TypeError(`${where(op, p)} must be a string or Buffer, got ${describe(v)}`);
  }
  if (b.byteLength > 4096) throw new RangeError(`${where(op, p)} is longer than PATH_MAX (4096 bytes)`);
  return b;
}

function parseStatx(b: Buffer): StatxResult {
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

function setField(s: Sqe, field: ParamDesc['field'], v: number | bigint): void {
  switch (field) {
    case 'off':
      [s.offLo, s.offHi] = split64(v);
      return;
    case 'addr':
      [s.addrLo, s.addrHi] = split64(v);
      return;
    case 'addr3':
      [s.addr3Lo, s.addr3Hi] = split64(v);
      return;
    default:
      (s as unknown as Record<string, number>)[field] = Number(v);
  }
}

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
}
/** Buffer window for read/write: like fs.read's offset/length. */
export interface BufferWindow {
  /** Byte offset into the buffer (default 0). */
  offset?: number;
  /** Bytes to transfer (default: the rest of the buffer after offset). */
  length?: number;
}

function applyParam(op: OpDesc, s: Sqe, p: ParamDesc, v: unknown, opts: Record<string, unknown>): void {
  if (v === undefined) {
    if (!p.optional) throw new TypeError(`${where(op, p)} is required`);
    if (p.kind === 'statx') {
      v = undefined;
    } else if (p.default !== undefined) {
      v = p.default;
    } else return;
  }
  switch (p.kind) {
    case 'fd':
      if (v instanceof FixedFile) {
        s.fd = v.index;
        s.flags |= SqeFlags.FIXED_FILE;
      } else s.fd = int(op, p, v, 0, 0x7fffffff);
      return;
    case 'dirfd':
      if (v instanceof FixedFile) throw new TypeError(`${where(op, p)} cannot be a FixedFile`);
      s.fd = v === AT_FDCWD ? AT_FDCWD : int(op, p, v, 0, 0x7fffffff);
      return;
    case 'u32':
      setField(s, p.field, int(op, p, v, 0, 0xffffffff));
      return;
    case 'i32':
      setField(s, p.field, int(op, p, v, -0x80000000, 0x7fffffff));
      return;
    case 'u16':
      setField(s, p.field, int(op, p, v, 0, 0xffff));
      return;
    case 'position':
      if (typeof v === 'bigint') {
        if (v < -1n || v > 0x7fffffffffffffffn) throw new RangeError(`${where(op, p)} must be in [-1, 2^63), got ${v}`);
      } else if (v === null) {
        v = -1;
      } else if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw new TypeError(`${where(op, p)} must be an integer or bigint, got ${describe(v)}`);
      } else if (v < -1 || v > Number.MAX_SAFE_INTEGER) {
        throw new RangeError(`${where(op, p)} must be in [-1, 2^53), got ${v}`);
      }
      setField(s, p.field, v as number | bigint);
      return;
    case 'u64':
    case 'userData':
      if (typeof v === 'bigint') {
        if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`${where(op, p)} must fit in 64 bits, got ${v}`);
      } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        throw new TypeError(`${where(op, p)} must be a non-negative integer or bigint, got ${describe(v)}`);
      }
      setField(s, p.field, v as number | bigint);
      return;
    case 'buffer': {
      const bytes = asBytes(where(op, p), v);
      const win = opts as BufferWindow;
      const off = win.offset ?? 0;
      if (typeof off !== 'number' || !Number.isInteger(off)) throw new TypeError(`${op.name}(): "offset" must be an integer, got ${describe(off)}`);
      if (off < 0 || off > bytes.byteLength) throw new RangeError(`${op.name}(): "offset" must be in [0, ${bytes.byteLength}], got ${off}`);
      const length = win.length ?? bytes.byteLength - off;
      if (typeof length !== 'number' || !Number.isInteger(length)) throw new TypeError(`${op.name}(): "length" must be an integer, got ${describe(length)}`);
      if (length < 0 || off + length > bytes.byteLength)
        throw new RangeError(`${op.name}(): "length" must be in [0, ${bytes.byteLength - off}] (buffer ${bytes.byteLength} bytes, offset ${off}), got ${length}`);
      setField(s, p.field, viewAddress(bytes) + off);
      s.len = length;
      s.expect = length;
      s.hold(bytes.buffer);
      return;
    }
    case 'iovecs': {
      if (!Array.isArray(v)) throw new TypeError(`${where(op, p)} must be an array of buffers, got ${describe(v)}`);
      if (v.length === 0 || v.length > 1024) throw new RangeError(`${where(op, p)} must hold 1 to 1024 buffers (IOV_MAX), got ${v.length}`);
      const iov = Buffer.alloc(16 * v.length);
      let total = 0;
      for (let i = 0; i < v.length; i++) {
        const b = asBytes(`${where(op, p)}[${i}]`, v[i]);
        const a = viewAddress(b);
        iov.writeUInt32LE(a >>> 0, i * 16);
        iov.writeUInt32LE(Math.floor(a / 0x1_0000_0000), i * 16 + 4);
        iov.writeUInt32LE(b.byteLength, i * 16 + 8);
        total += b.byteLength;
        s.hold(b.buffer);
      }
      setField(s, p.field, viewAddress(iov));
      s.hold(iov.buffer);
      s.len = v.length;
      s.expect = total;
      return;
    }
    case 'path': {
      const b = pathBytes(op, p, v);
      setField(s, p.field, viewAddress(b));
      s.hold(b.buffer);
      return;
    }
    case 'timespec': {
      const b = timespecBytes(op, p, v);
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
  }
}

/** Per-op facts buildSqe needs, computed once per op instead of on every request. */
interface OpShape {
  positional: number;
  fixed: [ParamDesc['field'], number][];
  /** The param that writes the op flags, if any (its explicit use suppresses impliesOpFlags). */
  opFlagsParam: string | undefined;
}
const shapes = new WeakMap<OpDesc, OpShape>();
function shapeOf(op: OpDesc, params: ParamDesc[]): OpShape {
  let sh = shapes.get(op);
  if (!sh) {
    sh = {
      positional: params.filter((p) => p.positional).length,
      fixed: Object.entries(op.fixed ?? {}) as [ParamDesc['field'], number][],
      opFlagsParam: params.find((p) => p.field === 'opFlags')?.name,
    };
    shapes.set(op, sh);
  }
  return sh;
}

/** Builds an Sqe for `op` from builder arguments (positional, then options). */
export function buildSqe(op: OpDesc, args: readonly unknown[]): Sqe {
  const params = op.params;
  if (!params) throw new TypeError(`ringflow: no builder for ${op.name} (IORING_OP_${op.constant}) yet`);
  const shape = shapeOf(op, params);
  const s = new Sqe(op);
  let i = 0;
  let opts: Record<string, unknown> = {};
  const last = args[shape.positional];
  if (last !== undefined) {
    if (last === null || typeof last !== 'object' || ArrayBuffer.isView(last) || Array.isArray(last))
      throw new TypeError(`${op.name}(): options must be an object, got ${describe(last)}`);
    opts = last as Record<string, unknown>;
  }
  if (args.length > shape.positional + 1) throw new TypeError(`${op.name}(): too many arguments (${args.length})`);
  let implied = 0;
  for (const p of params) {
    const v = p.positional ? args[i++] : opts[p.name];
    applyParam(op, s, p, v, opts);
    if (p.impliesOpFlags && v !== undefined) implied |= p.impliesOpFlags;
  }
  for (const [f, v] of shape.fixed) setField(s, f, v);
  if (op.alwaysOpFlags) s.opFlags |= op.alwaysOpFlags;
  if (implied && (shape.opFlagsParam === undefined || opts[shape.opFlagsParam] === undefined)) s.opFlags |= implied;
  const c = opts as CommonOptions;
  if (c.personality !== undefined) s.personality = int(op, { name: 'personality' } as ParamDesc, c.personality, 0, 0xffff);
  if (c.ioprio !== undefined) s.ioprio = int(op, { name: 'ioprio' } as ParamDesc, c.ioprio, 0, 0xffff);
  if (c.sqeFlags !== undefined) s.flags |= int(op, { name: 'sqeFlags' } as ParamDesc, c.sqeFlags, 0, 0x7f);
  if (c.signal !== undefined && !(c.signal instanceof AbortSignal))
    throw new TypeError(`${op.name}(): "signal" must be an AbortSignal, got ${describe(c.signal)}`);
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
  openat(path: string | Uint8Array, flags?: number, mode?: number, options?: CommonOptions & { dirfd?: number; fileIndex?: number }): Sqe;
  close(fd: Fd, options?: CommonOptions): Sqe;
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
  OPS.filter((o) => o.params).map((o) => [o.name, (...args: unknown[]) => buildSqe(o, args)]),
) as unknown as Builders;

