/**
 * SQPOLL rings (RingOptions.sqpoll { idle, cpu }): a kernel thread polls the SQ; after `idle` ms
 * without work it sleeps and sets IORING_SQ_NEED_WAKEUP, and a submission must wake it
 * (IORING_ENTER_SQ_WAKEUP, native/ring_core.c rf_ring_submit). CPU pinning (SQ_AFF), and what
 * privileges SQPOLL needs on this kernel (none since 5.11: an unprivileged user may create one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, openSync, closeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ringFor, tempFile, pattern, CPU_TIME_SCALE } from './helpers.js';
import { settledWithin } from './wait-util.js';
import { sqThreads, newSqThreads } from './sq-threads.js';
import { runUnprivileged } from './unprivileged.js';
import { RingError, SetupFlags, EnterFlags, op } from '../src/index.js';
import { binding } from '../src/native.js';
import { setupRing, ringOffsets } from '../src/ring/setup.js';
import { SqRingFlags } from '../src/ring/abi.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A number from /proc/self/fdinfo/<fd>; SqThread and SqThreadCpu are -1 on 6.1 while the SQ thread holds its lock (test/sq-threads.ts). */
const fdinfo = (fd: number, key: string) => Number(new RegExp(`^${key}:\\s*(-?\\d+)`, 'm').exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? NaN);
/** CPUs this process may run on (its affinity mask, /proc/self/status Cpus_allowed_list). */
function allowedCpus(): number[] {
  const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

test('SQPOLL: submissions after the SQ thread went idle wake it and complete (5 rounds, 5 ms idle, 40 ms apart)', async (t) => {
  const f = tempFile(pattern(8192));
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const before = sqThreads();
  const ring = ringFor(t, { sqpoll: { idle: 5 } });
  assert.ok(ring.setupFlags & SetupFlags.SQPOLL);
  assert.equal(await ring.nop(), 0);
  assert.equal(newSqThreads(before).length, 1, 'the ring has an SQ thread (an iou-sqp-* thread of this process)');
  for (let round = 0; round < 5; round++) {
    await sleep(40); // well past `idle`: the thread sleeps
    const buf = Buffer.alloc(4096);
    const t0 = performance.now();
    // (2 s × CPU_TIME_SCALE: a loaded TCG guest is 10-40 times slower)
    const n = await settledWithin(ring.read(fd, buf, round * 1024), 2000);
    assert.equal(n, 4096, `round ${round}: the read completed (a missed wakeup would leave it in the SQ)`);
    assert.ok(buf.equals(pattern(4096, round * 1024)));
    assert.ok(performance.now() - t0 < 2000 * CPU_TIME_SCALE);
  }
  // a burst while the thread is awake needs no wakeup
  assert.deepEqual(await Promise.all(Array.from({ length: 64 }, () => ring.nop())), new Array(64).fill(0));
});

test('SQPOLL, at the ring core: the idle SQ thread sets NEED_WAKEUP and ringSubmit wakes it', async () => {
  const s = setupRing({ entries: 4, sqpoll: { idle: 5 }, profile: 'plain' }, 0);
  const mapped = binding.ringMap(s.fd, s.params) as [unknown, ArrayBuffer, ArrayBuffer, ArrayBuffer];
  assert.ok(Array.isArray(mapped));
  const [handle, sqRing, cqRing, sqes] = mapped;
  try {
    const off = ringOffsets(s.params);
    const sq32 = new Uint32Array(sqRing);
    const cq32 = new Uint32Array(cqRing);
    let tail = sq32[off.sqTail >> 2];
    for (let round = 0; round < 3; round++) {
      let waited = 0;
      while (!(Atomics.load(sq32, off.sqFlags >> 2) & SqRingFlags.NEED_WAKEUP) && waited < 2000 * CPU_TIME_SCALE) { // (a TCG guest: slower)
        await sleep(5);
        waited += 5;
      }
      assert.ok(Atomics.load(sq32, off.sqFlags >> 2) & SqRingFlags.NEED_WAKEUP, `round ${round}: the idle thread asked for a wakeup`);
      const slot = tail & sq32[off.sqMask >> 2];
      if (!(s.flags & SetupFlags.NO_SQARRAY)) sq32[(off.sqArray >> 2) + slot] = slot;
      // a plain nop (INJECT_RESULT is 6.10): its CQE says which request it answers (user_data) and res 0
      op.nop().encode(new Uint32Array(sqes), slot * 16, 40 + round, 0);
      tail = (tail + 1) >>> 0;
      const head = cq32[off.cqHead >> 2];
      assert.equal(binding.ringSubmit(handle, tail, 1, 0, 0), 1);
      for (waited = 0; Atomics.load(cq32, off.cqTail >> 2) === head && waited < 2000 * CPU_TIME_SCALE; waited += 1) await sleep(1);
      assert.notEqual(Atomics.load(cq32, off.cqTail >> 2), head, `round ${round}: the woken thread submitted the SQE`);
      const w = (off.cqes >> 2) + (head & cq32[off.cqMask >> 2]) * 4;
      assert.equal(cq32[w], 40 + round, 'user_data of this round\'s nop');
      assert.equal(cq32[w + 1], 0);
      assert.equal(new Int32Array(cqRing)[w + 2], 0, 'res');
      cq32[off.cqHead >> 2] = (head + 1) >>> 0;
    }
  } finally {
    binding.ringClose(handle);
  }
  void EnterFlags;
});

test('SQPOLL cpu pinning (SQ_AFF): the SQ thread runs on the CPU asked for; a CPU that does not exist is EINVAL', async (t) => {
  for (const cpu of allowedCpus()) {
    const before = sqThreads();
    const ring = ringFor(t, { sqpoll: { idle: 10, cpu } });
    assert.ok(ring.setupFlags & SetupFlags.SQ_AFF);
    assert.equal(await ring.nop(), 0);
    // the ring's SQ thread: the iou-sqp-* thread it added (named once a request went through)
    const added = newSqThreads(before);
    assert.equal(added.length, 1, `one new SQ thread: ${added}`);
    const tid = added[0];
    // the thread pins itself when it starts running (io_sq_thread): look until it has
    const pinned = () => /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'))?.[1];
    for (let i = 0; i < 200 * CPU_TIME_SCALE && pinned() !== String(cpu); i++) await sleep(5); // (× CPU_TIME_SCALE: later in a TCG guest)
    assert.equal(pinned(), String(cpu), `the SQ thread ${tid} is pinned to CPU ${cpu}`);
    // fdinfo's SqThreadCpu: the CPU asked for on newer kernels; on 6.1 it is task_cpu() of the
    // thread, where it last ran, which is the pinned CPU only once the thread has moved there
    // (CI saw 0 for 1 on the 6.1 guest when this was read before the thread had run)
    let infoCpu = fdinfo(ring.fd, 'SqThreadCpu');
    for (let i = 0; i < 200 * CPU_TIME_SCALE && infoCpu !== -1 && infoCpu !== cpu; i++) { await sleep(5); infoCpu = fdinfo(ring.fd, 'SqThreadCpu'); }
    if (infoCpu !== -1) assert.equal(infoCpu, cpu, 'fdinfo, where it says (-1 on 6.1 while the thread polls)');
  }
  assert.throws(() => ringFor(t, { sqpoll: { cpu: Math.max(availableParallelism(), 1024) } }), (e: unknown) => e instanceof RingError && e.code === 'EINVAL');
  assert.throws(() => ringFor(t, { sqpoll: { cpu: -1 } }), RangeError);
  assert.throws(() => ringFor(t, { sqpoll: { idle: 1.5 } }), TypeError);
  assert.throws(() => ringFor(t, { sqpoll: { bogus: 1 } as never }), TypeError);
});

/** The hard RLIMIT_MEMLOCK (an unprivileged child cannot be given more); 8 rings' worth is plenty. */
function memlockHard(): number {
  const hard = /^Max locked memory\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  return hard === undefined || hard === 'unlimited' ? 16 << 20 : Math.min(Number(hard), 16 << 20);
}

test('SQPOLL privileges: an unprivileged user (uid 65534, no capabilities) creates an SQPOLL ring, pinned or not (Linux 5.11+)', (t) => {
  const index = new URL('../src/index.js', import.meta.url);
  const addon = new URL('../../build/Release/ringflow.node', import.meta.url);
  const r = runUnprivileged([index, addon], `
    const { Ring } = await import(${JSON.stringify(index.href)});
    const out = {};
    for (const [name, sqpoll] of [['plain', { idle: 10 }], ['pinned', { idle: 10, cpu: 0 }]]) {
      try {
        const ring = new Ring({ entries: 8, sqpoll });
        out[name] = { nop: await ring.nop(), flags: ring.setupFlags };
        await ring.close();
      } catch (e) { out[name] = { code: e.code, message: e.message }; }
    }
    console.log(JSON.stringify(out));`, memlockHard());
  if ('skip' in r) return t.skip(r.skip);
  const out = r.out as Record<string, { nop?: number; flags?: number; code?: string; message?: string }>;
  for (const name of ['plain', 'pinned']) {
    assert.equal(out[name].nop, 0, `${name}: ${JSON.stringify(out[name])}`);
    assert.ok(out[name].flags! & SetupFlags.SQPOLL);
  }
});
