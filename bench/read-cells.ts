/**
 * The read trial's cells: for each file system (read-files.ts) and queue depth, side by side in
 * one run: node:fs/promises under Node, the same file under Bun, ringflow (ring.read loops), fio
 * io_uring; and fio psync once per file system (synchronous, QD 1). Each cell first makes sure its
 * file is in the page cache and records the residency it started with.
 */
import { spawnSync } from 'node:child_process';
import { isSkip, runFio, runNodeTrial, runTrialIn, type Outcome, type Skip } from './drivers.js';
import { ensureResident, type FsKind, type ReadFile } from './read-files.js';
import { bunBinary, fetchAllowed } from './net/tools.js';
import type { FspArgs } from './read-fsp.js';
import type { ReadArgs, ReadResult } from './read.js';
import type { Profile } from './suite.js';

/** Drivers of one read cell. fs = node:fs/promises under Node, bun = the same under Bun. */
export type ReadDriver = 'fs' | 'bun' | 'ringflow' | 'fio';

/** `read:<fs>:<qd>:<driver>`; ringflow cells end in `:<profile>`. */
export const readKey = (kind: FsKind, qd: number, driver: ReadDriver, profile?: Profile) =>
  `read:${kind}:${qd}:${driver}${driver === 'ringflow' ? `:${profile ?? 'fast'}` : ''}`;
/** fio psync is synchronous: one cell per file system. */
export const psyncKey = (kind: FsKind) => `read:${kind}:psync`;

export interface ReadCell {
  key: string;
  title: string;
  run: () => Promise<Outcome>;
}

/** What the read cells need from the suite's options. */
export interface ReadCellOptions {
  quick: boolean;
  seconds: number;
  warmup: number;
  seed: number;
  qds: number[];
}

const DRIVER_TITLE: Record<ReadDriver, string> = { fs: 'node:fs/promises', bun: 'Bun node:fs/promises', ringflow: 'ringflow', fio: 'fio io_uring' };

/**
 * The Bun executable for the bun cells, looked up once per run: fetched from npm into the bench
 * cache only when the run may fetch (not --quick, not RINGFLOW_BENCH_FETCH=0), like bench/net.
 */
export function bunForReads(quick: boolean): { exe: string; version: string } | Skip {
  const b = bunBinary(!quick && fetchAllowed());
  if ('skipped' in b) return b;
  if (b.version) return { exe: b.exe, version: b.version };
  const v = spawnSync(b.exe, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (v.status !== 0) return { skipped: `Bun at ${b.exe} does not run: ${(v.error?.message ?? v.stderr).trim().split('\n')[0]}` };
  return { exe: b.exe, version: v.stdout.trim() };
}

/** The read cells for `files` (skipped file systems give one skipped cell each, so the report can say why). */
export function readCells(o: ReadCellOptions, files: readonly ReadFile[], profiles: readonly Profile[] = []): ReadCell[] {
  const cells: ReadCell[] = [];
  const timeout = (o.warmup + o.seconds) * 1000 + 30_000;
  const common = { seconds: o.seconds, warmup: o.warmup, seed: o.seed };
  let bun: ReturnType<typeof bunForReads> | undefined;
  const withResidency = (f: ReadFile, run: () => Promise<Outcome>) => async (): Promise<Outcome> => {
    const residentPct = ensureResident(f.path);
    const r = await run();
    if (isSkip(r) || residentPct === undefined) return r;
    const measured: ReadResult = { ...r, residentPct };
    return measured;
  };
  for (const f of files) {
    const label = f.kind === 'tmpfs' ? 'tmpfs' : `disk (${f.fsType})`;
    if (f.skipped) {
      const skipped = f.skipped;
      for (const qd of o.qds) cells.push({ key: readKey(f.kind, qd, 'ringflow'), title: `read ${label} QD${qd}`, run: () => Promise.resolve({ skipped }) });
      continue;
    }
    const cell = (qd: number, driver: ReadDriver, profile?: Profile): ReadCell => ({
      key: readKey(f.kind, qd, driver, profile),
      title: `read ${label} QD${qd} ${DRIVER_TITLE[driver]}${profile && profile !== 'fast' ? ` (${profile})` : ''}`,
      run: withResidency(f, () => {
        const a = { file: f.path, qd, ...common };
        switch (driver) {
          case 'fs':
            return runNodeTrial('read-fsp', a satisfies FspArgs, timeout);
          case 'bun': {
            bun ??= bunForReads(o.quick);
            if ('skipped' in bun) return Promise.resolve(bun);
            return runTrialIn(bun.exe, 'read-fsp', a satisfies FspArgs, timeout);
          }
          case 'ringflow':
            return runNodeTrial<ReadResult>('read', { ...a, profile } satisfies ReadArgs, timeout);
          case 'fio':
            return runFio(f.path, qd, o.seconds, o.warmup);
        }
      }),
    });
    for (const qd of o.qds) cells.push(cell(qd, 'fs'), cell(qd, 'bun'), cell(qd, 'ringflow', 'fast'), cell(qd, 'fio'));
    if (o.qds.includes(1))
      cells.push({ key: psyncKey(f.kind), title: `read ${label} QD1 fio psync`, run: withResidency(f, () => runFio(f.path, 1, o.seconds, o.warmup, 'psync')) });
    for (const p of profiles) if (p !== 'fast') cells.push(cell(64, 'ringflow', p));
  }
  return cells;
}
