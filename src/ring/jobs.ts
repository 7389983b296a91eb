/**
 * Node's job queues and clock, the real ones. Every flush, retry and callback ringflow schedules
 * goes through these, so fake timers (jest's modern timers, sinon's) do not stop rings: I/O
 * completes as node:fs's does under fake timers, whenever they were installed.
 *
 * - Timers and the clock come from node:timers and node:perf_hooks, not the globals: fake timers
 *   installed after ringflow loaded replace only the globals, and under Jest, whose
 *   `fakeTimers.enableGlobally` fakes them before a test file's modules load, the test file sees a
 *   sandbox's globals while core modules are Node's own.
 * - process.nextTick and queueMicrotask exist only as globals (under Jest, `process` is the
 *   sandbox's too). What was installed when ringflow loaded is used once it has shown that it runs:
 *   both are asked, at load, to run a job, and by the check phase that follows Node's own have.
 *   Until then a job goes both ways and runs once; a nextTick or queueMicrotask that did not run by
 *   then is a fake, and their jobs go to setImmediate (later than a tick: a flush still takes
 *   everything queued before it) and to a promise reaction (still a microtask).
 */
import { setImmediate, setTimeout, clearTimeout } from 'node:timers';
import { performance } from 'node:perf_hooks';

export const immediate = setImmediate;
export const timeout = setTimeout;
export const cancelTimeout = clearTimeout;
export const now = performance.now.bind(performance);

const RESOLVED = Promise.resolve();

function once(fn: () => void): () => void {
  let ran = false;
  return () => {
    if (ran) return;
    ran = true;
    fn();
  };
}

/**
 * `loaded` (a job queue as the global was at load) once it has run a job, `fallback` where it had
 * not by the next check phase (a fake); until then a job goes both ways and runs once.
 */
function proven(loaded: (fn: () => void) => void, fallback: (fn: () => void) => void): (fn: () => void) => void {
  let state: 0 | 1 | 2 = 0; // 0: not known yet; 1: it ran its job (Node's own); 2: it had not (a fake)
  let ran = false;
  loaded(() => void (ran = true));
  immediate(() => void (state = ran ? 1 : 2)).unref();
  return (fn) => {
    if (state === 1) loaded(fn);
    else if (state === 2) fallback(fn);
    else {
      const job = once(fn);
      loaded(job);
      fallback(job);
    }
  };
}

/** As a microtask, what `fn` throws reported as an uncaught exception (from the check phase). */
function reaction(fn: () => void): void {
  void RESOLVED.then(() => {
    try {
      fn();
    } catch (e) {
      immediate(() => {
        throw e;
      });
    }
  });
}

/** process.nextTick(fn) (setImmediate where process.nextTick is a fake). */
export const nextTick = proven(process.nextTick, immediate);

/** queueMicrotask(fn) (a promise reaction where queueMicrotask is a fake). */
export const microtask = proven(queueMicrotask, reaction);

/** Reports `e` as an uncaught exception, from a microtask: what a user callback ringflow called threw, kept out of the code that called it (a reap, a flush). */
export function throwLater(e: unknown): void {
  microtask(() => {
    throw e;
  });
}

/**
 * Work that answers without leaving JS's job queues (a flush whose requests complete inline, a stat
 * the kernel's caches answer) resolves promises from promise reactions, and a loop of `await` on it
 * would chain them forever without letting timers, I/O or the tick queue run. Such work charges a
 * TurnBudget per answer: once answers have followed each other for TURN_BUDGET_MS in one turn of
 * the event loop, `spent` says so until the next check phase (when the next turn begins), and the
 * caller waits for it (setImmediate). The clock is read every CLOCK_EVERY answers, not per answer.
 * (A turn of the event loop costs ~20 µs on the 2-core test host: ~0.3 µs per request when a loop
 * of `await ring.nop()` yielded after every 64 flushes, as it once did: docs/benchmarks.md,
 * eighteenth session.)
 */
export const TURN_BUDGET_MS = 1;
export const CLOCK_EVERY = 32;
export class TurnBudget {
  #answers = 0;
  #start = 0;
  #resetScheduled = false;
  /** This turn's budget is used up: wait for the check phase before answering again. */
  spent = false;
  /** nextTurn()'s promise for this turn, and what resolves it. */
  #next: Promise<void> | undefined;
  #resolveNext: (() => void) | undefined;
  #reset = (): void => {
    this.#resetScheduled = false;
    this.#answers = 0;
    this.spent = false;
    const resolve = this.#resolveNext;
    this.#next = this.#resolveNext = undefined;
    resolve?.();
  };

  /** The turn's end (the check phase) resets the budget: scheduled once per turn. */
  #scheduleReset(): void {
    if (this.#resetScheduled) return;
    this.#resetScheduled = true;
    this.#start = now();
    immediate(this.#reset);
  }

  /** Counts one answer in this turn; returns `spent`. */
  charge(): boolean {
    this.#scheduleReset();
    if (++this.#answers % CLOCK_EVERY === 0 && now() - this.#start >= TURN_BUDGET_MS) this.spent = true;
    return this.spent;
  }

  /** Resolves in the check phase that begins the next turn (timers and I/O have run by then): one promise for every caller in this turn. */
  nextTurn(): Promise<void> {
    this.#scheduleReset();
    return (this.#next ??= new Promise<void>((resolve) => (this.#resolveNext = resolve)));
  }
}
