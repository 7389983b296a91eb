/**
 * Types of the socket and buffer builders (op.send(), …) and of their promise methods
 * (ring.send(), …; installed from the opcode table by methods.ts), plus the socket-option
 * conveniences over IORING_OP_URING_CMD: ring.getsockopt(), ring.setsockopt(), ring.siocinq(),
 * ring.siocoutq().
 */
import { Ring, type RunOptions } from './ring.js';
import { opByName } from '../ops/table.js';
import { buildSqe, type BufferLike, type CommonOptions } from '../ops/build.js';
import type { Sqe, Fd, FixedFile } from '../ops/sqe.js';
import type { SockAddr, SockAddrInput } from '../ops/sockaddr.js';
import type { SendMsg, RecvMsg, Received } from '../ops/msghdr.js';
import { describeValue } from '../errors.js';
import type { ZeroCopyResult } from './multi.js';
import type { RegisteredBuffer, FixedSpan } from './registered-buffers.js';

type PositionArg = number | bigint | null | undefined;
/** What a fixed read/write names: a registered buffer, a part of one, or a view inside one (then with bufIndex). */
export type FixedData = BufferLike | RegisteredBuffer | FixedSpan;
/** socket(2) domain: a name or AF_* number. */
export type SocketDomain = 'ipv4' | 'ipv6' | 'unix' | number;
/** socket(2) type: a name, or SOCK_* | SOCK.NONBLOCK. */
export type SocketType = 'stream' | 'dgram' | 'seqpacket' | 'raw' | number;
/** Socket commands of IORING_OP_URING_CMD (6.7). */
export type SocketCommand = 'siocinq' | 'siocoutq' | 'getsockopt' | 'setsockopt' | 0 | 1 | 2 | 3;
/** What a single-shot accept resolves to. */
export interface Accepted<F = number> {
  /** The connection: a process fd, or the FixedFile with `direct`. */
  fd: F;
  /** The peer's address. */
  address: SockAddr | null;
}
export interface AcceptOptions {
  /** SOCK.NONBLOCK (SOCK_CLOEXEC is added unless `direct`). */
  flags?: number;
  direct?: number | 'auto';
  /** IORING_ACCEPT_MULTISHOT: builder only (ring.runMulti). */
  multishot?: boolean;
  dontWait?: boolean;
  pollFirst?: boolean;
}
export interface SendOptions {
  /** Destination (sendto). */
  to?: SockAddrInput;
  pollFirst?: boolean;
  /** Provided-buffer group (pass null as the buffer). */
  bufferGroup?: number;
  /** IORING_RECVSEND_BUNDLE: builder only. */
  bundle?: boolean;
}
export interface RecvOptions {
  pollFirst?: boolean;
  bufferGroup?: number;
  /** IORING_RECV_MULTISHOT: builder only. */
  multishot?: boolean;
  /** IORING_RECVSEND_BUNDLE: builder only. */
  bundle?: boolean;
}
export interface SendZcOptions {
  to?: SockAddrInput;
  pollFirst?: boolean;
  /** IORING_SEND_ZC_REPORT_USAGE: the notification says whether the data was copied. */
  reportUsage?: boolean;
  /** Registered buffer index: `buffer` is a view inside it (IORING_RECVSEND_FIXED_BUF). */
  bufIndex?: number;
}
export interface SockoptOptions {
  level?: number;
  optname?: number;
  optval?: BufferLike;
}

declare module '../ops/build.js' {
  interface Builders {
    /** IORING_OP_SOCKET (5.19): socket(2); SOCK_CLOEXEC added unless `direct`. */
    socket(domain: SocketDomain, type: SocketType, protocol?: number, options?: CommonOptions & { direct?: number | 'auto' }): Sqe;
    /** IORING_OP_BIND (6.11). */
    bind(fd: Fd, address: SockAddrInput, options?: CommonOptions): Sqe;
    /** IORING_OP_LISTEN (6.11); backlog default 511. */
    listen(fd: Fd, backlog?: number, options?: CommonOptions): Sqe;
    /** IORING_OP_ACCEPT: accept4(2); single-shot requests carry a peer-address area. */
    accept(fd: Fd, options?: CommonOptions & AcceptOptions): Sqe;
    /** IORING_OP_CONNECT. */
    connect(fd: Fd, address: SockAddrInput, options?: CommonOptions): Sqe;
    /** IORING_OP_SEND: send(2), sendto(2) with `to`; null buffer with `bufferGroup`. */
    send(fd: Fd, buffer: BufferLike | null, flags?: number, options?: CommonOptions & BufferWindow & SendOptions): Sqe;
    /** IORING_OP_RECV: recv(2); null buffer with `bufferGroup` (`length` caps it). */
    recv(fd: Fd, buffer: BufferLike | null, flags?: number, options?: CommonOptions & BufferWindow & RecvOptions): Sqe;
    /** IORING_OP_SENDMSG. */
    sendmsg(fd: Fd, msg: SendMsg, flags?: number, options?: CommonOptions & { pollFirst?: boolean }): Sqe;
    /** IORING_OP_RECVMSG. */
    recvmsg(fd: Fd, msg: RecvMsg, flags?: number, options?: CommonOptions & { pollFirst?: boolean; bufferGroup?: number; multishot?: boolean }): Sqe;
    /** IORING_OP_SHUTDOWN. */
    shutdown(fd: Fd, how: 'read' | 'write' | 'both' | 0 | 1 | 2, options?: CommonOptions): Sqe;
    /** IORING_OP_URING_CMD with a socket command (6.7). */
    uringCmd(fd: Fd, cmd: SocketCommand, options?: CommonOptions & SockoptOptions): Sqe;
    /** IORING_OP_SEND_ZC (6.0): two CQEs (result with F_MORE, then F_NOTIF). */
    sendZc(fd: Fd, buffer: BufferLike, flags?: number, options?: CommonOptions & BufferWindow & SendZcOptions): Sqe;
    /** IORING_OP_SENDMSG_ZC (6.1): two CQEs. */
    sendmsgZc(fd: Fd, msg: SendMsg, flags?: number, options?: CommonOptions & { pollFirst?: boolean; reportUsage?: boolean }): Sqe;
    /** IORING_OP_READ_FIXED: into a RegisteredBuffer (ring.buffers), its span(), or a view inside registered buffer `bufIndex`. */
    readFixed(fd: Fd, buffer: FixedData, position?: PositionArg, bufIndex?: number, options?: CommonOptions & BufferWindow & { rwFlags?: number }): Sqe;
    /** IORING_OP_WRITE_FIXED: from a RegisteredBuffer, its span(), or a view inside registered buffer `bufIndex`. */
    writeFixed(fd: Fd, buffer: FixedData, position?: PositionArg, bufIndex?: number, options?: CommonOptions & BufferWindow & { rwFlags?: number }): Sqe;
    /** IORING_OP_READV_FIXED (6.15). */
    readvFixed(fd: Fd, buffers: BufferLike[], position: PositionArg, bufIndex: number, options?: CommonOptions & { rwFlags?: number }): Sqe;
    /** IORING_OP_WRITEV_FIXED (6.15). */
    writevFixed(fd: Fd, buffers: BufferLike[], position: PositionArg, bufIndex: number, options?: CommonOptions & { rwFlags?: number }): Sqe;
    /** IORING_OP_PROVIDE_BUFFERS: `count` buffers of `size` bytes from `buffer` to group `group`, ids from `firstId`. */
    provideBuffers(buffer: BufferLike, size: number, count: number, group: number, firstId?: number, options?: CommonOptions): Sqe;
    /** IORING_OP_REMOVE_BUFFERS. */
    removeBuffers(count: number, group: number, options?: CommonOptions): Sqe;
  }
}

type Args<K extends keyof import('../ops/build.js').Builders> = Parameters<import('../ops/build.js').Builders[K]>;

declare module './ring.js' {
  interface Ring {
    /** socket(2) into a slot of ring.files (`direct`); resolves the FixedFile. */
    socket(domain: SocketDomain, type: SocketType, protocol: number | undefined, options: CommonOptions & { direct: number | 'auto' }): Promise<FixedFile>;
    /** socket(2); resolves the new fd (O_CLOEXEC). */
    socket(...args: Args<'socket'>): Promise<number>;
    bind(...args: Args<'bind'>): Promise<void>;
    listen(...args: Args<'listen'>): Promise<void>;
    /** accept4(2) into a slot (`direct`): resolves { fd: FixedFile, address }. */
    accept(fd: Fd, options: CommonOptions & AcceptOptions & { direct: number | 'auto' }): Promise<Accepted<FixedFile>>;
    /** accept4(2): resolves { fd, address } (single-shot; multishot is refused: op.accept + ring.runMulti). */
    accept(...args: Args<'accept'>): Promise<Accepted>;
    connect(...args: Args<'connect'>): Promise<void>;
    /** Resolves the bytes sent. */
    send(...args: Args<'send'>): Promise<number>;
    /** Resolves the bytes received (0: the peer closed). With bufferGroup, the buffer id is in the CQE flags (not visible here yet). */
    recv(...args: Args<'recv'>): Promise<number>;
    sendmsg(...args: Args<'sendmsg'>): Promise<number>;
    /** Resolves { bytes, address, flags, controlLength }. */
    recvmsg(...args: Args<'recvmsg'>): Promise<Received>;
    /**
     * Zero-copy send(2) (IORING_OP_SEND_ZC, 6.0): resolves the bytes sent once the kernel's
     * notification says the buffer is free again (also after an error, which then rejects). With
     * `reportUsage` (6.2) it resolves { bytes, copied }: copied = the kernel fell back to copying.
     */
    sendZc(fd: Fd, buffer: BufferLike, flags: number | undefined, options: NonNullable<Args<'sendZc'>[3]> & { reportUsage: true }): Promise<ZeroCopyResult>;
    sendZc(...args: Args<'sendZc'>): Promise<number>;
    /** Zero-copy sendmsg(2) (6.1): as sendZc(). */
    sendmsgZc(fd: Fd, msg: SendMsg, flags: number | undefined, options: CommonOptions & { pollFirst?: boolean; reportUsage: true }): Promise<ZeroCopyResult>;
    sendmsgZc(...args: Args<'sendmsgZc'>): Promise<number>;
    shutdown(...args: Args<'shutdown'>): Promise<void>;
    /** A socket command; resolves the kernel's result (SIOCINQ/SIOCOUTQ bytes, getsockopt optlen, setsockopt 0). */
    uringCmd(...args: Args<'uringCmd'>): Promise<number>;
    readFixed(...args: Args<'readFixed'>): Promise<number>;
    writeFixed(...args: Args<'writeFixed'>): Promise<number>;
    readvFixed(...args: Args<'readvFixed'>): Promise<number>;
    writevFixed(...args: Args<'writevFixed'>): Promise<number>;
    /** Resolves 0 once the buffers are in the group. */
    provideBuffers(...args: Args<'provideBuffers'>): Promise<number>;
    /** Resolves the number of buffers removed. */
    removeBuffers(...args: Args<'removeBuffers'>): Promise<number>;
    /** getsockopt(2) of an int option through the ring (SOL_SOCKET only, 6.7): resolves its value. */
    getsockopt(fd: Fd, level: number, optname: number, options?: RunOptions): Promise<number>;
    /** getsockopt(2) into `optval` (SOL_SOCKET only, 6.7): resolves the option's length. */
    getsockopt(fd: Fd, level: number, optname: number, optval: BufferLike, options?: RunOptions): Promise<number>;
    /** setsockopt(2) through the ring (6.7): an int value (4 bytes) or the option's bytes. */
    setsockopt(fd: Fd, level: number, optname: number, value: number | BufferLike, options?: RunOptions): Promise<void>;
    /** SIOCINQ through the ring (6.7): bytes received and not yet read. */
    siocinq(fd: Fd, options?: RunOptions): Promise<number>;
    /** SIOCOUTQ through the ring (6.7): bytes sent and not yet acknowledged / sent. */
    siocoutq(fd: Fd, options?: RunOptions): Promise<number>;
  }
}

const URING_CMD = opByName('uringCmd')!;
const proto = Ring.prototype as unknown as Record<string, unknown>;

function runOptions(method: string, options: unknown): RunOptions | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options))
    throw new TypeError(`${method}(): options must be an object, got ${describeValue(options)}`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'signal') throw new TypeError(`${method}(): "${k}" is not an option of ${method}(); it accepts signal`);
  return o as RunOptions;
}
/** Runs a socket command; argument errors name uringCmd()'s parameters (level, optname, optval). */
function cmd(ring: Ring, method: string, fd: unknown, command: string, extra: Record<string, unknown>, options: unknown): Promise<number> {
  const run = runOptions(method, options);
  const sqe = buildSqe(URING_CMD, [fd, command, { ...extra, ...(run?.signal ? { signal: run.signal } : {}) }]);
  return ring.run(sqe, run) as Promise<number>;
}

proto.getsockopt = function (this: Ring, fd: unknown, level: unknown, optname: unknown, optval?: unknown, options?: unknown) {
  if (arguments.length > 5) throw new TypeError(`getsockopt(): too many arguments (${arguments.length}); it takes fd, level, optname, optval, options`);
  // getsockopt(fd, level, optname, { signal }): an int option
  const plainObject = optval !== null && typeof optval === 'object' && !ArrayBuffer.isView(optval) && !(optval instanceof ArrayBuffer);
  if (plainObject && options === undefined) [options, optval] = [optval, undefined];
  const int = optval === undefined;
  const buf = int ? Buffer.alloc(4) : optval;
  const p = cmd(this, 'getsockopt', fd, 'getsockopt', { level, optname, optval: buf }, options);
  return int ? p.then((n) => (n >= 4 ? (buf as Buffer).readInt32LE(0) : n === 1 ? (buf as Buffer)[0]! : 0)) : p;
};
proto.setsockopt = function (this: Ring, fd: unknown, level: unknown, optname: unknown, value: unknown, options?: unknown) {
  if (arguments.length > 5) throw new TypeError(`setsockopt(): too many arguments (${arguments.length}); it takes fd, level, optname, value, options`);
  let buf = value;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new RangeError(`setsockopt(): "value" as a number must be an int32, got ${describeValue(value)}`);
    buf = Buffer.alloc(4);
    (buf as Buffer).writeInt32LE(value, 0);
  }
  return cmd(this, 'setsockopt', fd, 'setsockopt', { level, optname, optval: buf }, options).then(() => undefined);
};
proto.siocinq = function (this: Ring, fd: unknown, options?: unknown) {
  if (arguments.length > 2) throw new TypeError(`siocinq(): too many arguments (${arguments.length}); it takes fd, options`);
  return cmd(this, 'siocinq', fd, 'siocinq', {}, options);
};
proto.siocoutq = function (this: Ring, fd: unknown, options?: unknown) {
  if (arguments.length > 2) throw new TypeError(`siocoutq(): too many arguments (${arguments.length}); it takes fd, options`);
  return cmd(this, 'siocoutq', fd, 'siocoutq', {}, options);
};
