/** The examples type-check (they are compiled with the project) and run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempFile, pattern } from './helpers.js';

test('examples/read-file reads a file byte-exact in parallel chunks', async (t) => {
  const data = pattern(300_000);
  const f = tempFile(data);
  t.after(f.cleanup);
  const { readWholeFile } = await import('../examples/read-file.js');
  const { Ring } = await import('../src/index.js');
  await using ring = new Ring();
  const got = await readWholeFile(ring, f.path);
  assert.ok(got.equals(data));
  const script = fileURLToPath(new URL('../examples/read-file.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, f.path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /300000 bytes in \d+ requests, \d+ io_uring_enter calls/);
});

test('the README example (examples/readme.ts) runs and prints what it says', () => {
  const script = fileURLToPath(new URL('../examples/readme.js', import.meta.url));
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^AbortError\nhello 5n 4 \d+\n$/);
});
