/**
 * A WriteStream over a FileHandle whose writes go through the ring.
 *
 * Node's semantics for a FileHandle-based fs.WriteStream (lib/internal/fs/streams.js): options
 * start/highWaterMark (16 KiB)/encoding (the default for string chunks)/autoClose/emitClose/
 * flush (fsync before the close)/signal; no 'open' or 'ready' event; `bytesWritten`, `pos`,
 * `pending`, `autoClose`; chunks written while one write is in flight are gathered into one
 * writev (Writable's _writev); a short write goes on with the rest (Node's writeAll: up to 5
 * writes in a row that move nothing, then ERR_SYSTEM_ERROR); close(cb) ends the stream;
 * destroy() waits for the write in flight and closes the handle.
 */
import { Writable } from 'node:stream';
import type { Ring } from '../../ring/ring.js';
import { RingError } from '../../errors.js';
import { asNodeSyscall } from './errors.js';
import { checkPosition, type RingFileHandle, type StreamErrorMapper } from './handle.js';

export interface RingWriteStreamOptions {
  encoding?: BufferEncoding | null;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  highWaterMark?: number;
  /** fsync the file before closing it (Node 21+). */
  flush?: boolean;
  signal?: AbortSignal;
  /** Turns a kernel error into what the stream emits (default: RingError with Node's syscall). */
  mapError?: StreamErrorMapper;
}

/** Linux's UIO_MAXIOV: iovecs one writev takes. */
const MAX_IOVECS = 1024;
const MAX_ZERO_WRITES = 5;

const defaultMap: StreamErrorMapper = (e, syscall) => asNodeSyscall(e, syscall);

function destroyedError(what: string): Error {
  const e = new Error(`Cannot call ${what} after a stream was destroyed`) as Error & { code: string };
  e.code = 'ERR_STREAM_DESTROYED';
  return e;
}

function writeFailed(what: string): Error {
  const e = new Error(`A system error occurred: ${what} failed`) as Error & { code: string };
  e.code = 'ERR_SYSTEM_ERROR';
  return e;
}

export class RingWriteStream extends Writable {
  fd: number | null;
  readonly path: undefined = undefined;
  readonly start: number | undefined;
  /** Where the next write goes (start given), else undefined (the file position). */
  pos: number | undefined;
  bytesWritten = 0;
  readonly flush: boolean;

  #handle: RingFileHandle;
  #ring: Ring;
  #mapError: StreamErrorMapper;
  /** A write is in the kernel; destroy waits for it. */
  #busy: Promise<void> | undefined;
  #onHandleClose = () => this.close();

  constructor(handle: RingFileHandle, options: RingWriteStreamOptions = {}) {
    const start = options.start === undefined ? undefined : checkPosition('start', options.start);
    if (options.flush != null && typeof options.flush !== 'boolean') {
      const e = new TypeError(`The "options.flush" property must be of type boolean. Received type ${typeof options.flush} (${String(options.flush)})`) as TypeError & { code: string };
      e.code = 'ERR_INVALID_ARG_TYPE';
      throw e;
    }
    super({
      highWaterMark: options.highWaterMark,
      decodeStrings: true,
      emitClose: options.emitClose ?? true,
      autoDestroy: options.autoClose ?? true,
      signal: options.signal,
    });
    this.#handle = handle;
    this.#ring = handle.ring;
    this.fd = handle.fd;
    this.start = start;
    this.pos = start;
    this.flush = options.flush ?? false;
    this.#mapError = options.mapError ?? defaultMap;
    if (options.encoding) this.setDefaultEncoding(options.encoding);
    handle.on?.('close', this.#onHandleClose);
  }

  get autoClose(): boolean {
    return (this as unknown as { _writableState: { autoDestroy: boolean } })._writableState.autoDestroy;
  }
  set autoClose(v: boolean) {
    (this as unknown as { _writableState: { autoDestroy: boolean } })._writableState.autoDestroy = v;
  }

  get pending(): boolean {
    return this.fd === null;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#run([chunk], chunk.length, cb, 'write');
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    let size = 0;
    const bufs = chunks.map((c) => {
      size += c.chunk.length;
      return c.chunk;
    });
    this.#run(bufs, size, cb, 'writev');
  }

  #run(bufs: Buffer[], size: number, cb: (err?: Error | null) => void, what: 'write' | 'writev'): void {
    const at = this.pos;
    if (this.pos !== undefined) this.pos += size;
    const p = this.#writeAll(bufs, size, at, what);
    this.#busy = p.then(
      () => {
        this.#busy = undefined;
        cb();
      },
      (e: unknown) => {
        this.#busy = undefined;
        cb(e as Error);
      },
    );
  }

  async #writeAll(bufs: Buffer[], size: number, at: number | undefined, what: 'write' | 'writev'): Promise<void> {
    let zero = 0;
    if (bufs.length > MAX_IOVECS) bufs = [Buffer.concat(bufs, size)];
    while (size > 0) {
      let n: number;
      try {
        n = bufs.length === 1 ? await this.#ring.write(this.fd!, bufs[0], at ?? -1) : await this.#ring.writev(this.fd!, bufs, at ?? -1);
      } catch (e) {
        if (!(e instanceof RingError && e.code === 'EAGAIN')) throw this.#mapError(e, 'write');
        n = 0;
      }
      if (this.destroyed) throw destroyedError(what);
      this.bytesWritten += n;
      size -= n;
      if (at !== undefined) at += n;
      zero = n ? 0 : zero + 1;
      if (zero > MAX_ZERO_WRITES) throw writeFailed(what);
      if (size > 0 && n > 0) bufs = [(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs)).subarray(n)];
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const close = () => this.#close(err, cb);
    if (this.#busy) this.#busy.then(close, close);
    else close();
  }

  async #close(err: Error | null, cb: (err?: Error | null) => void): Promise<void> {
    this.#handle.off?.('close', this.#onHandleClose);
    if (this.fd === null) return cb(err);
    let flushErr: unknown;
    if (this.flush) {
      try {
        await this.#ring.fsync(this.fd);
      } catch (e) {
        flushErr = this.#mapError(e, 'fsync');
      }
    }
    this.fd = null;
    try {
      await this.#handle.close();
    } catch (e) {
      return cb(this.#mapError(e, 'close') as Error);
    }
    cb((err ?? flushErr ?? null) as Error | null);
  }

  /** Ends the stream (destroying it once finished when autoClose is off); `cb` runs at 'close'. */
  close(cb?: (err?: Error | null) => void): void {
    if (cb) {
      if (this.closed) {
        process.nextTick(cb);
        return;
      }
      this.on('close', cb);
    }
    if (!this.autoClose) this.on('finish', () => this.destroy());
    this.end();
  }

  /** Node's alias of end(). */
  destroySoon(): void {
    this.end();
  }
}
