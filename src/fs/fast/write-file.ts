/**
 * writeFile in one submission: open into a direct descriptor, write, close — linked in one
 * io_uring_enter.
 *
 *   openat(path, flags, mode, { direct: slot })  ─link→  write(slot, data, pos -1)  ─link→  close(slot)
 *
 * The write uses the file position (-1): 0 for a file just opened, the end with O_APPEND. A short
 * write (a FIFO whose reader took part, a full disk, the kernel's cap of 0x7ffff000 bytes per write)
 * breaks the soft link to the close, which the kernel then cancels: the file stays open and the
 * rest goes through that same open file, write after write at its position, until everything is
 * written or writes make no progress; then it is closed. Data larger than one round (the cap, or
 * half a MiB with a signal, asked between rounds) is opened and written without the linked close.
 * Never opened twice: a FIFO's reader would see end-of-file at the first close, and a file created
 * read-only (mode 0o444) could not be opened for writing again.
 * The slot is empty again before it returns to the pool, whatever happened. Without a pool (the
 * ring's file table is the caller's) the file is opened as a process fd, registered with the
 * thread's owned set, written, then closed by a request of its own: a close linked behind the write
 * could be cancelled by a thread's teardown after the fd had left the set (src/ring/unsubmitted.ts).
 */
import type { Ring } from '../../ring/ring.js';
import { op } from '../../ops/build.js';
import { FixedFile } from '../../ops/sqe.js';
import { SlotPool } from './slots.js';
import type { Settled } from './settle.js';
import { runGroupSettled } from '../../ring/callback-requests.js';
import { aborted, asNodeSyscall } from './errors.js';
import { closeOwnedFd, neverRan } from '../../ring/close-fd.js';
import { binding } from '../../native.js';

export interface WriteWholeFileOptions {
  /** O_* flags (already normalised from 'w', 'a', …); default O_WRONLY | O_CREAT | O_TRUNC. */
  flags?: number;
  /** Permissions if the file is created; default 0o666. */
  mode?: number;
  signal?: AbortSignal;
  /** For string data: its encoding (default utf8). */
  encoding?: BufferEncoding | null;
}

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
/** The kernel refuses O_CLOEXEC for a direct descriptor (which no child process inherits anyway). */
const O_CLOEXEC = 0o2000000;
/** Linux's MAX_RW_COUNT (INT_MAX & PAGE_MASK): the most one write moves. */
const MAX_WRITE = 0x7ffff000;
/**
 * With a signal, a round writes at most this much (node's kWriteFileMaxChunkSize) and the signal is
 * asked between rounds: an abort stops the writing within half a MiB, as node's does, instead of
 * after the whole file went in one write the kernel does not stop.
 */
const ABORTABLE_WRITE = 512 * 1024;
/** Node's writeAll gives up after this many writes in a row that moved nothing. */
const MAX_ZERO_WRITES = 5;

function bytesOf(data: ArrayBufferView | string, encoding: BufferEncoding | null | undefined): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Writes `data` to the file at `path`, as fs.promises.writeFile(path, data, { flag, mode, signal })
 * does for a buffer or string. Throws RingError with `syscall` 'open', 'write' or 'close';
 * AbortError when `signal` fires (the file may then be partly written, as with Node).
 */
export async function writeWholeFile(ring: Ring, path: string | Uint8Array, data: ArrayBufferView | string, options: WriteWholeFileOptions = {}): Promise<void> {
  const flags = options.flags ?? O_WRONLY | O_CREAT | O_TRUNC;
  const mode = options.mode ?? 0o666;
  const { signal } = options;
  if (signal?.aborted) throw aborted(signal);
  const bytes = bytesOf(data, options.encoding);
  const limit = signal ? ABORTABLE_WRITE : MAX_WRITE;
  const pool = SlotPool.of(ring);
  let slot = -1;
  if (pool) {
    slot = pool.tryTake();
    if (slot < 0) slot = await pool.take();
  }
  /** The descriptor, while it holds the open file (closed before this returns). */
  let file: FixedFile | number | undefined;
  try {
    const first = bytes.subarray(0, Math.min(bytes.length, limit));
    const r = slot >= 0 ? await firstDirect(ring, slot, path, flags, mode, first, first.length === bytes.length, signal) : await firstFd(ring, path, flags, mode, first, signal);
    file = r.file;
    if (r.error !== undefined) throw r.error;
    let done = r.written;
    if (file === undefined) return; // all of it, and closed
    let zeroWrites = 0;
    while (done < bytes.length) {
      if (signal?.aborted) throw aborted(signal);
      const chunk = bytes.subarray(done, done + Math.min(bytes.length - done, limit));
      let n: number;
      try {
        n = await ring.write(file, chunk, -1, { signal });
      } catch (e) {
        throw signal?.aborted ? aborted(signal) : asNodeSyscall(e, 'write');
      }
      done += n;
      zeroWrites = n === 0 ? zeroWrites + 1 : 0;
      if (zeroWrites > MAX_ZERO_WRITES) throw Object.assign(new Error('A system error occurred: write failed'), { code: 'ERR_SYSTEM_ERROR', syscall: 'write' });
    }
    const fd = file;
    file = undefined;
    try {
      await (typeof fd === 'number' ? closeOwnedFd(ring, fd) : ring.closeFd(fd));
    } catch (e) {
      throw asNodeSyscall(e, 'close');
    }
  } finally {
    // after an error or an abort (a slot went with a closed ring; a plain descriptor did not)
    if (file !== undefined) {
      // (a slot went with a closed ring; a plain descriptor is closed all the same: src/ring/close-fd.ts)
      if (typeof file === 'number') await closeOwnedFd(ring, file).catch(() => {});
      else if (!ring.closed) await ring.closeFd(file).catch(() => {});
    }
    if (slot >= 0) pool!.give(slot);
  }
}

/** What the first round left: bytes written, the descriptor if the file is still open, and its error if it failed. */
interface FirstRound {
  written: number;
  file: FixedFile | number | undefined;
  error?: unknown;
}

/** open → write (→ close when `whole`), one submission on a pool slot. */
async function firstDirect(ring: Ring, slot: number, path: string | Uint8Array, flags: number, mode: number, chunk: Uint8Array, whole: boolean, signal: AbortSignal | undefined): Promise<FirstRound> {
  const f = new FixedFile(slot);
  const open = op.openat(path, flags & ~O_CLOEXEC, mode, { direct: slot }).link();
  const sqes = whole ? [open, op.write(f, chunk, -1).link(), op.close(f)] : [open, op.write(f, chunk, -1)];
  const [o, w, c] = await runGroupSettled(ring, sqes, signal);
  return outcome(f, chunk, o, w, c, signal);
}

/** Without a pool: open first, then write on the new descriptor (its close comes after the writes). */
async function firstFd(ring: Ring, path: string | Uint8Array, flags: number, mode: number, chunk: Uint8Array, signal: AbortSignal | undefined): Promise<FirstRound> {
  let fd: number;
  try {
    fd = await ring.openat(path, flags, mode, { signal });
    binding.fdOwn(fd); // (this thread's until its close is written: closed at its end if it ends first)
  } catch (e) {
    throw signal?.aborted ? aborted(signal) : asNodeSyscall(e, 'open');
  }
  // (the close is not linked behind the write: one the kernel may still cancel would leave it open
  // if the thread ended first, its fd no longer owned; it follows once the write is done)
  let w: Settled;
  try {
    w = { ok: true, value: await ring.write(fd, chunk, -1, { signal }) };
  } catch (error) {
    w = { ok: false, error }; // (also a ring closed while the open was under way: the fd goes back to be closed)
  }
  return outcome(fd, chunk, { ok: true, value: fd }, w, undefined, signal);
}

/** A step that did not run: cancelled by the broken link (RingError ECANCELED) or by the signal (an AbortError), or taken back by ring.close() before the kernel saw it. */
const cancelled = (e: unknown): boolean => neverRan(e) || (e instanceof Error && e.name === 'AbortError');

/**
 * The first round's result. The file is open after it unless its close ran: the close is not in
 * the round (more data follows), or the kernel cancelled it (the write failed or was short, or an
 * abort). A close that ran and failed has let go of the file all the same.
 */
function outcome(f: FixedFile | number, chunk: Uint8Array, open: Settled, write: Settled, close: Settled | undefined, signal: AbortSignal | undefined): FirstRound {
  if (!open.ok) return { written: 0, file: undefined, error: signal?.aborted ? aborted(signal) : asNodeSyscall(open.error, 'open') };
  const closeRan = close !== undefined && (close.ok || !cancelled(close.error));
  const file = closeRan ? undefined : f;
  if (signal?.aborted) return { written: 0, file, error: aborted(signal) };
  if (!write.ok) return { written: 0, file, error: asNodeSyscall(write.error, 'write') };
  const n = write.value as number;
  if (closeRan && !close.ok) return { written: n, file, error: asNodeSyscall(close.error, 'close') };
  return { written: n, file };
}
