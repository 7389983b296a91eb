// Reuse, attacked: a careless caller reuses public objects and repeats calls many times.
//
// What is attacked: state that piles up or goes stale when one object is used again and again —
// an Sqe submitted 20,000 times through every path (ring.run, chain, link, runMulti, bulk.push,
// runBig), on two rings alternately and twice at once; one AbortSignal shared by thousands of
// requests; one frozen options object; Sqes that name something that has since gone away (a
// target ring that closed, a buffer group closed and replaced, a registered buffer replaced, a
// poll/timeout last submitted on another ring); flags that ring.chain()/link() set on the caller's
// Sqes; and churn of rings, file tables, buffer groups, registered buffers, servers, sockets and
// ringflow/fs handles and streams (fds, listeners, heap, RSS).
//
// The promise: an Sqe may be reused (bulk.push says so; ring.run/chain/link/runMulti/runBig take
// the caller's Sqes), and a reused Sqe behaves as it did the first time: nothing it carries grows
// per submission (parse, keep, resultHook: commit 4bcc332 fixed a parse wrapper per direct open),
// nothing it learnt on one submission leaks into a later one (a chain's link flag, runBig's
// parse), and it never reaches something other than what it named (docs/threads.md: a handle's
// fd that now names another ring is "never delivered to the new owner"; docs/buffers.md: a buffer
// is never handed out twice, a closed group is not selected from). Signals get no listener per
// request (src/ring/aborts.ts). Repeated create/close leaves no fd, listener or memory behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { getEventListeners, type EventEmitter } from 'node:events';
import { ringFor, tempFile, gcChild, lacksFlag, requireOp, CPU_TIME_SCALE, fileFd, ringOnFd, repeats } from '../helpers.js';
import {
  Ring, Sqe, op, O, fixed, opByName, BulkCompletions, FixedFile, TimeoutFlags, SqeFlags, RingClosedError, RingError,
  TcpServer, TcpSocket, type ProvidedBuffer, type RingMessage,
} from '../../src/index.js';
import fs from '../../src/fs/index.js';

const index = new URL('../../src/index.js', import.meta.url).href;
const fsIndex = new URL('../../src/fs/index.js', import.meta.url).href;

/** Every test's bound: a reuse bug that leaves a promise unsettled (a completion that threw) fails here instead of hanging the file. */
const BOUND = { timeout: 30_000 * CPU_TIME_SCALE };

const fds = (): number => readdirSync('/proc/self/fd').length;
/** Churn counts: a tenth under TCG (the Debian guests, 10-30× slower), where the full counts ran past the test's bound. */
const churn = (n: number): number => repeats(n, 10);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What an Sqe carries that must not change per submission: its parse, its keep list's length, its flags. */
function carried(s: Sqe): { parse: unknown; keep: number; flags: number } {
  return { parse: s.parse, keep: s.keep?.length ?? 0, flags: s.flags };
}

/** A READ of `fd` at offset 0 that selects its buffer from `group` (an Sqe built by hand, as a caller may). */
function selectingRead(fd: number, group: { select(s: Sqe): Sqe }): Sqe {
  const s = new Sqe(opByName('read')!);
  s.fd = fd;
  s.setOff(0);
  return group.select(s);
}

// ------------------------------------------------------------------ one Sqe, many submissions

test('one Sqe per path submitted 20,000 times (a fifth under TCG; run, chain, link, bulk.push, runMulti, a provided-buffer read): no throw, parse/keep/flags unchanged, nothing left pending', BOUND, async (t) => {
  const ring = ringFor(t);
  const f = fileFd(t, 'hello world, reused');
  const fd = f.fd;
  const N = repeats(20_000);

  const nop = op.nop();
  const buf = Buffer.alloc(5);
  const read = op.read(fd, buf, 0);
  const statx = op.statx(f.path);
  const before = [carried(nop), carried(read), carried(statx)];
  for (let i = 0; i < N; i++) await ring.run(nop);
  for (let i = 0; i < N; i++) assert.equal(await ring.run(read), 5);
  for (let i = 0; i < N / 4; i++) assert.equal(((await ring.run(statx)) as { size: bigint }).size, 19n);
  assert.deepEqual([carried(nop), carried(read), carried(statx)], before, 'run: parse, keep and flags as built');

  // a direct open and the close of its slot, one chain, again and again (4bcc332's case, chained)
  ring.files.register({ sparse: 2 });
  const open = op.openat(f.path, O.RDONLY, 0, { direct: 0 });
  const close = op.close(fixed(0));
  const openBefore = carried(open);
  for (let i = 0; i < N / 2; i++) {
    const [o, c] = await Promise.all(ring.chain([open, close], { link: true }));
    assert.ok(o instanceof FixedFile && o.index === 0);
    assert.equal(c, undefined);
  }
  for (let i = 0; i < N / 2; i++) assert.equal((await ring.link([open, close])).ok, true);
  assert.equal(open.parse, openBefore.parse, 'the direct open\'s parse is the one its builder set');
  assert.equal(open.keep?.length ?? 0, openBefore.keep);

  // bulk: the same read pushed 20,000 times
  const bulk = ring.bulk({ depth: 256 });
  const out = new BulkCompletions(256);
  for (let done = 0; done < N; ) {
    let n = 0;
    while (n < 256 && bulk.push(read, n)) n++;
    await bulk.wait(n);
    assert.equal(bulk.take(out), n);
    for (let i = 0; i < n; i++) assert.equal(out.res[i], 5);
    done += n;
  }
  assert.deepEqual(carried(read), before[1], 'bulk.push keeps the Sqe as it was');

  // a provided-buffer read: its parse is the group's, set once
  const group = ring.bufferGroup({ count: 4, size: 64 });
  await group.ready;
  const sel = selectingRead(fd, group);
  const selBefore = carried(sel);
  for (let i = 0; i < N / 4; i++) {
    const b = (await ring.run(sel)) as ProvidedBuffer;
    assert.equal(b.bytes.toString(), 'hello world, reused');
    b.release();
  }
  assert.deepEqual(carried(sel), selBefore, 'the group\'s parse and keeper, once');
  assert.equal(group.available, 4);

  if (!lacksFlag('timeout', 'MULTISHOT')) {
    // a multishot timer of two shots, run to its end 2,000 times
    const multi = op.timeout(0.01, { count: 2, timeoutFlags: TimeoutFlags.MULTISHOT });
    const multiBefore = carried(multi);
    for (let i = 0; i < 2000; i++) {
      let more = 0;
      await new Promise<void>((resolve, reject) => ring.runMulti(multi, { more: () => void more++, end: () => resolve(), fail: reject }));
      assert.equal(more, 1);
    }
    assert.deepEqual(carried(multi), multiBefore);
  }
  assert.equal(ring.pending, 0);
});

test('one direct-open Sqe on two rings alternately, and in flight on both at once: each ring\'s file table learns of its own slot only', BOUND, async (t) => {
  const a = ringFor(t);
  const b = ringFor(t);
  const noTable = ringFor(t);
  const f = tempFile('x');
  t.after(f.cleanup);
  a.files.register({ sparse: 2 });
  b.files.register({ sparse: 2 });
  const open = op.openat(f.path, O.RDONLY, 0, { direct: 0 });
  const close = op.close(fixed(0));
  const parse = open.parse;
  for (let i = 0; i < 5000; i++) {
    const ring = i % 2 ? a : b;
    assert.equal(((await ring.run(open)) as FixedFile).index, 0);
    ring.files.checkAllow(0); // ringflow knows the slot holds a file (throws otherwise)
    await ring.run(close);
  }
  assert.equal(open.parse, parse);
  // in flight on two rings at once; a third submission (on a ring without a table, which fails)
  // replaces the Sqe's hook before the first two complete: each request kept the hook it was made with
  const both = Promise.all([a.run(open), b.run(open)]);
  const third = noTable.run(open).then(
    () => 'resolved',
    (e: unknown) => (e instanceof RingError ? e.code : String(e)),
  );
  const [fa, fb] = (await both) as unknown as FixedFile[];
  assert.equal(fa.index, 0);
  assert.equal(fb.index, 0);
  assert.notEqual(await third, 'resolved', 'a direct open on a ring without a table fails');
  a.files.checkAllow(0);
  b.files.checkAllow(0);
  assert.throws(() => noTable.files.checkAllow(0), RangeError);
});

test('the same Sqe in flight twice at once, 5,000 times: both settle, with their own results', BOUND, async (t) => {
  const ring = ringFor(t);
  const f = fileFd(t, 'abcdefgh');
  const fd = f.fd;
  const read = op.read(fd, Buffer.alloc(8), 0);
  const statx = op.statx(f.path);
  for (let i = 0; i < 5000; i++) {
    const [x, y, s1, s2] = await Promise.all([ring.run(read), ring.run(read), ring.run(statx), ring.run(statx)]);
    assert.equal(x, 8);
    assert.equal(y, 8);
    assert.notEqual(s1, s2, 'each statx resolves its own object');
  }
  assert.equal(read.keep?.length, 1);
});

// ------------------------------------------------------------------ runBig

test('ring.runBig() of the same Sqe twice resolves both; the Sqe then still resolves res from ring.run()', BOUND, async (t) => {
  let big: Ring;
  try {
    big = new Ring({ cqe32: true });
  } catch (e) {
    t.skip(`no cqe32 ring here: ${String(e)}`);
    return;
  }
  t.after(() => big.close());
  const plain = ringFor(t);
  const s = op.nop();
  assert.deepEqual(await big.runBig(s), { res: 0, flags: 0, extra1: 0n, extra2: 0n });
  // src/ring/big-entries.ts: `if (sqe.parse || ...) throw` runs before `if (sqe.bigCqe !== undefined) return this.run(...)`,
  // so the reuse branch is dead: runBig's own parse makes the second call throw TypeError
  let second: unknown;
  try {
    second = await big.runBig(s);
  } catch (e) {
    second = e;
  }
  assert.deepEqual(second, { res: 0, flags: 0, extra1: 0n, extra2: 0n }, `a second runBig of the same Sqe: got ${String(second)}`);
  for (let i = 0; i < 2000; i++) assert.equal((await big.runBig(s)).res, 0);
  // ring.run() resolves res (test/ring-big-entries.test.ts), on any ring, after runBig() too
  assert.equal(await plain.run(s), 0, 'ring.run() of an Sqe once given to runBig() resolves res, not a BigCompletion');
});

// ------------------------------------------------------------------ flags a chain leaves behind

test('Sqes reused after ring.chain({ link: true }) / ring.link() do not link into unrelated requests of the same submission', BOUND, async (t) => {
  const ring = ringFor(t);
  const bad = op.read(999_999, Buffer.alloc(4), 0); // EBADF
  const ok = op.nop();
  await Promise.allSettled(ring.chain([bad, ok], { link: true }));
  const leftover = bad.flags & (SqeFlags.IO_LINK | SqeFlags.IO_HARDLINK);
  // reused alone: another caller's nop submitted in the same tick must not be cancelled by it
  const [r1, other] = await Promise.allSettled([ring.run(bad), ring.nop()]);
  assert.equal(r1.status, 'rejected');
  // and as the last step of a chain (ring.link docs: every request *but the last* gets link())
  const [chain, other2] = await Promise.allSettled([ring.link([op.nop(), bad]), ring.nop()]);
  assert.equal(chain.status, 'fulfilled');
  // a link the caller set on a lone request: dropped too (docs/chains.md)
  const [r3, other3] = await Promise.allSettled([ring.run(op.read(999_999, Buffer.alloc(4), 0).link()), ring.nop()]);
  assert.equal(r3.status, 'rejected');
  const why = (r: PromiseSettledResult<unknown>): string => (r.status === 'fulfilled' ? 'resolved' : String((r.reason as RingError).code ?? r.reason));
  assert.deepEqual(
    [why(other), why(other2), why(other3)],
    ['resolved', 'resolved', 'resolved'],
    `an unrelated nop next to the reused Sqe (its flags after the chain: ${leftover}) was cancelled by its failure`,
  );
  assert.equal(leftover, 0, 'ring.chain({ link: true }) leaves the caller\'s Sqe as it was');
});

// ------------------------------------------------------------------ Sqes naming what has gone away

test('a reused msgRing Sqe built for a RingHandle is not delivered to a new ring that took the closed target\'s fd', BOUND, async (t) => {
  const sender = ringFor(t);
  if (!requireOp(t, sender, 'msgRing')) return;
  const target = new Ring();
  const got: RingMessage[] = [];
  const off = target.onMessage((m) => got.push(m));
  const sqe = op.msgRing(target.handle(), { data: 7 });
  await sender.run(sqe);
  for (let i = 0; i < 200 && got.length < 1; i++) await sleep(5); // (a slow machine: the 6.1 guest under TCG)
  assert.equal(got.length, 1);
  off();
  const oldFd = target.fd;
  const handle = target.handle();
  await target.close();
  assert.throws(() => op.msgRing(handle, { data: 8 }), RingClosedError, 'a fresh build for the closed handle is refused');
  // a new ring takes the number (the lowest free fd); keep the one that did
  const { ring: other, fds: made } = ringOnFd(t, oldFd);
  if (!other) {
    t.skip(`no new ring got fd ${oldFd} back (${made.join(', ')})`);
    return;
  }
  const stray: RingMessage[] = [];
  const off2 = other.onMessage((m) => stray.push(m));
  t.after(off2);
  // refused at the submission (ring.run() throws, as for a closed ring: nothing submitted) or rejected
  const outcome = await new Promise((resolve) => resolve(sender.run(sqe))).then(
    (v) => `resolved ${String(v)}`,
    (e: unknown) => (e instanceof RingClosedError ? 'RingClosedError' : String(e)),
  );
  await sleep(20);
  assert.deepEqual(stray, [], `the new owner of fd ${oldFd} received the closed ring's message (the reused Sqe ${outcome})`);
  assert.equal(outcome, 'RingClosedError', 'docs/threads.md: the fd now names another ring: RingClosedError, never delivered');
});

test('ring.timeoutRemove(sqe) names the request of that Sqe on this ring, not an unrelated one holding the user_data the Sqe last had on another ring', BOUND, async (t) => {
  const a = ringFor(t);
  const b = ringFor(t);
  const settle = (p: Promise<unknown>) => p.then((v) => `resolved ${String(v)}`, (e: unknown) => (e instanceof RingError || e instanceof RingClosedError ? (e as RingError).code : String(e)));
  // ring a: Q (an unrelated timer) takes slot 0 generation 1; P takes slot 1
  const q = settle(a.timeout(60_000));
  const P = op.timeout(60_000);
  const pa = settle(a.run(P));
  await sleep(5);
  // the same Sqe on ring b: slot 0 generation 1 there, the user_data Q has on ring a
  const pb = settle(b.run(P));
  await sleep(5);
  const removed = await a.timeoutRemove(P).then(() => 'ok', (e: unknown) => (e as RingError).code);
  await sleep(10);
  assert.equal(a.pending, removed === 'ok' ? 1 : 2);
  await a.close();
  await b.close();
  const [qr, par] = await Promise.all([q, pa, pb]);
  assert.notEqual(qr, 'ECANCELED', `a.timeoutRemove(P) (${removed}) cancelled Q, an unrelated timer of ring a, with the user_data P had on ring b; P on ring a: ${par}`);
});

test('a reused Sqe that selected from a closed buffer group is not submitted against the group that took its id', BOUND, async (t) => {
  const ring = ringFor(t);
  const f = fileFd(t, 'first content');
  const fd = f.fd;
  const g1 = ring.bufferGroup({ count: 2, size: 64 });
  await g1.ready;
  const s = selectingRead(fd, g1);
  const b = (await ring.run(s)) as ProvidedBuffer;
  assert.equal(b.bytes.toString(), 'first content');
  b.release();
  await g1.close();
  writeFileSync(f.path, 'second');
  const g2 = ring.bufferGroup({ count: 2, size: 64 }); // the lowest free id: g1's
  await g2.ready;
  assert.equal(g2.id, g1.id);
  const seen: string[] = [];
  for (let i = 0; i < 2; i++) {
    try {
      const r = (await ring.run(s)) as ProvidedBuffer | null;
      seen.push(`resolved ${JSON.stringify(r?.bytes.toString())}`);
      r?.release();
    } catch (e) {
      seen.push(e instanceof Error ? `${e.name} ${(e as RingError).code ?? ''}` : String(e));
    }
  }
  // whatever the reused Sqe got (refused, ideally), g2 still has both its buffers
  const fresh = new Sqe(opByName('read')!);
  fresh.fd = fd;
  fresh.setOff(0);
  const got = await ring.run(g2.select(fresh)).then(
    (x) => (x as unknown as ProvidedBuffer).bytes.toString(),
    (e: unknown) => `rejected ${(e as RingError).code}`,
  );
  assert.equal(got, 'second', `a fresh read from g2 after the reused Sqe's submissions (${seen.join('; ')}); g2.available says ${g2.available}`);
  assert.ok(!seen.some((x) => x.startsWith('resolved')), `the closed group handed out buffers: ${seen.join('; ')}`);
});

test('a reused fixed read after its registered buffer was unregistered or replaced fails (EFAULT); the new buffer is untouched', BOUND, async (t) => {
  const ring = ringFor(t);
  const f = fileFd(t, 'NEWDATA!');
  const fd = f.fd;
  const [a] = ring.buffers.register([4096]);
  const s = op.readFixed(fd, a!, 0);
  assert.equal(await ring.run(s), 8);
  ring.buffers.unregister();
  const [b] = ring.buffers.register([4096]);
  await assert.rejects(ring.run(s), (e: unknown) => e instanceof RingError && e.code === 'EFAULT');
  assert.equal(b!.bytes.subarray(0, 8).toString('hex'), '0000000000000000');
  ring.buffers.update(0, [4096]);
  await assert.rejects(ring.run(s), (e: unknown) => e instanceof RingError && e.code === 'EFAULT');
});

// ------------------------------------------------------------------ one signal, many requests

test('one AbortSignal, never aborted, across 20,000 requests of every kind: no listener left; aborted later it rejects nothing that settled', BOUND, async (t) => {
  const ring = ringFor(t);
  const ring2 = ringFor(t);
  const ac = new AbortController();
  const signal = ac.signal;
  const listeners = (): number => getEventListeners(signal, 'abort').length;
  const f = tempFile('x'.repeat(100));
  t.after(f.cleanup);
  const nop = op.nop();
  for (let i = 0; i < 10_000; i++) await ring.run(nop, { signal });
  for (let i = 0; i < 2000; i++) await Promise.all([ring.nop({ signal }), ring2.nop({ signal })]);
  for (let i = 0; i < 2000; i++) await Promise.all(ring.chain([op.nop(), op.nop()], { signal }));
  for (let i = 0; i < 1000; i++) await ring.link([op.nop(), op.nop()], { signal });
  assert.equal(listeners(), 0, 'ring requests');
  if (!lacksFlag('timeout', 'MULTISHOT')) {
    const multi = op.timeout(0.01, { count: 2, timeoutFlags: TimeoutFlags.MULTISHOT });
    for (let i = 0; i < 300; i++) await new Promise<void>((resolve, reject) => ring.runMulti(multi, { more() {}, end: () => resolve(), fail: reject }, { signal }));
    assert.equal(listeners(), 0, 'runMulti');
  }
  for (let i = 0; i < 500; i++) await fs.readFile(f.path, { signal });
  for (let i = 0; i < 300; i++) await fs.writeFile(`${f.path}.w`, 'abc', { signal });
  assert.equal(listeners(), 0, 'ringflow/fs');
  // sockets: promise writes, callback writes, sends
  const server = await TcpServer.listen(ring, { port: 0, host: '127.0.0.1' });
  t.after(() => server.close());
  void (async () => {
    for await (const sock of server) {
      void (async () => {
        try {
          for await (const c of sock.chunks()) c.release();
        } catch {}
        await sock.close();
      })();
    }
  })();
  const c = await TcpSocket.connect(ring, { port: server.address()!.port, host: '127.0.0.1' });
  t.after(() => c.close());
  for (let i = 0; i < 2000; i++) await c.write('hello', { signal });
  for (let i = 0; i < 2000; i++) await new Promise<void>((resolve, reject) => c.write('hello', { signal }, (e) => (e ? reject(e) : resolve())));
  for (let i = 0; i < 500; i++) await c.send(Buffer.from('x'), { signal });
  assert.equal(listeners(), 0, 'socket writes and sends');
  // 1,000 in flight share one listener per ring; one abort ends them all and removes it
  const inFlight = Array.from({ length: 1000 }, (_, i) => (i % 2 ? ring : ring2).timeout(60_000, { signal }).then(() => 'resolved', (e: Error) => e.name));
  await sleep(10);
  assert.equal(listeners(), 2, 'one listener per ring, however many requests use the signal');
  // requests without the signal, in the slots the 20,000 settled ones used: the abort must not reach them
  const bystanders = Array.from({ length: 100 }, (_, i) => (i % 2 ? ring : ring2).timeout(50).then((fired) => `fired ${String(fired)}`, (e: Error) => `${e.name} ${(e as RingError).code ?? ''}`));
  ac.abort();
  const rs = await Promise.all(inFlight);
  assert.deepEqual(new Set(await Promise.all(bystanders)), new Set(['fired true']), 'timers without the signal fire');
  assert.equal(rs.filter((r) => r === 'AbortError').length, 1000, 'every request in flight, and nothing that settled before (an unhandled rejection would fail the file)');
  assert.equal(listeners(), 0);
  assert.equal(await ring.run(nop), 0, 'the ring goes on');
});

test('one frozen options object reused across calls: never written to', BOUND, async (t) => {
  const ring = ringFor(t);
  const f = tempFile('0123456789');
  t.after(f.cleanup);
  const ac = new AbortController();
  const readOpts = Object.freeze({ offset: 2, length: 4, signal: ac.signal });
  const fd = await ring.openat(f.path, O.RDONLY, 0, Object.freeze({ signal: ac.signal }));
  const buf = Buffer.alloc(8);
  for (let i = 0; i < 2000; i++) assert.equal(await ring.read(fd, buf, 0, readOpts), 4);
  const chainOpts = Object.freeze({ link: true, signal: ac.signal });
  for (let i = 0; i < 500; i++) await Promise.all(ring.chain([op.nop(), op.nop()], chainOpts));
  const fsOpts = Object.freeze({ encoding: 'utf8' as const, signal: ac.signal });
  for (let i = 0; i < 500; i++) assert.equal(await fs.readFile(f.path, fsOpts), '0123456789');
  const fh = await fs.open(f.path);
  t.after(() => fh.close());
  const fhOpts = Object.freeze({ buffer: buf, position: 0, length: 3 });
  for (let i = 0; i < 2000; i++) assert.equal((await fh.read(fhOpts)).bytesRead, 3);
  await ring.closeFd(fd);
});

test('hold() on a reused Sqe: keep grows by exactly one per hold() call (held for the Sqe\'s life, not "until the CQE"); no submission path adds to it', BOUND, async (t) => {
  const ring = ringFor(t);
  const s = op.nop();
  for (let i = 0; i < 1000; i++) {
    s.hold({ i });
    await ring.run(s);
  }
  // (as Sqe.hold() says: the value stays held while the Sqe lives, one entry per call)
  assert.equal(s.keep?.length, 1000);
  const zero = openSync('/dev/zero', 'r');
  t.after(() => closeSync(zero));
  const r = op.read(zero, Buffer.alloc(1), 0);
  const n = r.keep!.length;
  for (let i = 0; i < 100; i++) ring.bulk().push(r, i);
  assert.equal(r.keep!.length, n, 'bulk.push keeps the Sqe\'s list, adds nothing');
  await ring.bulk().wait(100);
  ring.bulk().take(new BulkCompletions(128));
});

// ------------------------------------------------------------------ churn: fds, ids, listeners

test('create/close churn leaves nothing behind: 1,000 rings, 2,000 file tables, 1,000 buffer groups of each kind, 2,000 registered buffers (each released), 300 servers and 300 connections (a tenth of each under TCG)', BOUND, async (t) => {
  const base = fds();
  for (let i = 0; i < churn(1000); i++) {
    const r = new Ring({ entries: 8 });
    if (i % 2) await r.nop();
    await r.close();
  }
  assert.equal(fds(), base, 'rings');
  const ring = ringFor(t);
  for (let i = 0; i < churn(2000); i++) {
    ring.files.register({ sparse: 64 });
    ring.files.unregister();
  }
  for (const kind of ['auto', 'legacy'] as const) {
    for (let i = 0; i < churn(1000); i++) {
      const g = ring.bufferGroup({ count: 8, size: 4096, kind });
      await g.ready;
      assert.equal(g.id, 0, 'a closed group\'s id is free again');
      await g.close();
    }
  }
  // (registered buffers' register/unregister churn and their release: the tests at the end of this file)
  assert.equal(ring.pending, 0);
  const ringFds = fds();
  for (let i = 0; i < churn(300); i++) {
    const s = await TcpServer.listen(ring, { port: 0, host: '127.0.0.1' });
    await s.close();
  }
  const server = await TcpServer.listen(ring, { port: 0, host: '127.0.0.1' });
  let accepted = 0;
  const serving = (async () => {
    for await (const sock of server) {
      accepted++;
      void (async () => {
        try {
          for await (const c of sock.chunks()) await sock.write(c);
        } catch {}
        await sock.close();
      })();
    }
  })();
  const port = server.address()!.port;
  const echo = Buffer.alloc(2);
  for (let i = 0; i < churn(300); i++) {
    const c = await TcpSocket.connect(ring, { port, host: '127.0.0.1' });
    await c.write('hi');
    assert.equal(await c.read(echo), 2);
    await c.close();
  }
  await server.close();
  await serving;
  await sleep(20);
  assert.equal(accepted, churn(300));
  assert.equal(ring.pending, 0, 'nothing of the servers and sockets in flight');
  assert.equal(fds(), ringFds, 'servers and sockets');
});

test('ringflow/fs reused: one FileHandle read 100,000 times (a fifth under TCG), readFile 5,000 times, 300 streams: no fd, no listener left (a handle\'s stream listeners as node:fs\'s)', BOUND, async (t) => {
  const f = tempFile(Buffer.alloc(8192, 7));
  t.after(f.cleanup);
  const base = fds();
  const fh = await fs.open(f.path);
  const b = Buffer.alloc(4096);
  for (let i = 0; i < repeats(100_000); i++) assert.equal((await fh.read(b, 0, 4096, (i & 1) * 4096)).bytesRead, 4096);
  for (let i = 0; i < 5000; i++) assert.equal((await fs.readFile(f.path)).length, 8192);
  for (let i = 0; i < 300; i++) {
    const h = await fs.open(f.path);
    await new Promise<void>((resolve, reject) => {
      const s = h.createReadStream();
      s.on('data', () => {});
      s.on('close', resolve);
      s.on('error', reject);
    });
  }
  assert.equal((fh as unknown as EventEmitter).listenerCount('close'), 0);
  await fh.close();
  assert.equal(fds(), base, 'every handle and stream closed its fd');
  // streams of one handle with autoClose: false each leave a 'close' listener on the handle, as
  // node:fs/promises' FileHandle does (lib/internal/fs/streams.js importFd): same count as node
  const { open: nodeOpen } = await import('node:fs/promises');
  const counts: number[] = [];
  for (const h of [await fs.open(f.path), await nodeOpen(f.path)] as unknown as (EventEmitter & { createReadStream: typeof fh.createReadStream; close(): Promise<void> })[]) {
    h.setMaxListeners(100);
    for (let i = 0; i < 20; i++)
      await new Promise<void>((resolve, reject) => {
        const s = h.createReadStream({ start: 0, autoClose: false });
        s.on('data', () => {});
        s.on('end', resolve);
        s.on('error', reject);
      });
    counts.push(h.listenerCount('close'));
    await h.close();
  }
  assert.equal(counts[0], counts[1], `listeners left by 20 streams: ringflow ${counts[0]}, node ${counts[1]}`);
});

// ------------------------------------------------------------------ heap, with --expose-gc

/** The heap test runs half its submissions under TCG (40 times slower there), against half the bound. */
const HEAP_DIV = CPU_TIME_SCALE > 1 ? 2 : 1;

test('bounded heap and RSS: 10,000-20,000 submissions per path of reused Sqes, 20,000 signal-carrying requests, 3,000 registered buffers and 50,000 FileHandle reads (a child with --expose-gc)', BOUND, (t) => {
  const r = gcChild(`
    import { Ring, op, O, fixed, BulkCompletions } from '${index}';
    import fs from '${fsIndex}';
    import { writeFileSync } from 'node:fs';
    const path = '/dev/shm/ringflow-reuse-' + process.pid;
    writeFileSync(path, Buffer.alloc(8192, 1));
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    async function settle() { for (let i = 0; i < 4; i++) { gc(); await new Promise((r) => setImmediate(r)); await sleep(2); } }
    const out = {};
    async function phase(name, n, fn) {
      n = Math.ceil(n / ${HEAP_DIV}); // half under TCG (the bound below is halved with it)
      for (let i = 0; i < Math.min(n, 2000); i++) await fn(i); // warm: code, feedback, pools
      await settle();
      const m0 = process.memoryUsage();
      for (let i = 0; i < n; i++) await fn(i);
      await settle();
      const m1 = process.memoryUsage();
      out[name] = { heapKiB: Math.round((m1.heapUsed - m0.heapUsed) / 1024), rssKiB: Math.round((m1.rss - m0.rss) / 1024) };
    }
    const ring = new Ring();
    ring.files.register({ sparse: 2 });
    const fd = await ring.openat(path, O.RDONLY);
    const buf = Buffer.alloc(64);
    const read = op.read(fd, buf, 0), statx = op.statx(path);
    const open = op.openat(path, O.RDONLY, 0, { direct: 0 }), close = op.close(fixed(0));
    const ac = new AbortController();
    await phase('run', 10000, () => Promise.all([ring.run(read), ring.run(statx)]));
    await phase('directOpen', 20000, async () => { await ring.run(open); await ring.run(close); });
    await phase('chain', 10000, () => Promise.all(ring.chain([open, close], { link: true })));
    await phase('signal', 20000, () => ring.run(read, { signal: ac.signal }));
    const bulk = ring.bulk({ depth: 64 }), done = new BulkCompletions(64);
    await phase('bulk', 2000, async () => { for (let i = 0; i < 64; i++) bulk.push(read, i); await bulk.wait(64); bulk.take(done); });
    await phase('registeredBuffers', 3000, async () => { const [b] = ring.buffers.register([65536]); ring.buffers.unregister(); await b.released; });
    const fh = await fs.open(path);
    const b4 = Buffer.alloc(4096);
    await phase('fileHandleRead', 50000, () => fh.read(b4, 0, 4096, 0));
    await phase('readFile', 5000, () => fs.readFile(path));
    await fh.close();
    await ring.close();
    console.log('RESULT ' + JSON.stringify(out));
  `);
  assert.equal(r.code, 0, r.out);
  t.diagnostic(`growth per phase: ${JSON.stringify(r.result)} in ${r.ms} ms`);
  const res = r.result as Record<string, { heapKiB: number; rssKiB: number }>;
  for (const [name, m] of Object.entries(res)) {
    // a closure, promise or listener kept per submission is ≥ 50 bytes: 20,000 of them ≥ 1 MiB
    assert.ok(m.heapKiB < 1024 / HEAP_DIV, `${name}: heap grew ${m.heapKiB} KiB (${JSON.stringify(res)})`);
  }
  // 3,000 × 64 KiB not freed would be 187 MiB
  assert.ok(res.registeredBuffers.rssKiB < 32 * 1024, `registered buffers: RSS grew ${res.registeredBuffers.rssKiB} KiB`);
  assert.ok(r.ms < 60_000 * CPU_TIME_SCALE);
});

test('a registered buffer unregistered while another request is in flight is released (its tag CQE, or the unregister that quiesced) once that request has ended', BOUND, async (t) => {
  const ring = ringFor(t);
  const busy = ring.timeout(300).catch(() => undefined);
  const [b] = ring.buffers.register([65536]);
  ring.buffers.unregister();
  await busy;
  let released = false;
  void b!.released.then(() => (released = true));
  const keep = setTimeout(() => {}, 5000 * CPU_TIME_SCALE); // (the test's own wait: not the ring's)
  for (let i = 0; i < 1000 && !released; i++) await sleep(5 * CPU_TIME_SCALE);
  clearTimeout(keep);
  assert.ok(released, 'released once the request it waited for has ended');
});

test('registered buffers registered and unregistered 2,000 times (a tenth under TCG), each released', BOUND, async (t) => {
  const ring = ringFor(t);
  const keep = setTimeout(() => {}, 60_000 * CPU_TIME_SCALE);
  t.after(() => clearTimeout(keep));
  for (let i = 0; i < churn(2000); i++) {
    const [b] = ring.buffers.register([65536]);
    ring.buffers.unregister();
    await b!.released;
  }
});
