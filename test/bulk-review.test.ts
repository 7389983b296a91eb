/**
 * ring.bulk() under attack and careless use (src/ring/bulk.ts): a hand-built Sqe whose opcode was
 * changed to one that changes the registered file table (refused like the table's builders are),
 * an engine ring, close() from a wait's continuation, a close while a wait is pending, small
 * BulkCompletions, and one Sqe with a buffer pushed many times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor, tempFile, pattern, CPU_TIME_SCALE } from './helpers.js';
import { op, opByName, BulkCompletions, Ring, RingClosedError } from '../src/index.js';
import { errno } from '../src/errors.js';

test('bulk.push() reads the opcode the kernel gets: a nop turned into a CLOSE of a slot, or a SEND_ZC, is refused', (t) => {
  const ring = ringFor(t);
  ring.files.register([-1, -1]);
  const bulk = ring.bulk({ depth: 8 });
  const close = op.nop();
  close.opcode = opByName('close')!.code;
  close.fileIndex = 1; // empties slot 0 behind the file table's back (and a program's grant of it)
  assert.throws(() => bulk.push(close, 1), { name: 'TypeError', message: /close changes the registered file table/ });
  const open = op.nop();
  open.opcode = opByName('openat')!.code;
  open.fileIndex = 2;
  assert.throws(() => bulk.push(open, 2), { name: 'TypeError', message: /openat changes the registered file table/ });
  const zc = op.nop();
  zc.opcode = opByName('sendZc')!.code;
  assert.throws(() => bulk.push(zc, 3), { name: 'TypeError', message: /sendZc posts more than one CQE/ });
  assert.equal(bulk.inflight, 0, 'nothing was queued');
  assert.equal(ring.pending, 0);
});

test('bulk on an engine ring (extra CQs): every CQE reaches the queue, promise requests theirs', async (t) => {
  const ring = ringFor(t, { cqs: [16] });
  const bulk = ring.bulk({ depth: 64 });
  const nop = op.nop();
  for (let i = 0; i < 50; i++) assert.equal(bulk.push(nop, i), true);
  const p = ring.nop();
  assert.equal(await bulk.wait(50), 50);
  assert.equal(await p, 0);
  const out = new BulkCompletions(7);
  const tags: number[] = [];
  let n: number;
  while ((n = bulk.take(out)) > 0) tags.push(...out.tag.subarray(0, n));
  assert.deepEqual(tags.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i), 'each tag once, through takes of 7');
  assert.equal(ring.pending, 0);
});

test('close() from a wait\'s continuation: what was in flight ends -ECANCELED, once; then the queue refuses', async () => {
  const ring = new Ring();
  const bulk = ring.bulk({ depth: 8 });
  bulk.push(op.nop(), 1);
  bulk.push(op.timeout(60_000), 2);
  const n = await bulk.wait(1).then(async (k) => {
    await ring.close();
    return k;
  });
  assert.ok(n >= 1);
  const out = new BulkCompletions(8);
  assert.equal(bulk.take(out), 2);
  const byTag = new Map([...out.tag.subarray(0, 2)].map((tag, i) => [tag, out.res[i]]));
  assert.deepEqual([...byTag], [[1, 0], [2, -errno('ECANCELED')]]);
  assert.equal(bulk.take(out), 0, 'nothing twice');
  await assert.rejects(bulk.wait(1), RingClosedError);
});

test('one Sqe with a buffer pushed 32 times: each push keeps the buffer, every read fills it', async (t) => {
  const ring = ringFor(t);
  const data = pattern(4096);
  const f = tempFile(data);
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const bulk = ring.bulk({ depth: 32 });
  const buf = Buffer.alloc(4096);
  const read = op.read(fd, buf, 0);
  for (let i = 0; i < 32; i++) assert.equal(bulk.push(read, i), true);
  assert.equal(bulk.push(read, 99), false, 'depth 32 reached');
  assert.equal(await bulk.wait(32), 32);
  const out = new BulkCompletions(5);
  let total = 0;
  let n: number;
  while ((n = bulk.take(out)) > 0) {
    for (let i = 0; i < n; i++) assert.equal(out.res[i], 4096);
    total += n;
  }
  assert.equal(total, 32);
  assert.ok(buf.equals(data));
});

test('careless caller: a loop of push, submit and `await bulk.wait()` whose requests complete inline lets timers fire (it never left the microtask queue)', async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk({ depth: 8 });
  const out = new BulkCompletions(8);
  const nop = op.nop();
  let fired = false;
  setTimeout(() => (fired = true), 5);
  let n = 0;
  const t0 = Date.now();
  while (!fired && Date.now() - t0 < 3000 * CPU_TIME_SCALE) {
    assert.ok(bulk.push(nop, n));
    bulk.submit();
    assert.equal(await bulk.wait(1), 1);
    assert.equal(bulk.take(out), 1);
    assert.equal(out.tag[0], n++);
  }
  assert.ok(fired, `the timer fired during the loop (after ${n} round trips)`);
});

test('careless caller: a ready wait held for the check phase (the turn\'s budget spent) resolves there with the count ready when it was asked, whatever take() or close() did meanwhile, as an answer given at once would have', async () => {
  const ring = new Ring();
  const bulk = ring.bulk({ depth: 8 });
  const out = new BulkCompletions(8);
  const nop = op.nop();
  let held: Promise<number> | undefined;
  for (let attempt = 0; attempt < 5 && held === undefined; attempt++) {
    await new Promise((r) => setImmediate(r)); // a new turn
    for (const t0 = performance.now(); performance.now() - t0 < 3; );
    for (let i = 0; i < 64 && held === undefined; i++) {
      bulk.push(nop, i);
      bulk.submit();
      const w = bulk.wait(1);
      let settled = false;
      w.then(() => (settled = true), () => {});
      for (let k = 0; k < 5; k++) await Promise.resolve();
      if (!settled) held = w;
      bulk.take(out); // (careless: before the held wait resolved)
    }
  }
  assert.ok(held, 'precondition: a ready wait was held for the check phase');
  const closing = ring.close();
  assert.equal(await held, 1);
  await closing;
});
