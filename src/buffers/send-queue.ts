/**
 * SendQueue: sending from provided buffers. The user appends bytes (copied into free buffers of a
 * ring-mapped group, or written into a buffer lent by acquire()); the queue gives the filled
 * buffers to the kernel's ring in order, and a SEND with IOSQE_BUFFER_SELECT (len 0) sends the
 * buffer(s) at the ring's head: with IORING_RECVSEND_BUNDLE (6.10) several consecutive ones per
 * CQE, else one per send. Each CQE says how many bytes went; the queue frees exactly the buffers
 * they used up.
 *
 * Owners: every buffer is free (the queue's), lent to JS (acquire(), or the buffer append() is
 * filling), or queued for the kernel, never two at once (the GroupState table, src/buffers/group-state.ts).
 * One send is in flight at a time: a stream's bytes must leave in order.
 *
 * A partly sent buffer (kernel facts, io_uring/net.c + kbuf.c, 6.18; tested in test/send-bundle.test.ts):
 *  - incremental rings (IOU_PBUF_RING_INC, 6.12): the kernel consumes the bytes sent and leaves the
 *    rest at the ring's head (entry addr/len advanced, CQE flag BUF_MORE); the next send continues
 *    there. A bundle whose send came up short keeps going (a CQE with F_MORE per send) until the
 *    ring is empty or the socket fails.
 *  - plain rings: the kernel's head moves past every buffer the send touched, the partly sent one
 *    too, so its rest would never be sent. The queue therefore uses plain rings one buffer per
 *    send (no bundles) and re-publishes the rest at the new head before the next send. Bundles are
 *    used only on incremental rings.
 */
import { RingError, RingClosedError, describeValue as describe, errno as errnoOf } from '../errors.js';
import { CqeFlags, Features, RegisterOp } from '../ring/abi.js';
import { ringInternals, type Ring } from '../ring/ring.js';
import { op } from '../ops/build.js';
import type { Fd } from '../ops/sqe.js';
import type { MultiRequest } from '../ring/multi.js';
import { NativeBlock, detach } from './native-memory.js';
import { BufferRing, PBUF_RING_INC } from './buffer-ring.js';
import { BufferStateError } from './provided-buffer.js';
import { GroupState, Owner } from './group-state.js';
import { reserveGroupId, freeGroupId, MAX_GROUP_BUFFERS, MAX_BUFFER_SIZE } from './buffer-group.js';

const ENOBUFS = errnoOf('ENOBUFS');
const EPIPE = errnoOf('EPIPE');
const FREE = Owner.GROUP;
const QUEUED = Owner.KERNEL;
const LENT = Owner.JS;

export interface SendQueueOptions {
  /** Buffers: 1..32768. */
  count: number;
  /** Bytes per buffer: 1..2^31 - 4096. */
  size: number;
  /** Group id (bgid); default the lowest id no group of this ring uses. */
  id?: number;
  /** Send several buffers per CQE (IORING_RECVSEND_BUNDLE). Default: where the kernel has it
   *  (FEAT_RECVSEND_BUNDLE) and the ring is incremental. true insists (RangeError where it can't). */
  bundle?: boolean;
  /** false: a plain ring even where the kernel has IOU_PBUF_RING_INC (then one buffer per send). */
  incremental?: boolean;
}

/** A send found the queue empty: -ENOBUFS from the kernel (nothing was queued). code 'ENOBUFS'. */
export class SendQueueEmptyError extends RingError {
  readonly group: number;
  constructor(group: number) {
    super(-ENOBUFS, 'io_uring_enter', { detail: `send queue ${group}`, hint: `the send found no buffer in send queue ${group}: append() data (or commit() an acquired buffer) before send()` });
    this.name = 'SendQueueEmptyError';
    this.group = group;
  }
}

/** append()/acquire() found too little free space: nothing was copied. code 'ERR_SEND_QUEUE_FULL'. */
export class SendQueueFullError extends RangeError {
  readonly code = 'ERR_SEND_QUEUE_FULL';
  /** Bytes the queue could take now. */
  readonly free: number;
  constructor(message: string, free: number) {
    super(message);
    this.name = 'SendQueueFullError';
    this.free = free;
  }
}

/** A free buffer lent to JS to fill (queue.acquire()); its one end is commit(n) or cancel(). */
export class SendBuffer {
  readonly id: number;
  #queue: SendQueue;
  #view: Buffer | undefined;
  /** @internal */
  constructor(queue: SendQueue, id: number, view: Buffer) {
    this.#queue = queue;
    this.id = id;
    this.#view = view;
  }
  /** The whole buffer (queue.size bytes) to write into; throws once committed or cancelled. */
  get bytes(): Buffer {
    if (!this.#view) throw new BufferStateError('ERR_BUFFER_RELEASED', `send buffer ${this.id} was committed or cancelled already`);
    return this.#view;
  }
  /** Queues the first `length` bytes for sending, after everything appended or committed before. */
  commit(length: number): void {
    const v = this.bytes;
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > v.length)
      throw new RangeError(`SendBuffer.commit(): "length" must be an integer in [1, ${v.length}], got ${describe(length)}`);
    this.#end();
    if (this.#queue.closed) {
      // its bytes would go nowhere: the buffer goes back, and the caller hears why
      this.#queue.cancelled(this.id);
      throw new RingClosedError(`send queue ${this.#queue.id} (SendBuffer.commit(): its ${length} bytes are not sent)`);
    }
    this.#queue.committed(this.id, length);
  }
  /** Gives the buffer back unsent. */
  cancel(): void {
    this.bytes;
    this.#end();
    this.#queue.cancelled(this.id);
  }
  [Symbol.dispose](): void {
    if (this.#view) this.cancel();
  }
  #end(): void {
    detach(this.#view!.buffer as ArrayBuffer);
    this.#view = undefined;
  }
}

function checkInt(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${what} must be in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

export class SendQueue {
  readonly ring: Ring;
  readonly id: number;
  readonly count: number;
  readonly size: number;
  /** 'incremental' (partial sends continue in the buffer, kernel-side) or 'ring'. */
  readonly kind: 'incremental' | 'ring';
  /** Does a send take several buffers per CQE (IORING_RECVSEND_BUNDLE)? */
  readonly bundles: boolean;
  #slab: NativeBlock;
  #keeper: ArrayBuffer;
  #ring: BufferRing;
  #table: GroupState;
  #state: Uint8Array;
  #free: number[] = [];
  /** Queued buffers in send order; [#head..] are live. Bytes: #len (filled), #off (sent so far). */
  #pending: number[] = [];
  #head = 0;
  #len: Uint32Array;
  #off: Uint32Array;
  /** The kernel's ring head and the tail published to it. */
  #khead = 0;
  #ktail = 0;
  #fill = -1;
  #fillLen = 0;
  #queued = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #writes: Promise<unknown> = Promise.resolve();
  #inflight: MultiRequest | undefined;
  #closing: Promise<void> | undefined;
  /** Counters: send requests, their CQEs, buffers used up, bytes sent, CQEs that ended inside a buffer, buffers a failed send took unsent. */
  readonly stats = { sends: 0, cqes: 0, buffersSent: 0, bytesSent: 0, partial: 0, buffersDropped: 0 };

  constructor(ring: Ring, options: SendQueueOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`new SendQueue(): "options" must be an object { count, size, id?, bundle?, incremental? }, got ${describe(options)}`);
    for (const k of Object.keys(options)) if (!['count', 'size', 'id', 'bundle', 'incremental'].includes(k)) throw new TypeError(`new SendQueue(): "${k}" is not an option (count, size, id, bundle, incremental)`);
    const count = checkInt('new SendQueue(): "count"', options.count, 1, MAX_GROUP_BUFFERS);
    const size = checkInt('new SendQueue(): "size"', options.size, 1, MAX_BUFFER_SIZE);
    for (const k of ['bundle', 'incremental'] as const)
      if (options[k] !== undefined && typeof options[k] !== 'boolean') throw new TypeError(`new SendQueue(): "${k}" must be a boolean, got ${describe(options[k])}`);
    // SEND selecting provided buffers came with bundles (6.10; IORING_FEAT_RECVSEND_BUNDLE): 6.1 fails each send with EOPNOTSUPP
    if (!(ring.features & Features.RECVSEND_BUNDLE))
      throw new RingError(-errnoOf('EOPNOTSUPP'), 'io_uring_enter', { op: 'send', detail: 'new SendQueue(): sending from provided buffers needs Linux 6.10 (IORING_FEAT_RECVSEND_BUNDLE); this kernel lacks it' });
    if (options.id !== undefined) checkInt('new SendQueue(): "id"', options.id, 0, 0xffff);
    if (count * size > 2 ** 40) throw new RangeError(`new SendQueue(): count × size is ${count * size} bytes, more than 1 TiB`);
    if (!ring || typeof ring.register !== 'function') throw new TypeError(`new SendQueue(): "ring" must be a Ring, got ${describe(ring)}`);
    if (ring.closed) throw new RingClosedError();
    if (options.bundle && !ring.hasFeature('RECVSEND_BUNDLE')) throw new RangeError('new SendQueue(): "bundle": this kernel lacks IORING_FEAT_RECVSEND_BUNDLE (6.10)');
    this.ring = ring;
    this.count = count;
    this.size = size;
    this.id = reserveGroupId(ring, this, options.id, 'new SendQueue()');
    const entries = 2 ** Math.ceil(Math.log2(count));
    let br: BufferRing | undefined;
    let slab: NativeBlock | undefined;
    try {
      this.#slab = slab = new NativeBlock(count * size, `send queue ${this.id}: ${count} buffers of ${size} bytes`);
      for (const flags of options.incremental === false ? [0] : [PBUF_RING_INC, 0]) {
        try {
          br = new BufferRing(ring, this.id, entries, size, flags);
          break;
        } catch (e) {
          if (!(e instanceof RingError && e.code === 'EINVAL') || flags === 0) throw e; // EINVAL: no INC (6.12) here
        }
      }
    } catch (e) {
      freeGroupId(ring, this, this.id);
      slab?.release();
      if (e instanceof RingError && e.code === 'EINVAL') throw new RingError(-e.errno, 'io_uring_register', { detail: `send queue ${this.id}`, hint: 'this kernel lacks ring-mapped buffer groups (IORING_REGISTER_PBUF_RING, 5.19), which a SendQueue needs' });
      throw e;
    }
    this.#ring = br!;
    this.kind = br!.incremental ? 'incremental' : 'ring';
    if (options.bundle && !br!.incremental)
      throw this.#abandon(new RangeError('new SendQueue(): "bundle" needs an incremental ring (IOU_PBUF_RING_INC, 6.12): on a plain ring the kernel drops the unsent rest of a partly sent buffer in the middle of a bundle'));
    this.bundles = options.bundle ?? (br!.incremental && ring.hasFeature('RECVSEND_BUNDLE'));
    this.#keeper = this.#slab.view(0, count * size);
    this.#table = new GroupState(this.id, count, entries);
    this.#state = this.#table.state;
    this.#len = new Uint32Array(count);
    this.#off = new Uint32Array(count);
    for (let b = count - 1; b >= 0; b--) this.#free.push(b);
  }

  #abandon(e: Error): Error {
    void this.#ring.close().catch(() => {});
    this.#slab.release();
    freeGroupId(this.ring, this, this.id);
    return e;
  }

  /** Bytes queued and not yet sent (the buffer append() is filling included). */
  get queuedBytes(): number {
    return this.#queued;
  }
  /** Bytes append() can take now. */
  get freeBytes(): number {
    return this.#free.length * this.size + (this.#fill >= 0 ? this.size - this.#fillLen : 0);
  }
  /** Buffers free (neither queued nor lent). */
  get freeBuffers(): number {
    return this.#free.length;
  }
  get closed(): boolean {
    return this.#closing !== undefined || this.ring.closed;
  }

  /** Copies `data` into free buffers, after what is queued; returns its length. All or nothing: SendQueueFullError if it doesn't fit. */
  append(data: Uint8Array | string): number {
    this.#assertOpen('append');
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    if (!(b instanceof Uint8Array)) throw new TypeError(`SendQueue.append(): "data" must be a string or a Uint8Array, got ${describe(data)}`);
    if (b.byteLength > this.freeBytes)
      throw new SendQueueFullError(`SendQueue.append(): ${b.byteLength} bytes don't fit: the queue has room for ${this.freeBytes} (send() or flush() first)`, this.freeBytes);
    let at = 0;
    while (at < b.byteLength) {
      if (this.#fill < 0) {
        this.#fill = this.#free.pop()!;
        this.#state[this.#fill] = LENT;
        this.#fillLen = 0;
      }
      const n = Math.min(this.size - this.#fillLen, b.byteLength - at);
      this.#slab.bytes(this.#fill * this.size + this.#fillLen, n).set(b.subarray(at, at + n));
      this.#fillLen += n;
      at += n;
      this.#queued += n;
      if (this.#fillLen === this.size) this.#seal();
    }
    return b.byteLength;
  }

  /** Lends a free buffer to fill in place; commit(n) queues it. SendQueueFullError when none is free. */
  acquire(): SendBuffer {
    this.#assertOpen('acquire');
    const bid = this.#free.pop();
    if (bid === undefined) throw new SendQueueFullError('SendQueue.acquire(): no free buffer (send() or flush() first)', this.freeBytes);
    this.#state[bid] = LENT;
    return new SendBuffer(this, bid, this.#slab.bytes(bid * this.size, this.size));
  }

  /** @internal SendBuffer.commit() */
  committed(bid: number, length: number): void {
    if (this.closed) return this.cancelled(bid);
    this.#seal();
    this.#queued += length;
    this.#enqueue(bid, length);
  }
  /** @internal SendBuffer.cancel() */
  cancelled(bid: number): void {
    this.#state[bid] = FREE;
    this.#free.push(bid);
  }

  /**
   * One send request from the queue on `fd` (after the sends before it ended): resolves with the
   * bytes it sent (a bundle: the sum of its CQEs). Rejects SendQueueEmptyError (ENOBUFS) when
   * nothing is queued, RingError when the socket fails (bytes sent before are in stats.bytesSent).
   */
  send(fd: Fd): Promise<number> {
    this.#assertOpen('send');
    const run = this.#chain.then(() => this.#sendOnce(fd));
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Sends until nothing is queued; resolves with the bytes sent. */
  async flush(fd: Fd): Promise<number> {
    let total = 0;
    while (this.#queued > 0) {
      const n = await this.send(fd);
      if (n === 0) throw new RingError(-EPIPE, 'send', { detail: 'the connection took no bytes' });
      total += n;
    }
    return total;
  }

  /** Appends all of `data` (in pieces when larger than the queue) and sends it; writes run one after another. */
  write(fd: Fd, data: Uint8Array | string): Promise<number> {
    this.#assertOpen('write');
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    if (!(b instanceof Uint8Array)) throw new TypeError(`SendQueue.write(): "data" must be a string or a Uint8Array, got ${describe(data)}`);
    const run = this.#writes.then(async () => {
      let at = 0;
      while (at < b.byteLength) {
        if (this.freeBytes === 0) await this.send(fd);
        const n = Math.min(this.freeBytes, b.byteLength - at);
        this.append(b.subarray(at, at + n));
        at += n;
      }
      await this.flush(fd);
      return b.byteLength;
    });
    this.#writes = run.catch(() => {});
    return run;
  }

  /** Cancels the send in flight, drops what is queued and takes the group back from the kernel. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#inflight?.cancel();
      await this.#chain;
      await this.#writes;
      try {
        await this.#ring.close();
      } finally {
        this.#slab.release();
        this.#table.block.release();
        freeGroupId(this.ring, this, this.id);
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- internals

  #assertOpen(m: string): void {
    if (this.closed) throw new RingClosedError(`send queue ${this.id} (SendQueue.${m}())`);
  }

  /** Queues the buffer append() is filling. */
  #seal(): void {
    if (this.#fill < 0 || this.#fillLen === 0) return;
    const bid = this.#fill;
    this.#fill = -1;
    this.#enqueue(bid, this.#fillLen);
  }

  #enqueue(bid: number, length: number): void {
    this.#state[bid] = QUEUED;
    this.#len[bid] = length;
    this.#off[bid] = 0;
    this.#pending.push(bid);
    if (this.kind === 'incremental') this.#publish(bid, length);
  }

  #publish(bid: number, length: number): void {
    this.#ring.put(this.#ktail, bid, this.#slab.address + bid * this.size + this.#off[bid]!, length);
    this.#ktail++;
    this.#ring.publish(this.#ktail);
    this.#table.tail = this.#ktail;
  }

  #sendOnce(fd: Fd): Promise<number> {
    if (this.closed) return Promise.reject(new RingClosedError(`send queue ${this.id}`));
    this.#seal();
    if (this.kind === 'ring' && this.#khead === this.#ktail && this.#head < this.#pending.length) {
      // plain ring: one buffer per send, published at the kernel's head (its unsent rest after a short send)
      const bid = this.#pending[this.#head]!;
      this.#publish(bid, this.#len[bid]! - this.#off[bid]!);
    }
    const sqe = op.send(fd, null, 0, { bufferGroup: this.id, ...(this.bundles ? { bundle: true } : {}) });
    sqe.hold(this.#keeper);
    this.stats.sends++;
    return new Promise<number>((resolve, reject) => {
      let total = 0;
      let err: Error | undefined;
      const cqe = (res: number, flags: number): void => {
        if (res < 0) {
          err ??= res === -ENOBUFS ? new SendQueueEmptyError(this.id) : new RingError(res, 'io_uring_enter', { op: 'send', detail: `send queue ${this.id}` });
          // a send the socket failed (EPIPE, ECONNRESET) has still taken buffers off the ring (its
          // CQE names the first): their bytes are gone with the connection
          if (res !== -ENOBUFS && flags & CqeFlags.BUFFER) this.#failedTook();
          return;
        }
        try {
          this.#consumed(res, flags);
        } catch (e) {
          err ??= e as Error;
        }
        total += res;
      };
      this.#inflight = this.ring.runMulti(sqe, {
        more: cqe,
        end: (res, flags) => {
          cqe(res, flags);
          this.#inflight = undefined;
          if (err) reject(err);
          else resolve(total);
        },
        fail: (e) => {
          this.#inflight = undefined;
          reject(e);
        },
      });
    });
  }

  /**
   * A send the socket failed moved the kernel's head past buffers it did not send (seen on 6.18):
   * a plain ring's one published buffer; an incremental ring's, as far as the kernel's head says
   * (IORING_REGISTER_PBUF_STATUS, 6.8; incremental rings are 6.12+), which is every one it had.
   * What was queued was that connection's stream, broken now: the buffers the kernel took are
   * dropped unsent, and so are those a plain ring had not published yet, so the queue is empty for
   * what comes next (on this socket or another) and nothing goes out twice or out of order.
   */
  #failedTook(): void {
    if (this.kind === 'incremental') {
      const status = new Uint32Array(10); // struct io_uring_buf_status { buf_group, head (out), resv[8] }
      status[0] = this.id;
      let kernelHead: number;
      try {
        ringInternals(this.ring).register(RegisterOp.REGISTER_PBUF_STATUS, status, 1);
        kernelHead = status[1] & 0xffff;
      } catch {
        kernelHead = -1; // (the ring closing: nothing of this queue goes to the kernel again; drop it all)
      }
      while ((this.#khead & 0xffff) !== kernelHead && this.#head < this.#pending.length) {
        this.#dropHead();
        this.#khead++;
      }
      return;
    }
    this.#khead = this.#ktail; // the one buffer published (the head) was taken
    while (this.#head < this.#pending.length) this.#dropHead();
  }

  /** The buffer at the queue's head leaves it unsent (free again). */
  #dropHead(): void {
    const bid = this.#pending[this.#head++]!;
    this.#queued -= this.#len[bid]! - this.#off[bid]!;
    this.#state[bid] = FREE;
    this.#free.push(bid);
    this.stats.buffersDropped++;
  }

  /** A CQE sent `res` bytes from the ring's head: frees the buffers used up, keeps the rest in order. */
  #consumed(res: number, flags: number): void {
    this.stats.cqes++;
    this.stats.bytesSent += res;
    if (res === 0) return;
    const first = this.#pending[this.#head];
    if (!(flags & CqeFlags.BUFFER) || first === undefined || flags >>> CqeFlags.BUFFER_SHIFT !== first)
      throw new BufferStateError('ERR_BUFFER_NOT_KERNELS', `a send CQE of ${res} bytes names buffer ${flags & CqeFlags.BUFFER ? flags >>> CqeFlags.BUFFER_SHIFT : '(none)'} of send queue ${this.id}; the queue's head is ${first ?? '(empty)'}`);
    let left = res;
    while (left > 0) {
      const bid = this.#pending[this.#head];
      if (bid === undefined) throw new BufferStateError('ERR_BUFFER_NOT_KERNELS', `a send CQE of ${res} bytes is more than send queue ${this.id} had queued`);
      const n = Math.min(left, this.#len[bid]! - this.#off[bid]!);
      left -= n;
      this.#queued -= n;
      if (this.#off[bid]! + n < this.#len[bid]!) {
        // partly sent: an incremental ring keeps the rest at its head; a plain ring moved past it
        this.#off[bid] += n;
        this.stats.partial++;
        if (this.kind === 'ring') this.#khead++;
        break;
      }
      this.#head++;
      this.#khead++;
      this.#state[bid] = FREE;
      this.#free.push(bid);
      this.stats.buffersSent++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
  }
}
