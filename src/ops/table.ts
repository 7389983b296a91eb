/**
 * The opcode catalogue: one entry per io_uring opcode of Linux 6.18 (values from the running
 * kernel's BTF, `enum io_uring_op`). An entry with `params` has a builder; the builders
 * (src/ops/build.ts), the Ring's promise methods, the docs table (tools/gen-op-docs.ts) and the
 * golden-byte tests (test/sqe-golden.test.ts) are all derived from this table.
 */
import { O } from '../ring/abi.js';
import {
  type SqeUse, type ProgramPermit, type FieldUse, ZERO, IGNORED, PERSONALITY, PATH_MEM, TIMESPEC_MEM, UIO_MAXIOV,
  scalar, flags, when, mem, allBits, NOP_FLAGS, RWF_FLAGS, FSYNC_FLAGS, TIMEOUT_FLAGS, TIMEOUT_REMOVE_FLAGS,
  CANCEL_FLAGS, OPEN_FLAGS, RESOLVE_FLAGS, STATX_FLAGS, RW_ATTR_FLAGS, FIXED_FD_INSTALL_FLAGS,
} from './sqe-fields.js';

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
  | 'slotOffset';

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
   * flag only when res is exactly that (for flags whose effect is visible in res).
   */
  readonly probe?: { readonly args: readonly unknown[]; readonly set?: { readonly fd?: number; readonly len?: number }; readonly file?: string; readonly refused: number; readonly expect?: number };
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
  /** What the promise resolves to. */
  /**
   * What the promise resolves to: number (res), void, statx (parsed buffer), timer (true when it
   * fired, -ETIME; false when `count` completions came first, 0), linkTimer (true when it fired;
   * false when the request it guards finished first, -ECANCELED).
   */
  result?: 'number' | 'void' | 'statx' | 'timer' | 'linkTimer';
  /** AbortSignal cancels it (ASYNC_CANCEL by user_data). */
  cancellable?: boolean;
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

const fd: ParamDesc = { name: 'fd', kind: 'fd', field: 'fd', positional: true, doc: 'file descriptor or FixedFile slot' };
const position: ParamDesc = {
  name: 'position',
  kind: 'position',
  field: 'off',
  positional: true,
  optional: true,
  default: -1,
  doc: 'file offset; omitted or -1 = the current file position (pipes, sockets, sequential I/O)',
};
const rwFlags: ParamDesc = { name: 'rwFlags', kind: 'i32', field: 'opFlags', optional: true, default: 0, doc: 'RWF_* flags (preadv2)' };
const dirfd: ParamDesc = { name: 'dirfd', kind: 'dirfd', field: 'fd', optional: true, default: -100, doc: 'directory fd for relative paths; default AT_FDCWD' };

// ------------------------------------------------------------------ what the kernel does with each field
// Sources (Linux 6.18): io_uring/nop.c, openclose.c, rw.c of the 6.18.y trees (raspberrypi/linux
// @656a52a8, RSBAC/rsbac-6.18.y @037f1ff2); timeout.c, cancel.c, sync.c, statx.c of 6.15+ trees
// matching 6.18 in the parts used here; flag spaces probed on 6.18.44 (test/security/policy.test.ts).

/** Fields no op-specific prep reads (the generic io_init_req reads personality). */
const UNUSED = { ioprio: IGNORED, bufIndex: IGNORED, personality: PERSONALITY, fileIndex: IGNORED, addr3: IGNORED, attrTypeMask: IGNORED };

/** struct io_uring_attr_pi (6.15): read at prep by io_prep_rw_pi; its integrity buffer is used while the I/O runs. */
const attrPi = (access: 'read' | 'write'): FieldUse =>
  mem({
    what: 'struct io_uring_attr_pi', access: 'read', when: 'submit', size: { bytes: 32 },
    layout: {
      stride: 0,
      fields: [
        { name: 'flags', at: 0, width: 2, use: scalar('IO_INTEGRITY_* checks') },
        { name: 'app_tag', at: 2, width: 2, use: scalar('application tag') },
        { name: 'len', at: 4, width: 4, use: scalar('integrity buffer length') },
        { name: 'addr', at: 8, width: 8, use: mem({ what: 'integrity buffer', access, when: 'complete', size: { field: 4, width: 4 } }) },
        { name: 'seed', at: 16, width: 8, use: scalar('reference tag seed') },
        { name: 'rsvd', at: 24, width: 8, use: ZERO },
      ],
    },
  });

/** READ/WRITE/READV/WRITEV (rw.c __io_prep_rw + io_rw_do_import, 6.18.y). `into`: the kernel writes user memory. */
function rwUse(vectored: boolean, into: boolean): SqeUse {
  const access = into ? 'write' : 'read';
  const data: FieldUse = vectored
    ? mem({
        what: 'iovec array', access: 'read', when: 'submit', size: { slot: 'len', times: 16, max: UIO_MAXIOV },
        layout: {
          stride: 16,
          fields: [
            { name: 'iov_base', at: 0, width: 8, use: mem({ what: 'buffer', access, when: 'complete', size: { field: 8, width: 8 } }) },
            { name: 'iov_len', at: 8, width: 8, use: scalar('buffer length') },
          ],
        },
      })
    : mem({ what: 'buffer', access, when: 'complete', size: { slot: 'len', times: 1 } });
  return {
    source: 'io_uring/rw.c __io_prep_rw, io_prep_rw_pi, io_import_vec (6.18.y)',
    fixedFile: 'slot',
    fields: {
      ioprio: scalar('I/O priority (ioprio_check_cap)'),
      fd: { use: 'fd', doc: 'file to read or write' },
      off: scalar('file position; -1 = current'),
      addr: data,
      len: scalar(vectored ? 'iovec count' : 'byte count'),
      opFlags: flags(RWF_FLAGS),
      bufIndex: IGNORED, // read as buf_group, used only with IOSQE_BUFFER_SELECT or by *_FIXED ops
      personality: PERSONALITY,
      fileIndex: scalar('write_stream (u8 @44; block devices with write streams)'),
      addr3: when('attrTypeMask', RW_ATTR_FLAGS.PI, attrPi(access), IGNORED),
      attrTypeMask: flags(RW_ATTR_FLAGS),
    },
  };
}
/** RWF_* bits newer than 5.19 (include/uapi/linux/fs.h history) for READ/WRITE/READV/WRITEV: an
 *  8-byte read or write of /dev/null asks the kernel (kiocb_set_rw_flags refuses unknown bits with
 *  EOPNOTSUPP). ATOMIC and DONTCACHE also need a file that supports them: /dev/null cannot tell. */
function rwSince(vectored: boolean, into: boolean): Readonly<Record<string, FlagSince>> {
  const probe = (rwFlags: number) => ({ args: [0, vectored ? [new Uint8Array(8)] : new Uint8Array(8), -1, { rwFlags }], file: '/dev/null', refused: -95 /* EOPNOTSUPP */, expect: into ? 0 : 8 });
  return {
    NOAPPEND: { since: '6.9', probe: probe(RWF_FLAGS.NOAPPEND) },
    ATOMIC: { since: '6.11', noProbe: 'needs a file opened with O_DIRECT on a filesystem with atomic writes' },
    DONTCACHE: { since: '6.14', noProbe: 'needs a file whose filesystem supports uncached buffered I/O' },
    NOSIGNAL: { since: '6.18', probe: probe(RWF_FLAGS.NOSIGNAL) },
  };
}
const rwPermit: ProgramPermit = { flags: { opFlags: allBits(RWF_FLAGS), attrTypeMask: RW_ATTR_FLAGS.PI }, zero: ['ioprio', 'fileIndex'] };

/** TIMEOUT / LINK_TIMEOUT (timeout.c __io_timeout_prep). */
function timeoutUse(link: boolean): SqeUse {
  return {
    source: 'io_uring/timeout.c __io_timeout_prep (6.15+, unchanged in 6.18)',
    fields: {
      ...UNUSED,
      fd: IGNORED,
      off: link ? ZERO : scalar('completion count (with MULTISHOT: repeats)'),
      addr: TIMESPEC_MEM,
      len: { use: 'fixed', value: 1 },
      opFlags: flags(TIMEOUT_FLAGS),
      bufIndex: ZERO,
      fileIndex: ZERO,
    },
  };
}

/** struct open_how (include/uapi/linux/openat2.h): 24 bytes in 6.18, extensible (copy_struct_from_user). */
const OPEN_HOW: FieldUse = mem({
  what: 'struct open_how', access: 'read', when: 'submit', size: { slot: 'len', times: 1, min: 24, max: 4096 },
  layout: {
    stride: 0,
    tailZero: 24,
    fields: [
      { name: 'flags', at: 0, width: 8, use: flags(OPEN_FLAGS) },
      { name: 'mode', at: 8, width: 8, use: scalar('file mode for O_CREAT') },
      { name: 'resolve', at: 16, width: 8, use: flags(RESOLVE_FLAGS) },
    ],
  },
});

/** All io_uring opcodes of Linux 6.18, in opcode order. */
export const OPS: readonly OpDesc[] = [
  {
    name: 'nop', code: 0, constant: 'NOP', since: '5.1', liburing: 'io_uring_prep_nop', result: 'number',
    params: [
      { name: 'nopFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_NOP_* flags; INJECT_RESULT (1) makes res = injectResult' },
      { name: 'injectResult', kind: 'i32', field: 'len', optional: true, default: 0, impliesOpFlags: 1, doc: 'result to inject with IORING_NOP_INJECT_RESULT (6.10; ring.supports(\'nop\', { flag: \'INJECT_RESULT\' }))' },
    ],
    sqe: {
      source: 'io_uring/nop.c io_nop_prep (6.18, raspberrypi/linux @656a52a8)',
      fields: {
        ...UNUSED,
        fd: when('opFlags', NOP_FLAGS.FILE, { use: 'fd', doc: 'file to look up (NOP_FILE)' }, IGNORED),
        off: when('opFlags', NOP_FLAGS.CQE32, scalar('extra1 of the 32-byte CQE'), IGNORED),
        addr: when('opFlags', NOP_FLAGS.CQE32, scalar('extra2 of the 32-byte CQE'), IGNORED),
        len: when('opFlags', NOP_FLAGS.INJECT_RESULT, scalar('injected res'), IGNORED),
        opFlags: flags(NOP_FLAGS),
        bufIndex: when('opFlags', NOP_FLAGS.FIXED_BUFFER, scalar('registered buffer index'), IGNORED),
      },
    },
    program: { flags: { opFlags: NOP_FLAGS.INJECT_RESULT }, tolerate: ['fd'] },
    // io_uring/nop.c history: INJECT_RESULT 6.10 (before it, nop_flags other than 0 are EINVAL;
    // liburing synced it "with 6.10"); FILE, FIXED_FILE, FIXED_BUFFER 6.13 (posted 2024-10-29; the
    // res of a failed lookup was the injected result there, -EBADF/-EFAULT by 6.18, so only EINVAL
    // tells); TW 6.17 (posted 2025-06-16, after the 6.16 merge window); CQE32 6.18 (with CQE_MIXED)
    flagSince: {
      INJECT_RESULT: { since: '6.10', probe: { args: [{ injectResult: 7 }], refused: -22, expect: 7 } },
      FILE: { since: '6.13', probe: { args: [{ nopFlags: NOP_FLAGS.FILE }], set: { fd: -1 }, refused: -22 } },
      FIXED_FILE: { since: '6.13', probe: { args: [{ nopFlags: NOP_FLAGS.FILE | NOP_FLAGS.FIXED_FILE }], set: { fd: 0 }, refused: -22 } },
      FIXED_BUFFER: { since: '6.13', probe: { args: [{ nopFlags: NOP_FLAGS.FIXED_BUFFER }], refused: -22 } },
      TW: { since: '6.17', probe: { args: [{ nopFlags: NOP_FLAGS.TW | NOP_FLAGS.INJECT_RESULT, injectResult: 7 }], refused: -22, expect: 7 } },
      CQE32: { since: '6.18', noProbe: 'needs a CQE32 or CQE_MIXED ring, which ringflow does not drive' },
    },
    doc: 'Does nothing; completes with res 0. Measures ring overhead.',
  },
  {
    name: 'readv', code: 1, constant: 'READV', since: '5.1', liburing: 'io_uring_prep_readv2', result: 'number', cancellable: true,
    params: [fd, { name: 'buffers', kind: 'iovecs', field: 'addr', positional: true, doc: 'buffers filled in order' }, position, rwFlags],
    sqe: rwUse(true, true),
    program: rwPermit,
    flagSince: rwSince(true, true),
    doc: 'preadv2(2): scatter read into several buffers; res = bytes read.',
  },
  {
    name: 'writev', code: 2, constant: 'WRITEV', since: '5.1', liburing: 'io_uring_prep_writev2', result: 'number', cancellable: true,
    params: [fd, { name: 'buffers', kind: 'iovecs', field: 'addr', positional: true, doc: 'buffers written in order' }, position, rwFlags],
    sqe: rwUse(true, false),
    program: rwPermit,
    flagSince: rwSince(true, false),
    doc: 'pwritev2(2): gather write from several buffers; res = bytes written.',
  },
  {
    name: 'fsync', code: 3, constant: 'FSYNC', since: '5.1', liburing: 'io_uring_prep_fsync', result: 'void',
    params: [fd, { name: 'fsyncFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_FSYNC_DATASYNC (1) for fdatasync' }],
    sqe: {
      source: 'io_uring/sync.c io_fsync_prep (6.18)',
      fixedFile: 'slot',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'file to sync' },
        off: scalar('range start (>= 0)'),
        addr: ZERO,
        len: scalar('range length (0 = to the end)'),
        opFlags: flags(FSYNC_FLAGS),
        bufIndex: ZERO,
        fileIndex: ZERO,
      },
    },
    program: { flags: { opFlags: FSYNC_FLAGS.DATASYNC } },
    doc: 'fsync(2), or fdatasync(2) with IORING_FSYNC_DATASYNC.',
  },
  { name: 'readFixed', code: 4, constant: 'READ_FIXED', since: '5.1', liburing: 'io_uring_prep_read_fixed', doc: 'read into a registered buffer' },
  { name: 'writeFixed', code: 5, constant: 'WRITE_FIXED', since: '5.1', liburing: 'io_uring_prep_write_fixed', doc: 'write from a registered buffer' },
  { name: 'pollAdd', code: 6, constant: 'POLL_ADD', since: '5.1', liburing: 'io_uring_prep_poll_add', doc: 'poll(2) one fd (multishot 5.13)' },
  { name: 'pollRemove', code: 7, constant: 'POLL_REMOVE', since: '5.1', liburing: 'io_uring_prep_poll_remove', doc: 'remove or update a poll request' },
  { name: 'syncFileRange', code: 8, constant: 'SYNC_FILE_RANGE', since: '5.2', liburing: 'io_uring_prep_sync_file_range', doc: 'sync_file_range(2)' },
  { name: 'sendmsg', code: 9, constant: 'SENDMSG', since: '5.3', liburing: 'io_uring_prep_sendmsg', doc: 'sendmsg(2)' },
  { name: 'recvmsg', code: 10, constant: 'RECVMSG', since: '5.3', liburing: 'io_uring_prep_recvmsg', doc: 'recvmsg(2) (multishot 6.0)' },
  {
    name: 'timeout', code: 11, constant: 'TIMEOUT', since: '5.4', liburing: 'io_uring_prep_timeout', result: 'timer', cancellable: true,
    params: [
      { name: 'time', kind: 'timespec', field: 'addr', positional: true, doc: 'milliseconds, { sec, nsec }, or bigint nanoseconds' },
      { name: 'count', kind: 'u32', field: 'off', optional: true, default: 0, doc: 'also complete after this many other completions (0 = pure timer)' },
      { name: 'timeoutFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_TIMEOUT_* (ABS, BOOTTIME, REALTIME, ETIME_SUCCESS, MULTISHOT)' },
    ],
    fixed: { len: 1 },
    sqe: timeoutUse(false),
    program: { flags: { opFlags: allBits(TIMEOUT_FLAGS) }, tolerate: ['fd'] },
    // a 1 ms multishot timer of one shot fires once (-ETIME); before 6.4 MULTISHOT is EINVAL
    flagSince: { MULTISHOT: { since: '6.4', probe: { args: [1, { count: 1, timeoutFlags: TIMEOUT_FLAGS.MULTISHOT }], refused: -22, expect: -62 /* ETIME */ } } },
    doc: 'A timer. The kernel completes it with -ETIME when it fires (ring.timeout() resolves true) or 0 when `count` other completions happened first (resolves false).',
  },
  {
    name: 'timeoutRemove', code: 12, constant: 'TIMEOUT_REMOVE', since: '5.5', liburing: 'io_uring_prep_timeout_remove', result: 'void',
    params: [
      { name: 'target', kind: 'userData', field: 'addr', positional: true, doc: 'user_data of the timeout to remove' },
      { name: 'timeoutFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_TIMEOUT_UPDATE etc.' },
    ],
    sqe: {
      source: 'io_uring/timeout.c io_timeout_remove_prep (6.15+, unchanged in 6.18)',
      fields: {
        ...UNUSED,
        fd: IGNORED,
        // UPDATE and LINK_TIMEOUT_UPDATE both read the new timespec at addr2 (the 2021-era policy
        // knew only UPDATE: an oracle over the address space)
        off: when('opFlags', TIMEOUT_REMOVE_FLAGS.UPDATE | TIMEOUT_REMOVE_FLAGS.LINK_TIMEOUT_UPDATE, TIMESPEC_MEM, IGNORED),
        addr: { use: 'target', doc: 'user_data of the timeout' },
        len: ZERO,
        opFlags: flags(TIMEOUT_REMOVE_FLAGS),
        bufIndex: ZERO,
        fileIndex: ZERO,
      },
    },
    program: { flags: { opFlags: allBits(TIMEOUT_REMOVE_FLAGS) }, tolerate: ['fd'] },
    doc: 'Removes (or with UPDATE, re-arms) a pending timeout.',
  },
  { name: 'accept', code: 13, constant: 'ACCEPT', since: '5.5', liburing: 'io_uring_prep_accept', doc: 'accept4(2) (direct 5.15, multishot 5.19)' },
  {
    name: 'asyncCancel', code: 14, constant: 'ASYNC_CANCEL', since: '5.5', liburing: 'io_uring_prep_cancel64', result: 'number',
    params: [
      { name: 'target', kind: 'userData', field: 'addr', positional: true, doc: 'user_data of the request to cancel' },
      { name: 'cancelFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_ASYNC_CANCEL_* (ALL, FD, ANY, FD_FIXED, USERDATA, OP)' },
    ],
    sqe: {
      source: 'io_uring/cancel.c io_async_cancel_prep (6.18)',
      fields: {
        ...UNUSED,
        fd: when('opFlags', CANCEL_FLAGS.FD, { use: 'fd', doc: 'cancel requests on this file (FD_FIXED: a slot)' }, IGNORED),
        off: ZERO,
        addr: { use: 'target', doc: 'user_data of the request' },
        len: when('opFlags', CANCEL_FLAGS.OP, scalar('opcode to cancel'), IGNORED),
        opFlags: flags(CANCEL_FLAGS),
        fileIndex: ZERO,
      },
    },
    // no cancel by fd, op or any: a program cancels only requests it names
    program: { flags: { opFlags: CANCEL_FLAGS.ALL | CANCEL_FLAGS.USERDATA }, tolerate: ['fd'] },
    // io_uring/cancel.c history: FD_FIXED 6.0, USERDATA and OP 6.6; a kernel without one says EINVAL
    flagSince: {
      FD_FIXED: { since: '6.0', probe: { args: [0, { cancelFlags: CANCEL_FLAGS.FD | CANCEL_FLAGS.FD_FIXED }], refused: -22 /* else EBADF: no file table */ } },
      USERDATA: { since: '6.6', probe: { args: [0x7e57n, { cancelFlags: CANCEL_FLAGS.USERDATA }], refused: -22 /* else ENOENT */ } },
      OP: { since: '6.6', probe: { args: [0, { cancelFlags: CANCEL_FLAGS.OP }], set: { len: 0 /* IORING_OP_NOP */ }, refused: -22 /* else ENOENT */ } },
    },
    doc: 'Cancels an in-flight request by user_data; res 0 found, -ENOENT not found, -EALREADY running.',
  },
  {
    name: 'linkTimeout', code: 15, constant: 'LINK_TIMEOUT', since: '5.5', liburing: 'io_uring_prep_link_timeout', result: 'linkTimer',
    params: [
      { name: 'time', kind: 'timespec', field: 'addr', positional: true, doc: 'milliseconds, { sec, nsec }, or bigint nanoseconds' },
      { name: 'timeoutFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_TIMEOUT_* flags' },
    ],
    fixed: { len: 1 },
    sqe: timeoutUse(true),
    program: { flags: { opFlags: TIMEOUT_FLAGS.ABS | TIMEOUT_FLAGS.BOOTTIME | TIMEOUT_FLAGS.REALTIME | TIMEOUT_FLAGS.ETIME_SUCCESS }, tolerate: ['fd'] },
    doc: 'Times the linked request just before it (that request must have link()); resolves true if it fired, false if the request finished first.',
  },
  { name: 'connect', code: 16, constant: 'CONNECT', since: '5.5', liburing: 'io_uring_prep_connect', doc: 'connect(2)' },
  { name: 'fallocate', code: 17, constant: 'FALLOCATE', since: '5.6', liburing: 'io_uring_prep_fallocate', doc: 'fallocate(2)' },
  {
    name: 'openat', code: 18, constant: 'OPENAT', since: '5.6', liburing: 'io_uring_prep_openat', result: 'number', cancellable: true,
    params: [
      { name: 'path', kind: 'path', field: 'addr', positional: true, doc: 'path (relative to dirfd)' },
      { name: 'flags', kind: 'i32', field: 'opFlags', positional: true, optional: true, default: 0, doc: 'O_* flags (O.RDONLY, O.CREAT | O.WRONLY, …); O_CLOEXEC is always added (not with `direct`)' },
      { name: 'mode', kind: 'u32', field: 'len', positional: true, optional: true, default: 0o666, doc: 'permissions for O_CREAT' },
      dirfd,
      {
        name: 'direct', kind: 'direct', field: 'fileIndex', optional: true, excludesOpFlags: O.CLOEXEC,
        doc: "open into this slot of the registered file table, or 'auto' (a free one, 5.19); resolves the FixedFile instead of an fd (no O_CLOEXEC: the kernel refuses it for direct descriptors)",
      },
    ],
    alwaysOpFlags: O.CLOEXEC, // fds the ring opens do not leak into child processes
    sqe: {
      source: 'io_uring/openclose.c io_openat_prep (6.18, raspberrypi/linux @656a52a8)',
      fields: {
        ...UNUSED,
        fd: { use: 'dirfd' },
        off: IGNORED,
        addr: PATH_MEM,
        len: scalar('mode for O_CREAT'),
        opFlags: flags(OPEN_FLAGS),
        bufIndex: ZERO,
        fileIndex: scalar('direct descriptor slot + 1'),
      },
      fdEffect: 'opens',
      fixedFile: 'refused', // __io_openat_prep: -EBADF
      slotEffect: 'fileIndex',
    },
    program: { flags: { opFlags: allBits(OPEN_FLAGS) }, dirfd: 'grant', open: { flags: 'opFlags', mode: 'len' }, zero: ['fileIndex'] },
    doc: "openat(2); res = the new fd (with `direct`: the FixedFile slot it filled).",
  },
  {
    name: 'close', code: 19, constant: 'CLOSE', since: '5.6', liburing: 'io_uring_prep_close', result: 'void',
    params: [{ ...fd, fixed: 'fileIndex', doc: 'process fd, or FixedFile: the slot is emptied (file_index, 5.15)' }],
    sqe: {
      source: 'io_uring/openclose.c io_close_prep (6.18, raspberrypi/linux @656a52a8)',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'fd to close' },
        off: ZERO,
        addr: ZERO,
        len: ZERO,
        opFlags: ZERO,
        bufIndex: ZERO,
        fileIndex: scalar('direct descriptor slot + 1 (fd must be 0)'),
      },
      fdEffect: 'closes',
      fixedFile: 'refused', // io_close_prep: -EBADF
      slotEffect: 'fileIndex',
    },
    program: { zero: ['fileIndex'] },
    doc: 'close(2) a process fd (or a direct descriptor slot via FixedFile).',
  },
  {
    name: 'filesUpdate', code: 20, constant: 'FILES_UPDATE', since: '5.6', liburing: 'io_uring_prep_files_update', result: 'number',
    params: [
      { name: 'fds', kind: 'fdList', field: 'addr', positional: true, doc: 'process fds to put in the slots (registered as the ring\'s own references), null or -1 to empty one, FILES_SKIP (-2) to leave one' },
      { name: 'offset', kind: 'slotOffset', field: 'off', positional: true, optional: true, default: 0, doc: "first slot; 'auto' = free slots the kernel picks (the promise resolves their numbers)" },
    ],
    sqe: {
      source: 'io_uring/rsrc.c io_files_update_prep, io_files_update (6.18)',
      fields: {
        ...UNUSED,
        fd: IGNORED,
        off: scalar("first slot (u32), or IORING_FILE_INDEX_ALLOC: the kernel writes the slots it picked into the array"),
        addr: mem({ what: '__s32 fd array', access: 'readwrite', when: 'complete', size: { slot: 'len', times: 4 } }),
        len: scalar('number of fds (> 0)'),
        opFlags: ZERO,
        fileIndex: ZERO,
      },
      fixedFile: 'refused', // io_files_update_prep: -EINVAL
      slotEffect: 'update',
    },
    doc: 'Puts files into registered-file-table slots from the ring (IORING_REGISTER_FILES_UPDATE as a request); res = slots updated.',
  },
  {
    name: 'statx', code: 21, constant: 'STATX', since: '5.6', liburing: 'io_uring_prep_statx', result: 'statx',
    params: [
      { name: 'path', kind: 'path', field: 'addr', positional: true, doc: 'path; "" with AT_EMPTY_PATH and dirfd = the fd to stat' },
      { name: 'statxFlags', kind: 'i32', field: 'opFlags', optional: true, default: 0, doc: 'AT_* flags (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_STATX_*)' },
      { name: 'mask', kind: 'u32', field: 'len', optional: true, default: 0xfff, doc: 'STATX_* fields wanted; default all' },
      dirfd,
      { name: 'out', kind: 'statx', field: 'off', optional: true, doc: 'internal: the 256-byte result area (allocated for you)' },
    ],
    sqe: {
      source: 'io_uring/statx.c io_statx_prep (6.18)',
      fixedFile: 'refused', // -EBADF
      fields: {
        ...UNUSED,
        fd: { use: 'dirfd' },
        off: mem({ what: 'struct statx', access: 'write', when: 'complete', size: { bytes: 256 } }),
        addr: PATH_MEM,
        len: scalar('STATX_* mask'),
        opFlags: flags(STATX_FLAGS),
        bufIndex: ZERO,
        fileIndex: ZERO,
      },
    },
    // statx has no RESOLVE_* flags: a program stats an fd it holds (AT_EMPTY_PATH, path "")
    program: { flags: { opFlags: allBits(STATX_FLAGS) }, requireOpFlags: STATX_FLAGS.EMPTY_PATH, path: 'empty', dirfd: 'fdOrGrant' },
    doc: 'statx(2); resolves with a typed StatxResult.',
  },
  {
    name: 'read', code: 22, constant: 'READ', since: '5.6', liburing: 'io_uring_prep_read', result: 'number', cancellable: true, lengthOption: true,
    params: [fd, { name: 'buffer', kind: 'buffer', field: 'addr', positional: true, doc: 'destination' }, position, rwFlags],
    sqe: rwUse(false, true),
    program: rwPermit,
    flagSince: rwSince(false, true),
    doc: 'pread(2) into one buffer; res = bytes read (0 at EOF).',
  },
  {
    name: 'write', code: 23, constant: 'WRITE', since: '5.6', liburing: 'io_uring_prep_write', result: 'number', cancellable: true, lengthOption: true,
    params: [fd, { name: 'buffer', kind: 'buffer', field: 'addr', positional: true, doc: 'source' }, position, rwFlags],
    sqe: rwUse(false, false),
    program: rwPermit,
    flagSince: rwSince(false, false),
    doc: 'pwrite(2) from one buffer; res = bytes written.',
  },
  { name: 'fadvise', code: 24, constant: 'FADVISE', since: '5.6', liburing: 'io_uring_prep_fadvise', doc: 'posix_fadvise(2)' },
  { name: 'madvise', code: 25, constant: 'MADVISE', since: '5.6', liburing: 'io_uring_prep_madvise', doc: 'madvise(2)' },
  { name: 'send', code: 26, constant: 'SEND', since: '5.6', liburing: 'io_uring_prep_send', doc: 'send(2) (provided buffers/bundles 6.10)' },
  { name: 'recv', code: 27, constant: 'RECV', since: '5.6', liburing: 'io_uring_prep_recv', doc: 'recv(2) (multishot 6.0, bundles 6.10)' },
  {
    name: 'openat2', code: 28, constant: 'OPENAT2', since: '5.6', liburing: 'io_uring_prep_openat2',
    sqe: {
      source: 'io_uring/openclose.c io_openat2_prep (6.18, raspberrypi/linux @656a52a8)',
      fields: {
        ...UNUSED,
        fd: { use: 'dirfd' },
        off: OPEN_HOW,
        addr: PATH_MEM,
        len: scalar('sizeof(struct open_how) given (>= 24)'),
        opFlags: IGNORED,
        bufIndex: ZERO,
        fileIndex: scalar('direct descriptor slot + 1'),
      },
      fdEffect: 'opens',
      fixedFile: 'refused', // __io_openat_prep: -EBADF
      slotEffect: 'fileIndex',
    },
    program: { dirfd: 'grant', open: { how: 'off' }, zero: ['fileIndex'] },
    doc: 'openat2(2)',
  },
  { name: 'epollCtl', code: 29, constant: 'EPOLL_CTL', since: '5.6', liburing: 'io_uring_prep_epoll_ctl', doc: 'epoll_ctl(2)' },
  { name: 'splice', code: 30, constant: 'SPLICE', since: '5.7', liburing: 'io_uring_prep_splice', doc: 'splice(2)' },
  { name: 'provideBuffers', code: 31, constant: 'PROVIDE_BUFFERS', since: '5.7', liburing: 'io_uring_prep_provide_buffers', doc: 'legacy provided buffers' },
  { name: 'removeBuffers', code: 32, constant: 'REMOVE_BUFFERS', since: '5.7', liburing: 'io_uring_prep_remove_buffers', doc: 'remove legacy provided buffers' },
  { name: 'tee', code: 33, constant: 'TEE', since: '5.8', liburing: 'io_uring_prep_tee', doc: 'tee(2)' },
  { name: 'shutdown', code: 34, constant: 'SHUTDOWN', since: '5.11', liburing: 'io_uring_prep_shutdown', doc: 'shutdown(2)' },
  { name: 'renameat', code: 35, constant: 'RENAMEAT', since: '5.11', liburing: 'io_uring_prep_renameat', doc: 'renameat2(2)' },
  { name: 'unlinkat', code: 36, constant: 'UNLINKAT', since: '5.11', liburing: 'io_uring_prep_unlinkat', doc: 'unlinkat(2)' },
  { name: 'mkdirat', code: 37, constant: 'MKDIRAT', since: '5.15', liburing: 'io_uring_prep_mkdirat', doc: 'mkdirat(2)' },
  { name: 'symlinkat', code: 38, constant: 'SYMLINKAT', since: '5.15', liburing: 'io_uring_prep_symlinkat', doc: 'symlinkat(2)' },
  { name: 'linkat', code: 39, constant: 'LINKAT', since: '5.15', liburing: 'io_uring_prep_linkat', doc: 'linkat(2)' },
  { name: 'msgRing', code: 40, constant: 'MSG_RING', since: '5.18', liburing: 'io_uring_prep_msg_ring', doc: 'post a CQE to another ring (send fd 6.0)' },
  { name: 'fsetxattr', code: 41, constant: 'FSETXATTR', since: '5.19', liburing: 'io_uring_prep_fsetxattr', doc: 'fsetxattr(2)' },
  { name: 'setxattr', code: 42, constant: 'SETXATTR', since: '5.19', liburing: 'io_uring_prep_setxattr', doc: 'setxattr(2)' },
  { name: 'fgetxattr', code: 43, constant: 'FGETXATTR', since: '5.19', liburing: 'io_uring_prep_fgetxattr', doc: 'fgetxattr(2)' },
  { name: 'getxattr', code: 44, constant: 'GETXATTR', since: '5.19', liburing: 'io_uring_prep_getxattr', doc: 'getxattr(2)' },
  { name: 'socket', code: 45, constant: 'SOCKET', since: '5.19', liburing: 'io_uring_prep_socket', doc: 'socket(2) (direct 5.19)' },
  { name: 'uringCmd', code: 46, constant: 'URING_CMD', since: '5.19', liburing: 'io_uring_prep_cmd', doc: 'passthrough command (socket commands ≈6.7)' },
  { name: 'sendZc', code: 47, constant: 'SEND_ZC', since: '6.0', liburing: 'io_uring_prep_send_zc', doc: 'zero-copy send; buffer released on the NOTIF CQE' },
  { name: 'sendmsgZc', code: 48, constant: 'SENDMSG_ZC', since: '6.1', liburing: 'io_uring_prep_sendmsg_zc', doc: 'zero-copy sendmsg' },
  { name: 'readMultishot', code: 49, constant: 'READ_MULTISHOT', since: '6.7', liburing: 'io_uring_prep_read_multishot', doc: 'multishot read (pollable files)' },
  { name: 'waitid', code: 50, constant: 'WAITID', since: '6.7', liburing: 'io_uring_prep_waitid', doc: 'waitid(2)' },
  { name: 'futexWait', code: 51, constant: 'FUTEX_WAIT', since: '6.7', liburing: 'io_uring_prep_futex_wait', doc: 'futex wait' },
  { name: 'futexWake', code: 52, constant: 'FUTEX_WAKE', since: '6.7', liburing: 'io_uring_prep_futex_wake', doc: 'futex wake' },
  { name: 'futexWaitv', code: 53, constant: 'FUTEX_WAITV', since: '6.7', liburing: 'io_uring_prep_futex_waitv', doc: 'futex_waitv(2)' },
  {
    name: 'fixedFdInstall', code: 54, constant: 'FIXED_FD_INSTALL', since: '6.8', liburing: 'io_uring_prep_fixed_fd_install', result: 'number',
    params: [
      { ...fd, doc: 'the FixedFile slot whose file gets a process fd (the slot keeps it too)' },
      { name: 'installFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_FIXED_FD_NO_CLOEXEC (1): the new fd without O_CLOEXEC' },
    ],
    sqe: {
      source: 'io_uring/openclose.c io_install_fixed_fd_prep (6.8+, unchanged in 6.18)',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'slot of the registered file table' },
        off: ZERO,
        addr: ZERO,
        len: ZERO,
        opFlags: flags(FIXED_FD_INSTALL_FLAGS),
        bufIndex: ZERO,
        personality: ZERO, // REQ_F_CREDS: -EPERM
        fileIndex: ZERO,
        addr3: ZERO,
      },
      fixedFile: 'required', // io_install_fixed_fd_prep: -EBADF without it
    },
    doc: 'Installs the file of a registered-file-table slot as a new process fd (O_CLOEXEC unless IORING_FIXED_FD_NO_CLOEXEC); res = the fd.',
  },
  { name: 'ftruncate', code: 55, constant: 'FTRUNCATE', since: '6.9', liburing: 'io_uring_prep_ftruncate', doc: 'ftruncate(2)' },
  { name: 'bind', code: 56, constant: 'BIND', since: '6.11', liburing: 'io_uring_prep_bind', doc: 'bind(2)' },
  { name: 'listen', code: 57, constant: 'LISTEN', since: '6.11', liburing: 'io_uring_prep_listen', doc: 'listen(2)' },
  { name: 'recvZc', code: 58, constant: 'RECV_ZC', since: '6.15', liburing: 'io_uring_prep_recv_zc', doc: 'zero-copy receive (zcrx; needs NIC support)' },
  { name: 'epollWait', code: 59, constant: 'EPOLL_WAIT', since: '6.15', liburing: 'io_uring_prep_epoll_wait', doc: 'epoll_wait(2)' },
  { name: 'readvFixed', code: 60, constant: 'READV_FIXED', since: '6.15', liburing: 'io_uring_prep_readv_fixed', doc: 'readv into registered buffers' },
  { name: 'writevFixed', code: 61, constant: 'WRITEV_FIXED', since: '6.15', liburing: 'io_uring_prep_writev_fixed', doc: 'writev from registered buffers' },
  { name: 'pipe', code: 62, constant: 'PIPE', since: '6.16', liburing: 'io_uring_prep_pipe', doc: 'pipe2(2) (direct descriptors too)' },
];

/** IORING_OP_LAST on 6.18. */
export const OP_LAST = 63;

const byName = new Map(OPS.map((o) => [o.name, o]));
const byCode = new Map(OPS.map((o) => [o.code, o]));

/** Looks up an op by name ('read') or IORING_OP constant ('READ'). */
export function opByName(name: string): OpDesc | undefined {
  return byName.get(name) ?? OPS.find((o) => o.constant === name);
}
export function opByCode(code: number): OpDesc | undefined {
  return byCode.get(code);
}

/**
 * ringflow's program request (IORING_OP_BPF = 0xA0, docs/completion-programs.md) as a program
 * submits it: the engine runs it, the kernel never sees it (a linked one becomes a NOP).
 */
export const PROGRAM_REQUEST: Pick<OpDesc, 'name' | 'code' | 'constant' | 'sqe' | 'program'> = {
  name: 'program', code: 0xa0, constant: 'BPF',
  sqe: {
    source: 'ringflow engine (native/engine.c prepare_one)',
    fields: {
      ioprio: ZERO, fd: IGNORED, off: { use: 'program' }, addr: ZERO, len: ZERO, opFlags: ZERO, bufIndex: ZERO,
      personality: ZERO, fileIndex: ZERO, addr3: ZERO, attrTypeMask: ZERO,
    },
  },
  program: { tolerate: ['fd'] },
};
