/**
 * The host side of the 2021 prototype's example programs (isilence/liburing ebpf_v2 and bpf_v3,
 * examples/bpf/uring.c), for ringflow: each scenario sets up what that host set up (a ring with CQs
 * 1 and 2 of 128 entries, the four programs registered as 0..3, the user_data it passed) and
 * asserts the results it expects. Where the prototype's host passed a pointer to its own memory
 * in user_data, this one passes the address of a registered region (programs reach only those).
 * Used by test/prototype.test.ts (ringflow's re-creations of the examples) and
 * test/prototype-sources.test.ts (the original sources, only the include changed).
 */
import assert from 'node:assert/strict';
import { openSync, closeSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import * as ringflow from '../src/index.js';
import { ArrayMap, type LoadedObject } from '../src/programs/index.js';
import { ringFor, tempDir, CPU_TIME_SCALE } from './helpers.js';
import { addr, within } from './ring-programs-util.js';

/** The geometry of the write_file example (its uring.h). */
export const FILL = { QD: 4, BLOCKS: 16, BLOCK_SIZE: 4096 * 4 } as const;

/** Slot k of the examples' `arr` map (256 unsigned longs). */
export function slot(obj: LoadedObject, k: number): bigint {
  const m = obj.maps.get('arr');
  assert.ok(m instanceof ArrayMap, 'the object has the array map `arr`');
  return m.view(k).getBigUint64(0, true);
}

type Ring = InstanceType<typeof ringflow.Ring>;

/** Program runs so far (stats().programRuns). */
function runs(ring: Ring): number {
  const n = ring.stats().programRuns;
  assert.equal(typeof n, 'number', 'stats().programRuns is reported');
  return n as number;
}

/** A ring as the examples' ring_prep() made it, with the object's four programs registered as 0..3. */
export function prepRing(t: TestContext, obj: LoadedObject): Ring {
  const ring = ringFor(t, { cqs: [128, 128] });
  const names = ['test', 'counting', 'pingpong', 'write_file'];
  names.forEach((n, i) => assert.equal(ring.registerProgram(obj.program(n)), i, `${n} is program ${i}`));
  return ring;
}

/** example test1: CQEs emitted and reaped, a NOP submitted, user memory read and written, one wait. */
export async function scenarioTest(t: TestContext, obj: LoadedObject): Promise<void> {
  const ring = prepRing(t, obj);
  const secret = ring.registerRegion(8);
  new DataView(secret.bytes.buffer, secret.bytes.byteOffset, 8).setBigUint64(0, 29n, true);
  const cq0: { userData: bigint; res: number }[] = [];
  ring.onCompletion((c) => cq0.push({ userData: c.userData, res: c.res }));
  const runs0 = runs(ring);
  assert.equal(await within(ring.runProgram(0, { userData: addr(secret) }), 5000 * CPU_TIME_SCALE, 'test'), 0, 'the request completes with 0');
  assert.equal(runs(ring) - runs0, 2, 'run once, waited for a CQE on CQ 0, run again');
  assert.deepEqual(cq0, [{ userData: 3n, res: 13 }, { userData: 2n, res: 0 }], 'CQ 0: the emitted CQE, then the NOP');
  assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map((k) => slot(obj, k)), [11n, 4n, 5n, 21n, addr(secret), 29n, 1n], 'arr: 11, user_data 4 and 5 reaped, NOP queued, user_data, secret read');
  assert.equal(new DataView(secret.bytes.buffer, secret.bytes.byteOffset, 8).getBigUint64(0, true), 31n, 'new secret 31');
  assert.equal(ring.cq(1).ready, 0, 'both CQEs emitted to CQ 1 were reaped');
}

/** example test2 (counting): 11 timeouts on CQ 1, one after another; 12 runs. */
export async function scenarioCounting(t: TestContext, obj: LoadedObject, periodMs = 20): Promise<void> {
  const ring = prepRing(t, obj);
  const ctx = ring.registerRegion(16, { writable: false });
  new DataView(ctx.bytes.buffer, ctx.bytes.byteOffset, 16).setBigInt64(8, BigInt(periodMs) * 1_000_000n, true);
  const runs0 = runs(ring);
  const t0 = performance.now();
  assert.equal(await within(ring.runProgram(1, { userData: addr(ctx) }), (20 * periodMs + 5000) * CPU_TIME_SCALE, 'counting'), 0);
  const ms = performance.now() - t0;
  assert.ok(ms >= 11 * periodMs - 5, `11 timeouts of ${periodMs} ms one after another took ${ms.toFixed(0)} ms`);
  assert.equal(runs(ring) - runs0, 12, '12 runs: 11 submit a timeout, the last one ends');
  assert.equal(slot(obj, 0), 11n, 'arr[0]: 11 timeouts');
  assert.equal(slot(obj, 1), 5n, 'arr[1]: the user_data of the reaped timeout');
  assert.equal(ring.cq(1).ready, 1, 'the 11th timeout CQE is left on CQ 1 (the last run stops before reaping it)');
}

/** example test3 (pingpong): two requests of one program bounce a counter between CQs 1 and 2 up to 20. */
export async function scenarioPingpong(t: TestContext, obj: LoadedObject): Promise<void> {
  const ring = prepRing(t, obj);
  const ctx = ring.registerRegion(8, { writable: false });
  new DataView(ctx.bytes.buffer, ctx.bytes.byteOffset, 8).setInt32(4, 1, true);
  const a = ring.runProgram(2, { userData: addr(ctx, 0) });
  const b = ring.runProgram(2, { userData: addr(ctx, 4) });
  // the host's NOP on CQ 1 with user_data 0 starts the game (the `cq` option of JS requests)
  const k = ring.nop({ cq: 1, userData: 0 });
  assert.deepEqual(await within(Promise.all([a, b, k]), 5000 * CPU_TIME_SCALE, 'pingpong'), [0, 0, 0], 'both players finish');
  assert.deepEqual([0, 1, 5, 6].map((i) => slot(obj, i)), [1n, 1n, 20n, 21n], 'arr: both started; player 0 stopped at 20, player 1 at 21');
  assert.equal(ring.cq(1).ready, 1, 'player 1\'s last answer (22) is left on CQ 1');
  assert.equal(ring.cq(2).ready, 0, 'CQ 2 was reaped to the end');
  assert.equal(ring.cq(1).drain()[0]!.userData, 22n);
}

/** Why the write_file scenario cannot run on this ring (false: it can). */
function fixedFilesMissing(ring: Ring): string | false {
  const files = (ring as unknown as { files?: { register?: unknown } }).files;
  return typeof ringflow.fixed === 'function' && typeof files?.register === 'function'
    ? false
    : 'TODO(issue 10 item 4): needs the registered file table (ring.files.register([fd]), fixed(slot), ring.allowFd(fixed(0))) from branch `fixed`, not merged yet';
}

/** example test4 (write_file): 16 blocks of 16 KiB to registered file 0, 4 writes in flight. */
export async function scenarioWriteFile(t: TestContext, obj: LoadedObject): Promise<void> {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = `${dir}/bpf_file`;
  const fd = openSync(path, 'w+');
  t.after(() => closeSync(fd));
  const ring = prepRing(t, obj);
  const missing = fixedFilesMissing(ring);
  if (missing) {
    t.skip(missing);
    return;
  }
  const files = (ring as unknown as { files: { register(fds: number[]): unknown } }).files;
  files.register([fd]);
  (ring as unknown as { allowFd(f: unknown): void }).allowFd(ringflow.fixed(0));
  const size = FILL.BLOCKS * FILL.BLOCK_SIZE;
  const buf = ring.registerRegion(Buffer.alloc(size, 0xae), { writable: false });
  const runs0 = runs(ring);
  assert.equal(await within(ring.runProgram(3, { userData: addr(buf) }), 10000 * CPU_TIME_SCALE, 'write_file'), 0);
  assert.equal(runs(ring) - runs0, FILL.BLOCKS / FILL.QD + 1, 'one run per 4 writes, and one that ends');
  assert.deepEqual([0, 1].map((k) => slot(obj, k)), [0n, 16n], 'arr: nothing in flight, 16 blocks written');
  const data = readFileSync(path);
  assert.equal(data.length, size, 'the file has 16 blocks of 16 KiB');
  assert.ok(data.every((b) => b === 0xae), 'every byte is the pattern');
}
