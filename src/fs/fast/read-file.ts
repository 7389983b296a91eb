/**
 * readFile in one submission: open into a direct descriptor and read, linked in one
 * io_uring_enter, so a small page-cached file costs one trip to the kernel and at most one JS
 * wakeup before its bytes are there.
 *
 *   openat(path, { direct: slot })  ─link→  read(slot, scratch[0, 64 KiB), pos -1)
 *     ─hardlink→  read(slot, the slot's own byte, 1 byte, pos -1)
 *
 * then close(slot), queued at once and not waited for: it goes to the kernel with the next
 * submission (the next readFile's, in a loop), and the slot returns to the pool at its completion.
 *
 * Both reads use the file position (-1), so the second one starts where the first stopped. If it
 * finds nothing (0 bytes) the first read ended at end of file, whatever kind of file it is. If it
 * found a byte (a file of more than 64 KiB, a pipe or /proc file that answered short), reading goes
 * on through the same open file until a read returns 0, as Node's readFile does for a file of
 * unknown size: nothing is read twice, and a FIFO or /dev/stdin loses nothing.
 *
 * Why the close is not linked after the reads: a link cannot make it conditional, and closing
 * before knowing whether the file is at its end would mean opening it again for the rest (a second
 * open of a FIFO waits for a writer that may be gone, and what the first one read is lost).
 *
 * The links: a failed open cancels the reads (nothing to close); the reads are hard-linked because
 * a read that returns less than it asked for (the usual case: end of file) breaks a soft link.
 * Whatever happens (an error, an abort), the slot is closed before it goes back to the pool.
 */
import type { Ring } from '../../ring/ring.js';
import { op, repath } from '../../ops/build.js';
import { FixedFile, NO_BYTES, type Sqe } from '../../ops/sqe.js';
import { runGroupSettled, runWithCallback, type Settled } from '../../ring/callback-requests.js';
import { SlotPool } from './slots.js';
import { settleAll } from './settle.js';
import { aborted, asNodeSyscall, fileTooLarge, IO_MAX_LENGTH } from './errors.js';
import { privateAddress } from '../../ring/memory.js';
import { AT_EMPTY_PATH } from '../../ring/abi.js';
import { closeOwnedFd } from '../../ring/close-fd.js';
import { binding } from '../../native.js';

const noop = (): void => {};

/** STATX_SIZE (include/uapi/linux/stat.h). */
const STATX_SIZE = 0x200;

export interface ReadWholeFileOptions {
  /** O_* flags (already normalised from 'r', 'a+', …); default O_RDONLY. */
  flags?: number;
  /** Permissions if the flags create the file; default 0o666. */
  mode?: number;
  signal?: AbortSignal;
  /** Return a string decoded with this encoding; a Buffer without. */
  encoding?: BufferEncoding | null;
  /** Applied to the bytes read (a Buffer: no `encoding`) before they are returned; what it throws goes to `fail`. */
  decode?: (bytes: Buffer) => string;
  /**
   * What the call rejects with instead of what it threw (ringflow/fs's Node errors, which name the
   * path). Given here, not by a caller awaiting this call, so that the call's result resolves one
   * promise, not two (resolving a promise with a Buffer looks `then` up its whole prototype chain).
   */
  fail?: (error: unknown) => Promise<never>;
}


/** O_CLOEXEC: the kernel refuses it for a direct descriptor (which no child process inherits anyway). */
const O_CLOEXEC = 0o2000000;

/** Bytes the one-submission path reads: a file up to this size needs one submission. */
export const FIRST_READ = 64 * 1024;

// ---------------------------------------------------------------- scratch buffers

/**
 * Scratch buffers of FIRST_READ bytes, each with the chain's first read built on it once (a hard
 * link; its slot is set per use): one per chain in flight, up to SCRATCH_KEEP kept for reuse.
 * Without a pool (plain descriptors) the read is built per call.
 */
interface Scratch {
  readonly buf: Buffer;
  /** read(slot, buf, position -1), hard-linked; `fd` is the slot of the chain using it. */
  readonly read: Sqe;
}
const SCRATCH_KEEP = 64;
const scratches: Scratch[] = [];
const takeScratch = (): Scratch => {
  const s = scratches.pop();
  if (s) return s;
  const buf = Buffer.allocUnsafeSlow(FIRST_READ);
  return { buf, read: op.read(new FixedFile(0), buf, -1).hardlink() };
};
const giveScratch = (s: Scratch): void => {
  if (scratches.length < SCRATCH_KEEP) scratches.push(s);
};

/**
 * What a pool slot's chains reuse, built once per slot: the one-byte read that says whether the
 * first read reached the end (into the slot's own byte), and the close queued after the reads.
 */
interface SlotKit {
  readonly fixed: FixedFile;
  readonly byte: Uint8Array;
  /** openat(path, { direct: slot }), linked: its path, flags and mode set per use (repath). */
  readonly open: Sqe;
  /** read(slot, byte, position -1). */
  readonly probe: Sqe;
  /** close(slot). */
  readonly close: Sqe;
  /** Gives the slot back to the pool (its file closed); also the close's callback: whatever the close answers, the slot is empty after it. */
  readonly give: () => void;
}
const kitsOf = new WeakMap<SlotPool, SlotKit[]>();
function slotKit(pool: SlotPool, slot: number): SlotKit {
  let kits = kitsOf.get(pool);
  if (kits === undefined) kitsOf.set(pool, (kits = new Array<SlotKit>(pool.size)));
  const i = slot - pool.offset;
  let k = kits[i];
  if (k === undefined) {
    const byte = new Uint8Array(1);
    const fixed = new FixedFile(slot);
    k = kits[i] = { fixed, byte, open: op.openat('/', 0, 0, { direct: slot }).link(), probe: op.read(fixed, byte, -1), close: op.close(fixed), give: () => pool.give(slot) };
  }
  return k;
}

/**
 * Where the first read goes. Small files: a pooled scratch buffer, then the bytes copied into a
 * Buffer of their own. Large files: a fresh buffer returned as it is, shrunk in place to the
 * file's size (no copy: at 64 KiB the copy was 17 % of the CPU profile, and with 10,000 files the
 * second pass over cold memory halved the rate). Which one is
 * chosen from the sizes of the last files read (a running average): right for a run of similar
 * files, and correct either way.
 */
const FRESH_ABOVE = FIRST_READ / 4;
let sizeHint = 0;

/**
 * readWholeFile calls on this thread whose reads are under way. From ASYNC_FROM of them on, a first
 * read into a fresh buffer (a large file) goes to io-wq (IOSQE_ASYNC): its copy out of the page
 * cache, the bulk of a 64 KiB readFile, runs on a kernel worker on another core while this thread
 * handles the other calls. Measured (64 KiB files, page cache, 2 cores): +10-27 % calls/s at 32 and
 * 64 in flight, -4 % with 16 in flight and such a threshold at 16, and -77 % for a lone call, which
 * never reaches the threshold; 1 KiB files lose 10-20 % with IOSQE_ASYNC on the open or the read at
 * any concurrency, so they never use it (docs/benchmarks.md, tenth session).
 */
let inFlight = 0;
export const ASYNC_FROM = 24;
/** What the heuristic above did, for tests: calls in progress now, and first reads sent to io-wq so far. */
export const readWholeFileCounters = {
  get inFlight(): number {
    return inFlight;
  },
  asyncFirstReads: 0,
};

/** The bytes read into `target` as readFile returns them: a Buffer of their own, of exactly their size, or a string. */
function resultOf(target: Buffer, n: number, fresh: boolean, encoding: BufferEncoding | null | undefined): Buffer | string {
  sizeHint = (sizeHint * 3 + n) / 4;
  if (encoding) return target.toString(encoding, 0, n);
  if (fresh) {
    if (n === target.length) return target;
    // a buffer of exactly its bytes, as node's (code reads `new Float32Array(buf.buffer)`): the fresh
    // one shrunk in place where the runtime has ArrayBuffer.prototype.transfer (Node 21+; a realloc,
    // ~1 µs against ~9 µs for a 40 KiB copy), else copied below
    const ab = target.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
    if (typeof ab.transfer === 'function') return Buffer.from(ab.transfer(n));
  }
  // a buffer of its own, not a slice of Node's pool: transferable, byteOffset 0, as node:fs/promises' results
  const out = Buffer.allocUnsafeSlow(n);
  target.copy(out, 0, 0, n);
  return out;
}

/**
 * A hard-linked read of `fd` at the current position into `buf`, a fresh buffer nobody else can
 * reach until the read's CQE (readFile returns it afterwards): lent to the kernel without being
 * marked untransferable (privateAddress), so the caller can transfer what readFile returned, as
 * with node:fs/promises.
 */
function privateRead(fd: FixedFile | number, buf: Buffer): Sqe {
  return op.read(fd, NO_BYTES, -1).setBuffer(privateAddress(buf.buffer as ArrayBuffer) + buf.byteOffset, buf.length, buf).hardlink();
}

// ---------------------------------------------------------------- readWholeFile

/**
 * Reads a whole file, as fs.promises.readFile(path, { flag, encoding, signal }) does. Throws
 * RingError with `syscall` 'open' or 'read'; AbortError when `signal` fires; RangeError
 * ERR_FS_FILE_TOO_LARGE past 2 GiB.
 */
export async function readWholeFile(ring: Ring, path: string | Uint8Array, options: ReadWholeFileOptions = {}): Promise<Buffer | string> {
  // one async function (a caller mapping errors by awaiting this one would resolve a second promise: see `fail`)
  try {
    const flags = options.flags ?? 0;
    const mode = options.mode ?? 0o666;
    const { signal, encoding } = options;
    if (signal?.aborted) throw aborted(signal);
    const pool = SlotPool.of(ring);
    let file: OpenFile;
    if (pool) {
      let slot = pool.tryTake();
      if (slot < 0) slot = await pool.take();
      const kit = slotKit(pool, slot);
      file = { fd: kit.fixed, kit, failed: false };
    } else file = { fd: -1, kit: undefined, failed: false };
    const scratch = takeScratch();
    const fresh = !encoding && sizeHint > FRESH_ABOVE;
    const target = fresh ? Buffer.allocUnsafeSlow(FIRST_READ) : scratch.buf;
    const probe = file.kit?.byte ?? new Uint8Array(1);
    let closing = false;
    inFlight++; // (from here to the finally: calls holding a descriptor, the ones whose reads are under way)
    try {
      const r = checkFirstRound(file, signal, file.kit !== undefined ? await firstRound(ring, file.kit, path, flags, mode, signal, target, fresh ? undefined : scratch) : await firstRoundPlain(ring, file, path, flags, mode, signal, target, fresh, probe));
      const n1 = r[1].value as number;
      if (r[2].value === 0) {
        const out = resultOf(target, n1, fresh, encoding);
        closing = true;
        closeLater(ring, file);
        return options.decode !== undefined ? options.decode(out as Buffer) : out;
      }
      // not at the end after FIRST_READ + 1 bytes (or a file that answered short): go on reading
      // the same open file until a read returns 0; the byte the second read found follows the first's
      // node refuses a file over 2 GiB before reading it (its fstat): ask the size once past the first read
      const size = await sizeOf(ring, file, path);
      if (size > IO_MAX_LENGTH) throw fileTooLarge(size);
      const prefix = Buffer.allocUnsafe(n1 + 1);
      target.copy(prefix, 0, 0, n1);
      prefix[n1] = probe[0];
      const rest = await readRest(ring, file.fd, prefix, signal);
      closing = true;
      closeLater(ring, file);
      sizeHint = (sizeHint * 3 + rest.length) / 4;
      return encoding ? rest.toString(encoding) : options.decode !== undefined ? options.decode(rest) : rest;
    } finally {
      inFlight--;
      giveScratch(scratch);
      if (!closing) await closeNow(ring, file);
    }
  } catch (e) {
    if (options.fail !== undefined) return options.fail(e);
    throw e;
  }
}

/** The descriptor a readWholeFile reads through. */
interface OpenFile {
  /** The slot (pool), or the process fd once the open has given it (no pool; -1 before). */
  fd: FixedFile | number;
  /** The pool slot's reusable requests (undefined: no pool, a plain descriptor). */
  kit: SlotKit | undefined;
  /** The open failed: nothing to close. */
  failed: boolean;
}

/** Gives a pool slot back once its file is closed (the slot empty); nothing to do for a plain descriptor. */
const release = (file: OpenFile): void => file.kit?.give();

/**
 * open → read → read, in one submission on a pool slot's direct descriptor (one promise: the
 * steps settle by callback). The first read fills `target` (through the scratch's prebuilt read
 * when it is the scratch), the second reads one byte into the slot's byte: it got 0 when the first
 * read reached the end of the file.
 */
function firstRound(ring: Ring, kit: SlotKit, path: string | Uint8Array, flags: number, mode: number, signal: AbortSignal | undefined, target: Buffer, scratch: Scratch | undefined): Promise<Settled[]> {
  let read: Sqe;
  if (scratch !== undefined) {
    read = scratch.read;
    read.fd = kit.fixed.index;
  } else {
    read = privateRead(kit.fixed, target);
    if (inFlight >= ASYNC_FROM) {
      read.async(); // the copy on an io-wq worker (ASYNC_FROM)
      readWholeFileCounters.asyncFirstReads++;
    }
  }
  // the slot's open, pointed at this path (what op.openat(path, flags, mode, { direct }) would build, without building it)
  const open = kit.open;
  repath(open, path);
  open.opFlags = flags & ~O_CLOEXEC;
  open.len = mode;
  return runGroupSettled(ring, [open, read, kit.probe], signal);
}

/** Without a pool (the ring's file table is someone else's): open first, then the two reads on the descriptor. */
async function firstRoundPlain(ring: Ring, file: OpenFile, path: string | Uint8Array, flags: number, mode: number, signal: AbortSignal | undefined, target: Buffer, fresh: boolean, probe: Uint8Array): Promise<Settled[]> {
  try {
    file.fd = await ring.openat(path, flags, mode, { signal });
    binding.fdOwn(file.fd); // (this thread's until its close is written: closed at its end if it ends first)
  } catch (e) {
    throw signal?.aborted ? aborted(signal) : asNodeSyscall(e, 'open');
  }
  return [{ ok: true, value: file.fd }, ...(await settleAll(ring.chain([fresh ? privateRead(file.fd, target) : op.read(file.fd, target, -1).hardlink(), op.read(file.fd, probe, -1)], { signal })))];
}

/** The first round's outcomes (open, read, read), or its error as Node names it. */
function checkFirstRound(file: OpenFile, signal: AbortSignal | undefined, r: Settled[]): { ok: true; value: unknown }[] {
  const [open, r1, r2] = r;
  if (signal?.aborted) throw aborted(signal);
  if (!open.ok) {
    file.failed = true;
    throw asNodeSyscall(open.error, 'open');
  }
  if (!r1.ok) throw asNodeSyscall(r1.error, 'read');
  if (!r2.ok) throw asNodeSyscall(r2.error, 'read');
  return r as { ok: true; value: unknown }[];
}

/** The file's size (statx of the open descriptor, or of the path for a slot, which statx cannot name); 0 when unknown (a FIFO, /proc). */
async function sizeOf(ring: Ring, file: OpenFile, path: string | Uint8Array): Promise<number> {
  try {
    const x = typeof file.fd === 'number' ? await ring.statx('', { dirfd: file.fd, statxFlags: AT_EMPTY_PATH, mask: STATX_SIZE }) : await ring.statx(path, { mask: STATX_SIZE });
    return Number(x.size);
  } catch {
    return 0; // (the reads that follow say what is wrong, if anything)
  }
}

/** Reads the rest of an open file until a read returns 0 (growing chunks); returns everything, `prefix` (what was read already) first. */
async function readRest(ring: Ring, fd: FixedFile | number, prefix: Buffer, signal: AbortSignal | undefined): Promise<Buffer> {
  const parts: Buffer[] = [prefix];
  let total = prefix.length;
  let size = 2 * FIRST_READ;
  for (;;) {
    if (signal?.aborted) throw aborted(signal);
    const chunk = Buffer.allocUnsafeSlow(size);
    let n: number;
    try {
      n = await ring.read(fd, chunk, -1, { signal });
    } catch (e) {
      throw signal?.aborted ? aborted(signal) : asNodeSyscall(e, 'read');
    }
    if (n === 0) break;
    parts.push(n === size ? chunk : chunk.subarray(0, n));
    total += n;
    if (total > IO_MAX_LENGTH) throw fileTooLarge(total);
    if (n === size && size < MAX_CHUNK) size *= 2;
  }
  return Buffer.concat(parts, total);
}

/** Largest chunk readRest grows to. */
const MAX_CHUNK = 8 << 20;

/** Queues the close without waiting for it; the slot goes back to the pool at its completion. */
function closeLater(ring: Ring, file: OpenFile): void {
  const kit = file.kit;
  // a plain descriptor is closed whatever the ring does (src/ring/close-fd.ts)
  if (kit === undefined) return void closeOwnedFd(ring, file.fd as number).catch(noop);
  if (ring.closed) return release(file); // the ring's file table went with it
  // a failed close (the ring closing meanwhile) leaves nothing in the slot either
  runWithCallback(ring, kit.close, kit.give);
}

/** Closes after an error or an abort (never throws): the slot is empty when this returns. */
async function closeNow(ring: Ring, file: OpenFile): Promise<void> {
  const fd = file.fd;
  if (file.failed || fd === -1) return release(file);
  if (file.kit === undefined) return closeOwnedFd(ring, fd as number).catch(noop);
  if (ring.closed) return release(file);
  try {
    await ring.closeFd(fd);
  } catch {
    /* EBADF: the open never filled the slot (an abort before it ran) */
  }
  release(file);
}
