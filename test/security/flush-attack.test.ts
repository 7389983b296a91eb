// Attacks on flush scheduling and delivery (src/ring/submission.ts FlushSchedule, the reap in
// src/ring/completion.ts): a hostile program that keeps the ring busy while JS chains requests
// that complete inline, and careless callers whose sinks throw or close the ring from a flush, or
// whose worker exits in the middle of such a loop. docs/security.md, "Work" and "Completions".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { op, RingClosedError } from '../../src/index.js';
import { ringFor, CPU_TIME_SCALE } from '../helpers.js';
import { within } from '../ring-programs-util.js';
import { ENGINES, noEngine, selfQueuingProgram } from './asm-programs.js';

const index = new URL('../../src/index.js', import.meta.url).href;

for (const { name, jit } of ENGINES) {
  test(`a program that keeps the ring busy while JS chains requests that complete inline: timers still fire, close() ends both (${name})`, { skip: noEngine, timeout: 30_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = ringFor(t, { cqs: [4] });
    const bomb = ring.registerProgram(selfQueuingProgram(jit)); // the engine always has work: the ring is never idle
    assert.equal(await ring.runProgram(bomb), 0);
    let fired = false;
    setTimeout(() => (fired = true), 5);
    let nops = 0;
    const t0 = Date.now();
    // back to back, no timer awaited in the loop: only the flushes' turn budget lets the timer run
    while (!fired && Date.now() - t0 < 10_000 * CPU_TIME_SCALE) {
      assert.equal(await ring.nop(), 0);
      nops++;
    }
    assert.ok(fired, `the timer fired during the loop (after ${nops} round trips)`);
    assert.ok(nops > 0);
    await within(ring.close(), 5000 * CPU_TIME_SCALE, 'close() with the program still busy');
    assert.equal(ring.pending, 0);
  });
}

test('a runMulti sink that throws inside a flush: reported once as uncaught, the completions behind it still delivered, the ring goes on (child process)', () => {
  const code = `
    import { Ring, op } from ${JSON.stringify(index)};
    const ring = new Ring({ entries: 64 });
    const errors = [];
    process.on('uncaughtException', (e) => errors.push(e.message));
    const seen = [];
    // one flush carries all three: the throwing sink's CQE comes first
    ring.runMulti(op.nop(), { more() {}, end() { seen.push('thrower'); throw new Error('sink boom'); }, fail() {} });
    const behind = ring.nop().then((v) => seen.push('behind ' + v));
    ring.runMulti(op.nop(), { more() {}, end(res) { seen.push('second sink ' + res); }, fail() {} });
    const timer = setTimeout(() => { console.log(JSON.stringify({ hung: true, seen, errors })); process.exit(1); }, ${5000 * CPU_TIME_SCALE});
    await behind;
    const after = await ring.nop();
    await ring.close();
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, 10));
    console.log(JSON.stringify({ seen, errors, after }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 * CPU_TIME_SCALE });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seen: string[]; errors: string[]; after: number };
  assert.deepEqual(out.errors, ['sink boom'], 'reported once, as the same error');
  assert.equal(out.seen[0], 'thrower');
  assert.ok(out.seen.includes('second sink 0'), `the sink behind it got its end (${out.seen.join(', ')})`);
  assert.equal(out.seen.filter((s) => s.startsWith('behind')).length, 1, 'the promise behind it settled once');
  assert.equal(out.after, 0);
});

test('close() from a runMulti sink inside an idle-ring flush, with requests behind it: each settles once, close() resolves', async (t) => {
  const ring = ringFor(t, { entries: 64 });
  await new Promise((r) => setImmediate(r)); // idle: the next flush is a microtask
  let closing: Promise<void> | undefined;
  let ends = 0;
  ring.runMulti(op.nop(), {
    more() {},
    end() {
      ends++;
      closing = ring.close();
    },
    fail() {},
  });
  const settled: string[] = [];
  const behind = Array.from({ length: 8 }, (_, i) =>
    ring.nop().then(
      (v) => settled.push(`${i} ok ${v}`),
      (e: unknown) => settled.push(`${i} ${e instanceof RingClosedError ? 'closed' : String(e)}`),
    ),
  );
  await within(Promise.all(behind), 2000 * CPU_TIME_SCALE, 'the requests behind the closing sink');
  assert.equal(ends, 1);
  assert.ok(closing, 'the sink ran');
  await within(closing!, 2000 * CPU_TIME_SCALE, 'close() from the sink');
  assert.equal(settled.length, 8, 'each request behind it settled once');
  assert.ok(settled.every((s) => / ok 0$| closed$/.test(s)), settled.join(', '));
  assert.equal(ring.pending, 0);
});

test('a worker terminated in the middle of a loop of requests that complete inline (its ring never closed): the worker ends, this thread\'s ring goes on', async (t) => {
  const ring = ringFor(t);
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads');
     (async () => {
       const { Ring } = await import(${JSON.stringify(index)});
       const ring = new Ring({ entries: 64 });
       let n = 0;
       parentPort.postMessage('looping');
       for (;;) { await ring.nop(); if (++n === 1000) parentPort.postMessage('1000'); }
     })();`,
    { eval: true },
  );
  t.after(() => w.terminate()); // (it loops until terminated: a failed wait below would leave it holding the file's process)
  const heard: string[] = [];
  await within(
    new Promise<void>((resolve, reject) => {
      w.on('message', (m: string) => {
        heard.push(m);
        if (m === '1000') resolve();
      });
      w.on('error', reject);
    }),
    10_000 * CPU_TIME_SCALE,
    "the worker's loop",
  );
  assert.deepEqual(heard, ['looping', '1000']);
  const code = await within(w.terminate(), 5000 * CPU_TIME_SCALE, 'terminate()');
  assert.equal(code, 1);
  assert.equal(await ring.nop(), 0);
});
