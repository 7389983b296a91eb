/** examples/program-read-open type-checks (compiled with the project) and runs on the shipped object (no clang needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempFile, pattern } from './helpers.js';
import { noEngine } from './ring-programs-util.js';

test('examples/program-read-open reads a file through a completion program', { skip: noEngine }, async (t) => {
  const data = pattern(1500);
  const f = tempFile(data);
  t.after(f.cleanup);
  const { readOpenByProgram } = await import('../examples/program-read-open.js');
  const { Ring, builtinObject } = await import('../src/index.js');
  await using ring = new Ring({ cqs: [16] });
  const got = await readOpenByProgram(ring, builtinObject('read_open'), f.path);
  assert.ok(got.data.equals(data));
  assert.ok(got.wakeups <= 1, `woke ${got.wakeups} times`);
  const script = fileURLToPath(new URL('../examples/program-read-open.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, f.path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /: 1500 bytes read by a program \(openat → read → close\), JS woke [01] time\(s\)\n$/);
});
