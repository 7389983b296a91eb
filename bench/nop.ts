/**
 * Trial: IORING_OP_NOP round trips through JS.
 *   perop    N async loops, each `await ring.nop()` (autoSubmit gathers the loops' SQEs per tick)
 *   batched  queue `batch` nops in one tick (one io_uring_enter via autoSubmit), await them all
 *   bulk     push `batch` nops into ring.bulk() (no promise per request), submit, one wait, take()
 * Every NOP's result is checked (res must be 0).
 * Arguments (JSON in argv[2]): { mode, qd, batch, seconds, warmup, profile? }.
 */
import { Ring, op, BulkCompletions } from '../src/index.js';
import { setupFlagNames } from '../src/ring/setup.js';
import { Window, runTrial, statsDelta, trialArgs } from './common.js';

export interface NopArgs {
  mode: 'perop' | 'batched' | 'bulk';
  /** perop: concurrent loops. */
  qd: number;
  /** batched: NOPs per batch. */
  batch: number;
  seconds: number;
  warmup: number;
  profile?: 'fast' | 'coop' | 'plain';
}

runTrial(async () => {
  const a = trialArgs<NopArgs>();
  const depth = a.mode === 'perop' ? a.qd : a.batch;
  const ring = new Ring({ profile: a.profile ?? 'fast', entries: Math.max(256, depth) });
  let s0 = ring.stats();
  let s1 = s0;
  const w = new Window(a.warmup * 1000, a.seconds * 1000, () => (s0 = ring.stats()), () => (s1 = ring.stats()));
  let bad = 0;
  if (a.mode === 'perop') {
    const loop = async () => {
      do if ((await ring.nop()) !== 0) bad++;
      while (w.done());
    };
    await Promise.all(Array.from({ length: a.qd }, loop));
  } else if (a.mode === 'batched') {
    const ps: Promise<number>[] = new Array(a.batch);
    do {
      for (let i = 0; i < a.batch; i++) ps[i] = ring.nop();
      const rs = await Promise.all(ps);
      for (let i = 0; i < rs.length; i++) if (rs[i] !== 0) bad++;
    } while (w.done(a.batch));
  } else if (a.mode === 'bulk') {
    const bulk = ring.bulk({ depth: a.batch });
    const nop = op.nop();
    const out = new BulkCompletions(a.batch);
    do {
      for (let i = 0; i < a.batch; i++) bulk.push(nop, i);
      bulk.submit();
      if (bulk.ready < a.batch) await bulk.wait(a.batch);
      const n = bulk.take(out);
      if (n !== a.batch) bad += a.batch - n;
      for (let i = 0; i < n; i++) if (out.res[i] !== 0) bad++;
    } while (w.done(a.batch));
  } else throw new Error(`unknown nop mode ${String(a.mode)}`);
  if (bad) throw new Error(`${bad} NOPs completed with a non-zero result`);
  const flags = setupFlagNames(ring.setupFlags);
  await ring.close();
  return { ...w.result(), ...statsDelta(s0, s1), verified: w.ops, setupFlags: flags };
});
