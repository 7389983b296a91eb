/** ring.cancel(): by fd, fixed slot, opcode, user_data and any, one or all, against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, fifo, requireOp, requireFlag } from './helpers.js';
import { fixed, type RingError } from '../src/index.js';

/** Settles to 'value:<v>' or the error's code, so a test can assert what each request became. */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    (v) => `value:${String(v)}`,
    (e: RingError) => e.code,
  );

test('cancel by fd: the first match, then all; requests on other files are untouched', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'asyncCancel')) return;
  const a = fifo(t);
  const b = fifo(t);
  const onA = [1, 2, 3].map(() => outcome(ring.read(a.fd, Buffer.alloc(8))));
  const onB = outcome(ring.read(b.fd, Buffer.alloc(8)));
  ring.submit();
  assert.equal(await ring.cancel({ fd: a.fd }), 1, 'without all: one');
  assert.equal(await ring.cancel({ fd: a.fd }, { all: true }), 2, 'with all: the other two');
  assert.deepEqual(await Promise.all(onA), ['ECANCELED', 'ECANCELED', 'ECANCELED']);
  assert.equal(await ring.cancel({ fd: a.fd }, { all: true }), 0, 'nothing left on a');
  assert.equal(await ring.cancel({ fd: a.fd }), 0, 'ENOENT reads as 0');
  b.write('hi');
  assert.equal(await onB, 'value:2', 'the read on b was not cancelled');
  await assert.rejects(ring.cancel({ fd: 99999 }), { code: 'EBADF' });
});

test('cancel by op (matched by ringflow, any kernel): every timeout, not the reads; by op and fd together', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'asyncCancel')) return;
  const a = fifo(t);
  const timers = [1, 2, 3, 4].map(() => outcome(ring.timeout(60_000)));
  const read = outcome(ring.read(a.fd, Buffer.alloc(8)));
  ring.submit();
  // ringflow matches the opcode itself and cancels each by user_data (Debian's 6.1 accepted
  // IORING_ASYNC_CANCEL_OP without applying it: src/ring/cancel.ts)
  assert.equal(await ring.cancel({ op: 'timeout' }), 1, 'without all: the first');
  assert.equal(await ring.cancel({ op: 'timeout' }, { all: true }), 3, 'with all: the other three');
  assert.deepEqual(await Promise.all(timers), ['ECANCELED', 'ECANCELED', 'ECANCELED', 'ECANCELED']);
  // op and fd: a poll-armed read of a (not a readv of it, not a read of b)
  const b = fifo(t);
  const readB = outcome(ring.read(b.fd, Buffer.alloc(8)));
  ring.submit();
  assert.equal(await ring.cancel({ op: 'readv', fd: a.fd }, { all: true }), 0, 'no readv on a');
  assert.equal(await ring.cancel({ op: 'read', fd: a.fd }, { all: true }), 1);
  assert.equal(await read, 'ECANCELED');
  // userData with fd or op adds IORING_ASYNC_CANCEL_USERDATA: none of ours carries this one
  assert.equal(await ring.cancel({ op: 'read', userData: 0x7e57n }, { all: true }), 0);
  assert.equal(await ring.cancel({ op: 22 /* IORING_OP_READ */ }, { all: true }), 1, 'by opcode number');
  assert.equal(await readB, 'ECANCELED');
});

test('cancel any: everything in flight; an AbortSignal-watched request cancelled this way rejects with ECANCELED', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'asyncCancel')) return;
  const a = fifo(t);
  const ac = new AbortController();
  const ps = [outcome(ring.timeout(60_000)), outcome(ring.read(a.fd, Buffer.alloc(4), -1, { signal: ac.signal })), outcome(ring.timeout(60_000))];
  ring.submit();
  assert.equal(await ring.cancel({ any: true }), 3);
  assert.deepEqual(await Promise.all(ps), ['ECANCELED', 'ECANCELED', 'ECANCELED']);
  assert.equal(ring.pending, 0);
  assert.equal(await ring.cancel({ any: true }), 0);
});

test('cancel by fixed slot (FD_FIXED, 6.0)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'asyncCancel') || !requireFlag(t, ring, 'asyncCancel', 'FD_FIXED')) return;
  const a = fifo(t);
  ring.files.register([a.fd]);
  const r1 = outcome(ring.read(fixed(0), Buffer.alloc(4)));
  const r2 = outcome(ring.read(fixed(0), Buffer.alloc(4)));
  ring.submit();
  assert.equal(await ring.cancel({ fd: fixed(0) }, { all: true }), 2);
  assert.deepEqual(await Promise.all([r1, r2]), ['ECANCELED', 'ECANCELED']);
  await assert.rejects(ring.cancel({ fd: fixed(5) }), { code: 'EBADF' });
});

test('cancel by user_data alone: ENOENT reads as 0', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'asyncCancel')) return;
  assert.equal(await ring.cancel({ userData: 0xdeadbeefn }), 0);
  assert.equal(await ring.cancel({ userData: 12345 }, { all: true }), 0);
});

test('cancel(): bad input names the argument', (t) => {
  const ring = ringFor(t);
  const bad: [unknown[], RegExp, ErrorConstructor][] = [
    [[], /takes target, options; got 0/, TypeError],
    [[null], /"target" must be an object/, TypeError],
    [[{}], /needs at least one of fd, op, userData/, TypeError],
    [[{ fd: 1, file: 2 }], /"file" is not a cancel criterion/, TypeError],
    [[{ any: false }], /"any" must be true/, TypeError],
    [[{ any: true, fd: 1 }], /takes no fd, op or userData/, TypeError],
    [[{ fd: 'x' }], /"fd" must be a file descriptor/, TypeError],
    [[{ fd: -1 }], /"fd" must be in/, RangeError],
    [[{ op: 'nosuchop' }], /is not an operation/, RangeError],
    [[{ op: 1.5 }], /"op" must be an op name/, TypeError],
    [[{ userData: -1 }], /"userData" as a number/, RangeError],
    [[{ userData: 'x' }], /"userData" must be/, TypeError],
    [[{ fd: 1 }, { all: 1 }], /"all" must be a boolean/, TypeError],
    [[{ fd: 1 }, { every: true }], /"every" is not an option of cancel/, TypeError],
    [[{ fd: 1 }, null], /"options" must be an object/, TypeError],
  ];
  for (const [args, msg, type] of bad) assert.throws(() => (ring.cancel as (...a: unknown[]) => unknown)(...args), (e: Error) => e instanceof type && msg.test(e.message), String(msg));
});
