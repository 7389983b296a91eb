/**
 * A ReadStream over a FileHandle whose reads go through the ring, issued ahead: while the stream's
 * consumer works on one chunk, the next `readAhead` reads (2 by default) are already in the kernel.
 *
 * Node's semantics for a FileHandle-based fs.ReadStream (lib/internal/fs/streams.js): options
 * start/end (inclusive)/highWaterMark (64 KiB)/encoding/autoClose/emitClose/signal; no 'open' or
 * 'ready' event (the descriptor is there from the start); `bytesRead`, `pos`, `pending` (false),
 * `autoClose`; destroy() closes the handle (autoClose only decides whether the end of the data
 * destroys the stream); close(cb); the handle's 'close' event closes the stream.
 *
 * Reads at positions (start given): up to `readAhead` independent reads at increasing offsets. A
 * read that comes back short moves the next one to where it stopped and drops the reads issued
 * past it. Reads at the file position (no start: Node reads with position -1): the reads are
 * hard-linked into one chain so the kernel runs them in order, and the next chain goes out once
 * the previous one has completed. destroy() while reads are in flight cancels them on the ring
 * (IORING_OP_ASYNC_CANCEL by user_data) and closes the handle once the kernel has let go of them.
 */
import { Readable, finished } from 'node:stream';
import type { Ring } from '../../ring/ring.js';
import { op } from '../../ops/build.js';
import { asNodeSyscall } from './errors.js';
import { checkPosition, type RingFileHandle, type StreamErrorMapper } from './handle.js';

export interface RingReadStreamOptions {
  encoding?: BufferEncoding | null;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  end?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
  /** Reads kept in flight ahead of the consumer (default 2). */
  readAhead?: number;
  /** Turns a kernel error into what the stream emits (default: RingError with syscall 'read'). */
  mapError?: StreamErrorMapper;
}

/** One read issued to the ring. */
interface Issued {
  /** Position read at (-1: the file position). */
  pos: number;
  buf: Buffer;
  done: boolean;
  n: number;
  err: unknown;
  /** Superseded (a short read before it, EOF, destroy): its result is dropped. */
  stale: boolean;
}

const defaultMap: StreamErrorMapper = (e, syscall) => asNodeSyscall(e, syscall);

export class RingReadStream extends Readable {
  /** The descriptor; null once the stream has closed it. */
  fd: number | null;
  /** FileHandle-based streams have no path. */
  readonly path: undefined = undefined;
  readonly start: number | undefined;
  readonly end: number;
  /** The next position to read at (start given), else undefined. */
  pos: number | undefined;
  bytesRead = 0;

  #handle: RingFileHandle;
  #ring: Ring;
  #readAhead: number;
  #mapError: StreamErrorMapper;
  /** Issued reads in stream order (stale ones removed). */
  #queue: Issued[] = [];
  /** Reads the kernel still holds (stale ones included). */
  #inflight = 0;
  #whenIdle: (() => void) | undefined;
  /** _read() asked for data and push() has not said stop. */
  #want = false;
  #chunk = 0;
  #eof = false;
  /** Position mode: where the next read goes. */
  #next = 0;
  #cancel = new AbortController();
  #onHandleClose = () => this.close();

  constructor(handle: RingFileHandle, options: RingReadStreamOptions = {}) {
    const start = options.start === undefined ? undefined : checkPosition('start', options.start);
    let end = Infinity;
    if (options.end !== undefined && options.end !== Infinity) {
      end = checkPosition('end', options.end);
      if (start !== undefined && start > end) {
        const e = new RangeError(`The value of "start" is out of range. It must be <= "end" (here: ${end}). Received ${start}`) as RangeError & { code: string };
        e.code = 'ERR_OUT_OF_RANGE';
        throw e;
      }
    }
    super({
      highWaterMark: options.highWaterMark ?? 64 * 1024,
      encoding: options.encoding ?? undefined,
      emitClose: options.emitClose ?? true,
      autoDestroy: options.autoClose ?? true,
      signal: options.signal,
    });
    this.#handle = handle;
    this.#ring = handle.ring;
    this.fd = handle.fd;
    this.start = start;
    this.end = end;
    this.pos = start;
    this.#next = start ?? 0;
    this.#readAhead = Math.max(1, options.readAhead ?? 2);
    this.#mapError = options.mapError ?? defaultMap;
    handle.on?.('close', this.#onHandleClose);
  }

  get autoClose(): boolean {
    return (this as unknown as { _readableState: { autoDestroy: boolean } })._readableState.autoDestroy;
  }
  set autoClose(v: boolean) {
    (this as unknown as { _readableState: { autoDestroy: boolean } })._readableState.autoDestroy = v;
  }

  /** A FileHandle-based stream has its descriptor from the start. */
  get pending(): boolean {
    return this.fd === null;
  }

  /** Destroys the stream (closing the handle); `cb` runs once it has closed. */
  close(cb?: (err?: Error | null) => void): void {
    if (typeof cb === 'function') finished(this, cb);
    this.destroy();
  }

  override _read(n: number): void {
    this.#want = true;
    this.#chunk = n;
    this.#pump();
  }

  /** Pushes what has arrived in order, then keeps `readAhead` reads in flight. */
  #pump(): void {
    const q = this.#queue;
    while (this.#want && q.length > 0 && q[0].done) {
      const r = q.shift()!;
      if (r.err !== undefined) {
        this.#want = false;
        this.destroy(this.#mapError(r.err, 'read') as Error);
        return;
      }
      if (r.n === 0) return this.#endOfData();
      this.bytesRead += r.n;
      if (this.pos !== undefined) {
        this.pos += r.n;
        if (r.n < r.buf.length) {
          // short: the reads issued past it are at the wrong offsets; go on from where it stopped
          for (const later of q) later.stale = true;
          q.length = 0;
          this.#next = this.pos;
        }
      }
      let buf = r.buf;
      if (r.n !== buf.length) {
        // copy (as Node does) so that a short read does not keep the whole buffer alive
        const dst = Buffer.allocUnsafeSlow(r.n);
        buf.copy(dst, 0, 0, r.n);
        buf = dst;
      }
      this.#want = this.push(buf);
    }
    if (this.#eof || this.destroyed) return;
    this.#issue();
    if (this.#want && q.length === 0) this.#endOfData(); // nothing left to read before `end`
  }

  #issue(): void {
    const q = this.#queue;
    const size = this.#chunk || this.readableHighWaterMark;
    if (this.pos !== undefined) {
      while (q.length < this.#readAhead) {
        const len = Math.min(size, this.end - this.#next + 1);
        if (len <= 0) return;
        this.#submit([{ pos: this.#next, buf: Buffer.allocUnsafeSlow(len), done: false, n: 0, err: undefined, stale: false }]);
        this.#next += len;
      }
      return;
    }
    // the file position: one hard-linked chain at a time keeps the reads in order
    if (q.length > 0) return;
    const group: Issued[] = [];
    let left = this.end - this.bytesRead + 1;
    while (group.length < this.#readAhead && left > 0) {
      const len = Math.min(size, left);
      group.push({ pos: -1, buf: Buffer.allocUnsafeSlow(len), done: false, n: 0, err: undefined, stale: false });
      left -= len;
    }
    if (group.length) this.#submit(group);
  }

  #submit(group: Issued[]): void {
    const fd = this.fd!;
    const signal = this.#cancel.signal;
    const sqes = group.map((r, i) => {
      const s = op.read(fd, r.buf, r.pos);
      return i < group.length - 1 ? s.hardlink() : s;
    });
    let promises: Promise<unknown>[];
    try {
      promises = group.length === 1 ? [this.#ring.run<number>(sqes[0], { signal })] : this.#ring.chain(sqes, { signal });
    } catch (e) {
      // the ring is closed: nothing was submitted
      queueMicrotask(() => this.destroy(e as Error));
      return;
    }
    for (let i = 0; i < group.length; i++) {
      const r = group[i];
      this.#queue.push(r);
      this.#inflight++;
      promises[i].then(
        (n) => this.#settled(r, n as number, undefined),
        (e: unknown) => this.#settled(r, 0, e),
      );
    }
  }

  #settled(r: Issued, n: number, err: unknown): void {
    r.done = true;
    r.n = n;
    r.err = err;
    if (--this.#inflight === 0 && this.#whenIdle) this.#whenIdle();
    if (!r.stale && !this.destroyed && this.#queue[0] === r) this.#pump();
  }

  #endOfData(): void {
    this.#eof = true;
    this.#want = false;
    for (const r of this.#queue) r.stale = true;
    this.#queue.length = 0;
    this.push(null);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#eof = true;
    for (const r of this.#queue) r.stale = true;
    this.#queue.length = 0;
    if (this.#inflight === 0) return this.#closeHandle(err, cb);
    // cancel what the kernel holds; close once every read has come back
    this.#whenIdle = () => {
      this.#whenIdle = undefined;
      this.#closeHandle(err, cb);
    };
    this.#cancel.abort();
  }

  #closeHandle(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#handle.off?.('close', this.#onHandleClose);
    if (this.fd === null) return cb(err);
    this.fd = null;
    this.#handle.close().then(
      () => cb(err),
      (e: unknown) => cb(this.#mapError(e, 'close') as Error), // as Node: the close's error first
    );
  }
}
