/**
 * Opcodes on paths and extended attributes: renameat2, unlinkat, mkdirat, symlinkat, linkat
 * (io_uring/fs.c) and fsetxattr/setxattr/fgetxattr/getxattr (io_uring/xattr.c). Each prep reads
 * the paths and names while the request is submitted (getname, strncpy_from_user) and runs the
 * operation in io-wq (REQ_F_FORCE_ASYNC). Sources: the 6.18-era io_uring/fs.c and xattr.c of
 * torvalds/linux (the SQE layout is unchanged since 5.15 / 5.19).
 */
import { type SqeUse, type FieldUse, ZERO, IGNORED, PATH_MEM, PATH_MAX, scalar, flags, mem } from './sqe-fields.js';
import { type OpDesc, type ParamDesc, dirfd, UNUSED } from './desc.js';
import { RENAME, AT_REMOVEDIR, LINKAT_FLAGS, XATTR, XATTR_NAME_MAX, XATTR_SIZE_MAX } from './file-abi.js';

const oldPath: ParamDesc = { name: 'oldPath', kind: 'path', field: 'addr', positional: true, doc: 'existing path (relative to oldDirfd)' };
const newPath: ParamDesc = { name: 'newPath', kind: 'path', field: 'off', positional: true, doc: 'new path (relative to newDirfd)' };
const oldDirfd: ParamDesc = { ...dirfd, name: 'oldDirfd', doc: 'directory fd for a relative oldPath; default AT_FDCWD' };
const newDirfd: ParamDesc = { ...dirfd, name: 'newDirfd', field: 'len', doc: 'directory fd for a relative newPath; default AT_FDCWD' };

/** SQE fields of a path op (fs.c: the kernel refuses IOSQE_FIXED_FILE with -EBADF, buf_index and splice_fd_in must be 0). */
function pathOp(source: string, f: Partial<SqeUse['fields']>): SqeUse {
  return { source, fixedFile: 'refused', fields: { ...UNUSED, fd: { use: 'dirfd' }, addr: PATH_MEM, off: ZERO, len: ZERO, opFlags: ZERO, bufIndex: ZERO, fileIndex: ZERO, ...f } };
}

const XATTR_NAME: FieldUse = mem({ what: 'attribute name', access: 'read', when: 'submit', size: { cstring: XATTR_NAME_MAX + 1 } });
const xattrValue = (access: 'read' | 'write'): FieldUse =>
  mem({ what: 'attribute value', access, when: access === 'read' ? 'submit' : 'complete', size: { slot: 'len', times: 1, max: XATTR_SIZE_MAX } });

/** SQE fields of an xattr op (xattr.c __io_{get,set}xattr_prep; IOSQE_FIXED_FILE: -EBADF). */
function xattrOp(source: string, onPath: boolean, set: boolean): SqeUse {
  return {
    source,
    fixedFile: 'refused',
    fields: {
      ...UNUSED,
      fd: onPath ? IGNORED : { use: 'fd', doc: 'the file' },
      addr: XATTR_NAME,
      off: xattrValue(set ? 'read' : 'write'),
      len: scalar('value size'),
      opFlags: set ? flags(XATTR) : ZERO,
      addr3: onPath ? PATH_MEM : IGNORED,
    },
  };
}

const name: ParamDesc = { name: 'name', kind: 'xattrName', field: 'addr', positional: true, doc: `attribute name with its namespace ("user.x"), 1 to ${XATTR_NAME_MAX} bytes` };
const setValue: ParamDesc = { name: 'value', kind: 'xattrValue', field: 'off', positional: true, doc: `the value (at most ${XATTR_SIZE_MAX} bytes)` };
const setFlags: ParamDesc = { name: 'flags', kind: 'bitmask', field: 'opFlags', optional: true, default: 0, values: XATTR, doc: 'XATTR.CREATE (fail if it exists) or XATTR.REPLACE (fail if it does not)' };
const getValue: ParamDesc = {
  name: 'value', kind: 'xattrOut', field: 'off', positional: true, optional: true, default: XATTR_SIZE_MAX,
  doc: `a buffer the value is read into (resolves its length), a size to allocate (resolves a Buffer of the value; default ${XATTR_SIZE_MAX}), or 0 (resolves the value's size)`,
};
const filePath: ParamDesc = { name: 'path', kind: 'path', field: 'addr3', positional: true, doc: 'the file (symlinks followed)' };
const file: ParamDesc = { name: 'fd', kind: 'fd', field: 'fd', positional: true, doc: 'the file: a process fd (the kernel refuses registered files here)' };

export const PATH_OPS: readonly OpDesc[] = [
  {
    name: 'renameat', code: 35, constant: 'RENAMEAT', since: '5.11', liburing: 'io_uring_prep_renameat', result: 'void', errorKeepsLink: true,
    params: [oldPath, newPath, oldDirfd, newDirfd, { name: 'flags', kind: 'bitmask', field: 'opFlags', optional: true, default: 0, values: RENAME, doc: 'RENAME.NOREPLACE | EXCHANGE | WHITEOUT' }],
    sqe: pathOp('io_uring/fs.c io_renameat_prep', { off: PATH_MEM, len: { use: 'dirfd' }, opFlags: flags(RENAME) }),
    doc: 'renameat2(2).',
  },
  {
    name: 'unlinkat', code: 36, constant: 'UNLINKAT', since: '5.11', liburing: 'io_uring_prep_unlinkat', result: 'void', errorKeepsLink: true,
    params: [
      { name: 'path', kind: 'path', field: 'addr', positional: true, doc: 'path (relative to dirfd)' },
      dirfd,
      { name: 'removeDir', kind: 'flag', field: 'opFlags', bit: AT_REMOVEDIR, optional: true, doc: 'AT_REMOVEDIR: remove an empty directory (rmdir) instead of a file' },
    ],
    sqe: pathOp('io_uring/fs.c io_unlinkat_prep', { opFlags: flags({ REMOVEDIR: AT_REMOVEDIR }) }),
    doc: 'unlinkat(2): unlink a file, or rmdir with removeDir.',
  },
  {
    name: 'mkdirat', code: 37, constant: 'MKDIRAT', since: '5.15', liburing: 'io_uring_prep_mkdirat', result: 'void', errorKeepsLink: true,
    params: [
      { name: 'path', kind: 'path', field: 'addr', positional: true, doc: 'path (relative to dirfd)' },
      { name: 'mode', kind: 'u32', field: 'len', positional: true, optional: true, default: 0o777, doc: 'permissions (before the umask); default 0o777' },
      dirfd,
    ],
    sqe: pathOp('io_uring/fs.c io_mkdirat_prep', { len: scalar('mode') }),
    doc: 'mkdirat(2).',
  },
  {
    name: 'symlinkat', code: 38, constant: 'SYMLINKAT', since: '5.15', liburing: 'io_uring_prep_symlinkat', result: 'void', errorKeepsLink: true,
    params: [
      { name: 'target', kind: 'path', field: 'addr', positional: true, doc: 'what the link points to (stored as is)' },
      { name: 'linkPath', kind: 'path', field: 'off', positional: true, doc: 'the link to create (relative to dirfd)' },
      { ...dirfd, doc: 'directory fd for a relative linkPath; default AT_FDCWD' },
    ],
    sqe: pathOp('io_uring/fs.c io_symlinkat_prep', { addr: mem({ what: 'link target', access: 'read', when: 'submit', size: { cstring: PATH_MAX } }), off: PATH_MEM }),
    doc: 'symlinkat(2).',
  },
  {
    name: 'linkat', code: 39, constant: 'LINKAT', since: '5.15', liburing: 'io_uring_prep_linkat', result: 'void', errorKeepsLink: true,
    params: [oldPath, newPath, oldDirfd, newDirfd, { name: 'flags', kind: 'bitmask', field: 'opFlags', optional: true, default: 0, values: LINKAT_FLAGS, doc: 'AT_SYMLINK_FOLLOW, AT_EMPTY_PATH' }],
    sqe: pathOp('io_uring/fs.c io_linkat_prep', { off: PATH_MEM, len: { use: 'dirfd' }, opFlags: flags(LINKAT_FLAGS) }),
    doc: 'linkat(2): a hard link.',
  },
  {
    name: 'fsetxattr', code: 41, constant: 'FSETXATTR', since: '5.19', liburing: 'io_uring_prep_fsetxattr', result: 'void', errorKeepsLink: true,
    params: [file, name, setValue, setFlags],
    sqe: xattrOp('io_uring/xattr.c io_fsetxattr_prep', false, true),
    doc: 'fsetxattr(2).',
  },
  {
    name: 'setxattr', code: 42, constant: 'SETXATTR', since: '5.19', liburing: 'io_uring_prep_setxattr', result: 'void', errorKeepsLink: true,
    params: [filePath, name, setValue, setFlags],
    sqe: xattrOp('io_uring/xattr.c io_setxattr_prep', true, true),
    doc: 'setxattr(2) (symlinks followed).',
  },
  {
    name: 'fgetxattr', code: 43, constant: 'FGETXATTR', since: '5.19', liburing: 'io_uring_prep_fgetxattr', result: 'number', errorKeepsLink: true,
    params: [file, name, getValue],
    sqe: xattrOp('io_uring/xattr.c io_fgetxattr_prep', false, false),
    doc: 'fgetxattr(2); resolves the value (a Buffer), its length read into a given buffer, or its size (value 0).',
  },
  {
    name: 'getxattr', code: 44, constant: 'GETXATTR', since: '5.19', liburing: 'io_uring_prep_getxattr', result: 'number', errorKeepsLink: true,
    params: [filePath, name, getValue],
    sqe: xattrOp('io_uring/xattr.c io_getxattr_prep', true, false),
    doc: 'getxattr(2) (symlinks followed); resolves the value (a Buffer), its length read into a given buffer, or its size (value 0).',
  },
];
