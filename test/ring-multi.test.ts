/**
 * Requests with more than one CQE (src/ring/multi.ts): a multishot timeout (6.4) posts a CQE with
 * F_MORE per expiry; the request keeps its slot until the CQE without F_MORE, and its owner gets
 * every CQE, then exactly one end() or fail().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor } from './helpers.js';
import { CqeFlags, TimeoutFlags, RingClosedError, type Ring } from '../src/index.js';
import type { CqeSink } from '../src/ring/multi.js';

const ETIME = -62;
const ECANCELED = -125;

interface Seen {
  more: [number, number][];
  end: [number, number] | undefined;
  fail: Error | undefined;
  ends: number;
  done: Promise<void>;
}

function recorder(): CqeSink & { seen: Seen } {
  let finish!: () => void;
  const seen: Seen = { more: [], end: undefined, fail: undefined, ends: 0, done: new Promise((r) => (finish = r)) };
  return {
    seen,
    more(res, flags) {
      seen.more.push([res, flags]);
    },
    end(res, flags) {
      seen.end = [res, flags];
      seen.ends++;
      finish();
    },
    fail(err) {
      seen.fail = err;
      seen.ends++;
      finish();
    },
  };
}

/** A multishot timeout: `count` expiries (0 = until cancelled), every `ms`. */
const multishotTimeout = (ring: Ring, ms: number, count: number) => ring.op.timeout(ms, { count, timeoutFlags: TimeoutFlags.MULTISHOT });

async function hasMultishotTimeout(ring: Ring): Promise<boolean> {
  const r = recorder();
  ring.runMulti(multishotTimeout(ring, 1, 1), r);
  await r.seen.done;
  return r.seen.end?.[0] !== -22; // EINVAL: the kernel lacks IORING_TIMEOUT_MULTISHOT (6.4)
}

test('runMulti: every F_MORE CQE reaches the sink, then one end() with the CQE without F_MORE', async (t) => {
  const ring = ringFor(t);
  if (!(await hasMultishotTimeout(ring))) return t.skip('the kernel refuses IORING_TIMEOUT_MULTISHOT (Linux 6.4+)');
  const r = recorder();
  const h = ring.runMulti(multishotTimeout(ring, 2, 5), r);
  assert.equal(h.ended, false);
  assert.equal(ring.pending, 1);
  await r.seen.done;
  assert.equal(r.seen.more.length, 4);
  for (const [res, flags] of r.seen.more) {
    assert.equal(res, ETIME);
    assert.ok(flags & CqeFlags.MORE);
  }
  assert.deepEqual(r.seen.end, [ETIME, 0]);
  assert.equal(r.seen.ends, 1);
  assert.equal(h.ended, true);
  assert.equal(ring.pending, 0);
  h.cancel(); // no-op once ended
  assert.equal(ring.pending, 0);
});

test('runMulti: cancel() ends an endless multishot with -ECANCELED; signal does too', async (t) => {
  const ring = ringFor(t);
  if (!(await hasMultishotTimeout(ring))) return t.skip('the kernel refuses IORING_TIMEOUT_MULTISHOT (Linux 6.4+)');
  const r = recorder();
  let h = ring.runMulti(multishotTimeout(ring, 1, 0), {
    more(res, flags) {
      r.more(res, flags);
      if (r.seen.more.length === 3) h.cancel();
    },
    end: (res, flags) => r.end(res, flags),
    fail: (e) => r.fail(e),
  });
  await r.seen.done;
  assert.ok(r.seen.more.length >= 3);
  assert.equal(r.seen.end?.[0], ECANCELED);
  assert.equal(r.seen.ends, 1);

  const ac = new AbortController();
  const r2 = recorder();
  h = ring.runMulti(multishotTimeout(ring, 1, 0), r2, { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await r2.seen.done;
  assert.equal(r2.seen.end?.[0], ECANCELED);
  assert.equal(h.ended, true);
  assert.equal(ring.pending, 0);

  const r3 = recorder();
  ring.runMulti(multishotTimeout(ring, 1, 0), r3, { signal: AbortSignal.abort() });
  await r3.seen.done;
  assert.equal(r3.seen.fail?.name, 'AbortError');
  assert.equal(r3.seen.ends, 1);
});

test('runMulti: closing the ring ends a running multishot exactly once', async (t) => {
  const ring = ringFor(t);
  if (!(await hasMultishotTimeout(ring))) return t.skip('the kernel refuses IORING_TIMEOUT_MULTISHOT (Linux 6.4+)');
  const r = recorder();
  ring.runMulti(multishotTimeout(ring, 1, 0), r);
  await new Promise((res) => setTimeout(res, 10));
  await ring.close();
  await r.seen.done;
  assert.equal(r.seen.ends, 1);
  assert.ok(r.seen.end?.[0] === ECANCELED || r.seen.fail instanceof RingClosedError, `ended with ${JSON.stringify(r.seen.end)} / ${r.seen.fail}`);
});

test('runMulti: a close() from the sink is safe; later CQEs are not delivered', async (t) => {
  const ring = ringFor(t);
  if (!(await hasMultishotTimeout(ring))) return t.skip('the kernel refuses IORING_TIMEOUT_MULTISHOT (Linux 6.4+)');
  const r = recorder();
  let closing: Promise<void> | undefined;
  ring.runMulti(multishotTimeout(ring, 1, 0), {
    more(res, flags) {
      r.more(res, flags);
      closing ??= ring.close();
    },
    end: (res, flags) => r.end(res, flags),
    fail: (e) => r.fail(e),
  });
  await r.seen.done;
  await closing;
  assert.equal(r.seen.ends, 1);
});

test('runMulti and run: bad input', (t) => {
  const ring = ringFor(t);
  const sqe = ring.op.nop();
  assert.throws(() => ring.runMulti(sqe, undefined as never), /"sink" must be an object with more\(res, flags\), end\(res, flags\) and fail\(err\)/);
  assert.throws(() => ring.runMulti(sqe, { more() {}, end() {} } as never), TypeError);
  assert.throws(() => ring.runMulti({} as never, recorder()), /"sqe" must be an Sqe/);
  assert.throws(() => ring.runMulti(ring.op.nop().skipSuccess(), recorder()), /skipSuccess\(\) would hide/);
  const ms = ring.op.nop();
  ms.multishot = true;
  assert.throws(() => ring.run(ms), /submit it with ring.runMulti/);
  assert.throws(() => ring.chain([ms]), /cannot be linked/);
  assert.equal(ring.pending, 0);
});

test('runMulti: a single-CQE request ends at its one CQE', async (t) => {
  const ring = ringFor(t);
  const r = recorder();
  ring.runMulti(ring.op.nop(), r);
  await r.seen.done;
  assert.equal(r.seen.more.length, 0);
  assert.equal(r.seen.ends, 1);
  assert.deepEqual(r.seen.end, [0, 0]);
});
