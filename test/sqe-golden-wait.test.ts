/** Golden SQE bytes of the waiting opcodes (poll, epoll, futex, waitid, timeout update, multishot read, nop's lookups). No kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectSqe as sqe, addr, eq } from './golden.js';
import { op, fixed, SqeFlags, POLL, POLL_FLAGS, EPOLL, FUTEX2, W, P } from '../src/index.js';
import { viewAddress } from '../src/ring/memory.js';

/** The kept buffer an SQE's 64-bit field points at. */
function kept(s: { keep?: object[] }, at: bigint): Buffer {
  const k = s.keep!.find((x) => x instanceof ArrayBuffer && BigInt(viewAddress(new Uint8Array(x))) === at) as ArrayBuffer;
  assert.ok(k, 'the memory the SQE points at is kept alive');
  return Buffer.from(k);
}

test('pollAdd: fd, poll32_events in the op-flags word, multishot and level in len', () => {
  eq(op.pollAdd(5, POLL.IN | POLL.OUT).toBytes(9n), sqe({ opcode: 6, fd: 5, opFlags: POLL.IN | POLL.OUT, user: 9n }));
  eq(op.pollAdd(5, ['in', 'rdhup']).toBytes(), sqe({ opcode: 6, fd: 5, opFlags: POLL.IN | POLL.RDHUP }));
  const m = op.pollAdd(5, ['in'], { multishot: true });
  assert.equal(m.multishot, true, 'a multishot poll is marked for ring.runMulti');
  eq(m.toBytes(), sqe({ opcode: 6, fd: 5, opFlags: POLL.IN, len: POLL_FLAGS.ADD_MULTI }));
  eq(op.pollAdd(5, ['in'], { level: true }).toBytes(), sqe({ opcode: 6, fd: 5, opFlags: POLL.IN, len: POLL_FLAGS.ADD_LEVEL }));
});

test('pollRemove: target user_data in addr; update events (opFlags) and user_data (off) set their len bits', () => {
  eq(op.pollRemove(0x1234n).toBytes(), sqe({ opcode: 7, addr: 0x1234n }));
  eq(op.pollRemove(7, { updateEvents: ['out'] }).toBytes(), sqe({ opcode: 7, addr: 7n, opFlags: POLL.OUT, len: POLL_FLAGS.UPDATE_EVENTS }));
  eq(op.pollRemove(7, { newUserData: 2n ** 63n }).toBytes(), sqe({ opcode: 7, addr: 7n, off: 2n ** 63n, len: POLL_FLAGS.UPDATE_USER_DATA }));
});

test('pollRemove naming a poll Sqe: addr is the user_data that Sqe was written with', () => {
  const poll = op.pollAdd(3, ['in']);
  const remove = op.pollRemove(poll);
  // not submitted yet: a user_data no request has (the kernel answers ENOENT)
  eq(remove.toBytes(), sqe({ opcode: 7, addr: 0xfffffffd00000000n }));
  poll.toBytes((7n << 32n) | 12n); // written into an SQ as slot 12, generation 7
  eq(remove.toBytes(5n), sqe({ opcode: 7, addr: (7n << 32n) | 12n, user: 5n }));
  assert.throws(() => op.pollRemove(op.nop()), /^TypeError: pollRemove\(\): "target": this nop Sqe cannot be named/);
});

test('timeoutRemove with time: the new timespec in off, UPDATE (timeout) or UPDATE | LINK_TIMEOUT_UPDATE (linkTimeout)', () => {
  const t = op.timeout(60_000);
  const u = op.timeoutRemove(t, { time: { sec: 2, nsec: 5 } });
  const b = Buffer.from(u.toBytes());
  eq(b, sqe({ opcode: 12, addr: 0xfffffffd00000000n, off: b.readBigUInt64LE(8), opFlags: 0x2 }));
  assert.deepEqual([kept(u, b.readBigUInt64LE(8)).readBigInt64LE(0), kept(u, b.readBigUInt64LE(8)).readBigInt64LE(8)], [2n, 5n]);
  const lt = op.linkTimeout(100);
  lt.toBytes(0x500000003n);
  const lb = Buffer.from(op.timeoutRemove(lt, { time: 10 }).toBytes());
  eq(lb, sqe({ opcode: 12, addr: 0x500000003n, off: lb.readBigUInt64LE(8), opFlags: 0x12 }));
  const raw = Buffer.from(op.timeoutRemove(42, { time: 1, timeoutFlags: 0x3 }).toBytes());
  eq(raw, sqe({ opcode: 12, addr: 42n, off: raw.readBigUInt64LE(8), opFlags: 0x3 })); // explicit timeoutFlags win
});

test('epollCtl: epfd, op in len, fd in off, struct epoll_event (packed: events u32, data u64 @4)', () => {
  const s = op.epollCtl(7, 'add', 9, { events: EPOLL.IN | EPOLL.ET, data: 0x1122334455667788n });
  const b = Buffer.from(s.toBytes());
  eq(b, sqe({ opcode: 29, fd: 7, len: 1, off: 9n, addr: b.readBigUInt64LE(16) }));
  const ev = kept(s, b.readBigUInt64LE(16));
  assert.equal(ev.length, 12);
  assert.equal(ev.readUInt32LE(0), (EPOLL.IN | EPOLL.ET) >>> 0);
  assert.equal(ev.readBigUInt64LE(4), 0x1122334455667788n);
  const mod = op.epollCtl(7, 'mod', 9, { events: ['out'] });
  const mb = Buffer.from(mod.toBytes());
  assert.equal(kept(mod, mb.readBigUInt64LE(16)).readBigUInt64LE(4), 9n, 'data defaults to the fd');
  eq(op.epollCtl(7, 'del', 9, null).toBytes(), sqe({ opcode: 29, fd: 7, len: 2, off: 9n }));
});

test('epollWait: epfd, events array address, maxevents in len', () => {
  const s = op.epollWait(4, 16);
  const b = Buffer.from(s.toBytes());
  eq(b, sqe({ opcode: 59, fd: 4, len: 16, addr: b.readBigUInt64LE(16) }));
  assert.equal(kept(s, b.readBigUInt64LE(16)).length, 16 * 12);
  assert.equal(Buffer.from(op.epollWait(4).toBytes()).readUInt32LE(24), 64, 'default 64 events');
});

test('waitid: idtype in len, id in fd, options in file_index, siginfo_t (128 bytes) in addr2', () => {
  const s = op.waitid('pid', 1234, W.EXITED | W.NOWAIT);
  const b = Buffer.from(s.toBytes());
  eq(b, sqe({ opcode: 50, fd: 1234, len: P.PID, fileIndex: W.EXITED | W.NOWAIT, off: b.readBigUInt64LE(8) }));
  assert.equal(kept(s, b.readBigUInt64LE(8)).length, 128);
  const all = Buffer.from(op.waitid('all').toBytes());
  eq(all, sqe({ opcode: 50, len: P.ALL, fileIndex: W.EXITED, off: all.readBigUInt64LE(8) }));
});

test('futexWait / futexWake: FUTEX2 flags in fd, word address in addr, value in addr2, mask in addr3', () => {
  const i32 = new Int32Array(new SharedArrayBuffer(16));
  const at = addr(i32);
  eq(op.futexWait(i32, 2, -1).toBytes(), sqe({ opcode: 51, fd: FUTEX2.SIZE_U32 | FUTEX2.PRIVATE, addr: at + 8n, off: 0xffffffffn, addr3: 0xffffffffn }));
  eq(op.futexWait(i32, 0, 5, { mask: 0b101, shared: true }).toBytes(), sqe({ opcode: 51, fd: FUTEX2.SIZE_U32, addr: at, off: 5n, addr3: 5n }));
  eq(op.futexWake(i32, 1).toBytes(), sqe({ opcode: 52, fd: FUTEX2.SIZE_U32 | FUTEX2.PRIVATE, addr: at + 4n, off: 1n, addr3: 0xffffffffn }));
  eq(op.futexWake(i32, 1, 100, { mask: 2 }).toBytes(), sqe({ opcode: 52, fd: FUTEX2.SIZE_U32 | FUTEX2.PRIVATE, addr: at + 4n, off: 100n, addr3: 2n }));
  const b64 = new BigInt64Array(2);
  eq(op.futexWait(b64, 1, -2n).toBytes(), sqe({ opcode: 51, fd: FUTEX2.SIZE_U64 | FUTEX2.PRIVATE, addr: addr(b64) + 8n, off: 2n ** 64n - 2n, addr3: 0xffffffffn }));
});

test('futexWaitv: struct futex_waitv array (val u64, uaddr u64, flags u32, reserved) and its count', () => {
  const i32 = new Int32Array(new SharedArrayBuffer(8));
  const s = op.futexWaitv([{ word: i32, expected: 3 }, { word: i32, index: 1, expected: -1, shared: true }]);
  const b = Buffer.from(s.toBytes());
  eq(b, sqe({ opcode: 53, len: 2, addr: b.readBigUInt64LE(16) }));
  const v = kept(s, b.readBigUInt64LE(16));
  assert.equal(v.length, 48);
  assert.deepEqual([v.readBigUInt64LE(0), v.readBigUInt64LE(8), v.readUInt32LE(16), v.readUInt32LE(20)], [3n, addr(i32), FUTEX2.SIZE_U32 | FUTEX2.PRIVATE, 0]);
  assert.deepEqual([v.readBigUInt64LE(24), v.readBigUInt64LE(32), v.readUInt32LE(40), v.readUInt32LE(44)], [0xffffffffn, addr(i32) + 4n, FUTEX2.SIZE_U32, 0]);
});

test('readMultishot: fd, buffer group with IOSQE_BUFFER_SELECT, marked multishot', () => {
  const s = op.readMultishot(6, 3);
  assert.equal(s.multishot, true);
  eq(s.toBytes(), sqe({ opcode: 49, fd: 6, flags: SqeFlags.BUFFER_SELECT, bufIndex: 3 }));
});

test('nop: a file (IORING_NOP_FILE; a slot adds NOP_FIXED_FILE, not IOSQE_FIXED_FILE), a registered buffer (NOP_FIXED_BUFFER), TW', () => {
  eq(op.nop({ file: 5 }).toBytes(), sqe({ opcode: 0, fd: 5, opFlags: 2 }));
  eq(op.nop({ file: fixed(3) }).toBytes(), sqe({ opcode: 0, fd: 3, opFlags: 2 | 4 }));
  eq(op.nop({ bufIndex: 2 }).toBytes(), sqe({ opcode: 0, bufIndex: 2, opFlags: 8 }));
  eq(op.nop({ nopFlags: 16 | 1, injectResult: 9 }).toBytes(), sqe({ opcode: 0, len: 9, opFlags: 17 }));
});
