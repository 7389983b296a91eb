/**
 * Ring: one io_uring instance. SQEs are written by TypeScript straight into the mapped SQE
 * array; one native call publishes the tail and enters the kernel for the whole batch; CQEs are
 * read by TypeScript from the mapped CQ when libuv reports the ring (or its eventfd) readable,
 * one JS call per batch. Requests keep their memory reachable until their CQE.
 */
import { binding } from '../native.js';
import { RingError, RingClosedError, errno as errnoOf } from '../errors.js';
import { SetupFlags, SqeFlags, CancelFlags, RegisterOp } from './abi.js';
import { setupRing, ringOffsets, checkRingOptions, refuseEngineOnBigRing, type RingOptions } from './setup.js';
import { profileFlagsHere } from './wake-probe.js';
import { checkNoArgs, checkRunOptions } from './method-checks.js';
import { Sqe } from '../ops/sqe.js';
import { FileTable } from './files.js';
import { op as builders, type Builders } from '../ops/build.js';
import { namedSqe } from '../ops/build-wait.js';
import { ProgramEngine } from './programs.js';
import { Pending, RequestTable } from './requests.js';
import { captureSettlers, capturedResolve, capturedReject, releaseSettlers } from './settlers.js';
import { AbortWatch, abortError } from './aborts.js';
import { MultiRequest, ZeroCopySink, type CqeSink } from './multi.js';
import { RECVSEND } from '../ops/net-abi.js';
import * as grants from './grants.js';
import { SubmissionQueue, FlushSchedule, cancelSqe } from './submission.js';
import { CompletionDispatch, BULK_TAG } from './completion.js';
import { closesProcessFd, closeNow, closeFdNow } from './unsubmitted.js';
import { LoopHold, RingResource, droppedRings } from './liveness.js';
import type { RingStats } from './introspection.js';
import type { RingInternals, RunOptions } from './ring-internals.js';
import { cancelTimeout, immediate, microtask, timeout } from './jobs.js';

export { RESOURCE_TAG, type ResourceTagHandler } from './completion.js';
export type { RingStats } from './introspection.js';

const ECANCELED = errnoOf('ECANCELED');
const EINTR = errnoOf('EINTR');
const EAGAIN = errnoOf('EAGAIN');
const EBUSY = errnoOf('EBUSY');
const EBADFD = errnoOf('EBADFD');


export type { RunOptions, RingInternals } from './ring-internals.js';

let internalsOf!: (ring: Ring) => RingInternals;
/** The internals of a Ring, for its companion modules only (not exported from the package). */
export const ringInternals = (ring: Ring): RingInternals => internalsOf(ring);

let runBuiltOf!: (ring: Ring, sqe: Sqe, options: RunOptions | undefined) => Promise<unknown>;
/**
 * ring.run() for the promise methods (src/ring/methods.ts): `sqe` is an Sqe the op's builder made
 * in the same call from the same options, so what the builder checked (an Sqe, an options object
 * whose signal is an AbortSignal) is not checked again; the rest is run()'s, in run()'s order.
 */
export const runBuilt = (ring: Ring, sqe: Sqe, options: RunOptions | undefined): Promise<unknown> => runBuiltOf(ring, sqe, options);

/** The error of a request taken out of the JS backlog by a cancel or an abort without a reason. */
const cancelledUnsubmitted = (p: Pending): RingError => new RingError(-ECANCELED, 'io_uring_enter', { op: p.sqe.op.name, detail: 'cancelled before it was submitted' });
const closedUnsubmitted = (): RingClosedError => new RingClosedError('ring closed before the request was submitted; it');

const SKIP_ALONE = 'skipSuccess() on a lone request would never settle its promise; use it on earlier members of ring.chain()';

export class Ring {
  /** The ring's file descriptor. */
  readonly fd: number;
  /** IORING_SETUP_* flags the ring was created with. */
  readonly setupFlags: number;
  /** IORING_FEAT_* bits the kernel reported. */
  readonly features: number;
  readonly sqEntries: number;
  readonly cqEntries: number;
  /** Low-level builders (same as the module's `op`). */
  readonly op: Builders = builders;

  #handle: unknown;
  #requests = new RequestTable();
  #stats: RingStats = { enterCalls: 0, sqesSubmitted: 0, cqesReaped: 0, wakeups: 0, backlogged: 0 };
  /** The SQ, the JS backlog and the in-flight count (src/ring/submission.ts). */
  #sq: SubmissionQueue;
  /** Reads the CQ and settles requests (src/ring/completion.ts). */
  #cq: CompletionDispatch;
  /** Keeps the busy ring alive and the event loop with it (src/ring/liveness.ts). */
  #hold: LoopHold;
  #engine: ProgramEngine | undefined;
  #files: FileTable | undefined;
  #budget: number;
  /** autoSubmit's end-of-tick flush; undefined with autoSubmit: false. */
  #autoFlush: FlushSchedule | undefined;
  /** The event-loop watcher's callback (the native side holds it weakly while the ring is idle). */
  #wake = (status: number) => this.#onReadable(status);
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Created disabled (R_DISABLED) and not enabled yet: the kernel refuses every io_uring_enter. */
  #disabled = false;
  #isClosing = false;
  #closeWaiter: (() => void) | undefined;
  /** close()'s next cancel of everything still in flight (#cancelEverything). */
  #closeRetry: ReturnType<typeof setTimeout> | undefined;
  /** What runs when close() begins (RingInternals.onClosing). */
  #closingHooks: Set<() => void> | undefined;
  /** One abort listener per signal for all of this ring's requests that use it. */
  #aborts = new AbortWatch((p, signal) => this.#abort(p, signal));

  constructor(options: RingOptions = {}) {
    const checked = checkRingOptions(options, arguments.length); // before anything is created
    const profile = checked.profile;
    const profileFlags = profileFlagsHere(options, checked.profileFlags); // src/ring/wake-probe.ts
    let s;
    try {
      s = setupRing(options, profileFlags);
    } catch (e) {
      // DEFER_TASKRUN is 6.1+: fall back to COOP_TASKRUN on older kernels when it was our default.
      if (!(e instanceof RingError) || e.code !== 'EINVAL' || profile !== 'fast') throw e;
      s = setupRing(options, SetupFlags.COOP_TASKRUN | SetupFlags.TASKRUN_FLAG);
    }
    this.fd = s.fd;
    this.setupFlags = s.flags;
    this.#disabled = (s.flags & SetupFlags.R_DISABLED) !== 0;
    this.features = s.features;
    this.sqEntries = s.sqEntries;
    this.cqEntries = s.cqEntries;
    const mapped = binding.ringMap(s.fd, s.params);
    if (typeof mapped === 'number') {
      binding.closeFd(s.fd);
      throw new RingError(mapped, 'mmap');
    }
    const [handle, sqRing, cqRing, sqes, jsWords] = mapped as [unknown, ArrayBuffer, ArrayBuffer, ArrayBuffer, ArrayBuffer];
    this.#handle = handle;
    const off = ringOffsets(s.params);
    const maxInflight = options.maxInflight ?? s.cqEntries;
    this.#sq = new SubmissionQueue(handle, sqRing, sqes, jsWords, off, { entries: s.sqEntries, setupFlags: s.flags, maxInflight }, this.#requests, this.#stats);
    this.#cq = new CompletionDispatch(handle, cqRing, off, this.#sq, this.#requests, this.#aborts, this.#stats, s.flags);
    this.#hold = new LoopHold(this, handle, new RingResource(), () => this.#updateRef());
    this.#budget = options.programBudget ?? 1_000_000;
    if (options.autoSubmit ?? true)
      this.#autoFlush = new FlushSchedule(
        () => {
          if (!this.#closed) this.#flush();
        },
        () => this.#cq.reaping || this.#sq.inflight > 0,
      );
    // DEFER_TASKRUN queues completion work without waking pollers of the ring fd (measured on
    // 6.18.44: a ring-fd watcher never fires); its registered eventfd is signalled, so watch that.
    const useEventfd = options.eventfd === true || (s.flags & SetupFlags.DEFER_TASKRUN) !== 0;
    // The native side holds this callback (and through it the Ring) weakly, but while the program
    // engine has work of its own: a dropped idle ring is collected. The Ring holds it too (#wake),
    // so it lives exactly as long as the Ring.
    const w = binding.ringWatch(handle, this.#wake, useEventfd) as number;
    if (w < 0) {
      binding.ringClose(handle);
      throw new RingError(w, 'uv_poll');
    }
    if (options.cqs !== undefined) {
      this.#enableEngine();
      for (const size of options.cqs) this.createCq(size);
    }
    // last: a ring whose constructor threw was never the user's to close (its handle's finalizer
    // still closes the fds, without a warning)
    droppedRings.register(this, s.fd, this);
  }

  // ---------------------------------------------------------------- completion programs

  /** The companion modules' view of this ring (made once: ring.chain() and others reach it per call). */
  #internals: RingInternals | undefined;

  static {
    internalsOf = (r) => (r.#internals ??= Ring.#makeInternals(r));
    runBuiltOf = (r, sqe, options) => {
      const signal = options?.signal;
      // (the builder read only an options literal's own keys: an inherited `signal` is checked here, as run() would)
      if (signal !== undefined && !(signal instanceof AbortSignal)) checkRunOptions(options, 2);
      return r.#start(sqe, signal);
    };
  }

  static #makeInternals(r: Ring): RingInternals {
    return {
      get handle() {
        return r.#handle;
      },
      get engine() {
        return r.#engine;
      },
      get files() {
        return r.#files;
      },
      get stats() {
        return r.#stats;
      },
      get inflight() {
        return r.#sq.inflight;
      },
      get queued() {
        return r.#sq.queued;
      },
      register: (opcode, arg, nr) => r.#register(opcode, arg, nr),
      enableEngine: () => r.#enableEngine(),
      assertOpen: () => r.#assertOpen(),
      setResourceTags: (h) => r.#cq.setResourceTags(h),
      updateRef: () => r.#updateRef(),
      prepare: (sqe) => {
        if (sqe.cq >= 0) r.#checkCqTarget(sqe);
        r.#beforeSubmit(sqe);
      },
      checkEntry: (sqe, method) => r.#sq.checkEntry(sqe, method),
      selectRequests: (match, max) => r.#requests.select(match, max),
      submitGroup: (group, signal, withNext) => r.#submitGroup(group, signal, withNext === true),
      submitOne: (p, signal, withNext) => {
        r.#attach(p, signal);
        r.#enqueueOne(p, withNext === true);
      },
      bulkHooks: () => ({
        sq: r.#sq,
        submit: () => r.#flush(),
        reap: () => r.#reap(),
        updateRef: () => r.#updateRef(),
        bigCqes: (r.setupFlags & (SetupFlags.CQE32 | SetupFlags.CQE_MIXED)) !== 0,
      }),
      setBulk: (h) => r.#cq.setBulk(h),
      cancelQueued: (match, max) => {
        const { taken, matched } = r.#sq.takeBacklogged(match, max);
        for (const p of taken) r.#rejectHere(p, cancelledUnsubmitted(p));
        if (taken.length > 0) r.#updateRef();
        return matched;
      },
      onClosing: (hook) => {
        if (r.#closed || r.#isClosing) return () => {};
        const hooks = (r.#closingHooks ??= new Set());
        hooks.add(hook);
        return () => void hooks.delete(hook);
      },
      get inbox() {
        return r.#cq.inbox;
      },
    };
  }

  /** The ring's registered file table (register, update, unregister, allocRange, slot). */
  get files(): FileTable {
    return (this.#files ??= new FileTable({
      register: (opcode, arg, nr) => this.#register(opcode, arg, nr),
      slotsChange: (start, count) => (this.#engine ? grants.slotsChange(this.#handle, start, count) : 0),
    }));
  }

  /** Switches completion handling to the native engine (extra CQs, program requests). */
  #enableEngine(): ProgramEngine {
    if (this.#engine) return this.#engine;
    this.#assertOpen();
    refuseEngineOnBigRing(this.setupFlags);
    this.#reap(); // JS has read everything the kernel posted so far
    const e = new ProgramEngine(this.#handle, this.cqEntries, this.#budget);
    this.#cq.useEngine(e);
    this.#sq.useEngine(e);
    this.#engine = e;
    return e;
  }

  // ---------------------------------------------------------------- state

  /** Requests submitted or queued whose CQE has not arrived. */
  get pending(): number {
    return this.#sq.inflight + this.#sq.queued;
  }

  get closed(): boolean {
    return this.#closed || this.#isClosing;
  }

  // ---------------------------------------------------------------- event-loop reference

  /** Never keep the process alive for this ring's requests (like timer.unref()). */
  unref(): this {
    checkNoArgs('unref', arguments.length);
    this.#hold.setUnref(true);
    this.#updateRef();
    return this;
  }
  /** Keep the process alive while requests are in flight (the default). */
  ref(): this {
    checkNoArgs('ref', arguments.length);
    this.#hold.setUnref(false);
    this.#updateRef();
    return this;
  }

  /** Busy (requests queued, in flight, or closing) or idle: src/ring/liveness.ts. */
  #updateRef(): void {
    if (this.#closed) return;
    const sq = this.#sq;
    this.#hold.update(sq.inflight > 0 || sq.toSubmit > 0 || sq.backlogged > 0 || this.#isClosing || this.#cq.keepsBusy, this.#engine !== undefined);
  }

  // ---------------------------------------------------------------- submission

  /** The file table's part in a submission (slots a request takes back or fills); a hook an earlier submission left on the Sqe (maybe on another ring) goes first. */
  #beforeSubmit(sqe: Sqe): void {
    const rs = sqe.ringState;
    if (rs !== undefined) rs.resultHook = undefined;
    this.#files?.beforeSubmit(sqe);
  }

  #assertOpen(): void {
    if (this.#closed || this.#isClosing) throw new RingClosedError();
  }

  /** Runs one prepared request; resolves with its result, rejects with RingError. */
  run<T = number>(sqe: Sqe, options?: RunOptions): Promise<T> {
    this.#assertOpen();
    if (!(sqe instanceof Sqe)) throw new TypeError('ring.run() takes an Sqe built with ring.op.* / op.*');
    checkRunOptions(options, arguments.length);
    if (sqe.multishot) {
      if (sqe.flags & SqeFlags.CQE_SKIP_SUCCESS) throw new RangeError(SKIP_ALONE);
      throw new TypeError(`ring.run(): a multishot ${sqe.op.name} posts a CQE per event; submit it with ring.runMulti(sqe, sink) (or the socket iterators)`);
    }
    return this.#start(sqe, options?.signal);
  }

  /** run() once `sqe` and the options are known to be an Sqe and options (the promise methods come here from their builder). */
  #start<T>(sqe: Sqe, signal: AbortSignal | undefined): Promise<T> {
    this.#assertOpen();
    if (sqe.flags & SqeFlags.CQE_SKIP_SUCCESS) throw new RangeError(SKIP_ALONE);
    this.#sq.checkEntry(sqe, 'ring.run()');
    if (sqe.cq >= 0) this.#checkCqTarget(sqe);
    this.#beforeSubmit(sqe);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const promise = new Promise<T>(captureSettlers);
    const p = new Pending(sqe, capturedResolve, capturedReject);
    releaseSettlers();
    this.#attach(p, signal);
    if (sqe.op.namesRequest === true && !this.#namesBacklogged(sqe)) this.#enqueueNow(p);
    else this.#enqueueOne(p);
    return promise;
  }

  /**
   * Does `sqe` (a remove / update naming a poll or timeout by its Sqe) name a request still in the
   * JS backlog? Then it keeps its place after it, and goes past the in-flight limit once it is at
   * the backlog's head (SubmissionQueue #place).
   */
  #namesBacklogged(sqe: Sqe): boolean {
    const t = namedSqe(sqe);
    return t !== undefined && this.#sq.hasBacklog && this.#sq.someBacklogged((q) => q.sqe === t);
  }

  /** Rejects `p`, which the kernel will never complete (never submitted, or the ring is gone), with `err`; its abort listener goes with it. */
  #rejectHere(p: Pending, err: Error): void {
    this.#aborts.unwatch(p);
    p.reject(err);
  }

  /** Does the close(2) of `p`, a close request of the JS backlog ring.close() takes (src/ring/unsubmitted.ts); its abort listener goes. */
  #closeHere(p: Pending): void {
    this.#aborts.unwatch(p);
    closeNow(p, p.sqe.fd);
  }

  /** #enqueueOne() ahead of the JS backlog and past the in-flight limit: a request acting on requests in flight (OpDesc.namesRequest: a cancel, a remove), which must not wait behind them for room only it would make. */
  #enqueueNow(p: Pending): void {
    if (!this.#sq.hasRoom()) this.#flush(); // the SQ's entries all hold requests not handed over yet
    if (this.#closed || this.#isClosing) return this.#rejectHere(p, closedUnsubmitted());
    this.#sq.addNow(p);
    if (!this.#hold.held) this.#updateRef();
    this.#autoFlush?.schedule();
  }

  /** A zero-copy send settles at its notification, not at its result (src/ring/multi.ts). */
  #zeroCopy(p: Pending, signal: AbortSignal | undefined): void {
    const sink = new ZeroCopySink(p.sqe, p.resolve, p.reject, (p.sqe.ioprio & RECVSEND.SEND_ZC_REPORT_USAGE) !== 0);
    sink.signal = signal;
    p.multi = sink;
  }

  /**
   * Submits a request that may post more than one CQE (multishot, zero-copy): `sink` gets every
   * CQE in order and exactly one end() (the CQE without F_MORE) or fail() (src/ring/multi.ts).
   * The request keeps its memory until its end. The returned handle cancels it; so does `signal`.
   */
  runMulti(sqe: Sqe, sink: CqeSink, options?: RunOptions): MultiRequest {
    this.#assertOpen();
    if (!(sqe instanceof Sqe)) throw new TypeError('ring.runMulti(): "sqe" must be an Sqe built with ring.op.* / op.*');
    if (sink === null || typeof sink !== 'object' || typeof sink.more !== 'function' || typeof sink.end !== 'function' || typeof sink.fail !== 'function')
      throw new TypeError('ring.runMulti(): "sink" must be an object with more(res, flags), end(res, flags) and fail(err) methods');
    checkRunOptions(options, arguments.length - 1);
    if (sqe.flags & SqeFlags.CQE_SKIP_SUCCESS) throw new RangeError('ring.runMulti(): skipSuccess() would hide the CQEs the sink waits for');
    this.#sq.checkEntry(sqe, 'ring.runMulti()');
    if (sqe.cq >= 0) this.#checkCqTarget(sqe);
    this.#beforeSubmit(sqe);
    const signal = options?.signal;
    let p!: Pending;
    const handle = new MultiRequest(() => {
      if (this.#closed || this.#isClosing) return;
      if (p.slot < 0) this.#abort(p, undefined);
      else this.#cancelUntilEnd(p);
    });
    const owner: CqeSink = {
      more: (res, flags) => sink.more(res, flags),
      end: (res, flags) => {
        handle.markEnded();
        sink.end(res, flags);
      },
      fail: (err) => {
        handle.markEnded();
        sink.fail(err);
      },
    };
    p = new Pending(sqe, () => {}, owner.fail as (e: unknown) => void);
    p.multi = owner;
    if (signal?.aborted) {
      microtask(() => owner.fail(abortError(signal)));
      return handle;
    }
    if (signal) this.#aborts.watch(p, signal);
    this.#enqueue([p]);
    return handle;
  }

  /** Queues a group (a chain: src/ring/chain.ts) in one submission; each request settles as run()'s would. */
  #submitGroup(group: Pending[], signal: AbortSignal | undefined, withNext = false): void {
    for (const p of group) this.#attach(p, signal);
    this.#enqueue(group, withNext);
  }

  /** What every submitted request needs before it is queued: a zero-copy one its sink, one with a signal its abort watch. */
  #attach(p: Pending, signal: AbortSignal | undefined): void {
    if (p.sqe.op.multiCqe) this.#zeroCopy(p, signal);
    if (signal) this.#aborts.watch(p, signal);
  }

  /** A request's `cq` option names a CQ of this ring (CQ 0, the programs', starts the engine). */
  #checkCqTarget(sqe: Sqe): void {
    if (sqe.cq === 0) this.#enableEngine();
    else if (!this.#engine?.hasCq(sqe.cq))
      throw new RangeError(`${sqe.op.name}(): "cq" ${sqe.cq} is not a completion queue of this ring (create extra CQs with new Ring({ cqs }) or ring.createCq(); 0 is the programs' CQ 0)`);
  }

  /** Submits what is queued now (for autoSubmit: false, or to not wait for the automatic flush). Returns SQEs submitted. */
  submit(): number {
    checkNoArgs('submit', arguments.length);
    this.#assertOpen();
    return this.#flush();
  }

  /** #enqueue of a lone request: no group array when it fits at once (the promise methods' path). */
  #enqueueOne(p: Pending, withNext = false): void {
    const sq = this.#sq;
    if (!sq.addOne(p)) return this.#enqueue([p], withNext);
    if (!this.#hold.held) this.#updateRef();
    this.#autoFlush?.schedule(withNext);
  }

  #enqueue(group: Pending[], withNext = false): void {
    // a full SQ never throws: hand what is queued to the kernel to make room, or queue in JS
    if (this.#sq.needsRoom(group.length)) {
      this.#flush();
      if (this.#closed || this.#isClosing) {
        // a callback that flush's reap reached closed the ring: these never reach the kernel
        for (const p of group) this.#rejectHere(p, closedUnsubmitted());
        return;
      }
    }
    this.#sq.add(group);
    if (!this.#hold.held) this.#updateRef();
    this.#autoFlush?.schedule(withNext);
  }

  /** Enters the kernel once for everything queued, reaps inline completions, refills from the backlog. */
  #flush(): number {
    const sq = this.#sq;
    let total = 0;
    for (;;) {
      // Without IORING_SETUP_SUBMIT_ALL the kernel stops a batch at an SQE that fails before it
      // is issued (its error CQE is posted) and leaves the rest in the SQ: enter again for them.
      let partial = false;
      if (sq.toSubmit > 0) {
        // (a disabled ring is not entered: under SQPOLL what an enter publishes counts as consumed
        // whatever it answers, and a disabled ring's poller never takes it)
        const r = this.#disabled ? -EBADFD : sq.enter();
        if (r < 0) {
          if (r === -EAGAIN || r === -EBUSY || r === -EINTR) {
            // CQ overflow backpressure or no memory for requests: reap, then retry shortly.
            this.#reap();
            immediate(() => {
              if (!this.#closed && sq.toSubmit > 0) this.#flush();
            });
            return total;
          }
          this.#failQueued(new RingError(r, 'io_uring_enter'), 'io_uring_enter failed for the batch');
          return total;
        }
        total += r;
        partial = r > 0 && sq.toSubmit > 0;
      }
      this.#reap();
      if (this.#closed) return total; // closed by a callback the reap reached
      // move backlog into the SQ now that completions may have made room
      const moved = sq.moveBacklog();
      if (sq.toSubmit === 0 || (!moved && !partial)) break;
    }
    this.#updateRef();
    return total;
  }

  /**
   * A submission error the kernel reported for the batch as a whole, or close(): fail what has not
   * been consumed, but do the close(2) of a process fd among it here (src/ring/unsubmitted.ts: its
   * fd left the owned set when the SQE was written, and its owner may be gone by the time it hears).
   */
  #failQueued(err: Error, why: string): void {
    // SQEs past the kernel's head were not consumed: the SQ rewinds over them
    for (const [slot, gen, fd] of this.#sq.takeBackUnsubmitted()) {
      const close = fd >= 0;
      if (gen === BULK_TAG) {
        this.#cq.failBulk(slot, close ? closeFdNow(fd) : err instanceof RingError ? -err.errno : -EAGAIN);
        continue;
      }
      const p = this.#requests.get(slot, gen);
      if (p) this.#cq.settle(p, close ? () => closeNow(p, fd, why) : () => p.reject(err));
    }
    this.#updateRef();
  }

  // ---------------------------------------------------------------- completion

  #onReadable(status: number): void {
    this.#stats.wakeups++;
    if (this.#closed) return;
    this.#sq.syncTail();
    this.#reap();
    if (this.#closed) return; // closed from a callback the reap reached
    if (this.#sq.hasBacklog || this.#sq.toSubmit > 0) this.#flush();
    else this.#updateRef();
  }

  /** Consumes every CQE (src/ring/completion.ts); the last reap that leaves nothing in flight finishes a close. */
  #reap(): void {
    if (this.#cq.reap() && this.#closeWaiter && this.#drained()) this.#closeWaiter();
  }

  // ---------------------------------------------------------------- cancellation

  #abort(p: Pending, signal: AbortSignal | undefined): void {
    if (p.slot < 0) {
      // still in the backlog: drop it without involving the kernel
      if (!this.#sq.dropBacklogged(p)) return;
      this.#rejectHere(p, signal ? abortError(signal) : cancelledUnsubmitted(p));
      this.#updateRef();
      return;
    }
    this.#cancelUntilEnd(p);
  }

  /**
   * Cancels a submitted request until it ends. The cancel can miss it: a multishot between two of
   * its events (a multishot timeout being re-armed: -ENOENT; test/ring-multi hung in 6 of 25 runs
   * on 6.18.44 before this), a request still waiting behind the head of its link chain (-ENOENT on
   * 6.1: it starts once the head ends, and a hard-linked read of an empty FIFO then waits forever;
   * test/abort-linked hung there), or one running in io-wq (-EALREADY). So while the request is
   * still in flight the cancel is sent again, 1 ms later and then less often (up to every 64 ms).
   * The cancels are internal requests: they never wait in the backlog behind the requests they
   * cancel (a ring whose CQ cap is reached by those would never make room for them).
   */
  #cancelUntilEnd(p: Pending, delay = 1): void {
    if (this.#closed || this.#isClosing || !this.#requests.holds(p)) return;
    this.#submitInternal(cancelSqe(p.slot, p.gen, 0));
    if (!this.#requests.holds(p)) return; // ended in that submission
    timeout(() => this.#cancelUntilEnd(p, Math.min(delay * 2, 64)), delay).unref();
  }

  /** Queues a ringflow-internal request (no promise); its CQE is counted and dropped. */
  #submitInternal(sqe: Sqe): void {
    if (this.#closed) return;
    if (!this.#sq.hasRoom()) this.#flush();
    this.#sq.addInternal(sqe);
    this.#flush();
  }

  /** io_uring_register(2) for the file table and ring.register() (src/ring/introspection.ts). */
  #register(opcode: number, arg: ArrayBufferView | null, nr: number): number {
    this.#assertOpen();
    const r = binding.ringRegister(this.fd, opcode, arg, nr) as number;
    if (r < 0) throw new RingError(r, 'io_uring_register', { detail: `opcode ${opcode}` });
    if (opcode === RegisterOp.REGISTER_ENABLE_RINGS) this.#disabled = false;
    return r;
  }

  // ---------------------------------------------------------------- teardown

  /**
   * Cancels everything in flight (IORING_ASYNC_CANCEL_ANY | ALL), waits for the kernel to let go
   * of every buffer, rejects what was pending, then unmaps and closes. A second close is a no-op.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing; // every close() gets the first one's promise
    if (this.#closed) return Promise.resolve();
    let closed!: () => void;
    // set first: a close() from anything below that reaches user code gets this same promise
    this.#closing = new Promise<void>((resolve) => {
      closed = resolve;
    });
    droppedRings.unregister(this);
    // requests that never reached the kernel are rejected now, but for the close(2) of a process fd,
    // done here (src/ring/unsubmitted.ts: a ring's close leaves open no fd a request was to close)
    this.#sq.clearBacklog((p) => (closesProcessFd(p.sqe) ? this.#closeHere(p) : this.#rejectHere(p, closedUnsubmitted())));
    this.#isClosing = true;
    this.#cq.closing();
    const hooks = this.#closingHooks;
    this.#closingHooks = undefined;
    if (hooks) for (const hook of hooks) hook();
    if (this.#engine) {
      // waiting program requests complete with -EAGAIN (prototype semantics), held-back chains fail
      this.#engine.shutdown();
    }
    // SQEs written but not yet handed to the kernel are taken back and rejected (closes done here)
    if (this.#sq.toSubmit > 0) this.#failQueued(closedUnsubmitted(), 'the ring closed before submitting it');
    // the last reap that finds nothing in flight finishes the close (this one, or the reap this
    // close() was called from, which is still delivering CQEs)
    this.#closeWaiter = () => {
      this.#closeWaiter = undefined;
      this.#destroy();
      closed();
    };
    if (this.#engine) this.#reap();
    if (!this.#closeWaiter) return this.#closing;
    if (this.#drained()) {
      if (!this.#cq.reaping) this.#closeWaiter();
      return this.#closing;
    }
    this.#updateRef();
    this.#cancelEverything(1);
    return this.#closing;
  }

  /**
   * Cancels everything in flight (ANY | ALL), and again after `ms` (doubling, up to 50 ms) until the
   * close is done: a multishot caught between two events is not found by a cancel (a multishot
   * timeout being re-armed: test/ring-multi hung in 4 of 30 runs with one cancel at close).
   */
  #cancelEverything(ms: number): void {
    if (this.#closed) return;
    this.#submitInternal(cancelSqe(0, 0, CancelFlags.ANY | CancelFlags.ALL));
    if (this.#closed) return;
    this.#closeRetry = timeout(() => this.#cancelEverything(Math.min(ms * 2, 50)), ms);
    this.#closeRetry.unref(); // the ring itself keeps the loop alive while requests are in flight
  }

  /** Has the kernel let go of everything: JS's requests, and (closing) those programs submitted? */
  #drained(): boolean {
    return this.#sq.inflight === 0 && !this.#engine?.holdsKernelRequests();
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    cancelTimeout(this.#closeRetry);
    this.#cq.end();
    droppedRings.unregister(this);
    this.#hold.release();
    for (const p of this.#requests.drain()) this.#rejectHere(p, new RingClosedError('ring closed while the request was in flight; it', true));
    binding.ringClose(this.#handle);
    this.#cq.closed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
