/**
 * The receive side of a TcpSocket: one reader at a time, and no byte lost between readers.
 *
 * A chunks() stream is one multishot recv. Two at once would split the data between them in no
 * order, and so would a read() beside one: a second chunks() or a read() is refused (EBUSY) while
 * a chunks() stream is live, and a chunks() while a read() is under way. A stream that is closed (close(), `break`, an abort) leaves two kinds of bytes nobody
 * read: chunks it had queued unread, and chunks the kernel posted before the recv's cancel took.
 * Both are kept, in order, for the socket's next reader (a chunks() stream yields them first, a
 * read() copies from them), which starts only once the earlier recv is out of the kernel.
 *
 * read() calls made while one is under way take turns, in call order: two recvs waiting in the
 * kernel at once would get the bytes in no order (the kernel wakes the newest waiter first).
 */
import { RingError, errno as errnoOf } from '../errors.js';
import { abortError } from '../ring/aborts.js';
import type { MultishotStream } from './stream.js';
import type { RecvChunk } from './recv-group.js';

const EBUSY = errnoOf('EBUSY');

/** What is left of a kept chunk that a read() took only part of: a copy (its buffer went back to the group). */
function restOf(bytes: Uint8Array): RecvChunk {
  const chunk: RecvChunk = { id: -1, bytes, release() {}, [Symbol.dispose]() {} };
  return chunk;
}

/** A read() waiting for its turn. */
interface Turn {
  resolve: () => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class SocketReader {
  /** Chunks an ended reader left unread, in arrival order. */
  #kept: RecvChunk[] = [];
  /** The last chunks() stream made. */
  #stream: MultishotStream<RecvChunk> | undefined;
  /** Resolves when that stream's recv is out of the kernel. */
  #idle: Promise<void> | undefined;
  #closed = false;

  /** read() calls under way (waiting for their turn too). */
  reads = 0;
  /** A read() holds the turn (its recv may be in the kernel). */
  #reading = false;
  /** read() calls waiting for the turn, oldest first. */
  #turns: Turn[] = [];

  /** A read()'s turn: undefined when it has it now, else a promise of it (rejected with an AbortError if `signal` fires first). Every turn taken is given back with passTurn(). */
  turn(signal: AbortSignal | undefined): Promise<void> | undefined {
    if (!this.#reading) {
      this.#reading = true;
      return undefined;
    }
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const t: Turn = { resolve, signal, onAbort: undefined };
      if (signal) {
        t.onAbort = () => {
          const i = this.#turns.indexOf(t);
          if (i >= 0) this.#turns.splice(i, 1);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', t.onAbort, { once: true });
      }
      this.#turns.push(t);
    });
  }

  /** The read() holding the turn has settled: the oldest waiting one goes next. */
  passTurn(): void {
    const t = this.#turns.shift();
    if (t === undefined) {
      this.#reading = false;
      return;
    }
    if (t.onAbort !== undefined) t.signal!.removeEventListener('abort', t.onAbort);
    t.resolve();
  }

  /** Refuses a second reader while a chunks() stream is live, and a chunks() stream while a read() is under way. */
  checkFree(method: string): void {
    if (this.#stream && !this.#stream.done) {
      throw new RingError(-EBUSY, method, { detail: 'a chunks() stream is reading this socket: close() it (or break out of its loop) first; two readers would split the data between them' });
    }
    if (method === 'chunks' && this.reads > 0) {
      throw new RingError(-EBUSY, method, { detail: 'a read() is under way on this socket: chunks() once it has settled; two readers would split the data between them' });
    }
  }

  /** For a new chunks() stream: arm after the last reader's recv ended, yielding what it left first (undefined: at once, nothing left). */
  start(): Promise<readonly RecvChunk[]> | undefined {
    const idle = this.#idle;
    if (idle === undefined && this.#kept.length === 0) return undefined;
    return (idle ?? Promise.resolve()).then(() => this.#kept.splice(0));
  }

  /** The new stream (after start()). */
  reading(s: MultishotStream<RecvChunk>): void {
    this.#stream = s;
    const idle = s.whenIdle();
    this.#idle = idle;
    void idle.then(() => {
      if (this.#idle === idle) this.#idle = undefined;
    });
  }

  /** Has read() anything to wait for or take first? */
  get pending(): boolean {
    return this.#idle !== undefined || this.#kept.length > 0;
  }

  /** A chunk a closed stream did not hand out: kept for the next reader (released once the socket is closed). */
  keep(c: RecvChunk): void {
    if (this.#closed) c.release();
    else this.#kept.push(c);
  }

  /** Bytes received before this socket had a reader (node:net's, at adopt()): kept for the first one. */
  carry(bytes: readonly Uint8Array[]): void {
    for (const b of bytes) if (b.byteLength > 0) this.#kept.push(restOf(b));
  }

  /** read()'s first step: waits for the last reader's recv to end; copies kept bytes into `buffer` (0: none kept). */
  async fromKept(buffer: Uint8Array): Promise<number> {
    if (this.#idle) await this.#idle;
    const c = this.#kept[0];
    if (c === undefined || !(buffer instanceof Uint8Array) || buffer.byteLength === 0) return 0; // (recv's own checks for a bad buffer)
    const bytes = c.bytes;
    const n = Math.min(buffer.byteLength, bytes.byteLength);
    buffer.set(bytes.subarray(0, n));
    if (n === bytes.byteLength) this.#kept.shift();
    else this.#kept[0] = restOf(Uint8Array.prototype.slice.call(bytes, n)); // a copy (a Buffer's slice() is a view, detached at release)
    c.release(); // (taken whole, or its rest copied out)
    return n;
  }

  /** The socket closed: kept chunks go back to their group, and so will late ones. */
  close(): void {
    this.#closed = true;
    for (const c of this.#kept.splice(0)) c.release();
  }
}
