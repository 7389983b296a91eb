/**
 * The read tables of the bench report: one per file system, each labelled with what the kernel
 * did with the reads ("tmpfs (io-wq)", "ext4, page cache (inline)"), taken from the ringflow
 * cells' io-wq worker count rather than assumed. Columns: every driver's IOPS, then ringflow ÷
 * node:fs/promises, ringflow ÷ Bun and ringflow as % of fio io_uring.
 */
import { isSkip } from './drivers.js';
import { psyncKey, readKey } from './read-cells.js';
import type { ReadFile } from './read-files.js';
import type { ReadResult } from './read.js';
import { ios, ok, rate, ratio, type Row, type Table } from './report-format.js';
import type { CellResult, SuiteResult } from './suite.js';

const asRead = (r: CellResult | undefined) => ok(r) as (ReadResult & { runs?: number[] }) | undefined;

/** Every result of one file system's cells. */
function cellsOf(s: SuiteResult, f: ReadFile): [string, CellResult][] {
  return [...s.results].filter(([k]) => k.startsWith(`read:${f.kind}:`));
}

/**
 * How the reads completed, from the ringflow cells: "io-wq" when its process had io-wq workers
 * (any cell), "inline" when none had any; undefined when no ringflow cell says.
 */
export function completionMode(s: SuiteResult, f: ReadFile): { mode?: 'io-wq' | 'inline'; workers: string[] } {
  const workers: string[] = [];
  let any = false;
  let known = false;
  for (const [k, r] of cellsOf(s, f)) {
    const x = asRead(r);
    if (!k.includes(':ringflow:') || x?.ioWorkers === undefined || x.ioWorkers < 0) continue;
    known = true;
    if (x.ioWorkers > 0) any = true;
    const [, , qd, , profile] = k.split(':');
    workers.push(`QD${qd}${profile !== 'fast' ? ` ${profile}` : ''}: ${x.ioWorkers}`);
  }
  return { mode: known ? (any ? 'io-wq' : 'inline') : undefined, workers };
}

/** "tmpfs (io-wq)", "ext4, page cache (inline)": the file system and how its reads completed. */
export function fsLabel(s: SuiteResult, f: ReadFile): string {
  const { mode } = completionMode(s, f);
  const base = f.kind === 'tmpfs' ? f.fsType : `${f.fsType}, page cache`;
  return mode ? `${base} (${mode})` : base;
}

function residencyNote(s: SuiteResult, f: ReadFile): string {
  const pcts = cellsOf(s, f)
    .map(([, r]) => asRead(r)?.residentPct)
    .filter((p): p is number => p !== undefined);
  if (pcts.length === 0) return 'page cache: residency not checked (fincore from util-linux is not installed); the file was written, fsync\'d and read once before the cells';
  const min = Math.min(...pcts);
  return min >= 100
    ? `page cache: the whole file was resident (fincore) at the start of every cell; written, fsync'd and read once before the cells`
    : `page cache: at least ${min.toFixed(1)} % of the file resident at the start of every cell (fincore, after re-reading it where it was less than 100 %)`;
}

export function readTables(s: SuiteResult): Table[] {
  const R = s.results;
  const out: Table[] = [];
  for (const f of s.files) {
    if (f.skipped) {
      out.push({ title: `4 KiB random reads, ${f.kind}: not measured`, head: ['why'], rows: [[f.skipped]], notes: [] });
      continue;
    }
    const rows: Row[] = s.options.qds.map((qd) => {
      const fs = R.get(readKey(f.kind, qd, 'fs'));
      const bun = R.get(readKey(f.kind, qd, 'bun'));
      const rf = R.get(readKey(f.kind, qd, 'ringflow'));
      const fio = R.get(readKey(f.kind, qd, 'fio'));
      const psync = qd === 1 ? rate(R.get(psyncKey(f.kind))) : '—';
      return [String(qd), rate(fs), rate(bun), rate(rf), rate(fio), psync, ratio(rf, fs), ratio(rf, bun), ratio(rf, fio, true), ios(rf)];
    });
    const { workers } = completionMode(s, f);
    const bun = [...cellsOf(s, f)].map(([k, r]) => (k.endsWith(':bun') ? asRead(r)?.note : undefined)).find((n) => n);
    const skips = new Set(cellsOf(s, f).flatMap(([, r]) => (isSkip(r) ? [r.skipped] : [])));
    out.push({
      title: `4 KiB random reads, ${fsLabel(s, f)}: ${f.sizeMiB} MiB file in ${f.dir}, IOPS`,
      head: ['QD', 'node:fs/promises', 'Bun', 'ringflow', 'fio io_uring', 'fio psync', 'ringflow ÷ fs', 'ringflow ÷ Bun', 'ringflow ÷ fio', 'ringflow IOS/call'],
      rows,
      notes: [
        'ringflow: QD concurrent loops of `await ring.read(fd, buf, pos)` (profile fast); node:fs/promises and Bun: QD loops of `await handle.read(buf, 0, 4096, pos)` (bench/read-fsp.ts, the same file under both runtimes' +
          `${bun ? `; ${bun}` : ''}).`,
        'Every completed read is checked against the file pattern in the Node and Bun drivers; fio: --direct=0 --norandommap, its own random offsets; fio psync is synchronous (one pread at a time), so it has a QD 1 figure only.',
        `io-wq worker threads in ringflow's process when its window closed: ${workers.length ? workers.join(', ') : 'not known'} (0 = every read completed inline in io_uring_enter).`,
        residencyNote(s, f),
        ...[...skips].map((n) => `skipped: ${n}`),
      ],
    });
  }
  return out;
}

/** The read part of the history line: disk QD1 against fio, Bun and node:fs/promises (the issue 12 bar), then tmpfs QD64 against node:fs/promises and fio against the same. */
export function readHeadline(s: SuiteResult): string {
  const R = s.results;
  const parts: string[] = [];
  for (const f of [...s.files].sort((a, b) => (a.kind === 'disk' ? -1 : b.kind === 'disk' ? 1 : 0))) {
    if (f.skipped) continue;
    const qd = f.kind === 'tmpfs' ? 64 : 1;
    if (!s.options.qds.includes(qd)) continue;
    const rf = R.get(readKey(f.kind, qd, 'ringflow'));
    const vs = [`${ratio(rf, R.get(readKey(f.kind, qd, 'fio')), true)} of fio io_uring`, `${ratio(rf, R.get(readKey(f.kind, qd, 'bun')))} Bun`, `${ratio(rf, R.get(readKey(f.kind, qd, 'fs')))} node:fs/promises`];
    parts.push(`read ${fsLabel(s, f)} QD${qd} ringflow ${rate(ok(rf))} = ${vs.join(', ')}`);
  }
  return parts.join('; ');
}
