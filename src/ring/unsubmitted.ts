/**
 * The close(2) requests a ring can no longer hand to the kernel. A close request is the one
 * request whose not running leaks something the process shares: its fd stays open (in every
 * thread) and its owner, told the request never ran, may be gone by then (a worker that called
 * `fh.close()` and `ring.close()` and exits in the same tick). So where the ring takes requests
 * back (ring.close(): written to the SQ but not submitted, or waiting in the JS backlog; an
 * io_uring_enter that failed for the whole batch: what it did not consume), the close of a process
 * fd among them is done here, by close(2), and settles as its CQE would have; every other request
 * is rejected (RingClosedError with submitted: false, or the enter's RingError). What a thread
 * ending leaves unsubmitted is handled the same way by the native teardown (native/ring_napi.c
 * close_unsubmitted).
 */
import type { Sqe } from '../ops/sqe.js';
import type { Pending } from './requests.js';
import { deliver } from './requests.js';
import { SqeFlags } from './abi.js';
import { OPS } from '../ops/table.js';
import { RingError } from '../errors.js';
import { binding } from '../native.js';

/** The opcode of the table's op that closes its fd (fdEffect 'closes': IORING_OP_CLOSE). */
export const CLOSE_CODE = OPS.find((o) => o.sqe?.fdEffect === 'closes')!.code;

/** Is `sqe` the close(2) of a process fd: the table's op that closes its fd (fdEffect), of an fd, not of a registered file (FIXED_FILE) or a direct descriptor's slot (file_index)? */
export const closesProcessFd = (sqe: Sqe): boolean => sqe.opcode === CLOSE_CODE && (sqe.flags & SqeFlags.FIXED_FILE) === 0 && sqe.fileIndex === 0 && sqe.fd >= 0;

/**
 * The fd an SQE as written in the SQ (32-bit words from `w`) closes by close(2), or -1: read from the
 * SQE, not from the Sqe object it was encoded from, which its owner may have changed since (an Sqe
 * is submitted again with another fd). Opcode byte 0, flags byte 1, fd bytes 4-7, file_index 44-47.
 */
export function processFdClosedBy(sqe32: Uint32Array, w: number): number {
  const head = sqe32[w];
  if ((head & 0xff) !== CLOSE_CODE || ((head >>> 8) & SqeFlags.FIXED_FILE) !== 0 || sqe32[w + 11] !== 0) return -1;
  const fd = sqe32[w + 1] | 0;
  return fd >= 0 ? fd : -1;
}

/** close(2) of `fd` here, out of the environment's owned set first (native/owned_fds.c): 0, or -errno. */
export function closeFdNow(fd: number): number {
  binding.fdDisown(fd);
  return binding.closeFd(fd) as number;
}

/**
 * A close request of a process fd is being written to the SQ: the fd leaves the environment's owned
 * set now (native/owned_fds.c), not when the close was asked for. From here on the kernel closes it,
 * or, if the SQE is never submitted, ring.close() (#failQueued) or the thread's teardown
 * (native/ring_napi.c close_unsubmitted) does; while the request waits in the JS backlog the fd
 * stays owned, so a thread that ends then closes it in the owned set's cleanup. Never both: an fd
 * is in the owned set or in a written close, not in the two.
 */
export function disownIfCloses(sqe: Sqe): void {
  if (closesProcessFd(sqe)) binding.fdDisown(sqe.fd);
}

/** Closes `fd` (the one the request's SQE names) by close(2) and settles `p` with the outcome: resolved as the kernel's close would be, or a RingError of syscall 'close'. */
export function closeNow(p: Pending, fd: number, why = 'the ring closed before submitting it'): void {
  const r = closeFdNow(fd);
  if (r < 0) p.reject(new RingError(r, 'close', { detail: `the close request was done by close(2): ${why}` }));
  else deliver(p, p.sqe, 0, 0, false);
}
