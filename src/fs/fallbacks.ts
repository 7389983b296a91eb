/**
 * Which calls of ringflow/fs go through the ring and which fall back to node:fs/promises (or to
 * node:fs on the handle's fd) because io_uring has no operation for them. The one table;
 * docs/fs.md shows it (test/fs-surface.test.ts checks the two agree).
 */
export type Backend = 'ring' | 'node';

export interface BackendEntry {
  via: Backend;
  /** The io_uring ops used, or why node:fs does it. */
  how: string;
}

export const BACKENDS: Readonly<Record<string, BackendEntry>> = {
  open: { via: 'ring', how: 'IORING_OP_OPENAT' },
  readFile: { via: 'ring', how: 'OPENAT into a direct descriptor + READ 64 KiB + READ 1 byte in one submission (more READs for a longer file), CLOSE with the next submission' },
  writeFile: { via: 'ring', how: 'OPENAT + WRITE + CLOSE linked in one submission (with flush: OPENAT, WRITE…, FSYNC, CLOSE)' },
  appendFile: { via: 'ring', how: 'as writeFile, flag "a"' },
  stat: { via: 'ring', how: 'from the kernel\'s caches on the JS thread when it can answer without blocking (openat2 O_PATH + RESOLVE_CACHED, statx of that fd), else STATX' },
  lstat: { via: 'ring', how: 'as stat, with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW' },
  rename: { via: 'ring', how: 'RENAMEAT' },
  unlink: { via: 'ring', how: 'UNLINKAT' },
  rmdir: { via: 'ring', how: 'UNLINKAT with AT_REMOVEDIR (an options argument: node:fs/promises)' },
  mkdir: { via: 'ring', how: 'MKDIRAT (recursive: node:fs/promises)' },
  symlink: { via: 'ring', how: 'SYMLINKAT' },
  link: { via: 'ring', how: 'LINKAT' },
  truncate: { via: 'ring', how: 'OPENAT, FTRUNCATE (6.9+; before: node:fs ftruncate on the fd), CLOSE' },
  'FileHandle.read': { via: 'ring', how: 'READ (position null: offset -1, the file position)' },
  'FileHandle.readv': { via: 'ring', how: 'READV' },
  'FileHandle.write': { via: 'ring', how: 'WRITE' },
  'FileHandle.writev': { via: 'ring', how: 'WRITEV' },
  'FileHandle.readFile': { via: 'ring', how: 'STATX, READ…' },
  'FileHandle.writeFile': { via: 'ring', how: 'WRITE…' },
  'FileHandle.appendFile': { via: 'ring', how: 'WRITE…' },
  'FileHandle.stat': { via: 'ring', how: 'STATX with AT_EMPTY_PATH' },
  'FileHandle.truncate': { via: 'ring', how: 'FTRUNCATE (6.9+; before: node:fs ftruncate)' },
  'FileHandle.sync': { via: 'ring', how: 'FSYNC' },
  'FileHandle.datasync': { via: 'ring', how: 'FSYNC with IORING_FSYNC_DATASYNC' },
  'FileHandle.close': { via: 'ring', how: 'CLOSE' },
  'FileHandle.createReadStream': { via: 'ring', how: 'node:fs ReadStream whose reads are READ requests, the next chunk read ahead (regular files)' },
  'FileHandle.createWriteStream': { via: 'ring', how: "node:fs WriteStream whose writes are WRITE/WRITEV requests; like node's, a stream holds its handle open until it closes, so `fh.close()` under it lets its queued writes finish" },
  'FileHandle.readLines': { via: 'ring', how: 'readline over createReadStream' },
  'FileHandle.readableWebStream': { via: 'ring', how: 'byte ReadableStream over FileHandle.read' },
  'FileHandle.chmod': { via: 'node', how: 'no io_uring op: node:fs fchmod on the fd' },
  'FileHandle.chown': { via: 'node', how: 'no io_uring op: node:fs fchown on the fd' },
  'FileHandle.utimes': { via: 'node', how: 'no io_uring op: node:fs futimes on the fd' },
  access: { via: 'node', how: 'no io_uring op (faccessat)' },
  chmod: { via: 'node', how: 'no io_uring op (fchmodat)' },
  chown: { via: 'node', how: 'no io_uring op (fchownat)' },
  lchmod: { via: 'node', how: 'not on Linux (node rejects it too)' },
  lchown: { via: 'node', how: 'no io_uring op (fchownat)' },
  utimes: { via: 'node', how: 'no io_uring op (utimensat)' },
  lutimes: { via: 'node', how: 'no io_uring op (utimensat)' },
  copyFile: { via: 'node', how: "libuv's copyfile (ioctl FICLONE, sendfile, fchmod): no single ring op" },
  cp: { via: 'node', how: 'composite (node:fs/promises)' },
  glob: { via: 'node', how: 'composite (node:fs/promises), where the Node line has it' },
  mkdtemp: { via: 'node', how: 'no io_uring op (random name + mkdir retry loop in libuv)' },
  mkdtempDisposable: { via: 'node', how: 'as mkdtemp, where the Node line has it' },
  opendir: { via: 'node', how: 'no io_uring op (getdents)' },
  readdir: { via: 'node', how: 'no io_uring op (getdents)' },
  readlink: { via: 'node', how: 'no io_uring op (readlinkat)' },
  realpath: { via: 'node', how: 'no io_uring op' },
  rm: { via: 'node', how: 'composite (rimraf in node:fs/promises)' },
  statfs: { via: 'node', how: 'no io_uring op (statfs)' },
  watch: { via: 'node', how: 'inotify (node:fs/promises)' },
};

/** The table as markdown rows (docs/fs.md). */
export function backendTableMarkdown(): string {
  const rows = Object.entries(BACKENDS).map(([name, e]) => `| \`${name}\` | ${e.via === 'ring' ? 'ring' : 'node:fs'} | ${e.how} |`);
  return ['| call | runs on | how |', '|---|---|---|', ...rows].join('\n');
}
