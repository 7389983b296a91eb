// tools/test-tiers.ts: the files the QEMU guests leave out (run-tests --tier=kernel) exist, and
// the runner refuses a tier it does not know; tools/test-watchdog.ts stops a file that stalls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.js';
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
  assert.match(ok.stdout, /^# opcodes \(these test files only\): 1 of \d+ ran against the kernel/m, 'op-nop ran');
});

test('run-tests RF_TEST_JOBS takes 1 to 8 files at once; refused, it leaves no temporary directory behind', (t) => {
  const { dir: tmp, cleanup } = tempDir();
  t.after(cleanup);
  for (const bad of ['0', '9', 'two', '']) {
    const r = spawnSync(process.execPath, [runner, distTest + 'tap-summary.test.js'], { encoding: 'utf8', env: { ...process.env, RF_TEST_JOBS: bad, TMPDIR: tmp } });
    assert.equal(r.status, 2, `RF_TEST_JOBS=${JSON.stringify(bad)}`);
    assert.match(r.stderr, /^run-tests: RF_TEST_JOBS takes 1 to 8 \(got /);
  }
  assert.deepEqual(readdirSync(tmp), [], 'no ledger directory left');
  const ok = spawnSync(process.execPath, [runner, '--test-reporter=tap', distTest + 'tap-summary.test.js', distTest + 'op-nop.test.js'], { encoding: 'utf8', env: { ...process.env, RF_TEST_JOBS: '2' } });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^# pass [1-9]/m, 'two files at once ran');
  assert.match(ok.stdout, /^# fail 0/m);
});

test('run-tests stops a file in which no test starts or ends for RF_TEST_STALL seconds, names the test and what held its loop, and runs the next file', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const hangs = join(dir, 'hangs.test.mjs');
  writeFileSync(hangs, `import { test } from 'node:test';
test('quick', () => {});
test('waits forever', async () => { await new Promise(() => setInterval(() => {}, 1000)); });
`);
  const lingers = join(dir, 'lingers.test.mjs');
  writeFileSync(lingers, `import { test } from 'node:test';
test('leaves a server open', async () => { (await import('node:net')).createServer().listen(0); });
`);
  const fine = join(dir, 'fine.test.mjs');
  writeFileSync(fine, `import { test } from 'node:test';
test('fine', () => {});
`);
  const r = spawnSync(process.execPath, [runner, '--test-reporter=tap', hangs, lingers, fine], { encoding: 'utf8', env: { ...process.env, RF_TEST_STALL: '1' }, timeout: 60_000 });
  assert.notEqual(r.status, 0, 'the run fails');
  const out = r.stdout + r.stderr;
  assert.match(out, /run-tests: stopped \S*hangs\.test\.mjs: no test started or ended for 1 s, in test "waits forever", \d+ s after the file began; its event loop held by \[.*"Timeout"/);
  assert.match(out, /run-tests: stopped \S*lingers\.test\.mjs: no test started or ended for 1 s, in no test \(the last to end: "leaves a server open"\).*"TCPServerWrap"/);
  assert.match(out, /^ok \d+ - fine$/m, 'the file after them ran');
  assert.match(out, /^ok \d+ - quick$/m);
});
