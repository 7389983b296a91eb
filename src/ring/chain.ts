/**
 * Chains: requests submitted together, in order, in one io_uring_enter, so that the kernel's
 * IOSQE_IO_LINK / IOSQE_IO_HARDLINK chains hold (a chain never spans two submissions).
 *
 * - `ring.chain(sqes, { link, signal })` returns one promise per request (each settles as
 *   ring.run() would).
 * - `ring.link(sqes, { hard, signal })` links them and resolves once, with every step's outcome
 *   and the step that broke the chain and why: an error, a short read/write, its link timeout
 *   firing, or an abort (docs/chains.md has the kernel's rules this reads the CQEs by).
 *
 * Installed on Ring.prototype when the package entry loads (like src/ring/introspection.ts).
 */
import { Ring, ringInternals, type RunOptions } from './ring.js';
import { Pending, extraOf } from './requests.js';
import { abortError } from './aborts.js';
import { SqeFlags } from './abi.js';
import { Sqe } from '../ops/sqe.js';
import { RingError, RingClosedError, describeValue, errno as errnoOf } from '../errors.js';

const ECANCELED = errnoOf('ECANCELED');

/** Options of ring.chain(). */
export interface ChainOptions extends RunOptions {
  /** Link every request but the last (IOSQE_IO_LINK, in the SQEs written: the Sqe objects are not changed). */
  link?: boolean;
}

/** Options of ring.link(). */
export interface LinkOptions extends RunOptions {
  /** Hard links (IOSQE_IO_HARDLINK): the chain goes on past a step that failed or came short. */
  hard?: boolean;
}

/** What became of one step of a chain. */
export type StepOutcome<T = unknown> =
  /** It ran and succeeded: `value` is what its promise method resolves (undefined for a skipSuccess() step). */
  | { status: 'ok'; value: T }
  /** A read/write (or send/recv with MSG_WAITALL) transferred less than asked: the kernel counts this as a failure. */
  | { status: 'short'; value: number; expected: number }
  /** It ran and failed: the RingError (errno, op) its promise would reject with. */
  | { status: 'failed'; error: RingError }
  /** Its link timeout (the linkTimeout step right after it) fired and cancelled it: -ECANCELED, or -EINTR if it was running. */
  | { status: 'timedOut'; error: RingError }
  /** Aborted by the chain's signal while it was running (its CQE came, with -ECANCELED or -EINTR). */
  | { status: 'aborted'; error: Error }
  /** Never ran: an earlier step broke the chain, the chain was aborted before it started, or the ring closed. */
  | { status: 'cancelled'; error: Error };

/** Why a chain stopped early. */
export type BreakReason = 'error' | 'short' | 'timeout' | 'aborted' | 'closed';

/** The outcome of ring.link(): every step's, and where the chain broke. */
export interface ChainOutcome<T extends readonly unknown[] = unknown[]> {
  /** Every step succeeded (a link timeout that did not fire is a success). */
  readonly ok: boolean;
  /** One outcome per request, in submission order. */
  readonly steps: { -readonly [K in keyof T]: StepOutcome<T[K]> };
  /**
   * The step the chain broke at: the first that did not succeed and was soft-linked to what
   * follows (or was the last step). Steps after it that never ran are 'cancelled'. Undefined when
   * nothing broke the chain (every step succeeded, or only hard-linked steps failed).
   */
  readonly broken?: {
    readonly index: number;
    /** The op's table name ('read'). */
    readonly op: string;
    readonly reason: BreakReason;
    /** The error of a failed, timed-out or aborted step. */
    readonly error?: Error;
    /** A short step's result and the length asked for. */
    readonly value?: number;
    readonly expected?: number;
    /** With reason 'timeout': the index of the linkTimeout step that fired. */
    readonly timeoutIndex?: number;
  };
}

declare module './ring.js' {
  interface Ring {
    /**
     * Submits requests together, in order, in one io_uring_enter (so IOSQE_IO_LINK chains hold).
     * Returns one promise per request. With `link: true` every request but the last gets link().
     */
    chain(sqes: Sqe[], options?: ChainOptions): Promise<unknown>[];
    /**
     * Links `sqes` into one chain (every request but the last gets link(), or hardlink() with
     * `hard: true`; flags already set stay), submits it in one io_uring_enter, and resolves once
     * every step has settled, with each step's outcome and the step that broke the chain and why
     * (docs/chains.md). Never rejects for what the kernel answered; throws TypeError/RangeError
     * for bad arguments.
     */
    link<T extends readonly unknown[] = unknown[]>(sqes: Sqe[], options?: LinkOptions): Promise<ChainOutcome<T>>;
  }
}

// ---------------------------------------------------------------- argument checks

function checkSqes(method: string, ring: Ring, sqes: unknown): asserts sqes is Sqe[] {
  if (!Array.isArray(sqes) || sqes.length === 0) throw new TypeError(`ring.${method}() takes a non-empty array of Sqe, got ${describeValue(sqes)}`);
  if (sqes.length > ring.sqEntries)
    throw new RangeError(`ring.${method}(): ${sqes.length} requests do not fit in one submission (SQ has ${ring.sqEntries} entries)`);
  for (let i = 0; i < sqes.length; i++) {
    const s: unknown = sqes[i];
    if (!(s instanceof Sqe)) throw new TypeError(`ring.${method}() takes Sqe objects built with ring.op.*; "sqes"[${i}] is ${describeValue(s)}`);
    if (s.multishot) throw new TypeError(`ring.${method}(): a multishot ${s.op.name} cannot be linked; submit it with ring.runMulti()`);
    ringInternals(ring).checkEntry(s, `ring.${method}()`);
  }
  if (sqes[sqes.length - 1].flags & SqeFlags.CQE_SKIP_SUCCESS)
    throw new RangeError(`ring.${method}(): skipSuccess() on the last request of a chain would never settle its promise`);
}

/**
 * A skipSuccess() request posts no CQE when it succeeds: its success is known only from a later
 * request of its chain, which the kernel runs after it only when it is linked to the next one.
 * Unlinked (ring.chain() without link), nothing would ever say it succeeded.
 */
function checkSkips(method: string, sqes: readonly Sqe[], links: readonly number[] | undefined): void {
  for (let i = 0; i < sqes.length - 1; i++)
    if (sqes[i].flags & SqeFlags.CQE_SKIP_SUCCESS && !((sqes[i].flags | (links?.[i] ?? 0)) & (SqeFlags.IO_LINK | SqeFlags.IO_HARDLINK)))
      throw new RangeError(`ring.${method}(): skipSuccess() on request ${i} needs a link to the next one (link(), hardlink() or { link: true }): unlinked, nothing would ever say it succeeded`);
}

function checkOptions(method: string, options: unknown, argCount: number, accepted: readonly string[]): Record<string, unknown> | undefined {
  if (argCount > 2) throw new TypeError(`ring.${method}() takes sqes, options; got ${argCount} arguments`);
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || options instanceof AbortSignal)
    throw new TypeError(`ring.${method}(): "options" must be an object, got ${describeValue(options)}${options instanceof AbortSignal ? ' (pass { signal })' : ''}`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!accepted.includes(k)) throw new TypeError(`ring.${method}(): "${k}" is not an option of ${method}(); it accepts ${accepted.join(', ')}`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError(`ring.${method}(): "signal" must be an AbortSignal, got ${describeValue(o.signal)}`);
  for (const k of accepted)
    if (k !== 'signal' && o[k] !== undefined && typeof o[k] !== 'boolean') throw new TypeError(`ring.${method}(): "${k}" must be a boolean, got ${describeValue(o[k])}`);
  return o;
}

// ---------------------------------------------------------------- submission

/**
 * Submits `sqes` as one group: one promise per request (pre-aborted: all reject, nothing
 * submitted). `links[i]`: the IOSQE_IO_LINK / IO_HARDLINK the group gives request i, written into
 * its SQE only (PendingExtra.linkFlags): the caller's Sqe keeps its own flags, so reusing it elsewhere
 * links nothing it did not ask for.
 */
function submitGroup(ring: Ring, sqes: Sqe[], signal: AbortSignal | undefined, links: readonly number[] | undefined): Promise<unknown>[] {
  const r = ringInternals(ring);
  for (const s of sqes) r.prepare(s);
  if (signal?.aborted) return sqes.map(() => Promise.reject(abortError(signal)));
  const group: Pending[] = [];
  const promises = sqes.map(
    (sqe) =>
      new Promise<unknown>((resolve, reject) => {
        group.push(new Pending(sqe, resolve, reject));
      }),
  );
  for (let i = 0; i < group.length; i++) {
    group[i].chain = group;
    if (links !== undefined && links[i] !== 0) extraOf(group[i]).linkFlags = links[i];
  }
  r.submitGroup(group, signal);
  return promises;
}

const proto = Ring.prototype;

proto.chain = function (this: Ring, sqes: Sqe[], options?: ChainOptions): Promise<unknown>[] {
  ringInternals(this).assertOpen();
  checkSqes('chain', this, sqes);
  const o = checkOptions('chain', options, arguments.length, ['signal', 'link']);
  const links = o?.link ? sqes.map((_, i) => (i < sqes.length - 1 ? SqeFlags.IO_LINK : 0)) : undefined;
  checkSkips('chain', sqes, links);
  return submitGroup(this, sqes, o?.signal as AbortSignal | undefined, links);
};

proto.link = function <T extends readonly unknown[] = unknown[]>(this: Ring, sqes: Sqe[], options?: LinkOptions): Promise<ChainOutcome<T>> {
  ringInternals(this).assertOpen();
  checkSqes('link', this, sqes);
  const o = checkOptions('link', options, arguments.length, ['signal', 'hard']);
  const links = sqes.map((s, i) => (i === sqes.length - 1 ? 0 : o?.hard ? SqeFlags.IO_HARDLINK : s.flags & SqeFlags.IO_HARDLINK ? 0 : SqeFlags.IO_LINK));
  const signal = o?.signal as AbortSignal | undefined;
  const settled = submitGroup(this, sqes, signal, links);
  return Promise.allSettled(settled).then((rs) => outcomeOf(sqes, rs, links) as unknown as ChainOutcome<T>);
};

// ---------------------------------------------------------------- reading the outcome

/** The errno name of a request's rejection ('ECANCELED'), if it is a RingError. */
const codeOf = (e: unknown): string | undefined => (e instanceof RingError ? e.code : undefined);

/** Is this rejection an abort by the chain's signal? */
const isAbort = (e: unknown): boolean => e instanceof Error && e.name === 'AbortError';

/**
 * Reads the settled promises of a linked group as the kernel's link rules say (docs/chains.md):
 * a step failed, came short, was cut off by its link timeout or was aborted; the first such step
 * on a soft link breaks the chain and every step after it that the kernel cancelled is 'cancelled'.
 */
export function outcomeOf(sqes: readonly Sqe[], rs: readonly PromiseSettledResult<unknown>[], links?: readonly number[]): ChainOutcome {
  const steps: StepOutcome[] = [];
  let broken: Broken | undefined;
  let ok = true;
  for (let i = 0; i < sqes.length; i++) {
    const sqe = sqes[i];
    const step = broken === undefined ? stepOf(sqes, rs, i) : afterBreak(sqe, rs[i]) ?? stepOf(sqes, rs, i);
    steps.push(step);
    if (step.status === 'ok') continue;
    ok = false;
    if (broken !== undefined) continue;
    // a hard-linked step that ran and failed, came short or was cut off by its link timeout does
    // not break the chain (the last step's failure ends it whatever its flags)
    // a step whose op fails no link on error (the table's errorKeepsLink) does not break it either,
    // unless the error came before its issue function (an fd lookup's EBADF, a prep error: the
    // kernel fails the request the generic way, req_set_fail), which the next step shows
    const keeps = sqe.op.errorKeepsLink === true && !cancelledAfter(sqes, rs, i);
    const hard = (((sqe.flags | (links?.[i] ?? 0)) & SqeFlags.IO_HARDLINK) !== 0 || keeps) && i < sqes.length - 1;
    if (hard && (step.status === 'failed' || step.status === 'short' || step.status === 'timedOut')) continue;
    broken = breakOf(i, sqe, step);
  }
  return broken === undefined ? { ok, steps } : { ok, steps, broken };
}

/** Did the kernel cancel the step after step i (past a link timeout guarding step i, disarmed either way)? */
function cancelledAfter(sqes: readonly Sqe[], rs: readonly PromiseSettledResult<unknown>[], i: number): boolean {
  let j = i + 1;
  if (j < sqes.length && sqes[j].op.result === 'linkTimer') j++;
  if (j >= sqes.length) return false;
  const r = rs[j];
  return r.status === 'rejected' && codeOf(r.reason) === 'ECANCELED';
}

type Broken = { -readonly [K in keyof NonNullable<ChainOutcome['broken']>]: NonNullable<ChainOutcome['broken']>[K] };

/** A step after the break that the kernel cancelled (its link timeout too: disarmed with -ECANCELED, it never fired). */
function afterBreak(sqe: Sqe, r: PromiseSettledResult<unknown>): StepOutcome | undefined {
  if (r.status === 'rejected') {
    const e = r.reason;
    if (codeOf(e) === 'ECANCELED' || isAbort(e) || e instanceof RingClosedError) return { status: 'cancelled', error: e as Error };
    return undefined;
  }
  if (sqe.op.result === 'linkTimer' && r.value === false) return { status: 'cancelled', error: new RingError(-ECANCELED, 'io_uring_enter', { op: sqe.op.name }) };
  return undefined;
}

/** One step's outcome read on its own (and, for a timed step, with its link timeout's). */
function stepOf(sqes: readonly Sqe[], rs: readonly PromiseSettledResult<unknown>[], i: number): StepOutcome {
  const sqe = sqes[i];
  const r = rs[i];
  if (r.status === 'fulfilled') {
    const v = r.value;
    if (sqe.expect >= 0 && typeof v === 'number' && v !== sqe.expect) return { status: 'short', value: v, expected: sqe.expect };
    return { status: 'ok', value: v };
  }
  const e = r.reason;
  // the timer fired, but its request was running in io-wq (-EALREADY) or done (-ENOENT):
  // io_req_task_link_timeout (io_uring/timeout.c) posts the cancel's result in place of -ETIME
  if (sqe.op.result === 'linkTimer' && firedCode(e)) return { status: 'ok', value: true };
  if (isAbort(e)) return { status: 'aborted', error: e as Error };
  if (!(e instanceof RingError) || e instanceof RingClosedError) return { status: 'cancelled', error: e as Error };
  if (timedOut(sqes, rs, i)) return { status: 'timedOut', error: e };
  return { status: 'failed', error: e };
}

const firedCode = (e: unknown): boolean => codeOf(e) === 'EALREADY' || codeOf(e) === 'ENOENT';

/** Was step i cut off by the linkTimeout right after it (which fired)? */
function timedOut(sqes: readonly Sqe[], rs: readonly PromiseSettledResult<unknown>[], i: number): boolean {
  const code = codeOf((rs[i] as PromiseRejectedResult).reason);
  if (code !== 'ECANCELED' && code !== 'EINTR') return false;
  const next = sqes[i + 1];
  if (!next || next.op.result !== 'linkTimer') return false;
  const t = rs[i + 1];
  return t.status === 'fulfilled' ? t.value === true : firedCode(t.reason);
}

function breakOf(i: number, sqe: Sqe, step: StepOutcome): Broken {
  const op = sqe.op.name;
  switch (step.status) {
    case 'short':
      return { index: i, op, reason: 'short', value: step.value, expected: step.expected };
    case 'timedOut':
      return { index: i, op, reason: 'timeout', error: step.error, timeoutIndex: i + 1 };
    case 'aborted':
      return { index: i, op, reason: 'aborted', error: step.error };
    case 'cancelled':
      return { index: i, op, reason: step.error instanceof RingClosedError ? 'closed' : 'aborted', error: step.error };
    case 'failed':
      return { index: i, op, reason: 'error', error: step.error };
    default:
      throw new Error('unreachable: a step that succeeded does not break a chain');
  }
}
