/**
 * Requests settled by a callback instead of a promise each: for ringflow's own fast paths
 * (ringflow/fs's readFile, where the promises of ring.chain() and ring.run() and the .then()
 * handlers gathering them were a fifth of the JS time of a small readFile; TcpSocket's writer,
 * whose sends settle it through runForTarget()).
 *
 * A request here is a Pending like any other (same slot, generation, abort, close and CQE rules
 * in src/ring/requests.ts and completion.ts: it settles exactly once); only what its settlement
 * calls differs. The settle functions are shared, not closures per request: the ring calls them
 * as p.resolve(v) / p.reject(e), so `this` is the request.
 */
import type { Ring } from './ring.js';
import { ringInternals } from './ring.js';
import { Pending } from './requests.js';
import { abortError } from './aborts.js';
import type { Sqe } from '../ops/sqe.js';
import { SqeFlags } from './abi.js';
import { microtask } from './jobs.js';

/** How one request of a group ended. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The state of one group: every step's outcome, and who gets them once the last has settled. */
class GroupState {
  readonly out: Settled[];
  left: number;
  readonly done: (out: Settled[]) => void;
  constructor(n: number, done: (out: Settled[]) => void) {
    this.out = new Array<Settled>(n);
    this.left = n;
    this.done = done;
  }
}

class StepPending extends Pending {
  group: GroupState;
  index: number;
  constructor(sqe: Sqe, group: GroupState, index: number) {
    super(sqe, stepResolve as (v: unknown) => void, stepReject as (e: unknown) => void);
    this.group = group;
    this.index = index;
  }
}

function stepResolve(this: StepPending, value: unknown): void {
  const g = this.group;
  g.out[this.index] = { ok: true, value };
  if (--g.left === 0) g.done(g.out);
}

function stepReject(this: StepPending, error: unknown): void {
  const g = this.group;
  g.out[this.index] = { ok: false, error };
  if (--g.left === 0) g.done(g.out);
}

/**
 * What ring.run() and ring.chain() check of a request, checked here too (these are internal entry
 * points, but the checks are the ring's, not the caller's): exactly one CQE (a zero-copy send or a
 * multishot has a sink of its own), a last request that posts it (skipSuccess() would never settle
 * the group), an entry that fits the ring's SQEs and passes its own submit check. All are checked
 * before any is prepared (its `cq` target, the file table's slot tracking), as ring.chain() does.
 */
function check(r: ReturnType<typeof ringInternals>, sqe: Sqe, last: boolean): void {
  if (sqe.multishot || sqe.op.multiCqe) throw new TypeError(`callback requests take requests with one CQE; ${sqe.op.name} posts more (use ring.run() or ring.runMulti())`);
  if (last && sqe.flags & SqeFlags.CQE_SKIP_SUCCESS) throw new RangeError('callback requests: skipSuccess() on the last request would never settle it');
  r.checkEntry(sqe, 'callback request');
}

/**
 * Submits `sqes` as one group in one submission (as ring.chain() does: links the caller set
 * hold) and resolves once every step has settled, with each step's outcome in order. One promise
 * for the whole group; never rejects. The caller has checked the Sqes (ringflow's own builders).
 */
export function runGroupSettled(ring: Ring, sqes: readonly Sqe[], signal: AbortSignal | undefined): Promise<Settled[]> {
  const r = ringInternals(ring);
  r.assertOpen();
  if (sqes.length === 0) throw new TypeError('callback requests: a group needs at least one request (an empty one would never settle)');
  for (let i = 0; i < sqes.length; i++) check(r, sqes[i], i === sqes.length - 1);
  for (let i = 0; i < sqes.length; i++) r.prepare(sqes[i]);
  if (signal?.aborted) {
    const error = abortError(signal);
    return Promise.resolve(sqes.map((): Settled => ({ ok: false, error })));
  }
  return new Promise<Settled[]>((resolve) => {
    const g = new GroupState(sqes.length, resolve);
    const group: Pending[] = new Array(sqes.length);
    for (let i = 0; i < sqes.length; i++) (group[i] = new StepPending(sqes[i], g, i)).chain = group;
    r.submitGroup(group, signal);
  });
}

/**
 * Submits one request whose outcome goes to `done` (called once, from the ring's completion
 * handling: it must not throw). No promise. The ring must be open. Nobody waits for it, so it is
 * flushed with what is queued next, at the end of the tick (readFile's close rides with the next
 * file's open), not by a microtask of its own.
 */
export function runWithCallback(ring: Ring, sqe: Sqe, done: (out: Settled[]) => void): void {
  const r = ringInternals(ring);
  r.assertOpen();
  check(r, sqe, true);
  r.prepare(sqe);
  const p = new StepPending(sqe, new GroupState(1, done), 0);
  r.submitOne(p, undefined, true);
}

/** Who hears how a request run by runForTarget() ended (`token`: what the caller passed with it). */
export interface SettleTarget<T> {
  resolved(token: T, value: unknown): void;
  rejected(token: T, error: unknown): void;
}

class TargetPending<T> extends Pending {
  readonly target: SettleTarget<T>;
  readonly token: T;
  constructor(sqe: Sqe, target: SettleTarget<T>, token: T) {
    super(sqe, targetResolve as (v: unknown) => void, targetReject as (e: unknown) => void);
    this.target = target;
    this.token = token;
  }
}

function targetResolve<T>(this: TargetPending<T>, value: unknown): void {
  this.target.resolved(this.token, value);
}

function targetReject<T>(this: TargetPending<T>, error: unknown): void {
  this.target.rejected(this.token, error);
}

/**
 * Submits one request whose outcome goes to `target` (resolved or rejected, once, with `token`),
 * called from the ring's completion handling: no promise, no closure and no microtask per request
 * (TcpSocket's writer sends with it). It settles as ring.run() would, `signal` included; a signal
 * aborted already rejects on a microtask, as ring.run()'s promise would. Throws what ring.run()
 * throws for a ring that is closed or a request it refuses.
 */
export function runForTarget<T>(ring: Ring, sqe: Sqe, target: SettleTarget<T>, token: T, signal: AbortSignal | undefined): void {
  const r = ringInternals(ring);
  r.assertOpen();
  check(r, sqe, true);
  if (signal?.aborted) {
    const error = abortError(signal);
    microtask(() => target.rejected(token, error));
    return;
  }
  r.prepare(sqe);
  r.submitOne(new TargetPending(sqe, target, token), signal);
}
