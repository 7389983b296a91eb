/** IORING_OP_POLL_ADD / POLL_REMOVE against the kernel: single-shot, multishot as an async iterator, update, remove, abort. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSync, openSync, closeSync, constants } from 'node:fs';
import { ringFor, requireOp, fifo } from './helpers.js';
import { POLL, RingError, op, fixed } from '../src/index.js';

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

/**
 * A FIFO's read end alone (O_RDONLY): one wait queue. The kernel re-arms an updated poll only on
 * files with one (a FIFO opened read-write has two, pipe_poll: the update then fails the poll with
 * ECANCELED, measured on 6.18.44).
 */
function readEnd(t: Parameters<typeof fifo>[0]): { fd: number; write(s: string): void } {
  const f = fifo(t);
  const fd = openSync(f.path, constants.O_RDONLY | constants.O_NONBLOCK);
  t.after(() => closeSync(fd));
  return { fd, write: f.write };
}

test('pollAdd resolves the revents mask: at once for a ready fd, later when the fd becomes ready', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollAdd')) return;
  const f = fifo(t);
  assert.equal(await ring.pollAdd(f.fd, ['out']), POLL.OUT, 'an empty FIFO is writable now');
  let done = false;
  const p = ring.pollAdd(f.fd, POLL.IN).then((m) => ((done = true), m));
  await tick(20);
  assert.equal(done, false, 'nothing to read yet: the poll waits');
  f.write('x');
  assert.equal(await p, POLL.IN);
  assert.equal(ring.pending, 0);
});

test('pollAdd on a registered file (FixedFile: IOSQE_FIXED_FILE)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollAdd')) return;
  const f = fifo(t);
  ring.files.register([f.fd]);
  const p = ring.pollAdd(fixed(0), ['in']);
  await tick();
  f.write('x');
  assert.equal(await p, POLL.IN);
  await assert.rejects(ring.pollAdd(fixed(3), ['in']), { code: 'EBADF', message: /FixedFile slot/ });
});

test('pollRemove removes an armed poll by its promise (it rejects ECANCELED) and says ENOENT for none', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollRemove')) return;
  const f = fifo(t);
  const p = ring.pollAdd(f.fd, ['in']);
  await tick();
  await ring.pollRemove(p);
  await assert.rejects(p, (e: unknown) => e instanceof RingError && e.code === 'ECANCELED' && (e as RingError & { op?: string }).op === 'pollAdd');
  await assert.rejects(ring.pollRemove(p), { code: 'ENOENT', op: 'pollRemove' }, 'gone: nothing to remove');
  await assert.rejects(ring.pollRemove(0x7e57n), { code: 'ENOENT' });
});

test('pollRemove by the Sqe of a poll submitted in the same batch finds it (the SQ keeps their order)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollRemove')) return;
  const f = fifo(t);
  const poll = op.pollAdd(f.fd, ['in']);
  const p = ring.run(poll);
  const r = ring.run(op.pollRemove(poll));
  await r;
  await assert.rejects(p, { code: 'ECANCELED' });
});

test('pollUpdate changes the events of an armed poll in place (IORING_POLL_UPDATE_EVENTS)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollRemove')) return;
  const f = readEnd(t);
  const p = ring.pollAdd(f.fd, ['pri']);
  await tick();
  await ring.pollUpdate(p, ['in']);
  f.write('x');
  assert.equal(await p, POLL.IN, 'the same request completes for the new events');
  await assert.rejects(ring.pollUpdate(p, ['in']), { code: 'ENOENT' });
});

test('pollUpdate on a file with two wait queues (a FIFO opened read-write): 6.18 cancels the poll, 6.1 keeps it', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollRemove')) return;
  const f = fifo(t);
  const p = ring.pollAdd(f.fd, ['pri']);
  await tick();
  await ring.pollUpdate(p, ['in']); // the update itself succeeds
  // 6.18: io_poll_remove re-arms the poll, __io_queue_proc finds the old second entry: -EINVAL, so
  // the poll ends ECANCELED. Debian's 6.1 kept the poll with its new events (it never settled
  // there until the FIFO became readable): make it readable, and the poll settles either way
  f.write('x');
  const r = await p.then((v) => ({ v }), (e: unknown) => ({ e }));
  if ('e' in r) assert.equal((r.e as { code?: string }).code, 'ECANCELED');
  else {
    assert.ok((r.v & POLL.IN) !== 0, 'a kept poll reports the new events');
    t.diagnostic('this kernel kept the poll through the update on a file with two wait queues');
  }
});

test('poll UPDATE_USER_DATA: the kernel takes a new user_data (here the poll\'s own, so ringflow still finds it)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollRemove')) return;
  const f = readEnd(t);
  const poll = op.pollAdd(f.fd, ['in']);
  const p = ring.run(poll);
  await tick();
  // the user_data the poll was submitted with, read back from a request naming it
  const ud = Buffer.from(op.pollRemove(poll).toBytes()).readBigUInt64LE(16);
  assert.ok(ud > 0n);
  await ring.run(op.pollRemove(poll, { newUserData: ud }));
  f.write('y');
  assert.equal(await p, POLL.IN, 'the updated poll completes under the user_data it was given');
});

test('a poll cancelled by AbortSignal settles once, with AbortError', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollAdd')) return;
  const f = fifo(t);
  const ac = new AbortController();
  let settled = 0;
  const p = ring.pollAdd(f.fd, ['in'], { signal: ac.signal });
  p.then(() => settled++, () => settled++);
  await tick();
  ac.abort();
  await assert.rejects(p, { name: 'AbortError' });
  f.write('z'); // would have completed it: must not settle it again
  await tick(30);
  assert.equal(settled, 1);
  assert.equal(ring.pending, 0);
});

test('pollStream: one revents mask per event (multishot), a clean end on break', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollAdd')) return;
  const f = fifo(t);
  const s = ring.pollStream(f.fd, ['in']);
  const seen: number[] = [];
  const drain = Buffer.alloc(16);
  const writer = (async () => {
    for (let i = 0; i < 3; i++) {
      await tick(15);
      f.write('a');
    }
  })();
  for await (const m of s) {
    seen.push(m);
    readSync(f.fd, drain); // consume, so the next write is a new event (multishot poll is edge-triggered)
    if (seen.length === 3) break;
  }
  await writer;
  assert.deepEqual(seen, [POLL.IN, POLL.IN, POLL.IN]);
  assert.equal(s.done, true);
  for (let i = 0; i < 50 && ring.pending > 0; i++) await tick(5);
  assert.equal(ring.pending, 0, 'the multishot poll was cancelled and ended');
  assert.throws(() => ring.pollAdd(f.fd, ['in'], { multishot: true } as never), /ring\.pollStream\(\)/);
});

test('pollStream.update() changes the events in place; close() ends the iteration', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollRemove')) return;
  const f = readEnd(t);
  const s = ring.pollStream(f.fd, ['pri']);
  await tick();
  await s.update(['in']);
  f.write('x');
  const first = await s.next();
  assert.deepEqual(first, { value: POLL.IN, done: false });
  assert.equal(s.rearms, 0, 'updated in place, not re-armed');
  s.close();
  assert.deepEqual(await s.next(), { value: undefined, done: true });
  for (let i = 0; i < 50 && ring.pending > 0; i++) await tick(5);
  assert.equal(ring.pending, 0);
});

test('pollStream with an AbortSignal ends cleanly when aborted', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollAdd')) return;
  const f = fifo(t);
  const ac = new AbortController();
  const s = ring.pollStream(f.fd, ['in'], { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  const got: number[] = [];
  for await (const m of s) got.push(m);
  assert.deepEqual(got, []);
  for (let i = 0; i < 50 && ring.pending > 0; i++) await tick(5);
  assert.equal(ring.pending, 0);
});

test('pollAdd level (IORING_POLL_ADD_LEVEL, 5.19): a level-triggered poll, or EINVAL where the kernel refuses it again (6.0+)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pollAdd')) return;
  const f = fifo(t);
  f.write('x');
  const r = await ring.pollAdd(f.fd, ['in'], { level: true }).then((m) => m, (e: RingError) => e.code);
  assert.ok(r === POLL.IN || r === 'EINVAL', String(r));
  t.diagnostic(`IORING_POLL_ADD_LEVEL on this kernel: ${r === 'EINVAL' ? 'refused (EINVAL)' : 'level-triggered poll'}`);
});

test('pollAdd / pollRemove / pollStream refuse bad arguments naming them', (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.pollAdd(-1, ['in']), /^RangeError: pollAdd\(\): "fd" must be in/);
  assert.throws(() => ring.pollAdd(0, ['bogus'] as never), /^RangeError: pollAdd\(\): "events"\[0\] must be one of 'in'/);
  assert.throws(() => ring.pollAdd(0, 1.5), /^TypeError: pollAdd\(\): "events" must be a POLL\.\* mask/);
  assert.throws(() => ring.pollAdd(0, 1, { level: 1 as never }), /^TypeError: pollAdd\(\): "level" must be a boolean/);
  assert.throws(() => ring.pollRemove(op.nop()), /^TypeError: pollRemove\(\): "target": this nop Sqe cannot be named/);
  assert.throws(() => ring.pollRemove(Promise.resolve(1)), /^TypeError: pollRemove\(\): "target" must be a user_data/);
  assert.throws(() => ring.pollUpdate(1, ['nope'] as never), /^RangeError: pollRemove\(\): "updateEvents"\[0\]/);
  assert.throws(() => (ring.pollUpdate as (...a: unknown[]) => unknown)(1), /^TypeError: pollUpdate\(\): takes target, events, options; got 1/);
  assert.throws(() => ring.pollStream(0, 'in' as never), /^TypeError: pollAdd\(\): "events" must be/);
  assert.throws(() => ring.pollStream(0, ['in'], { bogus: 1 } as never), /^TypeError: pollStream\(\): "bogus" is not an option/);
  assert.equal(ring.pending, 0);
});
