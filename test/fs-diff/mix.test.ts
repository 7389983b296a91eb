/**
 * Differential: seeded sequences of operations over two temp trees, compared step by step and
 * state by state. Seeds 1-6 run by default; RF_FS_DIFF_SEEDS=7,8,9 (or a count: RF_FS_DIFF_SEEDS=
 * random:20) runs others, RF_FS_DIFF_STEPS sets the length, RF_FS_DIFF_CHECK_EVERY how often the
 * whole trees are compared (8; 1 finds the first step that diverges). A failure names its seed and step.
 */
import { test } from 'node:test';
import { TempArea } from './tree.js';
import { runMix } from './mix.js';
import { nodeImpl, loadImplUnderTest } from './impl.js';
import { KNOWN_DIFFERENCES } from './known-differences.js';

function seeds(): number[] {
  const env = process.env.RF_FS_DIFF_SEEDS;
  if (!env) return [1, 2, 3, 4, 5, 6];
  const random = /^random:(\d+)$/.exec(env);
  if (random) return Array.from({ length: Number(random[1]) }, () => Math.floor(Math.random() * 2 ** 31));
  return env.split(',').map((s) => Number(s.trim()));
}
const steps = Number(process.env.RF_FS_DIFF_STEPS ?? 150);

test('fs-diff: generated mix of operations over two trees, ringflow/fs vs node', async (t) => {
  const { impl, reason } = await loadImplUnderTest();
  if (reason) t.diagnostic(reason);
  const area = new TempArea();
  t.after(() => area.cleanup());
  for (const seed of seeds()) {
    const name = `seed ${seed}, ${steps} steps`;
    const todo = impl.name === 'ringflow' ? KNOWN_DIFFERENCES[`mix ${name}`] : undefined;
    await t.test(name, { todo }, () => runMix(seed, steps, area, nodeImpl, impl, Number(process.env.RF_FS_DIFF_CHECK_EVERY ?? 8)));
  }
});
