/**
 * readFile in one submission: open into a direct descriptor, read, read again, close — linked in
 * one io_uring_enter, so a small page-cached file costs one trip to the kernel and at most one JS
 * wakeup.
 *
 *   openat(path, { direct: slot })  ─link→  read(slot, scratch[0, 64 KiB), pos -1)
 *     ─hardlink→  read(slot, scratch[64 KiB], 1 byte, pos -1)  ─hardlink→  close(slot)
 *
 * Both reads use the file position (-1), so the second one starts where the first stopped. If it
 * finds nothing (0 bytes) the first read ended at end of file, whatever kind of file it is, and the
 * data is in the scratch buffer. Anything else (a file of more than 64 KiB, a pipe or /proc file
 * that answered short) goes to the general path: open, fstat (statx on the fd), read to the end,
 * close, as Node's readFile does.
 *
 * The links: a failed open cancels the rest (nothing to close); the reads are hard-linked because
 * a read that returns less than it asked for (the usual case: end of file) breaks a soft link, and
 * the close must run whatever the reads did. Whatever happens (an error, an abort, a closed
 * ring), the slot is empty again before it goes back to the pool: if the chain's close did not
 * run, a close of its own follows.
 */
import type { Ring } from '../../ring/ring.js';
import { op } from '../../ops/build.js';
import { FixedFile, type Fd } from '../../ops/sqe.js';
import { SlotPool } from './slots.js';
import { aborted, asNodeSyscall, fileTooLarge, IO_MAX_LENGTH } from './errors.js';

export interface ReadWholeFileOptions {
  /** O_* flags (already normalised from 'r', 'a+', …); default O_RDONLY. */
  flags?: number;
  /** Permissions if the flags create the file; default 0o666. */
  mode?: number;
  signal?: AbortSignal;
  /** Return a string decoded with this encoding; a Buffer without. */
  encoding?: BufferEncoding | null;
}

const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_TRUNC = 0o1000;
const AT_EMPTY_PATH = 0x1000;
const STATX_TYPE = 0x1;
const STATX_SIZE = 0x200;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** Bytes the one-submission path reads: a file up to this size needs one submission. */
export const FIRST_READ = 64 * 1024;
/** Node's kReadFileBufferLength / kReadFileUnknownBufferLength: chunks of the general path. */
const KNOWN_CHUNK = 512 * 1024;
const UNKNOWN_CHUNK = 64 * 1024;

// ---------------------------------------------------------------- scratch buffers

/** Scratch buffers (FIRST_READ + 1 bytes) kept for reuse: one per chain in flight, up to this many kept. */
const SCRATCH_KEEP = 64;
const scratches: Buffer[] = [];
const takeScratch = (): Buffer => scratches.pop() ?? Buffer.allocUnsafeSlow(FIRST_READ + 1);
const giveScratch = (b: Buffer): void => {
  if (scratches.length < SCRATCH_KEEP) scratches.push(b);
};

/** The file's bytes as readFile returns them: a Buffer of its own (as Node's), or a string. */
function resultOf(scratch: Buffer, n: number, encoding: BufferEncoding | null | undefined): Buffer | string {
  if (encoding) return scratch.toString(encoding, 0, n);
  const out = Buffer.allocUnsafeSlow(n);
  scratch.copy(out, 0, 0, n);
  return out;
}

// ---------------------------------------------------------------- readWholeFile

/**
 * Reads a whole file, as fs.promises.readFile(path, { flag, encoding, signal }) does. Throws
 * RingError with `syscall` 'open', 'read', 'fstat' or 'close'; AbortError when `signal` fires;
 * RangeError ERR_FS_FILE_TOO_LARGE past 2 GiB.
 */
export async function readWholeFile(ring: Ring, path: string | Uint8Array, options: ReadWholeFileOptions = {}): Promise<Buffer | string> {
  const flags = options.flags ?? 0;
  const mode = options.mode ?? 0o666;
  const { signal, encoding } = options;
  if (signal?.aborted) throw aborted(signal);
  const pool = SlotPool.of(ring);
  const scratch = takeScratch();
  let n: number;
  try {
    if (pool) {
      let slot = pool.tryTake();
      if (slot < 0) slot = await pool.take();
      try {
        n = await firstRoundDirect(ring, path, flags, mode, signal, slot, scratch);
      } finally {
        pool.give(slot);
      }
    } else n = await firstRoundFd(ring, path, flags, mode, signal, scratch);
    if (n >= 0) return resultOf(scratch, n, encoding);
  } finally {
    giveScratch(scratch);
  }
  // more than FIRST_READ bytes, or a file that answered short: from the start, as Node does,
  // without creating or truncating it again
  return readGeneral(ring, path, flags & ~(O_CREAT | O_EXCL | O_TRUNC), mode, signal, encoding);
}

/** The chain's reads and what they tell: bytes of the file in the scratch, or -1 (not at EOF yet). */
function firstReads(fd: Fd, scratch: Buffer) {
  return [op.read(fd, scratch.subarray(0, FIRST_READ), -1).hardlink(), op.read(fd, scratch.subarray(FIRST_READ, FIRST_READ + 1), -1).hardlink()];
}

/** open → read → read → close on a direct descriptor in one submission; the slot is empty when this returns or throws. */
async function firstRoundDirect(ring: Ring, path: string | Uint8Array, flags: number, mode: number, signal: AbortSignal | undefined, slot: number, scratch: Buffer): Promise<number> {
  const f = new FixedFile(slot);
  const sqes = [op.openat(path, flags, mode, { direct: slot }).link(), ...firstReads(f, scratch), op.close(f)];
  const [open, r1, r2, close] = await Promise.allSettled(ring.chain(sqes, { signal }));
  if (close.status !== 'fulfilled') await emptySlot(ring, f);
  return outcome(open, r1, r2, close, signal);
}

/** Without a slot pool (the ring's file table belongs to someone else): open, then read → read → close. */
async function firstRoundFd(ring: Ring, path: string | Uint8Array, flags: number, mode: number, signal: AbortSignal | undefined, scratch: Buffer): Promise<number> {
  let fd: number;
  try {
    fd = await ring.openat(path, flags, mode, { signal });
  } catch (e) {
    throw asNodeSyscall(e, 'open');
  }
  const [r1, r2, close] = await Promise.allSettled(ring.chain([...firstReads(fd, scratch), op.close(fd)]));
  if (close.status !== 'fulfilled') await ring.closeFd(fd).catch(() => {});
  return outcome({ status: 'fulfilled', value: fd }, r1, r2, close, signal);
}

/** A close of the slot when the chain's own did not run (an abort, a closed ring): never throws. */
async function emptySlot(ring: Ring, f: FixedFile): Promise<void> {
  if (ring.closed) return; // the ring's file table goes with it
  try {
    await ring.closeFd(f);
  } catch {
    /* EBADF: the open never filled it */
  }
}

function outcome(
  open: PromiseSettledResult<unknown>,
  r1: PromiseSettledResult<unknown>,
  r2: PromiseSettledResult<unknown>,
  close: PromiseSettledResult<unknown>,
  signal: AbortSignal | undefined,
): number {
  if (signal?.aborted) throw aborted(signal);
  if (open.status === 'rejected') throw asNodeSyscall(open.reason, 'open');
  if (r1.status === 'rejected') throw asNodeSyscall(r1.reason, 'read');
  if (r2.status === 'rejected') throw asNodeSyscall(r2.reason, 'read');
  if (close.status === 'rejected') throw asNodeSyscall(close.reason, 'close');
  return r2.value === 0 ? (r1.value as number) : -1;
}

// ---------------------------------------------------------------- the general path

/** Node's readFile on a plain descriptor: fstat, then reads of the known size (or chunks to EOF), close. */
async function readGeneral(ring: Ring, path: string | Uint8Array, flags: number, mode: number, signal: AbortSignal | undefined, encoding: BufferEncoding | null | undefined): Promise<Buffer | string> {
  if (signal?.aborted) throw aborted(signal);
  let fd: number;
  try {
    fd = await ring.openat(path, flags, mode, { signal });
  } catch (e) {
    throw asNodeSyscall(e, 'open');
  }
  let result: Buffer;
  try {
    result = await readToEnd(ring, fd, signal);
  } catch (e) {
    await ring.closeFd(fd).catch(() => {});
    throw e;
  }
  try {
    await ring.closeFd(fd);
  } catch (e) {
    throw asNodeSyscall(e, 'close');
  }
  return encoding ? result.toString(encoding) : result;
}

async function readToEnd(ring: Ring, fd: number, signal: AbortSignal | undefined): Promise<Buffer> {
  let size: number;
  try {
    const st = await ring.statx('', { dirfd: fd, statxFlags: AT_EMPTY_PATH, mask: STATX_TYPE | STATX_SIZE });
    size = (st.mode & S_IFMT) === S_IFREG ? Number(st.size) : 0;
  } catch (e) {
    throw asNodeSyscall(e, 'fstat');
  }
  if (size > IO_MAX_LENGTH) throw fileTooLarge(size);
  const read = async (buf: Buffer, at: number, len: number): Promise<number> => {
    if (signal?.aborted) throw aborted(signal);
    try {
      return await ring.read(fd, buf.subarray(at, at + len), -1);
    } catch (e) {
      throw signal?.aborted ? aborted(signal) : asNodeSyscall(e, 'read');
    }
  };
  if (size > 0) {
    const full = Buffer.allocUnsafeSlow(size);
    let total = 0;
    for (;;) {
      const n = await read(full, total, Math.min(size - total, KNOWN_CHUNK));
      total += n;
      if (n === 0 || total === size) break;
    }
    return total === size ? full : full.subarray(0, total);
  }
  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafeSlow(UNKNOWN_CHUNK);
    const n = await read(chunk, 0, UNKNOWN_CHUNK);
    if (n === 0) break;
    parts.push(n === UNKNOWN_CHUNK ? chunk : chunk.subarray(0, n));
    total += n;
    if (total > IO_MAX_LENGTH) throw fileTooLarge(total);
  }
  return Buffer.concat(parts, total);
}

