/**
 * Trial: 4 KiB random reads at queue depth `qd` from the pattern file, one driver per process.
 *   ringflow  N async loops, each `await ring.read(fd, buf, pos)` on its own buffer
 *   fs        N async loops, each `await handle.read(buf, 0, 4096, pos)` (node:fs/promises)
 * Every completion is checked against the file's pattern (two u32 loads), for both drivers.
 * Arguments (JSON in argv[2]): { driver, file, qd, seconds, warmup, seed, profile? }.
 */
import { openSync, closeSync, fstatSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Ring, O } from '../src/index.js';
import { setupFlagNames } from '../src/ring/setup.js';
import { BLOCK, Rng, Window, checkBlock, runTrial, statsDelta, trialArgs, type TrialResult } from './common.js';

export interface ReadArgs {
  driver: 'ringflow' | 'fs';
  file: string;
  qd: number;
  seconds: number;
  warmup: number;
  seed: number;
  profile?: 'fast' | 'coop' | 'plain';
}

function fail(block: number, n: number): never {
  throw new Error(`read of block ${block} returned ${n} bytes or the wrong content: driver is broken`);
}

async function ringflowReads(a: ReadArgs, blocks: number): Promise<TrialResult> {
  const ring = new Ring({ profile: a.profile ?? 'fast', entries: Math.max(256, a.qd) });
  const fd = await ring.openat(a.file, O.RDONLY);
  let s0 = ring.stats();
  let s1 = s0;
  const w = new Window(a.warmup * 1000, a.seconds * 1000, () => (s0 = ring.stats()), () => (s1 = ring.stats()));
  const loop = async (i: number) => {
    const rng = new Rng(a.seed + i);
    const buf = Buffer.allocUnsafe(BLOCK);
    do {
      const b = rng.below(blocks);
      const n = await ring.read(fd, buf, b * BLOCK);
      if (n !== BLOCK || !checkBlock(buf, b)) fail(b, n);
    } while (w.done());
  };
  await Promise.all(Array.from({ length: a.qd }, (_, i) => loop(i)));
  const r = w.result();
  const flags = setupFlagNames(ring.setupFlags);
  await ring.closeFd(fd);
  await ring.close();
  return { ...r, ...statsDelta(s0, s1), verified: w.ops, setupFlags: flags };
}

async function fsReads(a: ReadArgs, blocks: number): Promise<TrialResult> {
  const fh = await open(a.file, 'r');
  const w = new Window(a.warmup * 1000, a.seconds * 1000);
  const loop = async (i: number) => {
    const rng = new Rng(a.seed + i);
    const buf = Buffer.allocUnsafe(BLOCK);
    do {
      const b = rng.below(blocks);
      const { bytesRead } = await fh.read(buf, 0, BLOCK, b * BLOCK);
      if (bytesRead !== BLOCK || !checkBlock(buf, b)) fail(b, bytesRead);
    } while (w.done());
  };
  await Promise.all(Array.from({ length: a.qd }, (_, i) => loop(i)));
  await fh.close();
  return { ...w.result(), verified: w.ops, note: `libuv threadpool, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}` };
}

runTrial(async () => {
  const a = trialArgs<ReadArgs>();
  const fd = openSync(a.file, 'r');
  const blocks = Math.floor(fstatSync(fd).size / BLOCK);
  closeSync(fd);
  if (blocks < 1) throw new Error(`${a.file} is smaller than one block`);
  if (a.driver === 'ringflow') return ringflowReads(a, blocks);
  if (a.driver === 'fs') return fsReads(a, blocks);
  throw new Error(`unknown read driver ${String(a.driver)}`);
});
