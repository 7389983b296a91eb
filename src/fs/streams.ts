/**
 * Streams of a ringflow/fs FileHandle, the simple way: node:fs's own ReadStream/WriteStream (so
 * their options, events and errors are Node's) over the handle's fd, with an `fs` option whose
 * read/write/writev/close are this handle's ring requests. A ReadStream of a regular file reads
 * its next chunk ahead while the consumer handles the last one (read-ahead.ts).
 */
import { createReadStream as nodeReadStream, createWriteStream as nodeWriteStream, type ReadStream, type WriteStream } from 'node:fs';
import type { Interface } from 'node:readline';
import type { ReadableStream, ReadableByteStreamController } from 'node:stream/web';
import { invalidState } from './errors.js';
import { validateObject, validateBoolean, validateOffsetLengthRead } from './args.js';
import type { FileHandle } from './file-handle.js';
import { ReadAhead } from './read-ahead.js';

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

/**
 * The `fs` option of node's streams: as node's FileHandle streams (FileHandleOperations), each
 * call is the handle's own method (so its argument rules and errors), a request on its ring.
 */
function ringFsFor(fh: FileHandle) {
  return {
    open: (_p: unknown, _f: unknown, _m: unknown, cb: Cb<number>) => cb(null, fh.fd),
    read: (_fd: number, buf: ArrayBufferView, offset: number, length: number, position: unknown, cb: (err: Error | null, n?: number, b?: ArrayBufferView) => void) =>
      fh.read(buf, offset, length, position as number | null).then(
        (r) => cb(null, r.bytesRead, r.buffer),
        (e: Error) => cb(e, 0, buf),
      ),
    write: (_fd: number, buf: ArrayBufferView, offset: number, length: number, position: unknown, cb: (err: Error | null, n?: number, b?: ArrayBufferView) => void) =>
      fh.write(buf, offset, length, position).then(
        (r) => cb(null, r.bytesWritten, r.buffer),
        (e: Error) => cb(e, 0, buf),
      ),
    writev: (_fd: number, chunks: ArrayBufferView[], position: unknown, cb: (err: Error | null, n?: number, b?: ArrayBufferView[]) => void) =>
      fh.writev(chunks, position as number | null).then(
        (r) => cb(null, r.bytesWritten, r.buffers),
        (e: Error) => cb(e, 0, chunks),
      ),
    fsync: (_fd: number, cb: Cb<void>) => fh.sync().then(() => cb(null), (e: Error) => cb(e)),
    // the stream's hold on the handle goes first (as node's FileHandleOperations.close): a close()
    // the user made while the stream still had writes queued closes the fd only now
    close: (_fd: number, cb: Cb<void>) => {
      fh.unrefHandle();
      fh.close().then(() => cb(null), (e: Error) => cb(e));
    },
  };
}

/**
 * The stream holds the handle open until the stream closes (node's importFd: handle[kRef]()), so
 * fh.close() under a stream lets its queued writes (and reads under way) finish first; then the
 * stream's close op lets go (unrefHandle) and the handle closes.
 */
function holdFor(fh: FileHandle): void {
  if (fh.fd !== -1) fh.refHandle();
}

export function createReadStream(fh: FileHandle, options?: ReadStreamOptions): ReadStream {
  const fs = ringFsFor(fh);
  // the next chunk is read while the consumer handles this one (read-ahead.ts)
  const ahead = new ReadAhead(fh);
  fs.read = (_fd, buf, offset, length, position, cb) =>
    ahead.read(buf, offset, length, position as number | null).then(
      (n) => cb(null, n, buf),
      (e: Error) => cb(e, 0, buf),
    );
  const stream = nodeReadStream(null as unknown as string, { ...options, fd: fh.fd, fs } as never);
  holdFor(fh);
  fh.once('close', () => stream.close());
  return stream;
}

export function createWriteStream(fh: FileHandle, options?: WriteStreamOptions): WriteStream {
  const stream = nodeWriteStream(null as unknown as string, { ...options, fd: fh.fd, fs: ringFsFor(fh) } as never);
  holdFor(fh);
  fh.once('close', () => stream.close());
  return stream;
}

export function readLines(fh: FileHandle, options?: ReadStreamOptions): Interface {
  // node:readline and node:stream/web load at first use, not with ringflow/fs (~5 ms of startup)
  return process.getBuiltinModule('node:readline').createInterface({ input: createReadStream(fh, options), crlfDelay: Infinity });
}

const locked = new WeakSet<FileHandle>();
const kWebChunk = 16384;

/**
 * A byte ReadableStream over the handle (node's readableWebStream): reads of up to 16 KiB from the
 * current position, each answering the stream's BYOB request. The ring never reads into the
 * request's view: memory lent to the kernel is marked untransferable (src/ring/memory.ts), and the
 * stream transfers the view's ArrayBuffer when the request is answered (Node 24+ would refuse it,
 * erroring the stream). So each read goes into a scratch buffer of the stream's own, copied into
 * the view. Node's pull calls `read(view, view.byteOffset, view.byteLength)`: its checks are kept.
 */
export function readableWebStream(fh: FileHandle, options: { type?: 'bytes'; autoClose?: boolean } = {}): ReadableStream<Uint8Array> {
  if (fh.fd === -1) throw invalidState('The FileHandle is closed');
  if (locked.has(fh)) throw invalidState('The FileHandle is locked');
  locked.add(fh);
  validateObject(options, 'options');
  const { type = 'bytes', autoClose = false } = options;
  validateBoolean(autoClose, 'options.autoClose');
  if (type !== 'bytes') process.emitWarning('A non-"bytes" options.type has no effect. A byte-oriented steam is always created.', 'ExperimentalWarning');
  fh.refHandle();
  let done = false;
  const finish = async () => {
    if (done) return;
    done = true;
    fh.unrefHandle();
    if (autoClose) await fh.close();
  };
  let scratch = Buffer.allocUnsafeSlow(kWebChunk);
  let control: ReadableByteStreamController | undefined;
  const { ReadableStream } = process.getBuiltinModule('node:stream/web');
  const stream = new ReadableStream({
    type: 'bytes',
    autoAllocateChunkSize: kWebChunk,
    start(controller) {
      control = controller;
    },
    async pull(controller) {
      const req = controller.byobRequest!;
      const view = req.view as Uint8Array;
      const { byteOffset: offset, byteLength: length } = view;
      let bytesRead = 0;
      if (length > 0) {
        validateOffsetLengthRead(offset, length, view.byteLength);
        if (scratch.byteLength < length) scratch = Buffer.allocUnsafeSlow(length);
        ({ bytesRead } = await fh.read(scratch, 0, length));
        if (done) return; // the handle was closed meanwhile: the stream is closed
        view.set(scratch.subarray(0, bytesRead));
      }
      if (bytesRead === 0) {
        controller.close();
        await finish();
      }
      req.respond(bytesRead);
    },
    async cancel() {
      await finish();
    },
  });
  // node cancels the stream from inside (readableStreamCancel), even while a reader holds it: the
  // reader's reads end with done, the handle is released, so close() completes
  fh.once('close', () => {
    if (done) return;
    try {
      control!.close();
    } catch {
      // already closed or errored
    }
    void finish();
  });
  return stream as ReadableStream<Uint8Array>;
}
