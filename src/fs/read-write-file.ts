/**
 * readFile / writeFile / appendFile of ringflow/fs, the plain way (open, fstat, read loop, close;
 * open, write loop, close), each step a ring request. fs-fast (src/fs/fast/) replaces the path
 * forms with linked submissions; the FileHandle forms stay here. Semantics are node's
 * (lib/internal/fs/promises.js readFileHandle/writeFileHandle): reads from the current file
 * position, 512 KiB chunks, the abort checked between steps and passed to each request.
 */
import type { Ring } from '../ring/ring.js';
import { AT_EMPTY_PATH } from '../ring/abi.js';
import { nodeError, checkAborted, fileTooLarge } from './errors.js';
import { type FsOptions, type Path, validateStringAfterView } from './args.js';
import type { FileHandle } from './file-handle.js';
import { closeOwnedFd } from '../ring/close-fd.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const kIoMaxLength = 2 ** 31 - 1;
const kReadFileBufferLength = 512 * 1024;
const kReadFileUnknownBufferLength = 64 * 1024;
const kWriteFileMaxChunkSize = 512 * 1024;

/**
 * node's last step of readFileHandle: `encoding ? buffer.toString(encoding) : buffer`. 'buffer'
 * passes node's option check (getOptions skips it) but is no encoding, so toString rejects it
 * with ERR_UNKNOWN_ENCODING, after the file was read (an empty file gives '').
 */
const encodeResult = (b: Buffer, encoding: FsOptions['encoding']): string | Buffer => (encoding ? b.toString(encoding as BufferEncoding) : b);

/** Reads the rest of an open file (fd on ring) from its current position: node's readFileHandle. */
export async function readAllFd(ring: Ring, fd: number, options: FsOptions): Promise<string | Buffer> {
  const signal = options.signal;
  checkAborted(signal);
  let size = 0;
  try {
    const st = await ring.statx('', { dirfd: fd, statxFlags: AT_EMPTY_PATH, mask: 0xfff, signal });
    if ((st.mode & S_IFMT) === S_IFREG) size = Number(st.size);
  } catch (e) {
    throw nodeError(e, 'fstat');
  }
  checkAborted(signal);
  if (size > kIoMaxLength) throw fileTooLarge(size);
  const chunks: Buffer[] = [];
  let total = 0;
  // a known size: one buffer of that size, read in chunks of up to 512 KiB; unknown: 64 KiB pieces
  const known = size > 0;
  let buffer = Buffer.allocUnsafeSlow(known ? size : kReadFileUnknownBufferLength);
  let offset = 0;
  for (;;) {
    checkAborted(signal);
    const length = known ? Math.min(size - offset, kReadFileBufferLength) : buffer.length;
    let n: number;
    try {
      n = length === 0 ? 0 : await ring.read(fd, buffer, -1, { offset, length, signal });
    } catch (e) {
      throw nodeError(e, 'read');
    }
    total += n;
    if (known) {
      offset += n;
      if (n === 0 || offset === size) return encodeResult(offset === buffer.length ? buffer : buffer.subarray(0, offset), options.encoding);
    } else {
      if (n === 0) break;
      chunks.push(n === buffer.length ? buffer : buffer.subarray(0, n));
      buffer = Buffer.allocUnsafeSlow(kReadFileUnknownBufferLength);
    }
  }
  return encodeResult(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total), options.encoding);
}

export function readFileHandle(fh: FileHandle, options: FsOptions): Promise<string | Buffer> {
  const fd = fh.fd;
  return fh.atFilePosition(() => readAllFd(fh.ring, fd, options));
}

/** An iterable or async iterable that is not a string or a view (node's isCustomIterable). */
export function isCustomIterable(v: unknown): v is Iterable<unknown> | AsyncIterable<unknown> {
  return v != null && typeof v !== 'string' && !ArrayBuffer.isView(v) && (typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function');
}

/** node's writeFile data rule: a view, an iterable, or a string encoded with `encoding`. */
export function writeData(data: unknown, encoding: FsOptions['encoding']): ArrayBufferView | Iterable<unknown> | AsyncIterable<unknown> {
  if (ArrayBuffer.isView(data) || isCustomIterable(data)) return data;
  validateStringAfterView(data, 'data');
  return Buffer.from(data, (encoding as BufferEncoding) || 'utf8');
}

async function writeAll(ring: Ring, fd: number, view: ArrayBufferView, signal: AbortSignal | undefined): Promise<void> {
  let data = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  while (data.byteLength > 0) {
    checkAborted(signal);
    let n: number;
    try {
      n = await ring.write(fd, data, -1, { offset: 0, length: Math.min(kWriteFileMaxChunkSize, data.byteLength), signal });
    } catch (e) {
      throw nodeError(e, 'write');
    }
    data = data.subarray(n);
  }
}

/** Writes `data` (already through writeData) at the fd's position: node's writeFileHandle. */
export async function writeAllFd(ring: Ring, fd: number, data: ArrayBufferView | Iterable<unknown> | AsyncIterable<unknown>, options: FsOptions): Promise<void> {
  const signal = options.signal;
  checkAborted(signal);
  if (isCustomIterable(data)) {
    for await (const chunk of data as AsyncIterable<unknown>) {
      checkAborted(signal);
      const bytes = ArrayBuffer.isView(chunk) ? chunk : Buffer.from(chunk as string, (options.encoding as BufferEncoding) || 'utf8');
      await writeAll(ring, fd, bytes, signal);
    }
    return;
  }
  await writeAll(ring, fd, data as ArrayBufferView, signal);
}

export async function writeFileHandle(fh: FileHandle, data: unknown, options: FsOptions): Promise<void> {
  const fd = fh.fd;
  const bytes = writeData(data, options.encoding);
  return fh.atFilePosition(() => writeAllFd(fh.ring, fd, bytes, options));
}

/** Closes `fd` after `op`, as node's handleFdClose: the op's error wins, a close error after success is thrown. */
export async function thenClose<T>(ring: Ring, fd: number, op: Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await op;
  } catch (e) {
    await closeOwnedFd(ring, fd).catch(() => {});
    throw e;
  }
  try {
    await closeOwnedFd(ring, fd);
  } catch (e) {
    throw nodeError(e, 'close');
  }
  return result;
}

/** open(2) through the ring with node's error (syscall 'open', the path). */
export async function openFd(ring: Ring, path: Path, flags: number, mode: number): Promise<number> {
  try {
    return await ring.openat(path, flags, mode);
  } catch (e) {
    throw nodeError(e, 'open', path);
  }
}
