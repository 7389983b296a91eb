/**
 * Every completion that waited on poll wakes JS, on the default ring and on a DEFER_TASKRUN ring
 * where the kernel allows it (src/ring/wake-probe.ts). Regression test of the waits seen on
 * Debian 12's 6.12.117: its DEFER_TASKRUN rings signal their eventfd for the first poll-driven
 * completion only, so the second read of a FIFO (readFile of a FIFO whose writer sends more than
 * the first read) or a send waiting for room never finished. The probe's answer is checked against
 * what a DEFER_TASKRUN ring really does on the running kernel, both ways.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { ringFor, fifo, CPU_TIME_SCALE, exercised } from './helpers.js';
import { SetupFlags, type Ring } from '../src/index.js';
import { pollWakeEventfd } from '../src/ring/wake-probe.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Rounds of: a 1-byte read of the empty FIFO (armed on poll once submitted), then a write from
 * this thread. Per round: did the read complete within `within` ms, with nothing else entering the ring?
 */
async function pollDrivenReads(ring: Ring, fd: number, rounds: number, within: number): Promise<boolean[]> {
  exercised('read');
  const out: boolean[] = [];
  for (let i = 0; i < rounds; i++) {
    const buf = Buffer.alloc(1);
    let done = false;
    const read = ring.read(fd, buf, -1).then((n) => {
      done = true;
      return n;
    });
    await sleep(10); // submitted at the end of the tick: the pipe is empty, the read waits on poll
    assert.equal(done, false, `round ${i}: the read waits for data`);
    writeSync(fd, String.fromCharCode(0x61 + i));
    const t0 = Date.now();
    while (!done && Date.now() - t0 < within) await sleep(5);
    out.push(done);
    if (!done) await ring.nop(); // entering the ring runs the queued completion work
    assert.equal(await read, 1);
    assert.equal(buf[0], 0x61 + i, `round ${i}: the byte written`);
  }
  return out;
}

test('the default ring: every read that waited on poll completes once its data is written (the second one never did on 6.12.117)', async (t) => {
  const ring = ringFor(t);
  const probe = pollWakeEventfd();
  if (probe.signalled === false) {
    assert.equal(ring.setupFlags & SetupFlags.DEFER_TASKRUN, 0, 'no DEFER_TASKRUN where its eventfd loses wakeups');
    assert.ok(ring.setupFlags & SetupFlags.COOP_TASKRUN, 'COOP_TASKRUN instead');
  } else if (probe.signalled === true) assert.ok(ring.setupFlags & SetupFlags.DEFER_TASKRUN, 'DEFER_TASKRUN where its eventfd hears every wakeup');
  const got = await pollDrivenReads(ring, fifo(t).fd, 4, 5000 * CPU_TIME_SCALE);
  assert.deepEqual(got, [true, true, true, true], 'each read completed without another entry into the ring');
});

test("the probe tells the truth: a DEFER_TASKRUN ring asked for by name hears every poll-driven completion where the probe says so, and misses the second where it says not (with one warning)", async (t) => {
  const probe = pollWakeEventfd();
  if (probe.signalled === null) return t.skip(`the kernel could not be probed: ${probe.why}`);
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void ((w as { code?: string }).code === 'RINGFLOW_DEFER_TASKRUN_WAKEUPS' && warnings.push(w));
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const ring = ringFor(t, { deferTaskrun: true, taskrunFlag: true });
  assert.ok(ring.setupFlags & SetupFlags.DEFER_TASKRUN);
  ringFor(t, { deferTaskrun: true }); // a second one: no second warning
  if (probe.signalled) {
    assert.deepEqual(await pollDrivenReads(ring, fifo(t).fd, 3, 5000 * CPU_TIME_SCALE), [true, true, true]);
  } else {
    // the first is signalled (late, through RCU); the ones after it are not, until the ring is entered
    const got = await pollDrivenReads(ring, fifo(t).fd, 3, 500 * CPU_TIME_SCALE);
    assert.deepEqual(got.slice(1), [false, false], 'the kernel loses them, as the probe said');
  }
  await sleep(0); // warnings are emitted on the next tick
  assert.equal(warnings.length, probe.signalled ? 0 : 1, 'one warning per thread where the kernel loses wakeups');
});
