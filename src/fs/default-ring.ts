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

let ring: Ring | undefined;

/** This thread's default ring, created on first use. */
export function defaultRing(): Ring {
  if (ring === undefined || ring.closed) ring = new Ring();
  return ring;
}

/** The default ring if it was created (for tests and introspection), else undefined. */
export function peekDefaultRing(): Ring | undefined {
  return ring;
}
