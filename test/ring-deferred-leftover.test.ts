/**
 * Deferred task work the kernel leaves for later. On a DEFER_TASKRUN ring (the default profile)
 * completions that come back from io-wq (IOSQE_ASYNC, tmpfs reads, links whose next step is
 * queued by the previous one's completion) wait in the ring's task-work list until the thread
 * enters the kernel. Linux 6.13+ runs at most 20 of them per enter (IO_LOCAL_TW_DEFAULT_MAX) and
 * keeps the rest in a retry list without signalling the ring's eventfd again, so a thread that
 * went back to sleep on the eventfd slept forever with requests done in the kernel: 64 linked
 * open → read chains with IOSQE_ASYNC hung with 128 requests in flight, every time, on 6.18.44.
 * ringflow signals its own eventfd while the kernel flags work left (IORING_SQ_TASKRUN, which is
 * why DEFER_TASKRUN always comes with TASKRUN_FLAG): native/ring_core.c, rf_ring_rearm.
 * On kernels without the cap (6.1, 6.12) the same tests pass without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { op, fixed, SetupFlags, type Ring } from '../src/index.js';
import { setupFlags } from '../src/ring/setup.js';
import { ringFor, tempDir, CPU_TIME_SCALE } from './helpers.js';

/** Settles with the promise, or rejects after `ms` with what the ring still holds. */
function within<T>(ring: Ring, p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled after ${ms} ms: ${JSON.stringify(ring.stats())}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

test('DEFER_TASKRUN always comes with TASKRUN_FLAG (the flag that says deferred work is left)', (t) => {
  const D = SetupFlags.DEFER_TASKRUN;
  assert.equal(setupFlags({ deferTaskrun: true }, 0) & SetupFlags.TASKRUN_FLAG, SetupFlags.TASKRUN_FLAG);
  assert.equal(setupFlags({ flags: D | SetupFlags.SINGLE_ISSUER }, 0) & SetupFlags.TASKRUN_FLAG, SetupFlags.TASKRUN_FLAG);
  assert.equal(setupFlags({ coopTaskrun: true }, 0) & SetupFlags.TASKRUN_FLAG, 0, 'COOP_TASKRUN alone keeps what it asked');
  const ring = ringFor(t, { deferTaskrun: true });
  if (ring.setupFlags & D) assert.ok(ring.setupFlags & SetupFlags.TASKRUN_FLAG, `setup flags ${ring.setupFlags.toString(16)}`);
});

test('256 NOPs through io-wq (IOSQE_ASYNC) all complete, on every profile', async (t) => {
  for (const profile of ['fast', 'coop', 'plain'] as const) {
    const ring = ringFor(t, { profile, entries: 256 });
    const all = Promise.all(Array.from({ length: 256 }, () => ring.run(op.nop().async())));
    const rs = await within(ring, all, 10_000 * CPU_TIME_SCALE);
    assert.deepEqual(new Set(rs), new Set([0]), profile);
    assert.equal(ring.pending, 0);
  }
});

for (const engine of [false, true]) {
  test(`64 linked open → read → read chains with IOSQE_ASYNC steps, repeated: none is left waiting in the kernel${engine ? ' (program engine on: its reaping pass)' : ''}`, async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const files = Array.from({ length: 16 }, (_, i) => {
      const p = join(dir, `f${i}`);
      writeFileSync(p, Buffer.alloc(1024, i));
      return p;
    });
    const ring = ringFor(t, { entries: 256, ...(engine ? { cqs: [8] } : {}) });
    ring.files.register(new Array(64).fill(-1));
    const one = async (k: number, round: number): Promise<void> => {
      const buf = Buffer.alloc(4096);
      const byte = new Uint8Array(1);
      // the open and the first read go to io-wq; each completion queues the next step as task work
      const steps = ring.chain([
        op.openat(files[(k + round) % files.length], 0, 0, { direct: k }).link().async(),
        op.read(fixed(k), buf, -1).hardlink().async(),
        op.read(fixed(k), byte, -1),
      ]);
      const [slot, n, end] = await Promise.all(steps);
      assert.equal(slot instanceof Object ? (slot as { index: number }).index : slot, k);
      assert.equal(n, 1024);
      assert.equal(end, 0);
      assert.ok(buf.subarray(0, 1024).every((b) => b === (k + round) % files.length));
      await ring.closeFd(fixed(k));
    };
    for (let round = 0; round < 20; round++) await within(ring, Promise.all(Array.from({ length: 64 }, (_, k) => one(k, round))), 10_000 * CPU_TIME_SCALE);
    assert.equal(ring.pending, 0);
  });
}
