/**
 * What the socket layer needs of a provided-buffer group: its id for IOSQE_BUFFER_SELECT, a way
 * to turn a CQE into the chunk it names, and a signal when buffers come back after -ENOBUFS.
 * `defaultGroup(ring)` is the ring's shared group for sockets that were given none.
 */
import type { Ring } from '../ring/ring.js';

/** Received bytes in a buffer the kernel picked; back to the group with release(). */
export interface RecvChunk {
  /** The provided buffer's id. */
  readonly id: number;
  /** Exactly the bytes received (detached once released). */
  readonly bytes: Uint8Array;
  release(): void;
  [Symbol.dispose](): void;
}

export interface RecvGroup {
  /** The buffer group id (buf_group). */
  readonly id: number;
  /** The chunk a CQE's res/flags name (IORING_CQE_F_BUFFER, id in the upper 16 bits); null when it used none. */
  take(res: number, flags: number): RecvChunk | null;
  /** The chunks of a bundle CQE (IORING_RECVSEND_BUNDLE), in order; absent: the group cannot do bundles. */
  takeBundle?(res: number, flags: number): readonly RecvChunk[];
  /** Resolves when a buffer is given back (for re-arming after -ENOBUFS). */
  refilled(): Promise<void>;
}

/**
 * Default group of a ring's sockets: 256 buffers of 64 KiB (16 MiB of address space, touched as
 * used), made on first use. One recv takes up to a buffer: 64 KiB buffers doubled the JS echo's
 * 4 KiB streaming against 4096 × 16 KiB. Not more of them: a buffer ring hands its buffers out in
 * turn, so the memory the kernel copies into is all of them, and 16 MiB stay warmer in the CPU's
 * caches than 64 MiB did: against 1024 × 64 KiB, 4 KiB streaming × 1000 connections +30 %, no cell
 * of the echo bench slower (docs/benchmarks.md, twelfth session). Whole buffers, not incremental
 * ones: the connections share the group, and an incremental buffer's pieces are placed by the
 * order of their CQEs, which nothing documented promises to be the order the kernel consumed the
 * buffer in across requests (docs/buffers.md: one incremental group per stream).
 * Connections that find the group empty wait in turn (BufferGroup wakes as many as it has
 * buffers), so more receivers than buffers are served too.
 */
export const DEFAULT_GROUP = { count: 256, size: 65536 } as const;

const defaults = new WeakMap<Ring, RecvGroup>();
let makeGroup: ((ring: Ring) => RecvGroup) | undefined;

/** Installs the factory of default groups (src/buffers/install.ts: a BufferGroup). */
export function setDefaultGroupFactory(f: (ring: Ring) => RecvGroup): void {
  makeGroup = f;
}

export function defaultGroup(ring: Ring): RecvGroup {
  let g = defaults.get(ring);
  if (!g) {
    if (!makeGroup) throw new Error('ringflow: no buffer-group implementation loaded (import ringflow, not its internals)');
    g = makeGroup(ring);
    defaults.set(ring, g);
  }
  return g;
}
