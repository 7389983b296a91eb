/**
 * The ring's request model used the way a careless caller does (found by attack helpers):
 * skipSuccess() steps around link timeouts and outside links, a cancel behind the JS backlog, a
 * bulk push's open link, a hard-linked chain's link timeout, a view whose memory was detached after
 * the fast path had seen it, a WebAssembly.Memory grown after its buffer was lent, a timeout made multishot by its flags, nop's file with nopFlags, and a
 * direct descriptor on a ring with no file table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ringFor, fifo, CPU_TIME_SCALE } from './helpers.js';
import { settledWithin } from './wait-util.js';
import { marksAreDetachKeys } from '../src/ring/memory.js';
import { Ring, op, RingError, POLL } from '../src/index.js';

const code = (e: unknown): string | undefined => (e as { code?: string }).code;

test('a skipSuccess() step whose link timeout fires rejects (ECANCELED), the rest is cancelled, nothing stays in flight', async (t) => {
  const ring = ringFor(t);
  const r = fifo(t).fd; // empty: the read waits until the timer fires
  const ps = ring.chain([op.read(r, Buffer.alloc(8)).skipSuccess(), op.linkTimeout(30), op.nop()], { link: true });
  const outcomes = await Promise.allSettled(ps);
  assert.equal(outcomes[0].status, 'rejected', 'the read did not succeed: its timer cut it off');
  assert.equal(code((outcomes[0] as PromiseRejectedResult).reason), 'ECANCELED');
  assert.deepEqual(outcomes[1], { status: 'fulfilled', value: true }, 'the timer fired');
  assert.equal(code((outcomes[2] as PromiseRejectedResult).reason), 'ECANCELED');
  assert.equal(ring.pending, 0);
  // the same through ring.link(): the outcome names the step, and the ring closes
  const out = await ring.link([op.read(r, Buffer.alloc(8)).skipSuccess(), op.linkTimeout(30), op.nop()]);
  assert.deepEqual(out.steps.map((s) => s.status), ['timedOut', 'ok', 'cancelled']);
  assert.equal(out.broken?.reason, 'timeout');
  assert.equal(ring.pending, 0);
});

test('skipSuccess() on a step not linked to the next is refused (nothing would ever say it succeeded)', async (t) => {
  const ring = ringFor(t);
  const r = fifo(t).fd;
  assert.throws(() => ring.chain([op.read(r, Buffer.alloc(8)).skipSuccess(), op.nop()]), (e: unknown) => e instanceof RangeError && /skipSuccess\(\) on request 0 needs a link to the next one/.test(e.message));
  assert.equal(ring.pending, 0, 'nothing was submitted');
  // linked, it settles from the step after it
  const [a, b] = ring.chain([op.nop().skipSuccess(), op.nop()], { link: true });
  assert.deepEqual(await Promise.all([a, b]), [undefined, 0]);
});

test('ring.cancel() reaches the kernel ahead of the JS backlog, and cancels what waits in the backlog too', async (t) => {
  const ring = ringFor(t, { entries: 8 });
  const { fd: r } = fifo(t);
  const w = r; // (opened r+: writes go in at the same fd)
  const n = ring.cqEntries + 10; // more than the in-flight limit: 10 wait in JS
  const reads = Array.from({ length: n }, () => ring.read(r, Buffer.alloc(8)).then(() => 'read', code));
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(ring.pending, n);
  const found = await settledWithin(ring.cancel({ fd: r }, { all: true }), 3000); // (3 s × CPU_TIME_SCALE, its timer cleared)
  assert.equal(found, n, 'in flight and queued, all found');
  // (EINTR: a read the kernel had running in io-wq, as Debian's 6.1 runs FIFO reads)
  for (const o of await Promise.all(reads)) assert.ok(o === 'ECANCELED' || o === 'EINTR', String(o));
  assert.equal(ring.pending, 0);
  // one, not all: one byte for two reads, then a cancel of the first match takes the one still waiting
  writeSync(w, 'x');
  const more = [ring.read(r, Buffer.alloc(1)).then(() => 'read', code), ring.read(r, Buffer.alloc(1)).then(() => 'read', code)];
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(await ring.cancel({ fd: r }), 1);
  const settled = await Promise.all(more);
  assert.ok(settled.includes('read') && settled.some((o) => o === 'ECANCELED' || o === 'EINTR'), String(settled));
  assert.equal(ring.pending, 0);
});

test('timeoutRemove(), timeoutUpdate() and pollRemove() of requests in flight reach the kernel ahead of the JS backlog; naming one still in the backlog keeps its place after it', async (t) => {
  const ring = ringFor(t, { entries: 8 });
  const { fd } = fifo(t);
  const within3s = <T>(p: Promise<T>) => settledWithin(p, 3000); // (× CPU_TIME_SCALE: a TCG guest; its timer cleared: a bare one kept the loop 3 s)
  const limit = ring.cqEntries;
  const timers = Array.from({ length: limit - 1 }, () => ring.timeout(60_000));
  const poll = ring.pollAdd(fd, POLL.IN); // an empty FIFO: never readable here
  const backlogged = Array.from({ length: 3 }, () => ring.timeout(60_000));
  const outcome = (p: Promise<unknown>) => p.then((v) => v, code);
  const settled = [...timers, ...backlogged].map(outcome);
  const pollOutcome = outcome(poll);
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(await within3s(ring.timeoutRemove(timers[0])), undefined, 'removed while 2 requests wait in JS');
  assert.equal(await settled[0], 'ECANCELED');
  assert.equal(await within3s(ring.timeoutUpdate(timers[1], 1)), undefined);
  assert.equal(await settled[1], true, 'the updated timer fired');
  assert.equal(await within3s(ring.pollRemove(poll)), undefined);
  assert.equal(await pollOutcome, 'ECANCELED');
  // the last timer still waits in the backlog: its remove goes after it, and finds it once it is submitted
  const last = backlogged[2];
  const removeLast = ring.timeoutRemove(last);
  for (const tm of [...timers.slice(2), ...backlogged.slice(0, 2)]) assert.equal(await within3s(ring.timeoutRemove(tm)), undefined);
  assert.equal(await within3s(removeLast), undefined);
  for (const o of await Promise.all(settled.slice(2))) assert.equal(o, 'ECANCELED');
  assert.equal(ring.pending, 0);
});

test('a remove reaches the kernel with the ring exactly at its limit and nothing queued, and one that waited behind its backlogged target goes past the limit once that target is submitted', async (t) => {
  const ring = ringFor(t, { entries: 8 });
  const within3s = <T>(p: Promise<T>) => settledWithin(p, 3000); // (× CPU_TIME_SCALE: a TCG guest; its timer cleared: a bare one kept the loop 3 s)
  const outcome = (p: Promise<unknown>) => p.then((v) => v, code);
  const timers = Array.from({ length: ring.cqEntries }, () => ring.timeout(60_000));
  const settled = timers.map(outcome);
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(await within3s(ring.timeoutRemove(timers[0])), undefined, 'at the limit, no backlog');
  assert.equal(await settled[0], 'ECANCELED');
  // an aborted backlogged request leaves the backlog empty: a remove still goes ahead
  timers[0] = ring.timeout(60_000);
  settled[0] = outcome(timers[0]);
  const ac = new AbortController();
  const aborted = outcome(ring.timeout(60_000, { signal: ac.signal }));
  ac.abort();
  assert.equal(await aborted, 'ABORT_ERR');
  assert.equal(await within3s(ring.timeoutRemove(timers[1])), undefined, 'after an aborted backlogged request');
  assert.equal(await settled[1], 'ECANCELED');
  // B waits in the backlog, its remove behind it; a remove of an in-flight timer makes room for B
  // alone: B's remove must then go past the limit
  timers[1] = ring.timeout(60_000);
  settled[1] = outcome(timers[1]);
  const b = ring.timeout(60_000);
  const bOutcome = outcome(b);
  const removeB = ring.timeoutRemove(b);
  assert.equal(await within3s(ring.timeoutRemove(timers[2])), undefined);
  assert.equal(await within3s(removeB), undefined, 'the remove that waited behind its target');
  assert.equal(await bOutcome, 'ECANCELED');
  for (const [i, tm] of timers.entries()) if (i !== 2) assert.equal(await within3s(ring.timeoutRemove(tm)), undefined);
  for (const o of await Promise.all(settled)) assert.equal(o, 'ECANCELED');
  assert.equal(ring.pending, 0);
});

test("a poll update giving the poll a new user_data other than its own is refused (its completions would reach nobody, close() would wait for good); its own is accepted; with the program engine on none is", async (t) => {
  for (const engine of [false, true]) {
    const ring = ringFor(t);
    if (engine) ring.createCq(64); // turns the program engine on: requests carry its tags in the kernel
    const f = fifo(t);
    const poll = ring.pollAdd(f.fd, POLL.IN);
    await new Promise((res) => setTimeout(res, 10));
    assert.throws(() => ring.pollUpdate(poll, POLL.IN, { newUserData: 5n } as never), /"newUserData" is not an option of pollUpdate\(\)/);
    assert.throws(() => ring.pollRemove(poll, { updateEvents: POLL.IN, newUserData: 5n }), /newUserData \(IORING_POLL_UPDATE_USER_DATA\) other than the poll's own user_data.* its promise would never settle/);
    assert.throws(() => ring.bulk().push(op.pollRemove(poll, { updateEvents: POLL.IN, newUserData: 5n }), 0), RangeError, 'bulk pushes are checked too');
    if (!engine) {
      const own = Buffer.from(op.pollRemove(poll).toBytes()).readBigUInt64LE(16); // the user_data it was submitted with
      assert.equal(await ring.pollRemove(poll, { updateEvents: POLL.IN, newUserData: own }), undefined);
    } else assert.throws(() => ring.pollRemove(poll, { updateEvents: POLL.IN, newUserData: 0n }), /on a ring with completion programs: none/);
    f.write('x');
    // (an update of a FIFO's poll ends it ECANCELED on 6.18: its two wait queues; test/op-poll.test.ts)
    const settled = await poll.then((v) => v, code);
    assert.ok(settled === POLL.IN || (!engine && settled === 'ECANCELED'), `the poll still settles: ${String(settled)}`);
    const closed = await settledWithin(ring.close().then(() => 'closed'), 3000);
    assert.equal(closed, 'closed');
  }
});

test('pollRemove(), timeoutRemove() and timeoutUpdate() reach their requests with the program engine on (it gives requests its own tags in the kernel)', async (t) => {
  const ring = ringFor(t);
  ring.createCq(64);
  const f = fifo(t);
  const poll = ring.pollAdd(f.fd, POLL.IN);
  const timer = ring.timeout(60_000);
  const timer2 = ring.timeout(60_000);
  await new Promise((res) => setTimeout(res, 10));
  assert.equal(await ring.pollRemove(poll), undefined);
  await assert.rejects(poll, (e: unknown) => code(e) === 'ECANCELED');
  assert.equal(await ring.timeoutRemove(timer), undefined);
  await assert.rejects(timer, (e: unknown) => code(e) === 'ECANCELED');
  assert.equal(await ring.timeoutUpdate(timer2, 1), undefined);
  assert.equal(await timer2, true);
  assert.equal(ring.pending, 0);
});

test("a bulk push's open link ends where a promise request follows: that request is not cancelled by the bulk chain's failure", async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk();
  bulk.push(op.read(999_999, Buffer.alloc(8), 0).link(), 1); // fails EBADF: its link would cancel what follows
  const nop = ring.nop();
  bulk.submit();
  assert.equal(await nop, 0);
  await bulk.wait(1);
});

test('ring.link({ hard: true }): a step cut off by its link timeout does not break the chain (it went on)', async (t) => {
  const ring = ringFor(t);
  const r = fifo(t).fd;
  const out = await ring.link([op.read(r, Buffer.alloc(8)), op.linkTimeout(20), op.nop()], { hard: true });
  assert.deepEqual(out.steps.map((s) => s.status), ['timedOut', 'ok', 'ok']);
  assert.equal(out.broken, undefined);
});

test('a view whose memory was detached after the fast path saw it is refused, never read or written at the old address', async (t) => {
  const ring = ringFor(t);
  const { fd: r } = fifo(t);
  const w = r;
  const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (o: { initial: number; maximum: number }) => { buffer: ArrayBuffer; grow(n: number): number } } }).WebAssembly;
  const mem = new wasm.Memory({ initial: 1, maximum: 4 });
  const u = new Uint8Array(mem.buffer);
  for (const c of 'ab') {
    writeSync(w, c);
    assert.equal(await ring.read(r, u), 1); // the second read goes through the cached fast path
  }
  mem.grow(1); // detaches the buffer u views
  writeSync(w, 'XYZ');
  assert.throws(() => ring.read(r, u), (e: unknown) => e instanceof TypeError && /detached/.test(e.message));
  assert.throws(() => ring.write(w, u), (e: unknown) => e instanceof TypeError && /detached/.test(e.message));
  assert.equal(Buffer.from(new Uint8Array(mem.buffer, 0, 3)).toString('latin1'), 'b\0\0', 'the kernel wrote nothing into the new memory');
  assert.equal(ring.pending, 0);
});

// (module (memory (export "mem") 1 4) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))
const growModule = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type: (i32) -> i32
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x05, 0x04, 0x01, 0x01, 0x01, 0x04, // memory: min 1, max 4 pages
  0x07, 0x0e, 0x02, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x00, // exports mem, grow
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b, // code: local.get 0; memory.grow 0; end
]);

test("a WebAssembly.Memory's buffer lent to the kernel can still grow, from JS or from inside wasm (on Node 24+ a mark would abort the process)", async (t) => {
  const ring = ringFor(t);
  const { fd } = fifo(t);
  type Wasm = { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: { mem: { buffer: ArrayBuffer }; grow(n: number): number } } };
  const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
  const { exports } = new wasm.Instance(new wasm.Module(growModule));
  let u = new Uint8Array(exports.mem.buffer);
  writeSync(fd, 'hi');
  assert.equal(await ring.read(fd, u.subarray(0, 2)), 2);
  assert.equal(await ring.write(fd, u.subarray(0, 2)), 2);
  const transfer = (ArrayBuffer.prototype as { transfer?: () => ArrayBuffer }).transfer; // Node 22+
  if (transfer) assert.throws(() => transfer.call(u.buffer), TypeError, 'the engine refuses to transfer it, lent or not');
  assert.equal(exports.grow(1), 1, 'memory.grow from inside wasm');
  assert.equal(u.length, 0, 'the old buffer is detached');
  u = new Uint8Array(exports.mem.buffer);
  assert.equal(u.length, 2 * 65536);
  assert.equal(Buffer.from(u.subarray(0, 2)).toString(), 'hi', 'the bytes the kernel wrote are in the grown memory');
  assert.equal(await ring.read(fd, u.subarray(65536, 65538)), 2);
  assert.equal(Buffer.from(u.subarray(65536, 65538)).toString(), 'hi');
  assert.equal(exports.grow(1), 2, 'and again, with the new buffer lent too');
  assert.equal(ring.pending, 0);
});

test("a WebAssembly.Memory whose buffer was read before ringflow was imported: grow() after it was lent is a RangeError where it would abort the process; reading memory.buffer again after the import makes it lendable and growable", () => {
  const script = `
    const early = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const earlyView = new Uint8Array(early.buffer);
    const reread = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const rereadView = new Uint8Array(reread.buffer);
    const { Ring } = await import(${JSON.stringify(new URL('../src/index.js', import.meta.url).href)});
    const { openSync } = await import('node:fs');
    void reread.buffer; // read again after the import: noted as a wasm memory's
    const ring = new Ring();
    const fd = openSync('/dev/null', 'w');
    await ring.write(fd, earlyView.subarray(0, 4));
    await ring.write(fd, rereadView.subarray(0, 4));
    const grow = (m) => { try { m.grow(1); return 'grew'; } catch (e) { return e.constructor.name + ': ' + e.message; } };
    console.log(JSON.stringify([grow(early), grow(reread)]));
    await ring.close();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 * CPU_TIME_SCALE });
  assert.equal(r.status, 0, `the process ended with ${r.status ?? r.signal}: ${r.stderr}`);
  const [early, reread] = JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
  if (marksAreDetachKeys()) assert.match(early, /^RangeError: WebAssembly\.Memory\.grow\(\): ringflow lent this memory's buffer to io_uring before it knew it for a wasm memory's .* read memory\.buffer once after importing ringflow/);
  else assert.equal(early, 'grew', 'a mark is no detach key on this Node: the grow goes ahead');
  assert.equal(reread, 'grew');
});

test('ring.timeout() with IORING_TIMEOUT_MULTISHOT in timeoutFlags is refused (a CQE per expiry: ring.runMulti)', (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.timeout(10, { timeoutFlags: 0x40 }), /multishot requests post more than one completion; use op.timeout\(\) with ring.runMulti\(\)/);
  assert.equal(op.timeout(10, { timeoutFlags: 0x40 }).multishot, true);
  assert.equal(ring.pending, 0);
});

test("nop's file and bufIndex take effect with nopFlags given too", async (t) => {
  const ring = ringFor(t);
  if (!ring.supports('nop', { flag: 'FILE' }) || !ring.supports('nop', { flag: 'INJECT_RESULT' })) return t.skip("this kernel lacks nop's FILE (6.13) or INJECT_RESULT (6.10) flag");
  await assert.rejects(ring.nop({ nopFlags: 1, injectResult: 3, file: 9999 }), (e: unknown) => code(e) === 'EBADF');
  assert.equal(await ring.nop({ nopFlags: 1, injectResult: 3 }), 3);
});

test('a direct descriptor on a ring with no file table: the error says so', async (t) => {
  const ring = ringFor(t);
  await assert.rejects(ring.openat('/dev/null', 0, 0, { direct: 'auto' }), (e: unknown) => e instanceof RingError && e.code === 'ENFILE' && /ring.files.register\(\)/.test(e.message));
  await assert.rejects(ring.openat('/dev/null', 0, 0, { direct: 3 }), (e: unknown) => e instanceof RingError && e.code === 'ENXIO' && /past the ring's registered file table, or the ring has none/.test(e.message));
  void Ring;
});

test('ring.cancel() of a step of a chain still in the JS backlog takes the chain from that step on (as the kernel cancels a link)', async (t) => {
  const ring = ringFor(t, { entries: 8 });
  const { fd: r } = fifo(t);
  const inFlight = Array.from({ length: ring.cqEntries }, () => ring.read(r, Buffer.alloc(8)).then(() => 'read', code));
  const [first, second, third] = ring.chain([op.nop(), op.read(r, Buffer.alloc(8)), op.nop()], { link: true }).map((p) => p.then(() => 'ok', code));
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(ring.pending, ring.cqEntries + 3, 'the chain waits in the JS backlog');
  assert.equal(await ring.cancel({ fd: r }, { all: true }), ring.cqEntries + 1, 'the reads: in flight, and the chain\'s');
  assert.deepEqual([await second, await third], ['ECANCELED', 'ECANCELED'], 'the matched step and the step linked after it');
  assert.equal(await first, 'ok', 'the step before it runs, as in the kernel (it is not linked to anything any more)');
  await Promise.all(inFlight);
  assert.equal(ring.pending, 0);
});
