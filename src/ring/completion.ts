/**
 * The completion side of a Ring: reads CQEs from the mapped CQ (once the program engine runs,
 * from the engine's CQ 0 for JS instead) and hands each to what waits for it: a request's promise
 * or multi-CQE sink (src/ring/multi.ts), the CQE_SKIP_SUCCESS members of its chain, ringflow's own
 * cancels, resource tags (registered buffers), and a copy to the CQ a request's `cq` option names.
 * The Ring decides when to reap (src/ring/ring.ts).
 */
import { binding } from '../native.js';
import { RingError, errno as errnoOf } from '../errors.js';
import { CqeFlags, SqeFlags, EnterFlags, SetupFlags } from './abi.js';
import type { ringOffsets } from './setup.js';
import { CQ_HEADER } from './cq.js';
import { deliver, type Pending, type RequestTable } from './requests.js';
import type { AbortWatch } from './aborts.js';
import type { ProgramEngine } from './programs.js';
import type { SubmissionQueue } from './submission.js';
import type { RingStats } from './introspection.js';
import { INTERNAL_TAG } from './submission.js';
import { MESSAGE_TAG } from '../ops/msg-ring-abi.js';
import { MessageInbox } from './message-inbox.js';
import { throwLater } from './jobs.js';

const ECANCELED = errnoOf('ECANCELED');

/** user_data high word of resource tags (registered buffers' tags, src/ring/registered-buffers.ts):
 *  the CQE the kernel posts when it lets go of a tagged resource. Request generations are 31-bit. */
export const RESOURCE_TAG = 0xfffffffe;

/** user_data high word of bulk requests (src/ring/bulk.ts); the low word names the bulk slot and its generation. */
export const BULK_TAG = 0xfffffffc;

/** Where bulk requests' CQEs go (the ring's BulkQueue). */
export interface BulkHandler {
  /** A CQE for bulk slot word `low`; `extra`: big_cqe[0..1] as four u32 words (32-byte CQEs), else undefined. */
  complete(low: number, res: number, flags: number, extra: Uint32Array | undefined): void;
  /** Reaps the run of bulk CQEs at the CQ's head natively: CQEs consumed, or -errno (then deliver them here one by one). */
  reapNative(handle: unknown): number;
  /** The ring is gone: no CQE comes any more. */
  ringClosed(): void;
  /** An SQE of slot word `low` the kernel did not consume (a failed io_uring_enter): it ends with `res`. */
  failUnsubmitted(low: number, res: number): void;
}

/** Who hears of resource-tag CQEs, and of the ring's end (after which none comes). */
export interface ResourceTagHandler {
  tag(low: number, res: number): void;
  closed(): void;
  /** Tags the kernel still owes for resources JS let go of: while any, the ring stays busy (its
   *  loop reference, like a request in flight), or a `released` promise could outlive the loop. */
  readonly owed: number;
}

/** The SQE flags `q` was submitted with: its Sqe's, and the links its group gave it (ring.chain/link). */
const submittedFlags = (q: Pending): number => q.sqe.flags | (q.extra?.linkFlags ?? 0);
/** Is `q` linked to the request after it (IOSQE_IO_LINK or IO_HARDLINK)? */
const linkedOn = (q: Pending): boolean => (submittedFlags(q) & (SqeFlags.IO_LINK | SqeFlags.IO_HARDLINK)) !== 0;

export class CompletionDispatch {
  readonly #handle: unknown;
  readonly #sq: SubmissionQueue;
  readonly #requests: RequestTable;
  readonly #aborts: AbortWatch;
  /** The ring's counters: this side adds cqesReaped. */
  readonly #stats: RingStats;
  #cq32: Uint32Array;
  #cqI32: Int32Array;
  #headW: number;
  #tailW: number;
  #mask: number;
  #cqesW: number;
  /** CQE size as a shift of 32-bit words: 2 (16 bytes; CQE_MIXED slots too) or 3 (CQE32). */
  #cqeShift: number;
  /** 0: 16-byte CQEs only; CQE32: every CQE is 32 bytes; CQE_MIXED: F_32 entries take two slots, F_SKIP ones are padding. */
  #bigCqes: number;
  /** big_cqe[0..1] of the CQE being delivered (copied before its slot is released). */
  #extra = new Uint32Array(4);
  #engine: ProgramEngine | undefined;
  #resourceTags: ResourceTagHandler | undefined;
  #bulk: BulkHandler | undefined;
  /** Messages from other rings (user_data high word MESSAGE_TAG), made at the first one or the first subscription. */
  #inbox: MessageInbox | undefined;
  /** A reap is running: nested reaps (from user code it calls) leave the CQ to it. */
  #reaping = false;
  /** The ring is gone: the CQ's memory is not touched again. */
  #ended = false;
  /** The ring is closing: a cancelled request fails with RingClosedError. */
  #closing = false;

  constructor(
    handle: unknown,
    cqRing: ArrayBuffer,
    off: ReturnType<typeof ringOffsets>,
    sq: SubmissionQueue,
    requests: RequestTable,
    aborts: AbortWatch,
    stats: RingStats,
    setupFlags = 0,
  ) {
    this.#handle = handle;
    this.#sq = sq;
    this.#requests = requests;
    this.#aborts = aborts;
    this.#stats = stats;
    this.#cq32 = new Uint32Array(cqRing);
    this.#cqI32 = new Int32Array(cqRing);
    this.#headW = off.cqHead >> 2;
    this.#tailW = off.cqTail >> 2;
    this.#mask = this.#cq32[off.cqMask >> 2];
    this.#cqesW = off.cqes >> 2;
    this.#bigCqes = setupFlags & (SetupFlags.CQE32 | SetupFlags.CQE_MIXED);
    this.#cqeShift = setupFlags & SetupFlags.CQE32 ? 3 : 2;
  }

  /** Reads JS's completions from the engine's CQ 0 from now on (reap everything first). */
  useEngine(e: ProgramEngine): void {
    this.#cq32 = new Uint32Array(e.cq0);
    this.#cqI32 = new Int32Array(e.cq0);
    this.#headW = 0;
    this.#tailW = 1;
    this.#mask = e.cq0Size - 1;
    this.#cqesW = CQ_HEADER >> 2;
    this.#engine = e;
  }

  /** Routes CQEs whose user_data high word is RESOURCE_TAG to `handler` (one per ring). */
  setResourceTags(handler: ResourceTagHandler): void {
    this.#resourceTags = handler;
  }
  /** Routes CQEs whose user_data high word is BULK_TAG to `handler` (one per ring). */
  setBulk(handler: BulkHandler): void {
    this.#bulk = handler;
  }
  /** A bulk SQE the kernel did not consume ends with the submission's error. */
  failBulk(low: number, res: number): void {
    this.#bulk?.failUnsubmitted(low, res);
  }
  /** Resource tags the kernel still owes (see ResourceTagHandler.owed). */
  get tagsOwed(): number {
    return this.#resourceTags?.owed ?? 0;
  }

  /** The ring's message inbox (src/ring/message-inbox.ts). */
  get inbox(): MessageInbox {
    const box = (this.#inbox ??= new MessageInbox());
    if (this.#closing) box.end();
    return box;
  }

  /** Keeps the ring busy besides its requests: resource tags owed, or a message subscription open. */
  get keepsBusy(): boolean {
    return (this.#resourceTags?.owed ?? 0) > 0 || this.#inbox?.listening === true;
  }

  get reaping(): boolean {
    return this.#reaping;
  }

  /** The ring began closing (cancelled requests read as closed ones). */
  closing(): void {
    this.#closing = true;
    this.#inbox?.end(); // no message is delivered once close() began
  }

  /** The ring is destroyed: no CQ reads from now on. */
  end(): void {
    this.#ended = true;
  }

  /** The ring's fds are closed: the resource-tag handler hears that no tag will come. */
  closed(): void {
    this.#resourceTags?.closed();
    this.#bulk?.ringClosed();
  }

  /**
   * Consumes every CQE in the CQ; false if it did not run (a reap is running already, or the ring
   * is gone). Each CQE is taken off the CQ (head published) before it is delivered, so the user
   * code a delivery reaches (onCompletion) may call any method: a reap nested in it returns at
   * once and this one goes on with what is left; after a close() from there, the CQ's memory is
   * not touched again.
   */
  reap(): boolean {
    if (this.#reaping || this.#ended) return false;
    this.#reaping = true;
    let n = 0;
    try {
      // a run of bulk CQEs is reaped in C (native/bulk.c) on a plain ring with 16-byte CQEs
      let nativeBulk = this.#bulk !== undefined && !this.#engine && this.#bigCqes === 0;
      for (;;) {
        const cq32 = this.#cq32;
        let head = cq32[this.#headW];
        let tail = cq32[this.#tailW];
        if (head === tail && !this.#engine) break;
        while (head !== tail) {
          const w = this.#cqesW + ((head & this.#mask) << this.#cqeShift);
          const lo = cq32[w];
          const hi = cq32[w + 1];
          if (nativeBulk && hi === BULK_TAG) {
            const k = this.#bulk!.reapNative(this.#handle);
            if (k > 0) {
              n += k;
              if (this.#ended) break;
              head = cq32[this.#headW]; // the native reap moved the head (and may have read a newer tail)
              tail = cq32[this.#tailW];
              continue;
            }
            nativeBulk = false; // it does not apply here (or stopped at a state it refused): the JS path,
            head = cq32[this.#headW]; // from wherever the native reap left the head
            tail = cq32[this.#tailW];
            continue;
          }
          const res = this.#cqI32[w + 2];
          const flags = cq32[w + 3];
          let big = false;
          let step = 1;
          let skip = false;
          if (this.#bigCqes !== 0) {
            // CQE32: every CQE carries big_cqe[2]. CQE_MIXED: an F_32 CQE takes two slots; an F_SKIP
            // one is padding the kernel posts at the end of the CQ so that no 32-byte CQE wraps.
            big = this.#bigCqes === SetupFlags.CQE32 || (flags & CqeFlags.F_32) !== 0;
            if (big) this.#extra.set(cq32.subarray(w + 4, w + 8)); // before the slot is released
            if (this.#bigCqes === SetupFlags.CQE_MIXED) {
              if (big) step = 2;
              else skip = (flags & CqeFlags.SKIP) !== 0;
            }
          }
          head = (head + step) >>> 0;
          cq32[this.#headW] = head;
          if (skip) continue;
          n++;
          try {
            this.#complete(lo, hi, res, flags, big);
          } catch (e) {
            // user code a delivery reached (a runMulti sink) threw: an uncaught exception later, and
            // the CQEs behind this one are still delivered now (no wakeup would come for them)
            throwLater(e);
          }
          if (this.#ended) break;
        }
        if (this.#ended) break;
        // CQEs the kernel could not post (CQ full) wait in its overflow list (IORING_FEAT_NODROP):
        // an enter with GETEVENTS flushes them into the CQ; go round again. (The engine does this itself.)
        if (this.#engine) {
          // the programs' CQ 0 goes to onCompletion (each CQE taken off before the handler runs;
          // requests the handler makes are reaped by this loop, a nested reap returns at once)
          const delivered = this.#engine.onCompletion ? this.#engine.deliverProgramCq0() : 0;
          if (this.#ended) break;
          if (!this.#engine.pass() && delivered === 0) break;
        } else if (this.#sq.cqOverflowed()) binding.ringEnter(this.#handle, 0, 0, EnterFlags.GETEVENTS);
      }
    } finally {
      this.#reaping = false;
    }
    this.#stats.cqesReaped += n;
    return true;
  }

  #complete(slot: number, gen: number, res: number, flags: number, big: boolean): void {
    if (gen > 0x7fffffff) {
      if (gen === BULK_TAG) {
        if (this.#bulk) this.#bulk.complete(slot, res, flags, big ? this.#extra : undefined); // retires its request (unless F_MORE)
      } else if (gen === INTERNAL_TAG) this.#sq.retire(); // our own cancel requests
      else if (gen === RESOURCE_TAG) this.#resourceTags?.tag(slot, res); // not a request: not in flight
      else if (gen === MESSAGE_TAG) this.inbox.receive(slot, res, flags); // another ring's message: not a request
      return;
    }
    const p = this.#requests.get(slot, gen);
    // JS's CQ 0 holds only completions the kernel produced for JS's requests (programs' CQEs go
    // to the programs' CQ 0, read by onCompletion); one no request waits for is stale
    if (!p) return;
    const sqe = p.sqe;
    const x = p.extra;
    if (x !== undefined && x.big !== undefined) this.#takeExtras(x.big, big);
    if (sqe.cq >= 0) this.#engine!.post(sqe.cq, sqe.cqUserData, res, flags); // its `cq` option
    const multi = p.multi;
    if (flags & CqeFlags.MORE) {
      // the request goes on (multishot, zero-copy before its notification): it keeps its slot and
      // memory; a single-shot owner waits for the end (a raw multishot SQE through run())
      multi?.more(res, flags);
      return;
    }
    this.#sq.retire();
    if (p.chain) this.#chainProgress(p, res);
    this.#requests.release(p);
    this.#aborts.unwatch(p);
    if (multi) multi.end(res, flags);
    else deliver(p, sqe, res, flags, this.#closing);
  }

  /** ring.runBig(): the CQE's big_cqe[0..1] (0 for a 16-byte CQE of a mixed CQ) onto its request. */
  #takeExtras(into: { extra1: bigint; extra2: bigint }, big: boolean): void {
    const x = this.#extra;
    into.extra1 = big ? (BigInt(x[1]) << 32n) | BigInt(x[0]) : 0n;
    into.extra2 = big ? (BigInt(x[3]) << 32n) | BigInt(x[2]) : 0n;
  }

  /** Frees the slot and drops references, then runs `then` (resolve/reject). */
  settle(p: Pending, then: () => void): void {
    this.#requests.release(p);
    this.#aborts.unwatch(p);
    then();
  }

  /** CQE_SKIP_SUCCESS members get no CQE on success: settle them from their neighbours' CQEs. */
  #chainProgress(p: Pending, res: number): void {
    const chain = p.chain!;
    const k = chain.indexOf(p);
    // p's CQE says the members linked all the way to it started and ended before it: those with
    // CQE_SKIP_SUCCESS still waiting succeeded. Not the one a link timeout guards (the member
    // before it): its CQE comes first when it fires, that member's own CQE after. Nothing before a
    // member that is not linked to the next one (an unlinked group runs in no order).
    const upTo = p.sqe.op.result === 'linkTimer' ? k - 1 : k;
    let from = upTo;
    while (from > 0 && linkedOn(chain[from - 1])) from--;
    for (let j = from; j < upTo; j++) {
      const q = chain[j];
      if (this.#requests.holds(q) && q.sqe.flags & SqeFlags.CQE_SKIP_SUCCESS) {
        this.#sq.retire();
        this.settle(q, () => q.resolve(undefined));
      }
    }
    // the kernel fails the link on an error (and on a short transfer where a length was asked),
    // except for ops whose errors leave their link alone (the table's errorKeepsLink)
    const failed = p.sqe.op.errorKeepsLink ? false : res < 0 || (p.sqe.expect >= 0 && res !== p.sqe.expect);
    const hard = (submittedFlags(p) & SqeFlags.IO_HARDLINK) !== 0;
    if (failed && !hard && p.sqe.flags & SqeFlags.CQE_SKIP_SUCCESS) {
      // the kernel suppresses the CQEs of the rest of the chain, but for p's own link timeout,
      // which it completes apart (-ETIME when it fired, -ECANCELED disarmed; after p's CQE on 6.1)
      for (let j = k + 1; j < chain.length; j++) {
        const q = chain[j];
        if (j === k + 1 && q.sqe.op.result === 'linkTimer') continue;
        if (this.#requests.holds(q)) {
          this.#sq.retire();
          this.settle(q, () => q.reject(new RingError(-ECANCELED, 'io_uring_enter', { op: q.sqe.op.name })));
        }
      }
    }
  }
}
