/**
 * The requests JS is waiting for: each gets a slot and a generation, which together are its
 * user_data (low word slot, high word generation), so a CQE finds its request in O(1) and a
 * stale or foreign CQE (a reused slot, a program's) is recognised by the generation.
 */
import type { Sqe } from '../ops/sqe.js';
import { SqeFlags } from './abi.js';
import { RingError, RingClosedError, errno as errnoOf } from '../errors.js';
import { abortError } from './aborts.js';
import { lackingFlags } from './kernel-probe.js';
import type { CqeSink } from './multi.js';

const ECANCELED = errnoOf('ECANCELED');
const EINTR = errnoOf('EINTR');
const ETIME = errnoOf('ETIME');
const EINVAL = errnoOf('EINVAL');
const EOPNOTSUPP = errnoOf('EOPNOTSUPP');
const ENFILE = errnoOf('ENFILE');
const ENXIO = errnoOf('ENXIO');

/** Per-request state from submission to its (last) CQE. */
export class Pending {
  sqe: Sqe;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  /** Members of the same submitted chain (for CQE_SKIP_SUCCESS bookkeeping). */
  chain: Pending[] | undefined;
  /** The owner of a request with more than one CQE (src/ring/multi.ts); its reject is multi.fail. */
  multi: CqeSink | undefined = undefined;
  slot = -1;
  gen = 0;
  /** What few requests carry besides (made only for them: one field on every request's path). */
  extra: PendingExtra | undefined;
  constructor(sqe: Sqe, resolve: (v: unknown) => void, reject: (e: unknown) => void) {
    this.sqe = sqe;
    this.resolve = resolve;
    this.reject = reject;
    this.signal = undefined;
    this.chain = undefined;
    const rs = sqe.ringState;
    this.extra = rs === undefined || (rs.resultHook === undefined && !rs.big) ? undefined : new PendingExtra(rs.resultHook, rs.big);
  }
}

/** A request's rarer state (Pending.extra). */
export class PendingExtra {
  /** What the file table does with a success of this request (its Sqe's resultHook when the request was made). */
  readonly hook: ((res: number, value: unknown) => void) | undefined;
  /** ring.runBig(): the CQE's big_cqe[0..1], stored by the completion before the request settles with its whole CQE. */
  readonly big: { extra1: bigint; extra2: bigint } | undefined;
  /** IOSQE_IO_LINK / IO_HARDLINK the request's group gives it (ring.chain/link), on top of its Sqe's flags, in the SQE only. */
  linkFlags = 0;
  constructor(hook: ((res: number, value: unknown) => void) | undefined, big: boolean) {
    this.hook = hook;
    this.big = big ? { extra1: 0n, extra2: 0n } : undefined;
  }
}

/** p's extra state, made if it has none. */
export const extraOf = (p: Pending): PendingExtra => (p.extra ??= new PendingExtra(undefined, false));

export class RequestTable {
  #slots: (Pending | undefined)[] = [];
  #gens: number[] = [];
  #free: number[] = [];

  /** Gives p a free slot and the slot's next generation (31 bits, so 0xffffffff stays free for internal tags). */
  add(p: Pending): void {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#slots.length;
      this.#slots.push(undefined);
      this.#gens.push(0);
    }
    const gen = (this.#gens[slot] + 1) & 0x7fffffff;
    this.#gens[slot] = gen;
    p.slot = slot;
    p.gen = gen;
    this.#slots[slot] = p;
  }

  /** The request a CQE's user_data names, or undefined (settled already, or not JS's). */
  get(slot: number, gen: number): Pending | undefined {
    const p = this.#slots[slot];
    return p && p.gen === gen ? p : undefined;
  }

  /** The request holding `slot` (whatever its generation). */
  at(slot: number): Pending | undefined {
    return this.#slots[slot];
  }

  /** Is p still waiting for its CQE? */
  holds(p: Pending): boolean {
    return p.slot >= 0 && this.#slots[p.slot] === p;
  }

  /** Frees p's slot if it still holds it. */
  release(p: Pending): void {
    if (this.holds(p)) {
      this.#slots[p.slot] = undefined;
      this.#free.push(p.slot);
    }
  }

  /** The user_data of every waiting request `match` picks (submitted or queued), oldest slot first; at most `max`. */
  select(match: (p: Pending) => boolean, max: number): bigint[] {
    const out: bigint[] = [];
    for (const p of this.#slots) {
      if (out.length >= max) break;
      if (p !== undefined && match(p)) out.push((BigInt(p.gen) << 32n) | BigInt(p.slot));
    }
    return out;
  }

  /** Takes every waiting request out of the table (teardown). */
  drain(): Pending[] {
    const out = this.#slots.filter((p): p is Pending => p !== undefined);
    this.#slots = [];
    this.#gens = [];
    this.#free = [];
    return out;
  }
}

/** Why a request into a direct descriptor (a slot of the ring's file table) failed ENFILE / ENXIO. */
function directHint(res: number): string {
  return res === -ENFILE
    ? "no free slot in the ring's registered file table for { direct: 'auto' }: is one registered (ring.files.register()) and not full?"
    : "that slot is past the ring's registered file table, or the ring has none: register one (ring.files.register()) big enough";
}

/** Settles p from its CQE's result, as its op's table entry says (number, void, timer, parsed). */
export function deliver(p: Pending, sqe: Sqe, res: number, flags: number, closing: boolean): void {
  const opd = sqe.op;
  if (opd.result === 'timer' || opd.result === 'linkTimer') {
    // a timer firing is the expected outcome: resolve true (fired) / false (count reached or request finished first)
    if (res === -ETIME) return p.resolve(true);
    if (res === 0 || (opd.result === 'linkTimer' && res === -ECANCELED && !p.signal?.aborted)) return p.resolve(false);
  }
  if (res < 0) {
    if ((res === -ECANCELED || res === -EINTR) && p.signal?.aborted) return p.reject(abortError(p.signal));
    if (closing && res === -ECANCELED) return p.reject(new RingClosedError('ring closed while the request was in flight; it', true, new RingError(res, 'io_uring_enter', { op: opd.name })));
    // a slot is named by IOSQE_FIXED_FILE, or by file_index (CLOSE of a slot, a direct open)
    const slot = (sqe.flags & SqeFlags.FIXED_FILE) !== 0 || (sqe.fileIndex !== 0 && opd.sqe?.slotEffect === 'fileIndex');
    // a kernel refuses a flag it does not know with EINVAL (EOPNOTSUPP for RWF_*): say which, if so
    const lacking = res === -EINVAL || res === -EOPNOTSUPP ? lackingFlags(sqe) : undefined;
    const hint = (res === -ENFILE || res === -ENXIO) && sqe.fileIndex !== 0 && opd.sqe?.slotEffect === 'fileIndex' ? directHint(res) : undefined;
    return p.reject(new RingError(res, 'io_uring_enter', { op: opd.name, fixedFile: slot, ...(lacking?.length ? { lacking } : {}), ...(hint ? { hint } : {}) }));
  }
  const x = p.extra;
  if (x !== undefined && x.big !== undefined) return p.resolve({ res, flags, extra1: x.big.extra1, extra2: x.big.extra2 });
  const value = sqe.parse !== undefined ? sqe.parse(res, flags) : opd.result === 'void' ? undefined : res;
  if (x !== undefined && x.hook !== undefined) x.hook(res, value);
  p.resolve(value);
}
