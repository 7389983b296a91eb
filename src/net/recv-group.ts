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
 * Default group of a ring's sockets: 1024 buffers of 64 KiB (64 MiB of address space, touched as
 * used), made on first use. One recv takes up to a buffer: 64 KiB buffers doubled the JS echo's 4 KiB
 * streaming at 100 and 1000 connections against 4096 × 16 KiB (a CQE, a chunk and a send per 64 KiB
 * instead of per 16 KiB; docs/benchmarks.md). Connections that find the group empty wait in turn
 * (BufferGroup wakes as many as it has buffers), so more receivers than buffers are served too.
 */
export const DEFAULT_GROUP = { count: 1024, size: 65536 } as const;

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
