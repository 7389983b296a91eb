/**
 * writeFile in one submission: open into a direct descriptor, write, close — linked in one
 * io_uring_enter.
 *
 *   openat(path, flags, mode, { direct: slot })  ─link→  write(slot, data, pos -1)  ─hardlink→  close(slot)
 *
 * The write uses the file position (-1): 0 for a file just opened, the end with O_APPEND. It is
 * hard-linked to the close because a short write breaks a soft link and the close must run anyway.
 * A short write (the kernel caps one write at 0x7ffff000 bytes; a full disk) goes on in a next
 * round that opens the file again without O_CREAT/O_EXCL/O_TRUNC and writes the rest at the offset
 * reached (O_APPEND: at the end), until everything is written or a write makes no progress.
 * The slot is empty again before it returns to the pool, whatever happened.
 */
import type { Ring } from '../../ring/ring.js';
import { op } from '../../ops/build.js';
import { FixedFile } from '../../ops/sqe.js';
import { SlotPool } from './slots.js';
import { settleAll, type Settled } from './settle.js';
import { runGroupSettled } from '../../ring/callback-requests.js';
import { aborted, asNodeSyscall } from './errors.js';

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
const O_EXCL = 0o200;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
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
  const append = (flags & O_APPEND) !== 0;
  const pool = SlotPool.of(ring);
  let done = 0;
  let zeroWrites = 0;
  for (let round = 0; ; round++) {
    // later rounds: the file exists and holds what was written; do not create or truncate it again
    const f = round === 0 ? flags : flags & ~(O_CREAT | O_EXCL | O_TRUNC);
    // round 0 writes at the file position (-1: 0 for a new descriptor, the end with O_APPEND)
    const at = round === 0 || append ? -1 : done;
    const chunk = bytes.subarray(done, done + Math.min(bytes.length - done, signal ? ABORTABLE_WRITE : MAX_WRITE));
    const n = pool ? await roundDirect(ring, pool, path, f, mode, chunk, at, signal) : await roundFd(ring, path, f, mode, chunk, at, signal);
    done += n;
    if (done >= bytes.length) return;
    zeroWrites = n === 0 ? zeroWrites + 1 : 0;
    if (zeroWrites > MAX_ZERO_WRITES) throw Object.assign(new Error('A system error occurred: write failed'), { code: 'ERR_SYSTEM_ERROR', syscall: 'write' });
    if (signal?.aborted) throw aborted(signal);
  }
}

async function roundDirect(ring: Ring, pool: SlotPool, path: string | Uint8Array, flags: number, mode: number, chunk: Uint8Array, at: number, signal: AbortSignal | undefined): Promise<number> {
  let slot = pool.tryTake();
  if (slot < 0) slot = await pool.take();
  try {
    const f = new FixedFile(slot);
    const sqes = [op.openat(path, flags & ~O_CLOEXEC, mode, { direct: slot }).link(), op.write(f, chunk, at).hardlink(), op.close(f)];
    const [open, write, close] = await runGroupSettled(ring, sqes, signal);
    if (!close.ok && !ring.closed) await ring.closeFd(f).catch(() => {});
    return outcome(open, write, close, signal);
  } finally {
    pool.give(slot);
  }
}

async function roundFd(ring: Ring, path: string | Uint8Array, flags: number, mode: number, chunk: Uint8Array, at: number, signal: AbortSignal | undefined): Promise<number> {
  let fd: number;
  try {
    fd = await ring.openat(path, flags, mode, { signal });
  } catch (e) {
    throw signal?.aborted ? aborted(signal) : asNodeSyscall(e, 'open');
  }
  const [write, close] = await settleAll(ring.chain([op.write(fd, chunk, at).hardlink(), op.close(fd)]));
  if (!close.ok && !ring.closed) await ring.closeFd(fd).catch(() => {});
  return outcome({ ok: true, value: fd }, write, close, signal);
}

function outcome(open: Settled, write: Settled, close: Settled, signal: AbortSignal | undefined): number {
  if (signal?.aborted) throw aborted(signal);
  if (!open.ok) throw asNodeSyscall(open.error, 'open');
  if (!write.ok) throw asNodeSyscall(write.error, 'write');
  if (!close.ok) throw asNodeSyscall(close.error, 'close');
  return write.value as number;
}
