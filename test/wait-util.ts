/**
 * Waits whose bound allows for a slow machine (CPU_TIME_SCALE: the QEMU TCG guests are 10-40 times
 * slower than the host): a fixed sleep before an assertion, or a race against a fixed timer, fails
 * there although nothing is wrong. (eventually() in net-programs-util.ts throws instead.)
 */
import { CPU_TIME_SCALE } from './helpers.js';

/** Polls `cond` every `every` ms until it holds or `ms` × CPU_TIME_SCALE passed; whether it held (assert on that). */
export async function until(cond: () => boolean, ms: number, every = 5): Promise<boolean> {
  const end = Date.now() + ms * CPU_TIME_SCALE;
  while (!cond()) {
    if (Date.now() >= end) return cond();
    await new Promise((r) => setTimeout(r, every));
  }
  return true;
}

/** `p`'s outcome, or 'pending' once `ms` × CPU_TIME_SCALE passed (the timer is cleared when `p` settles first). */
export function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'pending'>((r) => (timer = setTimeout(() => r('pending'), ms * CPU_TIME_SCALE)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
