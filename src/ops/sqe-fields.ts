/**
 * The vocabulary of the opcode table's kernel declaration (src/ops/table.ts, `sqe` and `program`
 * of an entry): what Linux does with each field of an SQE, op by op and flag by flag, and what a
 * completion program may put there. The program policy (src/ops/policy.ts, native/engine_policy.c),
 * its fuzzer (tools/fuzz-policy.ts) and the completeness test (test/security/policy.test.ts) are
 * derived from it; nothing about an op is written anywhere else.
 *
 * Facts are from Linux 6.18 (io_uring/*.c prep functions of the 6.18.y trees, the uapi headers)
 * and were probed on 6.18.44 where a probe can tell; each declaration names its source.
 */

/** SQE fields an op-specific rule can name: byte offset and width in struct io_uring_sqe (6.18 BTF).
 *  opcode @0, flags @1 (IOSQE_*, checked for every op) and user_data @32 (never read) are not here. */
export const SQE_SLOTS = {
  ioprio: { offset: 2, width: 2 },
  fd: { offset: 4, width: 4 },
  off: { offset: 8, width: 8 }, // off / addr2
  addr: { offset: 16, width: 8 },
  len: { offset: 24, width: 4 },
  opFlags: { offset: 28, width: 4 }, // rw_flags, open_flags, timeout_flags, … (one union)
  bufIndex: { offset: 40, width: 2 }, // buf_index / buf_group
  personality: { offset: 42, width: 2 },
  fileIndex: { offset: 44, width: 4 }, // splice_fd_in / file_index / write_stream (u8)
  addr3: { offset: 48, width: 8 }, // addr3 / attr_ptr / cmd
  attrTypeMask: { offset: 56, width: 8 }, // __pad2[0] / attr_type_mask (6.15)
} as const;
export type SqeSlot = keyof typeof SQE_SLOTS;
export const SLOT_NAMES = Object.keys(SQE_SLOTS) as SqeSlot[];

/** Bytes a `when` may test that are no field of their own: the IOSQE_* byte @1 (what
 *  IOSQE_BUFFER_SELECT turns buf_index into, for example). No rule is ever on them. */
export const COND_SLOTS = { sqeFlags: { offset: 1, width: 1 } } as const;
export type CondSlot = SqeSlot | keyof typeof COND_SLOTS;
/** The policy's slot table (src/ops/policy.ts serialises it): the field slots, then the condition-only ones. */
export const POLICY_SLOTS: readonly CondSlot[] = [...SLOT_NAMES, ...(Object.keys(COND_SLOTS) as (keyof typeof COND_SLOTS)[])];
/** Offset and width of a slot or a condition-only byte. */
export function slotLayout(s: CondSlot): { offset: number; width: number } {
  return s in SQE_SLOTS ? SQE_SLOTS[s as SqeSlot] : COND_SLOTS[s as keyof typeof COND_SLOTS];
}

/** How many bytes a pointer names. */
export type MemSize =
  /** a struct of fixed size */
  | { bytes: number }
  /** `times` × the value of another SQE field (READ: len bytes; READV: len iovecs of 16 bytes).
   *  `max` bounds what ringflow copies (submit-time memory); the kernel's own limit where it has one. */
  | { slot: SqeSlot; times: number; min?: number; max?: number }
  /** the value of a field of the enclosing element (an iovec's iov_len, io_uring_attr_pi.len) */
  | { field: number; width: 4 | 8 }
  /** a NUL-terminated string of at most this many bytes with its NUL (PATH_MAX) */
  | { cstring: number };

/** A field inside the memory a pointer names (struct members, iovec members). */
export interface MemField {
  name: string;
  at: number;
  width: 1 | 2 | 4 | 8;
  use: FieldUse;
}

/** Memory the kernel follows a pointer to. */
export interface MemUse {
  /** What is there (for messages and docs): 'buffer', 'struct __kernel_timespec', … */
  what: string;
  /** What the kernel does with it: reads it, writes it, or both. */
  access: 'read' | 'write' | 'readwrite';
  /**
   * When: 'submit' = while io_uring_enter prepares the request (ringflow copies the bytes into
   * memory the engine owns and points the SQE there, so the program cannot change them
   * afterwards); 'complete' = while the request runs, up to its CQE (the memory must lie in a
   * registered region, which outlives every request).
   */
  when: 'submit' | 'complete';
  size: MemSize;
  /**
   * The fields the kernel reads in it: `stride` > 0 repeats them every `stride` bytes (iovec
   * arrays); 0 means the block is one struct. `tailZero`: bytes from there to the end must be 0
   * (copy_struct_from_user of an extensible struct).
   */
  layout?: { stride: number; fields: MemField[]; tailZero?: number };
}

/** What the kernel does with one SQE field for an op. */
export type FieldUse =
  /** must be 0: the kernel refuses anything else (-EINVAL), or the field is reserved */
  | { use: 'zero' }
  /** the kernel never reads it for this op */
  | { use: 'ignored' }
  /** the kernel refuses any other value */
  | { use: 'fixed'; value: number }
  /** a plain value (count, offset, mode, length): no pointer, no fd */
  | { use: 'scalar'; doc: string }
  /** the user_data of another request (cancel, timeout removal) */
  | { use: 'target'; doc: string }
  /** flag bits: every bit this op knows on 6.18, by its kernel name */
  | { use: 'flags'; bits: Readonly<Record<string, number>> }
  /** a file descriptor, looked up in the process fd table */
  | { use: 'fd'; doc: string }
  /** the directory a path is resolved from (AT_FDCWD: the process cwd) */
  | { use: 'dirfd' }
  /** ringflow's program request: an index into the ring's program table */
  | { use: 'program' }
  /** a pointer the kernel follows */
  | { use: 'mem'; mem: MemUse }
  /** a provided-buffer group (buf_group under IOSQE_BUFFER_SELECT): the kernel picks a buffer of
   *  it and names it in the CQE. 'write': it fills the buffer (recv, read); 'read': it sends what
   *  a buffer holds (send). Programs: 'write' only, from a group JS granted (ring.allowBufferGroup) */
  | { use: 'bufGroup'; access: 'read' | 'write' }
  /** depends on flag bits of another field (or of the IOSQE_* byte, 'sqeFlags'): `then` when any of `bits` is set there */
  | { use: 'when'; slot: CondSlot; bits: number; then: FieldUse; else: FieldUse };

/** An op's declaration: the use of every SQE slot, with its source. */
export interface SqeUse {
  /** Where the facts come from (kernel version and file). */
  source: string;
  fields: Readonly<Record<SqeSlot, FieldUse>>;
  /** What the result means for fds: res is a new fd (openat), or the fd in `fd` is closed. */
  fdEffect?: 'opens' | 'closes';
  /**
   * What IOSQE_FIXED_FILE does for this op (io_init_req, the op's prep): 'slot' = the `fd` field
   * names a slot of the ring's registered file table instead of a process fd (ops with
   * needs_file); 'required' = the op works only on a slot (FIXED_FD_INSTALL); 'refused' = the
   * op's prep fails the request (-EBADF / -EINVAL). Absent: the kernel never looks at it.
   */
  fixedFile?: 'slot' | 'required' | 'refused';
  /**
   * Which registered-file-table slots a successful request changes (src/ring/files.ts takes
   * programs' allowances of them back): 'fileIndex' = the slot file_index - 1 names (direct
   * open, CLOSE of a slot; IORING_FILE_INDEX_ALLOC = a free one the kernel picks); 'update' =
   * `len` slots from `off` (FILES_UPDATE).
   */
  slotEffect?: 'fileIndex' | 'update';
  /** slotEffect 'fileIndex': consecutive slots a request fills from file_index - 1 (PIPE: 2, the read end then the write end); default 1. */
  slots?: number;
}

/** What a completion program may submit of an op. Ops without one are refused (-EINVAL). */
export interface ProgramPermit {
  /** Permitted bits of each `flags` slot (absent: none). Unknown bits are never permitted. */
  flags?: Partial<Record<SqeSlot, number>>;
  /** Slots the kernel uses that a program must leave 0 (ioprio, direct-descriptor slots, …). */
  zero?: readonly SqeSlot[];
  /** Slots the kernel ignores for this op that may hold anything (liburing and rf_prep_* put
   *  fd = -1 there). Every other ignored slot must be 0, in case a later kernel reads it. */
  tolerate?: readonly SqeSlot[];
  /** What the dirfd may be: a directory granted with ring.allowDir(), or also an allowed fd. */
  dirfd?: 'grant' | 'fdOrGrant';
  /** Bits that must be set in opFlags (statx: AT_EMPTY_PATH). */
  requireOpFlags?: number;
  /** Paths: 'empty' = only "" (statx: the kernel has no RESOLVE_* flags for it). */
  path?: 'empty';
  /** Opened beneath the granted dirfd: submitted as OPENAT2 with RESOLVE_BENEATH |
   *  RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV and the open flags the grant permits. Where the
   *  open flags and mode are: two SQE slots (OPENAT), or the struct open_how the `how` slot names. */
  open?: { flags: SqeSlot; mode: SqeSlot } | { how: SqeSlot };
  /** IOSQE_* bits a program may set (default: LINK, HARDLINK, DRAIN, ASYNC, CQE_SKIP_SUCCESS). */
  sqeFlags?: number;
}

// ------------------------------------------------------------------ flag spaces (Linux 6.18)

/** IOSQE_* (include/uapi/linux/io_uring.h; the 6.18 query reports sqe_flags = 0x7f). */
export const IOSQE = { FIXED_FILE: 1, IO_DRAIN: 2, IO_LINK: 4, IO_HARDLINK: 8, ASYNC: 16, BUFFER_SELECT: 32, CQE_SKIP_SUCCESS: 64 } as const;
/** IORING_NOP_* (io_uring/nop.c NOP_FLAGS, 6.18). */
export const NOP_FLAGS = { INJECT_RESULT: 1, FILE: 2, FIXED_FILE: 4, FIXED_BUFFER: 8, TW: 16, CQE32: 32 } as const;
/** IORING_FIXED_FD_* (FIXED_FD_INSTALL's install_fd_flags, 6.8). */
export const FIXED_FD_INSTALL_FLAGS = { NO_CLOEXEC: 1 } as const;
/** RWF_* (include/uapi/linux/fs.h RWF_SUPPORTED, 6.18; NOSIGNAL is new in 6.18, probed on 6.18.44). */
export const RWF_FLAGS = { HIPRI: 0x1, DSYNC: 0x2, SYNC: 0x4, NOWAIT: 0x8, APPEND: 0x10, NOAPPEND: 0x20, ATOMIC: 0x40, DONTCACHE: 0x80, NOSIGNAL: 0x100 } as const;
/** IORING_FSYNC_* */
export const FSYNC_FLAGS = { DATASYNC: 1 } as const;
/** IORING_TIMEOUT_* accepted by TIMEOUT and LINK_TIMEOUT (__io_timeout_prep, 6.18). */
export const TIMEOUT_FLAGS = { ABS: 0x1, BOOTTIME: 0x4, REALTIME: 0x8, ETIME_SUCCESS: 0x20, MULTISHOT: 0x40 } as const;
/** IORING_TIMEOUT_* accepted by TIMEOUT_REMOVE (io_timeout_remove_prep: UPDATE_MASK | ABS, 6.18). */
export const TIMEOUT_REMOVE_FLAGS = { ABS: 0x1, UPDATE: 0x2, LINK_TIMEOUT_UPDATE: 0x10 } as const;
/** IORING_ASYNC_CANCEL_* (io_uring/cancel.c CANCEL_FLAGS, 6.18). */
export const CANCEL_FLAGS = { ALL: 0x1, FD: 0x2, ANY: 0x4, FD_FIXED: 0x8, USERDATA: 0x10, OP: 0x20 } as const;
/** O_* the kernel knows (VALID_OPEN_FLAGS, x86-64 values of include/uapi/asm-generic/fcntl.h).
 *  OPENAT2 refuses other bits (-EINVAL); OPENAT drops them. */
export const OPEN_FLAGS = {
  WRONLY: 0o1, RDWR: 0o2, CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400, TRUNC: 0o1000, APPEND: 0o2000,
  NONBLOCK: 0o4000, DSYNC: 0o10000, FASYNC: 0o20000, DIRECT: 0o40000, LARGEFILE: 0o100000,
  DIRECTORY: 0o200000, NOFOLLOW: 0o400000, NOATIME: 0o1000000, CLOEXEC: 0o2000000,
  __O_SYNC: 0o4000000, PATH: 0o10000000, __O_TMPFILE: 0o20000000,
} as const;
/** RESOLVE_* (include/uapi/linux/openat2.h, 6.18; probed with openat2 on 6.18.44). */
export const RESOLVE_FLAGS = { NO_XDEV: 0x1, NO_MAGICLINKS: 0x2, NO_SYMLINKS: 0x4, BENEATH: 0x8, IN_ROOT: 0x10, CACHED: 0x20 } as const;
/** AT_* statx accepts (vfs_statx, 6.18): AT_STATX_FORCE_SYNC/DONT_SYNC together are refused. */
export const STATX_FLAGS = { SYMLINK_NOFOLLOW: 0x100, NO_AUTOMOUNT: 0x800, EMPTY_PATH: 0x1000, STATX_FORCE_SYNC: 0x2000, STATX_DONT_SYNC: 0x4000 } as const;
/** IORING_RW_ATTR_FLAG_* in attr_type_mask (6.15; __io_prep_rw accepts exactly PI). */
export const RW_ATTR_FLAGS = { PI: 1 } as const;

/** OR of every bit of a flag space. */
export function allBits(bits: Readonly<Record<string, number>>): number {
  let m = 0;
  for (const v of Object.values(bits)) m |= v;
  return m >>> 0;
}

// ------------------------------------------------------------------ shorthands for table.ts

export const ZERO: FieldUse = { use: 'zero' };
export const IGNORED: FieldUse = { use: 'ignored' };
export const scalar = (doc: string): FieldUse => ({ use: 'scalar', doc });
export const flags = (bits: Readonly<Record<string, number>>): FieldUse => ({ use: 'flags', bits });
export const when = (slot: CondSlot, bits: number, then: FieldUse, otherwise: FieldUse): FieldUse => ({ use: 'when', slot, bits, then, else: otherwise });
export const mem = (m: MemUse): FieldUse => ({ use: 'mem', mem: m });
/** buf_group under IOSQE_BUFFER_SELECT (io_init_req reads it then; otherwise the field is `otherwise`). */
export const bufGroup = (access: 'read' | 'write', otherwise: FieldUse): FieldUse => when('sqeFlags', IOSQE.BUFFER_SELECT, { use: 'bufGroup', access }, otherwise);
/** personality: registered credentials the request runs with (io_init_req, every op). */
export const PERSONALITY: FieldUse = scalar('registered credentials id (io_init_req)');

/** PATH_MAX with its NUL: what getname() copies at most. */
export const PATH_MAX = 4096;
/** UIO_MAXIOV: the most iovecs readv/writev take. */
export const UIO_MAXIOV = 1024;
/** A NUL-terminated path read while the request is prepared (getname()). */
export const PATH_MEM: FieldUse = mem({ what: 'path', access: 'read', when: 'submit', size: { cstring: PATH_MAX } });
/** struct __kernel_timespec read at prep (get_timespec64). */
export const TIMESPEC_MEM: FieldUse = mem({ what: 'struct __kernel_timespec', access: 'read', when: 'submit', size: { bytes: 16 } });
