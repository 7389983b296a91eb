/**
 * Completions in bulk: for throughput over convenience. A BulkQueue writes SQEs straight into the
 * ring with a 32-bit tag of the caller's, and gathers their completions (tag, res, flags) into
 * typed arrays the caller reads in batches: no promise, no closure and no object per request; one
 * promise per wait.
 *
 *   const bulk = ring.bulk({ depth: 4096 });
 *   const nop = op.nop();                       // an Sqe can be pushed any number of times
 *   for (let i = 0; i < 256; i++) bulk.push(nop, i);
 *   bulk.submit();                              // one io_uring_enter
 *   await bulk.wait(256);                       // resolves once 256 completions are ready
 *   const out = new BulkCompletions(256);
 *   const n = bulk.take(out);                   // out.tag[i], out.res[i], out.flags[i] for i < n
 *
 * Ownership: each pushed request holds a slot of the queue (its tag, and the memory its Sqe keeps:
 * buffers, paths) from push() to its CQE; the CQE frees the slot and puts (tag, res, flags) in the
 * ready list, which take() empties. The user_data is BULK_TAG over the slot and a generation, so a
 * bulk CQE never settles a promise request and a stale one (a slot reused) is dropped. `depth`
 * bounds requests in flight plus completions not yet taken: push() returns false when it is
 * reached (take() or wait first), or when the SQ is full (submit first). Requests that post more
 * than one CQE (multishot, zero-copy) and CQE_SKIP_SUCCESS (no CQE) are refused: their ends are
 * the promise and multi-CQE models' (ring.run, ring.runMulti).
 */
import { RingClosedError, errno as errnoOf, describeValue } from '../errors.js';
import { Sqe } from '../ops/sqe.js';
import { opByCode } from '../ops/table.js';
import { SqeFlags, CqeFlags } from './abi.js';
import type { BulkHandler } from './completion.js';
import { BULK_TAG } from './completion.js';
import { Ring, ringInternals } from './ring.js';
import { binding } from '../native.js';
import { BulkWord, bulkState, type BulkState } from './bulk-state.js';
import { TurnBudget } from './jobs.js';

const ECANCELED = errnoOf('ECANCELED');
const { FREE_TOP, READY_HEAD, READY, INFLIGHT, FINISHED } = BulkWord;

/** What a BulkQueue reaches inside its ring (src/ring/ring.ts, RingInternals.bulkHooks). */
export interface BulkRingHooks {
  /** The ring's submission queue: placeTagged() writes an SQE with given user_data words if it fits now. */
  readonly sq: { placeTagged(sqe: Sqe, lo: number, hi: number): boolean; retire(count?: number): void };
  /** Enters the kernel for everything written; returns SQEs submitted. */
  submit(): number;
  /** Reaps the CQ now (completions the kernel posted inline). */
  reap(): void;
  /** Re-evaluates the ring's event-loop reference. */
  updateRef(): void;
  /** The ring has 32-byte CQEs (CQE32 or CQE_MIXED): completions carry big_cqe[0..1]. */
  readonly bigCqes: boolean;
}

/** Arrays a batch of completions is copied into (allocate once, reuse for every take()). */
export class BulkCompletions {
  readonly tag: Uint32Array;
  readonly res: Int32Array;
  readonly flags: Uint32Array;
  /**
   * With `{ extras: true }`: the two u64 extras of each 32-byte CQE (CQE32 / CQE_MIXED rings):
   * extras[2i] = big_cqe[0] (extra1), extras[2i + 1] = big_cqe[1] (extra2); 0 for a 16-byte CQE.
   */
  readonly extras: BigUint64Array | undefined;
  /** @internal the extras as u32 words (what take() copies: no BigInt per CQE). */
  readonly extraWords: Uint32Array | undefined;
  /** Completions in the arrays after the last take(). */
  count = 0;
  constructor(capacity: number, options: { extras?: boolean } = {}) {
    if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24)
      throw new RangeError(`new BulkCompletions(): "capacity" must be an integer in [1, 16777216], got ${describeValue(capacity)}`);
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`new BulkCompletions(): options must be an object, got ${describeValue(options)}`);
    for (const k of Object.keys(options)) if (k !== 'extras') throw new TypeError(`new BulkCompletions(): "${k}" is not an option; it accepts extras`);
    if (options.extras !== undefined && typeof options.extras !== 'boolean') throw new TypeError(`new BulkCompletions(): "extras" must be a boolean, got ${describeValue(options.extras)}`);
    this.tag = new Uint32Array(capacity);
    this.res = new Int32Array(capacity);
    this.flags = new Uint32Array(capacity);
    if (options.extras) {
      this.extras = new BigUint64Array(capacity * 2);
      this.extraWords = new Uint32Array(this.extras.buffer);
    }
  }
  get capacity(): number {
    return this.tag.length;
  }
}

export interface BulkOptions {
  /** Requests in flight plus completions not taken yet, at most (1..65536; default 4096). */
  depth?: number;
}

export class BulkQueue implements BulkHandler {
  readonly depth: number;
  readonly #ring: BulkRingHooks;
  readonly #sq: BulkRingHooks['sq'];
  /**
   * The queue's state: counters and per-slot arrays in one block of u32 words that the native
   * reap (native/bulk.c) reads and writes too (layout: src/ring/bulk-state.ts). Per slot: the
   * caller's tag, a 16-bit generation, whether it is in flight; the free-slot stack; the ready
   * list (completions not taken yet, a ring buffer of depth entries).
   */
  readonly #s: BulkState;
  readonly #st: Uint32Array;
  /** Per slot: the memory its Sqe keeps, from push() to the CQE (JS objects: not in the shared block). */
  readonly #slotKeep: (object[] | undefined)[];
  /** big_cqe[0..1] of each ready completion as four u32 words (32-byte CQE rings only). */
  readonly #readyExtra: Uint32Array | undefined;
  #waitMin = 0;
  #waitResolve: ((n: number) => void) | undefined;
  #waitReject: ((e: Error) => void) | undefined;
  #closed = false;
  /** Waits answered at once in this turn of the event loop (#readyNow). */
  readonly #turn = new TurnBudget();

  /** @internal made by ring.bulk() */
  constructor(ring: BulkRingHooks, options: BulkOptions = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`ring.bulk(): options must be an object, got ${describeValue(options)}`);
    for (const k of Object.keys(options)) if (k !== 'depth') throw new TypeError(`ring.bulk(): "${k}" is not an option; it accepts depth`);
    const depth = options.depth ?? 4096;
    if (typeof depth !== 'number' || !Number.isInteger(depth)) throw new TypeError(`ring.bulk(): "depth" must be an integer, got ${describeValue(depth)}`);
    if (depth < 1 || depth > 65536) throw new RangeError(`ring.bulk(): "depth" must be in [1, 65536], got ${depth}`);
    this.depth = depth;
    this.#ring = ring;
    this.#sq = ring.sq;
    this.#s = bulkState(depth);
    this.#st = this.#s.words;
    this.#slotKeep = new Array(depth).fill(undefined);
    if (ring.bigCqes) this.#readyExtra = new Uint32Array(depth * 4);
  }

  /** Requests pushed whose CQE has not arrived. */
  get inflight(): number {
    return this.#st[INFLIGHT];
  }
  /** Completions waiting for take(). */
  get ready(): number {
    return this.#st[READY];
  }
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes `sqe` into the ring with `tag` (u32, returned with its completion). False when the
   * queue's depth is used up (take completions) or the SQ is full (submit). The Sqe may be pushed
   * again (its memory is kept per push).
   */
  push(sqe: Sqe, tag: number): boolean {
    if (this.#closed) throw new RingClosedError();
    if (!(sqe instanceof Sqe)) throw new TypeError(`bulk.push(): "sqe" must be an Sqe built with op.*, got ${describeValue(sqe)}`);
    if ((tag >>> 0) !== tag) throw new TypeError(`bulk.push(): "tag" must be an integer in [0, 2^32 - 1], got ${describeValue(tag)}`);
    // by the opcode the kernel gets (a hand-built Sqe may have changed it), as files.beforeSubmit reads it
    let op = sqe.op;
    if (sqe.opcode !== op.code) op = opByCode(sqe.opcode) ?? op;
    // everything push() refuses, in one test on the hot path (refuse() says which)
    if (sqe.multishot || sqe.op.multiCqe || op.multiCqe || sqe.flags & SqeFlags.CQE_SKIP_SUCCESS || sqe.cq >= 0 || op.sqe?.slotEffect !== undefined) refuse(sqe, op);
    const st = this.#st;
    const freeTop = st[FREE_TOP];
    if (freeTop === 0 || st[INFLIGHT] + st[READY] >= this.depth) return false;
    const s = this.#s;
    const slot = s.free[freeTop - 1];
    if (!this.#sq.placeTagged(sqe, (s.slotGen[slot] << 16) | slot, BULK_TAG)) return false;
    st[FREE_TOP] = freeTop - 1;
    s.slotTag[slot] = tag;
    s.slotUsed[slot] = 1;
    const keep = sqe.keep;
    if (keep !== undefined) this.#slotKeep[slot] = keep; // (#finish clears it)
    st[INFLIGHT]++;
    return true;
  }

  /** Hands every SQE written to the kernel (one io_uring_enter; the ring's promise requests too). */
  submit(): number {
    if (this.#closed) throw new RingClosedError();
    const n = this.#ring.submit();
    this.#ring.updateRef();
    return n;
  }

  /** Copies up to out.capacity ready completions into `out` (oldest first); returns how many. */
  take(out: BulkCompletions): number {
    if (!(out instanceof BulkCompletions)) throw new TypeError(`bulk.take(): "out" must be a BulkCompletions, got ${describeValue(out)}`);
    const st = this.#st;
    if (!this.#closed && st[READY] < out.capacity) this.#ring.reap();
    const n = Math.min(st[READY], out.capacity);
    const d = this.depth;
    let h = st[READY_HEAD];
    const tag = out.tag, res = out.res, flags = out.flags;
    const s = this.#s;
    const readyTag = s.readyTag, readyRes = s.readyRes, readyFlags = s.readyFlags;
    const from = this.#readyExtra, to = out.extraWords;
    for (let i = 0; i < n; i++) {
      tag[i] = readyTag[h];
      res[i] = readyRes[h];
      flags[i] = readyFlags[h];
      if (to !== undefined) {
        if (from !== undefined) to.set(from.subarray(h * 4, h * 4 + 4), i * 4);
        else to.fill(0, i * 4, i * 4 + 4);
      }
      if (++h === d) h = 0;
    }
    st[READY_HEAD] = h;
    st[READY] -= n;
    out.count = n;
    return n;
  }

  /**
   * Resolves with the number of ready completions once at least `min` are ready (submitting what
   * was pushed first). One wait at a time. Rejects with RingClosedError if the ring closes first.
   */
  wait(min = 1): Promise<number> {
    if (this.#closed) return Promise.reject(new RingClosedError());
    if (typeof min !== 'number' || !Number.isInteger(min)) return Promise.reject(new TypeError(`bulk.wait(): "min" must be an integer, got ${describeValue(min)}`));
    if (min < 1 || min > this.depth) return Promise.reject(new RangeError(`bulk.wait(): "min" must be in [1, ${this.depth}] (the queue's depth), got ${min}`));
    if (this.#waitResolve) return Promise.reject(new TypeError('bulk.wait(): a wait is already pending; one at a time'));
    const st = this.#st;
    if (st[READY] >= min) return this.#readyNow();
    if (st[READY] + st[INFLIGHT] < min)
      return Promise.reject(new RangeError(`bulk.wait(${min}): only ${st[READY] + st[INFLIGHT]} requests were pushed and not taken; it would never resolve`));
    this.submit();
    if (st[READY] >= min) return this.#readyNow();
    return new Promise<number>((resolve, reject) => {
      this.#waitMin = min;
      this.#waitResolve = resolve;
      this.#waitReject = reject;
    });
  }

  /**
   * A wait whose completions are ready already (requests that completed inline) is answered now,
   * with the count ready now; but in a loop of push/submit/wait that never leaves the microtask
   * queue, once this turn of the event loop has run such answers for its budget (src/ring/jobs.ts),
   * the answer (that same count: a take() meanwhile does not undo it) comes in the check phase, so
   * that timers and I/O run, as an `await` of node's I/O would let them.
   */
  #readyNow(): Promise<number> {
    const n = this.#st[READY];
    if (!this.#turn.charge()) return Promise.resolve(n);
    return this.#turn.nextTurn().then(() => n);
  }

  /** @internal a CQE for slot word `low` (src/ring/completion.ts). */
  complete(low: number, res: number, flags: number, extra: Uint32Array | undefined): void {
    const slot = low & 0xffff;
    const gen = low >>> 16;
    const s = this.#s;
    if (slot >= this.depth || s.slotGen[slot] !== gen || s.slotUsed[slot] === 0) return; // stale: not this slot's request
    if (flags & CqeFlags.MORE) return; // refused at push; a hand-built SQE's extra CQEs are not this queue's
    this.#finish(slot, res, flags, extra);
    this.#sq.retire();
    this.#wake();
  }

  /**
   * @internal Reaps the run of bulk CQEs at the head of the CQ in C (native/bulk.c), the ring's
   * handle given by the completion dispatch: the CQEs consumed, or -errno when the native reap
   * does not apply (a program engine's CQ, 32-byte CQEs): then the JS path delivers them.
   */
  reapNative(handle: unknown): number {
    const k = binding.bulkReap(handle, this.#st, BULK_TAG) as number;
    const st = this.#st;
    const fin = st[FINISHED];
    if (fin > 0) {
      // the finished slots' memory is the kernel's no more
      const finished = this.#s.finished;
      for (let i = 0; i < fin; i++) this.#slotKeep[finished[i]] = undefined;
      st[FINISHED] = 0;
      this.#sq.retire(fin);
      this.#wake();
    }
    return k;
  }

  #finish(slot: number, res: number, flags: number, extra?: Uint32Array): void {
    const s = this.#s;
    const st = this.#st;
    s.slotGen[slot] = (s.slotGen[slot] + 1) & 0xffff;
    s.slotUsed[slot] = 0;
    this.#slotKeep[slot] = undefined;
    s.free[st[FREE_TOP]++] = slot;
    st[INFLIGHT]--;
    let t = st[READY_HEAD] + st[READY];
    if (t >= this.depth) t -= this.depth;
    s.readyTag[t] = s.slotTag[slot];
    s.readyRes[t] = res;
    s.readyFlags[t] = flags;
    const x = this.#readyExtra;
    if (x !== undefined) {
      if (extra !== undefined) x.set(extra, t * 4);
      else x.fill(0, t * 4, t * 4 + 4);
    }
    st[READY]++;
  }

  /** Resolves the pending wait once enough completions are ready. */
  #wake(): void {
    if (this.#waitResolve && this.#st[READY] >= this.#waitMin) {
      const r = this.#waitResolve;
      this.#waitResolve = this.#waitReject = undefined;
      r(this.#st[READY]);
    }
  }

  /** @internal SQEs the kernel did not consume (a failed io_uring_enter): they complete with its error. */
  failUnsubmitted(low: number, res: number): void {
    const slot = low & 0xffff;
    const s = this.#s;
    if (slot >= this.depth || s.slotGen[slot] !== low >>> 16 || s.slotUsed[slot] === 0) return;
    this.#finish(slot, res, 0);
    this.#wake();
  }

  /** @internal the ring is gone: what was in flight ended with it (-ECANCELED), the wait fails. */
  ringClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const used = this.#s.slotUsed;
    for (let slot = 0; slot < this.depth && this.#st[INFLIGHT] > 0; slot++) if (used[slot] !== 0) this.#finish(slot, -ECANCELED, 0);
    const reject = this.#waitReject;
    this.#waitResolve = this.#waitReject = undefined;
    reject?.(new RingClosedError());
  }
}

/** Throws what push() says of a request it cannot take; returns for one it can (a slot effect that does not apply). */
function refuse(sqe: Sqe, op: Sqe['op']): void {
  if (sqe.multishot || sqe.op.multiCqe || op.multiCqe) throw new TypeError(`bulk.push(): ${op.name} posts more than one CQE; use ring.runMulti()`);
  if (sqe.flags & SqeFlags.CQE_SKIP_SUCCESS) throw new RangeError('bulk.push(): skipSuccess() posts no CQE on success, so its slot would never come back');
  if (sqe.cq >= 0) throw new RangeError('bulk.push(): the "cq" option is for promise requests (ring.run)');
  const effect = op.sqe?.slotEffect;
  if ((effect === 'fileIndex' && sqe.fileIndex !== 0) || effect === 'update')
    throw new TypeError(`bulk.push(): this ${op.name} changes the registered file table, which ringflow tracks from its result; run it with ring.run()`);
}

declare module './ring.js' {
  interface Ring {
    /**
     * The ring's BulkQueue (made on the first call, with `options`): requests pushed with a tag,
     * completions read in batches into typed arrays, no promise per request.
     */
    bulk(options?: BulkOptions): BulkQueue;
  }
}

const queues = new WeakMap<Ring, BulkQueue>();
(Ring.prototype as unknown as { bulk: (this: Ring, options?: BulkOptions) => BulkQueue }).bulk = function (this: Ring, options?: BulkOptions): BulkQueue {
  const internals = ringInternals(this);
  internals.assertOpen();
  const existing = queues.get(this);
  if (existing) {
    if (options !== undefined) throw new TypeError("ring.bulk(): the ring's BulkQueue exists already; options apply only to the first call");
    return existing;
  }
  const q = new BulkQueue(internals.bulkHooks(), options);
  internals.setBulk(q);
  queues.set(this, q);
  return q;
};
