/**
 * msg_ring across worker_threads: a ring per thread, targets named by RingHandles that crossed
 * postMessage(); a file passed between two workers' rings (issue #12's bar); what keeps a
 * listening worker alive; a worker terminated without close(); listener errors in a worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { ringFor, requireOp, tempFile, ringOnFd } from './helpers.js';
import { settledWithin } from './wait-util.js';
import { RingClosedError, type RingHandle, type RingMessage } from '../src/index.js';

const index = JSON.stringify(new URL('../src/index.js', import.meta.url).href);

/** A worker running `body` (an async module body with Ring, parentPort and workerData in scope). */
function worker(body: string, workerData?: unknown): Worker {
  const code = `
    const { Ring, fixed } = await import(${index});
    const { parentPort, workerData } = await import('node:worker_threads');
    ${body}
  `;
  const w = new Worker(code, { eval: true, workerData });
  // listened for from the start: a worker may exit before the test gets round to awaiting it
  exits.set(w, new Promise((resolve) => w.once('exit', resolve)));
  return w;
}
const exits = new WeakMap<Worker, Promise<unknown>>();
const once = <T>(w: Worker, ev: 'message' | 'exit' | 'error'): Promise<T> =>
  ev === 'exit' && exits.has(w) ? (exits.get(w) as Promise<T>) : new Promise((resolve) => w.once(ev, resolve as (v: unknown) => void));

test('main thread and a worker talk ring to ring: data both ways, targets named by handles that crossed postMessage', async (t) => {
  const main = ringFor(t);
  if (!requireOp(t, main, 'msgRing')) return;
  const w = worker(`
    const ring = new Ring();
    parentPort.postMessage(ring.handle());
    const reply = await new Promise((r) => parentPort.once('message', r));
    for await (const m of ring.messages()) {
      if (m.data === 0) break;
      await ring.sendMessage(reply, m.data * 2, m.value + 1);
    }
    await ring.close();
  `);
  t.after(() => w.terminate());
  const h = await once<RingHandle>(w, 'message');
  assert.equal(typeof h.fd, 'number');
  assert.ok(h.state instanceof SharedArrayBuffer);
  w.postMessage(main.handle());
  const it = main.messages();
  for (let i = 1; i <= 50; i++) {
    await main.sendMessage(h, i, -i);
    const { value } = await it.next();
    assert.deepEqual(value, { type: 'data', data: i * 2, value: -i + 1, flags: 0 });
  }
  await it.return!();
  await main.sendMessage(h, 0);
  assert.equal(await once(w, 'exit'), 0, 'the worker exits once its ring closed');
  // the worker closed its ring: its handle is refused from here on
  assert.throws(() => main.sendMessage(h, 1), RingClosedError);
});

test('fd passing between two workers\' rings: A opens a file into its table and sends the slot to B\'s ring; B reads it', async (t) => {
  const probe = ringFor(t);
  if (!requireOp(t, probe, 'msgRing')) return;
  const text = 'a file that crossed from one worker\'s ring to another\'s';
  const f = tempFile(text);
  t.after(f.cleanup);
  const b = worker(`
    const ring = new Ring();
    ring.files.register({ sparse: 16 });
    parentPort.postMessage(ring.handle());
    for await (const m of ring.messages()) {
      if (m.type !== 'file') continue;
      const buf = Buffer.alloc(256);
      const n = await ring.read(m.file, buf, 0);
      parentPort.postMessage({ slot: m.file.index, text: buf.subarray(0, n).toString() });
      break;
    }
    await ring.close();
  `);
  t.after(() => b.terminate());
  const bHandle = await once<RingHandle>(b, 'message');
  const a = worker(`
    const ring = new Ring();
    ring.files.register({ sparse: 4 });
    const file = await ring.openat(workerData.path, 0, 0, { direct: 2 }); // O_RDONLY into slot 2
    const slot = await ring.sendFile(workerData.target, file, 'auto');
    parentPort.postMessage({ sent: slot });
    await ring.close();
  `, { path: f.path, target: bHandle });
  t.after(() => a.terminate());
  const [sent, got] = await Promise.all([once<{ sent: number }>(a, 'message'), once<{ slot: number; text: string }>(b, 'message')]);
  assert.equal(got.slot, sent.sent, 'B got the file in the slot the kernel picked (A\'s promise resolved it)');
  assert.equal(got.text, text);
  assert.deepEqual(await Promise.all([once(a, 'exit'), once(b, 'exit')]), [0, 0]);
});

test('liveness: a worker whose ring listens for messages stays alive until one comes; unref() or no subscription lets it exit', async (t) => {
  const main = ringFor(t);
  if (!requireOp(t, main, 'msgRing')) return;
  const listening = worker(`
    const ring = new Ring();
    ring.onMessage(async (m) => {
      parentPort.postMessage(m);
      await ring.close(); // the subscription ends with the ring: nothing keeps the worker now
    });
    parentPort.postMessage(ring.handle());
  `);
  t.after(() => listening.terminate());
  let exited = false;
  listening.once('exit', () => (exited = true));
  const h = await once<RingHandle>(listening, 'message');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(exited, false, 'still alive after 200 ms with nothing else to do');
  const got = once<RingMessage>(listening, 'message');
  await main.sendMessage(h, 5, 6);
  assert.deepEqual(await got, { type: 'data', data: 5, value: 6, flags: 0 });
  assert.equal(await once(listening, 'exit'), 0);

  for (const body of [
    `const ring = new Ring(); ring.onMessage(() => {}); ring.unref();`, // unref'd: does not hold the loop
    `const ring = new Ring(); ring.handle();`, // no subscription
    `const ring = new Ring(); const off = ring.onMessage(() => {}); off();`, // unsubscribed
    `const ring = new Ring(); try { for await (const m of ring.messages({ signal: AbortSignal.timeout(20) })) {} } catch (e) { if (e.name !== 'AbortError') throw e; }`, // ends by its signal
  ]) {
    const w = worker(body);
    t.after(() => w.terminate());
    // (3 s × CPU_TIME_SCALE, and its timer cleared: a bare one kept the file's loop up to 3 s past the test)
    const code = await settledWithin(once<number>(w, 'exit'), 3000);
    assert.equal(code, 0, `${body}: exits on its own`);
  }
});

test('a worker terminated without close(): its handle is refused (no such fd, or the number now names another ring), never delivered elsewhere', async (t) => {
  const main = ringFor(t);
  if (!requireOp(t, main, 'msgRing')) return;
  const w = worker(`
    const ring = new Ring();
    ring.onMessage(() => {});
    parentPort.postMessage(ring.handle());
  `);
  t.after(() => w.terminate()); // (its listening ring keeps it alive: should a step below fail first)
  const h = await once<RingHandle>(w, 'message');
  await main.sendMessage(h, 1); // alive: delivered
  await w.terminate();
  // the worker's env cleanup closed its ring (no close(): its state flag still says open)
  assert.equal(Atomics.load(new Int32Array(h.state), 0), 1);
  assert.throws(() => main.sendMessage(h, 1), (e: unknown) => e instanceof RingClosedError && /no such fd now|another file/.test(e.message));
  // a new ring may get the same fd number: the old handle must not reach it
  const { ring: reused } = ringOnFd(t, h.fd);
  t.diagnostic(reused ? `fd ${h.fd} was reused by a new ring` : `fd ${h.fd} was not reused`);
  if (reused) {
    let heard = 0;
    reused.onMessage(() => heard++);
    assert.throws(() => main.sendMessage(h, 1), /now names another file/);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(heard, 0);
  }
  assert.equal(await main.nop(), 0);
});

test('in a worker: a listener that throws is reported as an uncaught exception, and delivery goes on', async (t) => {
  const main = ringFor(t);
  if (!requireOp(t, main, 'msgRing')) return;
  const w = worker(`
    const errors = [];
    process.on('uncaughtException', (e) => errors.push(e.message));
    const ring = new Ring();
    const seen = [];
    ring.onMessage(() => { throw new Error('listener bug'); });
    ring.onMessage(async (m) => {
      seen.push(m.data);
      if (seen.length === 3) {
        await new Promise((r) => setTimeout(r, 10));
        parentPort.postMessage({ seen, errors });
        await ring.close();
      }
    });
    parentPort.postMessage(ring.handle());
  `);
  t.after(() => w.terminate());
  const h = await once<RingHandle>(w, 'message');
  const report = once<{ seen: number[]; errors: string[] }>(w, 'message');
  for (const d of [1, 2, 3]) await main.sendMessage(h, d);
  assert.deepEqual(await report, { seen: [1, 2, 3], errors: ['listener bug', 'listener bug', 'listener bug'] });
});
