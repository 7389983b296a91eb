/**
 * Requests with more than one CQE. A multishot request (accept, recv, recvmsg, read, poll,
 * timeout with IORING_*_MULTISHOT) posts a CQE with IORING_CQE_F_MORE for each event; a zero-copy
 * send (SEND_ZC, SENDMSG_ZC) posts its result with F_MORE, then a notification (F_NOTIF) when the
 * kernel lets go of the buffer. In both, the request's end is the first CQE without F_MORE: until
 * then it keeps its slot in the request table (its user_data), its memory (`sqe.keep`) and its
 * count in flight, whatever the CQEs before said (an error with F_MORE is not the end).
 *
 * The owner of such a request is a CqeSink: it gets every CQE in order, then exactly one of
 * end() (the last CQE) or fail() (the request never reached the kernel, or the ring was
 * destroyed under it). Ring.runMulti() submits one; ring.run() gives zero-copy sends a
 * ZeroCopySink and settles their promise at the notification.
 */
import { CqeFlags } from './abi.js';
import { NOTIF_USAGE_ZC_COPIED } from '../ops/net-abi.js';
import { RingError, errno as errnoOf } from '../errors.js';
import { abortError } from './aborts.js';
import type { Sqe } from '../ops/sqe.js';

const ECANCELED = errnoOf('ECANCELED');

export interface CqeSink {
  /** A CQE with F_MORE: the request goes on. `res` may be an error (a zero-copy send's). */
  more(res: number, flags: number): void;
  /** The request's last CQE (no F_MORE): its slot is free and its memory released when this runs. */
  end(res: number, flags: number): void;
  /** The request ended without a last CQE: not submitted (ring closed first, batch refused), or
   *  the ring was destroyed while it was in flight. */
  fail(err: Error): void;
}

/** A running multi-CQE request, as ring.runMulti() returns it. */
export class MultiRequest {
  #cancel: (() => void) | undefined;
  #ended = false;
  /** @internal */
  constructor(cancel: () => void) {
    this.#cancel = cancel;
  }
  /** Has the request ended (its last CQE, or a failure)? */
  get ended(): boolean {
    return this.#ended;
  }
  /**
   * Asks the kernel to stop it (IORING_OP_ASYNC_CANCEL by its user_data). The sink still gets the
   * last CQE (usually -ECANCELED): the request ends when the kernel says so. No-op once ended.
   */
  cancel(): void {
    if (this.#ended) return;
    const c = this.#cancel;
    this.#cancel = undefined;
    c?.();
  }
  /** @internal the request ended: cancel() does nothing from now on. */
  markEnded(): void {
    this.#ended = true;
    this.#cancel = undefined;
  }
}


/** What a zero-copy send resolves with when `reportUsage` was asked. */
export interface ZeroCopyResult {
  /** Bytes sent. */
  bytes: number;
  /** The kernel copied (some of) the data instead of sending it from the buffer (loopback always does). */
  copied: boolean;
}

/**
 * The owner of a zero-copy send: remembers the result CQE, settles the promise at the
 * notification (the buffer is the caller's again only then, also after an error).
 */
export class ZeroCopySink implements CqeSink {
  #res: number | undefined;
  readonly #resolve: (v: unknown) => void;
  readonly #reject: (e: unknown) => void;
  readonly #sqe: Sqe;
  readonly #report: boolean;
  signal: AbortSignal | undefined;
  constructor(sqe: Sqe, resolve: (v: unknown) => void, reject: (e: unknown) => void, reportUsage: boolean) {
    this.#sqe = sqe;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#report = reportUsage;
  }
  more(res: number, flags: number): void {
    if (!(flags & CqeFlags.NOTIF)) this.#res = res;
  }
  end(res: number, flags: number): void {
    // the notification ends it; a CQE without F_MORE and without F_NOTIF is a result with no notification to follow
    const result = flags & CqeFlags.NOTIF ? (this.#res ?? 0) : res;
    if (result < 0) {
      if (result === -ECANCELED && this.signal?.aborted) return this.#reject(abortError(this.signal));
      return this.#reject(new RingError(result, 'io_uring_enter', { op: this.#sqe.op.name }));
    }
    if (!this.#report) return this.#resolve(result);
    // with report-usage the notification's res says whether data was copied
    const copied = flags & CqeFlags.NOTIF ? (res & NOTIF_USAGE_ZC_COPIED) !== 0 : true;
    this.#resolve({ bytes: result, copied } satisfies ZeroCopyResult);
  }
  fail(err: Error): void {
    this.#reject(err);
  }
}
