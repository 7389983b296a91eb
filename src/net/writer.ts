/**
 * The writes of one stream socket, in call order: TcpSocket.write() hands each one here.
 *
 * The kernel does not keep two sends on one socket in order: a send that finds the socket full
 * waits for space (io_uring arms a poll), and when space comes any waiting send may go first; a
 * send that is short (no MSG_WAITALL) leaves room for another one to slip in before its rest. So
 * `write(a); write(b)` could reach the peer as b before a, or a's tail after b (measured here:
 * eight concurrent 8 MiB writes arrived as A H G B C F D E). node:net keeps them in order; so does
 * this: one send per socket is in flight at a time, the next write's first send is issued when the
 * kernel has taken all of the previous write.
 *
 * What a write owns, and its end:
 * - a Uint8Array: the send holds it until its CQE; the write settles when the kernel took it all
 *   (a zero-copy write at its last notification: the kernel lets go of the bytes only then);
 * - a received chunk (BufferLease): sent from its provided buffer, the group's memory held by the
 *   send; back to its group when the write settles, whatever the outcome.
 * A write aborted before its turn settles at once (nothing of it was sent); one aborted while its
 * send runs settles when the kernel has ended that send (the cancel's CQE), and may have sent a
 * part. A failed write does not stop the ones after it: each meets the socket's state itself.
 */
import type { Ring } from '../ring/ring.js';
import type { CqeSink } from '../ring/multi.js';
import { NO_BYTES, type Sqe } from '../ops/sqe.js';
import type { BufferLease } from '../buffers/provided-buffer.js';
import { CqeFlags } from '../ring/abi.js';
import { MSG } from '../ops/net-abi.js';
import { abortError } from '../ring/aborts.js';
import { RingError, errno as errnoOf } from '../errors.js';
import { runForTarget, type SettleTarget } from '../ring/callback-requests.js';
import { captureSettlers, capturedResolve, capturedReject, releaseSettlers } from '../ring/settlers.js';
import { microtask, throwLater } from '../ring/jobs.js';

const EPIPE = errnoOf('EPIPE');
const ECANCELED = errnoOf('ECANCELED');
const EBADF = errnoOf('EBADF');
/** A linked send takes all its bytes or fails. */
const MSG_WAITALL = MSG.WAITALL;
/** Writes sent in one linked chain at most. */
const LINKED_MAX = 64;

/** node:net's write callback: called once, with no argument when the write is done, or with its error. */
export type WriteCallback = (err?: unknown) => void;

/** Calls a write callback; what it throws is thrown again on a microtask (an uncaught exception, as from node:net), never into the ring's completion handling. */
export function callBack(cb: WriteCallback, error: unknown): void {
  try {
    if (error === undefined) cb();
    else cb(error);
  } catch (e) {
    throwLater(e);
  }
}

const NOOP = (): void => {};

/** What the writer needs of its socket. */
export interface WriteTarget {
  readonly ring: Ring;
  readonly fd: number;
  /** Send `length` bytes with SEND_ZC? */
  zeroCopy(length: number): boolean;
  /** The error of a write whose turn came after the socket closed; undefined while open. */
  closed(): Error | undefined;
  /** The kernel took `n` more bytes. */
  sent(n: number): void;
  /** The kernel now holds bytes of a zero-copy send (true), or holds none any more (false). */
  holding?(held: boolean): void;
}

class Job {
  next: Job | undefined = undefined;
  /** Bytes the kernel has taken so far. */
  at = 0;
  /** A send of it was issued (an abort from now on is the ring's to deliver, through that send). */
  started = false;
  /** Sends of this write whose zero-copy notification has not come yet. */
  notifs = 0;
  /** All bytes handed over (or the write failed): the next write may start. */
  issued = false;
  settled = false;
  error: unknown = undefined;
  onAbort: (() => void) | undefined = undefined;
  /** The next settled write whose callback is due (SocketWriter's list). */
  dueNext: Job | undefined = undefined;
  constructor(
    readonly data: Uint8Array | undefined,
    readonly lease: BufferLease | undefined,
    readonly length: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (v?: unknown) => void,
    readonly reject: (e: unknown) => void,
    /** A write with a callback instead of a promise (resolve and reject do nothing). */
    readonly cb: WriteCallback | undefined,
  ) {}
}

export class SocketWriter implements SettleTarget<Job> {
  readonly #t: WriteTarget;
  #head: Job | undefined = undefined;
  #tail: Job | undefined = undefined;
  /** The head's send is in flight. */
  #busy = false;
  #idleWaiters: (() => void)[] = [];
  /**
   * Settled writes with a callback. Their callbacks run at the end of the call that settled them,
   * once the writer's state is whole again (a callback may write, close the socket or the ring),
   * and never inside write() or the caller's abort(): from there, on a microtask.
   */
  #dueHead: Job | undefined = undefined;
  #dueTail: Job | undefined = undefined;
  #calling = false;
  #dueScheduled = false;
  /** write() calls under way on this writer (a submission there may reap and settle a write). */
  #inWrite = 0;
  /** Zero-copy sends whose buffer the kernel has not let go of (no notification yet). */
  #zcHeld = 0;
  /** #leaseSend()'s request (it holds the lease's memory only while its send runs). */
  #loneSend: Sqe | undefined = undefined;

  constructor(target: WriteTarget) {
    this.#t = target;
  }

  /** Zero-copy sends whose notification has not come: the kernel still holds their bytes (a peer that does not read keeps them). */
  get zeroCopyHeld(): number {
    return this.#zcHeld;
  }
  #hold(d: 1 | -1): void {
    this.#zcHeld += d;
    if (this.#zcHeld === (d === 1 ? 1 : 0)) this.#t.holding?.(d === 1);
  }

  /** Queues `data` (or a lease's bytes); settles as the module comment says: the promise it returns, or `cb` (then it returns undefined). */
  write(data: Uint8Array | undefined, lease: BufferLease | undefined, signal: AbortSignal | undefined, cb: WriteCallback | undefined): Promise<void> | undefined {
    const length = lease ? lease.length : data!.byteLength;
    let promise: Promise<void> | undefined;
    let job: Job;
    if (cb) job = new Job(data, lease, length, signal, NOOP, NOOP, cb);
    else {
      promise = new Promise<void>(captureSettlers); // one executor for every write: no closure per write
      job = new Job(data, lease, length, signal, capturedResolve, capturedReject, undefined);
      releaseSettlers();
    }
    if (signal?.aborted) {
      this.#settle(job, abortError(signal));
      this.#scheduleDue();
      return promise;
    }
    if (signal) {
      job.onAbort = () => {
        // still waiting for its turn: nothing of it went out. Started: the ring cancels its send in
        // flight (or refuses the next one); a zero-copy write waits for its notification regardless.
        if (!job.started) {
          job.issued = true;
          this.#settle(job, abortError(signal));
          this.#scheduleDue(); // (not inside the caller's abort())
        }
      };
      signal.addEventListener('abort', job.onAbort, { once: true });
    }
    if (this.#tail) this.#tail.next = job;
    else this.#head = job;
    this.#tail = job;
    if (!this.#busy) {
      this.#inWrite++;
      try {
        this.#pump();
      } finally {
        this.#inWrite--;
      }
    }
    this.#scheduleDue(); // a write that ended inside this call (refused, or the ring closed by what a reap there reached) tells its callback later
    return promise;
  }

  /** Calls the callbacks of settled writes, in the order they settled (callBack: what one throws is an uncaught exception later). */
  #callDue(): void {
    if (this.#calling || this.#inWrite > 0 || this.#dueHead === undefined) return;
    this.#calling = true;
    try {
      // (a callback that writes again may settle more: they join the end of the list and run here)
      for (let j: Job | undefined = this.#dueHead; j !== undefined; j = this.#dueHead) {
        this.#dueHead = j.dueNext;
        if (this.#dueHead === undefined) this.#dueTail = undefined;
        j.dueNext = undefined;
        callBack(j.cb!, j.error);
      }
    } finally {
      this.#calling = false;
    }
  }

  #scheduleDue(): void {
    if (this.#dueHead === undefined || this.#calling || this.#dueScheduled) return;
    this.#dueScheduled = true;
    microtask(() => {
      this.#dueScheduled = false;
      this.#callDue();
    });
  }

  /** A send is in flight. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Resolves when every write queued so far has been handed to the kernel (end()'s shutdown goes after them). */
  idle(): Promise<void> {
    if (!this.#head) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Starts the head's next send, skipping writes that are done (aborted while waiting) or cannot start. */
  #pump(): void {
    for (;;) {
      let j = this.#head;
      while (j && j.issued) j = this.#shift();
      if (!j) {
        if (this.#idleWaiters.length > 0) for (const w of this.#idleWaiters.splice(0)) w(); // (no array per pump)
        return;
      }
      const closed = this.#t.closed();
      if (closed || j.at === j.length) {
        j.issued = true;
        if (closed) j.error ??= closed;
        this.#finish(j);
        continue;
      }
      try {
        // (a lone write, the usual case, needs no run array)
        const run = j.next === undefined ? undefined : this.#run(j);
        if (run === undefined || run.length === 1) this.#send(j);
        else this.#sendLinked(run);
        return;
      } catch (e) {
        this.#busy = false;
        this.#loneEnded(); // (refused: nothing of it runs)
        this.#fail(j, e);
      }
    }
  }

  /**
   * The writes from `j` on that can go in one linked chain: whole (not begun), copying (not
   * zero-copy), without a signal of their own; up to LINKED_MAX. `j` alone otherwise.
   */
  #run(j: Job): Job[] {
    const run = [j];
    if (!this.#linkable(j)) return run;
    const max = Math.min(LINKED_MAX, this.#t.ring.sqEntries);
    for (let n = j.next; n !== undefined && run.length < max; n = n.next) {
      if (n.issued) continue;
      if (!this.#linkable(n)) break;
      run.push(n);
    }
    return run;
  }

  #linkable(j: Job): boolean {
    return j.at === 0 && j.signal === undefined && (j.lease !== undefined || !this.#t.zeroCopy(j.length));
  }

  /**
   * Several queued writes in one submission, each a send with MSG_WAITALL (the kernel sends all of
   * it or fails: a soft link does not break on a short send without it, which would let the next
   * send go before the rest), linked so the kernel runs them in order. A step that fails or comes
   * short breaks the chain: the steps after it end -ECANCELED unsent and go again from the queue.
   */
  #sendLinked(run: Job[]): void {
    const t = this.#t;
    const sqes = run.map((j) => this.#sqeFor(j, MSG_WAITALL));
    // busy and started before the submission, as in #send()
    this.#busy = true;
    for (const j of run) j.started = true;
    let outcomes: Promise<PromiseSettledResult<unknown>[]>;
    try {
      outcomes = Promise.allSettled(t.ring.chain(sqes, { link: true }));
    } catch (e) {
      for (const j of run) j.started = false;
      throw e;
    }
    outcomes.then((o) => {
      let broken = false;
      for (let i = 0; i < run.length; i++) {
        const j = run[i];
        const r = o[i];
        if (r.status === 'fulfilled') {
          const n = r.value as number;
          t.sent(n);
          j.at += n;
          if (j.at === j.length) {
            j.issued = true;
            this.#finish(j);
          } else broken = true; // short: its rest goes from the queue, first
        } else if (broken && r.reason instanceof RingError && r.reason.errno === ECANCELED) {
          j.started = false; // never ran: again from the queue
        } else {
          broken = true;
          this.#fail(j, r.reason);
        }
      }
      this.#busy = false;
      this.#pump();
      this.#callDue();
    });
  }

  /** A send of what is left of `j`: from its lease's provided buffer, or its bytes (zero-copy from the threshold on, unless `flags` are asked: linked sends copy). */
  #sqeFor(j: Job, flags: number): Sqe {
    const t = this.#t;
    const n = j.length - j.at;
    if (j.lease) return t.ring.op.send(t.fd, NO_BYTES, flags).setBuffer(j.lease.address + j.at, n, j.lease.keeper);
    const data = j.at ? j.data!.subarray(j.at) : j.data!;
    return flags === 0 && t.zeroCopy(n) ? t.ring.op.sendZc(t.fd, data, 0) : t.ring.op.send(t.fd, data, flags);
  }

  /**
   * The send of what is left of a lease's bytes when it goes alone: one Sqe per socket, pointed
   * at each lease in turn (one lone send is in flight at a time: the previous one's request has
   * ended before the next is issued; linked sends are built each).
   */
  #leaseSend(j: Job): Sqe {
    const t = this.#t;
    const s = (this.#loneSend ??= t.ring.op.send(t.fd, NO_BYTES, 0));
    s.retarget(j.lease!.address + j.at, j.length - j.at, j.lease!.keeper);
    return s;
  }

  /** The lone send ended (or was refused): its request no longer holds the lease's memory. (Only lone lease sends go through runForTarget with a lease; linked ones are chains.) */
  #loneEnded(): void {
    if (this.#loneSend) this.#loneSend.keep = undefined;
  }

  /** Issues one send of the rest of `j` (throws when it cannot be submitted). */
  #send(j: Job): void {
    const t = this.#t;
    const sqe = j.lease ? this.#leaseSend(j) : this.#sqeFor(j, 0);
    const o = j.signal ? { signal: j.signal } : undefined;
    // busy and started before the submission: one that finds the SQ full flushes and reaps first,
    // and what that reaches (another socket's write callback, a recv listener) may write to this
    // socket, which must queue behind this send, not issue it again. This send's own CQE never
    // comes inside these calls; a refusal throws.
    this.#busy = true;
    j.started = true;
    const zc = sqe.op.multiCqe === true;
    if (zc) {
      j.notifs++;
      this.#hold(1);
    }
    try {
      if (zc) t.ring.runMulti(sqe, new ZeroCopyStep(this, j), o);
      else runForTarget(t.ring, sqe, this, j, j.signal); // resolved()/rejected() below, from the ring's completion handling
    } catch (e) {
      if (zc) {
        j.notifs--;
        this.#hold(-1);
      }
      j.started = false;
      throw e;
    }
  }

  /** @internal runForTarget: the send of `j` took `r` bytes. */
  resolved(j: Job, r: unknown): void {
    if (j.lease) this.#loneEnded();
    this.result(j, r as number);
  }

  /** @internal runForTarget: the send of `j` failed. */
  rejected(j: Job, e: unknown): void {
    if (j.lease) this.#loneEnded();
    this.failed(j, e);
  }

  /** @internal a send of `j` took `r` bytes (a zero-copy send's result CQE). */
  result(j: Job, r: number): void {
    if (r < 0) return this.failed(j, new RingError(r, 'send', { op: 'send' }));
    this.#busy = false;
    this.#t.sent(r);
    j.at += r;
    if (r === 0 && j.at < j.length) this.#fail(j, new RingError(-EPIPE, 'send', { detail: 'the connection took no bytes' }));
    else if (j.at === j.length) {
      j.issued = true;
      this.#finish(j);
    }
    this.#pump();
    this.#endCall(j);
  }

  /** @internal a send of `j` failed; the writes after it go on. */
  failed(j: Job, e: unknown): void {
    this.#busy = false;
    this.#fail(j, e);
    this.#pump();
    this.#endCall(j);
  }

  /**
   * The end of a call that settled `j`'s send: due callbacks now, or on a microtask when `j`'s
   * signal fired (the ring may have ended the send inside the caller's abort(), reaping there).
   */
  #endCall(j: Job): void {
    if (j.signal?.aborted) this.#scheduleDue();
    else this.#callDue();
  }

  /** `j` ends with `e` (an AbortError when its signal cancelled the send). */
  #fail(j: Job, e: unknown): void {
    if (e instanceof RingError && e.errno === ECANCELED) e = j.signal?.aborted ? abortError(j.signal) : (this.#t.closed() ?? e);
    // a send the socket's close() overtook (its fd gone before the kernel issued it) reads as closed
    else if (e instanceof RingError && e.errno === EBADF) e = this.#t.closed() ?? e;
    j.error ??= e;
    j.issued = true;
    this.#finish(j);
  }

  /** @internal a zero-copy send of `j` was let go of (its notification, or its end without one). */
  released(j: Job): void {
    j.notifs--;
    this.#hold(-1);
    this.#finish(j);
    this.#endCall(j);
  }

  /** Settles `j` once it is issued and no notification is due. */
  #finish(j: Job): void {
    if (j.issued && j.notifs === 0) this.#settle(j, j.error);
  }

  #settle(j: Job, error: unknown): void {
    if (j.settled) return;
    j.settled = true;
    if (j.onAbort) j.signal!.removeEventListener('abort', j.onAbort);
    j.lease?.back();
    if (j.cb !== undefined) {
      j.error = error; // its callback runs from #callDue() when the call that settled it is done
      if (this.#dueTail) this.#dueTail.dueNext = j;
      else this.#dueHead = j;
      this.#dueTail = j;
    } else if (error === undefined) j.resolve();
    else j.reject(error);
  }

  /** Drops the head (issued); returns the new head. */
  #shift(): Job | undefined {
    const h = this.#head!;
    this.#head = h.next;
    h.next = undefined;
    if (!this.#head) this.#tail = undefined;
    return this.#head;
  }
}

/** A zero-copy send of a write: its result moves the writer on, its notification lets the write settle. */
class ZeroCopyStep implements CqeSink {
  #gotResult = false;
  constructor(
    readonly w: SocketWriter,
    readonly j: Job,
  ) {}
  more(res: number, flags: number): void {
    if (flags & CqeFlags.NOTIF) return;
    this.#gotResult = true;
    this.w.result(this.j, res);
  }
  end(res: number, flags: number): void {
    // the notification ends it; a last CQE without F_NOTIF is a result with no notification to follow
    if (!(flags & CqeFlags.NOTIF) && !this.#gotResult) {
      this.#gotResult = true;
      this.w.result(this.j, res);
    }
    this.w.released(this.j);
  }
  fail(err: Error): void {
    if (!this.#gotResult) {
      this.#gotResult = true;
      this.w.failed(this.j, err);
    }
    this.w.released(this.j);
  }
}
