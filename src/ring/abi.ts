/**
 * io_uring ABI constants and struct layouts, written by us from the kernel's documented uapi
 * (include/uapi/linux/io_uring.h) and checked against the running 6.18.44 kernel's BTF
 * (shared/reference/io_uring-6.18.md). Each value carries the mainline version that introduced it.
 * Opcode numbers live in the opcode table (src/ops/table.ts), the single source for them.
 */

/** Whether ringflow's Ring can drive a ring set up with a flag. */
export type SetupFlagSupport =
  /** set through a Ring option (named in `option`), or given raw in `flags` */
  | 'supported'
  /** always set by ringflow itself */
  | 'always'
  /** refused with a RangeError: ringflow's SQ/CQ code cannot drive such a ring yet */
  | 'unsupported';

export interface SetupFlagDesc {
  /** IORING_SETUP_<name>. */
  readonly name: string;
  readonly bit: number;
  /** First mainline kernel with the flag. */
  readonly since: string;
  readonly support: SetupFlagSupport;
  /** The Ring option that sets it. */
  readonly option?: string;
  /** Why an unsupported flag is refused. */
  readonly why?: string;
  /** Flags the kernel requires with it (for `ringflow info`'s kernel probe). */
  readonly needs?: readonly string[];
  /** The kernel cannot be probed with this flag alone (it needs memory or state from the caller). */
  readonly noProbe?: string;
}

/**
 * The io_uring_setup flags (`io_uring_params.flags`): bit, kernel version and whether ringflow's
 * Ring drives them. Bits 0–18 from the 6.18 uapi (include/uapi/linux/io_uring.h; the 6.18.44
 * kernel's IORING_REGISTER_QUERY reports ring_setup_flags = 0x7ffff); SQE_MIXED (bit 19) from the
 * 6.19 uapi. Ring option validation (src/ring/setup.ts) and `ringflow info` both read this list.
 */
export const SETUP_FLAGS = [
  { name: 'IOPOLL', bit: 0, since: '5.1', support: 'unsupported', why: 'polled completions are reaped only by busy-polling io_uring_enter, never signalled on the ring fd ringflow waits on' },
  { name: 'SQPOLL', bit: 1, since: '5.1', support: 'supported', option: 'sqpoll' },
  { name: 'SQ_AFF', bit: 2, since: '5.1', support: 'supported', option: 'sqpoll.cpu', needs: ['SQPOLL'] },
  { name: 'CQSIZE', bit: 3, since: '5.5', support: 'always', option: 'cqEntries' },
  { name: 'CLAMP', bit: 4, since: '5.6', support: 'supported', option: 'clamp' },
  { name: 'ATTACH_WQ', bit: 5, since: '5.6', support: 'supported', option: 'attachWq', noProbe: 'needs the fd of another ring' },
  { name: 'R_DISABLED', bit: 6, since: '5.10', support: 'supported', option: 'disabled' },
  { name: 'SUBMIT_ALL', bit: 7, since: '5.18', support: 'supported', option: 'submitAll' },
  { name: 'COOP_TASKRUN', bit: 8, since: '5.19', support: 'supported', option: 'coopTaskrun' },
  { name: 'TASKRUN_FLAG', bit: 9, since: '5.19', support: 'supported', option: 'taskrunFlag', needs: ['COOP_TASKRUN'] },
  { name: 'SQE128', bit: 10, since: '5.19', support: 'supported', option: 'sqe128' },
  { name: 'CQE32', bit: 11, since: '5.19', support: 'supported', option: 'cqe32' },
  { name: 'SINGLE_ISSUER', bit: 12, since: '6.0', support: 'supported', option: 'singleIssuer' },
  { name: 'DEFER_TASKRUN', bit: 13, since: '6.1', support: 'supported', option: 'deferTaskrun', needs: ['SINGLE_ISSUER'] },
  { name: 'NO_MMAP', bit: 14, since: '6.5', support: 'unsupported', why: 'ringflow maps the ring memory the kernel allocates', noProbe: 'needs ring memory from the caller' },
  { name: 'REGISTERED_FD_ONLY', bit: 15, since: '6.5', support: 'unsupported', why: 'ringflow enters the ring through its fd', needs: ['NO_MMAP'], noProbe: 'needs ring memory from the caller' },
  { name: 'NO_SQARRAY', bit: 16, since: '6.6', support: 'supported', option: 'noSqArray' },
  { name: 'HYBRID_IOPOLL', bit: 17, since: '6.13', support: 'unsupported', why: 'a mode of IOPOLL, which ringflow does not drive', needs: ['IOPOLL'] },
  { name: 'CQE_MIXED', bit: 18, since: '6.18', support: 'supported', option: 'cqeMixed' },
  {
    name: 'SQE_MIXED', bit: 19, since: '6.19', support: 'unsupported',
    why: 'Linux 6.19 (6.18 refuses bit 19 with EINVAL): a 128-byte entry in a mixed SQ takes two slots and needs the 6.19 opcodes NOP128 and URING_CMD128, which a 6.18 opcode table cannot name or test; use sqe128 for 128-byte entries',
  },
] as const satisfies readonly SetupFlagDesc[];

/** io_uring_setup flags (`io_uring_params.flags`) by name, from SETUP_FLAGS. */
export const SetupFlags = Object.fromEntries(SETUP_FLAGS.map((f) => [f.name, 2 ** f.bit])) as {
  readonly [F in (typeof SETUP_FLAGS)[number] as F['name']]: number;
};

/** Every setup bit SETUP_FLAGS names. */
export const KNOWN_SETUP_FLAGS = SETUP_FLAGS.reduce((m, f) => m | (2 ** f.bit), 0);

/** Feature bits the kernel reports in `io_uring_params.features`. */
export const Features = {
  SINGLE_MMAP: 1 << 0, // 5.4
  NODROP: 1 << 1, // 5.5
  SUBMIT_STABLE: 1 << 2, // 5.5
  RW_CUR_POS: 1 << 3, // 5.6
  CUR_PERSONALITY: 1 << 4, // 5.6
  FAST_POLL: 1 << 5, // 5.7
  POLL_32BITS: 1 << 6, // 5.9
  SQPOLL_NONFIXED: 1 << 7, // 5.11
  EXT_ARG: 1 << 8, // 5.11
  NATIVE_WORKERS: 1 << 9, // 5.12
  RSRC_TAGS: 1 << 10, // 5.13
  CQE_SKIP: 1 << 11, // 5.17
  LINKED_FILE: 1 << 12, // 5.17
  REG_REG_RING: 1 << 13, // 6.3
  RECVSEND_BUNDLE: 1 << 14, // 6.10
  MIN_TIMEOUT: 1 << 15, // 6.12
  RW_ATTR: 1 << 16, // ~6.15
  NO_IOWAIT: 1 << 17, // 6.15
} as const;

/** io_uring_enter flags. */
export const EnterFlags = {
  GETEVENTS: 1 << 0, // 5.1
  SQ_WAKEUP: 1 << 1, // 5.1
  SQ_WAIT: 1 << 2, // 5.10
  EXT_ARG: 1 << 3, // 5.11
  REGISTERED_RING: 1 << 4, // 5.18
  ABS_TIMER: 1 << 5, // 6.12
  EXT_ARG_REG: 1 << 6, // 6.13
  NO_IOWAIT: 1 << 7, // 6.15
} as const;

/** SQE flags (`sqe->flags`). */
export const SqeFlags = {
  FIXED_FILE: 1 << 0, // 5.1
  IO_DRAIN: 1 << 1, // 5.2
  IO_LINK: 1 << 2, // 5.3
  IO_HARDLINK: 1 << 3, // 5.5
  ASYNC: 1 << 4, // 5.6
  BUFFER_SELECT: 1 << 5, // 5.7
  CQE_SKIP_SUCCESS: 1 << 6, // 5.17
} as const;

/** CQE flags (`cqe->flags`). */
export const CqeFlags = {
  BUFFER: 1 << 0, // 5.7
  MORE: 1 << 1, // 5.13
  SOCK_NONEMPTY: 1 << 2, // 5.19
  NOTIF: 1 << 3, // 6.0
  BUF_MORE: 1 << 4, // 6.12
  SKIP: 1 << 5, // 6.18
  F_32: 1 << 15, // 6.18
  BUFFER_SHIFT: 16,
} as const;

/** SQ ring `flags` word. */
export const SqRingFlags = { NEED_WAKEUP: 1 << 0, CQ_OVERFLOW: 1 << 1, TASKRUN: 1 << 2 } as const;

/** io_uring_register opcodes (values from the 6.18 BTF). */
export const RegisterOp = {
  REGISTER_BUFFERS: 0, // 5.1
  UNREGISTER_BUFFERS: 1, // 5.1
  REGISTER_FILES: 2, // 5.1
  UNREGISTER_FILES: 3, // 5.1
  REGISTER_EVENTFD: 4, // 5.2
  UNREGISTER_EVENTFD: 5, // 5.2
  REGISTER_FILES_UPDATE: 6, // 5.5
  REGISTER_EVENTFD_ASYNC: 7, // 5.6
  REGISTER_PROBE: 8, // 5.6
  REGISTER_PERSONALITY: 9, // 5.6
  UNREGISTER_PERSONALITY: 10, // 5.6
  REGISTER_RESTRICTIONS: 11, // 5.10
  REGISTER_ENABLE_RINGS: 12, // 5.10
  REGISTER_FILES2: 13, // 5.13
  REGISTER_FILES_UPDATE2: 14, // 5.13
  REGISTER_BUFFERS2: 15, // 5.13
  REGISTER_BUFFERS_UPDATE: 16, // 5.13
  REGISTER_IOWQ_AFF: 17, // 5.14
  UNREGISTER_IOWQ_AFF: 18, // 5.14
  REGISTER_IOWQ_MAX_WORKERS: 19, // 5.15
  REGISTER_RING_FDS: 20, // 5.18
  UNREGISTER_RING_FDS: 21, // 5.18
  REGISTER_PBUF_RING: 22, // 5.19
  UNREGISTER_PBUF_RING: 23, // 5.19
  REGISTER_SYNC_CANCEL: 24, // 6.0
  REGISTER_FILE_ALLOC_RANGE: 25, // 6.0
  REGISTER_PBUF_STATUS: 26, // 6.8
  REGISTER_NAPI: 27, // 6.9
  UNREGISTER_NAPI: 28, // 6.9
  REGISTER_CLOCK: 29, // 6.12
  REGISTER_CLONE_BUFFERS: 30, // 6.12
  REGISTER_SEND_MSG_RING: 31, // 6.13
  REGISTER_ZCRX_IFQ: 32, // 6.15
  REGISTER_RESIZE_RINGS: 33, // 6.13
  REGISTER_MEM_REGION: 34, // 6.13
  REGISTER_QUERY: 35, // 6.18
} as const;

/** Per-opcode flag words. */
export const FsyncFlags = { DATASYNC: 1 << 0 } as const; // 5.1
export const TimeoutFlags = {
  ABS: 1 << 0, // 5.4
  UPDATE: 1 << 1, // 5.11
  BOOTTIME: 1 << 2, // 5.15
  REALTIME: 1 << 3, // 5.15
  LINK_TIMEOUT_UPDATE: 1 << 4, // 5.15
  ETIME_SUCCESS: 1 << 5, // 5.16
  MULTISHOT: 1 << 6, // 6.4
} as const;
export const CancelFlags = {
  ALL: 1 << 0, // 5.19
  FD: 1 << 1, // 5.19
  ANY: 1 << 2, // 5.19
  FD_FIXED: 1 << 3, // 6.0
  USERDATA: 1 << 4, // 6.6
  OP: 1 << 5, // 6.6
} as const;
export const NopFlags = { INJECT_RESULT: 1 << 0 } as const; // 6.10 (probe: ring.supports('nop', { flag: 'INJECT_RESULT' }))

/** `IO_URING_OP_SUPPORTED` in io_uring_probe_op.flags (5.6). */
export const PROBE_OP_SUPPORTED = 1;

/** struct sizes pinned by tests. */
export const SQE_SIZE = 64;
export const CQE_SIZE = 16;
/** Entry sizes of big-entry rings: SQE128 (5.19; bytes 48..127 are the uring_cmd area), CQE32 (5.19;
 *  big_cqe[2] at 16), and a CQE_MIXED ring's IORING_CQE_F_32 entries (6.18), which take two 16-byte slots. */
export const SQE128_SIZE = 128;
export const CQE32_SIZE = 32;
export const PARAMS_SIZE = 120;

/** struct io_uring_params field offsets. */
export const Params = {
  sq_entries: 0,
  cq_entries: 4,
  flags: 8,
  sq_thread_cpu: 12,
  sq_thread_idle: 16,
  features: 20,
  wq_fd: 24,
  resv: 28,
  sq_off: 40,
  cq_off: 80,
} as const;
/** struct io_sqring_offsets (relative to sq_off). */
export const SqOff = { head: 0, tail: 4, ring_mask: 8, ring_entries: 12, flags: 16, dropped: 20, array: 24 } as const;
/** struct io_cqring_offsets (relative to cq_off). */
export const CqOff = { head: 0, tail: 4, ring_mask: 8, ring_entries: 12, overflow: 16, cqes: 20, flags: 24 } as const;

/** struct io_uring_sqe field offsets (64 bytes). */
export const Sqe = {
  opcode: 0,
  flags: 1,
  ioprio: 2,
  fd: 4,
  off: 8,
  addr: 16,
  len: 24,
  opFlags: 28,
  user_data: 32,
  buf_index: 40,
  personality: 42,
  file_index: 44,
  addr3: 48,
  /** The 2021 BPF prototype's per-request completion queue index (u16 in __pad2). */
  cq_idx: 48,
} as const;

/** struct io_uring_cqe field offsets (16 bytes). */
export const Cqe = { user_data: 0, res: 8, flags: 12 } as const;

/** struct io_uring_probe: header 16 bytes, then ops of 8 bytes {op u8, resv u8, flags u16, resv2 u32}. */
export const Probe = { last_op: 0, ops_len: 1, ops: 16, opSize: 8, opFlags: 2 } as const;

/** struct __kernel_timespec (16 bytes): tv_sec s64, tv_nsec s64. */
export const TIMESPEC_SIZE = 16;

/** struct statx (256 bytes), offsets used by the typed result. */
export const Statx = {
  size: 256,
  mask: 0,
  blksize: 4,
  attributes: 8,
  nlink: 16,
  uid: 20,
  gid: 24,
  mode: 28,
  ino: 32,
  sizeField: 40,
  blocks: 48,
  attributes_mask: 56,
  atime: 64,
  btime: 80,
  ctime: 96,
  mtime: 112,
  rdev_major: 128,
  rdev_minor: 132,
  dev_major: 136,
  dev_minor: 140,
} as const;
/** statx mask bits (include/uapi/linux/stat.h, 4.11). */
export const StatxMask = { BASIC_STATS: 0x7ff, BTIME: 0x800, ALL: 0xfff } as const;

/** AT_* constants (include/uapi/linux/fcntl.h). */
export const AT_FDCWD = -100;
export const AT_EMPTY_PATH = 0x1000;
export const AT_SYMLINK_NOFOLLOW = 0x100;

/** open(2) flags (asm-generic/fcntl.h, x86_64 values). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DSYNC: 0o10000,
  DIRECT: 0o40000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
} as const;
