/** The process exits on its own when nothing is in flight; in-flight requests keep it alive; unref() opts out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CPU_TIME_SCALE } from './helpers.js';

const index = new URL('../src/index.js', import.meta.url).href;
function run(body: string): { code: number | null; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { Ring } from '${index}';\n${body}`], { encoding: 'utf8', timeout: 10_000 * CPU_TIME_SCALE });
  return { code: r.status, out: r.stdout + r.stderr, ms: Date.now() - t0 };
}

test('an idle open ring does not keep the process alive', () => {
  const r = run(`const ring = new Ring(); await ring.nop(); console.log('done');`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /done/);
  assert.ok(r.ms < 5000 * CPU_TIME_SCALE, `exited after ${r.ms} ms`);
});

test('an in-flight request keeps the process alive until its CQE', () => {
  const r = run(`const ring = new Ring(); ring.timeout(300).then((v) => console.log('fired', v));`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /fired true/);
  assert.ok(r.ms >= 300, `exited after ${r.ms} ms`);
});

test('ring.unref(): in-flight requests do not keep the process alive', () => {
  const r = run(`const ring = new Ring().unref(); ring.timeout(${5000 * CPU_TIME_SCALE}).then(() => console.log('fired'));`);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /fired/);
  assert.ok(r.ms < 4000 * CPU_TIME_SCALE, `exited after ${r.ms} ms (before the timeout)`);
});
