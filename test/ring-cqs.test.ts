// Multiple completion queues (docs/completion-programs.md "Multiple CQs"): CQ selection, JS
// reading an extra CQ, a full extra CQ dropping and counting, createCq later, bad sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../src/index.js';
import { ringFor, CPU_TIME_SCALE } from './helpers.js';
import { skipReason, noEngine, load, mapView, mapI64, stat, within } from './ring-programs-util.js';
import type { LoadedObject } from '../src/programs/index.js';

const skip = skipReason;

/** Configures cqs.c emit_n: n CQEs { base + i, res i } to `cq`, then reap up to `reap` from `reapCq`. */
function emitArgs(obj: LoadedObject, cq: number, n: number, base: bigint, reapCq = 0, reap = 0): void {
  const a = mapView(obj, 'args');
  a.setBigUint64(0, base, true);
  a.setUint32(8, cq, true);
  a.setUint32(12, n, true);
  a.setUint32(16, reapCq, true);
  a.setUint32(20, reap, true);
}

test('new Ring({ cqs }) creates CQs 1..k with those sizes; ring.cq(i) describes them', { skip: noEngine }, (t) => {
  const ring = ringFor(t, { cqs: [64, 4, 1] });
  assert.deepEqual([1, 2, 3].map((i) => [ring.cq(i).index, ring.cq(i).size, ring.cq(i).ready, ring.cq(i).dropped]), [
    [1, 64, 0, 0],
    [2, 4, 0, 0],
    [3, 1, 0, 0],
  ]);
  assert.throws(() => ring.cq(4), RangeError);
  assert.throws(() => ring.cq(0), RangeError, 'CQ 0 is read through promises');
});

test('CQ sizes must be powers of two in 1..65536 (RangeError)', { skip: noEngine }, (t) => {
  for (const bad of [0, 3, 100, 65537, 131072, -4]) {
    assert.throws(() => new Ring({ cqs: [bad] }), RangeError, `cqs: [${bad}]`);
  }
  const ring = ringFor(t);
  for (const bad of [0, 3, 65537]) assert.throws(() => ring.createCq(bad), RangeError, `createCq(${bad})`);
  assert.throws(() => ring.createCq(1.5), (e: unknown) => e instanceof RangeError || e instanceof TypeError);
  assert.equal(ring.createCq(65536), 1, 'the largest size works');
});

test('createCq() later: returns the next index; programs can post to it and JS drain it', { skip }, async (t) => {
  const ring = ringFor(t);
  const obj = load('cqs.c');
  const idx = ring.registerProgram(obj.program('emit_n'));
  assert.equal(ring.createCq(8), 1);
  assert.equal(ring.createCq(16), 2);
  assert.equal(ring.cq(2).size, 16);
  emitArgs(obj, 2, 3, 100n);
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(ring.cq(1).ready, 0, 'CQ 1 untouched');
  assert.equal(ring.cq(2).ready, 3);
  assert.deepEqual(ring.cq(2).drain(), [
    { userData: 100n, res: 0, flags: 0 },
    { userData: 101n, res: 1, flags: 0 },
    { userData: 102n, res: 2, flags: 0 },
  ]);
  assert.equal(ring.cq(2).ready, 0);
  assert.deepEqual(ring.cq(2).drain(), []);
  assert.equal(ring.createCq(4), 3, 'more CQs after programs ran');
});

test('CQ selection: each CQE goes to the CQ it named with user_data unchanged; drain(max) takes the oldest', { skip }, async (t) => {
  const ring = ringFor(t, { cqs: [8, 8] });
  const obj = load('cqs.c');
  const idx = ring.registerProgram(obj.program('emit_n'));
  emitArgs(obj, 1, 5, 0xffff_ffff_0000_0000n);
  assert.equal(await ring.runProgram(idx), 0);
  emitArgs(obj, 2, 2, 7n);
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(ring.cq(1).ready, 5);
  assert.equal(ring.cq(2).ready, 2);
  assert.deepEqual(ring.cq(1).drain(2).map((c) => c.userData), [0xffff_ffff_0000_0000n, 0xffff_ffff_0000_0001n]);
  assert.equal(ring.cq(1).ready, 3);
  assert.deepEqual(ring.cq(1).drain().map((c) => c.res), [2, 3, 4]);
  assert.deepEqual(ring.cq(2).drain().map((c) => [c.userData, c.res]), [[7n, 0], [8n, 1]]);
  assert.equal(mapI64(obj, 'out', 0), 7n, 'all accepted');
});

test('a CQE drained by JS is gone for programs; one reaped by a program is gone for JS', { skip }, async (t) => {
  const ring = ringFor(t, { cqs: [8] });
  const obj = load('cqs.c');
  const idx = ring.registerProgram(obj.program('emit_n'));
  emitArgs(obj, 1, 4, 1n, 1, 3); // emit 4 to CQ 1, the program reaps 3 of them itself
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(mapI64(obj, 'out', 4), 3n, 'reaped 3');
  assert.equal(mapI64(obj, 'out', 3), 0n + 1n + 2n, 'oldest first');
  assert.deepEqual(ring.cq(1).drain(), [{ userData: 4n, res: 3, flags: 0 }]);
});

test('a full extra CQ drops CQEs and counts them (cq(i).dropped, stats().droppedCqes); 165 returns -ENOMEM', { skip }, async (t) => {
  const ring = ringFor(t, { cqs: [2] });
  const obj = load('cqs.c');
  const idx = ring.registerProgram(obj.program('emit_n'));
  emitArgs(obj, 1, 5, 10n);
  assert.equal(await ring.runProgram(idx), 0);
  assert.equal(mapI64(obj, 'out', 0), 2n, 'accepted');
  assert.equal(mapI64(obj, 'out', 1), 3n, 'dropped (-ENOMEM)');
  assert.equal(mapI64(obj, 'out', 2), 0n);
  assert.equal(ring.cq(1).ready, 2);
  assert.equal(ring.cq(1).dropped, 3);
  assert.deepEqual(ring.cq(1).drain().map((c) => c.userData), [10n, 11n], 'the oldest were kept');
  // room again
  emitArgs(obj, 1, 1, 99n);
  assert.equal(await ring.runProgram(idx), 0);
  assert.deepEqual(ring.cq(1).drain().map((c) => c.userData), [99n]);
  assert.equal(ring.cq(1).dropped, 3);
  assert.equal(stat(ring, 'droppedCqes'), 3, 'stats().droppedCqes (contract: top-level field)');
});

test('program-emitted CQEs on CQ 0 go to onCompletion, in order; a full CQ 0 drops and counts them', { skip }, async (t) => {
  const ring = new Ring({ entries: 4 });
  // not ringFor(): if the request's CQE were lost, close() would wait for it forever
  t.after(async () => {
    ring.unref();
    await within(ring.close(), 2000 * CPU_TIME_SCALE, 'ring.close()').catch(() => {});
  });
  const obj = load('cqs.c');
  const idx = ring.registerProgram(obj.program('emit_n'));
  const got: bigint[] = [];
  ring.onCompletion((c) => got.push(c.userData));
  emitArgs(obj, 0, 3, 1000n);
  assert.equal(await ring.runProgram(idx), 0);
  assert.deepEqual(got, [1000n, 1001n, 1002n]);
  // far more than CQ 0 can hold in one run: what does not fit is dropped and counted
  got.length = 0;
  const N = 4096;
  emitArgs(obj, 0, N, 0n);
  // the program request's own CQE must still arrive (CQ 0 never drops a request's CQE)
  assert.equal(await within(ring.runProgram(idx), 5000 * CPU_TIME_SCALE, 'the program request that filled CQ 0'), 0);
  const dropped = Number(mapI64(obj, 'out', 1));
  assert.equal(Number(mapI64(obj, 'out', 0)) - 3, got.length, 'every accepted CQE was delivered');
  assert.equal(got.length + dropped, N);
  assert.ok(dropped > 0, `CQ 0 (engine size) dropped ${dropped} of ${N}`);
  assert.deepEqual(got.slice(0, 3), [0n, 1n, 2n], 'in order');
  assert.equal(stat(ring, 'droppedCqes'), dropped, 'stats().droppedCqes');
});

test('stats(): contract fields programRuns, programInsns, budgetStops, droppedCqes, cqes[i], wakeups', { skip }, async (t) => {
  const ring = ringFor(t, { cqs: [8] });
  const obj = load('cqs.c');
  const idx = ring.registerProgram(obj.program('emit_n'));
  emitArgs(obj, 1, 3, 0n);
  assert.equal(await ring.runProgram(idx), 0);
  const s = ring.stats() as unknown as Record<string, unknown>;
  const missing = ['programRuns', 'programInsns', 'budgetStops', 'droppedCqes', 'cqes', 'wakeups'].filter((k) => !(k in s));
  assert.deepEqual(missing, [], `stats() lacks ${missing.join(', ')} (has ${Object.keys(s).join(', ')})`);
  assert.equal(s.programRuns, 1);
  assert.ok((s.programInsns as number) > 10);
  assert.ok(Array.isArray(s.cqes));
  assert.equal((s.cqes as number[])[1], 3, 'CQEs posted to CQ 1');
});
