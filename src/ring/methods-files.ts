/**
 * Types of the file and path builders (op.splice(), op.renameat(), …; src/ops/ops-files.ts,
 * ops-paths.ts) and of their promise methods (ring.splice(), …), which methods.ts installs from
 * the opcode table like every other op. Nothing here runs; the values are in src/ops/file-abi.ts.
 */
import type { CommonOptions, BufferLike } from '../ops/build.js';
import type { Sqe, Fd, FixedFile } from '../ops/sqe.js';
import type { FadviseAdvice, MadviseAdvice } from '../ops/file-abi.js';

type PathArg = string | Uint8Array;
type Offset = number | bigint;
/** openat2's struct open_how (include/uapi/linux/openat2.h). */
export interface OpenHow {
  /** O_* flags (O_CLOEXEC is added unless `direct`). */
  flags?: number;
  /** Permissions for O_CREAT / O_TMPFILE (the kernel refuses a mode without them). */
  mode?: number;
  /** RESOLVE.* bits: BENEATH, IN_ROOT, NO_SYMLINKS, NO_MAGICLINKS, NO_XDEV, CACHED. */
  resolve?: number;
}
export interface SpliceOptions {
  /** Offset in fdIn; omitted or -1: its file position (pipes take none). */
  offIn?: number | bigint | null;
  /** Offset in fdOut; omitted or -1: its file position (pipes take none). */
  offOut?: number | bigint | null;
  /** SPLICE_F.* */
  flags?: number;
}
export interface PipeOptions {
  /** PIPE_FLAGS.NONBLOCK | DIRECT | NOTIFICATION_PIPE (O_CLOEXEC is added unless `direct`). */
  flags?: number;
  /** Slots for the ends: n (read) and n + 1 (write), or 'auto'. */
  direct?: number | 'auto';
}
type Direct = { direct: number | 'auto' };

declare module '../ops/build.js' {
  interface Builders {
    /** IORING_OP_SYNC_FILE_RANGE: sync_file_range(2); length 0 = to the end; flags SYNC_FILE_RANGE.* (0 does nothing). */
    syncFileRange(fd: Fd, offset: Offset, length: number, flags: number, options?: CommonOptions): Sqe;
    /** IORING_OP_FALLOCATE: fallocate(2); mode FALLOC_FL.* (default 0). */
    fallocate(fd: Fd, offset: Offset, length: Offset, mode?: number, options?: CommonOptions): Sqe;
    /** IORING_OP_FADVISE: posix_fadvise(2); length 0 = to the end (over 4 GiB: 6.11). */
    fadvise(fd: Fd, offset: Offset, length: Offset, advice: FadviseAdvice, options?: CommonOptions): Sqe;
    /** IORING_OP_MADVISE: madvise(2) on a view over whole pages of this process's memory. */
    madvise(memory: BufferLike, advice: MadviseAdvice, options?: CommonOptions): Sqe;
    /** IORING_OP_OPENAT2: openat2(2); `how` is { flags, mode, resolve } or O_* flags. */
    openat2(path: PathArg, how?: OpenHow | number, options?: CommonOptions & { dirfd?: number; direct?: number | 'auto' }): Sqe;
    /** IORING_OP_SPLICE: splice(2) of `length` bytes (a FixedFile fdIn sets SPLICE_F_FD_IN_FIXED). */
    splice(fdIn: Fd, fdOut: Fd, length: number, options?: CommonOptions & SpliceOptions): Sqe;
    /** IORING_OP_TEE: tee(2) between two pipes. */
    tee(fdIn: Fd, fdOut: Fd, length: number, options?: CommonOptions & { flags?: number }): Sqe;
    /** IORING_OP_FTRUNCATE (6.9). */
    ftruncate(fd: Fd, length: Offset, options?: CommonOptions): Sqe;
    /** IORING_OP_PIPE (6.16): pipe2(2); the fds (or slots) land in an int[2] ringflow reads at the CQE. */
    pipe(options?: CommonOptions & PipeOptions): Sqe;
    /** IORING_OP_RENAMEAT: renameat2(2); flags RENAME.*. */
    renameat(oldPath: PathArg, newPath: PathArg, options?: CommonOptions & { oldDirfd?: number; newDirfd?: number; flags?: number }): Sqe;
    /** IORING_OP_UNLINKAT: unlinkat(2); removeDir = AT_REMOVEDIR. */
    unlinkat(path: PathArg, options?: CommonOptions & { dirfd?: number; removeDir?: boolean }): Sqe;
    /** IORING_OP_MKDIRAT: mkdirat(2); mode default 0o777. */
    mkdirat(path: PathArg, mode?: number, options?: CommonOptions & { dirfd?: number }): Sqe;
    /** IORING_OP_SYMLINKAT: symlinkat(2): linkPath → target. */
    symlinkat(target: PathArg, linkPath: PathArg, options?: CommonOptions & { dirfd?: number }): Sqe;
    /** IORING_OP_LINKAT: linkat(2); flags LINKAT_FLAGS.* (AT_SYMLINK_FOLLOW, AT_EMPTY_PATH). */
    linkat(oldPath: PathArg, newPath: PathArg, options?: CommonOptions & { oldDirfd?: number; newDirfd?: number; flags?: number }): Sqe;
    /** IORING_OP_FSETXATTR (5.19); flags XATTR.CREATE / REPLACE. */
    fsetxattr(fd: number, name: PathArg, value: BufferLike, options?: CommonOptions & { flags?: number }): Sqe;
    /** IORING_OP_SETXATTR (5.19). */
    setxattr(path: PathArg, name: PathArg, value: BufferLike, options?: CommonOptions & { flags?: number }): Sqe;
    /** IORING_OP_FGETXATTR (5.19): value = a buffer to fill, a size to allocate (default 65536), or 0 (the size). */
    fgetxattr(fd: number, name: PathArg, value?: BufferLike | number, options?: CommonOptions): Sqe;
    /** IORING_OP_GETXATTR (5.19). */
    getxattr(path: PathArg, name: PathArg, value?: BufferLike | number, options?: CommonOptions): Sqe;
  }
}

type Args<K extends keyof import('../ops/build.js').Builders> = Parameters<import('../ops/build.js').Builders[K]>;

declare module './ring.js' {
  interface Ring {
    syncFileRange(...args: Args<'syncFileRange'>): Promise<void>;
    fallocate(...args: Args<'fallocate'>): Promise<void>;
    fadvise(...args: Args<'fadvise'>): Promise<void>;
    madvise(...args: Args<'madvise'>): Promise<void>;
    /** openat2(2) into a slot (`direct`): resolves the FixedFile. */
    openat2(path: PathArg, how: OpenHow | number | undefined, options: CommonOptions & { dirfd?: number } & Direct): Promise<FixedFile>;
    /** openat2(2): resolves the new fd. */
    openat2(...args: Args<'openat2'>): Promise<number>;
    /** Resolves the bytes moved (0 at end of input); fewer than `length` fails the request in the kernel's eyes, so a short splice breaks a link. */
    splice(...args: Args<'splice'>): Promise<number>;
    /** Resolves the bytes duplicated. */
    tee(...args: Args<'tee'>): Promise<number>;
    ftruncate(...args: Args<'ftruncate'>): Promise<void>;
    /** pipe2(2) into slots (`direct`): resolves [readEnd, writeEnd] as FixedFile. */
    pipe(options: CommonOptions & PipeOptions & Direct): Promise<[FixedFile, FixedFile]>;
    /** pipe2(2): resolves [readFd, writeFd] (O_CLOEXEC). */
    pipe(...args: Args<'pipe'>): Promise<[number, number]>;
    renameat(...args: Args<'renameat'>): Promise<void>;
    unlinkat(...args: Args<'unlinkat'>): Promise<void>;
    mkdirat(...args: Args<'mkdirat'>): Promise<void>;
    symlinkat(...args: Args<'symlinkat'>): Promise<void>;
    linkat(...args: Args<'linkat'>): Promise<void>;
    fsetxattr(...args: Args<'fsetxattr'>): Promise<void>;
    setxattr(...args: Args<'setxattr'>): Promise<void>;
    /** Resolves the value's size (value 0). */
    fgetxattr(fd: number, name: PathArg, value: 0, options?: CommonOptions): Promise<number>;
    /** Resolves the value's length, read into `value`. */
    fgetxattr(fd: number, name: PathArg, value: BufferLike, options?: CommonOptions): Promise<number>;
    /** Resolves the value (a Buffer of its length), read into an area of `size` bytes (default 65536). */
    fgetxattr(fd: number, name: PathArg, size?: number, options?: CommonOptions): Promise<Buffer>;
    getxattr(path: PathArg, name: PathArg, value: 0, options?: CommonOptions): Promise<number>;
    getxattr(path: PathArg, name: PathArg, value: BufferLike, options?: CommonOptions): Promise<number>;
    getxattr(path: PathArg, name: PathArg, size?: number, options?: CommonOptions): Promise<Buffer>;
  }
}

export type { FadviseAdvice, MadviseAdvice };
