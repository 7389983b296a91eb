/**
 * IORING_OP_MSG_RING between rings of one thread (threads: test/msg-ring-workers.test.ts): data
 * messages (value, FLAGS_PASS), files (SEND_FD, CQE_SKIP), the ownership rule (a message never
 * settles a request of the ring that gets it), a full target CQ, closed and foreign targets,
 * messages to itself, every target profile, and the receiving API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor, requireOp, requireFlag, tempFile, CPU_TIME_SCALE } from './helpers.js';
import { Ring, fixed, RingError, RingClosedError, type RingMessage, type RingOptions } from '../src/index.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Collects a ring's messages until `n` came. */
function collect(ring: Ring, n: number): Promise<RingMessage[]> {
  return new Promise((resolve) => {
    const got: RingMessage[] = [];
    const off = ring.onMessage((m) => {
      got.push(m);
      if (got.length === n) {
        off();
        resolve(got);
      }
    });
  });
}

const PROFILES: [string, RingOptions][] = [
  ['fast (DEFER_TASKRUN, eventfd)', {}],
  ['coop (COOP_TASKRUN)', { profile: 'coop' }],
  ['plain', { profile: 'plain' }],
];

for (const [name, options] of PROFILES) {
  test(`a data message reaches a ${name} target with the data and value the sender chose`, async (t) => {
    const sender = ringFor(t);
    if (!requireOp(t, sender, 'msgRing')) return;
    const target = ringFor(t, options);
    const got = collect(target, 3);
    assert.equal(await sender.msgRing(target, { data: 0x7fffffff, value: -1 }), 0, 'the sender\'s own CQE: res 0');
    await sender.sendMessage(target.handle(), 0, 0x7fffffff);
    await sender.sendMessage(target, 12345);
    assert.deepEqual(await got, [
      { type: 'data', data: 0x7fffffff, value: -1, flags: 0 },
      { type: 'data', data: 0, value: 0x7fffffff, flags: 0 },
      { type: 'data', data: 12345, value: 0, flags: 0 },
    ]);
    assert.equal(target.pending, 0, 'no request of the target was involved');
  });
}

test('FLAGS_PASS: the target CQE carries the flags the sender chose (6.3)', async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing') || !requireFlag(t, sender, 'msgRing', 'FLAGS_PASS')) return;
  const target = ringFor(t);
  const got = collect(target, 2);
  // F_MORE (2) and a buffer id would fool a router that looked at flags first: ringflow routes by user_data
  await sender.sendMessage(target, 1, 2, { flags: 0xffff0003 });
  await sender.msgRing(target, { data: 2, flags: 0 });
  assert.deepEqual(await got, [
    { type: 'data', data: 1, value: 2, flags: 0xffff0003 },
    { type: 'data', data: 2, value: 0, flags: 0 },
  ]);
});

test('a message to the ring itself reaches its own inbox', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'msgRing')) return;
  const got = collect(ring, 2);
  await ring.sendMessage(ring, 7, 8);
  await ring.sendMessage(ring.handle(), 9);
  assert.deepEqual(await got, [
    { type: 'data', data: 7, value: 8, flags: 0 },
    { type: 'data', data: 9, value: 0, flags: 0 },
  ]);
});

test('ownership: a message never settles a request of the target, whatever its data (slot numbers, generations)', async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing')) return;
  const target = ringFor(t);
  // requests in flight on the target: slots 0..7, generation 1 (user_data = 1 << 32 | slot)
  let settled = 0;
  // long enough to outlast the messages on any CPU (an emulated one too); removed below
  const pending = Array.from({ length: 8 }, () => target.timeout(60_000));
  const timers = pending.map((p) => p.then(() => settled++, () => settled++));
  await tick();
  assert.equal(target.pending, 8);
  const got = collect(target, 24);
  const sends: Promise<void>[] = [];
  for (let slot = 0; slot < 8; slot++) {
    sends.push(sender.sendMessage(target, slot, 0)); // data = a slot in flight, res 0
    sends.push(sender.sendMessage(target, slot, -62)); // res -ETIME: what a timer's CQE says
    sends.push(sender.sendMessage(target, slot | 0x100, 1));
  }
  await Promise.all(sends);
  const messages = await got;
  assert.equal(messages.length, 24);
  assert.equal(settled, 0, 'no timer settled early');
  assert.equal(target.pending, 8, 'all 8 requests still in flight');
  for (const p of pending) await target.timeoutRemove(p);
  await Promise.all(timers);
  assert.equal(settled, 8);
});

test('the receiving ring is not confused by a message with the same low word as its own cancel (INTERNAL_TAG) or resource tags', async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing')) return;
  const target = ringFor(t);
  const got = collect(target, 2);
  await sender.sendMessage(target, 0, 0);
  await sender.sendMessage(target, 0x7fffffff, 0);
  assert.equal((await got).length, 2);
  // the target still works: a cancel (INTERNAL_TAG CQE) and its in-flight accounting are intact
  const ac = new AbortController();
  const p = target.timeout(10_000, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, { name: 'AbortError' });
  assert.equal(await target.nop(), 0);
  assert.equal(target.pending, 0);
});

for (const [name, options] of PROFILES) {
  test(`a full target CQ (${name}): 64 messages into 4 CQ entries wait in the kernel's overflow list and all arrive, in order`, async (t) => {
    const sender = ringFor(t);
    if (!requireOp(t, sender, 'msgRing')) return;
    const target = ringFor(t, { ...options, entries: 2, cqEntries: 4 });
    assert.equal(target.cqEntries, 4);
    const got = collect(target, 64);
    // one batch: the target reads nothing until all are posted
    const sends = Array.from({ length: 64 }, (_, i) => sender.sendMessage(target, i, i * 3));
    assert.deepEqual(await Promise.all(sends), new Array(64).fill(undefined), 'no -EOVERFLOW: the kernel kept them (IORING_FEAT_NODROP)');
    const messages = await got;
    assert.deepEqual(
      messages.map((m) => (m.type === 'data' ? [m.data, m.value] : m)),
      Array.from({ length: 64 }, (_, i) => [i, i * 3]),
    );
    assert.equal(await target.nop(), 0, 'the target works after its overflow');
  });
}

test('a closed target: its handle is refused before anything is submitted; a raw fd gets EBADF / EBADFD from the kernel', async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing')) return;
  const target = new Ring();
  const h = target.handle();
  const fd = target.fd;
  const closing = target.close();
  // close() began: refused at once (the fd is still open until the close finishes)
  assert.throws(() => sender.sendMessage(h, 1), (e: unknown) => e instanceof RingClosedError && /sendMessage\(\): "target": the target ring \(fd \d+\) is closed/.test(e.message));
  assert.throws(() => sender.sendMessage(target, 1), RingClosedError, 'a closed Ring has no handle');
  await closing;
  assert.throws(() => sender.op.msgRing(h, { data: 1 }), RingClosedError);
  assert.equal(sender.pending, 0, 'nothing was queued');
  // the fd itself is gone: the kernel's answer for a raw fd
  await assert.rejects(sender.msgRing(fd, { data: 1 }), (e: unknown) => e instanceof RingError && e.code === 'EBADF');
  // an fd that is not a ring
  const f = tempFile('x');
  t.after(f.cleanup);
  const other = openSync(f.path, 'r');
  t.after(() => closeSync(other));
  await assert.rejects(sender.msgRing(other, { data: 1 }), (e: unknown) => e instanceof RingError && e.code === 'EBADFD');
  // a handle whose fd now names another file (the number was reused): refused, not delivered
  const forged = { ...h, fd: other };
  Atomics.store(new Int32Array(forged.state), 0, 1);
  assert.throws(() => sender.sendMessage(forged, 1), /now names another file/);
  assert.equal(await sender.nop(), 0);
});

test('a disabled target (R_DISABLED) refuses messages with EBADFD until enabled', async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing')) return;
  const target = ringFor(t, { disabled: true, profile: 'plain' });
  await assert.rejects(sender.sendMessage(target, 1), (e: unknown) => e instanceof RingError && e.code === 'EBADFD');
  target.enable();
  const got = collect(target, 1);
  await sender.sendMessage(target, 2);
  assert.deepEqual(await got, [{ type: 'data', data: 2, value: 0, flags: 0 }]);
});

test('files: a slot of the sender\'s table goes into the target\'s (explicit slot, auto, CQE_SKIP) and is the same file there', async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing') || !requireFlag(t, sender, 'msgRing', 'CQE_SKIP')) return;
  const target = ringFor(t);
  const f = tempFile('hello from the sender');
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  sender.files.register([fd, null]);
  target.files.register({ sparse: 8 });
  const got = collect(target, 2);
  assert.equal(await sender.sendFile(target, fixed(0), 5), 5);
  const auto = await sender.sendFile(target.handle(), 0);
  assert.ok(auto >= 0 && auto < 8 && auto !== 5, `auto slot ${auto}`);
  assert.equal(await sender.msgRing(target, { file: 0, slot: 6, skipCqe: true }), 0);
  const messages = await got;
  assert.deepEqual(messages, [
    { type: 'file', file: fixed(5) },
    { type: 'file', file: fixed(auto) },
  ]);
  await tick(10);
  for (const slot of [5, auto, 6]) {
    const buf = Buffer.alloc(64);
    const n = await target.read(fixed(slot), buf, 0);
    assert.equal(buf.subarray(0, n).toString(), 'hello from the sender', `slot ${slot}`);
  }
  assert.equal(target.pending, 0);
});

test('files: errors the kernel gives (to itself EINVAL, empty source slot EBADF, target without a table ENXIO)', async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing')) return;
  const target = ringFor(t);
  const f = tempFile('x');
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  sender.files.register([fd, null]);
  const code = (c: string) => (e: unknown) => e instanceof RingError && e.code === c;
  await assert.rejects(sender.sendFile(sender, 0, 1), code('EINVAL'));
  await assert.rejects(sender.sendFile(target, 0, 1), code('ENXIO'));
  target.files.register({ sparse: 2 });
  await assert.rejects(sender.sendFile(target, 1, 0), code('EBADF'));
  await assert.rejects(sender.sendFile(target, 0, 2), code('EINVAL')); // past the target's table
  assert.equal(await sender.sendFile(target, 0, 1), 1);
});

test('messages(): an async iterator; messages that came before any subscription wait for the first one; it ends when the ring closes', async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing')) return;
  const target = new Ring();
  t.after(() => target.close()); // (its subscription would hold the loop should the close below not come)
  await sender.sendMessage(target, 1);
  await sender.sendMessage(target, 2);
  await tick(5);
  const seen: number[] = [];
  const loop = (async () => {
    for await (const m of target.messages()) {
      assert.equal(m.type, 'data');
      if (m.type === 'data') seen.push(m.data);
      if (seen.length === 3) void target.close();
    }
  })();
  await tick(5);
  await sender.sendMessage(target, 3);
  await loop; // the close ended the iteration
  assert.deepEqual(seen, [1, 2, 3]);
  assert.throws(() => target.messages(), RingClosedError);
  assert.throws(() => target.onMessage(() => {}), RingClosedError);
});

test('messages(): every open subscription gets every message; break ends one; a signal ends one with an AbortError', async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing')) return;
  const target = ringFor(t);
  const heard: number[] = [];
  const off = target.onMessage((m) => m.type === 'data' && heard.push(m.data));
  const it = target.messages();
  await sender.sendMessage(target, 10);
  for await (const m of it) {
    assert.deepEqual(m, { type: 'data', data: 10, value: 0, flags: 0 });
    break; // return(): unsubscribed
  }
  await sender.sendMessage(target, 11);
  // until the listener heard it (the ended iterator had the same chance): 1 s, more on an emulated CPU
  for (let i = 0; heard.length < 2 && i < 200 * CPU_TIME_SCALE; i++) await tick(5);
  assert.deepEqual(await it.next(), { value: undefined, done: true }, 'the ended iterator got nothing more');
  assert.deepEqual(heard, [10, 11], 'the listener got both');
  off();
  const ac = new AbortController();
  const it2 = target.messages({ signal: ac.signal });
  const next = it2.next();
  ac.abort();
  await assert.rejects(next, { name: 'AbortError' });
  assert.deepEqual(await it2.next(), { value: undefined, done: true });
  const aborted = target.messages({ signal: AbortSignal.abort() });
  await assert.rejects(aborted.next(), { name: 'AbortError' });
});

test('bad arguments of the message methods are TypeError/RangeError naming the argument', async (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.sendMessage(ring, -1), /^RangeError: sendMessage\(\): "data" must be in \[0, 2147483647\]/);
  assert.throws(() => ring.sendMessage(ring, 2 ** 31), /sendMessage\(\): "data"/);
  assert.throws(() => ring.sendMessage(ring, 1.5), /^TypeError: sendMessage\(\): "data" must be an integer/);
  assert.throws(() => ring.sendMessage(ring, 1, 2 ** 31), /^RangeError: sendMessage\(\): "value"/);
  assert.throws(() => ring.sendMessage(ring, 1, 0, { flags: -1 }), /^RangeError: sendMessage\(\): "flags"/);
  assert.throws(() => ring.sendMessage(ring, 1, 0, { bogus: 1 } as never), /^TypeError: sendMessage\(\): "bogus" is not an option/);
  assert.throws(() => ring.sendMessage({} as never, 1), /^TypeError: sendMessage\(\): "target" must be a RingHandle/);
  assert.throws(() => ring.sendMessage(-1, 1), /^RangeError: sendMessage\(\): "target"/);
  assert.throws(() => ring.sendFile(ring, -1, 0), /^RangeError: sendFile\(\): "file"/);
  assert.throws(() => ring.sendFile(ring, 'x' as never, 0), /^TypeError: sendFile\(\): "file"/);
  assert.throws(() => ring.sendFile(ring, 0, -1), /^RangeError: sendFile\(\): "slot"/);
  assert.throws(() => ring.sendFile(ring, 0, 'AUTO' as never), /^TypeError: sendFile\(\): "slot"/);
  assert.throws(() => ring.sendFile(ring, 0, 0, { skipCqe: 1 } as never), /^TypeError: sendFile\(\): "skipCqe" must be a boolean/);
  assert.throws(() => ring.onMessage('x' as never), /^TypeError: onMessage\(\): "listener" must be a function/);
  assert.throws(() => ring.messages({ signal: 5 } as never), /^TypeError: messages\(\): "signal" must be an AbortSignal/);
  assert.throws(() => ring.messages({ x: 1 } as never), /^TypeError: messages\(\): "x" is not an option/);
  assert.throws(() => (ring.handle as (x: number) => unknown)(1), /^TypeError: handle\(\) takes no arguments/);
  assert.equal(ring.pending, 0, 'nothing was queued');
});
