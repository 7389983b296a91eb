/**
 * Golden SQE bytes of big-entry requests (no kernel): the raw uring_cmd with its command area in a
 * 64-byte and a 128-byte SQE, RECV_ZC, nop's CQE32 flag; and the bad input of their builders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectSqe, eq, type SqeFieldsExpected } from './golden.js';
import { op, fixed, SqeFlags, Sqe, URING_CMD_RAW, BLOCK_URING_CMD, opByName } from '../src/index.js';

/** Expected SQE (64 or 128 bytes): fields by name, `cmd` from byte 48, everything else zero. */
const sqe = (size: 64 | 128, f: SqeFieldsExpected): Buffer => expectSqe(f, size);
const bytes = (n: number, from = 1) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

test('uringCmdRaw: cmd_op in off, the command area from byte 48 (16 bytes in a 64-byte SQE)', () => {
  // a block device discard (BLOCK_URING_CMD_DISCARD, 6.12): start in addr, length in the area's first 8 bytes
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(8192n);
  eq(op.uringCmdRaw(5, BLOCK_URING_CMD.DISCARD, len, { addr: 4096 }).toBytes(9n), sqe(64, { opcode: 46, fd: 5, off: 0x1200n, addr: 4096n, user: 9n, addr3: 8192n }));
  eq(op.uringCmdRaw(5, 0xffffffff).toBytes(), sqe(64, { opcode: 46, fd: 5, off: 0xffffffffn }), 'no area: bytes 48..63 zero; __pad1 stays 0');
  eq(op.uringCmdRaw(5, 7, bytes(16)).toBytes(), sqe(64, { opcode: 46, fd: 5, off: 7n, cmd: bytes(16) }), 'a full 16-byte area');
  eq(op.uringCmdRaw(5, 7, bytes(3)).toBytes(), sqe(64, { opcode: 46, fd: 5, off: 7n, cmd: bytes(3) }), 'a short area is zero-padded');
  eq(op.uringCmdRaw(fixed(2), 7, undefined, { bufIndex: 3 }).toBytes(), sqe(64, { opcode: 46, flags: SqeFlags.FIXED_FILE, fd: 2, off: 7n, bufIndex: 3, opFlags: 1 }), 'FixedFile; bufIndex sets IORING_URING_CMD_FIXED');
  // any view: a DataView over an offset window, an ArrayBuffer
  const ab = new ArrayBuffer(32);
  new Uint8Array(ab).set(bytes(32, 100));
  eq(op.uringCmdRaw(5, 7, new DataView(ab, 4, 8)).toBytes(), sqe(64, { opcode: 46, fd: 5, off: 7n, cmd: bytes(8, 104) }));
  eq(op.uringCmdRaw(5, 7, new ArrayBuffer(0)).toBytes(), sqe(64, { opcode: 46, fd: 5, off: 7n }));
});

test('uringCmdRaw: an 80-byte area fills a 128-byte SQE; the area is copied when built', () => {
  const area = bytes(80, 0x40);
  const s = op.uringCmdRaw(6, 0x12345678, area, { addr: 2n ** 63n });
  area.fill(0); // the SQE holds its own copy
  eq(s.toBytes(0xabcdn, 128), sqe(128, { opcode: 46, fd: 6, off: 0x12345678n, addr: 2n ** 63n, user: 0xabcdn, cmd: bytes(80, 0x40) }));
  assert.equal(s.entrySize, 128);
  assert.throws(() => s.toBytes(0, 64), { name: 'RangeError', message: "toBytes(): this uringCmdRaw's command area of 80 bytes needs a 128-byte SQE (at most 16 bytes fit in 64)" });
  // 17 bytes already need 128; 16 fit in either size, zeros after them in a 128-byte SQE
  assert.equal(op.uringCmdRaw(6, 1, bytes(17)).entrySize, 128);
  eq(op.uringCmdRaw(6, 1, bytes(16)).toBytes(0, 128), sqe(128, { opcode: 46, fd: 6, off: 1n, cmd: bytes(16) }));
  // any other request in a 128-byte SQE: its 64 bytes, then zeros
  eq(op.nop().toBytes(3n, 128), sqe(128, { opcode: 0, user: 3n }));
  assert.throws(() => op.nop().toBytes(0, 96 as 64), { name: 'RangeError', message: 'toBytes(): "size" must be 64 or 128 (an sqe128 ring\'s entries), got 96' });
  assert.throws(() => (op.nop().toBytes as any)(0, 64, 1), { name: 'TypeError', message: 'toBytes() takes at most two arguments (userData, size), got 3' });
});

test('uringCmdRaw is a variant of the table\'s uringCmd entry: same opcode and kernel declaration', () => {
  const base = opByName('uringCmd')!;
  assert.equal(URING_CMD_RAW.code, base.code);
  assert.equal(URING_CMD_RAW.constant, 'URING_CMD');
  assert.equal(URING_CMD_RAW.sqe!.fixedFile, base.sqe!.fixedFile);
  assert.equal(URING_CMD_RAW.program, base.program, 'no program permit of its own');
  assert.equal(op.uringCmdRaw(1, 0).op, URING_CMD_RAW);
  assert.ok(op.uringCmdRaw(1, 0) instanceof Sqe);
});

test('uringCmdRaw: bad input is a TypeError/RangeError naming the argument', () => {
  assert.throws(() => op.uringCmdRaw(5, 7, bytes(81)), { name: 'RangeError', message: 'uringCmdRaw(): "cmd" must be at most 80 bytes (the command area of a 128-byte SQE; 16 in a 64-byte one), got 81 bytes' });
  assert.throws(() => op.uringCmdRaw(5, 7, 'abc' as any), { name: 'TypeError', message: /^uringCmdRaw\(\): "cmd" must be a Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer, got string "abc"/ });
  assert.throws(() => op.uringCmdRaw(5, 7, [1, 2] as any), { name: 'TypeError', message: /^uringCmdRaw\(\): "cmd" must be a Buffer/ });
  assert.throws(() => op.uringCmdRaw(5, -1), { name: 'RangeError', message: 'uringCmdRaw(): "cmdOp" must be in [0, 4294967295], got -1' });
  assert.throws(() => op.uringCmdRaw(5, 2 ** 32), { name: 'RangeError', message: /^uringCmdRaw\(\): "cmdOp" must be in \[0, 4294967295\]/ });
  assert.throws(() => op.uringCmdRaw(5, 1.5), { name: 'TypeError', message: 'uringCmdRaw(): "cmdOp" must be an integer, got 1.5' });
  assert.throws(() => (op.uringCmdRaw as any)(5), { name: 'TypeError', message: 'uringCmdRaw(): "cmdOp" is required' });
  assert.throws(() => op.uringCmdRaw(-1, 0), { name: 'RangeError', message: /^uringCmdRaw\(\): "fd" must be in/ });
  assert.throws(() => op.uringCmdRaw(5, 0, undefined, { addr: -1 }), { name: 'RangeError', message: /^uringCmdRaw\(\): "addr" must be in \[0, 2\^53 - 1\]/ });
  assert.throws(() => op.uringCmdRaw(5, 0, undefined, { bufIndex: 65536 }), { name: 'RangeError', message: 'uringCmdRaw(): "bufIndex" must be in [0, 65535], got 65536' });
  assert.throws(() => op.uringCmdRaw(5, 0, undefined, { level: 1 } as any), { name: 'TypeError', message: /^uringCmdRaw\(\): "level" is not an option of uringCmdRaw\(\); it accepts addr, bufIndex, / });
  assert.throws(() => (op.uringCmdRaw as any)(5, 0, undefined, {}, 1), { name: 'TypeError', message: /^uringCmdRaw\(\): too many arguments \(5\)/ });
});

test('recvZc: the zcrx queue id in zcrx_ifq_idx, always IORING_RECV_MULTISHOT, length in len', () => {
  eq(op.recvZc(5, 3).toBytes(1n), sqe(64, { opcode: 58, fd: 5, ioprio: 2, fileIndex: 3, user: 1n }));
  eq(op.recvZc(5, 0xffffffff, { length: 65536, pollFirst: true }).toBytes(), sqe(64, { opcode: 58, fd: 5, ioprio: 3, fileIndex: 0xffffffff, len: 65536 }));
  eq(op.recvZc(fixed(1), 0).toBytes(), sqe(64, { opcode: 58, flags: SqeFlags.FIXED_FILE, fd: 1, ioprio: 2 }));
  assert.equal(op.recvZc(5, 0).multishot, true, 'a CQE per chunk: ring.runMulti, not ring.run');
});

test('recvZc: bad input is a TypeError/RangeError naming the argument; the promise method points at runMulti', async () => {
  assert.throws(() => op.recvZc(5, -1), { name: 'RangeError', message: 'recvZc(): "ifq" must be in [0, 4294967295], got -1' });
  assert.throws(() => op.recvZc(5, '0' as any), { name: 'TypeError', message: 'recvZc(): "ifq" must be an integer (the zcrx_id IORING_REGISTER_ZCRX_IFQ returned), got string "0"' });
  assert.throws(() => (op.recvZc as any)(5), { name: 'TypeError', message: 'recvZc(): "ifq" is required' });
  assert.throws(() => op.recvZc(5, 0, { length: -1 }), { name: 'RangeError', message: 'recvZc(): "length" must be in [0, 4294967295], got -1' });
  assert.throws(() => op.recvZc(5, 0, { pollFirst: 1 as any }), { name: 'TypeError', message: 'recvZc(): "pollFirst" must be a boolean, got 1' });
  const { Ring } = await import('../src/index.js');
  const ring = new Ring({ entries: 2 });
  try {
    assert.throws(() => (ring as any).recvZc(5, 0), { name: 'TypeError', message: /^ring\.recvZc\(\): multishot and bundle requests post more than one completion; build them with op\.recvZc\(\)/ });
    assert.throws(() => ring.run(op.recvZc(5, 0)), { name: 'TypeError', message: /^ring\.run\(\): a multishot recvZc posts a CQE per event/ });
  } finally {
    await ring.close();
  }
});

test('nop with IORING_NOP_CQE32 (6.18): extra1 from off, extra2 from addr', () => {
  eq(op.nop({ nopFlags: 32 }).setOff(0x1122334455667788n).setAddr(2n ** 64n - 1n).toBytes(), sqe(64, { opcode: 0, opFlags: 32, off: 0x1122334455667788n, addr: 2n ** 64n - 1n }));
  eq(op.nop({ nopFlags: 33, injectResult: 5 }).toBytes(), sqe(64, { opcode: 0, opFlags: 33, len: 5 }));
});

test('a 128-byte SQE slot reused by a shorter request keeps no stale command bytes (zeros past byte 48)', () => {
  const slot = new Uint32Array(32);
  const first = op.uringCmdRaw(0, 0, new Uint8Array(80).fill(0xee));
  first.encode(slot, 0, 1, 2);
  first.encodeTail(slot, 0);
  assert.ok(slot.subarray(12).every((w) => w === 0xeeeeeeee));
  const second = op.nop();
  second.encode(slot, 0, 3, 4);
  second.encodeTail(slot, 0);
  eq(new Uint8Array(slot.buffer), sqe(128, { opcode: 0, user: (4n << 32n) | 3n }), 'the nop wrote its zeros over the whole area');
});
