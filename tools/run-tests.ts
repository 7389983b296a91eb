/**
 * `npm test`: runs every dist/test/**\/*.test.js file with `node --test`, one file at a time (RF_TEST_JOBS: 1-8 at once).
 *
 * Node 20 and 26 accept a directory after `--test`; Node 22 and 24 take it as a module path
 * ("Cannot find module .../dist/test"), and Node 20 has no glob patterns. Listing the files here
 * works on every line. Arguments are passed to `node --test` (e.g. `--test-reporter=tap`);
 * arguments naming test files or directories replace the default dist/test. `--tier=kernel` leaves
 * out the files of tools/test-tiers.ts's HOST_ONLY (the QEMU guests' run).
 *
 * Tests that run an opcode against the kernel call requireOp() (test/helpers.ts), which writes a
 * line to the ledger file named by RF_OP_LEDGER; after the run this prints, as TAP comments, how
 * many of the table's opcodes ran, which the kernel's probe skipped, and which no test ran.
 *
 * Every file's process loads tools/test-watchdog.ts, which stops a file in which no test starts or
 * ends for RF_TEST_STALL seconds (default: 300, or 600 for `--tier=kernel` under TCG, where the
 * longest test took 162 s on 2026-11-28) and says where it stood.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { tmpdir } from 'node:os';
import { OPS } from '../src/ops/table.js';
import { TIERS, inTier, type Tier } from './test-tiers.js';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

function testFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const tierArg = args.find((a) => a.startsWith('--tier='));
const tier = (tierArg?.slice('--tier='.length) ?? 'all') as Tier;
if (!TIERS.includes(tier)) {
  console.error(`run-tests: --tier= takes ${TIERS.join(' or ')} (got ${JSON.stringify(tier)})`);
  process.exit(2);
}
const options = args.filter((a) => a.startsWith('-') && a !== tierArg);
const targets = args.filter((a) => !a.startsWith('-'));
const testRoot = join(root, 'dist', 'test');
const found = (targets.length ? targets : [testRoot]).flatMap((t) => testFiles(resolve(t)));
const files = found.filter((f) => inTier(relative(testRoot, f).split(sep).join('/'), tier));
if (files.length < found.length) {
  console.log(`# tier ${tier}: ${found.length - files.length} host-only test files left out (tools/test-tiers.ts: they never reach the kernel)`);
}
if (files.length === 0) {
  console.error('run-tests: no *.test.js files found (run `npx tsc -p .` first)');
  process.exit(1);
}
const watchdog = pathToFileURL(join(root, 'dist', 'tools', 'test-watchdog.js')).href;
const stall = process.env.RF_TEST_STALL ?? (tier === 'kernel' ? '600' : '300');
// files run one at a time unless RF_TEST_JOBS says how many at once (the QEMU guests: kernel-suite.sh JOBS)
const jobs = process.env.RF_TEST_JOBS ?? '1';
if (!/^[1-8]$/.test(jobs)) {
  console.error(`run-tests: RF_TEST_JOBS takes 1 to 8 (got ${JSON.stringify(jobs)})`);
  process.exit(2);
}
// (made once the arguments are known good: an exit above leaves no directory behind)
const ledgerDir = mkdtempSync(join(tmpdir(), 'ringflow-ledger-'));
const ledger = join(ledgerDir, 'ops.tsv');
// (NODE_TEST_CONTEXT, inherited when a test runs this runner, would make `node --test` run no file)
const { NODE_TEST_CONTEXT: _, ...env } = process.env;
const r = spawnSync(process.execPath, [`--import=${watchdog}`, '--test', `--test-concurrency=${jobs}`, ...options, ...files.map((f) => relative(process.cwd(), f) || f)], {
  stdio: 'inherit',
  env: { ...env, RF_OP_LEDGER: ledger, RF_TEST_STALL: stall },
});
if (r.error) throw r.error;
report(existsSync(ledger) ? readFileSync(ledger, 'utf8') : '');
rmSync(ledgerDir, { recursive: true, force: true });
process.exit(r.status ?? 1);

/** The opcode ledger as TAP comments: ran against the kernel / skipped by the probe / not run by any test. */
function report(lines: string): void {
  const ran = new Set<string>();
  const skipped = new Map<string, string>();
  for (const line of lines.split('\n')) {
    const [op, outcome, reason] = line.split('\t');
    if (outcome === 'ran') ran.add(op);
    else if (outcome === 'skipped') skipped.set(op, reason);
  }
  for (const op of ran) skipped.delete(op);
  const untested = OPS.filter((o) => !ran.has(o.name) && !skipped.has(o.name)).map((o) => o.name);
  const partial = targets.length > 0 ? ' (these test files only)' : '';
  console.log(`# opcodes${partial}: ${ran.size} of ${OPS.length} ran against the kernel, ${skipped.size} skipped by the kernel's probe, ${untested.length} not run by a test`);
  for (const [op, why] of skipped) console.log(`#   skipped ${op}: ${why}`);
  if (untested.length) console.log(`#   not run: ${untested.join(', ')}`);
}
