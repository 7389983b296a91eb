// Callback requests (src/ring/callback-requests.ts: ringflow/fs's readFile and writeFile chains)
// and the repeated cancel of an aborted request (ring.ts #cancelUntilEnd), attacked. A hostile
// program can neither cancel nor complete a callback request, nor feed the ring's internal cancel
// bookkeeping (its cancels find nothing, its CQEs go to program CQs); a careless caller who closes
// the ring from a callback, lets a worker exit or drops a ring while an aborted request's cancel
// is being resent, or transfers a buffer a callback request writes from, loses nothing and
// crashes nothing. docs/security.md, "Callback requests and repeated cancels". Program attacks
// run under the JIT and the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempDir, gcChild, CPU_TIME_SCALE } from '../helpers.js';
import { op, RingError } from '../../src/index.js';
import { createFs } from '../../src/fs/index.js';
import { runGroupSettled, runWithCallback, type Settled } from '../../src/ring/callback-requests.js';
import { ENGINES, noEngine, cancelAndForge } from './asm-programs.js';

/** user_data high word of ringflow's own internal requests (src/ring/submission.ts INTERNAL_TAG). */
const INTERNAL = 0xffffffffn << 32n;
const index = new URL('../../src/index.js', import.meta.url).href;

for (const { name, jit } of ENGINES) {
  test(`a program can neither cancel nor complete a callback request, nor post under the ring's internal tag (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const ac = new AbortController();
    let groupOut: Settled[] | undefined;
    const group = runGroupSettled(ring, [op.timeout(30_000).link(), op.nop()], ac.signal).then((o) => (groupOut = o));
    const lone: Settled[][] = [];
    runWithCallback(ring, op.timeout(30_000), (o) => lone.push(o));
    await new Promise((r) => setTimeout(r, 10));
    const pending = ring.pending;
    assert.equal(pending, 3);
    // every user_data JS could be using (slot 0..15 × generation 1..4) and the internal tag's:
    // cancel it, and post a CQE under it to CQ 0 (the programs' own CQ 0, never JS's)
    const targets: bigint[] = [INTERNAL, INTERNAL | 1n];
    for (let slot = 0n; slot < 16n; slot++) for (let gen = 1n; gen <= 4n; gen++) targets.push((gen << 32n) | slot);
    await cancelAndForge(ring, targets, jit);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(groupOut, undefined, 'the group is still in flight');
    assert.equal(lone.length, 0, 'the lone request is still in flight');
    assert.equal(ring.pending, pending, 'no forged internal CQE retired a request');
    // JS's own abort still reaches the group; the close, the lone request: each settles once
    ac.abort();
    await group;
    assert.ok(groupOut!.every((s) => !s.ok && (s.error as Error).name === 'AbortError'));
    await ring.close();
    assert.equal(lone.length, 1);
    assert.equal(lone[0][0].ok, false);
  });
}

test('careless caller: ring.close() from inside a callback request\'s callback, mid-reap: everything in flight settles once, nothing throws into the ring', async (t) => {
  const ring = ringFor(t);
  const group = runGroupSettled(ring, [op.timeout(30_000).link(), op.nop()], undefined);
  let closing: Promise<void> | undefined;
  let calls = 0;
  const after: Settled[][] = [];
  runWithCallback(ring, op.nop(), () => {
    calls++;
    closing = ring.close();
    // a request made from the same callback, on the closing ring, is refused, not lost
    assert.throws(() => runWithCallback(ring, op.nop(), (o) => after.push(o)), { name: 'RingClosedError' });
  });
  const r = await group;
  await closing;
  assert.equal(calls, 1);
  assert.equal(after.length, 0);
  assert.ok(r.every((s) => !s.ok));
  assert.ok(r.every((s) => !s.ok && (s.error instanceof RingError || (s.error as Error).name === 'RingClosedError')));
  assert.equal(ring.closed, true);
});

test('careless caller: a worker exits while an aborted request\'s cancel is being resent (a hard-linked read of an empty FIFO on a direct descriptor); this thread goes on', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const w = new Worker(
    `import('${index}').then(async ({ Ring, op, fixed }) => {
      const { parentPort, workerData } = await import('node:worker_threads');
      const { execFileSync } = await import('node:child_process');
      const { openSync } = await import('node:fs');
      const path = workerData + '/fifo';
      execFileSync('mkfifo', [path]);
      const keep = openSync(path, 'r+');
      const ring = new Ring();
      ring.files.register({ sparse: 2 });
      const ac = new AbortController();
      const ps = ring.chain([op.openat(path, 0, 0, { direct: 0 }).link(), op.read(fixed(0), new Uint8Array(64), -1).hardlink(), op.read(fixed(0), new Uint8Array(1), -1)], { signal: ac.signal });
      for (const p of ps) p.catch(() => {});
      setTimeout(() => { ac.abort(); parentPort.postMessage(ring.pending); setImmediate(() => process.exit(0)); }, 20);
      void keep;
    });`,
    { eval: true, workerData: dir },
  );
  t.after(() => w.terminate()); // (should it not exit by itself, it would hold the file's process)
  const exited = new Promise((r) => w.once('exit', r)); // from the start: its exit may be emitted with its message
  const pending = await new Promise((res, rej) => {
    w.once('message', res);
    w.once('error', rej);
  });
  assert.equal(typeof pending, 'number');
  assert.equal(await exited, 0);
  const ring = ringFor(t);
  assert.equal(await ring.nop(), 0);
});

test('careless caller: a ring dropped without close() right after aborting a chained request: the cancel is resent until it ends, then the ring is collected and the process exits', () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = gcChild(
        `import { Ring, op, fixed } from '${index}';
        import { execFileSync } from 'node:child_process';
        import { openSync, closeSync } from 'node:fs';
        const path = ${JSON.stringify(dir)} + '/fifo';
        execFileSync('mkfifo', [path]);
        const keep = openSync(path, 'r+');
        let warned = 0, settled = 0;
        process.on('warning', (w) => { if (w.code === 'RINGFLOW_RING_GC') warned++; });
        (() => {
          const ring = new Ring();
          ring.files.register({ sparse: 2 });
          const ac = new AbortController();
          const ps = ring.chain([op.openat(path, 0, 0, { direct: 0 }).link(), op.read(fixed(0), new Uint8Array(64), -1).hardlink(), op.read(fixed(0), new Uint8Array(1), -1)], { signal: ac.signal });
          for (const p of ps) p.then(() => settled++, () => settled++);
          setTimeout(() => ac.abort(), 10);
        })();
        for (let i = 0; i < 200 * ${CPU_TIME_SCALE} && settled < 3; i++) await new Promise((r) => setTimeout(r, 10)); // (× CPU_TIME_SCALE: a TCG guest)
        for (let i = 0; i < 10 * ${CPU_TIME_SCALE} && warned === 0; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
        closeSync(keep);
        console.log('RESULT ' + JSON.stringify({ settled, warned }));`,
    );
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.result, { settled: 3, warned: 1 });
  } finally {
    cleanup();
  }
});

test('careless caller: the buffer writeFile writes from is transferred while the write is in flight: refused or cloned, the file holds every byte', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = ringFor(t);
  const fs = createFs({ ring });
  const data = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
  const expected = Buffer.from(data);
  const path = join(dir, 'f');
  const writing = fs.writeFile(path, data);
  try {
    structuredClone(data.buffer, { transfer: [data.buffer] }); // Node 22+: refused (untransferable); Node 20: cloned
  } catch (e) {
    assert.equal((e as Error).name, 'DataCloneError');
  }
  assert.equal(data.byteLength, expected.length, 'the buffer stays attached');
  await writing;
  assert.deepEqual(readFileSync(path), expected);
});
