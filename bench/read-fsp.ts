/**
 * Trial: 4 KiB random reads at queue depth `qd` through `node:fs/promises`: N async loops, each
 * `await handle.read(buf, 0, 4096, pos)` on its own buffer. The same compiled file runs under
 * Node (libuv threadpool) and under Bun (its own node:fs implementation), so the two runtimes
 * execute the same JavaScript. Nothing here may import ringflow (Bun runs it): only common.js.
 * Every completion is checked against the file's pattern. Arguments (JSON in argv[2]):
 * { file, qd, seconds, warmup, seed }.
 */
import { open } from 'node:fs/promises';
import { BLOCK, Window, randomBlockReads, runTrial, trialArgs, type TrialResult } from './common.js';

export interface FspArgs {
  file: string;
  qd: number;
  seconds: number;
  warmup: number;
  seed: number;
}

declare const Bun: { version: string } | undefined;

runTrial(async (): Promise<TrialResult> => {
  const a = trialArgs<FspArgs>();
  const fh = await open(a.file, 'r');
  const blocks = Math.floor((await fh.stat()).size / BLOCK);
  if (blocks < 1) throw new Error(`${a.file} is smaller than one block`);
  const w = new Window(a.warmup * 1000, a.seconds * 1000);
  const loop = (i: number) => randomBlockReads(fh, blocks, a.seed + i, w);
  await Promise.all(Array.from({ length: a.qd }, (_, i) => loop(i)));
  await fh.close();
  const note =
    typeof Bun !== 'undefined'
      ? `Bun ${Bun.version} node:fs/promises`
      : `Node ${process.version} node:fs/promises, libuv threadpool, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`;
  return { ...w.result(), verified: w.ops, note };
});
