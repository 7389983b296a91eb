/**
 * Closing a process fd ringflow opened or owns (ringflow/fs, a socket): close(2) as a request on its
 * ring. Whoever opened the fd owns it, so no fd outlives its close. Where the ring was closed or
 * closing when the close was asked for, or its close cancelled the request with the kernel's
 * ECANCELED (a close linked behind a request close() cancelled), the fd is closed here, by close(2)
 * (not fs.closeSync: in a worker, Node 26's fs warns of closing an fd node:fs did not open). A
 * close request ring.close() takes back unsubmitted, the ring does itself (src/ring/unsubmitted.ts).
 * A close whose outcome is unknown is not tried again: it may have run, and the number may name
 * another file by now.
 */
import type { Ring } from './ring.js';
import { RingClosedError, RingError } from '../errors.js';
import { closeFdNow } from './unsubmitted.js';

/**
 * Did a request end without running: its ring closed before the kernel saw it, or it was cancelled
 * (ECANCELED: by close() or ring.cancel() in flight, by a broken link, or by ring.cancel() while it
 * waited in JS)? A close(2) the kernel started is not cancelled: ECANCELED says it never ran.
 */
export const neverRan = (e: unknown): boolean =>
  (e instanceof RingError && e.code === 'ECANCELED') || (e instanceof RingClosedError && (!e.submitted || (e.cause instanceof RingError && e.cause.code === 'ECANCELED')));

/** close(2) of `fd` here, now (out of the owned set first); throws the RingError of a close that failed. */
function closeHere(fd: number): void {
  const r = closeFdNow(fd);
  if (r < 0) throw new RingError(r, 'close');
}

/**
 * Closes `fd` on `ring`, or by close(2) here if the ring cannot; rejects with the RingError of a
 * close that failed. An fd in the environment's owned set (native/owned_fds.c) stays there until
 * the close request is written to the SQ (src/ring/unsubmitted.ts, disownIfCloses) or closed here:
 * a thread that ends while the close waits in the JS backlog closes it in the set's cleanup.
 */
export async function closeOwnedFd(ring: Ring, fd: number): Promise<void> {
  // a closed or closing ring refuses the request: close(2) now, in this call, not a microtask later
  // (which a worker's process.exit() in this tick would never reach)
  if (ring.closed) return closeHere(fd);
  try {
    await ring.closeFd(fd);
  } catch (e) {
    if (!neverRan(e)) throw e;
    closeHere(fd);
  }
}
