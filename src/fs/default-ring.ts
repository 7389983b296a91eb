/**
 * The default ring of ringflow/fs: one per thread (per Node environment: each worker_thread loads
 * its own copy of this module, so each gets its own ring, as SINGLE_ISSUER requires), created on
 * the first call that needs it.
 *
 * It never keeps the process alive by itself: an idle ring holds no reference on the event loop
 * (src/ring/liveness.ts), so a script that only uses ringflow/fs exits when its work is done. While
 * a request is in flight the ring does hold the loop, exactly as a libuv fs request does, so
 * `fs.readFile(p).then(print)` at the end of a script still prints; `ring.unref()` would let the
 * process exit under a pending readFile, which node:fs/promises never does. The native side closes
 * the ring when the thread's environment ends (its env cleanup hook).
 */
import { Ring } from '../ring/core.js';
import { RingError } from '../errors.js';

let ring: Ring | undefined;

/** This thread's default ring, created on first use. */
export function defaultRing(): Ring {
  if (ring === undefined || ring.closed) ring = new Ring();
  return ring;
}

/**
 * io_uring_setup's answers that mean no ring for this process here: EPERM (a seccomp profile such
 * as Docker's default, kernel.io_uring_disabled), ENOSYS (no io_uring), EACCES, which stay; and
 * ENOMEM (ring memory charged to a locked-memory limit, 6.14+: e.g. one default ring per test file
 * under Jest, each alive until collected), which may pass, so it is asked again at the next call.
 */
const STAYS = new Set(['EPERM', 'ENOSYS', 'EACCES']);
let unavailable = false;
let warned = false;

/**
 * Is there a default ring on this thread (made now if needed)? false when io_uring refuses one (see
 * above): ringflow/fs then runs its calls on node:fs/promises, as if it were not there, and says so
 * once with a warning (RINGFLOW_FS_NO_RING).
 */
export function defaultRingReady(): boolean {
  if (ring !== undefined && !ring.closed) return true;
  if (unavailable) return false;
  try {
    defaultRing();
    return true;
  } catch (e) {
    if (!(e instanceof RingError) || !(STAYS.has(e.code) || e.code === 'ENOMEM')) throw e;
    if (STAYS.has(e.code)) unavailable = true;
    if (!warned) {
      warned = true;
      process.emitWarning(`ringflow/fs: io_uring gave this thread no ring (${e.message}); its calls run on node:fs/promises`, {
        code: 'RINGFLOW_FS_NO_RING',
      });
    }
    return false;
  }
}

/** The default ring if it was created (for tests and introspection), else undefined. */
export function peekDefaultRing(): Ring | undefined {
  return ring;
}
