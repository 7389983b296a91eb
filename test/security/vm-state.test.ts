// No global state in the eBPF VM (issue 9, item 13): bpf_trace_printk output belongs to the Node
// environment whose programs wrote it (each has its own trace buffer, native/bpf/napi_bpf.c),
// and bpf_get_prandom_u32's state to the run (the JIT and interpreter runs of compareRuns draw
// the same numbers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { Program, engineAvailable, readTrace } from '../../src/programs/index.js';

const skip = engineAvailable() ? false : 'native eBPF engine not built';
const programs = new URL('../../src/programs/index.js', import.meta.url).href;

/** r1 = mem holding a format string; prints it with r3 as %d. */
const PRINT = (n: number): string => `mov %r2, 8\nmov %r3, ${n}\nmov %r4, 0\nmov %r5, 0\ncall 6\nexit`;
const fmt = (tag: string): Uint8Array => { const m = new Uint8Array(8); m.set(Buffer.from(`${tag}%d\n\0`)); return m; };

test('trace output stays in the environment that wrote it: a worker and the main thread each read only their own', { skip }, async () => {
  readTrace();
  Program.fromAssembly(PRINT(1)).run(fmt('main'));
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     import(${JSON.stringify(programs)}).then(({ Program, readTrace }) => {
       const before = readTrace();
       const m = new Uint8Array(8); m.set(Buffer.from('wrkr%d\\n\\0'));
       for (let i = 0; i < 3; i++) Program.fromAssembly('mov %r2, 8\\nmov %r3, ' + i + '\\nmov %r4, 0\\nmov %r5, 0\\ncall 6\\nexit').run(m);
       parentPort.postMessage({ before, after: readTrace() });
     });`,
    { eval: true },
  );
  const seen = await new Promise<{ before: string; after: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.equal(seen.before, '', "the worker does not see the main thread's output");
  assert.equal(seen.after, 'wrkr0\nwrkr1\nwrkr2\n');
  assert.equal(readTrace(), 'main1\n', "the main thread sees its own line, not the worker's");
  // a program created in the main thread keeps writing there after the worker is gone
  Program.fromAssembly(PRINT(2)).run(fmt('main'));
  assert.equal(readTrace(), 'main2\n');
});

test("bpf_get_prandom_u32's state is the run's: compiled and interpreted runs draw the same numbers", { skip }, () => {
  const p = Program.fromAssembly('mov %r6, 0\nmov %r7, 8\nloop:\ncall 7\nlsh %r6, 7\nxor %r6, %r0\nsub %r7, 1\njne %r7, 0, loop\nmov %r0, %r6\nexit');
  const seen = new Set<bigint>();
  for (let i = 0; i < 20; i++) {
    const { result, difference } = p.compareRuns(null);
    assert.equal(difference, undefined);
    assert.equal(result.status, 'ok');
    seen.add(result.r0);
  }
  assert.ok(seen.size > 15, `runs draw different numbers (${seen.size} distinct of 20)`);
});
