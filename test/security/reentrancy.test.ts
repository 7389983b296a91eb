// Issue 9 item 8, re-entrancy: user code reached synchronously from the reap loop (onCompletion,
// an AbortSignal listener) may call any public method, close() included, and every CQE is
// delivered exactly once. Program tests run under the JIT and the interpreter. Bounds (within())
// are × CPU_TIME_SCALE: a TCG guest is 10-40 times slower.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Ring, RingClosedError, Program } from '../../src/index.js';
import { engineAvailable } from '../../src/programs/index.js';
import { within } from '../ring-programs-util.js';
import { lacksFlag, CPU_TIME_SCALE } from '../helpers.js';

const skip = engineAvailable() ? false : 'native eBPF engine not built';
const index = new URL('../../src/index.js', import.meta.url).href;

/** A program that emits `n` CQEs to CQ 0 with user_data base, base+1, … (res = i). */
function emitter(n: number, base: number, jit: boolean): Program {
  const lines = ['mov %r6, %r1'];
  for (let i = 0; i < n; i++)
    lines.push('mov %r1, %r6', 'mov %r2, 0', `mov %r3, ${base + i}`, `mov %r4, ${i}`, 'mov %r5, 0', 'call 165');
  lines.push('mov %r0, 0', 'exit');
  return Program.fromAssembly(lines.join('\n'), { kind: 'iouring', jit });
}

/** userData values as numbers, sorted, and whether any came twice. */
function once(got: bigint[]): { values: number[]; dup: boolean } {
  const values = got.map(Number).sort((a, b) => a - b);
  return { values, dup: new Set(values).size !== values.length };
}

const range = (base: number, n: number) => Array.from({ length: n }, (_, i) => base + i);

for (const jit of [true, false]) {
  const mode = jit ? 'JIT' : 'interpreter';

  test(`close() from onCompletion: each CQE delivered once, the run settles, close() resolves (${mode})`, { skip }, async () => {
    const ring = new Ring({ cqs: [] });
    const N = 16;
    const idx = ring.registerProgram(emitter(N, 1000, jit));
    const got: bigint[] = [];
    const closes: Promise<void>[] = [];
    ring.onCompletion((c) => {
      got.push(c.userData);
      closes.push(ring.close()); // every call, not only the first
    });
    const run = ring.runProgram(idx);
    assert.equal(await within(run, 2000 * CPU_TIME_SCALE, 'the program request'), 0, 'its CQE came after the emitted ones: delivered too');
    await within(Promise.all(closes), 2000 * CPU_TIME_SCALE, 'close() from onCompletion');
    assert.deepEqual(once(got), { values: range(1000, N), dup: false });
    assert.equal(new Set(closes).size, 1, 'every close() returned the same promise');
    assert.equal(ring.closed, true);
    assert.equal(ring.pending, 0);
  });

  test(`close() from onCompletion with other requests in flight: they settle once, close() resolves (${mode})`, { skip }, async (t) => {
    const ring = new Ring({ cqs: [] });
    t.after(() => ring.close()); // (its 10 s and 20 s timeouts would hold the file's process after a failed assertion)
    const idx = ring.registerProgram(emitter(4, 50, jit));
    const got: bigint[] = [];
    let closing: Promise<void> | undefined;
    ring.onCompletion((c) => {
      got.push(c.userData);
      closing ??= ring.close();
    });
    const timers = [ring.timeout(10_000), ring.timeout(20_000)];
    const settled = timers.map((p) => p.then(() => 'resolved', (e) => (e instanceof RingClosedError ? 'closed' : String(e))));
    const run = ring.runProgram(idx);
    assert.equal(await within(run, 2000 * CPU_TIME_SCALE, 'the program request'), 0);
    await within(closing!, 2000 * CPU_TIME_SCALE, 'close()');
    assert.deepEqual(await Promise.all(settled), ['closed', 'closed']);
    assert.deepEqual(once(got), { values: range(50, 4), dup: false });
    assert.equal(ring.pending, 0);
  });

  test(`submit(), run() and runProgram() from onCompletion: everything settles, each CQE once (${mode})`, { skip: skip || lacksFlag('nop', 'INJECT_RESULT') }, async (t) => {
    const ring = new Ring({ cqs: [] });
    t.after(() => within(ring.close(), 2000 * CPU_TIME_SCALE, 'close()'));
    const first = ring.registerProgram(emitter(8, 100, jit));
    const second = ring.registerProgram(emitter(3, 900, jit));
    const got: bigint[] = [];
    const nested: Promise<unknown>[] = [];
    ring.onCompletion((c) => {
      got.push(c.userData);
      const k = Number(c.userData);
      if (k >= 100 && k < 108) {
        nested.push(ring.nop({ injectResult: k }));
        ring.submit(); // flushes (and reaps inline completions) in the middle of a reap
        if (k === 103) nested.push(ring.runProgram(second));
        if (k === 105) nested.push(ring.chain([ring.op.nop({ injectResult: 1 }), ring.op.nop({ injectResult: 2 })], { link: true })[1]!);
      }
    });
    assert.equal(await within(ring.runProgram(first), 2000 * CPU_TIME_SCALE, 'the first program'), 0);
    const results = await within(Promise.all(nested), 2000 * CPU_TIME_SCALE, 'requests made from onCompletion');
    assert.deepEqual(results, [100, 101, 102, 103, 0, 104, 105, 2, 106, 107]);
    assert.deepEqual(once(got), { values: [...range(100, 8), ...range(900, 3)], dup: false });
    assert.equal(ring.pending, 0);
  });

  test(`close() from an abort listener fired inside onCompletion (${mode})`, { skip }, async (t) => {
    const ring = new Ring({ cqs: [] });
    t.after(() => ring.close()); // (its 30 s timeout, should an assertion fail first)
    const idx = ring.registerProgram(emitter(6, 10, jit));
    const ac = new AbortController();
    let closing: Promise<void> | undefined;
    ac.signal.addEventListener('abort', () => {
      closing = ring.close();
    });
    const aborted = ring.timeout(30_000, { signal: ac.signal }).then(
      () => 'resolved',
      (e: Error) => e.name,
    );
    const got: bigint[] = [];
    ring.onCompletion((c) => {
      got.push(c.userData);
      if (c.userData === 12n) ac.abort();
    });
    assert.equal(await within(ring.runProgram(idx), 2000 * CPU_TIME_SCALE, 'the program request'), 0);
    await within(closing!, 2000 * CPU_TIME_SCALE, 'close()');
    assert.equal(await aborted, 'AbortError');
    assert.deepEqual(once(got), { values: range(10, 6), dup: false });
  });
}

test('close() from an abort listener with other requests in flight (listener before and after the ring\'s)', { skip: lacksFlag('nop', 'INJECT_RESULT') }, async (t) => {
  for (const userFirst of [true, false]) {
    const ring = new Ring();
    t.after(() => ring.close()); // (its 30 s timeouts, should an assertion fail first)
    const ac = new AbortController();
    let closing: Promise<void> | undefined;
    const listener = () => {
      closing = ring.close();
    };
    if (userFirst) ac.signal.addEventListener('abort', listener);
    const outcome = (p: Promise<unknown>) => p.then((v) => `resolved ${v}`, (e: Error) => (e instanceof RingClosedError ? 'closed' : e.name));
    const watched = outcome(ring.timeout(30_000, { signal: ac.signal }));
    const others = [outcome(ring.timeout(30_000)), outcome(ring.timeout(30_000)), outcome(ring.nop({ injectResult: 9 }))];
    if (!userFirst) ac.signal.addEventListener('abort', listener);
    await new Promise((r) => setTimeout(r, 10)); // all in the kernel
    ac.abort();
    await within(closing!, 2000 * CPU_TIME_SCALE, 'close() from the abort listener');
    assert.equal(await watched, 'AbortError', `userFirst=${userFirst}`);
    assert.deepEqual(await Promise.all(others), ['closed', 'closed', 'resolved 9']);
    assert.equal(ring.pending, 0);
    assert.equal(ring.closed, true);
  }
});

test('close() twice at once with requests in flight: one close, every request settled once', { skip: lacksFlag('nop', 'INJECT_RESULT') }, async (t) => {
  const ring = new Ring();
  t.after(() => ring.close()); // (its 30 s timeouts, should an assertion fail first)
  const settled = new Map<string, string[]>();
  const note = (name: string) => (v: unknown) => settled.set(name, [...(settled.get(name) ?? []), v instanceof RingClosedError ? 'closed' : String(v)]);
  for (let i = 0; i < 4; i++) ring.timeout(30_000).then(note(`t${i}`), note(`t${i}`));
  ring.nop({ injectResult: 3 }).then(note('nop'), note('nop'));
  await new Promise((r) => setImmediate(r)); // in the kernel
  const a = ring.close();
  const b = ring.close();
  assert.equal(a, b, 'the second close() returns the first one\'s promise');
  await within(Promise.all([a, b]), 2000 * CPU_TIME_SCALE, 'the concurrent close() calls');
  await within(ring.close(), 100 * CPU_TIME_SCALE, 'close() after close');
  assert.deepEqual(Object.fromEntries(settled), { nop: ['3'], t0: ['closed'], t1: ['closed'], t2: ['closed'], t3: ['closed'] });
  assert.equal(ring.pending, 0);
});

test('an onCompletion that throws: the error is reported as uncaught, the CQEs behind it are still delivered once', { skip }, () => {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
      import { Ring, Program } from '${index}';
      const lines = ['mov %r6, %r1'];
      for (let i = 0; i < 5; i++) lines.push('mov %r1, %r6', 'mov %r2, 0', 'mov %r3, ' + (40 + i), 'mov %r4, 0', 'mov %r5, 0', 'call 165');
      lines.push('mov %r0, 0', 'exit');
      const ring = new Ring({ cqs: [] });
      const idx = ring.registerProgram(Program.fromAssembly(lines.join('\\n'), { kind: 'iouring' }));
      const got = [];
      let errors = 0;
      process.on('uncaughtException', (e) => { if (e.message === 'boom') errors++; });
      ring.onCompletion((c) => { got.push(Number(c.userData)); if (c.userData === 41n) throw new Error('boom'); });
      const res = await ring.runProgram(idx);
      await ring.close();
      await new Promise((r) => setTimeout(r, 10));
      console.log(JSON.stringify({ res, got, errors }));
    `,
    ],
    { encoding: 'utf8', timeout: 10_000 * CPU_TIME_SCALE },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { res: 0, got: [40, 41, 42, 43, 44], errors: 1 });
});
