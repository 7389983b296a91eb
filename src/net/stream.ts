/**
 * A multishot request as an async iterator, with backpressure and a clean end: the owner of
 * multishot accept / recv / recvmsg for the socket layer.
 *
 * - Each CQE with data becomes an item in a queue the consumer pulls from (`for await`).
 * - Backpressure: when `highWater` items wait unread, the request is cancelled (the kernel stops
 *   producing); it is re-armed when the consumer has read down to `lowWater`. For recv with
 *   provided buffers the buffer group is the natural bound too: items hold buffers, and the kernel
 *   ends the multishot with -ENOBUFS when none is left.
 * - A multishot that the kernel ends (a CQE without F_MORE: CQ overflow, -ENOBUFS, our own
 *   cancel) is re-armed, after buffers come back for -ENOBUFS: never silently lost. An error the
 *   source does not treat as recoverable ends the iteration with that error, after the items
 *   already queued.
 * - The end: the source says END (recv of 0 bytes: the peer closed), close() or a `break` out of
 *   the loop (the request is cancelled; queued items are disposed of, e.g. buffers released,
 *   accepted fds closed, or kept by a source that keeps them: a socket's bytes for its next
 *   reader), or the ring closing. whenIdle() says when the request is out of the kernel too.
 */
import type { Ring } from '../ring/ring.js';
import type { Sqe } from '../ops/sqe.js';
import type { MultiRequest } from '../ring/multi.js';
import { RingError, RingClosedError, errno as errnoOf } from '../errors.js';
import { microtask } from '../ring/jobs.js';

const ECANCELED = errnoOf('ECANCELED');
const ENOBUFS = errnoOf('ENOBUFS');

/** Returned by a source's item() for a CQE that ends the stream (recv: the peer closed). */
export const END: unique symbol = Symbol('end of stream');

export interface StreamSource<T> {
  /** A fresh multishot SQE (called at every arm). */
  sqe(): Sqe;
  /** A successful CQE (res ≥ 0) → an item, several in order (a bundle), END, or undefined (nothing to deliver). */
  item(res: number, flags: number): T | readonly T[] | typeof END | undefined;
  /** Gives back an item nobody will read (stream closed with items queued). */
  dispose(item: T): void;
  /**
   * Takes, instead of dispose(), an item nobody read when the stream was closed: queued unread, or
   * posted before the request's cancel took (a socket keeps such bytes for its next reader).
   */
  keep?(item: T): void;
  /** -ENOBUFS: resolves when buffers are back (re-arm then). Absent: -ENOBUFS is an error. */
  refilled?(): Promise<void>;
  /** Turns a final error res into the error the consumer sees. */
  error?(res: number): Error;
}

export interface StreamOptions {
  /** Items waiting unread at which the request is cancelled (default 256). */
  highWater?: number;
  /** Items waiting at which a paused request is re-armed (default highWater / 4). */
  lowWater?: number;
  signal?: AbortSignal;
}

export class MultishotStream<T> implements AsyncIterableIterator<T> {
  readonly #ring: Ring;
  readonly #src: StreamSource<T>;
  readonly #high: number;
  readonly #low: number;
  #queue: T[] = [];
  #head = 0;
  #req: MultiRequest | undefined;
  /** The request is running (armed, not ended). */
  #armed = false;
  /** Cancelled by us for backpressure: re-arm at lowWater. */
  #paused = false;
  /** Waiting for buffers after -ENOBUFS. */
  #starved = false;
  #done = false;
  #error: Error | undefined;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.close();
  /** listen(): each item goes to this callback as its CQE is reaped (no queue, no promise). */
  #listener: ((item: T) => void) | undefined;
  #onDone: ((err: Error | undefined) => void) | undefined;
  /** pause() was called (no re-arm until resume()). */
  #held = false;
  /** Waiting for the constructor's `start`: no request yet. */
  #gated = false;
  /** whenIdle() callers. */
  #idle: (() => void)[] | undefined;
  /** Times the stream re-armed its request (kernel ends, ENOBUFS, backpressure). */
  rearms = 0;

  /** `start`: arm only once it settles, delivering the items it gives first (a socket's earlier reader has let go). */
  constructor(ring: Ring, source: StreamSource<T>, options: StreamOptions = {}, start?: Promise<readonly T[]>) {
    this.#ring = ring;
    this.#src = source;
    this.#high = options.highWater ?? 256;
    this.#low = options.lowWater ?? Math.max(0, Math.floor(this.#high / 4));
    this.#signal = options.signal;
    if (this.#signal?.aborted) {
      this.#done = true;
      return;
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (start === undefined) {
      this.#arm();
      return;
    }
    this.#gated = true;
    start.then(
      (items) => {
        this.#gated = false;
        for (const it of items) this.#deliver(it);
        this.#arm();
        this.#maybeIdle();
      },
      (e: unknown) => {
        this.#gated = false;
        this.#finish(e instanceof Error ? e : new Error(String(e)));
        this.#maybeIdle();
      },
    );
  }

  /** Resolves once the stream has ended and no request of its own is in the kernel (a later reader of the socket may start). */
  whenIdle(): Promise<void> {
    if (this.#done && !this.#armed && !this.#gated) return Promise.resolve();
    return new Promise((resolve) => (this.#idle ??= []).push(resolve));
  }

  #maybeIdle(): void {
    // (gated: the items `start` gives are not delivered yet; a stream closed before then keeps them when they come)
    if (!this.#done || this.#armed || this.#gated || !this.#idle) return;
    const waiting = this.#idle;
    this.#idle = undefined;
    for (const resolve of waiting) resolve();
  }

  /** Items received and not yet read. */
  get buffered(): number {
    return this.#queue.length - this.#head;
  }
  /** Has the stream ended (END, close(), an error, the ring closing)? */
  get done(): boolean {
    return this.#done;
  }

  #arm(): void {
    if (this.#done || this.#armed || this.#gated) return;
    if (this.#ring.closed) return this.#finish(undefined);
    if (this.#held) {
      this.#paused = true; // resume() arms it
      return;
    }
    this.#armed = true;
    this.#paused = false;
    this.#req = this.#ring.runMulti(this.#src.sqe(), {
      more: (res, flags) => this.#cqe(res, flags),
      end: (res, flags) => {
        this.#armed = false;
        this.#cqe(res, flags);
        this.#ended(res);
        this.#maybeIdle();
      },
      fail: (err) => {
        this.#armed = false;
        this.#finish(err instanceof RingClosedError ? undefined : err);
        this.#maybeIdle();
      },
    });
  }

  #cqe(res: number, flags: number): void {
    if (res < 0) return;
    let it: T | readonly T[] | typeof END | undefined;
    try {
      it = this.#src.item(res, flags);
    } catch (e) {
      // a CQE the source refuses (a buffer id the group did not hand out): end with that error,
      // never throw into the ring's completion path
      return this.#finish(e as Error);
    }
    if (it === undefined) return;
    if (it === END) return this.#finish(undefined);
    if (Array.isArray(it)) for (const one of it as readonly T[]) this.#deliver(one);
    else this.#deliver(it as T);
  }

  #deliver(it: T): void {
    if (this.#done) return this.#src.keep ? this.#src.keep(it) : this.#src.dispose(it);
    if (this.#listener) {
      try {
        this.#listener(it);
      } catch (e) {
        this.#finish(e instanceof Error ? e : new Error(String(e))); // never thrown into the ring's completion path
      }
      return;
    }
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve({ value: it, done: false });
    } else {
      this.#queue.push(it);
      if (this.buffered >= this.#high && this.#armed && !this.#paused) {
        this.#paused = true;
        this.#req?.cancel();
      }
    }
  }

  /** The request ended (its CQE without F_MORE): re-arm, wait for buffers, or finish. */
  #ended(res: number): void {
    if (this.#done) return;
    if (this.#ring.closed) return this.#finish(undefined);
    if (res === -ENOBUFS && this.#src.refilled) {
      this.#starved = true;
      this.#src.refilled().then(
        () => {
          this.#starved = false;
          this.rearms++;
          this.#arm();
        },
        (e) => this.#finish(e as Error),
      );
      return;
    }
    if (res === -ECANCELED && this.#paused) {
      if (!this.#held && this.buffered <= this.#low) {
        this.rearms++;
        this.#arm();
      }
      return;
    }
    if (res < 0) return this.#finish(this.#src.error?.(res) ?? new RingError(res, 'io_uring_enter', { op: 'multishot' }));
    // the kernel ended a multishot that had no reason to end (CQ overflow, a final data CQE): again
    this.rearms++;
    this.#arm();
  }

  #finish(err: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = err;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#armed) this.#req?.cancel();
    const done = this.#onDone;
    if (done) {
      this.#onDone = undefined;
      this.#error = undefined; // reported to the callback
      microtask(() => done(err));
    }
    const w = this.#waiter;
    if (w && this.buffered === 0) {
      this.#waiter = undefined;
      if (err) w.reject(err);
      else w.resolve({ value: undefined, done: true });
    }
    this.#maybeIdle();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#queue.length) {
      const v = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined as T;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      if (this.#paused && !this.#armed && !this.#done && !this.#starved && this.buffered <= this.#low) {
        this.rearms++;
        this.#arm();
      }
      return Promise.resolve({ value: v, done: false });
    }
    if (this.#done) {
      if (this.#error) {
        const e = this.#error;
        this.#error = undefined; // reported once
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.#waiter) return Promise.reject(new TypeError('MultishotStream: next() called again before the previous next() settled'));
    if (this.#listener) return Promise.reject(new TypeError('MultishotStream: next() on a stream in callback mode (listen())'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      if (this.#paused && !this.#armed && !this.#starved) {
        this.rearms++;
        this.#arm();
      }
    });
  }

  /**
   * Callback mode, for servers that want no promise per item: `onItem` gets each item as its CQE
   * is reaped (items already queued first, in order), `onDone` once at the end (undefined: END,
   * close() or the ring closing; else the error). Backpressure is the caller's: pause() stops the
   * request (the kernel stops producing), resume() re-arms it. An exception from `onItem` ends the
   * stream with it. Not combined with iteration (next() refuses afterwards).
   */
  listen(onItem: (item: T) => void, onDone?: (err: Error | undefined) => void): this {
    if (typeof onItem !== 'function') throw new TypeError(`MultishotStream.listen(): "onItem" must be a function, got ${typeof onItem}`);
    if (onDone !== undefined && typeof onDone !== 'function') throw new TypeError(`MultishotStream.listen(): "onDone" must be a function, got ${typeof onDone}`);
    if (this.#listener) throw new TypeError('MultishotStream.listen(): already listening');
    if (this.#waiter) throw new TypeError('MultishotStream.listen(): a next() is pending; iterate or listen, not both');
    this.#listener = onItem;
    this.#onDone = onDone;
    const queued = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    for (const it of queued) this.#deliver(it);
    if (this.#done) {
      // ended before listen(): report it once
      const err = this.#error;
      this.#error = undefined;
      this.#onDone = undefined;
      if (onDone) microtask(() => onDone(err));
    } else if (this.#paused && !this.#armed && !this.#starved) {
      this.rearms++;
      this.#arm();
    }
    return this;
  }

  /** Callback mode: stop the request until resume() (items already posted still arrive). */
  pause(): void {
    if (this.#done || this.#held) return;
    this.#held = true;
    if (this.#armed && !this.#paused) {
      this.#paused = true;
      this.#req?.cancel();
    }
  }

  /** Callback mode: go on after pause(). */
  resume(): void {
    if (this.#done || !this.#held) return;
    this.#held = false;
    // still armed: its cancel's CQE comes and #ended re-arms; starved: the refill re-arms
    if (!this.#armed && !this.#starved) {
      this.rearms++;
      this.#arm();
    }
  }

  /**
   * Stops the request and disposes of the items nobody will read (or gives them to the source's
   * keep(), in order). The queued ones go first: the cancel #finish() submits may reap at once and
   * deliver CQEs that come after them (a recv armed in the same tick and submitted with its cancel
   * posts what waits in the socket before the cancel takes: test/net-readers.test.ts).
   */
  close(): void {
    const rest = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    for (const it of rest) this.#src.keep ? this.#src.keep(it) : this.#src.dispose(it);
    this.#finish(undefined);
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
