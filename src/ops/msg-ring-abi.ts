/**
 * IORING_OP_MSG_RING's ABI (include/uapi/linux/io_uring.h and io_uring/msg_ring.c, 6.18) and the
 * user_data ringflow gives every message it sends.
 *
 * A message is a CQE the kernel posts into another ring: its user_data is whatever the sender put
 * in sqe->off. A ringflow ring routes CQEs by user_data (src/ring/completion.ts): the high word of
 * a request's user_data is its generation (31 bits), 0xffffffff marks ringflow's own cancels,
 * 0xfffffffe resource tags, and MESSAGE_TAG (0xfffffffd) messages. ringflow's builder writes only
 * user_data with MESSAGE_TAG in the high word, so a message can never be taken for a request of
 * the ring that receives it. The low word says what the message is:
 *
 *   bit 31 = 0: a data message; bits 0-30 = the sender's `data` (res = its `value`)
 *   bit 31 = 1: a file message; bits 0-30 = target slot + 1, or 0 for a slot the kernel picked
 *               (then res is the slot)
 */

/** IORING_MSG_* commands in sqe->addr (enum io_uring_msg_ring_flags). DATA 5.18, SEND_FD 6.0. */
export const MSG_RING_COMMANDS = { DATA: 0, SEND_FD: 1 } as const;

/**
 * IORING_MSG_RING_* in sqe->msg_ring_flags (the op-flags word): CQE_SKIP (6.0, SEND_FD only: the
 * kernel refuses it for DATA with -EINVAL) posts no CQE to the target; FLAGS_PASS (6.3, DATA
 * only) copies sqe->file_index into the target CQE's flags. io_msg_ring_prep refuses other bits.
 */
export const MSG_RING_FLAGS = { CQE_SKIP: 1, FLAGS_PASS: 2 } as const;

/** The user_data high word of messages ringflow sends (see above). Request generations are 31-bit. */
export const MESSAGE_TAG = 0xfffffffd;
/** Low-word bit of a file message. */
export const FILE_MESSAGE_BIT = 0x80000000;
/** The largest `data` a data message carries (31 bits). */
export const MESSAGE_DATA_MAX = 0x7fffffff;

/** The user_data words of a data message carrying `data` (0..2^31-1). */
export function dataMessageWords(data: number): [lo: number, hi: number] {
  return [data >>> 0, MESSAGE_TAG];
}

/** The user_data words of a file message into `slot` (-1: a slot the kernel picks). */
export function fileMessageWords(slot: number): [lo: number, hi: number] {
  return [(FILE_MESSAGE_BIT | (slot < 0 ? 0 : slot + 1)) >>> 0, MESSAGE_TAG];
}
