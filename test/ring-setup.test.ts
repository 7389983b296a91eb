/** Ring setup: every setup flag a user may want, features, probe, bad options (memlock: memlock.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { Ring, SetupFlags, RingError } from '../src/index.js';
import { ringFor, tagged } from './helpers.js';

test('default ring: sizes, features, NO_SQARRAY and the fast profile', async (t) => {
  const ring = ringFor(t);
  assert.equal(ring.sqEntries, 256);
  assert.equal(ring.cqEntries, 1024);
  assert.ok(ring.hasFeature('NODROP'), 'IORING_FEAT_NODROP');
  assert.ok(ring.hasFeature('SUBMIT_STABLE'));
  assert.ok(ring.setupFlags & SetupFlags.CQSIZE);
  assert.ok(ring.setupFlags & (SetupFlags.DEFER_TASKRUN | SetupFlags.COOP_TASKRUN));
  assert.equal(await ring.nop(), 0);
});

test('supports(): probe by name, constant and number', async (t) => {
  const ring = ringFor(t);
  assert.equal(ring.supports('nop'), true);
  assert.equal(ring.supports('NOP'), true);
  assert.equal(ring.supports(22), true);
  assert.equal(ring.supports('noSuchOp'), false);
  assert.equal(ring.supports(200), false);
});

const variants: [string, ConstructorParameters<typeof Ring>[0]][] = [
  ['entries 8, cq 9 → rounded to 16', { entries: 8, cqEntries: 9 }],
  ['CLAMP with a huge size', { entries: 1 << 20, clamp: true, cqEntries: 1 << 20 }],
  ['plain profile', { profile: 'plain' }],
  ['COOP_TASKRUN + TASKRUN_FLAG', { coopTaskrun: true, taskrunFlag: true }],
  ['SINGLE_ISSUER + DEFER_TASKRUN', { singleIssuer: true, deferTaskrun: true }],
  ['SUBMIT_ALL', { submitAll: true }],
  ['without NO_SQARRAY (index array)', { noSqArray: false, profile: 'plain' }],
  ['SQPOLL with idle 50 ms', { sqpoll: { idle: 50 } }],
  ['SQPOLL pinned to cpu 0', { sqpoll: { idle: 10, cpu: 0 } }],
  ['watch a registered eventfd', { eventfd: true, profile: 'coop' }],
];
for (const [name, opts] of variants) {
  test(`setup: ${name}`, async (t) => {
    const ring = ringFor(t, opts);
    const ps = [];
    for (let i = 0; i < 100; i++) ps.push(tagged(ring, i));
    assert.deepEqual(await Promise.all(ps), [...Array(100).keys()]);
    assert.equal(await ring.timeout(2), true);
    if (name.startsWith('entries 8')) assert.equal(ring.cqEntries, 16);
    if (name.startsWith('CLAMP')) assert.equal(ring.sqEntries, 32768);
    if (name.startsWith('SQPOLL')) assert.ok(ring.setupFlags & SetupFlags.SQPOLL);
  });
}

test('R_DISABLED: requests wait until enable()', async (t) => {
  const ring = ringFor(t, { disabled: true, profile: 'plain', autoSubmit: false });
  const early = ring.nop();
  ring.submit();
  await assert.rejects(early, (e: any) => e instanceof RingError && e.code === 'EBADFD' && e.syscall === 'io_uring_enter');
  ring.enable();
  const later = ring.nop();
  ring.submit();
  assert.equal(await later, 0);
});

test('ATTACH_WQ shares another ring\'s workers', async (t) => {
  const a = ringFor(t);
  const b = ringFor(t, { attachWq: a });
  assert.ok(b.setupFlags & SetupFlags.ATTACH_WQ);
  assert.equal(await b.nop(), 0);
});

test('invalid setup is a RingError EINVAL with a hint, or a RangeError before the kernel', () => {
  assert.throws(() => new Ring({ entries: 0 }), RangeError);
  assert.throws(() => new Ring({ entries: 1 << 16 }), RangeError);
  assert.throws(() => new Ring({ entries: 1.5 }), TypeError);
  assert.throws(() => new Ring({ entries: 8, cqEntries: 4 }), (e: any) => e instanceof RingError && e.code === 'EINVAL' && e.syscall === 'io_uring_setup' && /accepts/.test(String(e.hint)));
  assert.throws(() => new Ring({ flags: SetupFlags.SQ_AFF, profile: 'plain' }), { code: 'EINVAL' });
  assert.throws(() => new Ring({ flags: 1 << 30 }), RangeError, 'unknown IORING_SETUP_* bits are refused before the kernel');
  assert.throws(() => new Ring({ taskrunFlag: true }), { code: 'EINVAL' }, 'TASKRUN_FLAG alone');
  assert.throws(() => new Ring({ sqpoll: true, coopTaskrun: true }), { code: 'EINVAL' });
  assert.throws(() => new Ring(null as any), TypeError);
});

test('kernel.io_uring_disabled = 2: RingError EPERM naming the sysctl', (t) => {
  const path = '/proc/sys/kernel/io_uring_disabled';
  let before: string;
  try {
    before = readFileSync(path, 'utf8').trim();
    writeFileSync(path, before);
  } catch {
    return t.skip(`cannot write ${path} (needs root and a 6.6+ kernel)`);
  }
  try {
    writeFileSync(path, '2');
    assert.throws(() => new Ring({ entries: 4 }), (e: any) => e instanceof RingError && e.code === 'EPERM' && /io_uring_disabled/.test(String(e.hint)));
  } finally {
    writeFileSync(path, before);
  }
  const ring = new Ring({ entries: 4 });
  void ring.close();
});

test('more rings than a thread has registered-ring slots (16): all work, and closing frees fds and slots', async () => {
  // each ring registers itself with its thread (IORING_REGISTER_RING_FDS) so enters skip the fd
  // lookup; past 16 the registration fails and the ring enters through its fd instead
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  for (let round = 0; round < 2; round++) {
    const rings = Array.from({ length: 40 }, () => new Ring({ entries: 8 }));
    const got = await Promise.all(rings.map((r, i) => tagged(r, i)));
    assert.deepEqual(got, rings.map((_, i) => i));
    for (const r of rings) assert.equal(r.stats().enterCalls, 1);
    await Promise.all(rings.map((r) => r.close()));
  }
  assert.equal(fds(), before, 'every ring fd (and eventfd) is closed');
});
