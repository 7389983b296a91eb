/**
 * Completions in bulk (src/ring/bulk.ts): requests pushed with a tag, completions read in batches
 * into typed arrays, no promise per request; one owner per slot, the depth bound, reads into
 * buffers, mixing with promise requests, a failed chain, close with requests in flight, bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor, tempFile, pattern, requireFlag } from './helpers.js';
import { op, BulkCompletions, BulkQueue, RingClosedError, Ring } from '../src/index.js';
import { NOP_FLAGS } from '../src/ops/sqe-fields.js';
import { errno } from '../src/errors.js';

test('10,000 NOPs in batches of 256: every tag comes back exactly once with res 0', async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk({ depth: 512 });
  assert.ok(bulk instanceof BulkQueue);
  assert.equal(ring.bulk(), bulk, 'one queue per ring');
  const nop = op.nop();
  const out = new BulkCompletions(300);
  const seen = new Uint8Array(10_000);
  let next = 0;
  let got = 0;
  while (got < 10_000) {
    while (next < 10_000 && bulk.push(nop, next)) next++;
    bulk.submit();
    await bulk.wait(Math.min(bulk.inflight + bulk.ready, 64));
    const n = bulk.take(out);
    for (let i = 0; i < n; i++) {
      assert.equal(out.res[i], 0);
      seen[out.tag[i]]++;
    }
    got += n;
  }
  assert.ok(seen.every((c) => c === 1), 'each tag exactly once');
  assert.equal(bulk.inflight, 0);
  assert.equal(bulk.ready, 0);
  assert.equal(ring.pending, 0, 'nothing of the ring in flight');
});

test('reads into buffers: results match the file, the buffers are kept until their CQEs', async (t) => {
  const ring = ringFor(t);
  const data = pattern(64 * 4096);
  const f = tempFile(data);
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const bulk = ring.bulk({ depth: 64 });
  const bufs = Array.from({ length: 64 }, () => Buffer.alloc(4096));
  for (let i = 0; i < 64; i++) assert.equal(bulk.push(op.read(fd, bufs[i], (63 - i) * 4096), i), true);
  assert.equal(bulk.push(op.nop(), 99), false, 'depth reached: push says no');
  await bulk.wait(64);
  const out = new BulkCompletions(64);
  assert.equal(bulk.take(out), 64);
  for (let i = 0; i < 64; i++) {
    const k = out.tag[i];
    assert.equal(out.res[i], 4096);
    assert.ok(bufs[k].equals(data.subarray((63 - k) * 4096, (64 - k) * 4096)), `read ${k} got its block`);
  }
  assert.equal(bulk.push(op.nop(), 99), true, 'room again once taken');
  await bulk.wait(1);
});

test('bulk and promise requests on one ring: each CQE reaches its own owner', async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk();
  const nop = op.nop();
  const promises: Promise<number>[] = [];
  for (let i = 0; i < 100; i++) {
    bulk.push(nop, i);
    promises.push(ring.nop());
  }
  const rs = await Promise.all(promises);
  assert.ok(rs.every((r) => r === 0));
  await bulk.wait(100);
  const out = new BulkCompletions(200);
  assert.equal(bulk.take(out), 100, 'exactly the bulk requests, no promise CQE');
  assert.deepEqual([...out.tag.subarray(0, 100)].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
});

test('errors are results: a bad fd is -EBADF, a broken link cancels the rest (-ECANCELED)', async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk();
  const buf = Buffer.alloc(16);
  bulk.push(op.read(999_999, buf, 0), 1);
  bulk.push(op.read(999_999, buf, 0).link(), 2);
  bulk.push(op.nop(), 3);
  await bulk.wait(3);
  const out = new BulkCompletions(8);
  assert.equal(bulk.take(out), 3);
  const byTag = new Map([...out.tag.subarray(0, 3)].map((tag, i) => [tag, out.res[i]]));
  assert.equal(byTag.get(1), -errno('EBADF'));
  assert.equal(byTag.get(2), -errno('EBADF'));
  assert.equal(byTag.get(3), -errno('ECANCELED'), 'the link broke: the next request is cancelled');
});

test('ring.close() with bulk requests in flight: they end (the timer -ECANCELED), the pending wait sees them, then waits and pushes refuse', async () => {
  const ring = new Ring();
  const bulk = ring.bulk();
  bulk.push(op.timeout(60_000), 7);
  bulk.push(op.nop(), 8);
  bulk.submit();
  const waiting = bulk.wait(2);
  await ring.close();
  assert.equal(await waiting, 2, 'the close ended both: the wait resolved with them');
  await assert.rejects(bulk.wait(1), RingClosedError);
  assert.throws(() => bulk.push(op.nop(), 1), RingClosedError);
  const out = new BulkCompletions(4);
  const n = bulk.take(out);
  assert.equal(n, 2, 'both ended');
  const byTag = new Map([...out.tag.subarray(0, n)].map((tag, i) => [tag, out.res[i]]));
  assert.equal(byTag.get(8), 0);
  assert.equal(byTag.get(7), -errno('ECANCELED'), 'the timer was cancelled by the close');
});

test('bad input: options, tags, multishot and skip-success requests, waits that could never end', async (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.bulk({ depth: 0 }), { name: 'RangeError', message: /"depth" must be in \[1, 65536\]/ });
  assert.throws(() => ring.bulk({ depth: 1.5 }), { name: 'TypeError', message: /"depth" must be an integer/ });
  assert.throws(() => ring.bulk({ size: 4 } as never), { name: 'TypeError', message: /"size" is not an option/ });
  const bulk = ring.bulk({ depth: 8 });
  assert.throws(() => ring.bulk({ depth: 8 }), { name: 'TypeError', message: /exists already/ });
  assert.throws(() => bulk.push({} as never, 1), { name: 'TypeError', message: /"sqe" must be an Sqe/ });
  assert.throws(() => bulk.push(op.nop(), -1), { name: 'TypeError', message: /"tag" must be an integer in \[0, 2\^32 - 1\]/ });
  assert.throws(() => bulk.push(op.nop(), 2 ** 32), { name: 'TypeError', message: /"tag"/ });
  assert.throws(() => bulk.push(op.nop().skipSuccess(), 1), { name: 'RangeError', message: /skipSuccess/ });
  assert.throws(() => bulk.push(op.nop({ cq: 1 }), 1), { name: 'RangeError', message: /"cq"/ });
  assert.throws(() => bulk.push(op.sendZc(0, Buffer.alloc(1)), 1), { name: 'TypeError', message: /sendZc posts more than one CQE/ });
  assert.throws(() => bulk.push(op.openat('/dev/null', 0, 0, { direct: 'auto' }), 1), { name: 'TypeError', message: /changes the registered file table/ });
  assert.throws(() => bulk.push(op.filesUpdate([0]), 1), { name: 'TypeError', message: /changes the registered file table/ });
  await assert.rejects(bulk.wait(1), { name: 'RangeError', message: /would never resolve/ });
  await assert.rejects(bulk.wait(9), { name: 'RangeError', message: /"min" must be in \[1, 8\]/ });
  assert.throws(() => bulk.take(new Uint32Array(4) as never), { name: 'TypeError', message: /BulkCompletions/ });
  assert.throws(() => new BulkCompletions(0), { name: 'RangeError' });
  bulk.push(op.timeout(20), 1);
  const w = bulk.wait(1);
  await assert.rejects(bulk.wait(1), { name: 'TypeError', message: /one at a time/ });
  assert.equal(await w, 1);
  assert.equal(bulk.take(new BulkCompletions(1)), 1);
});

test('a CQE32 ring: BulkCompletions with { extras } get each completion\'s big_cqe words (nop CQE32: off and addr)', async (t) => {
  const ring = ringFor(t, { cqe32: true });
  if (!requireFlag(t, ring, 'nop', 'CQE32')) return;
  const bulk = ring.bulk({ depth: 16 });
  for (let i = 0; i < 8; i++) bulk.push(op.nop({ nopFlags: NOP_FLAGS.CQE32 }).setOff(1000n + BigInt(i)).setAddr(2n ** 40n + BigInt(i)), i);
  bulk.push(op.nop(), 8); // without the flag the kernel zeroes big_cqe
  await bulk.wait(9);
  const out = new BulkCompletions(16, { extras: true });
  assert.equal(bulk.take(out), 9);
  for (let i = 0; i < 9; i++) {
    const tag = out.tag[i];
    assert.equal(out.res[i], 0);
    if (tag === 8) assert.deepEqual([out.extras![2 * i], out.extras![2 * i + 1]], [0n, 0n]);
    else assert.deepEqual([out.extras![2 * i], out.extras![2 * i + 1]], [1000n + BigInt(tag), 2n ** 40n + BigInt(tag)]);
  }
  assert.equal(new BulkCompletions(4).extras, undefined, 'no extras unless asked for');
  assert.throws(() => new BulkCompletions(4, { extras: 1 } as never), { name: 'TypeError', message: /"extras" must be a boolean/ });
});
