/**
 * The settled outcome of a chain's promises, with less machinery than Promise.allSettled (no
 * wrapper promise and no result object per step): the steps of a ring chain settle in order, and
 * the last one settles last, so one await on it is enough once every step has its handlers.
 */
import type { Settled } from '../../ring/callback-requests.js';
export type { Settled };

export function settleAll(promises: readonly Promise<unknown>[]): Promise<Settled[]> {
  const out: Settled[] = new Array(promises.length);
  let left = promises.length;
  return new Promise((resolve) => {
    for (let i = 0; i < promises.length; i++)
      promises[i].then(
        (value) => {
          out[i] = { ok: true, value };
          if (--left === 0) resolve(out);
        },
        (error: unknown) => {
          out[i] = { ok: false, error };
          if (--left === 0) resolve(out);
        },
      );
  });
}
