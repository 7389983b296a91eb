// tools/test-tiers.ts: the files the QEMU guests leave out (run-tests --tier=kernel) exist, and
// the runner refuses a tier it does not know.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HOST_ONLY, inTier } from '../tools/test-tiers.js';

const distTest = fileURLToPath(new URL('.', import.meta.url));
const runner = fileURLToPath(new URL('../tools/run-tests.js', import.meta.url));

test('every host-only test file exists, has its reason, and is left out of the kernel tier only', () => {
  for (const [file, why] of Object.entries(HOST_ONLY)) {
    assert.ok(existsSync(distTest + file), `${file} is a test file`);
    assert.ok(why.length > 10, `${file}: a reason`);
    assert.equal(inTier(file, 'kernel'), false);
    assert.equal(inTier(file, 'all'), true);
  }
  assert.equal(inTier('ring-setup.test.js', 'kernel'), true);
});

test('run-tests --tier= takes all or kernel', () => {
  const r = spawnSync(process.execPath, [runner, '--tier=guest', distTest + 'tap-summary.test.js'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^run-tests: --tier= takes all or kernel \(got "guest"\)/);
  const ok = spawnSync(process.execPath, [runner, '--tier=kernel', distTest + 'tap-summary.test.js', distTest + 'op-nop.test.js'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /# tier kernel: 1 host-only test files left out/);
});
