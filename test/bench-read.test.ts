/**
 * The read benchmark on both file systems (bench/read-files.ts, read-cells.ts, report-read.ts):
 * where the files go and what their file systems are, the page-cache check, every driver on tiny
 * cells (0.2 s), Bun missing as a clean skip, and the tables and history line the report makes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ring } from '../src/index.js';
import { isSkip, type Outcome } from '../bench/drivers.js';
import { createReadFile, fsTypeOf, planReadFiles, removeReadFiles, residentPct, type ReadFile } from '../bench/read-files.js';
import { bunForReads, psyncKey, readCells, readKey } from '../bench/read-cells.js';
import type { ReadResult } from '../bench/read.js';
import { textReport, writeDocs } from '../bench/report.js';
import { defaultOptions, type CellResult, type SuiteResult } from '../bench/suite.js';
import { CPU_TIME_SCALE } from './helpers.js';

let noRing: string | undefined;
try {
  await new Ring().close();
} catch (e) {
  noRing = `io_uring unavailable: ${(e as Error).message}`;
}

const tiny = { quick: true, seconds: 0.2, warmup: 0.05, seed: 7, qds: [1] };

/** Runs `body` (awaited) with process.env[name] set to `value` (undefined: unset), then restores it. */
async function withEnv<T>(name: string, value: string | undefined, body: () => T | Promise<T>): Promise<T> {
  const old = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return await body();
  } finally {
    if (old === undefined) delete process.env[name];
    else process.env[name] = old;
  }
}

test('the tmpfs file goes to /dev/shm, the disk file to a file system that is not tmpfs', { skip: existsSync('/dev/shm') ? undefined : 'no /dev/shm' }, async () => {
  const [t, d] = await withEnv('RINGFLOW_BENCH_DISK_DIR', undefined, () => planReadFiles(['tmpfs', 'disk'], 4, 'plan'));
  assert.equal(t.kind, 'tmpfs');
  assert.equal(t.dir, '/dev/shm');
  assert.equal(t.fsType, fsTypeOf('/dev/shm'));
  if (!t.skipped) assert.equal(t.fsType, 'tmpfs');
  assert.equal(d.kind, 'disk');
  if (d.skipped) assert.match(d.skipped, /no disk file system among .*RINGFLOW_BENCH_DISK_DIR/);
  else assert.ok(!['tmpfs', 'ramfs', 'unknown'].includes(d.fsType), `disk file on ${d.fsType}`);
  assert.ok(d.path.startsWith(d.dir) && d.path.endsWith('-disk.dat'), d.path);
  assert.equal(d.sizeMiB, 4);
});

test('a "disk" directory on tmpfs is refused with the reason', { skip: existsSync('/dev/shm') ? undefined : 'no /dev/shm' }, async () => {
  const [d] = await withEnv('RINGFLOW_BENCH_DISK_DIR', '/dev/shm', () => planReadFiles(['disk'], 4, 'refuse'));
  assert.equal(d.fsType, 'none');
  assert.match(d.skipped ?? '', /no disk file system among \/dev\/shm \(tmpfs\); set RINGFLOW_BENCH_DISK_DIR/);
});

test('a new read file is resident in the page cache (fincore)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-bench-read-'));
  try {
    const f: ReadFile = { kind: 'disk', dir, fsType: fsTypeOf(dir), path: join(dir, 'f.dat'), sizeMiB: 2 };
    createReadFile(f);
    const pct = residentPct(f.path);
    if (typeof pct !== 'number') return t.skip(pct.unknown);
    assert.equal(pct, 100);
    const missing = residentPct(join(dir, 'missing.dat'));
    assert.ok(typeof missing !== 'number' && /^fincore exited 1: /.test(missing.unknown), JSON.stringify(missing));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function measured(r: Outcome | undefined, what: string): ReadResult {
  assert.ok(r, `${what}: no result`);
  assert.ok(!isSkip(r), `${what} was skipped: ${isSkip(r) ? r.skipped : ''}`);
  const x = r as ReadResult;
  assert.ok(x.ops > 0 && x.opsPerSec > 0 && x.seconds >= 0.2, `${what}: ${JSON.stringify(x)}`);
  return x;
}

test('every read driver on both file systems, with Bun missing as a clean skip', { skip: noRing, timeout: 120_000 * CPU_TIME_SCALE }, async (t) => {
  const planned = await withEnv('RINGFLOW_BENCH_DISK_DIR', undefined, () => planReadFiles(['tmpfs', 'disk'], 4, `cells-${process.pid}`));
  const files = planned.filter((f) => !f.skipped);
  if (files.length === 0) return t.skip(planned.map((f) => f.skipped).join('; '));
  const results = new Map<string, CellResult>();
  try {
    for (const f of files) createReadFile(f);
    await withEnv('RINGFLOW_BUN', '/nonexistent/bun', async () => {
      for (const c of readCells(tiny, files)) results.set(c.key, await c.run());
    });
  } finally {
    removeReadFiles(files);
  }
  for (const f of files) {
    const bun = results.get(readKey(f.kind, 1, 'bun'));
    assert.deepEqual(bun, { skipped: 'RINGFLOW_BUN=/nonexistent/bun does not exist' });
    const fs = measured(results.get(readKey(f.kind, 1, 'fs')), `${f.kind} node:fs/promises`);
    assert.ok(fs.verified! >= fs.ops, 'every completion is checked (warm-up ones too)');
    assert.match(fs.note ?? '', /^Node v\d+.* node:fs\/promises/);
    const rf = measured(results.get(readKey(f.kind, 1, 'ringflow')), `${f.kind} ringflow`);
    assert.equal(typeof rf.ioWorkers, 'number');
    assert.ok(rf.ioWorkers! >= 0, 'the trial could not count its io-wq workers');
    for (const key of [readKey(f.kind, 1, 'fio'), psyncKey(f.kind)]) {
      const r = results.get(key);
      if (isSkip(r)) assert.match(r.skipped, /fio/);
      else measured(r, key);
    }
    // the page cache was checked before each cell (where fincore exists)
    if (typeof residentPct(process.execPath) === 'number') assert.equal(rf.residentPct, 100);
  }
  // the report: a table per file system, labelled by how ringflow's reads completed; Bun's skip noted there
  const o = { ...defaultOptions(true), qds: [1], groups: new Set(['read'] as const), profiles: false };
  const s: SuiteResult = { options: o, startedAt: new Date(), elapsedS: 1, files, fio: undefined, results };
  const text = textReport(s);
  for (const f of files) {
    const rf = results.get(readKey(f.kind, 1, 'ringflow')) as ReadResult;
    const mode = rf.ioWorkers! > 0 ? 'io-wq' : 'inline';
    const label = f.kind === 'tmpfs' ? `${f.fsType} (${mode})` : `${f.fsType}, page cache (${mode})`;
    assert.ok(text.includes(`4 KiB random reads, ${label}: 4 MiB file in ${f.dir}, IOPS`), `no table titled with "${label}" in\n${text}`);
  }
  assert.match(text, /^1\s+[\d.]+(?: [kM])?\s+skipped\s+[\d.]+(?: [kM])?\s/m);
  assert.match(text, /skipped: RINGFLOW_BUN=\/nonexistent\/bun does not exist/);
});

test('Bun runs the node:fs/promises trial where it is installed', { skip: noRing, timeout: 60_000 * CPU_TIME_SCALE }, async (t) => {
  const bun = bunForReads(true); // quick: uses a Bun that is already there, fetches nothing
  if ('skipped' in bun) return t.skip(bun.skipped);
  const files = planReadFiles(['disk'], 4, `bun-${process.pid}`).filter((f) => !f.skipped);
  if (files.length === 0) return t.skip('no disk file system here');
  try {
    createReadFile(files[0]);
    const cell = readCells(tiny, files).find((c) => c.key === readKey('disk', 1, 'bun'))!;
    const r = measured(await cell.run(), 'Bun');
    assert.equal(r.note, `Bun ${bun.version} node:fs/promises`);
  } finally {
    removeReadFiles(files);
  }
});

test('report: ratios against node:fs/promises, Bun and fio on each file system; the history line leads with disk QD1 against fio', () => {
  const files: ReadFile[] = [
    { kind: 'tmpfs', dir: '/dev/shm', fsType: 'tmpfs', path: '/dev/shm/x', sizeMiB: 8 },
    { kind: 'disk', dir: '/tmp', fsType: 'ext4', path: '/tmp/x', sizeMiB: 8 },
  ];
  const r = (opsPerSec: number, extra: Partial<ReadResult> = {}): CellResult => ({ opsPerSec, ops: opsPerSec, seconds: 1, ...extra });
  const results = new Map<string, CellResult>([
    [readKey('tmpfs', 1, 'fs'), r(20_000)],
    [readKey('tmpfs', 1, 'bun'), r(25_000)],
    [readKey('tmpfs', 1, 'ringflow'), r(50_000, { ioWorkers: 1, residentPct: 100 })],
    [readKey('tmpfs', 1, 'fio'), r(100_000)],
    [psyncKey('tmpfs'), r(300_000)],
    [readKey('disk', 1, 'fs'), r(22_000)],
    [readKey('disk', 1, 'bun'), { skipped: 'Bun: not here' }],
    [readKey('disk', 1, 'ringflow'), r(264_000, { ioWorkers: 0, residentPct: 99.5 })],
    [readKey('disk', 1, 'fio'), r(570_000)],
    [psyncKey('disk'), r(839_000)],
    [readKey('tmpfs', 64, 'fs'), r(50_000)],
    [readKey('tmpfs', 64, 'bun'), r(400_000)],
    [readKey('tmpfs', 64, 'ringflow'), r(300_000, { ioWorkers: 2 })],
    [readKey('tmpfs', 64, 'fio'), r(400_000)],
    [readKey('disk', 64, 'fs'), r(95_000)],
    [readKey('disk', 64, 'bun'), { skipped: 'Bun: not here' }],
    [readKey('disk', 64, 'ringflow'), r(487_000, { ioWorkers: 0 })],
    [readKey('disk', 64, 'fio'), r(558_000)],
  ]);
  const o = { ...defaultOptions(true), qds: [1, 64], groups: new Set(['read'] as const), profiles: false };
  const s: SuiteResult = { options: o, startedAt: new Date('2026-01-02T03:04:05Z'), elapsedS: 1, files, fio: 'fio-3.33', results };
  const text = textReport(s);
  assert.match(text, /4 KiB random reads, tmpfs \(io-wq\): 8 MiB file in \/dev\/shm, IOPS/);
  assert.match(text, /4 KiB random reads, ext4, page cache \(inline\): 8 MiB file in \/tmp, IOPS/);
  assert.match(text, /^QD\s+node:fs\/promises\s+Bun\s+ringflow\s+fio io_uring\s+fio psync\s+ringflow ÷ fs\s+ringflow ÷ Bun\s+ringflow ÷ fio\s+ringflow IOS\/call$/m);
  // tmpfs: 50 k / 20 k = 2.50×, / 25 k = 2.00×, / 100 k = 50 %
  assert.match(text, /^1\s+20\.0 k\s+25\.0 k\s+50\.0 k\s+100\.0 k\s+300\.0 k\s+2\.50×\s+2\.00×\s+50 %\s+—$/m);
  // disk: 264 k / 22 k = 12.00×, Bun skipped, / 570 k = 46 %
  assert.match(text, /^1\s+22\.0 k\s+skipped\s+264\.0 k\s+570\.0 k\s+839\.0 k\s+12\.00×\s+—\s+46 %\s+—$/m);
  assert.match(text, /skipped: Bun: not here/);
  assert.match(text, /^64\s+50\.0 k\s+400\.0 k\s+300\.0 k\s+400\.0 k\s+—\s+6\.00×\s+0\.75×\s+75 %\s+—$/m);
  assert.match(text, /io-wq worker threads in ringflow's process when its window closed: QD1: 1, QD64: 2 \(0 = every read/);
  assert.match(text, /io-wq worker threads in ringflow's process when its window closed: QD1: 0, QD64: 0 \(0 = every read completed inline/);
  assert.match(text, /at least 99\.5 % of the file resident at the start of every cell/);
  const dir = mkdtempSync(join(tmpdir(), 'rf-bench-doc-'));
  try {
    const doc = readFileSync(writeDocs(s, join(dir, 'benchmarks.md')), 'utf8');
    assert.match(doc, /read ext4, page cache \(inline\) QD1 ringflow 264\.0 k = 46 % of fio io_uring, — Bun, 12\.00× node:fs\/promises/);
    assert.match(doc, /ext4, page cache \(inline\) QD1 [^\n]*; read tmpfs \(io-wq\) QD64 ringflow 300\.0 k = 75 % of fio io_uring, 0\.75× Bun, 6\.00× node:fs\/promises; NOP/);
    assert.match(doc, /\| 1 \| 22\.0 k \| skipped \| 264\.0 k \|/); // the Markdown table of the latest block
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
