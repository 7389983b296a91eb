/**
 * AbortSignal support for a ring's requests: one 'abort' listener per signal, however many of
 * the ring's requests share it (one listener per request would trip MaxListeners warnings and
 * keep every settled request reachable from the signal).
 */
import type { Pending } from './requests.js';

/** The error an aborted request rejects with (the shape Node's own APIs use). */
export function abortError(signal: AbortSignal): Error {
  const e = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

export class AbortWatch {
  #signals = new Map<AbortSignal, { listener: () => void; requests: Set<Pending> }>();
  #onAbort: (p: Pending, signal: AbortSignal) => void;

  /** onAbort runs for each watched request when its signal fires. */
  constructor(onAbort: (p: Pending, signal: AbortSignal) => void) {
    this.#onAbort = onAbort;
  }

  /** Watches `signal` for p (p.signal is set); throws TypeError for a non-signal. */
  watch(p: Pending, signal: AbortSignal): void {
    if (!(signal instanceof AbortSignal)) throw new TypeError('"signal" must be an AbortSignal');
    p.signal = signal;
    let w = this.#signals.get(signal);
    if (!w) {
      const requests = new Set<Pending>();
      const listener = () => {
        this.#signals.delete(signal);
        for (const q of requests) this.#onAbort(q, signal);
      };
      w = { listener, requests };
      this.#signals.set(signal, w);
      signal.addEventListener('abort', listener, { once: true });
    }
    w.requests.add(p);
  }

  /** p no longer needs its signal watched (settled, or rejected by close). */
  unwatch(p: Pending): void {
    const signal = p.signal;
    const w = signal && this.#signals.get(signal);
    if (!w) return;
    w.requests.delete(p);
    if (w.requests.size === 0) {
      signal!.removeEventListener('abort', w.listener);
      this.#signals.delete(signal!);
    }
  }
}
