// The native fuzz targets (native/fuzz/*.c: libFuzzer with ASan and UBSan) built and run briefly
// by scripts/fuzz-native.sh, as CI does; the VM target replays its seeds, each compiled and
// interpreted, through every way a run can end. Skips, with the script's reason, where clang or
// its libFuzzer runtime is missing (scripts/ensure-deps.sh installs them as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');
const UNAVAILABLE = 77; // scripts/fuzz-native.sh: no clang with libFuzzer

function script(args: string[], seconds: number): { status: number | null; out: string } {
  const r = spawnSync('bash', ['scripts/fuzz-native.sh', ...args], { cwd: root, encoding: 'utf8', timeout: (seconds + 240) * 1000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('native fuzz targets: each builds and runs 3 s under ASan/UBSan without a finding', { timeout: 600_000 }, (t) => {
  const r = script(['--seconds', '3'], 3 * readdirSync(join(root, 'native', 'fuzz')).length);
  if (r.status === UNAVAILABLE) return t.skip(r.out.trim());
  assert.equal(r.status, 0, r.out);
  const targets = readdirSync(join(root, 'native', 'fuzz')).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2));
  assert.ok(targets.includes('vm'));
  for (const name of targets) {
    const line = new RegExp(`^fuzz ${name}: (\\d+) runs in \\d+ s, cov (\\d+), .*clean$`, 'm').exec(r.out);
    assert.ok(line, `no summary line for ${name}:\n${r.out}`);
    assert.ok(Number(line[1]) > 100 && Number(line[2]) > 50, line[0]); // it ran and explored (coverage after 3 s varies with the load)
  }
});

test('native VM fuzz target: its seeds run compiled and interpreted alike, ending every way a run can', { timeout: 300_000 }, (t) => {
  const built = script(['--only', 'vm', '--build-only'], 0);
  if (built.status === UNAVAILABLE) return t.skip(built.out.trim());
  assert.equal(built.status, 0, built.out);
  const seeds = readdirSync(join(root, 'native', 'fuzz', 'seeds', 'vm')).map((f) => join('native', 'fuzz', 'seeds', 'vm', f));
  const r = spawnSync(join(root, 'build', 'fuzz', 'vm', 'vm'), seeds, { cwd: root, encoding: 'utf8', env: { ...process.env, VM_FUZZ_VERBOSE: '1' }, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr.slice(-4000));
  const runs = [...r.stderr.matchAll(/^vm fuzz: \d+ insns, (compiled|interpreted), status (\d+),/gm)];
  assert.ok(runs.length >= seeds.length, `every seed is a program the native check accepts (${runs.length} runs of ${seeds.length} seeds)`);
  assert.ok(runs.every((m) => m[1] === 'compiled'), 'every seed is compiled (and compared with the interpreter)');
  const statuses = new Set(runs.map((m) => Number(m[2])));
  for (const s of [0, 1, 2, 5]) assert.ok(statuses.has(s), `no seed ends with status ${s} (have ${[...statuses].join(', ')})`);
});
