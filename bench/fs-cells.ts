/**
 * The fs trial's cells (bench/fs-trial.ts): for each workload and concurrency, side by side in one
 * run, ringflow/fs, node:fs/promises under Node and node:fs/promises under Bun, each in a fresh
 * process over the same page-cached files (bench/fs-files.ts).
 */
import { runNodeTrial, runTrialIn, type Outcome } from './drivers.js';
import { bunForReads } from './read-cells.js';
import type { FsFileSet } from './fs-files.js';
import type { FsApi, FsTrialArgs, FsWork } from './fs-trial.js';
import type { FsSize } from './fs-layout.js';
import type { StartupArgs, StartupDriver } from './fs-startup.js';

export type FsDriver = 'ringflow' | 'fs' | 'bun';
export const FS_DRIVERS: readonly FsDriver[] = ['fs', 'bun', 'ringflow'];

export interface FsWorkload {
  tag: string;
  title: string;
  work: FsWork;
  size?: FsSize;
}

export const FS_WORKLOADS: readonly FsWorkload[] = [
  { tag: 'readFile1k', title: 'readFile, 1 KiB files', work: 'readFile', size: 'small' },
  { tag: 'readFile64k', title: 'readFile, 64 KiB files', work: 'readFile', size: 'medium' },
  { tag: 'stat', title: 'stat', work: 'stat' },
  { tag: 'randread', title: 'FileHandle.read 4 KiB at random offsets', work: 'randread' },
];

/** `fs:<workload>:<concurrency>:<driver>` */
export const fsKey = (tag: string, conc: number, driver: FsDriver) => `fs:${tag}:${conc}:${driver}`;

export interface FsCellOptions {
  quick: boolean;
  seconds: number;
  warmup: number;
  seed: number;
}

/** Concurrencies measured: sequential and 64 in flight (--quick: 64 only). */
export const fsConcurrencies = (quick: boolean): number[] => (quick ? [64] : [1, 64]);
/** Workloads measured (--quick: no 64 KiB readFile). */
export const fsWorkloads = (quick: boolean): readonly FsWorkload[] => (quick ? FS_WORKLOADS.filter((w) => w.tag !== 'readFile64k') : FS_WORKLOADS);

const TITLE: Record<FsDriver, string> = { ringflow: 'ringflow/fs', fs: 'node:fs/promises', bun: 'Bun node:fs/promises' };

export function fsCells(o: FsCellOptions, set: FsFileSet): { key: string; title: string; run: () => Promise<Outcome> }[] {
  const timeout = (o.warmup + o.seconds) * 1000 + 30_000;
  let bun: ReturnType<typeof bunForReads> | undefined;
  const cells = [];
  for (const w of fsWorkloads(o.quick))
    for (const conc of fsConcurrencies(o.quick))
      for (const driver of FS_DRIVERS) {
        const key = fsKey(w.tag, conc, driver);
        const title = `fs ${w.title} x${conc} ${TITLE[driver]}`;
        if (set.skipped) {
          const skipped = set.skipped;
          cells.push({ key, title, run: () => Promise.resolve({ skipped }) });
          continue;
        }
        const api: FsApi = driver === 'ringflow' ? 'ringflow' : 'node';
        const args: FsTrialArgs = { api, work: w.work, size: w.size, conc, dir: set.dir, count: set.count, seconds: o.seconds, warmup: o.warmup, seed: o.seed };
        cells.push({
          key,
          title,
          run: (): Promise<Outcome> => {
            if (driver !== 'bun') return runNodeTrial('fs-trial', args, timeout);
            bun ??= bunForReads(o.quick);
            if ('skipped' in bun) return Promise.resolve(bun);
            return runTrialIn(bun.exe, 'fs-trial', args, timeout);
          },
        });
      }
  return cells;
}

/** The startup trial's drivers (bench/fs-startup.ts), in the table's order. */
export const STARTUP_DRIVERS: readonly StartupDriver[] = ['fs', 'bun', 'ringflow-src', 'ringflow'];
/** `fs:startup:<driver>` */
export const startupKey = (driver: StartupDriver) => `fs:startup:${driver}`;
/** Fresh processes per driver. */
export const startupRuns = (quick: boolean): number => (quick ? 10 : 40);

const STARTUP_TITLE: Record<StartupDriver, string> = {
  fs: 'node:fs/promises',
  bun: 'Bun node:fs/promises',
  'ringflow-src': 'ringflow/fs unbundled (dist/src)',
  ringflow: 'ringflow/fs (the package export, bundled)',
};
export const startupTitle = (d: StartupDriver): string => STARTUP_TITLE[d];

/** A fresh process per run that imports the module and reads one 1 KiB file (bench/fs-startup.ts; its own file, so also where the fs trial's files are not measured). */
export function startupCells(o: FsCellOptions): { key: string; title: string; run: () => Promise<Outcome> }[] {
  const runs = startupRuns(o.quick);
  let bun: ReturnType<typeof bunForReads> | undefined;
  return STARTUP_DRIVERS.map((driver) => ({
    key: startupKey(driver),
    title: `fs startup ${STARTUP_TITLE[driver]}`,
    run: (): Promise<Outcome> => {
      const args: StartupArgs = { driver, exe: process.execPath, runs };
      if (driver !== 'bun') return runNodeTrial('fs-startup', args, runs * 30_000);
      bun ??= bunForReads(o.quick);
      if ('skipped' in bun) return Promise.resolve(bun);
      return runNodeTrial('fs-startup', { ...args, exe: bun.exe }, runs * 30_000);
    },
  }));
}
