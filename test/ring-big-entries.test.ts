/**
 * Rings with big entries against the kernel: 128-byte SQEs (sqe128), 32-byte CQEs (cqe32) and
 * mixed CQs (cqeMixed, 6.18): the SQ and CQ step the right sizes across wraps, ring.runBig()
 * resolves big_cqe[0..1] (nop's CQE32 flag fills them from off and addr), the completion-program
 * engine is refused on such rings, and the combinations the kernel or ringflow refuse are errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, requireOp, requireFlag } from './helpers.js';
import { Ring, op, SetupFlags, CqeFlags, RingError, type BigCompletion } from '../src/index.js';
import { SETUP_FLAGS } from '../src/ring/abi.js';
import { NOP_FLAGS } from '../src/ops/sqe-fields.js';

const CQE32 = NOP_FLAGS.CQE32;
/** A nop whose 32-byte CQE carries (extra1, extra2), and its injected res. */
const bigNop = (res: number, extra1: bigint, extra2: bigint) => op.nop({ nopFlags: CQE32 | NOP_FLAGS.INJECT_RESULT, injectResult: res }).setOff(extra1).setAddr(extra2);
const brief = (c: BigCompletion) => [c.res, c.extra1, c.extra2];

test('ring options sqe128, cqe32, cqeMixed set their IORING_SETUP_* flags; the defaults stay 64/16-byte rings', (t) => {
  const refused: string[] = [];
  for (const [o, name] of [[{ sqe128: true }, 'SQE128'], [{ cqe32: true }, 'CQE32'], [{ cqeMixed: true }, 'CQE_MIXED']] as const) {
    let ring: Ring;
    try {
      ring = ringFor(t, { entries: 4, ...o });
    } catch (e) {
      // the kernel refuses a setup flag it does not know with EINVAL (CQE_MIXED before 6.18)
      if (!(e instanceof RingError && e.code === 'EINVAL')) throw e;
      const since = SETUP_FLAGS.find((f) => f.name === name)!.since;
      refused.push(`IORING_SETUP_${name} (${JSON.stringify(o)}, Linux ${since}+)`);
      t.diagnostic(`this kernel refuses IORING_SETUP_${name} with EINVAL: ${e.message.split('\n')[0]}`);
      continue;
    }
    assert.ok(ring.setupFlags & SetupFlags[name], JSON.stringify(o));
  }
  const plain = ringFor(t, { entries: 4 });
  assert.equal(plain.setupFlags & (SetupFlags.SQE128 | SetupFlags.CQE32 | SetupFlags.CQE_MIXED), 0);
  if (!refused.some((r) => r.startsWith('IORING_SETUP_SQE128') || r.startsWith('IORING_SETUP_CQE32'))) {
    const raw = ringFor(t, { entries: 4, flags: SetupFlags.SQE128 | SetupFlags.CQE32 });
    assert.equal(raw.setupFlags & (SetupFlags.SQE128 | SetupFlags.CQE32), SetupFlags.SQE128 | SetupFlags.CQE32, 'raw flags are accepted too');
  }
  if (refused.length) t.skip(`this kernel refuses ${refused.join(', ')} with EINVAL; the other options were checked`);
});

test('sqe128 and cqe32: requests are read from 128-byte SQEs and answered in 32-byte CQEs, across many wraps of both queues', async (t) => {
  for (const o of [{ sqe128: true }, { cqe32: true }, { sqe128: true, cqe32: true }]) {
    const ring = ringFor(t, { entries: 4, cqEntries: 8, ...o });
    if (!requireOp(t, ring, 'nop') || !requireFlag(t, ring, 'nop', 'INJECT_RESULT')) return;
    // 100 requests through a 4-entry SQ and an 8-entry CQ: a wrong stride reads another slot's bytes
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => ring.nop({ injectResult: i })));
    assert.deepEqual(results, Array.from({ length: 100 }, (_, i) => i), JSON.stringify(o));
    // linked chains keep their order and their links across 128-byte entries
    const chain = await Promise.all(ring.chain([op.nop({ injectResult: 1 }), op.nop({ injectResult: 2 }), op.nop({ injectResult: 3 })], { link: true }));
    assert.deepEqual(chain, [1, 2, 3]);
    // a failing link cancels the rest: the flags byte of each 128-byte entry is where the kernel reads it
    const broken = await Promise.allSettled(ring.chain([op.nop({ injectResult: -22 }).link(), op.nop()]));
    assert.equal(broken[0].status, 'rejected');
    assert.equal(broken[1].status === 'rejected' && (broken[1].reason as RingError).code, 'ECANCELED');
    assert.equal(ring.stats().cqesReaped, ring.stats().sqesSubmitted, 'one CQE per request');
  }
});

test('runBig on a cqe32 ring: nop with IORING_NOP_CQE32 returns off and addr as extra1 and extra2', async (t) => {
  const ring = ringFor(t, { entries: 4, cqe32: true });
  if (!requireOp(t, ring, 'nop') || !requireFlag(t, ring, 'nop', 'CQE32')) return;
  const c = await ring.runBig(bigNop(7, 0x1122334455667788n, 0xffffffffffffffffn));
  assert.deepEqual(c, { res: 7, flags: 0, extra1: 0x1122334455667788n, extra2: 0xffffffffffffffffn });
  // many at once, through wraps: each request gets the extras of its own CQE
  const many = await Promise.all(Array.from({ length: 40 }, (_, i) => ring.runBig(bigNop(i, BigInt(i) << 33n, ~BigInt(i) & 0xffffffffffffffffn))));
  assert.deepEqual(many.map(brief), Array.from({ length: 40 }, (_, i) => [i, BigInt(i) << 33n, ~BigInt(i) & 0xffffffffffffffffn]));
  // a request without the flag: the kernel zeroes big_cqe on a CQE32 ring
  assert.deepEqual(await ring.runBig(op.nop()), { res: 0, flags: 0, extra1: 0n, extra2: 0n });
  // ring.run() of the same kind of request resolves res alone; runBig keeps rejecting errors
  assert.equal(await ring.run(bigNop(3, 1n, 2n)), 3);
  await assert.rejects(ring.runBig(op.nop({ injectResult: -5 })), (e: unknown) => e instanceof RingError && e.code === 'EIO');
});

test('cqeMixed (6.18): 32-byte CQEs (F_32) take two slots, padding (F_SKIP) is stepped over, 16-byte ones stay 16', async (t) => {
  let ring: Ring;
  try {
    ring = ringFor(t, { entries: 4, cqEntries: 8, cqeMixed: true });
  } catch (e) {
    if (e instanceof RingError && e.code === 'EINVAL') return t.skip('this kernel lacks IORING_SETUP_CQE_MIXED (Linux 6.18)');
    throw e;
  }
  if (!requireOp(t, ring, 'nop') || !requireFlag(t, ring, 'nop', 'CQE32')) return;
  // small and big CQEs in turn take 3 slots a pair, so every 8 slots a big one falls on the last
  // slot of the 8-slot CQ, where the kernel posts an F_SKIP padding CQE and puts the big one at
  // slot 0 (6 paddings in this run, counted by instrumenting the reader once)
  const want: [number, bigint, bigint][] = [];
  const got: Promise<BigCompletion>[] = [];
  for (let i = 0; i < 60; i++) {
    const big = i % 2 === 1;
    got.push(ring.runBig(big ? bigNop(i, BigInt(i) * 3n, BigInt(i) * 5n) : op.nop({ injectResult: i })));
    want.push(big ? [i, BigInt(i) * 3n, BigInt(i) * 5n] : [i, 0n, 0n]);
    if (i % 5 === 4) await Promise.all(got.slice(-5)); // batches of 5: the CQ fills and wraps at different slots
  }
  const all = await Promise.all(got);
  assert.deepEqual(all.map(brief), want);
  assert.ok(all.every((c, i) => (c.flags & CqeFlags.F_32) === (i % 2 === 1 ? CqeFlags.F_32 : 0)), 'F_32 marks exactly the big CQEs');
  assert.equal(ring.stats().cqesReaped, 60, 'padding CQEs are not completions');
  assert.deepEqual(await Promise.all([ring.nop(), ring.nop({ injectResult: 9 })]), [0, 9], 'plain requests after that');
});

test('sqe128 with cqeMixed (a combination the kernel accepts)', async (t) => {
  let ring: Ring;
  try {
    ring = ringFor(t, { entries: 2, sqe128: true, cqeMixed: true });
  } catch (e) {
    if (e instanceof RingError && e.code === 'EINVAL') return t.skip('this kernel lacks IORING_SETUP_CQE_MIXED (Linux 6.18)');
    throw e;
  }
  if (!requireFlag(t, ring, 'nop', 'CQE32')) return;
  const got = await Promise.all(Array.from({ length: 9 }, (_, i) => ring.runBig(i % 2 ? bigNop(i, 1n, BigInt(i)) : op.nop({ injectResult: i }))));
  assert.deepEqual(got.map(brief), Array.from({ length: 9 }, (_, i) => (i % 2 ? [i, 1n, BigInt(i)] : [i, 0n, 0n])));
});

test('the kernel refuses: cqe32 with cqeMixed, and nop\'s CQE32 flag on a ring of 16-byte CQEs', async (t) => {
  assert.throws(() => new Ring({ entries: 2, cqe32: true, cqeMixed: true }), (e: unknown) => e instanceof RingError && e.code === 'EINVAL' && /flags=0x/.test(e.message));
  const ring = ringFor(t, { entries: 2 });
  if (!requireFlag(t, ring, 'nop', 'CQE32')) return;
  await assert.rejects(ring.run(op.nop({ nopFlags: CQE32 })), (e: unknown) => e instanceof RingError && e.code === 'EINVAL');
  assert.equal(await ring.nop(), 0, 'the ring goes on');
});

test('ring.supports(\'nop\', { flag: \'CQE32\' }) asks the kernel on a CQE32 scratch ring', (t) => {
  const ring = ringFor(t, { entries: 2 });
  const has = ring.supports('nop', { flag: 'CQE32' });
  assert.equal(typeof has, 'boolean', 'a real answer, not "cannot ask"');
  if (has) assert.ok(ring.supports('nop', { flag: 'INJECT_RESULT' }), 'CQE32 (6.18) implies the 6.10 flags');
});

test('runBig: bad input is a TypeError/RangeError naming what is accepted', async (t) => {
  const plain = ringFor(t, { entries: 2 });
  assert.throws(() => plain.runBig(op.nop()), { name: 'RangeError', message: 'ring.runBig(): this ring posts 16-byte CQEs only; create it with { cqe32: true } or { cqeMixed: true } for 32-byte ones' });
  const ring = ringFor(t, { entries: 2, cqe32: true });
  assert.throws(() => ring.runBig({} as any), { name: 'TypeError', message: 'ring.runBig(): "sqe" must be an Sqe built with ring.op.* / op.*' });
  assert.throws(() => (ring.runBig as any)(), { name: 'TypeError', message: 'ring.runBig() takes sqe, options; got 0 arguments' });
  assert.throws(() => (ring.runBig as any)(op.nop(), {}, 1), { name: 'TypeError', message: /got 3 arguments/ });
  assert.throws(() => ring.runBig(op.statx('/')), { name: 'TypeError', message: 'ring.runBig(): statx resolves a result of its own, not its CQE; use ring.run()' });
  assert.throws(() => ring.runBig(op.timeout(1)), { name: 'TypeError', message: /^ring\.runBig\(\): timeout resolves a result of its own/ });
  assert.throws(() => ring.runBig(op.nop().skipSuccess()), { name: 'RangeError', message: /skipSuccess\(\) on a lone request/ });
  // a plain nop (no INJECT_RESULT, 6.10): what it resolves does not matter here, only that it still runs
  const s = op.nop();
  assert.throws(() => ring.runBig(s, 5 as any), { name: 'TypeError', message: /"options" must be an object/ });
  assert.equal(s.ringState?.big ?? false, false, 'a refused runBig leaves the Sqe as it was');
  assert.equal(await ring.run(s), 0);
  assert.equal(ring.pending, 0);
});

test('completion programs and extra CQs are refused on big-entry rings, before the engine exists', async (t) => {
  assert.throws(() => new Ring({ cqe32: true, cqs: [4] }), { name: 'RangeError', message: /^ring option "cqs" needs the completion-program engine, which a ring with CQE32 cannot have: the engine \(native\/engine\.c\) reads 16-byte CQEs and writes 64-byte SQEs/ });
  assert.throws(() => new Ring({ flags: SetupFlags.SQE128, cqs: [4] }), { name: 'RangeError', message: /which a ring with SQE128 cannot have/ });
  for (const o of [{ sqe128: true }, { cqe32: true }, { cqeMixed: true }]) {
    let ring: Ring;
    try {
      ring = ringFor(t, { entries: 2, ...o });
    } catch (e) {
      if (e instanceof RingError && e.code === 'EINVAL') continue; // no CQE_MIXED before 6.18
      throw e;
    }
    const why = /^completion programs and extra completion queues need the program engine, which this ring \(set up with (SQE128|CQE32|CQE_MIXED)\) cannot have: /;
    assert.throws(() => ring.createCq(4), { name: 'RangeError', message: why }, JSON.stringify(o));
    assert.throws(() => ring.allowFd(0), { name: 'RangeError', message: why });
    assert.throws(() => ring.run(op.nop({ cq: 0 })), { name: 'RangeError', message: why }, 'the `cq` option starts the engine');
    assert.equal(ring.pending, 0);
    assert.equal(await ring.nop(), 0, 'the ring itself works');
  }
});

test('a command area over 16 bytes needs sqe128: ring.run, chain and runMulti refuse it before queueing anything', async (t) => {
  const ring = ringFor(t, { entries: 2 });
  const big = () => op.uringCmdRaw(0, 0, new Uint8Array(17));
  const msg = /needs 128-byte SQEs \(at most 16 bytes fit in a 64-byte SQE\); create the ring with \{ sqe128: true \}$/;
  assert.throws(() => ring.run(big()), { name: 'RangeError', message: new RegExp(`^ring\\.run\\(\\): the uringCmdRaw command area of 17 bytes ${msg.source.slice(0, -1)}`) });
  assert.throws(() => ring.chain([op.nop(), big()]), { name: 'RangeError', message: /^ring\.chain\(\): the uringCmdRaw command area of 17 bytes needs 128-byte SQEs/ });
  assert.throws(() => ring.runMulti(big(), { more() {}, end() {}, fail() {} }), { name: 'RangeError', message: /^ring\.runMulti\(\): the uringCmdRaw command area/ });
  assert.throws(() => ring.uringCmdRaw(0, 0, new Uint8Array(80)), { name: 'RangeError', message: /^ring\.run\(\): the uringCmdRaw command area of 80 bytes/ });
  assert.equal(ring.pending, 0, 'nothing queued');
  assert.equal(ring.stats().sqesSubmitted, 0, 'nothing reached the kernel');
  assert.equal(await ring.nop(), 0);
});
