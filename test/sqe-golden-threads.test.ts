/** Golden SQE bytes of msgRing (IORING_OP_MSG_RING = 40): data and file messages, targets, flags. No kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectSqe, eq, type SqeFieldsExpected } from './golden.js';
import { op, fixed, SqeFlags, MESSAGE_TAG, MSG_RING_FLAGS, FILE_INDEX_ALLOC } from '../src/index.js';

/** A MSG_RING SQE (opcode 40) with these fields. */
const sqe = (f: Omit<SqeFieldsExpected, 'opcode'>): Buffer => expectSqe({ opcode: 40, ...f });
/** user_data of the target CQE: MESSAGE_TAG in the high word. */
const tagged = (low: number) => (BigInt(MESSAGE_TAG) << 32n) | BigInt(low >>> 0);

test('msgRing data message: fd = target ring, off = user_data in the message space, addr = IORING_MSG_DATA, len = value', () => {
  assert.equal(MESSAGE_TAG, 0xfffffffd);
  eq(op.msgRing(9, { data: 0x1234 }).toBytes(5n), sqe({ fd: 9, off: tagged(0x1234), user: 5n }));
  eq(op.msgRing(9, { data: 0x7fffffff, value: -2 }).toBytes(), sqe({ fd: 9, off: tagged(0x7fffffff), len: -2 >>> 0 }));
  // FLAGS_PASS: the CQE flags travel in file_index
  eq(op.msgRing(9, { data: 1, value: 3, flags: 0xabcd }).toBytes(), sqe({ fd: 9, off: tagged(1), len: 3, opFlags: MSG_RING_FLAGS.FLAGS_PASS, fileIndex: 0xabcd }));
  eq(op.msgRing(9, { data: 1, flags: 0 }).toBytes(), sqe({ fd: 9, off: tagged(1), opFlags: 2 }));
});

test('msgRing file message: addr = IORING_MSG_SEND_FD, addr3 = source slot, file_index = target slot + 1 or ALLOC, CQE_SKIP', () => {
  eq(op.msgRing(9, { file: fixed(3), slot: 7 }).toBytes(), sqe({ fd: 9, addr: 1n, addr3: 3n, fileIndex: 8, off: tagged(0x80000000 | 8) }));
  eq(op.msgRing(9, { file: 3 }).toBytes(), sqe({ fd: 9, addr: 1n, addr3: 3n, fileIndex: FILE_INDEX_ALLOC, off: tagged(0x80000000) }));
  eq(op.msgRing(9, { file: 0, slot: 'auto', skipCqe: true }).toBytes(), sqe({ fd: 9, addr: 1n, fileIndex: FILE_INDEX_ALLOC, off: tagged(0x80000000), opFlags: MSG_RING_FLAGS.CQE_SKIP }));
  eq(op.msgRing(9, { file: 0, slot: 0, skipCqe: false }).toBytes(), sqe({ fd: 9, addr: 1n, fileIndex: 1, off: tagged(0x80000001) }));
});

test('msgRing targets: a FixedFile slot holding a ring sets IOSQE_FIXED_FILE; a handle gives its fd', () => {
  eq(op.msgRing(fixed(2), { data: 4 }).toBytes(), sqe({ flags: SqeFlags.FIXED_FILE, fd: 2, off: tagged(4) }));
  eq(op.msgRing(fixed(2), { data: 4 }).link().toBytes(), sqe({ flags: SqeFlags.FIXED_FILE | SqeFlags.IO_LINK, fd: 2, off: tagged(4) }));
});

test('msgRing never builds a user_data outside the message space: every data value lands under MESSAGE_TAG', () => {
  for (const data of [0, 1, 0x7fff, 0x7fffffff]) {
    const b = Buffer.from(op.msgRing(3, { data }).toBytes());
    assert.equal(b.readUInt32LE(12), MESSAGE_TAG);
    assert.equal(b.readUInt32LE(8) & 0x80000000, 0, 'data messages have bit 31 of the low word clear');
  }
  assert.throws(() => op.msgRing(3, { data: 0x80000000 }), /^RangeError: msgRing\(\): "message".data must be in \[0, 2147483647\]/);
  assert.throws(() => op.msgRing(3, { data: 2 ** 32 + 5 }), RangeError);
  assert.throws(() => op.msgRing(3, { data: 1, userData: 5n } as never), /"userData" is not a key of a data message/);
  assert.throws(() => op.msgRing(3, { data: 1 }, { userData: 5 }), /"userData" is the user_data of the completion posted to "cq"/);
});
