/** IORING_OP_FUTEX_WAIT / FUTEX_WAKE / FUTEX_WAITV (6.7) against the kernel, on SharedArrayBuffer words, woken by requests and by a worker thread. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { ringFor, requireOp } from './helpers.js';

const index = new URL('../src/index.js', import.meta.url).href;
const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));
const word = (n = 4) => new Int32Array(new SharedArrayBuffer(4 * n));

test('futexWait sleeps while the word holds `expected`; futexWake from another request wakes it', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'futexWait') || !requireOp(t, ring, 'futexWake')) return;
  const w = word();
  let woken = false;
  const p = ring.futexWait(w, 1, 0).then(() => (woken = true));
  await tick(20);
  assert.equal(woken, false, 'still asleep');
  assert.equal(await ring.futexWake(w, 0), 0, 'a wake of another word wakes nobody');
  Atomics.store(w, 1, 1);
  assert.equal(await ring.futexWake(w, 1), 1, 'one waiter woken');
  await p;
  assert.equal(woken, true);
  await assert.rejects(ring.futexWait(w, 1, 0), { code: 'EAGAIN', op: 'futexWait' }, 'the word is 1 now, not 0');
  assert.equal(await ring.futexWake(w, 1), 0, 'nobody left');
});

test('futexWake wakes at most `count` waiters; masks select them', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'futexWait') || !requireOp(t, ring, 'futexWake')) return;
  const w = word();
  const done: number[] = [];
  const waits = [0, 1, 2].map((i) => ring.futexWait(w, 0, 0).then(() => done.push(i)));
  await tick(20);
  assert.equal(await ring.futexWake(w, 0, 2), 2);
  await tick(20);
  assert.equal(done.length, 2);
  assert.equal(await ring.futexWake(w, 0, 10), 1);
  await Promise.all(waits);
  // bitset masks: a wake with mask 0b10 does not wake a waiter of mask 0b01
  const m = ring.futexWait(w, 2, 0, { mask: 0b01 });
  await tick(20);
  assert.equal(await ring.futexWake(w, 2, 1, { mask: 0b10 }), 0);
  assert.equal(await ring.futexWake(w, 2, 1, { mask: 0b11 }), 1);
  await m;
  // private and shared futexes are different wait queues
  const s = ring.futexWait(w, 3, 0, { shared: true });
  await tick(20);
  assert.equal(await ring.futexWake(w, 3), 0, 'a private wake does not reach a shared waiter');
  assert.equal(await ring.futexWake(w, 3, 1, { shared: true }), 1);
  await s;
});

test('futexWaitv waits on several words and resolves the index of the one woken', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'futexWaitv') || !requireOp(t, ring, 'futexWake')) return;
  const a = word(2);
  const b = new Uint32Array(new SharedArrayBuffer(8));
  b[1] = 0xffffffff;
  const p = ring.futexWaitv([{ word: a, expected: 0 }, { word: b, index: 1, expected: -1 }, { word: a, index: 1, expected: 0 }]);
  await tick(20);
  assert.equal(await ring.futexWake(b, 1), 1);
  assert.equal(await p, 1);
  await assert.rejects(ring.futexWaitv([{ word: a, expected: 5 }]), { code: 'EAGAIN' }, 'a word not holding its value');
});

test('a futexWait woken from a worker thread (its own ring\'s FUTEX_WAKE on the shared word)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'futexWait') || !requireOp(t, ring, 'futexWake')) return;
  const w = word();
  const code = `
    const { Ring } = await import(${JSON.stringify(index)});
    const { parentPort, workerData } = await import('node:worker_threads');
    const ring = new Ring();
    const w = workerData;
    parentPort.once('message', async () => {
      Atomics.store(w, 0, 1);
      const n = await ring.futexWake(w, 0);
      await ring.close();
      parentPort.postMessage(n);
    });
    parentPort.postMessage('ready');
  `;
  const worker = new Worker(code, { eval: true, workerData: w });
  t.after(() => worker.terminate());
  const messages: unknown[] = [];
  const next = () => new Promise((resolve, reject) => {
    worker.once('message', (m) => (messages.push(m), resolve(m)));
    worker.once('error', reject);
  });
  assert.equal(await next(), 'ready');
  const p = ring.futexWait(w, 0, 0);
  await tick(20);
  worker.postMessage('go');
  assert.equal(await next(), 1, 'the worker woke one waiter');
  await p;
  assert.equal(Atomics.load(w, 0), 1);
});

test('a futexWait cancelled by AbortSignal settles once; a later wake finds nobody', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'futexWait') || !requireOp(t, ring, 'futexWake')) return;
  const w = word();
  const ac = new AbortController();
  let settled = 0;
  const p = ring.futexWait(w, 0, 0, { signal: ac.signal });
  p.then(() => settled++, () => settled++);
  const v = ring.futexWaitv([{ word: w, index: 1, expected: 0 }], { signal: ac.signal });
  v.then(() => settled++, () => settled++);
  await tick(20);
  ac.abort();
  await assert.rejects(p, { name: 'AbortError' });
  await assert.rejects(v, { name: 'AbortError' });
  assert.equal(await ring.futexWake(w, 0), 0, 'the cancelled wait is gone from the futex');
  await tick(20);
  assert.equal(settled, 2);
  assert.equal(ring.pending, 0);
});

test('a 64-bit futex (FUTEX2_SIZE_U64): the kernel runs it, or refuses it with EINVAL (6.18 implements 32-bit futexes only)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'futexWait')) return;
  const w = new BigInt64Array(new SharedArrayBuffer(8));
  const r = await ring.futexWait(w, 0, 1n).then(
    () => 'woken',
    (e: { code: string }) => e.code,
  );
  // 1 ≠ 0: a kernel with 64-bit futexes says EAGAIN at once; 6.18's futex_flags_valid says EINVAL
  assert.ok(r === 'EAGAIN' || r === 'EINVAL', r);
  t.diagnostic(`64-bit futex wait on this kernel: ${r}`);
});

test('futex builders refuse bad arguments naming them', (t) => {
  const ring = ringFor(t);
  const w = word(2);
  assert.throws(() => ring.futexWait(new Float64Array(1) as never, 0, 0), /^TypeError: futexWait\(\): "word" must be an Int32Array or Uint32Array/);
  assert.throws(() => ring.futexWait(w, 2, 0), /^RangeError: futexWait\(\): "index" must be in \[0, 1\]/);
  assert.throws(() => ring.futexWait(w, 0, 2 ** 32), /^RangeError: futexWait\(\): "expected" must be in \[-2147483648, 4294967295\]/);
  assert.throws(() => ring.futexWait(w, 0, 1n), /^TypeError: futexWait\(\): "expected" must be an integer for a 32-bit futex/);
  assert.throws(() => ring.futexWait(w, 0, 0, { mask: 0 }), /^RangeError: futexWait\(\): "mask" must not be 0/);
  assert.throws(() => ring.futexWake(w, 0, -1), /^RangeError: futexWake\(\): "count" must be in \[0, 2147483647\]/);
  assert.throws(() => ring.futexWake(w, 0, 1, { shared: 1 as never }), /^TypeError: futexWake\(\): "shared" must be a boolean/);
  assert.throws(() => ring.futexWaitv([]), /^RangeError: futexWaitv\(\): "waiters" must hold 1 to 128 futexes/);
  assert.throws(() => ring.futexWaitv([{ word: w, expected: 0, extra: 1 } as never]), /^TypeError: futexWaitv\(\): "waiters"\[0\] takes word, index, expected, shared; got "extra"/);
  assert.equal(ring.pending, 0);
});
