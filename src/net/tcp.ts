/**
 * TCP on the ring, with node:net's names where they fit: TcpSocket (connect, write, multishot recv
 * into provided buffers as an async iterator, end, close; TcpServer is src/net/tcp-server.ts).
 * Each socket fd has one owner, the TcpSocket/TcpServer, and one end, close(): it stops the
 * socket's multishot requests, waits for them to end, then closes the fd through the ring.
 */
import type { SendQueue } from '../buffers/send-queue.js';
import { ringInternals, type Ring } from '../ring/ring.js';
import { binding } from '../native.js';
import { RingError, describeValue, errno as errnoOf } from '../errors.js';
import { SOL, TCP as TCP_OPT, SO } from '../ops/net-abi.js';
import { MultishotStream, END, type StreamOptions } from './stream.js';
import { checkHost, checkPort, socketName, nodeFd, adoptFd, ownSocketFd, closeSocketFd, closeUnowned, hostPort, naming, type AddressInfo } from './addr.js';
import { defaultGroup, type RecvChunk, type RecvGroup } from './recv-group.js';
import { ProvidedBuffer, lend, type BufferLease } from '../buffers/provided-buffer.js';
import { SocketWriter, callBack, type WriteCallback } from './writer.js';
import { SocketReader } from './socket-reader.js';
import { abortError } from '../ring/aborts.js';
import { microtask } from '../ring/jobs.js';

export type { WriteCallback } from './writer.js';

const ECONNRESET = errnoOf('ECONNRESET');
const EPIPE = errnoOf('EPIPE');
const EBUSY = errnoOf('EBUSY');
const noop = (): void => {};

/** What adopt() uses of a node:net Socket. */
interface NodeSocketLike {
  pause?(): void;
  destroy(): void;
  read?(): Uint8Array | string | null;
  readonly writableLength?: number;
  readonly readableEncoding?: BufferEncoding | null;
}

/** A write refused before it was queued: the promise rejects, or the callback hears it on a microtask. */
function refuse(e: unknown, cb: WriteCallback | undefined): Promise<void> | undefined {
  if (!cb) return Promise.reject(e);
  microtask(() => callBack(cb, e));
  return undefined;
}
/** A RecvChunk (not a view, not a string)? */
const isChunk = (d: unknown): d is RecvChunk => typeof d === 'object' && d !== null && !ArrayBuffer.isView(d) && typeof (d as RecvChunk).release === 'function';
/** Payload size from which write() uses zero-copy send: where the bulk trial (bench/net/zc.ts) and the echo server measured here agree (docs/networking.md). */
export const ZERO_COPY_THRESHOLD = 65536;
/** Rings that have IORING_OP_SEND_ZC (6.0), asked once per ring. */
const zcRings = new WeakMap<Ring, boolean>();

export interface ConnectOptions {
  port: number;
  host?: string;
  group?: RecvGroup;
  noDelay?: boolean;
  /** Gives up the connect (AbortError; the socket made for it is closed). */
  signal?: AbortSignal;
}

/** An options argument: an object, or undefined (as {}). */
export function checkOptions(where: string, o: unknown): Record<string, unknown> {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new TypeError(`${where}: options must be an object, got ${describeValue(o)}`);
  return o as Record<string, unknown>;
}

export class TcpSocket implements AsyncIterable<Buffer> {
  readonly ring: Ring;
  /** The connection's fd (owned by this socket; closed by close()). */
  readonly fd: number;
  #group: RecvGroup | undefined;
  #streams = new Set<MultishotStream<RecvChunk>>();
  /** One reader at a time; bytes a closed chunks() stream left go to the next (src/net/socket-reader.ts). */
  readonly #reader = new SocketReader();
  #closing: Promise<void> | undefined;
  /** end() was called: its promise. */
  #ending: Promise<void> | undefined;
  /** Writes in call order, one send in flight (src/net/writer.ts). */
  readonly #writer: SocketWriter;
  /** Settles after the last write made through `sendQueue` (end() waits for it). */
  #queuedWrites: Promise<void> | undefined;
  /** Unsubscribes #holding()'s hook from the ring's close. */
  #unhookClosing: (() => void) | undefined;
  /**
   * write() sends payloads of at least this many bytes with IORING_OP_SEND_ZC (the kernel sends
   * from the buffer; the write settles when it lets go of it). Default ZERO_COPY_THRESHOLD, measured
   * in bench/net/zc.ts (docs/networking.md); Infinity: never.
   */
  zeroCopyThreshold = ZERO_COPY_THRESHOLD;
  /** When set, write() copies into this queue's provided buffers and sends them (bundles; src/buffers/send-queue.ts). One queue per socket. */
  sendQueue: SendQueue | undefined;
  /** Bytes written / read so far (node:net's names). */
  bytesWritten = 0;
  bytesRead = 0;

  /** @internal made by TcpServer, connect() or adopt() */
  constructor(ring: Ring, fd: number, group: RecvGroup | undefined) {
    this.ring = ring;
    this.fd = fd;
    this.#group = group;
    this.#writer = new SocketWriter({
      ring,
      fd,
      zeroCopy: (n) => n >= this.zeroCopyThreshold && this.#zeroCopy(),
      closed: () => (this.#closing ? this.#closedError('write') : undefined),
      sent: (n) => void (this.bytesWritten += n),
      holding: (held) => this.#holding(held),
    });
    ownSocketFd(fd, this);
  }

  static async connect(ring: Ring, options: ConnectOptions): Promise<TcpSocket> {
    const o = checkOptions('TcpSocket.connect()', options);
    const port = checkPort('TcpSocket.connect()', o.port);
    const { host, family } = checkHost('TcpSocket.connect()', o.host ?? '127.0.0.1');
    const signal = o.signal as AbortSignal | undefined;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`TcpSocket.connect(): "signal" must be an AbortSignal, got ${describeValue(signal)}`);
    if (signal?.aborted) throw abortError(signal);
    const fd = await ring.socket(family, 'stream');
    try {
      await ring.connect(fd, { family, address: host, port }, { signal });
    } catch (e) {
      await closeUnowned(ring, fd); // no socket object owns it yet
      if (signal?.aborted) throw abortError(signal);
      throw naming(e, hostPort(host, port));
    }
    const s = new TcpSocket(ring, fd, o.group as RecvGroup | undefined);
    if (o.noDelay) s.setNoDelay(true);
    return s;
  }

  /**
   * Takes over a connected node:net Socket (a dup; the node socket is destroyed). Bytes node:net
   * received and nobody read yet are the new socket's first bytes. Refused (EBUSY, nothing changed)
   * while node:net still holds bytes written to it that the kernel has not taken: they would be lost.
   */
  static adopt(ring: Ring, socket: unknown, options: { group?: RecvGroup } = {}): TcpSocket {
    const nodeSocketFd = nodeFd('TcpSocket.adopt()', socket); // (before anything is changed)
    const ns = socket as NodeSocketLike;
    const unsent = ns.writableLength ?? 0;
    if (unsent > 0)
      throw new RingError(-EBUSY, 'TcpSocket.adopt()', {
        detail: `node:net still holds ${unsent} bytes written to this socket that the kernel has not taken; adopt it once they are out (their write callbacks, or 'drain'), or they would be lost`,
      });
    ns.pause?.();
    const fd = adoptFd(nodeSocketFd);
    // what node:net has read from the kernel and nobody consumed: read() of a paused stream hands
    // it over (a request for more it may make dies with the destroy, in this same tick)
    const held: Uint8Array[] = [];
    for (let b = ns.read?.(); b !== null && b !== undefined; b = ns.read!()) held.push(typeof b === 'string' ? Buffer.from(b, ns.readableEncoding ?? 'utf8') : b);
    ns.destroy();
    const s = new TcpSocket(ring, fd, options.group);
    s.#reader.carry(held);
    return s;
  }

  // (nothing once closing: the fd number may already name another socket)
  get remoteAddress(): string | undefined {
    return this.#closing ? undefined : socketName(this.fd, true)?.address;
  }
  get remotePort(): number | undefined {
    return this.#closing ? undefined : socketName(this.fd, true)?.port;
  }
  get remoteFamily(): string | undefined {
    return this.#closing ? undefined : socketName(this.fd, true)?.family;
  }
  address(): AddressInfo | null {
    return this.#closing ? null : socketName(this.fd, false);
  }
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** TCP_NODELAY. */
  setNoDelay(noDelay = true): this {
    this.#sockopt(SOL.TCP, TCP_OPT.NODELAY, noDelay ? 1 : 0, 'TCP_NODELAY');
    return this;
  }
  /** SO_KEEPALIVE. */
  setKeepAlive(enable = true): this {
    this.#sockopt(SOL.SOCKET, SO.KEEPALIVE, enable ? 1 : 0, 'SO_KEEPALIVE');
    return this;
  }
  #sockopt(level: number, name: number, v: number, what: string): void {
    this.#assertOpen('setsockopt');
    const r = binding.sockSetInt(this.fd, level, name, v) as number;
    if (r < 0) throw new RingError(r, 'setsockopt', { detail: what });
  }

  /** One send(2); resolves the bytes the kernel took (may be fewer than asked). */
  async send(data: Uint8Array, options?: { signal?: AbortSignal }): Promise<number> {
    this.#assertOpen('send');
    const n = await this.ring.send(this.fd, data, 0, { signal: options?.signal });
    this.bytesWritten += n;
    return n;
  }

  /**
   * Writes all of `data` (repeating short sends); resolves when the kernel has taken it all and
   * let go of `data` (from zeroCopyThreshold bytes on, a zero-copy send that settles at its
   * notification), so the caller may reuse the buffer then.
   *
   * Writes go out in call order (one send in flight: src/net/writer.ts).
   *
   * A received chunk (from chunks(), e.g. an echo or a proxy forwarding what it got) is sent
   * straight from its provided buffer and handed over: from the call on it counts as released (its
   * `bytes` and release() throw ERR_BUFFER_RELEASED), and it goes back to its group when the
   * kernel has sent it all or the write failed. No view of it is made unless JS read `bytes`.
   *
   * With a `callback` (node:net's `socket.write(data, cb)`), no promise is made: the callback gets
   * what the promise would have settled with, `callback()` or `callback(err)`, once, never inside
   * this call or the caller's abort(); it may write again or close the socket or the ring. What it
   * throws is thrown again on a microtask (an uncaught exception, as from a node:net write
   * callback), never into the ring's completion handling.
   */
  write(data: ArrayBufferView | string | RecvChunk, options?: { signal?: AbortSignal }): Promise<void>;
  write(data: ArrayBufferView | string | RecvChunk, callback: WriteCallback): void;
  write(data: ArrayBufferView | string | RecvChunk, options: { signal?: AbortSignal } | undefined, callback: WriteCallback): void;
  write(data: ArrayBufferView | string | RecvChunk, a?: { signal?: AbortSignal } | WriteCallback, b?: WriteCallback): Promise<void> | void {
    if (typeof a === 'function') {
      if (b !== undefined) throw new TypeError(`TcpSocket.write(): after a callback nothing more is accepted, got ${describeValue(b)}`);
      this.#write(data, undefined, a);
      return;
    }
    if (b !== undefined) {
      if (typeof b !== 'function') throw new TypeError(`TcpSocket.write(): "callback" must be a function, got ${describeValue(b)}`);
      this.#write(data, a, b);
      return;
    }
    return this.#write(data, a, undefined);
  }

  /** write()'s body: settles the promise it returns, or (with `cb`) calls cb and returns undefined. */
  #write(data: ArrayBufferView | string | RecvChunk, options: { signal?: AbortSignal } | undefined, cb: WriteCallback | undefined): Promise<void> | undefined {
    const signal = options?.signal;
    if (this.#ending && !this.#closing) {
      try {
        if (isChunk(data)) data.release(); // (back to its group, as a write refused on a closed socket)
      } catch (e) {
        return refuse(e, cb);
      }
      return refuse(this.#endedError('write'), cb);
    }
    if (isChunk(data) && !(data instanceof ProvidedBuffer)) {
      // a chunk of a RecvGroup of the caller's own making: its bytes, then back to its group
      let bytes: Uint8Array;
      try {
        bytes = data.bytes;
      } catch (e) {
        return refuse(e, cb);
      }
      if (cb) {
        // back to its group, then the callback, whatever release() does (a chunk the caller released already throws: thrown again later, as the promise form's is an unhandled rejection)
        return this.#write(bytes, options, (err) => {
          try {
            data.release();
          } finally {
            if (err === undefined) cb();
            else cb(err);
          }
        });
      }
      const done = this.#write(bytes, options, undefined)!;
      done.then(
        () => data.release(),
        () => data.release(),
      );
      return done;
    }
    if (data instanceof ProvidedBuffer) {
      if (this.sendQueue) {
        // the queue sends in its own order: the bytes join it as a copy
        let copy: Buffer;
        try {
          copy = Buffer.from(data.bytes);
          data.release();
        } catch (e) {
          return refuse(e, cb);
        }
        return this.#writeQueued(copy, cb);
      }
      let lease: BufferLease;
      try {
        lease = lend(data);
      } catch (e) {
        return refuse(e, cb);
      }
      if (this.#closing) {
        lease.back();
        return refuse(this.#closedError('write'), cb);
      }
      return this.#writer.write(undefined, lease, signal, cb);
    }
    // any other view (a Uint16Array, a DataView) goes as its bytes, as node:net takes it
    const b = typeof data === 'string' ? Buffer.from(data) : ArrayBuffer.isView(data) && !(data instanceof Uint8Array) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
    if (!(b instanceof Uint8Array)) return refuse(new TypeError(`TcpSocket.write(): "data" must be a string, a TypedArray, a DataView or a received chunk (ProvidedBuffer), got ${describeValue(data)}`), cb);
    if (this.sendQueue) return this.#writeQueued(b, cb);
    if (this.#closing) return refuse(this.#closedError('write'), cb);
    if (b.byteLength === 0) return cb ? void microtask(() => callBack(cb, undefined)) : Promise.resolve();
    return this.#writer.write(b, undefined, signal, cb);
  }

  #writeQueued(b: Uint8Array, cb: WriteCallback | undefined): Promise<void> | undefined {
    const done = this.#writeToQueue(b);
    // end() sends its FIN after these too (the queue runs its writes in call order: the last one is the latest)
    this.#queuedWrites = done.then(noop, noop);
    if (!cb) return done;
    done.then(
      () => callBack(cb, undefined),
      (e: unknown) => callBack(cb, e),
    );
    return undefined;
  }

  async #writeToQueue(b: Uint8Array): Promise<void> {
    this.#assertOpen('write');
    const n = await this.sendQueue!.write(this.fd, b); // (`x += await` would read x before the wait)
    this.bytesWritten += n;
  }

  #zeroCopy(): boolean {
    let z = zcRings.get(this.ring);
    if (z === undefined) zcRings.set(this.ring, (z = this.ring.supports('sendZc')));
    return z;
  }
  /**
   * Reads once into `buffer`; resolves the bytes read (0: the peer closed its side). Reads made
   * while one is under way wait for it and run in call order, so they get the bytes in that order.
   */
  async read(buffer: Uint8Array, options?: { signal?: AbortSignal }): Promise<number> {
    this.#assertOpen('read');
    // (recv's own checks say what else is wrong with it)
    if (buffer instanceof Uint8Array && buffer.byteLength === 0) throw new RangeError('TcpSocket.read(): "buffer" is empty; a read resolves 0 only when the peer has closed its side, so it needs room for at least one byte');
    this.#reader.checkFree('read');
    const signal = options?.signal;
    this.#reader.reads++;
    try {
      const wait = this.#reader.turn(signal);
      if (wait !== undefined) await wait; // (an abort while waiting rejects here, holding no turn)
      try {
        return await this.#readNow(buffer, signal);
      } finally {
        this.#reader.passTurn();
      }
    } finally {
      this.#reader.reads--;
    }
  }
  async #readNow(buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number> {
    this.#assertOpen('read'); // (closed while this read waited for its turn)
    if (this.#reader.pending) {
      const kept = await this.#reader.fromKept(buffer); // (counted in bytesRead when received)
      if (kept > 0) return kept;
      this.#assertOpen('read');
    }
    let n: number;
    try {
      n = await this.ring.recv(this.fd, buffer, 0, { signal });
    } catch (e) {
      this.#assertOpen('read'); // close() cancelled it
      throw e;
    }
    this.bytesRead += n;
    return n;
  }

  /**
   * What arrives, as provided buffers the kernel chose (one multishot recv, 6.0): each chunk is
   * a view of exactly the bytes received; give it back with release() (or `using`) — until then
   * it is out of the group. Ends when the peer closes its side; an error (ECONNRESET) ends the
   * loop with that error. Re-armed when the group ran dry (-ENOBUFS) once buffers come back.
   * `bundle: true`: each completion may fill several buffers (IORING_RECVSEND_BUNDLE, 6.10), yielded
   * in order (plain multishot recv where the kernel or the group cannot).
   */
  chunks(options?: StreamOptions & { bundle?: boolean }): MultishotStream<RecvChunk> {
    this.#assertOpen('chunks');
    this.#reader.checkFree('chunks');
    const group = (this.#group ??= defaultGroup(this.ring));
    const { bundle: wantBundle, ...streamOptions } = options ?? {};
    if (wantBundle !== undefined && typeof wantBundle !== 'boolean') throw new TypeError(`TcpSocket.chunks(): "bundle" must be a boolean, got ${describeValue(wantBundle)}`);
    // a bundle takes every buffer the data fills in one CQE (6.10; FEAT_RECVSEND_BUNDLE): asked for, and possible here
    const bundle = wantBundle === true && group.takeBundle !== undefined && this.ring.hasFeature('RECVSEND_BUNDLE');
    const s = new MultishotStream<RecvChunk>(
      this.ring,
      {
        sqe: () => this.ring.op.recv(this.fd, null, 0, { bufferGroup: group.id, multishot: true, bundle }),
        item: (res, flags) => {
          if (res === 0) return END;
          this.bytesRead += res;
          return bundle ? group.takeBundle!(res, flags) : (group.take(res, flags) ?? undefined);
        },
        dispose: (c) => c.release(),
        keep: (c) => this.#reader.keep(c),
        refilled: () => group.refilled(),
        error: (res) => new RingError(res, 'recv', { op: 'recv', detail: res === -ECONNRESET ? 'the peer reset the connection' : undefined }),
      },
      // unread chunks hold buffers of a group the ring's connections share (the default one has 256):
      // at 16 a connection that stops reading holds at most 16 of them
      { highWater: 16, ...streamOptions },
      this.#reader.start(),
    );
    this.#reader.reading(s);
    addStream(this.#streams, s);
    return s;
  }

  /** What arrives, copied into Buffers (the provided buffers go back at once). */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const s = this.chunks();
    try {
      for await (const c of s) {
        const b = Buffer.from(c.bytes);
        c.release();
        yield b;
      }
    } finally {
      s.close();
    }
  }

  /** shutdown(SHUT_WR) after what was written: the peer reads end-of-stream. A write() after it is refused (EPIPE); end() again gets the same promise. */
  end(data?: Uint8Array | string): Promise<void> {
    if (this.#closing) return Promise.reject(this.#closedError('end'));
    if (this.#ending) return data === undefined ? this.#ending : Promise.reject(this.#endedError('end'));
    const last = data === undefined ? undefined : this.write(data);
    return (this.#ending = this.#end(last));
  }
  async #end(last: Promise<void> | undefined): Promise<void> {
    await last;
    await this.#writer.idle(); // FIN after every write queued before
    await this.#queuedWrites; // and those through sock.sendQueue
    this.#assertOpen('end');
    await this.ring.shutdown(this.fd, 'write');
  }
  #endedError(m: string): RingError {
    return new RingError(-EPIPE, m, { detail: 'end() was called: the socket writes no more' });
  }

  /** Stops this socket's requests and closes the fd (once; later calls get the same promise). */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }
  destroy(): Promise<void> {
    return this.close();
  }
  async #close(): Promise<void> {
    for (const s of this.#streams) s.close();
    this.#streams.clear();
    this.#reader.close();
    // a send waiting for room (a peer that does not read) would hold the writes queued behind it
    // forever, a read would wait for good: closeSocketFd cancels what waits on the fd; the
    // writes reject with "the socket is closed", a read too
    // with zero-copy sends the kernel holds (their peer not reading), the connection is reset:
    // a graceful close would leave the pages, their writes and the ring's close waiting for the peer
    await closeSocketFd(this.ring, this, this.fd, () => this.#writer.zeroCopyHeld > 0);
  }
  /** While the kernel holds zero-copy bytes of this socket, closing its ring closes (resets) it: the ring could not finish closing otherwise. */
  #holding(held: boolean): void {
    if (held) this.#unhookClosing ??= ringInternals(this.ring).onClosing(() => void this.close().catch(() => {})); // (its writes hear why)
    else {
      this.#unhookClosing?.();
      this.#unhookClosing = undefined;
    }
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(m: string): void {
    if (this.#closing) throw this.#closedError(m);
  }
  #closedError(m: string): RingError {
    return new RingError(-9 /* EBADF */, m, { detail: 'the socket is closed' });
  }
}

/**
 * Keeps `s` with its socket's or server's streams (closed with it), first dropping those that have
 * ended: a long-lived socket whose chunks() or connections() are opened and closed again and again
 * kept every ended stream until it closed.
 */
export function addStream<T>(streams: Set<MultishotStream<T>>, s: MultishotStream<T>): void {
  for (const old of streams) if (old.done) streams.delete(old);
  streams.add(s);
}
