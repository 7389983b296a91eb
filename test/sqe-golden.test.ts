/** Golden SQE bytes for each builder: the whole 64 bytes, field by field (Zig std habit). No kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectSqe as sqe, addr, eq } from './golden.js';
import { op, fixed, O, AT_FDCWD, SqeFlags } from '../src/index.js';
import { viewAddress } from '../src/ring/memory.js';


test('nop', () => {
  eq(op.nop().toBytes(7n), sqe({ opcode: 0, user: 7n }));
  eq(op.nop({ injectResult: -5 }).toBytes(), sqe({ opcode: 0, len: -5 >>> 0, opFlags: 1 }));
});

test('read: fd, buffer address and length, position (default -1), rw flags, user_data', () => {
  const buf = Buffer.alloc(4096);
  eq(op.read(3, buf, 8192).toBytes(0x1122334455667788n), sqe({ opcode: 22, fd: 3, addr: addr(buf), len: 4096, off: 8192n, user: 0x1122334455667788n }));
  eq(op.read(3, buf).toBytes(), sqe({ opcode: 22, fd: 3, addr: addr(buf), len: 4096, off: -1n }));
  eq(op.read(3, buf, 2n ** 40n, { offset: 100, length: 50, rwFlags: 8 }).toBytes(),
    sqe({ opcode: 22, fd: 3, addr: addr(buf) + 100n, len: 50, off: 2n ** 40n, opFlags: 8 }));
});

test('write with a FixedFile sets IOSQE_FIXED_FILE', () => {
  const u = new Uint32Array(4);
  eq(op.write(fixed(5), u, 0).toBytes(), sqe({ opcode: 23, flags: SqeFlags.FIXED_FILE, fd: 5, addr: addr(u), len: 16, off: 0n }));
});

test('readv/writev: iovec array holds each buffer address and length', () => {
  const a = Buffer.alloc(10), b = new Uint8Array(20);
  const s = op.readv(4, [a, b], 0);
  const bytes = Buffer.from(s.toBytes());
  assert.equal(bytes[0], 1);
  assert.equal(bytes.readUInt32LE(24), 2, 'len = iovec count');
  const iovAddr = bytes.readBigUInt64LE(16);
  assert.ok(iovAddr > 0n);
  const iov = s.keep!.find((k) => k instanceof ArrayBuffer && BigInt(viewAddress(new Uint8Array(k))) <= iovAddr) as ArrayBuffer;
  assert.ok(iov, 'iovec array kept alive');
  eq(op.writev(4, [a], 7).toBytes().subarray(0, 16), sqe({ opcode: 2, fd: 4, off: 7n }).subarray(0, 16));
});

test('fsync and fdatasync', () => {
  eq(op.fsync(9).toBytes(), sqe({ opcode: 3, fd: 9 }));
  eq(op.fsync(9, { fsyncFlags: 1 }).toBytes(), sqe({ opcode: 3, fd: 9, opFlags: 1 }));
});

test('openat: path pointer, flags | O_CLOEXEC, mode, dirfd AT_FDCWD; direct: file_index = slot + 1 without O_CLOEXEC', () => {
  const s = op.openat('/tmp/x', O.CREAT | O.WRONLY, 0o600);
  const b = Buffer.from(s.toBytes());
  const pathAddr = b.readBigUInt64LE(16);
  eq(b, sqe({ opcode: 18, fd: AT_FDCWD, addr: pathAddr, len: 0o600, opFlags: O.CREAT | O.WRONLY | O.CLOEXEC }));
  const s2 = op.openat('y', O.RDONLY, undefined, { dirfd: 7, direct: 2 });
  const b2 = Buffer.from(s2.toBytes());
  eq(b2, sqe({ opcode: 18, fd: 7, addr: b2.readBigUInt64LE(16), len: 0o666, fileIndex: 3 }));
  const b3 = Buffer.from(op.openat('y', O.RDWR, undefined, { direct: 'auto' }).toBytes());
  eq(b3, sqe({ opcode: 18, fd: AT_FDCWD, addr: b3.readBigUInt64LE(16), len: 0o666, opFlags: O.RDWR, fileIndex: 0xffffffff }));
});

test('close: a process fd in fd; a FixedFile as file_index = slot + 1 (no IOSQE_FIXED_FILE: CLOSE refuses it)', () => {
  eq(op.close(12).toBytes(), sqe({ opcode: 19, fd: 12 }));
  eq(op.close(fixed(0)).toBytes(), sqe({ opcode: 19, fileIndex: 1 }));
  eq(op.close(fixed(41)).toBytes(), sqe({ opcode: 19, fileIndex: 42 }));
});

test('filesUpdate: __s32 fd array at addr, count in len, first slot in off (IORING_FILE_INDEX_ALLOC for auto)', () => {
  const s = op.filesUpdate([5, null, -1, -2], 3);
  const b = Buffer.from(s.toBytes());
  eq(b, sqe({ opcode: 20, off: 3n, addr: b.readBigUInt64LE(16), len: 4 }));
  const arr = s.keep!.map((k) => new Int32Array(k as ArrayBuffer)).find((a) => a.length === 4);
  assert.deepEqual(Array.from(arr!), [5, -1, -1, -2], 'holes are -1, FILES_SKIP stays -2; kept alive');
  const a = Buffer.from(op.filesUpdate([7], 'auto').toBytes());
  eq(a, sqe({ opcode: 20, off: 0xffffffffn, addr: a.readBigUInt64LE(16), len: 1 }));
});

test('fixedFdInstall: IOSQE_FIXED_FILE with the slot in fd, install flags', () => {
  eq(op.fixedFdInstall(fixed(4)).toBytes(), sqe({ opcode: 54, flags: SqeFlags.FIXED_FILE, fd: 4 }));
  eq(op.fixedFdInstall(fixed(0), { installFlags: 1 }).toBytes(), sqe({ opcode: 54, flags: SqeFlags.FIXED_FILE, opFlags: 1 }));
});

test('FixedFile wherever the op takes one from the table: read, readv, writev, fsync', () => {
  const buf = Buffer.alloc(8);
  eq(op.read(fixed(2), buf, 0).toBytes(), sqe({ opcode: 22, flags: SqeFlags.FIXED_FILE, fd: 2, addr: addr(buf), len: 8 }));
  eq(op.fsync(fixed(9)).toBytes(), sqe({ opcode: 3, flags: SqeFlags.FIXED_FILE, fd: 9 }));
  for (const o of ['readv', 'writev'] as const) {
    const b = Buffer.from(op[o](fixed(1), [buf], 0).toBytes());
    assert.equal(b[1], SqeFlags.FIXED_FILE, o);
    assert.equal(b.readInt32LE(4), 1, o);
  }
});

test('statx: path at addr, buffer at off (addr2), mask in len, flags', () => {
  const b = Buffer.from(op.statx('/etc', { statxFlags: 0x100, mask: 0x7ff }).toBytes());
  eq(b, sqe({ opcode: 21, fd: AT_FDCWD, addr: b.readBigUInt64LE(16), off: b.readBigUInt64LE(8), len: 0x7ff, opFlags: 0x100 }));
  assert.notEqual(b.readBigUInt64LE(8), 0n);
});

test('timeout: timespec pointer, len 1, count in off, flags', () => {
  const s = op.timeout({ sec: 2, nsec: 5 }, { count: 3, timeoutFlags: 1 << 5 });
  const b = Buffer.from(s.toBytes());
  eq(b, sqe({ opcode: 11, addr: b.readBigUInt64LE(16), len: 1, off: 3n, opFlags: 1 << 5 }));
  const ts = s.keep!.map((k) => Buffer.from(k as ArrayBuffer)).find((x) => x.byteLength >= 16 && x.readBigInt64LE(0) === 2n);
  assert.ok(ts, 'timespec {2, 5} kept alive');
  const ms = Buffer.from(op.timeout(1500).keep![0] as ArrayBuffer);
  assert.deepEqual([ms.readBigInt64LE(0), ms.readBigInt64LE(8)], [1n, 500_000_000n], '1500 ms = 1 s + 500000000 ns');
});

test('asyncCancel and timeoutRemove: target user_data in addr', () => {
  eq(op.asyncCancel(0xabcdef0123n, { cancelFlags: 1 }).toBytes(), sqe({ opcode: 14, addr: 0xabcdef0123n, opFlags: 1 }));
  eq(op.timeoutRemove(42).toBytes(), sqe({ opcode: 12, addr: 42n }));
});

test('linkTimeout', () => {
  const b = Buffer.from(op.linkTimeout(10).toBytes());
  eq(b, sqe({ opcode: 15, addr: b.readBigUInt64LE(16), len: 1 }));
});

test('sqe flag setters', () => {
  const s = op.nop().link().drain().async().skipSuccess();
  assert.equal(s.flags, SqeFlags.IO_LINK | SqeFlags.IO_DRAIN | SqeFlags.ASYNC | SqeFlags.CQE_SKIP_SUCCESS);
  assert.equal(op.nop().hardlink().flags, SqeFlags.IO_HARDLINK);
  assert.equal(op.nop({ sqeFlags: SqeFlags.IO_LINK, personality: 3, ioprio: 2 }).toBytes()[1], SqeFlags.IO_LINK);
});

// ------------------------------------------------------------------ socket and buffer ops (what liburing's prep helpers write)

/** The address of the struct a builder allocated (held by the Sqe) at SQE byte offset `at`. */
const ptr = (b: Buffer, at: number) => b.readBigUInt64LE(at);
const heldBytes = (s: { keep?: object[] }, address: bigint, n: number): Buffer => {
  for (const k of s.keep ?? []) {
    if (!(k instanceof ArrayBuffer)) continue;
    const base = BigInt(viewAddress(new Uint8Array(k)));
    if (address >= base && address + BigInt(n) <= base + BigInt(k.byteLength)) return Buffer.from(k, Number(address - base), n);
  }
  throw new Error('not held');
};

test('socket: domain in fd, type | SOCK_CLOEXEC in off, protocol in len; direct: file_index, no CLOEXEC (io_uring_prep_socket[_direct])', () => {
  eq(op.socket('ipv4', 'stream').toBytes(), sqe({ opcode: 45, fd: 2, off: BigInt(1 | 0o2000000) }));
  eq(op.socket(10, 2, 17).toBytes(), sqe({ opcode: 45, fd: 10, off: BigInt(2 | 0o2000000), len: 17 }));
  eq(op.socket('unix', 'seqpacket', 0, { direct: 'auto' }).toBytes(), sqe({ opcode: 45, fd: 1, off: 5n, fileIndex: 0xffffffff }));
  eq(op.socket('ipv4', 1 | 0o4000, 0, { direct: 3 }).toBytes(), sqe({ opcode: 45, fd: 2, off: BigInt(1 | 0o4000), fileIndex: 4 }));
});

test('bind / connect: sockaddr pointer in addr, its length in off (io_uring_prep_bind / _connect); listen: backlog in len', () => {
  const s = op.bind(5, { family: 'ipv4', address: '127.0.0.1', port: 8080 });
  const b = Buffer.from(s.toBytes());
  eq(b, sqe({ opcode: 56, fd: 5, addr: ptr(b, 16), off: 16n }));
  assert.equal(heldBytes(s, ptr(b, 16), 16).toString('hex'), '0200' + '1f90' + '7f000001' + '0000000000000000', 'struct sockaddr_in: family LE, port and address big-endian');
  const c = op.connect(fixed(2), { address: 'fe80::1%3', port: 443 });
  const cb = Buffer.from(c.toBytes());
  eq(cb, sqe({ opcode: 16, flags: SqeFlags.FIXED_FILE, fd: 2, addr: ptr(cb, 16), off: 28n }));
  assert.equal(heldBytes(c, ptr(cb, 16), 28).toString('hex'), '0a00' + '01bb' + '00000000' + 'fe800000000000000000000000000001' + '03000000', 'struct sockaddr_in6 with scope id');
  const u = op.connect(4, { path: '/run/x.sock' });
  const ub = Buffer.from(u.toBytes());
  assert.equal(ub.readBigUInt64LE(8), BigInt(2 + 11 + 1), 'sockaddr_un length: family + path + NUL');
  eq(op.listen(5).toBytes(), sqe({ opcode: 57, fd: 5, len: 511 }));
  eq(op.listen(5, 16).toBytes(), sqe({ opcode: 57, fd: 5, len: 16 }));
});

test('accept: peer area in addr, socklen_t pointer in addr2, SOCK_CLOEXEC; multishot in ioprio without an area (io_uring_prep_[multishot_]accept)', () => {
  const s = op.accept(7);
  const b = Buffer.from(s.toBytes());
  eq(b, sqe({ opcode: 13, fd: 7, addr: ptr(b, 16), off: ptr(b, 8), opFlags: 0o2000000 }));
  assert.equal(heldBytes(s, ptr(b, 8), 4).readUInt32LE(0), 128, 'socklen_t = sizeof(struct sockaddr_storage)');
  eq(op.accept(7, { multishot: true, flags: 0o4000 }).toBytes(), sqe({ opcode: 13, fd: 7, ioprio: 1, opFlags: 0o4000 | 0o2000000 }));
  eq(op.accept(7, { multishot: true, direct: 'auto' }).toBytes(), sqe({ opcode: 13, fd: 7, ioprio: 1, fileIndex: 0xffffffff }));
  eq(op.accept(7, { multishot: true, dontWait: true, pollFirst: true }).toBytes(), sqe({ opcode: 13, fd: 7, ioprio: 7, opFlags: 0o2000000 }));
});

test('send / recv: buffer, length, MSG flags; sendto address in addr2 with addr_len at 44; buffer select; multishot and bundle in ioprio', () => {
  const buf = Buffer.alloc(100);
  eq(op.send(3, buf, 0x4000).toBytes(), sqe({ opcode: 26, fd: 3, addr: addr(buf), len: 100, opFlags: 0x4000 }));
  eq(op.recv(3, buf, 0, { offset: 10, length: 20 }).toBytes(), sqe({ opcode: 27, fd: 3, addr: addr(buf) + 10n, len: 20 }));
  const to = op.send(3, buf, 0, { to: { address: '10.0.0.1', port: 53 } });
  const tb = Buffer.from(to.toBytes());
  eq(tb, sqe({ opcode: 26, fd: 3, addr: addr(buf), len: 100, off: ptr(tb, 8), fileIndex: 16 }));
  eq(op.recv(3, null, 0, { bufferGroup: 9, multishot: true }).toBytes(), sqe({ opcode: 27, fd: 3, flags: SqeFlags.BUFFER_SELECT, bufIndex: 9, ioprio: 2 }));
  eq(op.recv(3, null, 0, { bufferGroup: 9, length: 512, bundle: true }).toBytes(), sqe({ opcode: 27, fd: 3, flags: SqeFlags.BUFFER_SELECT, bufIndex: 9, ioprio: 16, len: 512 }));
  eq(op.send(3, null, 0, { bufferGroup: 4, bundle: true, pollFirst: true }).toBytes(), sqe({ opcode: 26, fd: 3, flags: SqeFlags.BUFFER_SELECT, bufIndex: 4, ioprio: 17 }));
});

test('send_zc: zc flags in ioprio, registered buffer index in buf_index with FIXED_BUF (io_uring_prep_send_zc[_fixed])', () => {
  const buf = Buffer.alloc(64);
  eq(op.sendZc(3, buf, 0, { reportUsage: true }).toBytes(), sqe({ opcode: 47, fd: 3, addr: addr(buf), len: 64, ioprio: 8 }));
  eq(op.sendZc(3, buf.subarray(8), 0x40, { bufIndex: 2 }).toBytes(), sqe({ opcode: 47, fd: 3, addr: addr(buf) + 8n, len: 56, opFlags: 0x40, ioprio: 4, bufIndex: 2 }));
  // sendmsg_zc: the msghdr of sendmsg, the zc flags in ioprio (io_uring_prep_sendmsg_zc)
  const m = op.sendmsgZc(4, { buffers: [buf] }, 0x40, { reportUsage: true });
  const mb = Buffer.from(m.toBytes());
  eq(mb, sqe({ opcode: 48, fd: 4, addr: ptr(mb, 16), opFlags: 0x40, ioprio: 8 }));
  assert.equal(heldBytes(m, ptr(mb, 16), 56).readBigUInt64LE(24), 1n, 'msg_iovlen');
});

test('sendmsg / recvmsg: struct msghdr (name, iov, control) pointed to by addr (io_uring_prep_sendmsg / _recvmsg)', () => {
  const a = Buffer.alloc(5), b = Buffer.alloc(7), ctl = Buffer.alloc(32);
  const s = op.sendmsg(4, { buffers: [a, b], address: { address: '127.0.0.1', port: 9 }, control: ctl }, 0x40);
  const sb = Buffer.from(s.toBytes());
  eq(sb, sqe({ opcode: 9, fd: 4, addr: ptr(sb, 16), opFlags: 0x40 }));
  const hdr = heldBytes(s, ptr(sb, 16), 56);
  assert.equal(hdr.readUInt32LE(8), 16, 'msg_namelen');
  assert.equal(hdr.readBigUInt64LE(24), 2n, 'msg_iovlen');
  assert.equal(hdr.readBigUInt64LE(32), addr(ctl), 'msg_control');
  assert.equal(hdr.readBigUInt64LE(40), 32n, 'msg_controllen');
  const iov = heldBytes(s, hdr.readBigUInt64LE(16), 32);
  assert.deepEqual([iov.readBigUInt64LE(0), iov.readBigUInt64LE(8), iov.readBigUInt64LE(16), iov.readBigUInt64LE(24)], [addr(a), 5n, addr(b), 7n]);
  const r = op.recvmsg(4, { buffers: [a] });
  const rb = Buffer.from(r.toBytes());
  eq(rb, sqe({ opcode: 10, fd: 4, addr: ptr(rb, 16) }));
  assert.equal(heldBytes(r, ptr(rb, 16), 56).readUInt32LE(8), 128, 'an address area of sizeof(struct sockaddr_storage)');
});

test('shutdown and the socket uring_cmds: cmd_op in off, level | optname << 32 in addr, optlen at 44, optval in addr3 (io_uring_prep_cmd_sock)', () => {
  eq(op.shutdown(6, 'write').toBytes(), sqe({ opcode: 34, fd: 6, len: 1 }));
  eq(op.shutdown(6, 2).toBytes(), sqe({ opcode: 34, fd: 6, len: 2 }));
  eq(op.uringCmd(6, 'siocoutq').toBytes(), sqe({ opcode: 46, fd: 6, off: 1n }));
  const v = Buffer.alloc(4);
  eq(op.uringCmd(6, 'setsockopt', { level: 1, optname: 9, optval: v }).toBytes(), sqe({ opcode: 46, fd: 6, off: 3n, addr: 1n | (9n << 32n), fileIndex: 4, addr3: addr(v) }));
});

test('read_fixed / write_fixed / readv_fixed: buf_index, the view\'s address; provide / remove buffers: count in fd, size in len, bid in off, group in buf_group', () => {
  const reg = Buffer.alloc(4096);
  eq(op.readFixed(3, reg.subarray(512, 1024), 0, 5).toBytes(), sqe({ opcode: 4, fd: 3, addr: addr(reg) + 512n, len: 512, off: 0n, bufIndex: 5 }));
  eq(op.writeFixed(3, reg, undefined, 1, { rwFlags: 2 }).toBytes(), sqe({ opcode: 5, fd: 3, addr: addr(reg), len: 4096, off: -1n, bufIndex: 1, opFlags: 2 }));
  const v = Buffer.from(op.readvFixed(3, [reg.subarray(0, 8)], 64, 2).toBytes());
  eq(v, sqe({ opcode: 60, fd: 3, addr: ptr(v, 16), len: 1, off: 64n, bufIndex: 2 }));
  const wv = Buffer.from(op.writevFixed(3, [reg.subarray(0, 8), reg.subarray(64, 80)], 0, 2).toBytes());
  eq(wv, sqe({ opcode: 61, fd: 3, addr: ptr(wv, 16), len: 2, off: 0n, bufIndex: 2 }));
  eq(op.provideBuffers(reg, 1024, 4, 7, 100).toBytes(), sqe({ opcode: 31, fd: 4, addr: addr(reg), len: 1024, off: 100n, bufIndex: 7 }));
  eq(op.removeBuffers(4, 7).toBytes(), sqe({ opcode: 32, fd: 4, bufIndex: 7 }));
});
