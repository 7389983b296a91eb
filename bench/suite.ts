/**
 * The benchmark suite: builds the list of cells (trial × driver × parameter), runs each in a fresh
 * process (repeats interleaved, median kept), shows progress on stderr and returns the results
 * for bench/report.ts. Used by `ringflow bench` (tools/cli.ts).
 */
import { tmpdir } from 'node:os';
import { BLOCK } from './common.js';
import { opByName } from '../src/ops/table.js';
import { opFlagSupported } from '../src/ring/kernel-probe.js';
import { buildCLoop, fioVersion, isSkip, runCLoop, runNodeTrial, type Outcome } from './drivers.js';
import { FS_KINDS, createReadFile, planReadFiles, removeReadFiles, type FsKind, type ReadFile } from './read-files.js';
import { readCells } from './read-cells.js';
import type { NopArgs } from './nop.js';
import { netCells } from './net/cells.js';
import { fsCells, startupCells } from './fs-cells.js';
import { createFsFiles, planFsFiles, removeFsFiles, type FsFileSet } from './fs-files.js';

export type Profile = 'fast' | 'coop' | 'plain';
export const PROFILES: readonly Profile[] = ['fast', 'coop', 'plain'];
/** IORING_SETUP_* bits of each profile, for the C loop (SINGLE_ISSUER 1<<12, DEFER_TASKRUN 1<<13, COOP 1<<8, TASKRUN_FLAG 1<<9, NO_SQARRAY 1<<16). */
/** The C loop's setup flags per profile, the same as Ring's (NO_SQARRAY 0x10000 in all). */
const C_PROFILE_FLAGS: Record<Profile, number> = { fast: 0x13200, coop: 0x11300, plain: 0x10000 };

/** Trial groups: reads, NOPs, dependent chains, networking (TCP echo + zero-copy slot), HTTP (bench/net/), ringflow/fs against node:fs/promises and Bun (bench/fs-*.ts). */
export type Group = 'read' | 'nop' | 'chain' | 'net' | 'http' | 'fs';
export const GROUPS: readonly Group[] = ['read', 'nop', 'chain', 'net', 'http', 'fs'];

export interface SuiteOptions {
  quick: boolean;
  /** Measured seconds per cell. */
  seconds: number;
  /** Warm-up seconds per cell (not measured). */
  warmup: number;
  /** Runs per cell (interleaved); the median is reported. */
  repeat: number;
  /** Size of the read file in MiB. */
  sizeMiB: number;
  /** Queue depths of the read trial. */
  qds: number[];
  /** File systems of the read trial: tmpfs (/dev/shm, io-wq) and disk (page-cached, inline). */
  fs: FsKind[];
  /** Concurrent loops of the NOP per-op trial. */
  nopQd: number;
  /** NOPs per batch in the batched trial (and the C loop's batch). */
  nopBatch: number;
  /** Measure profiles 'coop' and 'plain' beside the default 'fast'. */
  profiles: boolean;
  groups: Set<Group>;
  seed: number;
  /** Files of each size in the fs trial (10,000; --quick 2,000). */
  fsCount: number;
}

export function defaultOptions(quick: boolean): SuiteOptions {
  return {
    quick,
    seconds: quick ? 1 : 2.5,
    warmup: quick ? 0.3 : 0.5,
    repeat: 1,
    sizeMiB: 256,
    qds: quick ? [1, 64] : [1, 16, 64, 256],
    fs: [...FS_KINDS],
    nopQd: 64,
    nopBatch: 256,
    profiles: !quick,
    // --quick: a small echo subset (bench/net/cells.ts), no HTTP (autocannon would be fetched)
    groups: new Set<Group>(quick ? ['read', 'nop', 'chain', 'net', 'fs'] : ['read', 'nop', 'chain', 'net', 'http', 'fs']),
    fsCount: quick ? 2000 : 10_000,
    seed: 0x5eed,
  };
}

/** One measured value: the median run plus every run's ops/s. */
export type CellResult = Outcome & { runs?: number[] };

export interface SuiteResult {
  options: SuiteOptions;
  startedAt: Date;
  elapsedS: number;
  /** The read trial's files, one per file system (read-files.ts). */
  files: ReadFile[];
  /** The fs trial's file set (bench/fs-files.ts), when the fs group ran. */
  fsFiles?: FsFileSet;
  fio: string | undefined;
  /** Keyed `read:<fs>:<qd>:<driver>[:<profile>]` and `read:<fs>:psync` (read-cells.ts), `nop:<mode>:<profile>`, `nop:c:<batch>[:<profile>]`. */
  results: Map<string, CellResult>;
}

interface Cell {
  key: string;
  title: string;
  run: () => Promise<Outcome>;
}

export interface Progress {
  start(total: number): void;
  step(done: number, title: string, r: Outcome | Error): void;
  end(): void;
}

/** Progress on stderr: a redrawn bar on a TTY, otherwise one line per finished cell. */
export function stderrProgress(): Progress {
  const tty = process.stderr.isTTY === true;
  let total = 0;
  const t0 = Date.now();
  const describe = (r: Outcome | Error) =>
    r instanceof Error
      ? `FAILED: ${r.message.split('\n')[0]}`
      : isSkip(r)
        ? `skipped: ${r.skipped}`
        : `${fmtOps(r.opsPerSec)} ops/s${'perServerCpuSecond' in r && typeof r.perServerCpuSecond === 'number' ? `, ${fmtOps(r.perServerCpuSecond)} per server CPU-s` : ''}`;
  return {
    start(n) {
      total = n;
      if (tty) process.stderr.write(bar(0, total, 'starting'));
    },
    step(done, title, r) {
      if (tty) process.stderr.write(`\r\x1b[2K${title}: ${describe(r)}\n` + bar(done, total, title));
      else process.stderr.write(`[${done}/${total}] ${title}: ${describe(r)}\n`);
    },
    end() {
      if (tty) process.stderr.write(`\r\x1b[2K`);
      process.stderr.write(`bench: ${total} cells in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    },
  };
}

function bar(done: number, total: number, title: string): string {
  const width = 30;
  const fill = total ? Math.round((done / total) * width) : 0;
  return `\r\x1b[2K[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${done}/${total} ${title}`;
}

export function fmtOps(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs the suite. Creates (and always removes) the read trial's pattern files. */
export async function runSuite(o: SuiteOptions, progress: Progress = stderrProgress()): Promise<SuiteResult> {
  const startedAt = new Date();
  const files = o.groups.has('read') ? planReadFiles(o.fs, o.sizeMiB) : [];
  const fsFiles = o.groups.has('fs') ? planFsFiles(o.fsCount, o.quick ? 16 : 64) : undefined;
  const cells: Cell[] = [];
  const trialTimeout = (o.warmup + o.seconds) * 1000 + 30_000;
  const common = { seconds: o.seconds, warmup: o.warmup };

  const nopCell = (mode: 'perop' | 'batched' | 'bulk', profile: Profile): Cell => ({
    key: `nop:${mode}:${profile}`,
    title: `NOP ${mode === 'perop' ? `per-op x${o.nopQd}` : `${mode} ${o.nopBatch}`} ringflow${profile !== 'fast' ? ` (${profile})` : ''}`,
    run: () => runNodeTrial('nop', { mode, qd: o.nopQd, batch: o.nopBatch, profile, ...common } satisfies NopArgs, trialTimeout),
  });
  let cloop: ReturnType<typeof buildCLoop> | undefined;
  const cCell = (batch: number, profile: Profile = 'fast'): Cell => ({
    key: `nop:c:${batch}${profile !== 'fast' ? `:${profile}` : ''}`,
    title: `NOP C raw ring batch ${batch}${profile !== 'fast' ? ` (${profile})` : ''}`,
    run: async () => {
      cloop ??= buildCLoop();
      if ('skipped' in cloop) return cloop;
      return runCLoop(cloop.exe, batch, o.seconds, o.warmup, C_PROFILE_FLAGS[profile]);
    },
  });

  if (o.groups.has('read')) cells.push(...readCells(o, files, o.profiles ? PROFILES : []));
  if (o.groups.has('nop')) {
    cells.push(nopCell('perop', 'fast'), nopCell('batched', 'fast'), nopCell('bulk', 'fast'));
    const batches = o.quick ? [o.nopBatch] : [1, o.nopQd, o.nopBatch];
    for (const b of [...new Set(batches)]) cells.push(cCell(b));
  }
  if (o.groups.has('chain')) {
    // dependent chains: NOPs (engine overhead only) in 8- and 64-step chains, reads from tmpfs
    // (io-wq bound), reads from a page-cached file on the default temp dir (inline completions);
    // quick mode: NOPs only
    const works: { work: 'nop' | 'read'; dir?: string; tag: string; steps: number }[] = [
      { work: 'nop', tag: 'nop', steps: 8 },
      { work: 'nop', tag: 'nop64', steps: 64 },
    ];
    if (!o.quick) works.push({ work: 'read', tag: 'tmpfs', steps: 8 }, { work: 'read', dir: tmpdir(), tag: 'disk', steps: 8 });
    // NOP chains need IORING_NOP_INJECT_RESULT (6.10): where the kernel's probe says no, the cell says so
    const noInject = opFlagSupported(opByName('nop')!, 'INJECT_RESULT') === true ? undefined : 'this kernel lacks IORING_NOP_INJECT_RESULT (Linux 6.10+), which NOP chains use';
    for (const w of works)
      for (const driver of ['awaited', 'linked', 'program'] as const)
        cells.push({
          key: `chain:${w.tag}:${driver}`,
          title: `chain ${w.tag} ${driver}`,
          run: w.work === 'nop' && noInject
            ? () => Promise.resolve({ skipped: noInject })
            : () => runNodeTrial('chain', { driver, work: w.work, dir: w.dir, steps: w.steps, ...common }, trialTimeout),
        });
  }
  if (o.profiles) {
    for (const p of PROFILES.filter((x) => x !== 'fast')) {
      if (o.groups.has('nop')) cells.push(nopCell('perop', p), nopCell('batched', p), cCell(o.nopBatch, p));
    }
  }

  cells.push(...netCells(o));
  if (fsFiles) cells.push(...fsCells(o, fsFiles), ...startupCells(o));

  const runs = new Map<string, Outcome[]>();
  const onSignal = () => {
    removeReadFiles(files);
    if (fsFiles) removeFsFiles(fsFiles);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const f of files) {
      if (f.skipped) {
        process.stderr.write(`bench: no ${f.kind} read cells: ${f.skipped}\n`);
        continue;
      }
      process.stderr.write(`bench: writing ${f.sizeMiB} MiB pattern file ${f.path} (${f.fsType}), fsync, reading it once\n`);
      createReadFile(f);
    }
    if (fsFiles?.skipped) process.stderr.write(`bench: no fs cells: ${fsFiles.skipped}\n`);
    else if (fsFiles) {
      process.stderr.write(`bench: writing ${fsFiles.count} files of 1 KiB and of 64 KiB and a ${fsFiles.randomMiB} MiB file in ${fsFiles.dir} (${fsFiles.fsType}), sync\n`);
      createFsFiles(fsFiles);
    }
    progress.start(cells.length * o.repeat);
    let done = 0;
    for (let rep = 0; rep < o.repeat; rep++)
      for (const c of cells) {
        let r: Outcome;
        try {
          try {
            r = await c.run();
          } catch {
            // a trial process that dies (e.g. dist/ or the addon being rebuilt under us) gets one more try
            await new Promise((res) => setTimeout(res, 2000));
            r = await c.run();
          }
        } catch (e) {
          progress.step(++done, c.title, e as Error);
          r = { skipped: `failed: ${(e as Error).message.split('\n')[0]}` };
          runs.set(c.key, [...(runs.get(c.key) ?? []), r]);
          continue;
        }
        progress.step(++done, c.title, r);
        runs.set(c.key, [...(runs.get(c.key) ?? []), r]);
      }
    progress.end();
  } finally {
    removeReadFiles(files);
    if (fsFiles) removeFsFiles(fsFiles);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const results = new Map<string, CellResult>();
  for (const [key, rs] of runs) {
    const ok = rs.filter((r) => !isSkip(r)) as Exclude<Outcome, { skipped: string }>[];
    if (ok.length === 0) {
      results.set(key, rs[0]);
      continue;
    }
    const m = median(ok.map((r) => r.opsPerSec));
    const pick = ok.reduce((a, b) => (Math.abs(b.opsPerSec - m) < Math.abs(a.opsPerSec - m) ? b : a));
    results.set(key, { ...pick, opsPerSec: m, runs: ok.map((r) => r.opsPerSec) });
  }
  return {
    options: o,
    startedAt,
    elapsedS: (Date.now() - startedAt.getTime()) / 1000,
    files,
    ...(fsFiles ? { fsFiles } : {}),
    fio: fioVersion(),
    results,
  };
}

/** Blocks in a file of `mib` MiB (for notes). */
export const blocksIn = (mib: number) => (mib << 20) / BLOCK;
