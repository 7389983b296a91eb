/** IORING_OP_EPOLL_CTL and EPOLL_WAIT (6.15) against the kernel, on an epoll instance from epollCreate(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, readSync } from 'node:fs';
import { ringFor, requireOp, fifo } from './helpers.js';
import { epollCreate, EPOLL, fixed } from '../src/index.js';

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

function epoll(t: { after(fn: () => void): void }): number {
  const ep = epollCreate();
  t.after(() => closeSync(ep));
  return ep;
}

test('epollCtl adds, modifies and removes fds (EEXIST, ENOENT as epoll_ctl says)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'epollCtl')) return;
  const ep = epoll(t);
  const f = fifo(t);
  await ring.epollCtl(ep, 'add', f.fd, { events: ['in'] });
  await assert.rejects(ring.epollCtl(ep, 'add', f.fd, { events: ['in'] }), { code: 'EEXIST', op: 'epollCtl' });
  await ring.epollCtl(ep, 'mod', f.fd, { events: EPOLL.OUT, data: 7 });
  await ring.epollCtl(ep, 'del', f.fd, null);
  await assert.rejects(ring.epollCtl(ep, 'del', f.fd, null), { code: 'ENOENT' });
  await assert.rejects(ring.epollCtl(ep, 'add', 987654, { events: ['in'] }), { code: 'EBADF' });
});

test('epollWait resolves the ready events, with the data given to epollCtl (default: the fd)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'epollCtl') || !requireOp(t, ring, 'epollWait')) return;
  const ep = epoll(t);
  const a = fifo(t);
  const b = fifo(t);
  await ring.epollCtl(ep, 'add', a.fd, { events: ['in'], data: 0x1122334455667788n });
  await ring.epollCtl(ep, 'add', b.fd, { events: ['in'] });
  let done = false;
  const p = ring.epollWait(ep, 8).then((r) => ((done = true), r));
  await tick(20);
  assert.equal(done, false, 'nothing ready: the wait is armed on the epoll fd');
  a.write('x');
  assert.deepEqual(await p, [{ events: EPOLL.IN, data: 0x1122334455667788n }]);
  b.write('y');
  const both = await ring.epollWait(ep, 8);
  assert.deepEqual(
    both.map((e) => e.data).sort(),
    [BigInt(b.fd), 0x1122334455667788n].sort(),
    'level-triggered: a is still readable, b now too',
  );
  assert.equal((await ring.epollWait(ep, 1)).length, 1, 'maxEvents caps the answer');
  readSync(a.fd, Buffer.alloc(8));
  readSync(b.fd, Buffer.alloc(8));
});

test('epollWait on a registered epoll fd (FixedFile)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'epollCtl') || !requireOp(t, ring, 'epollWait')) return;
  const ep = epoll(t);
  const f = fifo(t);
  await ring.epollCtl(ep, 'add', f.fd, { events: ['in'], data: 5 });
  ring.files.register([null, ep]);
  f.write('x');
  assert.deepEqual(await ring.epollWait(fixed(1), 4), [{ events: EPOLL.IN, data: 5n }]);
  assert.throws(() => ring.epollCtl(fixed(1) as never, 'del', f.fd, null), /^TypeError: epollCtl\(\): "epfd" cannot be a FixedFile/);
});

test('an epollWait cancelled by AbortSignal settles once', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'epollWait')) return;
  const ep = epoll(t);
  const f = fifo(t);
  await ring.epollCtl(ep, 'add', f.fd, { events: ['in'] });
  const ac = new AbortController();
  let settled = 0;
  const p = ring.epollWait(ep, 4, { signal: ac.signal });
  p.then(() => settled++, () => settled++);
  await tick();
  ac.abort();
  await assert.rejects(p, { name: 'AbortError' });
  f.write('z');
  await tick(30);
  assert.equal(settled, 1);
  assert.equal(ring.pending, 0);
});

test('epollCtl / epollWait refuse bad arguments naming them', (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.epollCtl(3, 'nope' as never, 4, null), /^RangeError: epollCtl\(\): "op" must be one of 'add', 'del', 'mod'/);
  assert.throws(() => ring.epollCtl(3, 'add', 4, null), /^TypeError: epollCtl\(\): "event" must be \{ events, data\? \} \(null only with 'del'\)/);
  assert.throws(() => ring.epollCtl(3, 'add', 4, { events: ['in'], data: -1 }), /^RangeError: epollCtl\(\): "event"\.data must be a non-negative/);
  assert.throws(() => ring.epollCtl(3, 'add', 4, { events: ['in'], other: 1 } as never), /^TypeError: epollCtl\(\): "event" takes events and data, got "other"/);
  assert.throws(() => ring.epollWait(3, 0), /^RangeError: epollWait\(\): "maxEvents" must be in \[1, 178956970\]/);
  assert.throws(() => (epollCreate as (...a: unknown[]) => number)(1), /^TypeError: epollCreate\(\) takes no arguments/);
  assert.equal(ring.pending, 0);
});
