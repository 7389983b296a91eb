/**
 * The fs table of the bench report: for each workload and concurrency, node:fs/promises, Bun and
 * ringflow/fs in calls per second, ringflow ÷ each, and CPU time per call of each process (every
 * thread: libuv's pool for Node, Bun's own), plus ringflow's JS wakeups and io_uring_enter calls
 * per call where its ring is known.
 */
import { isSkip } from './drivers.js';
import { FS_WORKLOADS, STARTUP_DRIVERS, fsConcurrencies, fsKey, fsWorkloads, startupKey, startupRuns, startupTitle } from './fs-cells.js';
import type { FsTrialResult } from './fs-trial.js';
import type { StartupResult } from './fs-startup.js';
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
  if (set.skipped) return [startupTable(s), { title: 'ringflow/fs against node:fs/promises and Bun: not measured', head: ['why'], rows: [[set.skipped]], notes: [] }];
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
  const trial = (k: string) => k.startsWith('fs:') && !k.startsWith('fs:startup:'); // (the startup table has its own notes)
  for (const [k, r] of R) if (trial(k) && !isSkip(r) && r.note) notes.add(`${k.split(':').pop() === 'ringflow' ? 'ringflow' : k.endsWith(':bun') ? 'Bun' : 'Node'}: ${r.note}`);
  const skips = new Set([...R].filter(([k, r]) => trial(k) && isSkip(r)).map(([, r]) => (r as { skipped: string }).skipped));
  return [
    startupTable(s),
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

/** A fresh process per run that imports the module and reads one file: ms spawn to exit, and ringflow's cost over node:fs/promises. */
function startupTable(s: SuiteResult): Table {
  const R = s.results;
  const base = ok(R.get(startupKey('fs'))) as StartupResult | undefined;
  const rows: Row[] = STARTUP_DRIVERS.map((d) => {
    const r = R.get(startupKey(d));
    const x = ok(r) as StartupResult | undefined;
    if (!x) return [startupTitle(d), isSkip(r) ? `skipped: ${(r as { skipped: string }).skipped}` : '—', '—', '—'];
    return [startupTitle(d), x.medianMs.toFixed(1), x.minMs.toFixed(1), base && d !== 'fs' ? `${x.medianMs - base.medianMs >= 0 ? '+' : ''}${(x.medianMs - base.medianMs).toFixed(1)}` : '—'];
  });
  return {
    title: 'Startup: a fresh process imports the module and reads one 1 KiB file, ms from spawn to exit',
    head: ['module', 'median ms', 'fastest ms', 'median − node:fs/promises'],
    rows,
    notes: [
      `${startupRuns(s.options.quick)} processes per row, one after another (bench/fs-startup.ts); each checks the 1024 bytes it read. Node rows run the bench's Node; Bun runs \`bun -e\`.`,
      'The unbundled row is dist/src/fs/index.js, the module files tsc writes; the package exports the bundle tools/bundle.ts makes of them (dist/pkg).',
    ],
  };
}

/** The fs part of the history line: each workload at 64 in flight against node:fs/promises and Bun. */
export function fsHeadline(s: SuiteResult): string {
  if (!s.fsFiles || s.fsFiles.skipped) return '';
  const R = s.results;
  const parts = fsWorkloads(s.options.quick).map((w) => {
    const rf = R.get(fsKey(w.tag, 64, 'ringflow'));
    return `${w.tag} x64 ${rate(asFs(rf))} = ${ratio(rf, R.get(fsKey(w.tag, 64, 'fs')))} node:fs/promises, ${ratio(rf, R.get(fsKey(w.tag, 64, 'bun')))} Bun`;
  });
  const st = (d: 'fs' | 'ringflow') => ok(R.get(startupKey(d))) as StartupResult | undefined;
  const [sf, sr] = [st('fs'), st('ringflow')];
  const startup = sf && sr ? `; startup (import + one readFile) ringflow/fs ${sr.medianMs.toFixed(1)} ms, node:fs/promises ${sf.medianMs.toFixed(1)} ms` : '';
  return `; fs ${parts.join(', ')}${startup}`;
}
