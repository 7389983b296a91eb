/**
 * Streams of a ringflow/fs FileHandle, the simple way: node:fs's own ReadStream/WriteStream (so
 * their options, events and errors are Node's) over the handle's fd, with an `fs` option whose
 * read/write/writev/close are this handle's ring requests. One read in flight at a time, as
 * Node's streams do; fs-fast replaces these with streams that read ahead on the ring.
 */
import { createReadStream as nodeReadStream, createWriteStream as nodeWriteStream, type ReadStream, type WriteStream } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { ReadableStream } from 'node:stream/web';
import { nodeError, invalidState } from './errors.js';
import { validateObject } from './args.js';
import type { FileHandle } from './file-handle.js';

export interface ReadStreamOptions {
  encoding?: BufferEncoding | null;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  end?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
}
export interface WriteStreamOptions {
  encoding?: BufferEncoding | null;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  highWaterMark?: number;
  flush?: boolean;
  signal?: AbortSignal;
}

type Cb<T> = (err: Error | null, v?: T) => void;
const posOf = (p: unknown): number | bigint => (typeof p === 'number' || typeof p === 'bigint' ? p : -1);

/** The `fs` option of node's streams, routed to the handle's ring. */
function ringFsFor(fh: FileHandle) {
  const ring = fh.ring;
  const settle = <T>(p: Promise<T>, syscall: string, cb: Cb<T>) =>
    p.then(
      (v) => cb(null, v),
      (e: unknown) => cb(nodeError(e, syscall)),
    );
  return {
    open: (_p: unknown, _f: unknown, _m: unknown, cb: Cb<number>) => cb(null, fh.fd),
    read: (fd: number, buf: ArrayBufferView, offset: number, length: number, position: unknown, cb: (err: Error | null, n?: number, b?: ArrayBufferView) => void) =>
      ring.read(fd, buf, posOf(position), { offset, length }).then(
        (n) => cb(null, n, buf),
        (e: unknown) => cb(nodeError(e, 'read')),
      ),
    write: (fd: number, buf: ArrayBufferView, offset: number, length: number, position: unknown, cb: (err: Error | null, n?: number, b?: ArrayBufferView) => void) =>
      ring.write(fd, buf, posOf(position), { offset, length }).then(
        (n) => cb(null, n, buf),
        (e: unknown) => cb(nodeError(e, 'write')),
      ),
    writev: (fd: number, chunks: ArrayBufferView[], position: unknown, cb: (err: Error | null, n?: number, b?: ArrayBufferView[]) => void) =>
      ring.writev(fd, chunks, posOf(position)).then(
        (n) => cb(null, n, chunks),
        (e: unknown) => cb(nodeError(e, 'write')),
      ),
    fsync: (fd: number, cb: Cb<void>) => settle(ring.fsync(fd), 'fsync', cb),
    close: (_fd: number, cb: Cb<void>) => fh.close().then(() => cb(null), (e: Error) => cb(e)),
  };
}

export function createReadStream(fh: FileHandle, options?: ReadStreamOptions): ReadStream {
  const stream = nodeReadStream(null as unknown as string, { ...options, fd: fh.fd, fs: ringFsFor(fh) } as never);
  fh.once('close', () => stream.close());
  return stream;
}

export function createWriteStream(fh: FileHandle, options?: WriteStreamOptions): WriteStream {
  const stream = nodeWriteStream(null as unknown as string, { ...options, fd: fh.fd, fs: ringFsFor(fh) } as never);
  fh.once('close', () => stream.close());
  return stream;
}

export function readLines(fh: FileHandle, options?: ReadStreamOptions): Interface {
  return createInterface({ input: createReadStream(fh, options), crlfDelay: Infinity });
}

const locked = new WeakSet<FileHandle>();

/** A byte ReadableStream over the handle (node's readableWebStream): reads of 16 KiB from the current position. */
export function readableWebStream(fh: FileHandle, options: { type?: 'bytes' } = {}): ReadableStream<Uint8Array> {
  if (fh.fd === -1) throw invalidState('The FileHandle is closed');
  if (locked.has(fh)) throw invalidState('The FileHandle is locked');
  validateObject(options, 'options');
  locked.add(fh);
  fh.refHandle();
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    fh.unrefHandle();
  };
  const stream = new ReadableStream({
    type: 'bytes',
    autoAllocateChunkSize: 16384,
    async pull(controller) {
      const req = controller.byobRequest!;
      const view = req.view as Uint8Array;
      const { bytesRead } = await fh.read(view, 0, view.byteLength);
      if (bytesRead === 0) {
        controller.close();
        finish();
      }
      req.respond(bytesRead);
    },
    cancel() {
      finish();
    },
  });
  fh.once('close', () => {
    stream.cancel().catch(() => {});
  });
  return stream as ReadableStream<Uint8Array>;
}
