/**
 * Node's job queues and clock as they were when ringflow loaded. Every flush, retry and callback
 * ringflow schedules goes through these, so fake timers a test installs afterwards (jest's modern
 * timers and sinon's replace setImmediate, setTimeout, process.nextTick, queueMicrotask and
 * performance.now) do not stop rings: I/O completes as node:fs's does under fake timers.
 */
export const immediate = setImmediate;
export const timeout = setTimeout;
export const cancelTimeout = clearTimeout;
export const nextTick = process.nextTick;
export const microtask = queueMicrotask;
export const now = performance.now.bind(performance);

/** Reports `e` as an uncaught exception, from a microtask: what a user callback ringflow called threw, kept out of the code that called it (a reap, a flush). */
export function throwLater(e: unknown): void {
  microtask(() => {
    throw e;
  });
}
