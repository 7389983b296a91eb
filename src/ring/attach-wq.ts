/**
 * RingOptions.attachWq (IORING_SETUP_ATTACH_WQ) checked before io_uring_setup, so that a wrong fd
 * is a clear error rather than the kernel's bare ENXIO / EINVAL (which ringflow's setup would also
 * retry without NO_SQARRAY, and report as rejected setup flags).
 *
 * What the kernel does with it (io_uring/sqpoll.c io_sq_offload_create, io_attach_sq_data; 6.18):
 * without SQPOLL it only checks that wq_fd is an open io_uring fd (-ENXIO: not open, -EINVAL: not
 * a ring) and shares nothing more, since io-wq is per task (5.12+); with SQPOLL the new ring
 * shares the SQ thread of the ring it names, which must be an SQPOLL ring (-EINVAL) of the same
 * process (-EPERM). A ring of another worker thread of this process qualifies (its fd is the same
 * number here: pass its RingHandle).
 *
 * Whether the named ring has an SQ thread is not checked here: /proc/self/fdinfo's SqThread is no
 * witness (on Debian's 6.1 it says -1 for an SQPOLL ring whenever fdinfo cannot take the ring's or
 * the SQ thread's lock, e.g. while the thread polls), so the kernel decides, and an EINVAL of
 * io_uring_setup for an SQPOLL ring with attachWq carries SQPOLL_ATTACH_HINT (src/ring/setup.ts).
 */
import { readlinkSync, existsSync } from 'node:fs';
import { RingError } from '../errors.js';

const ENXIO = -6;
const EINVAL = -22;

/** Throws RingError (ENXIO / EINVAL, with what is wrong) when `fd` is not an open io_uring fd. No check without /proc. */
export function checkAttachWq(fd: number): void {
  if (!existsSync('/proc/self/fd')) return;
  let link: string;
  try {
    link = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    throw new RingError(ENXIO, 'io_uring_setup', { detail: `attachWq: fd ${fd}`, hint: 'the fd to attach to is not open (its ring was closed?)' });
  }
  if (link !== 'anon_inode:[io_uring]')
    throw new RingError(EINVAL, 'io_uring_setup', { detail: `attachWq: fd ${fd} is ${link}`, hint: 'attachWq must name an io_uring fd (a Ring, its handle(), or its fd)' });
}

/** The hint of an io_uring_setup EINVAL for an SQPOLL ring with attachWq (the fd itself was checked: it is a ring). */
export const SQPOLL_ATTACH_HINT =
  'an SQPOLL ring can only attach to another SQPOLL ring (it shares its SQ thread): drop sqpoll or attach to an SQPOLL ring; or this kernel rejects the other setup flags (ringflow info lists what it accepts)';
