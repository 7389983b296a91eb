/**
 * The fs part of the bench report: the Startup table is printed whether or not the fs trial's
 * files could be measured (in the Debian guests the temp dir is tmpfs, so the file set is skipped,
 * and the startup rows, which write their own file, still run), with the difference to
 * node:fs/promises; skipped drivers say why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fsTables } from '../bench/report-fs.js';
import { startupKey } from '../bench/fs-cells.js';
import type { SuiteResult, CellResult } from '../bench/suite.js';

function suite(skipped: string | undefined): SuiteResult {
  const results = new Map<string, CellResult>();
  const row = (ms: number) => ({ opsPerSec: 1000 / ms, ops: 10, seconds: ms / 100, medianMs: ms, minMs: ms - 1, runs: 10 }) as unknown as CellResult;
  results.set(startupKey('fs'), row(20));
  results.set(startupKey('ringflow'), row(41.5));
  results.set(startupKey('ringflow-src'), row(63));
  results.set(startupKey('bun'), { skipped: 'no Bun here (--quick fetches nothing)' } as unknown as CellResult);
  return {
    options: { quick: true } as SuiteResult['options'],
    startedAt: new Date(0),
    elapsedS: 1,
    files: [],
    fsFiles: { dir: '/tmp/x', fsType: skipped ? 'tmpfs' : 'ext4', count: 10, randomMiB: 16, ...(skipped ? { skipped } : {}) },
    fio: undefined,
    results,
  };
}

for (const skipped of [undefined, 'the temp dir is tmpfs: its reads go through io-wq']) {
  test(`the Startup table ${skipped ? 'also when the fs files are not measured' : 'beside the fs table'}`, () => {
    const tables = fsTables(suite(skipped));
    const st = tables.find((t) => t.title.startsWith('Startup'));
    assert.ok(st, tables.map((t) => t.title).join(' | '));
    assert.deepEqual(st.rows, [
      ['node:fs/promises', '20.0', '19.0', '—'],
      ['Bun node:fs/promises', 'skipped: no Bun here (--quick fetches nothing)', '—', '—'],
      ['ringflow/fs unbundled (dist/src)', '63.0', '62.0', '+43.0'],
      ['ringflow/fs (the package export, bundled)', '41.5', '40.5', '+21.5'],
    ]);
    if (skipped) assert.ok(tables.some((t) => t.title.endsWith('not measured') && t.rows[0][0] === skipped));
  });
}
