/**
 * Flag and advice values of the file and path opcodes (splice, fallocate, fadvise, madvise,
 * sync_file_range, renameat2, unlinkat, linkat, xattrs, pipe2), written from the uapi headers of
 * Linux 6.18 (x86-64 / asm-generic values): include/uapi/linux/splice.h (via linux/splice.h),
 * falloc.h, fadvise.h, asm-generic/mman-common.h, fs.h, fcntl.h, xattr.h, io_uring.h.
 */
import { RESOLVE_FLAGS } from './sqe-fields.js';

/** SPLICE_F_* (include/linux/splice.h; the flags splice(2) and tee(2) take). */
export const SPLICE_F = { MOVE: 0x1, NONBLOCK: 0x2, MORE: 0x4, GIFT: 0x8 } as const;
/** SPLICE_F_FD_IN_FIXED (include/uapi/linux/io_uring.h): splice_fd_in names a registered file slot. */
export const SPLICE_F_FD_IN_FIXED = 0x80000000;

/** FALLOC_FL_* (include/uapi/linux/falloc.h, 6.18; WRITE_ZEROES is 6.17). fallocate's mode. */
export const FALLOC_FL = {
  KEEP_SIZE: 0x01, PUNCH_HOLE: 0x02, NO_HIDE_STALE: 0x04, COLLAPSE_RANGE: 0x08,
  ZERO_RANGE: 0x10, INSERT_RANGE: 0x20, UNSHARE_RANGE: 0x40, WRITE_ZEROES: 0x80,
} as const;

/** POSIX_FADV_* (include/uapi/linux/fadvise.h; the values of every architecture but s390-31). */
export const POSIX_FADV = { normal: 0, random: 1, sequential: 2, willneed: 3, dontneed: 4, noreuse: 5 } as const;
export type FadviseAdvice = keyof typeof POSIX_FADV | (typeof POSIX_FADV)[keyof typeof POSIX_FADV];

/**
 * MADV_* (include/uapi/asm-generic/mman-common.h, 6.18) that leave the memory usable from JS.
 * Not offered: MADV_HWPOISON (100), MADV_SOFT_OFFLINE (101), MADV_GUARD_INSTALL (102, 6.13) and
 * MADV_GUARD_REMOVE (103): they make the pages fault on access, which would crash the process the
 * moment JS touched the buffer.
 */
export const MADV = {
  normal: 0, random: 1, sequential: 2, willneed: 3, dontneed: 4, free: 8, remove: 9, dontfork: 10, dofork: 11,
  mergeable: 12, unmergeable: 13, hugepage: 14, nohugepage: 15, dontdump: 16, dodump: 17, wipeonfork: 18,
  keeponfork: 19, cold: 20, pageout: 21, populateRead: 22, populateWrite: 23, dontneedLocked: 24, collapse: 25,
} as const;
export type MadviseAdvice = keyof typeof MADV | (typeof MADV)[keyof typeof MADV];

/** SYNC_FILE_RANGE_* (include/uapi/linux/fs.h). Flags 0 does nothing. */
export const SYNC_FILE_RANGE = { WAIT_BEFORE: 1, WRITE: 2, WAIT_AFTER: 4 } as const;

/** RENAME_* (include/uapi/linux/fs.h): renameat2(2) flags. */
export const RENAME = { NOREPLACE: 1, EXCHANGE: 2, WHITEOUT: 4 } as const;

/** AT_REMOVEDIR (include/uapi/linux/fcntl.h): unlinkat removes a directory. */
export const AT_REMOVEDIR = 0x200;
/** AT_SYMLINK_FOLLOW (include/uapi/linux/fcntl.h): linkat follows a symlink given as oldpath. */
export const AT_SYMLINK_FOLLOW = 0x400;
/** linkat(2) flags: AT_SYMLINK_FOLLOW, AT_EMPTY_PATH (oldpath "" = the file olddirfd names; needs CAP_DAC_READ_SEARCH). */
export const LINKAT_FLAGS = { SYMLINK_FOLLOW: AT_SYMLINK_FOLLOW, EMPTY_PATH: 0x1000 } as const;

/** XATTR_* (include/uapi/linux/xattr.h): fail if the attribute exists (CREATE) / does not (REPLACE). */
export const XATTR = { CREATE: 1, REPLACE: 2 } as const;
/** XATTR_NAME_MAX: the longest attribute name, without its NUL. */
export const XATTR_NAME_MAX = 255;
/** XATTR_SIZE_MAX: the largest attribute value. */
export const XATTR_SIZE_MAX = 65536;

/** pipe2(2) flags IORING_OP_PIPE takes besides O_CLOEXEC, which ringflow adds unless `direct`
 *  (io_pipe_prep, 6.16: O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE = O_EXCL). */
export const PIPE_FLAGS = { NONBLOCK: 0o4000, DIRECT: 0o40000, NOTIFICATION_PIPE: 0o200 } as const;

/** RESOLVE_* (include/uapi/linux/openat2.h, 6.18): openat2's `resolve`. */
export const RESOLVE = RESOLVE_FLAGS;

/** struct open_how (include/uapi/linux/openat2.h): u64 flags, u64 mode, u64 resolve (OPEN_HOW_SIZE_VER0). */
export const OPEN_HOW_SIZE = 24;
