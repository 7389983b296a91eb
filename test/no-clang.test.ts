/**
 * Without a toolchain: `npm start` (ringflow bench --quick) and the program example run with PATH
 * holding nothing but `node` (no clang, no cc, no fio). Every cell prints a number: the program
 * cells load the shipped programs/*.bpf.o, the C NOP loop is the binary `npm install` built with
 * the addon. fio is an outside reference tool: its cells may only say it is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ring } from '../src/index.js';
import { noEngine } from './ring-programs-util.js';
import { tempFile, pattern, lacksFlag } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/test
const cli = join(here, '..', 'tools', 'cli.js');

let noRing: string | false = false;
try {
  await new Ring().close();
} catch (e) {
  noRing = `io_uring unavailable: ${(e as Error).message}`;
}

/** A PATH with only a `node` symlink in it; removed after the test. */
function nodeOnlyPath(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rf-no-clang-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(process.execPath, join(dir, 'node'));
  return dir;
}

test('ringflow bench --quick with only node on PATH: every cell has a number, none failed', { skip: noRing || noEngine, timeout: 180_000 }, (t) => {
  const path = nodeOnlyPath(t);
  for (const tool of ['clang', 'cc', 'gcc']) assert.notEqual(spawnSync(tool, ['--version'], { env: { PATH: path } }).status, 0, `${tool} must not be reachable`);
  const r = spawnSync(join(path, 'node'), [cli, 'bench', '--quick', '--no-write', '--seconds', '0.2', '--warmup', '0.05', '--size', '16'], {
    encoding: 'utf8',
    timeout: 170_000,
    env: { ...process.env, PATH: path, CC: 'cc' },
  });
  assert.equal(r.status, 0, r.stderr);
  const cells = [...r.stderr.matchAll(/^\[(\d+)\/(\d+)\] (.+?): (.*)$/gm)].map((m) => ({ title: m[3]!, outcome: m[4]! }));
  assert.ok(cells.length >= 15, `one progress line per cell:\n${r.stderr}`);
  const titles = cells.map((c) => c.title);
  for (const want of ['chain nop program', 'chain nop64 program', 'NOP C raw ring batch 256', 'read tmpfs QD1 ringflow', 'NOP batched 256 ringflow']) assert.ok(titles.includes(want), `cell ${want} ran`);
  // the page-cached disk file was read too, unless the machine has no disk file system (the QEMU
  // guests of scripts/kernel-suite.sh: /tmp is tmpfs there), which the report says
  assert.ok(titles.some((x) => /^read disk \(.+\) QD1 ringflow$/.test(x)) || /random reads, disk: not measured/.test(r.stdout), 'the page-cached disk file was read too');
  // NOP chains pick each next step by NOP's injected result: where the kernel's probe says it
  // lacks IORING_NOP_INJECT_RESULT (before 6.10) those cells say so instead of measuring
  const noInject = lacksFlag('nop', 'INJECT_RESULT');
  for (const c of cells) {
    if (/ fio /.test(c.title) && /^skipped: fio not installed/.test(c.outcome)) continue; // an outside tool, not ringflow's
    if (noInject && /^chain nop/.test(c.title) && /^skipped: this kernel lacks IORING_NOP_INJECT_RESULT/.test(c.outcome)) continue;
    if (/ Bun /.test(c.title) && /^skipped: Bun: /.test(c.outcome)) continue; // an outside runtime: only a full run fetches it
    if (/^(read disk|fs) /.test(c.title) && /^skipped: no disk file system/.test(c.outcome)) continue; // the QEMU guests: /tmp is tmpfs (the disk reads and ringflow/fs's cells)
    if (/^skipped: .*\(issue 11\).* slot /.test(c.outcome)) continue; // bench/net's slots for issue 11's servers, until they are filled in
    assert.match(c.outcome, /^[\d.]+ [kM]? ?ops\/s(, [\d.]+ [kM]? ?per server CPU-s)?$/, `${c.title}: ${c.outcome}`);
  }
  assert.doesNotMatch(r.stdout + r.stderr, /FAILED|failed|clang/);
  // (the quick run's chains are NOP chains: none to show where the kernel lacks INJECT_RESULT)
  if (!noInject) assert.match(r.stdout, /^\s+program\s+[\d.]+(?: [kM])?\s+[\d.]+\s+[\d.]+×/m, 'the program rows of the chain table have numbers');
});

test('examples/program-read-open with only node on PATH reads the file through the shipped program', { skip: noRing || noEngine }, (t) => {
  const path = nodeOnlyPath(t);
  const f = tempFile(pattern(777));
  t.after(f.cleanup);
  const script = join(here, '..', 'examples', 'program-read-open.js');
  const r = spawnSync(join(path, 'node'), [script, f.path], { encoding: 'utf8', env: { ...process.env, PATH: path } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /: 777 bytes read by a program \(openat → read → close\), JS woke [01] time\(s\)\n$/);
});
