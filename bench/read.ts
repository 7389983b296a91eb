/**
 * Trial: 4 KiB random reads at queue depth `qd` through ringflow: N async loops, each
 * `await ring.read(fd, buf, pos)` on its own buffer (the node:fs/promises driver, which Node and
 * Bun both run, is read-fsp.ts). Every completion is checked against the file's pattern (two u32
 * loads). The result also counts the io-wq worker threads the process has when the window closes:
 * 0 means every read completed inline (page-cached file on a disk file system), more means the
 * kernel handed reads to io-wq (tmpfs on 6.18).
 * Arguments (JSON in argv[2]): { file, qd, seconds, warmup, seed, profile? }.
 */
import { closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { Ring } from '../src/index.js';
import { setupFlagNames } from '../src/ring/setup.js';
import { BLOCK, Rng, Window, checkBlock, runTrial, statsDelta, trialArgs, type TrialResult } from './common.js';

export interface ReadArgs {
  file: string;
  qd: number;
  seconds: number;
  warmup: number;
  seed: number;
  profile?: 'fast' | 'coop' | 'plain';
}

/** A read cell's result: a TrialResult plus what says how the reads completed. */
export interface ReadResult extends TrialResult {
  /** io-wq workers ("iou-wrk-*" threads) of the ringflow trial process when its window closed; -1: unknown. */
  ioWorkers?: number;
  /** Percent of the file in the page cache when the cell started (fincore); absent: not known. */
  residentPct?: number;
}

/** io-wq worker threads (comm "iou-wrk-<pid>") of this process now; -1 without /proc. */
export function ioWorkerThreads(): number {
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return -1;
  }
  let n = 0;
  for (const t of tasks) {
    try {
      if (readFileSync(`/proc/self/task/${t}/comm`, 'utf8').startsWith('iou-wrk')) n++;
    } catch {
      /* the thread exited meanwhile */
    }
  }
  return n;
}

async function ringflowReads(a: ReadArgs, blocks: number): Promise<ReadResult> {
  const ring = new Ring({ profile: a.profile ?? 'fast', entries: Math.max(256, a.qd) });
  // opened here, not with ring.openat: an open the kernel punts to io-wq would leave a worker
  // behind and the worker count would no longer say how the reads completed
  const fd = openSync(a.file, 'r');
  let s0 = ring.stats();
  let s1 = s0;
  let ioWorkers = -1;
  const w = new Window(
    a.warmup * 1000,
    a.seconds * 1000,
    () => (s0 = ring.stats()),
    () => {
      s1 = ring.stats();
      ioWorkers = ioWorkerThreads(); // io-wq workers linger ~5 s after their last work: still there now
    },
  );
  const loop = async (i: number) => {
    const rng = new Rng(a.seed + i);
    const buf = Buffer.allocUnsafe(BLOCK);
    do {
      const b = rng.below(blocks);
      const n = await ring.read(fd, buf, b * BLOCK);
      if (n !== BLOCK || !checkBlock(buf, b)) throw new Error(`read of block ${b} returned ${n} bytes or the wrong content: driver is broken`);
    } while (w.done());
  };
  await Promise.all(Array.from({ length: a.qd }, (_, i) => loop(i)));
  const r = w.result();
  const flags = setupFlagNames(ring.setupFlags);
  await ring.close();
  closeSync(fd);
  return { ...r, ...statsDelta(s0, s1), verified: w.ops, setupFlags: flags, ioWorkers };
}

runTrial(async () => {
  const a = trialArgs<ReadArgs>();
  const blocks = Math.floor(statSync(a.file).size / BLOCK);
  if (blocks < 1) throw new Error(`${a.file} is smaller than one block`);
  return ringflowReads(a, blocks);
});
