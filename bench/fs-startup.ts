/**
 * Trial: what switching to ringflow/fs costs a short-lived process (a CLI tool, a build step, a
 * script): `runs` fresh processes, one after another, each importing the module and reading one
 * 1 KiB file, timed from spawn to exit. Drivers:
 *   fs            node:fs/promises under Node (the baseline)
 *   ringflow      ringflow/fs as the package exports it (dist/pkg/fs.js, bundled by tools/bundle.ts)
 *   ringflow-src  ringflow/fs unbundled (dist/src/fs/index.js: 71 module files)
 *   bun           node:fs/promises under Bun (`bun -e`)
 * Every process checks what it read (1024 bytes of the file's stamp) and exits non-zero otherwise.
 * The file read is one the trial writes in the temp dir (any file system: what is measured is the
 * process's start). Arguments (JSON in argv[2]): { driver, exe, runs }.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTrial, trialArgs, type TrialResult } from './common.js';

export type StartupDriver = 'fs' | 'ringflow' | 'ringflow-src' | 'bun';

export interface StartupArgs {
  driver: StartupDriver;
  /** The runtime to spawn (node: process.execPath; bun: its binary). */
  exe: string;
  runs: number;
}

export interface StartupResult extends TrialResult {
  /** Wall time of one process, spawn to exit: the median, and the fastest. */
  medianMs: number;
  minMs: number;
  runs: number;
}

const MODULE: Record<StartupDriver, string> = {
  fs: 'node:fs/promises',
  bun: 'node:fs/promises',
  ringflow: new URL('../pkg/fs.js', import.meta.url).href,
  'ringflow-src': new URL('../src/fs/index.js', import.meta.url).href,
};

runTrial(async (): Promise<StartupResult> => {
  const a = trialArgs<StartupArgs>();
  const mod = MODULE[a.driver];
  if (mod === undefined) throw new RangeError(`fs-startup: unknown driver ${String(a.driver)}`);
  const dir = mkdtempSync(join(tmpdir(), 'ringflow-startup-'));
  const file = join(dir, 'f');
  writeFileSync(file, Buffer.alloc(1024, 0x5a));
  const code = `const fs = await import(${JSON.stringify(mod)}); const b = await fs.readFile(${JSON.stringify(file)}); if (b.length !== 1024) process.exit(3);`;
  const argv = a.driver === 'bun' ? ['-e', code] : ['--input-type=module', '-e', code];
  const ms: number[] = [];
  try {
    for (let i = 0; i < a.runs; i++) {
      const t0 = performance.now();
      const r = spawnSync(a.exe, argv, { encoding: 'utf8', timeout: 30_000 });
      const t = performance.now() - t0;
      if (r.status !== 0) throw new Error(`fs-startup ${a.driver}: exit ${r.status ?? r.signal}: ${(r.error?.message ?? r.stderr).trim().split('\n').slice(-3).join(' | ')}`);
      ms.push(t);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  ms.sort((x, y) => x - y);
  const medianMs = ms[ms.length >> 1];
  const total = ms.reduce((s, x) => s + x, 0) / 1000;
  return { opsPerSec: 1000 / medianMs, ops: ms.length, seconds: total, medianMs, minMs: ms[0], runs: ms.length, verified: ms.length, note: `${a.driver}: ${mod}` };
});
