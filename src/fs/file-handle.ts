/**
 * FileHandle of ringflow/fs: node:fs/promises' FileHandle whose reads, writes, syncs, stat,
 * truncate and close are requests on a ring. chmod/chown/utimes (no io_uring op) go to node:fs's
 * fchmod/fchown/futimes on the same fd. Reference counting follows Node's fsCall: an operation
 * holds the handle, close() waits for the operations in flight, 'close' is emitted when close()
 * is called, and methods of a closed handle reject with Error('file closed') code EBADF.
 */
import { EventEmitter } from 'node:events';
import { fchmod, fchown, futimes, ftruncate as ftruncateCb, fstatSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Ring } from '../ring/ring.js';
import { binding } from '../native.js';
import { AT_EMPTY_PATH } from '../ring/abi.js';
import { closeOwnedFd } from '../ring/close-fd.js';
import { closeFdNow } from '../ring/unsubmitted.js';
import { nodeError, errnoError, fileClosedError, invalidArgValue, invalidState, checkAborted } from './errors.js';
import {
  validateObject, validateInteger, validateBuffer, validateBufferArray, validateOffsetLengthRead, validateOffsetLengthWrite,
  validatePosition, validateStringAfterView, validateAbortSignal, modeOf, optionsOf,
} from './args.js';
import { statsFromStatx } from './stats.js';
import { readRules, fstatChecksOptions, type ReadRules } from './line-probes.js';
import { readFileHandle, writeFileHandle } from './read-write-file.js';
import { createReadStream, createWriteStream, readLines, readableWebStream, type ReadStreamOptions, type WriteStreamOptions } from './streams.js';

const STATX_ALL = 0xfff; // STATX_BASIC_STATS | STATX_BTIME, as libuv asks
const kMaxUserId = 2 ** 32 - 1;
const EINVAL = 22;
const fchmodP = promisify(fchmod);
const fchownP = promisify(fchown);
const futimesP = promisify(futimes);
const ftruncateP = promisify(ftruncateCb);

/**
 * The file offset node's binding takes from a position (node_file.cc GetOffset): a safe-integer
 * number as is, anything else -1; libuv then reads/writes at the file position for any offset < 0.
 * So -2, 1.5, 2**53, NaN, Infinity, a string or a bigint all mean "the current position" there.
 */
/** Every line's read() treats an int32 length and a null or safe-integer (≥ -1) position alike. */
const PLAIN_READ: ReadRules = { truncatesLength: false, validatesPosition: true, positionBeforeEmptyRead: false };

const noop = (): void => {};
const fileOffsetOf = (position: unknown): number => (typeof position === 'number' && Number.isSafeInteger(position) && position >= 0 ? position : -1);

/** Does `fd` name a file with a position: not a FIFO, a socket or a character device (true when fstat fails: keep the queue)? */
function positional(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return !(st.isFIFO() || st.isSocket() || st.isCharacterDevice());
  } catch {
    return true;
  }
}

/** libuv's uv__getiovmax() on Linux: buffers one readv/writev takes (UIO_MAXIOV). */
const IOV_MAX = 1024;

/** `bufs` without their first `n` bytes (a buffer written in part continues as a view of its rest). */
function advance(bufs: ArrayBufferView[], n: number): ArrayBufferView[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i].byteLength) n -= bufs[i++].byteLength;
  const rest = bufs.slice(i);
  if (n > 0 && rest.length > 0) rest[0] = new Uint8Array(rest[0].buffer, rest[0].byteOffset + n, rest[0].byteLength - n);
  return rest;
}

/**
 * Handles dropped without close(): their fd is closed at collection, with Node's warning. By
 * close(2), not fs.closeSync(): in a worker, Node 26's fs warns of closing an fd node:fs did not open.
 */
const unclosed = new FinalizationRegistry<number>((fd) => {
  if (closeFdNow(fd) < 0) return;
  process.emitWarning(`Closing file descriptor ${fd} on garbage collection`);
});

export interface ReadResult<T> {
  bytesRead: number;
  buffer: T;
}

export class FileHandle extends EventEmitter {
  readonly #ring: Ring;

  /** Is `v` a FileHandle of ringflow/fs (a brand check: no Symbol.hasInstance, no prototype consulted)? */
  static isHandle(v: unknown): v is FileHandle {
    return typeof v === 'object' && v !== null && #ring in v;
  }
  #fd: number;
  #refs = 1;
  #closePromise: Promise<void> | null | undefined = null;
  /** Has the file a position (a regular file, a block device, a directory), asked at the first operation at it? */
  #positional: boolean | undefined;
  /** The last operation at the file position queued (atFilePosition), while one is. */
  #positionTail: Promise<void> | undefined;
  #closeResolve: (() => void) | undefined;
  #closeReject: ((e: unknown) => void) | undefined;
  /** The fd's close once it is under way (resolves when it ended, whatever its outcome). */
  #closed: Promise<void> | undefined;

  /** A handle on `fd` (opened by `ring` or any other way); its I/O goes through `ring`. */
  constructor(ring: Ring, fd: number) {
    super();
    this.#ring = ring;
    this.#fd = fd;
    unclosed.register(this, fd, this);
    // the environment's fd (native/owned_fds.c): closed if the thread ends with the handle open, as
    // node:fs/promises closes its FileHandles then (a worker's process.exit())
    binding.fdOwn(fd);
  }

  /** The ring this handle's requests go to. */
  get ring(): Ring {
    return this.#ring;
  }

  get fd(): number {
    return this.#fd;
  }

  /** Node returns the async id of its native handle; this handle has none. */
  getAsyncId(): number {
    return -1;
  }

  /** Node's fsCall: refuse on a closed handle, hold the handle while `fn` runs. */
  async #call<T>(syscall: string, fn: () => Promise<T>): Promise<T> {
    if (this.#fd === -1) throw fileClosedError(syscall);
    try {
      this.#refs++;
      return await fn();
    } finally {
      this.#unref();
    }
  }

  /**
   * @internal Runs `fn`, an operation at the file position, after the handle's earlier ones have
   * ended. io_uring's reads and writes at offset -1 take no f_pos lock (read(2) and write(2) do,
   * which node's calls go through): two in flight at once could read the same bytes or write over
   * each other (seen where reads go through io-wq: Debian's 6.1).
   */
  atFilePosition<T>(fn: () => Promise<T>): Promise<T> {
    // a pipe, socket or character device has no position to keep: its reads and writes go at once,
    // as node's do (a read waiting on a FIFO opened 'r+' must not hold back the write that feeds it)
    if ((this.#positional ??= positional(this.#fd)) === false) return fn();
    const prev = this.#positionTail;
    const run = prev === undefined ? fn() : prev.then(fn);
    const tail: Promise<void> = run.then(noop, noop);
    this.#positionTail = tail;
    void tail.then(() => {
      if (this.#positionTail === tail) this.#positionTail = undefined;
    });
    return run;
  }

  /** Runs `io` now at an explicit offset, or in the handle's queue at the file position (-1). */
  #at<T>(pos: number | bigint, io: () => Promise<T>): Promise<T> {
    return pos === -1 ? this.atFilePosition(io) : io();
  }

  /** Holds the handle open (streams reading from it); release with unrefHandle(). */
  refHandle(): void {
    this.#refs++;
  }

  unrefHandle(): void {
    this.#unref();
  }

  #unref(): void {
    if (--this.#refs === 0) {
      const fd = this.#fd;
      this.#fd = -1;
      this.#closeFd(fd).then(this.#closeResolve, this.#closeReject);
    }
  }

  #closeFd(fd: number): Promise<void> {
    unclosed.unregister(this);
    // (the fd leaves the owned set as the close request is written to the SQ; a thread that ends
    // before it is submitted closes the fd in the native teardown, ring_napi.c close_unsubmitted,
    // and one that ends while it waits in the JS backlog, in the owned set's cleanup)
    // (a ring closed before the close reached the kernel: the fd is closed all the same, src/ring/close-fd.ts)
    const closing = closeOwnedFd(this.#ring, fd).catch((e: unknown) => {
      throw nodeError(e, 'close');
    });
    this.#closed = closing.then(noop, noop);
    return closing;
  }

  close = (): Promise<void> => {
    // closed or closing: node resolves at once; this resolves once the fd's close has ended (its
    // error, if any, went to the close() that started it), so `await fh.close()` means closed
    if (this.#fd === -1) return this.#closed ?? Promise.resolve();
    if (this.#closePromise) return this.#closePromise;
    this.#refs--;
    if (this.#refs === 0) {
      const fd = this.#fd;
      this.#fd = -1;
      this.#closePromise = this.#closeFd(fd).finally(() => {
        this.#closePromise = undefined;
      });
    } else {
      this.#closePromise = new Promise<void>((resolve, reject) => {
        this.#closeResolve = resolve;
        this.#closeReject = reject;
      }).finally(() => {
        this.#closePromise = undefined;
        this.#closeResolve = undefined;
        this.#closeReject = undefined;
      });
    }
    this.emit('close');
    return this.#closePromise;
  };

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  read<T extends ArrayBufferView = Buffer>(buffer?: T | (FsReadOptions<T> | null), offset?: number | null | FsReadOptions<T>, length?: number | null, position?: number | bigint | null): Promise<ReadResult<T>> {
    // (#call's work done inside #read: one async function per read, not two and a closure)
    return this.#read(buffer, offset, length, position) as Promise<ReadResult<T>>;
  }

  /**
   * node's read() step by step (lib/internal/fs/promises.js): option defaults apply to undefined
   * only ({ buffer: null } fails as node's does); the line-dependent steps (length truncation, the
   * position check and where it runs) follow readRules(), asked only when length or position is
   * one those steps would treat differently.
   */
  async #read(bufferOrParams: unknown, offset: any, length: any, position: any): Promise<ReadResult<ArrayBufferView>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (this.#fd === -1) throw fileClosedError('read');
    this.#refs++;
    try {
      let buffer = bufferOrParams as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (!ArrayBuffer.isView(buffer)) {
        if (bufferOrParams !== undefined) validateObject(bufferOrParams, 'options', true);
        ({ buffer = Buffer.alloc(16384), offset = 0, length = buffer.byteLength - offset, position = null } = (bufferOrParams ?? {}) as FsReadOptions<ArrayBufferView>);
        validateBuffer(buffer);
      }
      if (offset !== null && typeof offset === 'object') ({ offset = 0, length = buffer.byteLength - offset, position = null } = offset as FsReadOptions<ArrayBufferView>);
      if (offset == null) offset = 0;
      else validateInteger(offset, 'offset', 0);
      length ??= buffer.byteLength - offset;
      const plain = Number.isInteger(length) && Math.abs(length) <= 2 ** 31 - 1 && (position == null || (Number.isSafeInteger(position) && position >= -1));
      const rules = plain ? PLAIN_READ : await readRules();
      if (rules.truncatesLength) length |= 0;
      const checkPosition = () => {
        if (position == null) position = -1;
        else validatePosition(position, 'position', length);
      };
      if (rules.validatesPosition && rules.positionBeforeEmptyRead) checkPosition();
      if (length === 0) return { __proto__: null, bytesRead: length, buffer } as ReadResult<ArrayBufferView>;
      if (buffer.byteLength === 0) throw invalidArgValue('buffer', buffer, 'is empty and cannot be written');
      validateOffsetLengthRead(offset, length, buffer.byteLength);
      if (rules.validatesPosition && !rules.positionBeforeEmptyRead) checkPosition();
      else if (!rules.validatesPosition && !Number.isSafeInteger(position)) position = -1;
      // the binding's offset: < 0 (libuv) or -1n is the file position
      const pos: number | bigint = typeof position === 'bigint' ? (position < 0n ? -1 : position) : position < 0 ? -1 : position;
      let bytesRead: number;
      try {
        // the whole view (the usual call) needs no window: no options object for the builder to read
        const fd = this.#fd;
        bytesRead = await this.#at(pos, () => (offset === 0 && length === buffer.byteLength ? this.#ring.read(fd, buffer, pos) : this.#ring.read(fd, buffer, pos, { offset, length })));
      } catch (e) {
        throw nodeError(e, 'read');
      }
      return { __proto__: null, bytesRead, buffer } as ReadResult<ArrayBufferView>;
    } finally {
      this.#unref();
    }
  }

  readv<T extends readonly ArrayBufferView[]>(buffers: T, position?: number | null): Promise<{ bytesRead: number; buffers: T }> {
    return this.#call('readv', async () => {
      validateBufferArray(buffers);
      const pos = fileOffsetOf(position);
      if (buffers.length === 0) throw errnoError(EINVAL, 'read'); // libuv's uv_fs_read refuses nbufs 0
      let bytesRead: number;
      try {
        const fd = this.#fd;
        // as libuv's read: at most IOV_MAX buffers (one readv; the rest stay as they were)
        const bufs = (buffers.length > IOV_MAX ? buffers.slice(0, IOV_MAX) : buffers) as unknown as ArrayBufferView[];
        bytesRead = await this.#at(pos, () => this.#ring.readv(fd, bufs, pos));
      } catch (e) {
        throw nodeError(e, 'read');
      }
      return { __proto__: null, bytesRead, buffers } as { bytesRead: number; buffers: T };
    });
  }

  write<T extends ArrayBufferView | string>(buffer: T, offsetOrOptions?: unknown, length?: unknown, position?: unknown): Promise<{ bytesWritten: number; buffer: T }> {
    return this.#call('write', () => this.#write(buffer, offsetOrOptions, length, position)) as Promise<{ bytesWritten: number; buffer: T }>;
  }

  async #write(buffer: unknown, offsetOrOptions: unknown, length: unknown, position: unknown): Promise<{ bytesWritten: number; buffer: unknown }> {
    if ((buffer as ArrayBufferView | undefined)?.byteLength === 0) return { __proto__: null, bytesWritten: 0, buffer } as { bytesWritten: number; buffer: unknown };
    let bytes: ArrayBufferView;
    let offset = 0;
    let len: number;
    let pos: number;
    if (ArrayBuffer.isView(buffer)) {
      let o = offsetOrOptions;
      if (typeof o === 'object') {
        const opts = (o ?? {}) as { offset?: number; length?: number; position?: number | null };
        o = opts.offset ?? 0;
        length = opts.length ?? buffer.byteLength - (o as number);
        position = opts.position ?? null;
      }
      if (o == null) offset = 0;
      else offset = validateInteger(o, 'offset', 0);
      len = typeof length === 'number' ? length : buffer.byteLength - offset;
      pos = fileOffsetOf(position);
      validateOffsetLengthWrite(offset, len, buffer.byteLength);
      bytes = buffer;
    } else {
      // write(string, position, encoding)
      validateStringAfterView(buffer, 'buffer');
      const encoding = typeof length === 'string' && Buffer.isEncoding(length) ? length : 'utf8';
      if (encoding.toLowerCase() === 'hex' && buffer.length % 2 !== 0) throw invalidArgValue('encoding', length, `is invalid for data of length ${buffer.length}`);
      bytes = Buffer.from(buffer, encoding);
      len = bytes.byteLength;
      pos = fileOffsetOf(offsetOrOptions);
    }
    let bytesWritten: number;
    try {
      const fd = this.#fd;
      bytesWritten = await this.#at(pos, () => (offset === 0 && len === bytes.byteLength ? this.#ring.write(fd, bytes, pos) : this.#ring.write(fd, bytes, pos, { offset, length: len })));
    } catch (e) {
      throw nodeError(e, 'write');
    }
    return { __proto__: null, bytesWritten, buffer } as { bytesWritten: number; buffer: unknown };
  }

  writev<T extends readonly ArrayBufferView[]>(buffers: T, position?: number | null): Promise<{ bytesWritten: number; buffers: T }> {
    return this.#call('writev', async () => {
      validateBufferArray(buffers);
      const pos = fileOffsetOf(position);
      let bytesWritten = 0;
      if (buffers.length > 0) {
        try {
          const fd = this.#fd;
          const bufs = buffers as unknown as ArrayBufferView[];
          bytesWritten = await this.#at(pos, () => (bufs.length <= IOV_MAX ? this.#ring.writev(fd, bufs, pos) : this.#writeAll(fd, bufs, pos)));
        } catch (e) {
          throw nodeError(e, 'write');
        }
      }
      return { __proto__: null, bytesWritten, buffers } as { bytesWritten: number; buffers: T };
    });
  }

  /**
   * More than IOV_MAX buffers, as libuv's uv__fs_write_all writes them: IOV_MAX per writev, on from
   * where a short one stopped, until all are written or one writes nothing (an error after some
   * bytes ends it with what was written; before any, it is the error).
   */
  async #writeAll(fd: number, bufs: ArrayBufferView[], pos: number): Promise<number> {
    let total = 0;
    for (let rest = bufs; rest.length > 0; ) {
      let n: number;
      try {
        n = await this.#ring.writev(fd, rest.length > IOV_MAX ? rest.slice(0, IOV_MAX) : rest, pos < 0 ? -1 : pos + total);
      } catch (e) {
        if (total === 0) throw e;
        break;
      }
      if (n <= 0) break;
      total += n;
      rest = advance(rest, n);
    }
    return total;
  }

  readFile(options?: unknown): Promise<string | Buffer> {
    return this.#call('readFile', () => readFileHandle(this, optionsOf(options, { flag: 'r' })));
  }

  writeFile(data: unknown, options?: unknown): Promise<void> {
    return this.#call('writeFile', () => writeFileHandle(this, data, optionsOf(options, { encoding: 'utf8', mode: 0o666, flag: 'w' })));
  }

  appendFile(data: unknown, options?: unknown): Promise<void> {
    return this.#call('writeFile', () => writeFileHandle(this, data, optionsOf(options, { encoding: 'utf8', mode: 0o666, flag: 'a' })));
  }

  stat(options?: { bigint?: boolean; signal?: AbortSignal }): Promise<import('node:fs').Stats | import('node:fs').BigIntStats> {
    return this.#call('fstat', async () => {
      let bigint = false;
      if (options !== undefined) {
        if (await fstatChecksOptions()) {
          validateObject(options, 'options');
          const { signal } = options;
          if (signal !== undefined) validateAbortSignal(signal, 'options.signal');
          checkAborted(signal);
        }
        bigint = options.bigint === true; // null: node's TypeError (reading 'bigint') where options are not checked
      }
      try {
        const x = await this.#ring.statx('', { dirfd: this.#fd, statxFlags: AT_EMPTY_PATH, mask: STATX_ALL });
        return statsFromStatx(x, bigint);
      } catch (e) {
        throw nodeError(e, 'fstat');
      }
    });
  }

  truncate(len: unknown = 0): Promise<void> {
    return this.#call('ftruncate', async () => {
      const n = Math.max(0, validateInteger(len, 'len'));
      if (!this.#ring.supports('ftruncate')) return ftruncateP(this.#fd, n); // before 6.9: node:fs on the same fd
      try {
        await this.#ring.ftruncate(this.#fd, n);
      } catch (e) {
        throw nodeError(e, 'ftruncate');
      }
    });
  }

  sync(): Promise<void> {
    return this.#call('fsync', () => this.#ring.fsync(this.#fd).catch((e: unknown) => Promise.reject(nodeError(e, 'fsync'))));
  }

  datasync(): Promise<void> {
    return this.#call('fdatasync', () => this.#ring.fdatasync(this.#fd).catch((e: unknown) => Promise.reject(nodeError(e, 'fdatasync'))));
  }

  chmod(mode: unknown): Promise<void> {
    return this.#call('fchmod', async () => fchmodP(this.#fd, modeOf(mode, 'mode')));
  }

  chown(uid: unknown, gid: unknown): Promise<void> {
    return this.#call('fchown', async () => {
      validateInteger(uid, 'uid', -1, kMaxUserId);
      validateInteger(gid, 'gid', -1, kMaxUserId);
      return fchownP(this.#fd, uid as number, gid as number);
    });
  }

  utimes(atime: string | number | Date, mtime: string | number | Date): Promise<void> {
    return this.#call('futimes', () => futimesP(this.#fd, atime, mtime));
  }

  createReadStream(options?: ReadStreamOptions): ReturnType<typeof createReadStream> {
    return createReadStream(this, options);
  }

  createWriteStream(options?: WriteStreamOptions): ReturnType<typeof createWriteStream> {
    return createWriteStream(this, options);
  }

  readLines(options?: ReadStreamOptions): ReturnType<typeof readLines> {
    return readLines(this, options);
  }

  readableWebStream(options?: { type?: 'bytes'; autoClose?: boolean }): ReturnType<typeof readableWebStream> {
    if (this.#fd !== -1 && this.#closePromise) throw invalidState('The FileHandle is closing'); // (node's order: closed first, in readableWebStream)
    return readableWebStream(this, options);
  }
}

export interface FsReadOptions<T> {
  buffer?: T;
  offset?: number | null;
  length?: number | null;
  position?: number | bigint | null;
}
