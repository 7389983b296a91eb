/**
 * Ring: one io_uring instance. SQEs are written by TypeScript straight into the mapped SQE
 * array; one native call publishes the tail and enters the kernel for the whole batch; CQEs are
 * read by TypeScript from the mapped CQ when libuv reports the ring (or its eventfd) readable,
 * one JS call per batch. Requests keep their memory reachable until their CQE.
 */
import { binding } from '../native.js';
import { RingError, RingClosedError, errno as errnoOf } from '../errors.js';
import { SetupFlags, Features, SqeFlags, CqeFlags, SqRingFlags, EnterFlags, RegisterOp, CancelFlags, SQE_SIZE } from './abi.js';
import { setupRing, ringOffsets, probeOps, checkRingOptions, type RingOptions } from './setup.js';
import { checkFlagQuery, opFlagSupported } from './kernel-probe.js';
import { checkNoArgs, checkRunOptions, checkChainOptions, checkOpArg, checkFeatureName, checkRegisterArgs } from './method-checks.js';
import { Sqe } from '../ops/sqe.js';
import { FileTable } from './files.js';
import { buildSqe, op as builders, type Builders } from '../ops/build.js';
import { opByName } from '../ops/table.js';
import { CQ_HEADER } from './cq.js';
import { ProgramEngine, type ProgramStats } from './programs.js';
import { Pending, RequestTable, deliver } from './requests.js';
import { AbortWatch, abortError } from './aborts.js';
import { MultiRequest, ZeroCopySink, type CqeSink } from './multi.js';
import * as grants from './grants.js';

const ECANCELED = errnoOf('ECANCELED');
const EINTR = errnoOf('EINTR');
const EAGAIN = errnoOf('EAGAIN');
const EBUSY = errnoOf('EBUSY');

const OP_ASYNC_CANCEL = opByName('asyncCancel')!;
/** IORING_SEND_ZC_REPORT_USAGE (6.2), in a zero-copy send's ioprio. */
const SEND_ZC_REPORT_USAGE = 1 << 3;

/** user_data high word tagging ringflow's own internal requests (cancels at close/abort). */
const INTERNAL_TAG = 0xffffffff;
/** user_data high word of resource tags (registered buffers' tags, src/ring/registered-buffers.ts):
 *  the CQE the kernel posts when it lets go of a tagged resource. Request generations are 31-bit. */
export const RESOURCE_TAG = 0xfffffffe;

/** Who hears of resource-tag CQEs, and of the ring's end (after which none comes). */
export interface ResourceTagHandler {
  tag(low: number, res: number): void;
  closed(): void;
}

/**
 * Rings with requests queued, in flight or closing: held here, so a Ring the program dropped stays
 * alive while the kernel may still use its requests' memory (#updateRef). An idle ring is held
 * only by its users; the native side holds it while its program engine has work of its own.
 */
const busyRings: Ring[] = [];

/**
 * Rings dropped without close(): the native handle's finalizer closes the ring's fds when the
 * Ring is collected (only possible while it is idle); this registry says so once per ring, as
 * Node does for a FileHandle.
 */
const dropped = new FinalizationRegistry<number>((fd) => {
  process.emitWarning(`ringflow: closing io_uring fd ${fd} on garbage collection (a Ring was dropped without close())`, {
    code: 'RINGFLOW_RING_GC',
    detail: 'Call ring.close() (or use `await using`) when done with a ring.',
  });
});

export interface RingStats {
  /** io_uring_enter calls made for submission. */
  enterCalls: number;
  /** SQEs handed to the kernel. */
  sqesSubmitted: number;
  /** CQEs consumed. */
  cqesReaped: number;
  /** Times libuv woke JS for completions. */
  wakeups: number;
  /** Requests that waited in the JS backlog because the SQ or the in-flight limit was full. */
  backlogged: number;
}

/** Options of a single request submitted through a promise method or ring.run(). */
export interface RunOptions {
  signal?: AbortSignal;
}

/** What the Ring's companion modules (ring-programs.ts) reach inside it. */
export interface RingInternals {
  readonly handle: unknown;
  readonly engine: ProgramEngine | undefined;
  /** Switches completion handling to the native engine (once) and returns it. */
  enableEngine(): ProgramEngine;
  assertOpen(): void;
  /** Routes CQEs whose user_data high word is RESOURCE_TAG to `handler` (one per ring). */
  setResourceTags(handler: ResourceTagHandler): void;
}
let internalsOf!: (ring: Ring) => RingInternals;
/** The internals of a Ring, for its companion modules only (not exported from the package). */
export const ringInternals = (ring: Ring): RingInternals => internalsOf(ring);

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
  #sq32: Uint32Array;
  #cq32: Uint32Array;
  #cqI32: Int32Array;
  #sqe32: Uint32Array;
  #sqHeadW: number;
  #sqTailW: number;
  #engine: ProgramEngine | undefined;
  #files: FileTable | undefined;
  #resourceTags: ResourceTagHandler | undefined;
  #budget: number;
  #sqFlagsW: number;
  #sqMask: number;
  #cqHeadW: number;
  #cqTailW: number;
  #cqMask: number;
  #cqesW: number;
  #sqTail = 0;
  #toSubmit = 0;
  #inflight = 0;
  #maxInflight: number;
  #requests = new RequestTable();
  #backlog: Pending[][] = [];
  /** Requests in #backlog (kept as a count: ref/unref and stats ask on every flush). */
  #backlogLen = 0;
  #backlogHead = 0;
  #flushScheduled = false;
  #autoSubmit: boolean;
  /** The event loop is kept alive for this ring (ringRef's loopRef). */
  #refd = false;
  /** In busyRings (alive whatever holds it): requests queued, in flight, or closing. */
  #held = false;
  /** Its index in busyRings while #held (an array with swap-remove: a Set cost ~10 % at QD 1). */
  #busyIndex = -1;
  #userUnref = false;
  /** A reap is running: nested reaps (from user code it calls) leave the CQ to it. */
  #reaping = false;
  /** The event-loop watcher's callback (the native side holds it weakly while the ring is idle). */
  #wake = (status: number) => this.#onReadable(status);
  #closed = false;
  #closing: Promise<void> | undefined;
  #isClosing = false;
  #closeWaiter: (() => void) | undefined;
  #ops: Set<number> | undefined;
  #stats: RingStats = { enterCalls: 0, sqesSubmitted: 0, cqesReaped: 0, wakeups: 0, backlogged: 0 };
  /** Flushes since the event loop last got a turn (see #enqueue). */
  #turnFlushes = 0;
  #turnResetScheduled = false;
  #turnReset = () => {
    this.#turnResetScheduled = false;
    this.#turnFlushes = 0;
  };
  #flushTick = () => {
    this.#flushScheduled = false;
    if (!this.#turnResetScheduled) {
      this.#turnResetScheduled = true;
      setImmediate(this.#turnReset);
    }
    this.#turnFlushes++;
    if (!this.#closed) this.#flush();
  };

  constructor(options: RingOptions = {}) {
    const { profile, profileFlags } = checkRingOptions(options, arguments.length); // before anything is created
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
    this.features = s.features;
    this.sqEntries = s.sqEntries;
    this.cqEntries = s.cqEntries;
    this.#maxInflight = options.maxInflight ?? s.cqEntries;
    const mapped = binding.ringMap(s.fd, s.params);
    if (typeof mapped === 'number') {
      binding.closeFd(s.fd);
      throw new RingError(mapped, 'mmap');
    }
    const [handle, sqRing, cqRing, sqes] = mapped as [unknown, ArrayBuffer, ArrayBuffer, ArrayBuffer];
    this.#handle = handle;
    const off = ringOffsets(s.params);
    this.#sq32 = new Uint32Array(sqRing);
    this.#cq32 = new Uint32Array(cqRing);
    this.#cqI32 = new Int32Array(cqRing);
    this.#sqe32 = new Uint32Array(sqes);
    this.#sqHeadW = off.sqHead >> 2;
    this.#sqFlagsW = off.sqFlags >> 2;
    this.#sqMask = this.#sq32[off.sqMask >> 2];
    this.#cqHeadW = off.cqHead >> 2;
    this.#cqTailW = off.cqTail >> 2;
    this.#cqMask = this.#cq32[off.cqMask >> 2];
    this.#cqesW = off.cqes >> 2;
    this.#sqTailW = off.sqTail >> 2;
    this.#sqTail = this.#sq32[this.#sqTailW];
    this.#budget = options.programBudget ?? 1_000_000;
    if (!(s.flags & SetupFlags.NO_SQARRAY)) {
      // identity index array, filled once (liburing does the same)
      const arrW = off.sqArray >> 2;
      for (let i = 0; i < this.sqEntries; i++) this.#sq32[arrW + i] = i;
    }
    this.#autoSubmit = options.autoSubmit ?? true;
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
    dropped.register(this, s.fd, this);
  }

  // ---------------------------------------------------------------- completion programs

  static {
    internalsOf = (r) => ({
      handle: r.#handle,
      engine: r.#engine,
      enableEngine: () => r.#enableEngine(),
      assertOpen: () => r.#assertOpen(),
      setResourceTags: (h) => {
        r.#resourceTags = h;
      },
    });
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
    this.#reap(); // JS has read everything the kernel posted so far
    const e = new ProgramEngine(this.#handle, this.cqEntries, this.#budget);
    this.#cq32 = new Uint32Array(e.cq0);
    this.#cqI32 = new Int32Array(e.cq0);
    this.#cqHeadW = 0;
    this.#cqTailW = 1;
    this.#cqMask = e.cq0Size - 1;
    this.#cqesW = CQ_HEADER >> 2;
    this.#engine = e;
    return e;
  }

  // ---------------------------------------------------------------- introspection

  /**
   * Does the kernel support this operation ('read', 'READ', or an opcode number)? (IORING_REGISTER_PROBE)
   * With `{ flag }`, one of the op's flags ('INJECT_RESULT' of nop): asked with the probe request the
   * opcode table declares (src/ring/kernel-probe.ts); false also when the kernel cannot be asked.
   */
  supports(op: string | number, options?: { flag?: string }): boolean {
    checkOpArg(op, arguments.length);
    const q = arguments.length > 1 ? checkFlagQuery(op, options) : undefined;
    if (!this.#ops) this.#assertOpen();
    this.#ops ??= probeOps(this.fd);
    const code = typeof op === 'number' ? op : opByName(op)?.code;
    if (code === undefined || !this.#ops.has(code)) return false;
    return q === undefined || opFlagSupported(q.desc, q.flag) === true;
  }

  /** Has the kernel a feature (IORING_FEAT_*)? e.g. ring.hasFeature('NODROP'). */
  hasFeature(name: keyof typeof Features): boolean {
    checkFeatureName(name, arguments.length);
    return (this.features & Features[name]) !== 0;
  }

  /** Counters since the ring was created. */
  stats(): RingStats & { inflight: number; queued: number } & Partial<ProgramStats> {
    checkNoArgs('stats', arguments.length);
    const base = { ...this.#stats, inflight: this.#inflight, queued: this.#toSubmit + this.#backlogLen };
    if (!this.#engine) return base;
    const p = this.#engine.stats(Number(new BigUint64Array(this.#cq32.buffer, 24, 1)[0]));
    return { ...base, ...p, enterCalls: base.enterCalls - p.jsEntersSkipped + p.programEnterCalls };
  }

  /** Requests submitted or queued whose CQE has not arrived. */
  get pending(): number {
    return this.#inflight + this.#toSubmit + this.#backlogLen;
  }

  get closed(): boolean {
    return this.#closed || this.#isClosing;
  }

  // ---------------------------------------------------------------- event-loop reference

  /** Never keep the process alive for this ring's requests (like timer.unref()). */
  unref(): this {
    checkNoArgs('unref', arguments.length);
    this.#userUnref = true;
    this.#updateRef();
    return this;
  }
  /** Keep the process alive while requests are in flight (the default). */
  ref(): this {
    checkNoArgs('ref', arguments.length);
    this.#userUnref = false;
    this.#updateRef();
    return this;
  }

  /**
   * Busy (requests queued, in flight, or closing): the ring is kept alive against GC (busyRings),
   * and keeps the event loop alive unless unref()'d. Idle: only its users hold it (and the native
   * side, while the program engine has work of its own: told on every change with an engine).
   */
  #updateRef(): void {
    if (this.#closed) return;
    const busy = this.#inflight > 0 || this.#toSubmit > 0 || this.#backlogLen > 0 || this.#isClosing;
    const want = busy && !this.#userUnref;
    const heldChanged = busy !== this.#held;
    if (heldChanged) {
      this.#held = busy;
      if (busy) this.#busyIndex = busyRings.push(this) - 1;
      else this.#leaveBusy();
    }
    if (want !== this.#refd || (heldChanged && this.#engine)) {
      this.#refd = want;
      binding.ringRef(this.#handle, want, busy);
    }
  }

  #leaveBusy(): void {
    const i = this.#busyIndex;
    if (i < 0) return;
    const last = busyRings.pop()!;
    if (last !== this) {
      busyRings[i] = last;
      last.#busyIndex = i;
    }
    this.#busyIndex = -1;
  }

  // ---------------------------------------------------------------- submission

  #assertOpen(): void {
    if (this.#closed || this.#isClosing) throw new RingClosedError();
  }

  /** Runs one prepared request; resolves with its result, rejects with RingError. */
  run<T = number>(sqe: Sqe, options?: RunOptions): Promise<T> {
    this.#assertOpen();
    if (!(sqe instanceof Sqe)) throw new TypeError('ring.run() takes an Sqe built with ring.op.* / op.*');
    checkRunOptions(options, arguments.length);
    if (sqe.flags & SqeFlags.CQE_SKIP_SUCCESS)
      throw new RangeError('skipSuccess() on a lone request would never settle its promise; use it on earlier members of ring.chain()');
    if (sqe.multishot) throw new TypeError(`ring.run(): a multishot ${sqe.op.name} posts a CQE per event; submit it with ring.runMulti(sqe, sink) (or the socket iterators)`);
    if (sqe.cq >= 0) this.#checkCqTarget(sqe);
    this.#files?.beforeSubmit(sqe);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    let p!: Pending;
    const promise = new Promise<T>((resolve, reject) => {
      p = new Pending(sqe, resolve as (v: unknown) => void, reject);
    });
    if (sqe.op.multiCqe) this.#zeroCopy(p, signal);
    if (signal) this.#aborts.watch(p, signal);
    this.#enqueue([p]);
    return promise;
  }

  /** A zero-copy send settles at its notification, not at its result (src/ring/multi.ts). */
  #zeroCopy(p: Pending, signal: AbortSignal | undefined): void {
    const sink = new ZeroCopySink(p.sqe, p.resolve, p.reject, (p.sqe.ioprio & SEND_ZC_REPORT_USAGE) !== 0);
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
    if (sqe.cq >= 0) this.#checkCqTarget(sqe);
    this.#files?.beforeSubmit(sqe);
    const signal = options?.signal;
    let p!: Pending;
    const handle = new MultiRequest(() => {
      if (this.#closed || this.#isClosing) return;
      if (p.slot < 0) this.#abort(p, undefined);
      else this.#cancelMulti(p);
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
      queueMicrotask(() => owner.fail(abortError(signal)));
      return handle;
    }
    if (signal) this.#aborts.watch(p, signal);
    this.#enqueue([p]);
    return handle;
  }

  /**
   * Submits requests together, in order, in one io_uring_enter (so IOSQE_IO_LINK chains hold).
   * Returns one promise per request. With `link: true` every request but the last gets link().
   */
  chain(sqes: Sqe[], options?: RunOptions & { link?: boolean }): Promise<unknown>[] {
    this.#assertOpen();
    if (!Array.isArray(sqes) || sqes.length === 0) throw new TypeError('ring.chain() takes a non-empty array of Sqe');
    if (sqes.length > this.sqEntries) throw new RangeError(`ring.chain(): ${sqes.length} requests do not fit in one submission (SQ has ${this.sqEntries} entries)`);
    for (const s of sqes) if (!(s instanceof Sqe)) throw new TypeError('ring.chain() takes Sqe objects built with ring.op.*');
    for (const s of sqes) if (s.multishot) throw new TypeError(`ring.chain(): a multishot ${s.op.name} cannot be linked; submit it with ring.runMulti()`);
    checkChainOptions(options, arguments.length);
    if (sqes[sqes.length - 1].flags & SqeFlags.CQE_SKIP_SUCCESS)
      throw new RangeError('skipSuccess() on the last request of a chain would never settle its promise');
    for (const s of sqes) if (s.cq >= 0) this.#checkCqTarget(s);
    if (this.#files) for (const s of sqes) this.#files.beforeSubmit(s);
    if (options?.link) for (let i = 0; i < sqes.length - 1; i++) sqes[i].link();
    const signal = options?.signal;
    if (signal?.aborted) return sqes.map(() => Promise.reject(abortError(signal)));
    const group: Pending[] = [];
    const promises = sqes.map(
      (sqe) =>
        new Promise<unknown>((resolve, reject) => {
          group.push(new Pending(sqe, resolve, reject));
        }),
    );
    for (const p of group) {
      p.chain = group;
      if (p.sqe.op.multiCqe) this.#zeroCopy(p, signal);
      if (signal) this.#aborts.watch(p, signal);
    }
    this.#enqueue(group);
    return promises;
  }

  /** A request's `cq` option names a CQ of this ring (CQ 0, the programs', starts the engine). */
  #checkCqTarget(sqe: Sqe): void {
    if (sqe.cq === 0) this.#enableEngine();
    else if (!this.#engine?.hasCq(sqe.cq))
      throw new RangeError(`${sqe.op.name}(): "cq" ${sqe.cq} is not a completion queue of this ring (create extra CQs with new Ring({ cqs }) or ring.createCq(); 0 is the programs' CQ 0)`);
  }

  /** Submits what is queued now (for autoSubmit: false, or to not wait for the end of the tick). Returns SQEs submitted. */
  submit(): number {
    checkNoArgs('submit', arguments.length);
    this.#assertOpen();
    return this.#flush();
  }

  /**
   * On an engine ring the engine appends programs' SQEs itself (on its own loop turns, between
   * JS's submits), so JS's idea of the tail is stale whenever it holds no unsubmitted SQE: take the
   * published one before writing. (While JS holds some, the engine appends nothing: markPending.)
   */
  #syncTail(): void {
    if (this.#engine && this.#toSubmit === 0) this.#sqTail = this.#sq32[this.#sqTailW];
  }

  #sqFree(): number {
    this.#syncTail();
    return this.sqEntries - ((this.#sqTail - this.#sq32[this.#sqHeadW]) >>> 0);
  }

  #enqueue(group: Pending[]): void {
    const empty = this.#backlogHead >= this.#backlog.length;
    // a full SQ never throws: hand what is queued to the kernel to make room, or queue in JS
    if (empty && this.#sqFree() < group.length && this.#toSubmit > 0) this.#flush();
    if (!empty || this.#backlogHead < this.#backlog.length || !this.#place(group)) {
      this.#backlog.push(group);
      this.#backlogLen += group.length;
      this.#stats.backlogged += group.length;
    }
    if (!this.#held) this.#updateRef();
    if (this.#autoSubmit && !this.#flushScheduled) {
      this.#flushScheduled = true;
      // Requests that complete inline (NOPs, cached reads) resolve inside the flush, and a loop of
      // `await ring.op()` would otherwise chain flushes forever without letting timers and I/O
      // run. After 64 flushes in one turn of the event loop, the next one waits for the check phase.
      if (this.#turnFlushes < 64) process.nextTick(this.#flushTick);
      else setImmediate(this.#flushTick);
    }
  }

  /** Writes a group into the SQ if it fits (SQ space and the in-flight limit); false otherwise. */
  #place(group: Pending[]): boolean {
    const n = group.length;
    if (this.#sqFree() < n) return false;
    if (this.#inflight + this.#toSubmit + n > this.#maxInflight && this.#inflight + this.#toSubmit > 0) return false;
    const sqe32 = this.#sqe32;
    for (let i = 0; i < n; i++) {
      const p = group[i];
      this.#requests.add(p);
      p.sqe.encode(sqe32, (this.#sqTail & this.#sqMask) * (SQE_SIZE >> 2), p.slot, p.gen);
      this.#sqTail = (this.#sqTail + 1) >>> 0;
    }
    this.#toSubmit += n;
    this.#engine?.markPending(); // the engine must not append behind SQEs JS has not handed over
    return true;
  }

  /** Publishes the tail and enters the kernel once for everything queued; reaps inline completions. */
  #flush(): number {
    let total = 0;
    for (;;) {
      if (this.#toSubmit > 0) {
        const r = binding.ringSubmit(this.#handle, this.#sqTail, this.#toSubmit, 0, 0) as number;
        this.#stats.enterCalls++;
        if (r < 0) {
          if (r === -EAGAIN || r === -EBUSY || r === -EINTR) {
            // CQ overflow backpressure or no memory for requests: reap, then retry shortly.
            this.#reap();
            setImmediate(() => {
              if (!this.#closed && this.#toSubmit > 0) this.#flush();
            });
            return total;
          }
          this.#failQueued(new RingError(r, 'io_uring_enter'));
          return total;
        }
        this.#toSubmit -= r;
        this.#inflight += r;
        this.#stats.sqesSubmitted += r;
        total += r;
        if (this.#engine && this.#toSubmit === 0) this.#sqTail = this.#sq32[this.#sqTailW]; // programs' requests were added
      }
      this.#reap();
      if (this.#closed) return total; // closed by a callback the reap reached
      // move backlog into the SQ now that completions may have made room
      let moved = false;
      while (this.#backlogHead < this.#backlog.length && this.#place(this.#backlog[this.#backlogHead])) {
        this.#backlogLen -= this.#backlog[this.#backlogHead].length;
        this.#backlog[this.#backlogHead++] = undefined as unknown as Pending[];
        moved = true;
      }
      if (this.#backlogHead === this.#backlog.length && this.#backlogHead > 0) {
        this.#backlog.length = 0;
        this.#backlogHead = 0;
      }
      if (!moved || this.#toSubmit === 0) break;
    }
    this.#updateRef();
    return total;
  }

  /** A submission error the kernel reported for the batch as a whole: fail what has not been consumed. */
  #failQueued(err: Error): void {
    // SQEs past the kernel's head were not consumed: rewind the tail over them.
    const head = this.#sq32[this.#sqHeadW];
    const unconsumed = (this.#sqTail - head) >>> 0;
    this.#sqTail = head;
    this.#toSubmit = 0;
    const gone = new Set<number>();
    for (let i = 0; i < unconsumed; i++) {
      // slots of the rewound SQEs: read back user_data from the SQE memory
      const w = ((head + i) & this.#sqMask) * (SQE_SIZE >> 2);
      gone.add(this.#sqe32[w + 8]);
    }
    for (const slot of gone) {
      const p = this.#requests.at(slot);
      if (p) this.#settle(p, () => p.reject(err));
    }
    this.#updateRef();
  }

  // ---------------------------------------------------------------- completion

  #onReadable(status: number): void {
    this.#stats.wakeups++;
    if (this.#closed) return;
    if (this.#engine && this.#toSubmit === 0) this.#sqTail = this.#sq32[this.#sqTailW];
    this.#reap();
    if (this.#closed) return; // closed from a callback the reap reached
    if (this.#backlogHead < this.#backlog.length || this.#toSubmit > 0) this.#flush();
    else this.#updateRef();
  }

  /**
   * Consumes every CQE in the CQ. Each CQE is taken off the CQ (head published) before it is
   * delivered, so the user code a delivery reaches (onCompletion) may call any method: a reap
   * nested in it returns at once and this one goes on with what is left; after a close() from
   * there, the CQ's memory is not touched again.
   */
  #reap(): number {
    if (this.#reaping || this.#closed) return 0;
    this.#reaping = true;
    let n = 0;
    try {
      for (;;) {
        const cq32 = this.#cq32;
        let head = cq32[this.#cqHeadW];
        const tail = cq32[this.#cqTailW];
        if (head === tail && !this.#engine) break;
        while (head !== tail) {
          const w = this.#cqesW + ((head & this.#cqMask) << 2);
          const lo = cq32[w];
          const hi = cq32[w + 1];
          const res = this.#cqI32[w + 2];
          const flags = cq32[w + 3];
          head = (head + 1) >>> 0;
          cq32[this.#cqHeadW] = head;
          n++;
          this.#complete(lo, hi, res, flags);
          if (this.#closed) break;
        }
        if (this.#closed) break;
        // CQEs the kernel could not post (CQ full) wait in its overflow list (IORING_FEAT_NODROP):
        // an enter with GETEVENTS flushes them into the CQ; go round again. (The engine does this itself.)
        if (this.#engine) {
          // the programs' CQ 0 goes to onCompletion (each CQE taken off before the handler runs;
          // requests the handler makes are reaped by this loop, a nested reap returns at once)
          const delivered = this.#engine.onCompletion ? this.#engine.deliverProgramCq0() : 0;
          if (this.#closed) break;
          if (!this.#engine.pass() && delivered === 0) break;
        } else if (this.#sq32[this.#sqFlagsW] & SqRingFlags.CQ_OVERFLOW) binding.ringEnter(this.#handle, 0, 0, EnterFlags.GETEVENTS);
      }
    } finally {
      this.#reaping = false;
    }
    this.#stats.cqesReaped += n;
    if (this.#closeWaiter && this.#drained()) this.#closeWaiter();
    return n;
  }

  #complete(slot: number, gen: number, res: number, flags: number): void {
    if (gen > 0x7fffffff) {
      if (gen === INTERNAL_TAG) this.#inflight--; // our own cancel requests
      else if (gen === RESOURCE_TAG) this.#resourceTags?.tag(slot, res); // not a request: not in flight
      return;
    }
    const p = this.#requests.get(slot, gen);
    // JS's CQ 0 holds only completions the kernel produced for JS's requests (programs' CQEs go
    // to the programs' CQ 0, read by onCompletion); one no request waits for is stale
    if (!p) return;
    const sqe = p.sqe;
    if (sqe.cq >= 0) this.#engine!.post(sqe.cq, sqe.cqUserData, res, flags); // its `cq` option
    const multi = p.multi;
    if (flags & CqeFlags.MORE) {
      // the request goes on (multishot, zero-copy before its notification): it keeps its slot and
      // memory; a single-shot owner waits for the end (a raw multishot SQE through run())
      multi?.more(res, flags);
      return;
    }
    this.#inflight--;
    if (p.chain) this.#chainProgress(p, res);
    if (multi) this.#settle(p, () => multi.end(res, flags));
    else this.#settle(p, () => deliver(p, sqe, res, flags, this.#isClosing));
  }

  /** Frees the slot and drops references, then runs `then` (resolve/reject). */
  #settle(p: Pending, then: () => void): void {
    this.#requests.release(p);
    this.#aborts.unwatch(p);
    then();
  }

  /** CQE_SKIP_SUCCESS members get no CQE on success: settle them from their neighbours' CQEs. */
  #chainProgress(p: Pending, res: number): void {
    const chain = p.chain!;
    const k = chain.indexOf(p);
    for (let j = 0; j < k; j++) {
      const q = chain[j];
      if (this.#requests.holds(q) && q.sqe.flags & SqeFlags.CQE_SKIP_SUCCESS) {
        this.#inflight--;
        this.#settle(q, () => q.resolve(undefined));
      }
    }
    const failed = res < 0 || (p.sqe.expect >= 0 && res !== p.sqe.expect);
    const hard = (p.sqe.flags & SqeFlags.IO_HARDLINK) !== 0;
    if (failed && !hard && p.sqe.flags & SqeFlags.CQE_SKIP_SUCCESS) {
      // the kernel suppresses the CQEs of the rest of the chain
      for (let j = k + 1; j < chain.length; j++) {
        const q = chain[j];
        if (this.#requests.holds(q)) {
          this.#inflight--;
          this.#settle(q, () => q.reject(new RingError(-ECANCELED, 'io_uring_enter', { op: q.sqe.op.name })));
        }
      }
    }
  }

  // ---------------------------------------------------------------- cancellation

  /** One abort listener per signal for all of this ring's requests that use it. */
  #aborts = new AbortWatch((p, signal) => this.#abort(p, signal));

  #abort(p: Pending, signal: AbortSignal | undefined): void {
    if (p.slot < 0) {
      // still in the backlog: drop it without involving the kernel
      for (let i = this.#backlogHead; i < this.#backlog.length; i++) {
        const g = this.#backlog[i];
        const idx = g.indexOf(p);
        if (idx >= 0) {
          g.splice(idx, 1);
          this.#backlogLen--;
          this.#aborts.unwatch(p);
          p.reject(signal ? abortError(signal) : new RingError(-ECANCELED, 'io_uring_enter', { op: p.sqe.op.name, detail: 'cancelled before it was submitted' }));
          this.#updateRef();
          return;
        }
      }
      return;
    }
    if (p.multi) return this.#cancelMulti(p);
    this.#submitInternal(this.#cancelSqe(p.slot, p.gen, 0));
  }

  /**
   * Cancels a running multi-CQE request until it ends. A multishot can be between two of its
   * events when the cancel looks for it (a multishot timeout being re-armed: the cancel finds
   * nothing, -ENOENT: test/ring-multi hung in 6 of 25 runs on 6.18.44 before this), or running (-EALREADY):
   * asked again a millisecond later until its last CQE.
   */
  #cancelMulti(p: Pending): void {
    if (this.#closed || this.#isClosing || !this.#requests.holds(p)) return;
    const sqe = this.#cancelSqe(p.slot, p.gen, 0);
    this.run<number>(sqe).catch((e: unknown) => {
      if (e instanceof RingError && (e.code === 'ENOENT' || e.code === 'EALREADY')) setTimeout(() => this.#cancelMulti(p), 1);
    });
  }

  #cancelSqe(slot: number, gen: number, flags: number): Sqe {
    const s = buildSqe(OP_ASYNC_CANCEL, [0]);
    s.addrLo = slot;
    s.addrHi = gen;
    s.opFlags = flags;
    return s;
  }

  /** Queues a ringflow-internal request (no promise); its CQE is counted and dropped. */
  #submitInternal(sqe: Sqe): void {
    if (this.#closed) return;
    if (this.#sqFree() < 1) this.#flush();
    this.#syncTail();
    sqe.encode(this.#sqe32, (this.#sqTail & this.#sqMask) * (SQE_SIZE >> 2), 0, INTERNAL_TAG);
    this.#sqTail = (this.#sqTail + 1) >>> 0;
    this.#toSubmit++;
    this.#flush();
  }

  // ---------------------------------------------------------------- registration

  /** io_uring_register(2) passthrough for advanced users: returns the kernel's result, throws RingError. */
  register(opcode: number, arg: ArrayBufferView | null, nr: number): number {
    checkRegisterArgs(opcode, arg, nr, arguments.length);
    this.#assertOpen();
    this.#files?.beforeRegister(opcode, arg, nr);
    return this.#register(opcode, arg, nr);
  }
  #register(opcode: number, arg: ArrayBufferView | null, nr: number): number {
    this.#assertOpen();
    const r = binding.ringRegister(this.fd, opcode, arg, nr) as number;
    if (r < 0) throw new RingError(r, 'io_uring_register', { detail: `opcode ${opcode}` });
    return r;
  }

  /** Enables a ring created with `disabled: true` (IORING_REGISTER_ENABLE_RINGS). */
  enable(): void {
    checkNoArgs('enable', arguments.length);
    this.register(RegisterOp.REGISTER_ENABLE_RINGS, null, 0);
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
    dropped.unregister(this);
    // requests that never reached the kernel are rejected now
    for (let i = this.#backlogHead; i < this.#backlog.length; i++)
      for (const p of this.#backlog[i]) {
        this.#aborts.unwatch(p);
        p.reject(new RingClosedError('ring closed before the request was submitted; it'));
      }
    this.#backlog.length = 0;
    this.#backlogHead = 0;
    this.#backlogLen = 0;
    this.#isClosing = true;
    if (this.#engine) {
      // waiting program requests complete with -EAGAIN (prototype semantics), held-back chains fail
      this.#engine.shutdown();
    }
    // SQEs written but not yet handed to the kernel are taken back and rejected
    if (this.#toSubmit > 0) this.#failQueued(new RingClosedError('ring closed before the request was submitted; it'));
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
      if (!this.#reaping) this.#closeWaiter();
      return this.#closing;
    }
    this.#updateRef();
    this.#submitInternal(this.#cancelSqe(0, 0, CancelFlags.ANY | CancelFlags.ALL));
    return this.#closing;
  }

  /** Has the kernel let go of everything: JS's requests, and (closing) those programs submitted? */
  #drained(): boolean {
    return this.#inflight === 0 && !this.#engine?.holdsKernelRequests();
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    dropped.unregister(this);
    this.#leaveBusy();
    this.#held = false;
    for (const p of this.#requests.drain()) {
      this.#aborts.unwatch(p);
      p.reject(new RingClosedError('ring closed while the request was in flight; it'));
    }
    binding.ringClose(this.#handle);
    this.#resourceTags?.closed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
