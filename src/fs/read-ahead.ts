/**
 * Reads issued ahead for a FileHandle's ReadStream (streams.ts). Node's ReadStream asks for one
 * chunk at a time and waits for it; with this, while the consumer handles a chunk, the next one is
 * already being read on the ring: each read the stream asks for is served from a chunk read before,
 * and starts the read of the chunk after it.
 *
 * Only where an extra read changes nothing the caller can see:
 *  - regular files only (a read ahead on a pipe or a tty could wait forever and hold close());
 *  - reads at explicit positions (the stream's `start`), or at the file position when the stream
 *    closes the file at its end (autoClose): the offset a read ahead moved is then nobody's;
 *  - sequential requests: one at another position, or a length outside (0, 8 MiB], drops what was
 *    read ahead and goes to the handle's own read() (whose argument rules and errors apply), as
 *    does everything when read-ahead does not apply.
 * Reads go through the handle's read(), so close() waits for one in flight; a failed read ahead
 * reports its error on the request it was for.
 */
import type { FileHandle } from './file-handle.js';

/** Longest chunk read ahead (a stream's highWaterMark is 64 KiB by default). */
const MAX_AHEAD = 8 << 20;

interface Ahead {
  /** Where it was read from: a byte offset, or -1 for the file position. */
  position: number;
  buffer: Buffer;
  /** Bytes read (resolved) or the read's error. */
  done: Promise<number>;
}

export class ReadAhead {
  readonly #fh: FileHandle;
  readonly #atFilePosition: boolean;
  #regular: Promise<boolean> | undefined;
  #ahead: Ahead | undefined;
  /** Bytes of the last chunk served that the request did not take (served first next time). */
  #rest: Buffer | undefined;
  #restPosition = -1;
  /** A chunk buffer whose bytes were copied out, for the next read ahead. */
  #spare: Buffer | undefined;
  /** Reads ahead done, for tests. */
  served = 0;

  /** `atFilePosition`: may reads at the file position be read ahead (the stream closes the file at its end)? */
  constructor(fh: FileHandle, atFilePosition: boolean) {
    this.#fh = fh;
    this.#atFilePosition = atFilePosition;
  }

  /** The stream's read: `length` bytes at `position` (null/undefined: the file position) into buf[offset...]. */
  async read(buf: ArrayBufferView, offset: number, length: number, position: number | null | undefined): Promise<number> {
    const explicit = typeof position === 'number' && Number.isSafeInteger(position) && position >= 0;
    const atFile = position === null || position === undefined;
    const fits = Number.isInteger(length) && length > 0 && length <= MAX_AHEAD && Number.isInteger(offset) && offset >= 0 && buf instanceof Uint8Array && offset + length <= buf.length;
    const pos = explicit ? (position as number) : -1;
    // bytes read ahead at the file position are past the file offset already: they are served,
    // never dropped (Node's ReadStream asks for nothing else once it reads this way)
    const heldAtFile = atFile && (this.#ahead?.position === -1 || (this.#rest !== undefined && this.#restPosition === -1));
    if (!heldAtFile && (!fits || !(explicit || (atFile && this.#atFilePosition)) || !(await this.#isRegular()))) {
      await this.#drop();
      return (await this.#fh.read(buf as Uint8Array, offset, length, position as number | null)).bytesRead;
    }
    const target = buf as Uint8Array;
    const want = fits ? length : Math.max(0, Math.min(length | 0, target.length - offset));
    // what the last chunk left over
    if (this.#rest && this.#restPosition === pos) {
      const n = Math.min(want, this.#rest.length);
      target.set(this.#rest.subarray(0, n), offset);
      this.#rest = n < this.#rest.length ? this.#rest.subarray(n) : undefined;
      if (pos >= 0) this.#restPosition = this.#rest ? pos + n : -1;
      if (!this.#rest && fits) this.#startNext(pos >= 0 ? pos + n : -1, length);
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
    const n = Math.min(want, got);
    target.set(a.buffer.subarray(0, n), offset);
    if (got > n) {
      this.#rest = a.buffer.subarray(n, got);
      this.#restPosition = pos >= 0 ? pos + n : -1;
    } else {
      this.#spare = a.buffer; // copied out whole: the next read ahead may reuse it
      if (got > 0 && fits) this.#startNext(pos >= 0 ? pos + got : -1, length);
    }
    if (fromAhead) this.served++;
    return n;
  }

  #start(position: number, length: number): Ahead {
    // the last chunk's buffer, its bytes copied out (never shown to the caller): no new buffer per chunk
    const spare = this.#spare;
    this.#spare = undefined;
    const buffer = spare !== undefined && spare.length === length ? spare : Buffer.allocUnsafeSlow(length);
    const done = this.#fh.read(buffer, 0, length, position >= 0 ? position : null).then((r) => r.bytesRead);
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
