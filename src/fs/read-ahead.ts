/**
 * Reads issued ahead for a FileHandle's ReadStream (streams.ts). Node's ReadStream asks for one
 * chunk at a time and waits for it; with this, while the consumer handles a chunk, the next one is
 * already being read on the ring: each read the stream asks for is served from a chunk read before,
 * and starts the read of the chunk after it.
 *
 * Only where an extra read changes nothing the caller can see:
 *  - regular files only (a read ahead on a pipe or a tty could wait forever and hold close());
 *  - every read is at an explicit offset. A stream at the file position (no `start`) takes the
 *    position when a chunk is asked for (lseek SEEK_CUR, in the handle's queue of operations at the
 *    file position: FileHandle.atFilePosition), is served at that offset, and moves the position by
 *    exactly what it served (SEEK_SET), as node's read(2) would have. A chunk read ahead past the
 *    position stays unseen: a stream paused or left (readLines() and break) leaves the position
 *    where node leaves it, and a chunk read ahead where the position no longer is (another reader
 *    of the handle moved it) is dropped;
 *  - sequential requests: one at another position, or a length outside (0, 8 MiB], drops what was
 *    read ahead and goes to the handle's own read() (whose argument rules and errors apply), as
 *    does everything when read-ahead does not apply.
 * Reads go through the handle's read(), so close() waits for one in flight; a failed read ahead
 * reports its error on the request it was for.
 */
import type { FileHandle } from './file-handle.js';
import { binding } from '../native.js';
import { errnoError, fileClosedError } from './errors.js';

const SEEK_SET = 0;
const SEEK_CUR = 1;

/** Longest chunk read ahead (a stream's highWaterMark is 64 KiB by default). */
const MAX_AHEAD = 8 << 20;

interface Ahead {
  /** Where it was read from (a byte offset). */
  position: number;
  buffer: Buffer;
  /** Bytes read (resolved) or the read's error. */
  done: Promise<number>;
}

export class ReadAhead {
  readonly #fh: FileHandle;
  #regular: Promise<boolean> | undefined;
  #ahead: Ahead | undefined;
  /** Bytes of the last chunk served that the request did not take (served first next time). */
  #rest: Buffer | undefined;
  #restPosition = -1;
  /** A chunk buffer whose bytes were copied out, for the next read ahead. */
  #spare: Buffer | undefined;
  /** Reads ahead done, for tests. */
  served = 0;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  /** The stream's read: `length` bytes at `position` (null/undefined: the file position) into buf[offset...]. */
  async read(buf: ArrayBufferView, offset: number, length: number, position: number | null | undefined): Promise<number> {
    const explicit = typeof position === 'number' && Number.isSafeInteger(position) && position >= 0;
    const atFile = position === null || position === undefined;
    const fits = Number.isInteger(length) && length > 0 && length <= MAX_AHEAD && Number.isInteger(offset) && offset >= 0 && buf instanceof Uint8Array && offset + length <= buf.length;
    if (!fits || !(explicit || atFile) || !(await this.#isRegular())) {
      await this.#drop();
      return (await this.#fh.read(buf as Uint8Array, offset, length, position as number | null)).bytesRead;
    }
    if (explicit) return this.#serve(buf as Uint8Array, offset, length, position as number);
    const fd = this.#fh.fd;
    return this.#fh.atFilePosition(async () => {
      if (this.#fh.fd !== fd) throw fileClosedError('read'); // closed while queued: its number may name another file now
      const at = binding.fdSeek(fd, 0, SEEK_CUR) as number;
      if (at < 0) throw errnoError(-at, 'read');
      const n = await this.#serve(buf as Uint8Array, offset, length, at);
      if (this.#fh.fd === fd) binding.fdSeek(fd, at + n, SEEK_SET);
      return n;
    });
  }

  /** `length` bytes at byte offset `pos` into target[offset...], from what was read ahead where it matches. */
  async #serve(target: Uint8Array, offset: number, length: number, pos: number): Promise<number> {
    // what the last chunk left over
    if (this.#rest && this.#restPosition === pos) {
      const n = Math.min(length, this.#rest.length);
      target.set(this.#rest.subarray(0, n), offset);
      this.#rest = n < this.#rest.length ? this.#rest.subarray(n) : undefined;
      this.#restPosition = this.#rest ? pos + n : -1;
      if (!this.#rest) this.#startNext(pos + n, length);
      this.served++;
      return n;
    }
    this.#rest = undefined;
    let a = this.#ahead;
    if (a && a.position !== pos) {
      await this.#drop();
      a = undefined;
    }
    const fromAhead = a !== undefined;
    if (!a) a = this.#start(pos, length);
    this.#ahead = undefined;
    const got = await a.done; // its error, if it failed, is this request's
    const n = Math.min(length, got);
    target.set(a.buffer.subarray(0, n), offset);
    if (got > n) {
      this.#rest = a.buffer.subarray(n, got);
      this.#restPosition = pos + n;
    } else {
      this.#spare = a.buffer; // copied out whole: the next read ahead may reuse it
      if (got > 0) this.#startNext(pos + got, length);
    }
    if (fromAhead) this.served++;
    return n;
  }

  #start(position: number, length: number): Ahead {
    // the last chunk's buffer, its bytes copied out (never shown to the caller): no new buffer per chunk
    const spare = this.#spare;
    this.#spare = undefined;
    const buffer = spare !== undefined && spare.length === length ? spare : Buffer.allocUnsafeSlow(length);
    const done = this.#fh.read(buffer, 0, length, position).then((r) => r.bytesRead);
    return { position, buffer, done };
  }

  #startNext(position: number, length: number): void {
    const a = this.#start(position, length);
    a.done.catch(() => {}); // its error goes to the request for that chunk; never an unhandled rejection if none comes
    this.#ahead = a;
  }

  /** Forgets what was read ahead (waits for a read in flight: its buffer is the kernel's until then). */
  async #drop(): Promise<void> {
    const a = this.#ahead;
    this.#ahead = undefined;
    this.#rest = undefined;
    if (a) await a.done.catch(() => {});
  }

  #isRegular(): Promise<boolean> {
    return (this.#regular ??= this.#fh.stat().then(
      (s) => s.isFile(),
      () => false,
    ));
  }
}
