/** Rings inside worker_threads: each worker has its own rings; a worker that ends with a request
 *  still in flight (and the program engine enabled) tears down cleanly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';

import { lacksFlag } from './helpers.js';

const index = new URL('../src/index.js', import.meta.url).href;

test('rings in worker threads, terminated with a request in flight', { skip: lacksFlag('nop', 'INJECT_RESULT') }, async (t) => {
  const code = `
    const { Ring, Program } = await import(${JSON.stringify(index)});
    const { parentPort } = await import('node:worker_threads');
    const ring = new Ring({ cqs: [8] });
    const n = await ring.nop({ injectResult: 7 });
    const idx = ring.registerProgram(Program.fromAssembly('mov %r0, 0\\nexit', { kind: 'iouring' }));
    const r = await ring.runProgram(idx);
    ring.timeout(60_000).catch(() => {}); // still in flight when the worker is terminated
    parentPort.postMessage({ n, r });
  `;
  for (let i = 0; i < 10; i++) {
    const w = new Worker(code, { eval: true });
    t.after(() => w.terminate()); // (its 60 s timeout would keep it alive past a failed assertion)
    const msg = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.deepEqual(msg, { n: 7, r: 0 });
    assert.equal(await w.terminate(), 1);
  }
});

test('a worker that closes its ring exits on its own (nothing keeps its loop alive)', async () => {
  const code = `
    const { Ring } = await import(${JSON.stringify(index)});
    const ring = new Ring();
    await ring.timeout(5);
    await ring.close();
  `;
  const w = new Worker(code, { eval: true });
  const exit = await new Promise((resolve) => w.once('exit', resolve));
  assert.equal(exit, 0);
});
