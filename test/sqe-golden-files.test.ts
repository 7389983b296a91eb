/** Golden SQE bytes for the file and path builders (issue #12 item 1): the whole 64 bytes. No kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectSqe as sqe, eq } from './golden.js';
import { op, fixed, O, AT_FDCWD, SqeFlags, SPLICE_F, FALLOC_FL, RENAME, AT_REMOVEDIR, LINKAT_FLAGS, XATTR, PIPE_FLAGS, RESOLVE, SYNC_FILE_RANGE, type Sqe } from '../src/index.js';
import { viewAddress } from '../src/ring/memory.js';
import { systemPageSize } from '../src/ops/build-files.js';

const bytes = (s: Sqe) => Buffer.from(s.toBytes());
/** The NUL-terminated string at a 64-bit address field of the SQE (kept alive by the Sqe). */
function cstringAt(s: Sqe, at: number): string {
  const b = bytes(s);
  const addr = b.readBigUInt64LE(at);
  for (const k of s.keep ?? []) {
    if (!(k instanceof ArrayBuffer)) continue;
    const base = BigInt(viewAddress(new Uint8Array(k)));
    if (addr >= base && addr < base + BigInt(k.byteLength)) {
      const v = new Uint8Array(k, Number(addr - base));
      return Buffer.from(v.subarray(0, v.indexOf(0))).toString();
    }
  }
  throw new Error(`no kept buffer holds address 0x${addr.toString(16)}`);
}

test('syncFileRange: fd, offset in off, length in len, SYNC_FILE_RANGE_* in op flags', () => {
  eq(op.syncFileRange(5, 4096, 8192, SYNC_FILE_RANGE.WRITE | SYNC_FILE_RANGE.WAIT_AFTER).toBytes(), sqe({ opcode: 8, fd: 5, off: 4096n, len: 8192, opFlags: 6 }));
  eq(op.syncFileRange(fixed(3), 2n ** 40n, 0, 0).toBytes(), sqe({ opcode: 8, flags: SqeFlags.FIXED_FILE, fd: 3, off: 2n ** 40n }));
});

test('fallocate: offset in off, 64-bit length in addr, mode in len', () => {
  eq(op.fallocate(7, 100, 2n ** 33n).toBytes(), sqe({ opcode: 17, fd: 7, off: 100n, addr: 2n ** 33n }));
  eq(op.fallocate(7, 0, 4096, FALLOC_FL.PUNCH_HOLE | FALLOC_FL.KEEP_SIZE).toBytes(), sqe({ opcode: 17, fd: 7, addr: 4096n, len: 3 }));
});

test('fadvise: offset in off, a 32-bit length in len, a longer one in addr (6.11), advice in op flags', () => {
  eq(op.fadvise(4, 10, 20, 'willneed').toBytes(), sqe({ opcode: 24, fd: 4, off: 10n, len: 20, opFlags: 3 }));
  eq(op.fadvise(4, 0, 2n ** 32n, 'dontneed').toBytes(), sqe({ opcode: 24, fd: 4, addr: 2n ** 32n, opFlags: 4 }));
  eq(op.fadvise(4, 0, 0xffffffff, 2).toBytes(), sqe({ opcode: 24, fd: 4, len: 0xffffffff, opFlags: 2 }));
});

test('madvise: address of a page-aligned view in addr, its length in len, advice in op flags', () => {
  const page = systemPageSize();
  const ab = new ArrayBuffer(4 * page);
  const at = (page - (viewAddress(new Uint8Array(ab)) % page)) % page;
  const v = new Uint8Array(ab, at, 2 * page);
  eq(op.madvise(v, 'dontneed').toBytes(), sqe({ opcode: 25, addr: BigInt(viewAddress(v)), len: 2 * page, opFlags: 4 }));
  eq(op.madvise(v, 'cold').toBytes(), sqe({ opcode: 25, addr: BigInt(viewAddress(v)), len: 2 * page, opFlags: 20 }));
  assert.throws(() => op.madvise(new Uint8Array(ab, at + 1, page), 'dontneed'), /^RangeError: madvise\(\): "memory" must start on a page boundary and span whole pages/);
  assert.throws(() => op.madvise(new Uint8Array(ab, at, page + 1), 'willneed'), /whole pages/);
  assert.throws(() => op.madvise(v, 'hwpoison' as never), /^RangeError: madvise\(\): "advice" must be one of 'normal'/);
});

test('openat2: path at addr, struct open_how at off (flags | O_CLOEXEC, mode, resolve), len 24; direct: file_index, no O_CLOEXEC', () => {
  const s = op.openat2('/tmp/x', { flags: O.CREAT | O.WRONLY, mode: 0o600, resolve: RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS }, { dirfd: 9 });
  const b = bytes(s);
  eq(b, sqe({ opcode: 28, fd: 9, addr: b.readBigUInt64LE(16), off: b.readBigUInt64LE(8), len: 24 }));
  assert.equal(cstringAt(s, 16), '/tmp/x');
  const how = s.keep!.map((k) => Buffer.from(k as ArrayBuffer)).find((k) => k.length === 24 && BigInt(viewAddress(k)) === b.readBigUInt64LE(8))!;
  assert.equal(how.readBigUInt64LE(0), BigInt(O.CREAT | O.WRONLY | O.CLOEXEC));
  assert.equal(how.readBigUInt64LE(8), 0o600n);
  assert.equal(how.readBigUInt64LE(16), BigInt(RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS));
  const d = op.openat2('y', O.RDONLY, { direct: 4 });
  const db = bytes(d);
  eq(db, sqe({ opcode: 28, fd: AT_FDCWD, addr: db.readBigUInt64LE(16), off: db.readBigUInt64LE(8), len: 24, fileIndex: 5 }));
  const dh = d.keep!.map((k) => Buffer.from(k as ArrayBuffer)).find((k) => BigInt(viewAddress(k)) === db.readBigUInt64LE(8))!;
  assert.equal(dh.readBigUInt64LE(0), 0n, 'no O_CLOEXEC for a direct descriptor');
  assert.throws(() => op.openat2('y', O.CLOEXEC, { direct: 'auto' }), /^RangeError: openat2\(\): "how": O_CLOEXEC cannot be combined with "direct"/);
  assert.throws(() => op.openat2('y', { resolve: 0x40 }), /^RangeError: openat2\(\): "how"\.resolve must be a combination of RESOLVE\.NO_XDEV/);
});

test('splice: fd_out in fd, fd_in in splice_fd_in, off_in in addr, off_out in off (-1 = none), length, flags; FixedFile fd_in sets SPLICE_F_FD_IN_FIXED', () => {
  eq(op.splice(3, 4, 65536).toBytes(), sqe({ opcode: 30, fd: 4, fileIndex: 3, addr: -1n, off: -1n, len: 65536 }));
  eq(op.splice(3, 4, 100, { offIn: 8, offOut: 2n ** 35n, flags: SPLICE_F.MOVE | SPLICE_F.MORE }).toBytes(), sqe({ opcode: 30, fd: 4, fileIndex: 3, addr: 8n, off: 2n ** 35n, len: 100, opFlags: 5 }));
  eq(op.splice(fixed(2), fixed(6), 10, { flags: SPLICE_F.NONBLOCK }).toBytes(),
    sqe({ opcode: 30, flags: SqeFlags.FIXED_FILE, fd: 6, fileIndex: 2, addr: -1n, off: -1n, len: 10, opFlags: 0x80000000 | 2 }));
  assert.equal(op.splice(3, 4, 77).expect, 77, 'a short splice fails in the kernel: the chain model knows');
});

test('tee: like splice without offsets', () => {
  eq(op.tee(3, 4, 512).toBytes(), sqe({ opcode: 33, fd: 4, fileIndex: 3, len: 512 }));
  eq(op.tee(fixed(1), 4, 512, { flags: SPLICE_F.NONBLOCK }).toBytes(), sqe({ opcode: 33, fd: 4, fileIndex: 1, len: 512, opFlags: 0x80000002 }));
});

test('ftruncate: the new length in off', () => {
  eq(op.ftruncate(8, 12345).toBytes(), sqe({ opcode: 55, fd: 8, off: 12345n }));
  eq(op.ftruncate(fixed(0), 2n ** 50n).toBytes(), sqe({ opcode: 55, flags: SqeFlags.FIXED_FILE, off: 2n ** 50n }));
});

test('pipe: int[2] at addr, O_CLOEXEC | flags in op flags; direct: file_index = slot + 1 (ALLOC for auto), no O_CLOEXEC', () => {
  const s = op.pipe();
  const b = bytes(s);
  eq(b, sqe({ opcode: 62, addr: b.readBigUInt64LE(16), opFlags: O.CLOEXEC }));
  assert.ok(b.readBigUInt64LE(16) !== 0n);
  const n = bytes(op.pipe({ flags: PIPE_FLAGS.NONBLOCK }));
  eq(n, sqe({ opcode: 62, addr: n.readBigUInt64LE(16), opFlags: O.CLOEXEC | O.NONBLOCK }));
  const d = bytes(op.pipe({ direct: 3 }));
  eq(d, sqe({ opcode: 62, addr: d.readBigUInt64LE(16), fileIndex: 4 }));
  const a = bytes(op.pipe({ direct: 'auto', flags: PIPE_FLAGS.DIRECT }));
  eq(a, sqe({ opcode: 62, addr: a.readBigUInt64LE(16), fileIndex: 0xffffffff, opFlags: O.DIRECT }));
});

test('renameat and linkat: old dirfd in fd, old path at addr, new path at off, new dirfd in len, flags', () => {
  const r = op.renameat('a', 'b', { oldDirfd: 5, newDirfd: 6, flags: RENAME.NOREPLACE });
  const rb = bytes(r);
  eq(rb, sqe({ opcode: 35, fd: 5, addr: rb.readBigUInt64LE(16), off: rb.readBigUInt64LE(8), len: 6, opFlags: 1 }));
  assert.deepEqual([cstringAt(r, 16), cstringAt(r, 8)], ['a', 'b']);
  const d = bytes(op.renameat('a', 'b'));
  eq(d, sqe({ opcode: 35, fd: AT_FDCWD, addr: d.readBigUInt64LE(16), off: d.readBigUInt64LE(8), len: AT_FDCWD }));
  const l = op.linkat('x', 'y', { flags: LINKAT_FLAGS.SYMLINK_FOLLOW, newDirfd: 3 });
  const lb = bytes(l);
  eq(lb, sqe({ opcode: 39, fd: AT_FDCWD, addr: lb.readBigUInt64LE(16), off: lb.readBigUInt64LE(8), len: 3, opFlags: 0x400 }));
  assert.deepEqual([cstringAt(l, 16), cstringAt(l, 8)], ['x', 'y']);
});

test('unlinkat, mkdirat, symlinkat', () => {
  const u = bytes(op.unlinkat('d', { dirfd: 4, removeDir: true }));
  eq(u, sqe({ opcode: 36, fd: 4, addr: u.readBigUInt64LE(16), opFlags: AT_REMOVEDIR }));
  const u2 = bytes(op.unlinkat('f', { removeDir: false }));
  eq(u2, sqe({ opcode: 36, fd: AT_FDCWD, addr: u2.readBigUInt64LE(16) }));
  const m = bytes(op.mkdirat('d'));
  eq(m, sqe({ opcode: 37, fd: AT_FDCWD, addr: m.readBigUInt64LE(16), len: 0o777 }));
  const m2 = bytes(op.mkdirat('d', 0o700, { dirfd: 9 }));
  eq(m2, sqe({ opcode: 37, fd: 9, addr: m2.readBigUInt64LE(16), len: 0o700 }));
  const s = op.symlinkat('target', 'link', { dirfd: 7 });
  const sb = bytes(s);
  eq(sb, sqe({ opcode: 38, fd: 7, addr: sb.readBigUInt64LE(16), off: sb.readBigUInt64LE(8) }));
  assert.deepEqual([cstringAt(s, 16), cstringAt(s, 8)], ['target', 'link']);
});

test('xattrs: name at addr, value at off, size in len, XATTR_* flags; path ones put the path at addr3', () => {
  const v = Buffer.from('value');
  const fs = op.fsetxattr(6, 'user.k', v, { flags: XATTR.CREATE });
  const fb = bytes(fs);
  eq(fb, sqe({ opcode: 41, fd: 6, addr: fb.readBigUInt64LE(16), off: BigInt(viewAddress(v)), len: 5, opFlags: 1 }));
  assert.equal(cstringAt(fs, 16), 'user.k');
  const ss = op.setxattr('/p', 'user.k', v, { flags: XATTR.REPLACE });
  const sb = bytes(ss);
  eq(sb, sqe({ opcode: 42, addr: sb.readBigUInt64LE(16), off: BigInt(viewAddress(v)), len: 5, opFlags: 2, addr3: sb.readBigUInt64LE(48) }));
  assert.deepEqual([cstringAt(ss, 16), cstringAt(ss, 48)], ['user.k', '/p']);
  const out = Buffer.alloc(100);
  const fg = bytes(op.fgetxattr(6, 'user.k', out));
  eq(fg, sqe({ opcode: 43, fd: 6, addr: fg.readBigUInt64LE(16), off: BigInt(viewAddress(out)), len: 100 }));
  const size = bytes(op.getxattr('/p', 'user.k', 0));
  eq(size, sqe({ opcode: 44, addr: size.readBigUInt64LE(16), addr3: size.readBigUInt64LE(48) }));
  const g = bytes(op.getxattr('/p', 'user.k'));
  eq(g, sqe({ opcode: 44, addr: g.readBigUInt64LE(16), off: g.readBigUInt64LE(8), len: 65536, addr3: g.readBigUInt64LE(48) }));
  assert.throws(() => op.fsetxattr(fixed(1) as never, 'user.k', v), /^TypeError: fsetxattr\(\): "fd" cannot be a FixedFile: IORING_OP_FSETXATTR takes process fds only/);
  assert.throws(() => op.getxattr('/p', 'u'.repeat(256)), /^RangeError: getxattr\(\): "name" must be 1 to 255 bytes, got 256/);
  assert.throws(() => op.setxattr('/p', 'user.k', Buffer.alloc(65537)), /^RangeError: setxattr\(\): "value" must be at most 65536 bytes/);
});

test('bad arguments name the parameter (a sample; test/security/input-sweep.test.ts walks every kind)', () => {
  assert.throws(() => op.fallocate(3, -1, 10), /^RangeError: fallocate\(\): "offset" must be in \[0, 2\^53 - 1\] as a number or \[0, 2\^63 - 1\] as a bigint, got -1/);
  assert.throws(() => op.fadvise(3, 0, 0, 'soon' as never), /^RangeError: fadvise\(\): "advice" must be one of 'normal', 'random'/);
  assert.throws(() => op.splice(3, 4, -5), /^RangeError: splice\(\): "length" must be in \[0, 4294967295\]/);
  assert.throws(() => op.splice('3' as never, 4, 5), /^TypeError: splice\(\): "fdIn" must be an integer \(a process fd\) or a FixedFile/);
  assert.throws(() => op.splice(3, 4, 5, { flags: 0x80000000 }), /^RangeError: splice\(\): "flags" must be in/);
  assert.throws(() => op.renameat('a', 'b', { flags: 8 }), /^RangeError: renameat\(\): "flags" must be a combination of NOREPLACE \(0x1\), EXCHANGE \(0x2\), WHITEOUT \(0x4\)/);
  assert.throws(() => op.unlinkat('a', { removeDir: 1 as never }), /^TypeError: unlinkat\(\): "removeDir" must be a boolean/);
  assert.throws(() => op.linkat('a', 'b', { newDirfd: -5 }), /^RangeError: linkat\(\): "newDirfd" must be AT_FDCWD/);
  assert.throws(() => op.pipe({ flags: O.CLOEXEC }), /^RangeError: pipe\(\): "flags" must be a combination of NONBLOCK/);
  assert.throws(() => op.getxattr('/p', 'user.k', 'x' as never), /^TypeError: getxattr\(\): "value" must be a buffer to read the value into, a size in \[0, 65536\]/);
  assert.throws(() => op.ftruncate(3, 2n ** 63n), /^RangeError: ftruncate\(\): "length" must be/);
});
