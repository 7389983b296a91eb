/**
 * The fs table of the bench report: for each workload and concurrency, node:fs/promises, Bun and
 * ringflow/fs in calls per second, ringflow ÷ each, and CPU time per call of each process (every
 * thread: libuv's pool for Node, Bun's own), plus ringflow's JS wakeups and io_uring_enter calls
 * per call where its ring is known.
 */
import { isSkip } from './drivers.js';
import { FS_WORKLOADS, fsConcurrencies, fsKey, fsWorkloads } from './fs-cells.js';
import type { FsTrialResult } from './fs-trial.js';
import { ok, rate, ratio, type Row, type Table } from './report-format.js';
import type { CellResult, SuiteResult } from './suite.js';

const asFs = (r: CellResult | undefined) => ok(r) as (FsTrialResult & { runs?: number[] }) | undefined;
const cpu = (r: CellResult | undefined) => {
  const x = asFs(r);
  return x?.cpuUsPerOp !== undefined ? x.cpuUsPerOp.toFixed(1) : '—';
};

export function fsTables(s: SuiteResult): Table[] {
  const set = s.fsFiles;
  if (!set) return [];
  const R = s.results;
  if (set.skipped) return [{ title: 'ringflow/fs against node:fs/promises and Bun: not measured', head: ['why'], rows: [[set.skipped]], notes: [] }];
  const rows: Row[] = [];
  for (const w of fsWorkloads(s.options.quick))
    for (const conc of fsConcurrencies(s.options.quick)) {
      const fs = R.get(fsKey(w.tag, conc, 'fs'));
      const bun = R.get(fsKey(w.tag, conc, 'bun'));
      const rf = R.get(fsKey(w.tag, conc, 'ringflow'));
      const x = asFs(rf);
      rows.push([
        w.title,
        conc === 1 ? '1 (sequential)' : String(conc),
        rate(fs),
        rate(bun),
        rate(rf),
        ratio(rf, fs),
        ratio(rf, bun),
        `${cpu(fs)} / ${cpu(bun)} / ${cpu(rf)}`,
        x?.wakeupsPerOp !== undefined ? `${x.wakeupsPerOp.toFixed(2)} / ${(x.entersPerOp ?? 0).toFixed(2)}` : '—',
      ]);
    }
  const notes = new Set<string>();
  for (const [k, r] of R) if (k.startsWith('fs:') && !isSkip(r) && r.note) notes.add(`${k.split(':').pop() === 'ringflow' ? 'ringflow' : k.endsWith(':bun') ? 'Bun' : 'Node'}: ${r.note}`);
  const skips = new Set([...R].filter(([k, r]) => k.startsWith('fs:') && isSkip(r)).map(([, r]) => (r as { skipped: string }).skipped));
  return [
    {
      title: `ringflow/fs against node:fs/promises and Bun: ${set.count} files of each size in ${set.dir} (${set.fsType}, page cache), calls/s`,
      head: ['call', 'in flight', 'node:fs/promises', 'Bun', 'ringflow/fs', 'ringflow ÷ fs', 'ringflow ÷ Bun', 'CPU µs/call fs / Bun / ringflow', 'ringflow wakeups / enters per call'],
      rows,
      notes: [
        `Each cell a fresh process cycling through the files (${FS_WORKLOADS.map((w) => w.title).join('; ')}: one ${set.randomMiB} MiB file, one FileHandle); every result checked (the file's stamp, stat's size, the block pattern). Node and Bun run the same compiled file (bench/fs-trial.ts).`,
        'CPU µs/call: user + system time of the whole process over the measured window ÷ calls (io-wq workers are kernel threads, not counted for ringflow).',
        ...notes,
        ...[...skips].map((n) => `skipped: ${n}`),
      ],
    },
  ];
}

/** The fs part of the history line: each workload at 64 in flight against node:fs/promises and Bun. */
export function fsHeadline(s: SuiteResult): string {
  if (!s.fsFiles || s.fsFiles.skipped) return '';
  const R = s.results;
  const parts = fsWorkloads(s.options.quick).map((w) => {
    const rf = R.get(fsKey(w.tag, 64, 'ringflow'));
    return `${w.tag} x64 ${rate(asFs(rf))} = ${ratio(rf, R.get(fsKey(w.tag, 64, 'fs')))} node:fs/promises, ${ratio(rf, R.get(fsKey(w.tag, 64, 'bun')))} Bun`;
  });
  return `; fs ${parts.join(', ')}`;
}
