/**
 * The shape of the opcode catalogue (src/ops/table.ts) and the parameters its groups share. Each
 * group of opcodes lives in its own file (ops-core, ops-files, ops-net, ops-buffers); table.ts
 * puts them together in opcode order.
 */
import type { SqeUse, ProgramPermit } from './sqe-fields.js';
import { IGNORED, PERSONALITY } from './sqe-fields.js';

/** SQE fields a parameter can land in. 64-bit: off, addr, addr3, user. 32-bit: fd, len, opFlags, fileIndex. 16-bit: ioprio, bufIndex, personality. */
export type SqeField =
  | 'ioprio'
  | 'fd'
  | 'off'
  | 'addr'
  | 'len'
  | 'opFlags'
  | 'bufIndex'
  | 'personality'
  | 'fileIndex'
  | 'addr3';

/**
 * How a builder argument is validated and encoded.
 * - fd: number (process fd) or FixedFile: sets IOSQE_FIXED_FILE with the slot in `fd` where the
 *   op's `sqe.fixedFile` says the kernel takes one ('slot', 'required'), or file_index = slot + 1
 *   where the param says `fixed: 'fileIndex'` (CLOSE); a TypeError where the kernel refuses it
 * - direct: a registered-file-table slot (number) or 'auto' (IORING_FILE_INDEX_ALLOC) → file_index
 *   = slot + 1 or ~0; the promise resolves the FixedFile the request filled
 * - fdList: array of process fds, null / -1 (empty slot), FILES_SKIP (-2, leave the slot) →
 *   addr = __s32 array, len = count (kept alive until the CQE)
 * - slotOffset: a slot number or 'auto' (IORING_FILE_INDEX_ALLOC, ~0) → u32
 * - dirfd: number, default AT_FDCWD
 * - u32/i32/u16: integers in range
 * - position: number | bigint | undefined → s64, undefined/-1 = current file position
 * - u64: number | bigint
 * - buffer: ArrayBufferView | ArrayBuffer → addr = its address, len = its byteLength (kept alive until the CQE)
 * - iovecs: array of buffers → addr = iovec array, len = count (all kept alive)
 * - path: string | Buffer → addr = NUL-terminated copy
 * - timespec: milliseconds (number) or { sec, nsec } or bigint nanoseconds → addr = struct __kernel_timespec
 * - statx: output area of 256 bytes at addr3-style field, parsed into a StatxResult
 * - userData: bigint | number → 64-bit target user_data (async cancel)
 * Socket and buffer kinds (encoded by src/ops/build-net.ts):
 * - sockaddr: an address object or struct sockaddr bytes → `field` = a copy, `lengthField` = its length
 * - sockaddrOut: internal; a sockaddr_storage area at `field` and its socklen_t at `lengthField`;
 *   the promise resolves { fd, address } (accept)
 * - msghdr: { buffers, address, control } → struct msghdr at `field` (sendmsg: the address sent
 *   to; recvmsg: areas the kernel fills, parsed into { bytes, address, flags, controlLength })
 * - msgFlags: MSG_* bits (u32); a short transfer fails a link only with MSG_WAITALL
 * - flag: boolean option → `bit` OR'd into `field` (ioprio modifiers: multishot, bundle, …)
 * - bufferGroup: provided-buffer group id (u16) → buf_group, sets IOSQE_BUFFER_SELECT
 * - fixedBuffer: registered-buffer index (u16) → buf_index (`bit` OR'd into ioprio: FIXED_BUF)
 * - dataBuffer: like buffer, or null with `bufferGroup` (the kernel picks; len = `length` option)
 * - choice: a name of `values` or one of their numbers
 * - bitmask: an integer made of the bits of `values`
 * - sockType: SOCK_* type (number or 'stream' | 'dgram' | 'seqpacket' | 'raw') | NONBLOCK; SOCK_CLOEXEC
 *   is added unless `direct` is given
 * - optname: u32 in the upper half of addr (sqe->optname @20; level is the lower half)
 * - bufferPool: buffer whose `count` slices of `size` bytes are lent to the kernel (PROVIDE_BUFFERS)
 * - bufferCount: number of buffers (fd field), checked against the pool's size
 * - poolGroup: the group a bufferPool is lent to (u16 → buf_group; the pool stays reachable)
 * - optval: buffer → `field` = its address, `lengthField` = its length (socket option value)
 * Message kinds (encoded by src/ops/build-msg.ts):
 * - ringTarget: the ring a message goes to (RingHandle, Ring, FixedFile holding a ring, ring fd) → fd
 * - ringMessage: { data, value?, flags? } or { file, slot?, skipCqe? } → addr (command), off
 *   (user_data in ringflow's message space), len, addr3, file_index, msg_ring_flags
 * Big-entry kinds (encoded by src/ops/build-big.ts):
 * - cmdArea: a uring_cmd command area, up to 80 bytes copied into the SQE from byte 48 (`field`
 *   addr3); more than 16 bytes need a 128-byte SQE (a ring with sqe128), checked at submission
 * - zcrxIfq: a zcrx interface queue id (u32 → `field`, zcrx_ifq_idx); makes the request multishot
 *   (IORING_RECV_MULTISHOT in ioprio): RECV_ZC posts a CQE per received chunk
 */
export type ParamKind =
  | 'fd'
  | 'dirfd'
  | 'u32'
  | 'i32'
  | 'u16'
  | 'position'
  | 'u64'
  | 'buffer'
  | 'iovecs'
  | 'path'
  | 'timespec'
  | 'statx'
  | 'userData'
  | 'direct'
  | 'fdList'
  | 'slotOffset'
  | 'sockaddr'
  | 'sockaddrOut'
  | 'msghdr'
  | 'msgFlags'
  | 'flag'
  | 'bufferGroup'
  | 'fixedBuffer'
  | 'dataBuffer'
  | 'fixedData'
  | 'choice'
  | 'bitmask'
  | 'sockType'
  | 'optname'
  | 'bufferPool'
  | 'bufferCount'
  | 'optval'
  | 'poolGroup'
  | 'offset' | 'length64' | 'byteCount' | 'openHow' | 'xattrName' | 'xattrValue' | 'xattrOut' | 'pipeFds' | 'spliceFdIn' | 'pageRange' // file and path kinds: src/ops/build-files.ts
  | 'ringTarget'
  | 'ringMessage'
  | 'cmdArea'
  | 'zcrxIfq'
  // waiting kinds (src/ops/build-wait.ts explains each)
  | 'pollMask' | 'pollUpdate' | 'newUserData' | 'target' | 'timerSpec' | 'timerUpdate' | 'futexWord' | 'futexIndex' | 'futexValue' | 'futexShared' | 'futexCount' | 'futexWaitv' | 'epollEvent' | 'epollEvents' | 'siginfo' | 'nopFile' | 'mshotGroup';

export interface ParamDesc {
  name: string;
  kind: ParamKind;
  field: SqeField;
  /** Positional arguments come first, in order; the rest are read from the trailing options object. */
  positional?: boolean;
  optional?: boolean;
  /** Value used when the argument is omitted. */
  default?: number;
  /** Bits OR'd into the op flags when the caller gives this argument and does not set the op flags itself. */
  impliesOpFlags?: number;
  /** Op-flag bits the kernel refuses together with this argument: dropped from the op's
   *  alwaysOpFlags and refused (RangeError) in the caller's when the argument is given. */
  excludesOpFlags?: number;
  /** kind 'fd': a FixedFile is encoded as file_index = slot + 1 with fd 0 (CLOSE), not IOSQE_FIXED_FILE. */
  fixed?: 'fileIndex';
  /** kinds 'sockaddr', 'sockaddrOut': the field that gets the length (or the socklen_t pointer). */
  lengthField?: SqeField;
  /** kinds 'flag', 'fixedBuffer': the bit set in `field` (ioprio). */
  bit?: number;
  /** kinds 'choice', 'bitmask': the accepted names and their values. */
  values?: Readonly<Record<string, number>>;
  /** kind 'choice': options each value needs (getsockopt: level, optname, optval). */
  needs?: Readonly<Record<string, readonly string[]>>;
  /** The option that must be given with this one (multishot recv: bufferGroup). */
  requires?: string;
  /** Given (true), the request posts more than one CQE (F_MORE): multishot, bundles. */
  multi?: boolean;
  /** kind 'u32' flag words: bits of the value that make the request post more than one CQE (IORING_TIMEOUT_MULTISHOT). */
  multiBits?: number;
  /** A result area ringflow allocates, not caller input (statx's, accept's address). */
  internal?: boolean;
  doc: string;
}

/**
 * A bit of an op's flag word (`opFlags`) newer than the op, or than ringflow's oldest kernel
 * (5.19): when it arrived and how to ask a kernel whether it has it (src/ring/kernel-probe.ts runs
 * the probe request on a scratch ring; `ring.supports(op, { flag })` and the hint of a refused
 * request read the answer).
 */
export interface FlagSince {
  /** First mainline kernel with the flag. */
  readonly since: string;
  /**
   * A request that uses the flag: builder arguments, raw SQE fields set after building (`set`) and
   * an fd opened for the probe (`file`, put in the SQE's fd). A kernel without the flag refuses the
   * request with res `refused` (-EINVAL; -EOPNOTSUPP for RWF_*); with `expect`, the kernel has the
   * flag only when res is exactly that (for flags whose effect is visible in res). `ring`: what the
   * scratch ring needs besides its defaults (nop's CQE32 flag: a CQE32 ring).
   */
  readonly probe?: {
    readonly args: readonly unknown[];
    readonly set?: { readonly fd?: number; readonly len?: number };
    readonly file?: string;
    readonly refused: number;
    readonly expect?: number;
    readonly ring?: { readonly cqe32?: boolean };
  };
  /** Why no request on a ringflow ring can tell (the kernel is then not asked). */
  readonly noProbe?: string;
}

export interface OpDesc {
  /** API name (camelCase), used by builders, promise methods and ring.supports(). */
  name: string;
  /** IORING_OP_* number (enum io_uring_op, 6.18 BTF). */
  code: number;
  /** IORING_OP_* constant name. */
  constant: string;
  /** First mainline kernel with the opcode. */
  since: string;
  /** The liburing helper this builder matches. */
  liburing?: string;
  /** Builder parameters; absent when no builder exists yet. */
  params?: ParamDesc[];
  /** Constant field values every SQE of this op carries. */
  fixed?: Partial<Record<SqeField, number>>;
  /** Op-flag bits every SQE of this op carries on top of the caller's (openat: O_CLOEXEC). */
  alwaysOpFlags?: number;
  /**
   * What the promise resolves to: number (res), void, statx (parsed buffer), timer (true when it
   * fired, -ETIME; false when `count` completions came first, 0), linkTimer (true when it fired;
   * false when the request it guards finished first, -ECANCELED), accepted ({ fd, address }),
   * received (recvmsg: { bytes, address, flags, controlLength }).
   */
  result?: 'number' | 'void' | 'statx' | 'timer' | 'linkTimer' | 'accepted' | 'received';
  /** Zero-copy send: the result CQE (F_MORE), then the notification (F_NOTIF) that releases the
   *  buffer; the promise settles with the result at the notification (src/ring/multi.ts). */
  multiCqe?: boolean;
  /**
   * The kernel completes this op's errors without failing its link (no req_set_fail: io_uring/fs.c,
   * xattr.c, sync.c, truncate.c, statx.c in 6.18): an IOSQE_IO_LINK chain goes on after it failed,
   * and a CQE_SKIP_SUCCESS member that failed does not suppress the rest. Measured on 6.18.44
   * (test/op-paths.test.ts, test/chain-outcome.test.ts).
   */
  errorKeepsLink?: true;
  /** AbortSignal cancels it (ASYNC_CANCEL by user_data). */
  cancellable?: boolean;
  /**
   * It acts on another request, named by user_data (cancel, poll and timeout remove / update): a
   * ring at its in-flight limit submits it ahead of the JS backlog, since it may be what ends the
   * requests that hold the room (unless the request it names is itself still in that backlog).
   */
  namesRequest?: true;
  /** A `len` smaller than the buffer, taken from this option. */
  lengthOption?: boolean;
  /** What the kernel does with every SQE field (src/ops/sqe-fields.ts); declared for the ops a
   *  completion program may submit and the ones they become (OPENAT → OPENAT2). */
  sqe?: SqeUse;
  /** What a completion program may submit of this op; absent: refused. The program policy is
   *  derived from `sqe` and this (src/ops/policy.ts). */
  program?: ProgramPermit;
  /** Bits of the op's flag word (kernel names, as in its `sqe` flag space) newer than ringflow's
   *  oldest kernel, with their probes. Bits not named here are as old as the op or older than 5.19. */
  flagSince?: Readonly<Record<string, FlagSince>>;
  doc: string;
}

export const fd: ParamDesc = { name: 'fd', kind: 'fd', field: 'fd', positional: true, doc: 'file descriptor or FixedFile slot' };
export const position: ParamDesc = {
  name: 'position',
  kind: 'position',
  field: 'off',
  positional: true,
  optional: true,
  default: -1,
  doc: 'file offset; omitted or -1 = the current file position (pipes, sockets, sequential I/O)',
};
export const rwFlags: ParamDesc = { name: 'rwFlags', kind: 'i32', field: 'opFlags', optional: true, default: 0, doc: 'RWF_* flags (preadv2)' };
export const dirfd: ParamDesc = { name: 'dirfd', kind: 'dirfd', field: 'fd', optional: true, default: -100, doc: 'directory fd for relative paths; default AT_FDCWD' };

// ------------------------------------------------------------------ what the kernel does with each field
// Sources (Linux 6.18): io_uring/nop.c, openclose.c, rw.c of the 6.18.y trees (raspberrypi/linux
// @656a52a8, RSBAC/rsbac-6.18.y @037f1ff2); timeout.c, cancel.c, sync.c, statx.c of 6.15+ trees
// matching 6.18 in the parts used here; flag spaces probed on 6.18.44 (test/security/policy.test.ts).

/** Fields no op-specific prep reads (the generic io_init_req reads personality). */
export const UNUSED = { ioprio: IGNORED, bufIndex: IGNORED, personality: PERSONALITY, fileIndex: IGNORED, addr3: IGNORED, attrTypeMask: IGNORED };
