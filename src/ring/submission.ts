/**
 * The submission side of a Ring: the mapped SQ (SQEs are encoded by TypeScript straight into the
 * SQE array), the SQEs written but not yet handed to the kernel, the JS backlog of requests that
 * wait because the SQ or the in-flight limit is full, and the count of requests in flight. It
 * enters the kernel (one native call per batch) but never reaps: when to flush, and what to do
 * when a submission fails, is the Ring's (src/ring/ring.ts).
 */
import { binding } from '../native.js';
import { SetupFlags, SqRingFlags, SqeFlags, SQE_SIZE, SQE128_SIZE } from './abi.js';
import type { ringOffsets } from './setup.js';
import type { Sqe } from '../ops/sqe.js';
import { buildSqe } from '../ops/build.js';
import { opByName } from '../ops/table.js';
import type { Pending, RequestTable } from './requests.js';
import type { ProgramEngine } from './programs.js';
import type { RingStats } from './introspection.js';
import { immediate, nextTick, throwLater, TurnBudget } from './jobs.js';
import { processFdClosedBy, disownIfCloses, CLOSE_CODE } from './unsubmitted.js'; // (fake timers a test installs later stop no flush)

/** IOSQE_IO_LINK | IOSQE_IO_HARDLINK, and the same bits in an SQE's first word (flags are its byte 1). */
const LINKS = SqeFlags.IO_LINK | SqeFlags.IO_HARDLINK;
const LINK_BITS = LINKS << 8;

/** user_data high word tagging ringflow's own internal requests (cancels at close/abort). */
export const INTERNAL_TAG = 0xffffffff;

const OP_ASYNC_CANCEL = opByName('asyncCancel')!;


export class SubmissionQueue {
  readonly #handle: unknown;
  readonly #entries: number;
  readonly #sq32: Uint32Array;
  readonly #sqe32: Uint32Array;
  readonly #headW: number;
  readonly #tailW: number;
  readonly #flagsW: number;
  readonly #mask: number;
  /** SQE size in 32-bit words: 16, or 32 on an sqe128 ring (whose bytes 64..127 encodeTail writes). */
  readonly #sqeWords: number;
  readonly #sqe128: boolean;
  /** IORING_SETUP_SQPOLL: the kernel's poller consumes what is published, between JS's enters too. */
  readonly #sqpoll: boolean;
  readonly #maxInflight: number;
  readonly #requests: RequestTable;
  /** The ring's counters: this side adds enterCalls, sqesSubmitted and backlogged. */
  readonly #stats: RingStats;
  #engine: ProgramEngine | undefined;
  /** JS's idea of the SQ tail (published to the kernel by the native submit). */
  #tail: number;
  /**
   * The native ring's copy of #tail ([0], rf_js_ring.js_words), written with every SQE: when the
   * thread ends before a flush (a worker's process.exit() in the tick that queued a close), the
   * env's teardown closes the process fds of the unsubmitted close requests (native/ring_napi.c
   * close_unsubmitted), so no fd a request was to close stays open in the process.
   */
  readonly #jsTail: Uint32Array;
  /** SQEs written past the published tail. */
  #toSubmit = 0;
  /**
   * Entries placeTagged() and addOne() may still write without looking at the kernel's head and
   * the in-flight limit again: never more than there are (every other writer zeroes it, and room
   * only grows behind its back: the kernel consuming entries, completions). 0: look. Not used
   * while a program engine appends SQEs of its own.
   */
  #room = 0;
  /**
   * Word index of the last SQE written, when it is a bulk request whose link is open (bulk pushes
   * may link into the next push); -1 otherwise. A request of any other kind written after it closes
   * that link first: a bulk chain must not reach into someone else's request (a failure of it would
   * cancel theirs).
   */
  #openLink = -1;
  /** Requests handed to the kernel whose last CQE has not come (ringflow's own cancels too). */
  #inflight = 0;
  #backlog: Pending[][] = [];
  /** Requests in #backlog (kept as a count: ref/unref and stats ask on every flush). */
  #backlogLen = 0;
  #backlogHead = 0;

  constructor(
    handle: unknown,
    sqRing: ArrayBuffer,
    sqes: ArrayBuffer,
    jsWords: ArrayBuffer,
    off: ReturnType<typeof ringOffsets>,
    ring: { entries: number; setupFlags: number; maxInflight: number },
    requests: RequestTable,
    stats: RingStats,
  ) {
    this.#handle = handle;
    this.#entries = ring.entries;
    this.#maxInflight = ring.maxInflight;
    this.#requests = requests;
    this.#stats = stats;
    this.#sq32 = new Uint32Array(sqRing);
    this.#sqe32 = new Uint32Array(sqes);
    this.#headW = off.sqHead >> 2;
    this.#tailW = off.sqTail >> 2;
    this.#flagsW = off.sqFlags >> 2;
    this.#mask = this.#sq32[off.sqMask >> 2];
    this.#sqe128 = (ring.setupFlags & SetupFlags.SQE128) !== 0;
    this.#sqpoll = (ring.setupFlags & SetupFlags.SQPOLL) !== 0;
    this.#sqeWords = (this.#sqe128 ? SQE128_SIZE : SQE_SIZE) >> 2;
    this.#tail = this.#sq32[this.#tailW];
    this.#jsTail = new Uint32Array(jsWords, 0, 1);
    this.#jsTail[0] = this.#tail;
    if (!(ring.setupFlags & SetupFlags.NO_SQARRAY)) {
      // identity index array, filled once (liburing does the same)
      const arrW = off.sqArray >> 2;
      for (let i = 0; i < ring.entries; i++) this.#sq32[arrW + i] = i;
    }
  }

  /** SQE size of this ring in bytes (64, or 128 with SQE128). */
  get entrySize(): 64 | 128 {
    return this.#sqe128 ? 128 : 64;
  }

  /** Refuses (RangeError, before anything is queued) a request whose entry does not fit this ring's SQEs. */
  checkEntry(sqe: Sqe, method: string): void {
    // on every request's path: two field tests when there is nothing to check (no getter calls)
    if (sqe.submitCheck !== undefined) sqe.submitCheck(method, this.#engine !== undefined);
    const rs = sqe.ringState;
    if (rs !== undefined && rs.selectedFrom !== undefined) rs.selectedFrom.checkSelect(method);
    if (sqe.cmdBytes > 16 && !this.#sqe128)
      throw new RangeError(`${method}: the ${sqe.op.name} command area of ${sqe.cmdBytes} bytes needs 128-byte SQEs (at most 16 bytes fit in a 64-byte SQE); create the ring with { sqe128: true }`);
  }

  /** The program engine appends its programs' SQEs to this SQ from now on. */
  useEngine(engine: ProgramEngine): void {
    this.#engine = engine;
  }

  /** SQEs written but not yet handed to the kernel. */
  get toSubmit(): number {
    return this.#toSubmit;
  }
  /** Requests in flight (submitted, last CQE not yet reaped). */
  get inflight(): number {
    return this.#inflight;
  }
  /** Requests waiting in the JS backlog. */
  get backlogged(): number {
    return this.#backlogLen;
  }
  get hasBacklog(): boolean {
    return this.#backlogHead < this.#backlog.length;
  }
  /** Requests JS holds that the kernel has not seen: unsubmitted SQEs and the backlog. */
  get queued(): number {
    return this.#toSubmit + this.#backlogLen;
  }

  /** One request (or ringflow's own) in flight has posted its last CQE (`count` of them: bulk completions reaped natively). */
  retire(count = 1): void {
    this.#inflight -= count;
  }

  /** Has the kernel CQEs it could not post (CQ full) in its overflow list? (IORING_FEAT_NODROP) */
  cqOverflowed(): boolean {
    return (this.#sq32[this.#flagsW] & SqRingFlags.CQ_OVERFLOW) !== 0;
  }

  /**
   * On an engine ring the engine appends programs' SQEs itself (on its own loop turns, between
   * JS's submits), so JS's idea of the tail is stale whenever it holds no unsubmitted SQE: take the
   * published one before writing. (While JS holds some, the engine appends nothing: markPending.)
   */
  syncTail(): void {
    if (this.#engine && this.#toSubmit === 0) this.#jsTail[0] = this.#tail = this.#sq32[this.#tailW];
  }

  #free(): number {
    this.syncTail();
    return this.#entries - ((this.#tail - this.#sq32[this.#headW]) >>> 0);
  }

  /** A group of `n` does not fit while the backlog is empty, and handing what is queued to the kernel would make room. */
  needsRoom(n: number): boolean {
    return this.#backlogHead >= this.#backlog.length && this.#free() < n && this.#toSubmit > 0;
  }

  /** Writes a group into the SQ, or queues it behind the backlog (whose order it keeps) when it does not fit now. */
  add(group: Pending[]): void {
    if (this.#backlogHead < this.#backlog.length || !this.#place(group)) {
      this.#backlog.push(group);
      this.#backlogLen += group.length;
      this.#stats.backlogged += group.length;
    }
  }

  /** Writes one request into the SQ if it fits now and nothing waits in the backlog; false otherwise (then use add()). */
  addOne(p: Pending): boolean {
    if (this.#backlogHead < this.#backlog.length || !this.#takeRoom()) return false;
    this.#writeLone(p);
    return true;
  }

  /** Writes lone request `p` at the tail (room taken): it gets its slot, and links into nothing (see #place). */
  #writeLone(p: Pending): void {
    if (this.#openLink >= 0) this.#closeLink();
    this.#requests.add(p);
    const w = (this.#tail & this.#mask) * this.#sqeWords;
    const sqe = p.sqe;
    sqe.encode(this.#sqe32, w, p.slot, p.gen);
    if (sqe.opcode === CLOSE_CODE) disownIfCloses(sqe);
    if (sqe.flags & LINKS) this.#sqe32[w] &= ~LINK_BITS;
    if (this.#sqe128) sqe.encodeTail(this.#sqe32, w);
    this.#jsTail[0] = this.#tail = (this.#tail + 1) >>> 0;
    this.#toSubmit++;
    this.#engine?.markPending();
  }

  /** Writes a group into the SQ if it fits (SQ space and the in-flight limit); false otherwise. */
  #place(group: Pending[]): boolean {
    const n = group.length;
    if (this.#free() < n) return false;
    // a lone request acting on requests in flight (OpDesc.namesRequest) that waited behind the one it
    // names goes past the limit, as those that need not wait do (ring.ts #start): it may be what ends them
    const names = n === 1 && group[0].sqe.op.namesRequest === true;
    if (!names && this.#inflight + this.#toSubmit + n > this.#maxInflight && this.#inflight + this.#toSubmit > 0) return false;
    this.#room = 0;
    if (this.#openLink >= 0) this.#closeLink();
    const sqe32 = this.#sqe32;
    for (let i = 0; i < n; i++) {
      const p = group[i];
      this.#requests.add(p);
      const w = (this.#tail & this.#mask) * this.#sqeWords;
      const sqe = p.sqe;
      sqe.encode(sqe32, w, p.slot, p.gen);
      // the group's own links (ring.chain/link give them per request, leaving the caller's Sqe as
      // it was); none out of its last request: groups share a submission, and a link from one
      // into the next would tie unrelated requests together (a failure cancelling someone else's)
      const links = p.extra === undefined ? 0 : p.extra.linkFlags;
      if (sqe.opcode === CLOSE_CODE) disownIfCloses(sqe);
      if (links !== 0) sqe32[w] |= links << 8;
      if (i === n - 1 && (sqe.flags | links) & LINKS) sqe32[w] &= ~LINK_BITS;
      if (this.#sqe128) sqe.encodeTail(sqe32, w);
      this.#tail = (this.#tail + 1) >>> 0;
    }
    this.#jsTail[0] = this.#tail;
    this.#toSubmit += n;
    this.#engine?.markPending(); // the engine must not append behind SQEs JS has not handed over
    return true;
  }

  /**
   * Writes one SQE with the given user_data words if it fits now (SQ space and the in-flight
   * limit); false otherwise. For requests without a Pending (bulk requests, src/ring/bulk.ts).
   */
  placeTagged(sqe: Sqe, userLo: number, userHi: number): boolean {
    this.checkEntry(sqe, 'bulk.push()');
    if (!this.#takeRoom()) return false;
    const w = (this.#tail & this.#mask) * this.#sqeWords;
    sqe.encode(this.#sqe32, w, userLo, userHi);
    if (sqe.opcode === CLOSE_CODE) disownIfCloses(sqe);
    if (this.#sqe128) sqe.encodeTail(this.#sqe32, w);
    this.#openLink = sqe.flags & LINKS ? w : -1;
    this.#jsTail[0] = this.#tail = (this.#tail + 1) >>> 0;
    this.#toSubmit++;
    this.#engine?.markPending();
    return true;
  }

  /** Ends the bulk chain at the last SQE written (its link bits cleared): what comes next is not its. */
  #closeLink(): void {
    this.#sqe32[this.#openLink] &= ~LINK_BITS;
    this.#openLink = -1;
  }

  /**
   * Takes one entry of room for a lone SQE: a free SQ entry and the in-flight limit (which a lone
   * request may pass when nothing is in flight); false when there is none now. Looks at the
   * kernel's head only when the room counted last time is used up.
   */
  #takeRoom(): boolean {
    if (this.#room < 1 || this.#engine) {
      const used = this.#inflight + this.#toSubmit;
      this.#room = Math.min(this.#free(), used === 0 ? Math.max(1, this.#maxInflight) : this.#maxInflight - used);
      if (this.#room < 1) return false;
    }
    this.#room--;
    return true;
  }

  /** Writes a ringflow-internal request (no promise; its CQE is counted and dropped) at the tail. */
  addInternal(sqe: Sqe): void {
    this.syncTail();
    this.#room = 0;
    if (this.#openLink >= 0) this.#closeLink();
    const w = (this.#tail & this.#mask) * this.#sqeWords;
    sqe.encode(this.#sqe32, w, 0, INTERNAL_TAG);
    if (sqe.opcode === CLOSE_CODE) disownIfCloses(sqe);
    if (this.#sqe128) sqe.encodeTail(this.#sqe32, w);
    this.#jsTail[0] = this.#tail = (this.#tail + 1) >>> 0;
    this.#toSubmit++;
  }

  /** Has room appeared for an internal request? (false: flush first) */
  hasRoom(): boolean {
    return this.#free() >= 1;
  }

  /**
   * Publishes the tail and enters the kernel once for every SQE written: the number it consumed,
   * now in flight, or -errno (nothing consumed; the SQEs stay written). Under SQPOLL what is
   * published is the poller's whatever the enter that wakes it says: in flight, also on -errno.
   */
  enter(): number {
    let r = binding.ringSubmit(this.#handle, this.#tail, this.#toSubmit, 0, 0) as number;
    this.#stats.enterCalls++;
    if (r < 0 && !this.#sqpoll) return r;
    const err = r;
    if (r < 0) r = this.#toSubmit;
    this.#toSubmit -= r;
    if (this.#toSubmit === 0) this.#openLink = -1; // (a link does not reach past the submission it ends)
    this.#inflight += r;
    this.#stats.sqesSubmitted += r;
    // programs' requests were added (and the engine, holding back an unlinked program request,
    // moved JS's SQEs down a slot: the copies past its tail are stale, never to be read as JS's)
    this.syncTail();
    return err < 0 ? err : r;
  }

  /** Moves backlogged groups into the SQ, in order, while they fit; true if any moved. */
  moveBacklog(): boolean {
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
    return moved;
  }

  /**
   * Takes back the SQEs the kernel has not consumed (a failed submission, or close): rewinds the
   * tail over them and returns, for each, its user_data (slot, generation) and, when it is the
   * close(2) of a process fd, that fd as written in the SQE (else -1), for the caller to settle.
   * Without SQPOLL nothing consumes between enters, so that is everything past the kernel's head;
   * under SQPOLL the poller may be consuming what was published (counted in flight already), so it
   * is only what was never published.
   */
  takeBackUnsubmitted(): [slot: number, gen: number, closeFd: number][] {
    const from = this.#sqpoll ? this.#sq32[this.#tailW] : this.#sq32[this.#headW];
    const unconsumed = (this.#tail - from) >>> 0;
    this.#jsTail[0] = this.#tail = from;
    this.#toSubmit = 0;
    this.#openLink = -1;
    const taken: [number, number, number][] = [];
    for (let i = 0; i < unconsumed; i++) {
      // the rewound SQEs' user_data, read back from the SQE memory: slot and generation (an
      // internal request's tag names no request, and must not fail the one holding its slot)
      const w = ((from + i) & this.#mask) * this.#sqeWords;
      taken.push([this.#sqe32[w + 8], this.#sqe32[w + 9], processFdClosedBy(this.#sqe32, w)]);
    }
    return taken;
  }

  /** Removes a request from the backlog (cancelled before it was submitted); false if it is not there. */
  dropBacklogged(p: Pending): boolean {
    for (let i = this.#backlogHead; i < this.#backlog.length; i++) {
      const g = this.#backlog[i];
      const idx = g.indexOf(p);
      if (idx >= 0) {
        g.splice(idx, 1);
        this.#backlogLen--;
        return true;
      }
    }
    return false;
  }

  /**
   * Takes out of the backlog up to `max` requests `match` picks, oldest first, each with the rest
   * of its group after it (a chain's later steps, which the kernel would cancel with it); returns
   * what it took and how many `match` picked.
   */
  takeBacklogged(match: (p: Pending) => boolean, max: number): { taken: Pending[]; matched: number } {
    const taken: Pending[] = [];
    let matched = 0;
    for (let i = this.#backlogHead; i < this.#backlog.length && matched < max; i++) {
      const g = this.#backlog[i];
      const k = g.findIndex(match);
      if (k < 0) continue;
      const rest = g.splice(k);
      for (const p of rest) if (match(p)) matched++;
      taken.push(...rest);
      this.#backlogLen -= rest.length;
    }
    return { taken, matched };
  }

  /** Is a request `match` picks waiting in the backlog? */
  someBacklogged(match: (p: Pending) => boolean): boolean {
    for (let i = this.#backlogHead; i < this.#backlog.length; i++) if (this.#backlog[i].some(match)) return true;
    return false;
  }

  /**
   * Writes `p` at the tail now, ahead of the backlog and past the in-flight limit (the caller made
   * sure the SQ has an entry free): for a cancel, which must not wait behind the requests it
   * cancels for room only it would make.
   */
  addNow(p: Pending): void {
    this.syncTail();
    this.#room = 0;
    this.#writeLone(p);
  }

  /** Empties the backlog (close): `each` gets every request in it, in order, those added meanwhile too. */
  clearBacklog(each: (p: Pending) => void): void {
    for (let i = this.#backlogHead; i < this.#backlog.length; i++) for (const p of this.#backlog[i]) each(p);
    this.#backlog.length = 0;
    this.#backlogHead = 0;
    this.#backlogLen = 0;
  }
}

/**
 * autoSubmit: the requests queued before the flush go to the kernel in one enter. The flush is
 * scheduled by the first of them, as one of two kinds of job:
 * - process.nextTick, in general: it runs once the microtask queue is empty, after every
 *   continuation that can run has run, however many awaits deep, so what they all queue goes in
 *   one enter (and code that only awaits, a consumer of an iterator, runs before the next batch).
 * - A microtask, when the ring has nothing in flight and is not delivering completions: the
 *   latency case, a loop of `await ring.read()` whose request completes inline (a cached read).
 *   Its flush, the completion and the awaiting code's next request then follow each other inside
 *   one run of V8's microtask loop instead of a round through Node's tick queue per request
 *   (+18 % at QD 1, docs/benchmarks.md). Continuations a batch of completions resumed are queued
 *   before the flush, so their requests still share it.
 * Requests that complete inline resolve inside the flush, and a loop of `await ring.op()` would
 * otherwise chain flushes forever without letting timers, I/O or the tick queue run: each flush
 * charges the turn's budget (src/ring/jobs.ts, TurnBudget), and once it is spent the next flush
 * waits for the check phase.
 */
const RESOLVED = Promise.resolve();
export class FlushSchedule {
  readonly #flush: () => void;
  /** The ring has requests in flight or is delivering completions (then the flush waits for the tick). */
  readonly #busy: () => boolean;
  #scheduled = false;
  /** Flushes in this turn of the event loop; spent: the next one waits for the check phase. */
  readonly #turn = new TurnBudget();
  #tick = () => {
    this.#scheduled = false;
    this.#turn.charge();
    this.#flush();
  };
  /**
   * #tick as a promise reaction: V8 queues it without a call into Node (queueMicrotask makes an
   * AsyncResource and a bound function per call: 32-42 ns on Node 24, 110-130 ns on Node 22, against
   * 24 and 40). What the flush throws (a sink's or callback's exception) is thrown again from a
   * microtask: an uncaught exception, as it was, not an unhandled rejection.
   */
  #reaction = (): void => {
    try {
      this.#tick();
    } catch (e) {
      throwLater(e);
    }
  };

  constructor(flush: () => void, busy: () => boolean) {
    this.#flush = flush;
    this.#busy = busy;
  }

  /**
   * Flushes once soon, however many requests are queued before then (only the first asks which
   * kind of job: the rest pay one test). `withNext`: at the end of the tick even on an idle ring.
   */
  schedule(withNext = false): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (this.#turn.spent) immediate(this.#tick);
    else if (withNext || this.#busy()) nextTick(this.#tick);
    else RESOLVED.then(this.#reaction);
  }
}

/** An IORING_OP_ASYNC_CANCEL naming request (slot, gen) by its user_data, with IORING_ASYNC_CANCEL_* `flags`. */
export function cancelSqe(slot: number, gen: number, flags: number): Sqe {
  const s = buildSqe(OP_ASYNC_CANCEL, [0]);
  s.addrLo = slot;
  s.addrHi = gen;
  s.opFlags = flags;
  return s;
}
