/**
 * stat/lstat without a thread hop when the kernel can answer from its caches. io_uring's STATX
 * always goes to an io-wq worker (its prep forces async: a hop there and back, and a JS wakeup,
 * per stat), while a path whose dentries and inode are cached needs no I/O at all. The addon's
 * statCached (native/cached_stat.c) opens the path with openat2(O_PATH, RESOLVE_CACHED), which
 * fails with EAGAIN rather than block (I/O, a network or FUSE revalidation), and statx()es that
 * fd: a few µs on this thread, never a wait. Anything else (EAGAIN, an error, a kernel before 5.12
 * without RESOLVE_CACHED) returns undefined and the caller asks io_uring, whose answer (and error)
 * is the canonical one.
 */
import { binding } from '../native.js';
import { parseStatx, type StatxResult } from '../ops/build.js';
import { errno as errnoOf } from '../errors.js';

const EINVAL = errnoOf('EINVAL');
const ENOSYS = errnoOf('ENOSYS');
/** false once the kernel refused openat2's RESOLVE_CACHED (or openat2) itself: io_uring from then on. */
let available = true;
const out = Buffer.alloc(256);

/** The statx of `path` (NUL-free string or bytes) from the kernel's caches, or undefined (ask io_uring). */
export function cachedStatx(path: string | Uint8Array, nofollow: boolean): StatxResult | undefined {
  const b = cachedStatxBytes(path, nofollow);
  return b === undefined ? undefined : parseStatx(b);
}

/** cachedStatx()'s struct statx bytes (valid until the next call: one buffer is reused), or undefined. */
export function cachedStatxBytes(path: string | Uint8Array, nofollow: boolean): Buffer | undefined {
  if (!available) return undefined;
  const r = binding.statCached(path, nofollow, out) as number;
  if (r === 0) return out;
  if (r === -ENOSYS || (r === -EINVAL && probeRefused())) available = false;
  return undefined;
}

/** Does this kernel refuse RESOLVE_CACHED (EINVAL for a path that certainly exists)? */
function probeRefused(): boolean {
  return (binding.statCached('/', false, Buffer.alloc(256)) as number) === -EINVAL;
}
