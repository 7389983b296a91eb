/**
 * Native memory that ringflow lends the kernel for registered buffers and provided-buffer groups
 * (native/buffers.c). JS memory is never lent for these: the kernel keeps using them across many
 * requests, long after any one request's `keep` list, and an ArrayBuffer can be transferred,
 * detached or (resizable ones) shrunk by JS meanwhile. A NativeBlock is page-aligned, between
 * guard pages and reference counted: the block holds one reference until release(), every
 * ArrayBuffer made over it (view()) one more, dropped by V8 when that ArrayBuffer is collected. So
 * whatever JS does to a view (transfer() moves the same memory, a detach drops only that view's
 * reference; external ArrayBuffers are not resizable), the memory lives as long as the kernel or
 * any view may touch it. Views are marked untransferable (no transfer lists, no postMessage moves).
 */
import { markAsUntransferable } from 'node:worker_threads';
import { marksAreDetachKeys, noteNativeBase } from '../ring/memory.js';
import { binding } from '../native.js';
import { RingError, errno as errnoOf } from '../errors.js';

const ENOMEM = errnoOf('ENOMEM');

export class NativeBlock {
  /** Address of the first byte (page-aligned). */
  readonly address: number;
  /** Bytes asked for. */
  readonly length: number;
  #handle: unknown;

  constructor(length: number, what: string) {
    const r = binding.bufMemAlloc(length) as number | [unknown, number];
    if (typeof r === 'number') throw memlockError(r, 'mmap', what, length);
    [this.#handle, this.address] = r;
    this.length = length;
  }

  /** An ArrayBuffer over [offset, offset + length) holding its own reference (length ≥ 1). */
  view(offset: number, length: number): ArrayBuffer {
    const ab = binding.bufMemView(this.#handle, offset, length) as ArrayBuffer | number;
    if (typeof ab === 'number') throw new RingError(ab, 'bufMemView', { detail: `[${offset}, ${offset + length}) of a ${this.length}-byte block` });
    // Node 20/22: marked, so transfer lists refuse it (a mark there is no detach key: release()
    // can still detach). Node 24+: a mark would be a detach key (see marksAreDetachKeys), and their
    // transfer lists refuse a Node-API external buffer anyway; transfer() moves the same memory.
    if (!marksAreDetachKeys()) markAsUntransferable(ab);
    noteNativeBase(ab, this.address + offset);
    return ab;
  }

  /** A Buffer of [offset, offset + length) (an empty one for length 0: nothing to hold). */
  bytes(offset: number, length: number): Buffer {
    return length === 0 ? Buffer.alloc(0) : Buffer.from(this.view(offset, length), 0, length);
  }

  /** @internal the native handle (undefined once released): the engine takes its own reference through it (ring.allowBufferGroup). */
  get handle(): unknown {
    return this.#handle;
  }

  /** Drops the block's own reference (the kernel let go); views made from it keep theirs. Idempotent. */
  release(): void {
    if (this.#handle === undefined) return;
    binding.bufMemRelease(this.#handle);
    this.#handle = undefined;
  }

  get released(): boolean {
    return this.#handle === undefined;
  }
}

/** Detaches an ArrayBuffer made by NativeBlock.view(): its views read as zero-length from now on. */
export function detach(ab: ArrayBuffer): void {
  binding.bufDetach(ab);
}

/** RLIMIT_MEMLOCK of this process, [soft, hard] in bytes (-1: unlimited), or undefined. */
export function memlockLimit(): [number, number] | undefined {
  const r = binding.memlockLimit() as number | [number, number];
  return typeof r === 'number' ? undefined : r;
}

function bytesText(n: number): string {
  if (n < 0) return 'unlimited';
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

const PAGE = 4096;
/** Bytes the kernel pins for `n` bytes of page-aligned memory. */
export const pagesOf = (n: number): number => Math.ceil(n / PAGE) * PAGE;

/**
 * The RingError of a failed registration of `bytes` bytes. ENOMEM there is RLIMIT_MEMLOCK
 * refusing for a user without CAP_IPC_LOCK (registered buffers on every kernel; buffer rings and
 * ring memory on 6.14+, io_uring-6.18.md §3.11): the error says how much was asked, the limit, and
 * how to raise it.
 */
export function memlockError(r: number, syscall: string, what: string, bytes: number): RingError {
  if (r !== -ENOMEM) return new RingError(r, syscall, { detail: what });
  const lim = memlockLimit();
  const limit = lim ? `RLIMIT_MEMLOCK is ${bytesText(lim[0])} (hard limit ${bytesText(lim[1])})` : 'RLIMIT_MEMLOCK could not be read';
  return new RingError(r, syscall, {
    detail: `${what}: asked to lock ${bytesText(pagesOf(bytes))} (${bytes} bytes in whole pages); ${limit}, counted per user over all its processes and rings`,
    hint:
      'memory io_uring pins (registered buffers, buffer rings, on Linux 6.14+ the rings themselves) counts against RLIMIT_MEMLOCK for users without CAP_IPC_LOCK: ' +
      'raise it (`ulimit -l <KiB>` in the shell that starts node, LimitMEMLOCK= in a systemd unit, `prlimit --pid <pid> --memlock=<bytes>` for a running process, ' +
      '`docker run --ulimit memlock=<bytes>`) or register less',
  });
}
