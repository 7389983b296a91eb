/**
 * The close(2) requests a ring can no longer hand to the kernel. A close request is the one
 * request whose not running leaks something the process shares: its fd stays open (in every
 * thread) and its owner, told the request never ran, may be gone by then (a worker that called
 * `fh.close()` and `ring.close()` and exits in the same tick). So where ring.close() takes requests
 * back (written to the SQ but not submitted, or waiting in the JS backlog), the close of a process
 * fd among them is done here, by close(2), and settles as its CQE would have; every other request
 * is rejected with RingClosedError (submitted: false). What a thread ending leaves unsubmitted is
 * handled the same way by the native teardown (native/ring_napi.c close_unsubmitted).
 */
import type { Sqe } from '../ops/sqe.js';
import type { Pending } from './requests.js';
import { deliver } from './requests.js';
import { SqeFlags } from './abi.js';
import { RingError } from '../errors.js';
import { binding } from '../native.js';

/** Is `sqe` the close(2) of a process fd: an op the table says closes its fd (fdEffect, IORING_OP_CLOSE), of an fd, not of a registered file (FIXED_FILE) or a direct descriptor's slot (file_index)? */
export const closesProcessFd = (sqe: Sqe): boolean => sqe.op.sqe?.fdEffect === 'closes' && (sqe.flags & SqeFlags.FIXED_FILE) === 0 && sqe.fileIndex === 0 && sqe.fd >= 0;

/** Closes the fd of `p` (closesProcessFd) by close(2) and settles `p` with the outcome: resolved as the kernel's close would be, or a RingError of syscall 'close'. */
export function closeNow(p: Pending): void {
  const r = binding.closeFd(p.sqe.fd) as number;
  if (r < 0) p.reject(new RingError(r, 'close', { detail: 'the close request was done by close(2): the ring closed before submitting it' }));
  else deliver(p, p.sqe, 0, 0, false);
}
