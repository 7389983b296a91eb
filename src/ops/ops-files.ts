/** Opcodes on files and paths (read/write, open/close, statx, sync, xattrs, splice, …). */
import { type SqeUse, type ProgramPermit, type FieldUse, ZERO, IGNORED, PERSONALITY, PATH_MEM, UIO_MAXIOV, scalar, flags, when, mem, allBits, RWF_FLAGS, FSYNC_FLAGS, OPEN_FLAGS, RESOLVE_FLAGS, STATX_FLAGS, RW_ATTR_FLAGS } from './sqe-fields.js';
import { type OpDesc, type FlagSince, fd, position, rwFlags, dirfd, UNUSED } from './desc.js';
import { O } from '../ring/abi.js';

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

export const FILE_OPS: readonly OpDesc[] = [
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
  { name: 'syncFileRange', code: 8, constant: 'SYNC_FILE_RANGE', since: '5.2', liburing: 'io_uring_prep_sync_file_range', doc: 'sync_file_range(2)' },
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
  { name: 'splice', code: 30, constant: 'SPLICE', since: '5.7', liburing: 'io_uring_prep_splice', doc: 'splice(2)' },
  { name: 'tee', code: 33, constant: 'TEE', since: '5.8', liburing: 'io_uring_prep_tee', doc: 'tee(2)' },
  { name: 'renameat', code: 35, constant: 'RENAMEAT', since: '5.11', liburing: 'io_uring_prep_renameat', doc: 'renameat2(2)' },
  { name: 'unlinkat', code: 36, constant: 'UNLINKAT', since: '5.11', liburing: 'io_uring_prep_unlinkat', doc: 'unlinkat(2)' },
  { name: 'mkdirat', code: 37, constant: 'MKDIRAT', since: '5.15', liburing: 'io_uring_prep_mkdirat', doc: 'mkdirat(2)' },
  { name: 'symlinkat', code: 38, constant: 'SYMLINKAT', since: '5.15', liburing: 'io_uring_prep_symlinkat', doc: 'symlinkat(2)' },
  { name: 'linkat', code: 39, constant: 'LINKAT', since: '5.15', liburing: 'io_uring_prep_linkat', doc: 'linkat(2)' },
  { name: 'fsetxattr', code: 41, constant: 'FSETXATTR', since: '5.19', liburing: 'io_uring_prep_fsetxattr', doc: 'fsetxattr(2)' },
  { name: 'setxattr', code: 42, constant: 'SETXATTR', since: '5.19', liburing: 'io_uring_prep_setxattr', doc: 'setxattr(2)' },
  { name: 'fgetxattr', code: 43, constant: 'FGETXATTR', since: '5.19', liburing: 'io_uring_prep_fgetxattr', doc: 'fgetxattr(2)' },
  { name: 'getxattr', code: 44, constant: 'GETXATTR', since: '5.19', liburing: 'io_uring_prep_getxattr', doc: 'getxattr(2)' },
  { name: 'ftruncate', code: 55, constant: 'FTRUNCATE', since: '6.9', liburing: 'io_uring_prep_ftruncate', doc: 'ftruncate(2)' },
  { name: 'pipe', code: 62, constant: 'PIPE', since: '6.16', liburing: 'io_uring_prep_pipe', doc: 'pipe2(2) (direct descriptors too)' },
];
