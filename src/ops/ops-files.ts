/** Opcodes on files and paths (read/write, open/close, statx, sync, xattrs, splice, …). */
import { type SqeUse, type ProgramPermit, type FieldUse, ZERO, IGNORED, PERSONALITY, PATH_MEM, UIO_MAXIOV, scalar, flags, when, mem, allBits, RWF_FLAGS, FSYNC_FLAGS, OPEN_FLAGS, RESOLVE_FLAGS, STATX_FLAGS, RW_ATTR_FLAGS } from './sqe-fields.js';
import { type OpDesc, type FlagSince, fd, position, rwFlags, dirfd, UNUSED } from './desc.js';
import { O } from '../ring/abi.js';
import { SYNC_FILE_RANGE, POSIX_FADV, MADV, SPLICE_F, SPLICE_F_FD_IN_FIXED, PIPE_FLAGS } from './file-abi.js';

/** splice/tee: flags and the input fd (splice.c __io_splice_prep, 6.18; buf_index is not read). */
const SPLICE_FIELDS = {
  opFlags: flags({ ...SPLICE_F, FD_IN_FIXED: SPLICE_F_FD_IN_FIXED }),
  fileIndex: when('opFlags', SPLICE_F_FD_IN_FIXED, scalar('fd_in: a registered file slot'), { use: 'fd', doc: 'fd_in' }),
  bufIndex: IGNORED,
} satisfies Partial<SqeUse['fields']>;

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
    name: 'statx', code: 21, constant: 'STATX', since: '5.6', liburing: 'io_uring_prep_statx', result: 'statx', errorKeepsLink: true,
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
  {
    name: 'openat2', code: 28, constant: 'OPENAT2', since: '5.6', liburing: 'io_uring_prep_openat2', result: 'number', cancellable: true,
    params: [
      { name: 'path', kind: 'path', field: 'addr', positional: true, doc: 'path (relative to dirfd)' },
      {
        name: 'how', kind: 'openHow', field: 'off', positional: true, optional: true, default: 0,
        doc: 'struct open_how: { flags, mode, resolve } (O_*, permissions for O_CREAT/O_TMPFILE, RESOLVE.*), or just the O_* flags; O_CLOEXEC is added (not with `direct`)',
      },
      dirfd,
      { name: 'direct', kind: 'direct', field: 'fileIndex', optional: true, doc: "open into this slot of the registered file table, or 'auto'; resolves the FixedFile (no O_CLOEXEC)" },
    ],
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
    doc: 'openat2(2): open with struct open_how (RESOLVE_* flags); res = the new fd (with `direct`: the FixedFile slot it filled).',
  },
  {
    name: 'syncFileRange', code: 8, constant: 'SYNC_FILE_RANGE', since: '5.2', liburing: 'io_uring_prep_sync_file_range', result: 'void', errorKeepsLink: true,
    params: [
      fd,
      { name: 'offset', kind: 'offset', field: 'off', positional: true, doc: 'start of the range' },
      { name: 'length', kind: 'u32', field: 'len', positional: true, doc: 'bytes in the range; 0 = to the end of the file' },
      { name: 'flags', kind: 'bitmask', field: 'opFlags', positional: true, values: SYNC_FILE_RANGE, doc: 'SYNC_FILE_RANGE.WAIT_BEFORE | WRITE | WAIT_AFTER (0 does nothing)' },
    ],
    sqe: fdOp('io_uring/sync.c io_sfr_prep (6.18)', { off: scalar('range start'), addr: ZERO, len: scalar('range length (0 = to the end)'), opFlags: flags(SYNC_FILE_RANGE) }),
    doc: 'sync_file_range(2): start and/or wait for writeback of a range.',
  },
  {
    name: 'fallocate', code: 17, constant: 'FALLOCATE', since: '5.6', liburing: 'io_uring_prep_fallocate', result: 'void', errorKeepsLink: true,
    params: [
      fd,
      { name: 'offset', kind: 'offset', field: 'off', positional: true, doc: 'start of the range' },
      { name: 'length', kind: 'offset', field: 'addr', positional: true, doc: 'bytes in the range (> 0)' },
      { name: 'mode', kind: 'u32', field: 'len', positional: true, optional: true, default: 0, doc: 'FALLOC_FL_* (0: allocate, growing the file)' },
    ],
    sqe: fdOp('io_uring/sync.c io_fallocate_prep (6.18)', { off: scalar('offset'), addr: scalar('length (64-bit)'), len: scalar('FALLOC_FL_* mode'), opFlags: ZERO }),
    doc: 'fallocate(2): allocate, punch or zero a range of a file.',
  },
  {
    name: 'fadvise', code: 24, constant: 'FADVISE', since: '5.6', liburing: 'io_uring_prep_fadvise', result: 'void',
    params: [
      fd,
      { name: 'offset', kind: 'offset', field: 'off', positional: true, doc: 'start of the range' },
      { name: 'length', kind: 'length64', field: 'len', lengthField: 'addr', positional: true, doc: 'bytes in the range; 0 = to the end of the file (over 4 GiB: Linux 6.11+)' },
      { name: 'advice', kind: 'choice', field: 'opFlags', positional: true, values: POSIX_FADV, doc: "POSIX_FADV_*: 'normal', 'random', 'sequential', 'willneed', 'dontneed', 'noreuse'" },
    ],
    sqe: fdOp('io_uring/advise.c io_fadvise_prep (6.11+: addr = 64-bit length)', { off: scalar('offset'), addr: scalar('64-bit length (6.11; 0: len)'), len: scalar('length'), opFlags: scalar('POSIX_FADV_* advice') }),
    doc: 'posix_fadvise(2): declare an access pattern for a range of a file.',
  },
  {
    name: 'madvise', code: 25, constant: 'MADVISE', since: '5.6', liburing: 'io_uring_prep_madvise', result: 'void',
    params: [
      {
        name: 'memory', kind: 'pageRange', field: 'addr', lengthField: 'off', positional: true,
        doc: 'whole pages of JS memory: a view that starts on a page boundary and spans whole pages (the kernel rounds the length up)',
      },
      { name: 'advice', kind: 'choice', field: 'opFlags', positional: true, values: MADV, doc: "MADV_*: 'willneed', 'dontneed', 'cold', 'pageout', 'hugepage', … (not the ones that make pages fault)" },
    ],
    sqe: {
      source: 'io_uring/advise.c io_madvise_prep (6.11+: off = 64-bit length)',
      fields: { ...UNUSED, fd: IGNORED, off: scalar('64-bit length (6.11; 0: len)'), addr: scalar('start address (page-aligned)'), len: scalar('length'), opFlags: scalar('MADV_* advice'), bufIndex: ZERO, fileIndex: ZERO },
    },
    doc: 'madvise(2) on memory of this process (a view over whole pages).',
  },
  {
    name: 'splice', code: 30, constant: 'SPLICE', since: '5.7', liburing: 'io_uring_prep_splice', result: 'number', cancellable: true,
    params: [
      { name: 'fdIn', kind: 'spliceFdIn', field: 'fileIndex', positional: true, doc: 'source: a process fd or a FixedFile (SPLICE_F_FD_IN_FIXED)' },
      { ...fd, name: 'fdOut', doc: 'destination: a process fd or a FixedFile' },
      { name: 'length', kind: 'byteCount', field: 'len', positional: true, doc: 'bytes to move; fewer fail the request (a short splice breaks a link)' },
      { ...position, name: 'offIn', field: 'addr', positional: false, doc: 'offset in fdIn; omitted or -1 = its file position (a pipe takes none)' },
      { ...position, name: 'offOut', positional: false, doc: 'offset in fdOut; omitted or -1 = its file position (a pipe takes none)' },
      { name: 'flags', kind: 'bitmask', field: 'opFlags', optional: true, default: 0, values: SPLICE_F, doc: 'SPLICE_F.MOVE | NONBLOCK | MORE | GIFT' },
    ],
    sqe: fdOp('io_uring/splice.c io_splice_prep (6.18)', { off: scalar('off_out; -1 = file position'), addr: scalar('off_in; -1 = file position'), len: scalar('bytes'), ...SPLICE_FIELDS }),
    doc: 'splice(2): move bytes between a pipe and a file or socket; res = bytes moved.',
  },
  {
    name: 'tee', code: 33, constant: 'TEE', since: '5.8', liburing: 'io_uring_prep_tee', result: 'number', cancellable: true,
    params: [
      { name: 'fdIn', kind: 'spliceFdIn', field: 'fileIndex', positional: true, doc: 'source pipe: a process fd or a FixedFile' },
      { ...fd, name: 'fdOut', doc: 'destination pipe: a process fd or a FixedFile' },
      { name: 'length', kind: 'byteCount', field: 'len', positional: true, doc: 'bytes to duplicate; fewer fail the request' },
      { name: 'flags', kind: 'bitmask', field: 'opFlags', optional: true, default: 0, values: SPLICE_F, doc: 'SPLICE_F.NONBLOCK, …' },
    ],
    sqe: fdOp('io_uring/splice.c io_tee_prep (6.18)', { off: ZERO, addr: ZERO, len: scalar('bytes'), ...SPLICE_FIELDS }),
    doc: 'tee(2): duplicate bytes of one pipe into another without consuming them; res = bytes.',
  },
  {
    name: 'ftruncate', code: 55, constant: 'FTRUNCATE', since: '6.9', liburing: 'io_uring_prep_ftruncate', result: 'void', errorKeepsLink: true,
    params: [fd, { name: 'length', kind: 'offset', field: 'off', positional: true, doc: 'the new file size' }],
    sqe: fdOp('io_uring/truncate.c io_ftruncate_prep (6.9)', { off: scalar('new length'), addr: ZERO, len: ZERO, opFlags: ZERO, addr3: ZERO }),
    doc: 'ftruncate(2).',
  },
  {
    name: 'pipe', code: 62, constant: 'PIPE', since: '6.16', liburing: 'io_uring_prep_pipe', result: 'void',
    params: [
      { name: 'flags', kind: 'bitmask', field: 'opFlags', optional: true, values: PIPE_FLAGS, doc: 'PIPE_FLAGS.NONBLOCK | DIRECT | NOTIFICATION_PIPE; O_CLOEXEC is added (not with `direct`)' },
      {
        name: 'direct', kind: 'direct', field: 'fileIndex', optional: true, excludesOpFlags: O.CLOEXEC,
        doc: "put the ends into slots of the registered file table: slot n (read end) and n + 1 (write end), or 'auto' (two free ones); resolves two FixedFile",
      },
      { name: 'fds', kind: 'pipeFds', field: 'addr', optional: true, internal: true, doc: 'internal: the int[2] the kernel fills' },
    ],
    alwaysOpFlags: O.CLOEXEC,
    sqe: {
      source: 'io_uring/openclose.c io_pipe_prep, io_pipe (6.18, raspberrypi/linux @656a52a8)',
      fields: {
        ...UNUSED,
        fd: ZERO,
        off: ZERO,
        addr: mem({ what: 'int fds[2]', access: 'write', when: 'complete', size: { bytes: 8 } }),
        len: IGNORED,
        opFlags: flags({ CLOEXEC: O.CLOEXEC, ...PIPE_FLAGS }),
        fileIndex: scalar('direct descriptor slot + 1 of the read end (the write end: the next), or IORING_FILE_INDEX_ALLOC'),
        addr3: ZERO,
      },
      fdEffect: 'opens',
      slotEffect: 'fileIndex',
      slots: 2,
    },
    doc: 'pipe2(2); resolves [readFd, writeFd] (with `direct`: two FixedFile).',
  },
];

/** SQE fields of an op on the file in `fd` (a process fd or, with IOSQE_FIXED_FILE, a slot). */
function fdOp(source: string, f: Partial<SqeUse['fields']>): SqeUse {
  return { source, fixedFile: 'slot', fields: { ...UNUSED, fd: { use: 'fd', doc: 'the file' }, bufIndex: ZERO, fileIndex: ZERO, off: ZERO, addr: ZERO, len: ZERO, opFlags: ZERO, ...f } };
}
