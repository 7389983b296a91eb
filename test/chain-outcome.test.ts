/**
 * ring.link(): one outcome per step and the step that broke the chain, read from the kernel's
 * CQEs by the link rules of docs/chains.md — each rule checked here against the running kernel.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { openSync, closeSync } from 'node:fs';
import { ringFor, tempFile, tempDir, lacksFlag, requireOp } from './helpers.js';
import { op, MSG, RingError, type ChainOutcome } from '../src/index.js';

/** A compact view of an outcome: each step's status with its value or errno, and the break. */
function view(o: ChainOutcome): { steps: string[]; broken?: string } {
  const steps = o.steps.map((s) => {
    switch (s.status) {
      case 'ok':
        return `ok:${String(s.value)}`;
      case 'short':
        return `short:${s.value}/${s.expected}`;
      case 'failed':
      case 'timedOut':
        return `${s.status}:${s.error.code}`;
      case 'aborted':
      case 'cancelled':
        return `${s.status}:${(s.error as { code?: string }).code ?? s.error.name}`;
    }
  });
  return o.broken ? { steps, broken: `${o.broken.index}:${o.broken.op}:${o.broken.reason}` } : { steps };
}

function openFile(t: TestContext, data: string): number {
  const f = tempFile(data);
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r+');
  t.after(() => closeSync(fd));
  return fd;
}

test('link: every step ok; the chain is one submission', async (t) => {
  const ring = ringFor(t);
  const fd = openFile(t, '');
  const out = Buffer.alloc(5);
  const before = ring.stats().enterCalls;
  const o = await ring.link<[number, undefined, number]>([op.write(fd, Buffer.from('chain'), 0), op.fsync(fd), op.read(fd, out, 0)]);
  assert.equal(ring.stats().enterCalls - before, 1);
  assert.deepEqual(view(o), { steps: ['ok:5', 'ok:undefined', 'ok:5'] });
  assert.equal(o.ok, true);
  assert.equal(o.broken, undefined);
  assert.equal(out.toString(), 'chain');
});

test('link: an error breaks the chain at its step; the rest are cancelled (-ECANCELED)', async (t) => {
  const ring = ringFor(t);
  const o = await ring.link([op.nop(), op.fsync(99999), op.nop(), op.nop()]);
  assert.deepEqual(view(o), { steps: ['ok:0', 'failed:EBADF', 'cancelled:ECANCELED', 'cancelled:ECANCELED'], broken: '1:fsync:error' });
  assert.equal(o.ok, false);
  assert.ok(o.broken!.error instanceof RingError && o.broken!.error.code === 'EBADF');
  // the last step failing ends the chain too
  const last = await ring.link([op.nop(), op.fsync(99999)]);
  assert.deepEqual(view(last), { steps: ['ok:0', 'failed:EBADF'], broken: '1:fsync:error' });
});

test('link: a short read breaks a soft link (res != len is a failure: rw.c), and so does a read at EOF', async (t) => {
  const ring = ringFor(t);
  const fd = openFile(t, '0123456789');
  const o = await ring.link([op.read(fd, Buffer.alloc(100), 0), op.write(fd, Buffer.from('x'), 0)]);
  assert.deepEqual(view(o), { steps: ['short:10/100', 'cancelled:ECANCELED'], broken: '0:read:short' });
  assert.equal(o.broken!.value, 10);
  assert.equal(o.broken!.expected, 100);
  const eof = await ring.link([op.read(fd, Buffer.alloc(4), 10), op.nop()]);
  assert.deepEqual(view(eof), { steps: ['short:0/4', 'cancelled:ECANCELED'], broken: '0:read:short' });
  // a read of exactly the length asked for goes on
  const full = await ring.link([op.read(fd, Buffer.alloc(10), 0), op.nop()]);
  assert.deepEqual(view(full), { steps: ['ok:10', 'ok:0'] });
});

test('link: hard links go on past an error and past a short read; the outcome names no break', async (t) => {
  const ring = ringFor(t);
  const fd = openFile(t, '0123456789');
  const o = await ring.link([op.read(fd, Buffer.alloc(100), 0), op.fsync(99999), op.nop()], { hard: true });
  assert.deepEqual(view(o), { steps: ['short:10/100', 'failed:EBADF', 'ok:0'] });
  assert.equal(o.ok, false);
  assert.equal(o.broken, undefined);
  // mixed: a hard link then a soft one; the soft one breaks
  const mixed = await ring.link([op.fsync(99999).hardlink(), op.fsync(99998), op.nop()]);
  assert.deepEqual(view(mixed), { steps: ['failed:EBADF', 'failed:EBADF', 'cancelled:ECANCELED'], broken: '1:fsync:error' });
});

test('link timeout fires: the timeout (-ETIME) and the request (-ECANCELED) both complete, the timeout first on 6.18 (the request first on 6.1); the rest are cancelled', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'linkTimeout')) return;
  const order: string[] = [];
  const [req, lt] = ring.chain([op.timeout(5_000).link(), op.linkTimeout(20)]);
  const seen = Promise.allSettled([
    req.then(
      () => order.push('request ok'),
      (e: RingError) => order.push(`request ${e.code}`),
    ),
    lt.then((v) => order.push(`timeout ${v ? 'fired' : 'not fired'}`)),
  ]);
  await seen;
  // 6.18: io_req_task_link_timeout posts the timeout's CQE before the cancelled request's; Debian's
  // 6.1 posted them the other way round (scripts/kernel-suite.sh 61): ring.link() reads either
  assert.deepEqual([...order].sort(), ['request ECANCELED', 'timeout fired']);
  if (order[0] !== 'timeout fired') t.diagnostic(`this kernel posts the cancelled request's CQE before its link timeout's: ${order.join(', ')}`);
  const o = await ring.link([op.timeout(5_000), op.linkTimeout(20), op.nop()]);
  assert.deepEqual(view(o), { steps: ['timedOut:ECANCELED', 'ok:true', 'cancelled:ECANCELED'], broken: '0:timeout:timeout' });
  assert.equal(o.broken!.timeoutIndex, 1);
});

test('link timeout disarmed: the request completes first, then the timeout with -ECANCELED; the chain goes on', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'linkTimeout')) return;
  const order: string[] = [];
  const [req, lt] = ring.chain([op.nop().link(), op.linkTimeout(5_000)]);
  await Promise.all([req.then(() => order.push('request')), lt.then((v) => order.push(`timeout ${v}`))]);
  assert.deepEqual(order, ['request', 'timeout false']);
  const o = await ring.link([op.nop(), op.linkTimeout(5_000), op.nop()]);
  assert.deepEqual(view(o), { steps: ['ok:0', 'ok:false', 'ok:0'] });
  // the timed request fails on its own: it breaks with its error, its timeout (disarmed) is cancelled
  const failed = await ring.link([op.fsync(99999), op.linkTimeout(5_000), op.nop()]);
  assert.deepEqual(view(failed), { steps: ['failed:EBADF', 'cancelled:ECANCELED', 'cancelled:ECANCELED'], broken: '0:fsync:error' });
});

/** A connected unix stream pair: `fd` is the accepted end (node never reads it); `peer` is node's socket. */
async function socketPair(t: TestContext): Promise<{ fd: number; peer: net.Socket }> {
  const { dir, cleanup } = tempDir();
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(`${dir}/s`, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const peer = net.connect(`${dir}/s`);
  const sock = await accepted;
  t.after(() => {
    peer.destroy();
    sock.destroy();
    server.close();
    cleanup();
  });
  return { fd: (sock as unknown as { _handle: { fd: number } })._handle.fd, peer };
}

test('link: a short recv does not break the chain (min_ret is 0: net.c) unless MSG_WAITALL', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'recv')) return;
  const { fd, peer } = await socketPair(t);
  peer.write('hello');
  const o = await ring.link([op.recv(fd, Buffer.alloc(100)), op.nop()]);
  assert.deepEqual(view(o), { steps: ['ok:5', 'ok:0'] });
  // with MSG_WAITALL the kernel waits for all 100 bytes; the peer sends 5 and shuts down: 5 < 100 breaks it
  const waitAll = ring.link([op.recv(fd, Buffer.alloc(100), MSG.WAITALL), op.nop()]);
  peer.end('world');
  assert.deepEqual(view(await waitAll), { steps: ['short:5/100', 'cancelled:ECANCELED'], broken: '0:recv:short' });
  // recv at EOF (res 0) without WAITALL does not break it either
  const eof = await ring.link([op.recv(fd, Buffer.alloc(100)), op.nop()]);
  assert.deepEqual(view(eof), { steps: ['ok:0', 'ok:0'] });
});

test('skipSuccess: no CQE for members that succeed; a failing one posts its CQE and suppresses the rest of the chain', { skip: lacksFlag('nop', 'INJECT_RESULT') }, async (t) => {
  const ring = ringFor(t);
  if (!ring.hasFeature('CQE_SKIP')) return t.skip('IORING_FEAT_CQE_SKIP missing');
  let before = ring.stats().cqesReaped;
  const ok = await ring.link([op.nop().skipSuccess(), op.nop().skipSuccess(), op.nop()]);
  assert.deepEqual(view(ok), { steps: ['ok:undefined', 'ok:undefined', 'ok:0'] });
  assert.equal(ring.stats().cqesReaped - before, 1, 'one CQE for a chain of three');
  before = ring.stats().cqesReaped;
  const bad = await ring.link([op.nop().skipSuccess(), op.nop({ injectResult: -5 }).skipSuccess(), op.nop(), op.nop()]);
  assert.deepEqual(view(bad), { steps: ['ok:undefined', 'failed:EIO', 'cancelled:ECANCELED', 'cancelled:ECANCELED'], broken: '1:nop:error' });
  assert.equal(ring.stats().cqesReaped - before, 1, 'the failing member posts the only CQE: the cancelled rest post none (REQ_F_SKIP_LINK_CQES)');
  // a hard link goes on: the failure's CQE, then the rest run and post theirs as their own flags say
  before = ring.stats().cqesReaped;
  const hard = await ring.link([op.nop({ injectResult: -5 }).skipSuccess().hardlink(), op.nop().skipSuccess(), op.nop()]);
  assert.deepEqual(view(hard), { steps: ['failed:EIO', 'ok:undefined', 'ok:0'] });
  assert.equal(ring.stats().cqesReaped - before, 2, 'EIO, then the last nop: the skipped success posts nothing');
  // the members without skipSuccess that a failure cancels post their -ECANCELED CQEs
  before = ring.stats().cqesReaped;
  const plain = await ring.link([op.nop({ injectResult: -5 }), op.nop(), op.nop()]);
  assert.deepEqual(view(plain), { steps: ['failed:EIO', 'cancelled:ECANCELED', 'cancelled:ECANCELED'], broken: '0:nop:error' });
  assert.equal(ring.stats().cqesReaped - before, 3);
});

test('drain: a drained request starts after everything before it completed (on 6.18 later ones wait for it too)', async (t) => {
  const ring = ringFor(t);
  const order: string[] = [];
  const slow = ring.timeout(30).then(() => order.push('timeout'));
  const drained = ring.run(op.nop().drain()).then(() => order.push('drained nop'));
  const after = ring.nop().then(() => order.push('later nop'));
  await Promise.all([slow, drained, after]);
  assert.equal(order[0], 'timeout', 'nothing drained or later ran before the request submitted before the drain');
  assert.deepEqual([...order].sort(), ['drained nop', 'later nop', 'timeout']);
  // 6.18 holds requests submitted after a drain until it completed; Debian's 6.1 ran the later nop
  // first (scripts/kernel-suite.sh 61)
  if (order[1] !== 'drained nop') t.diagnostic(`this kernel did not hold the request after the drain: ${order.join(', ')}`);
});

test('drain after skipSuccess on the same ring fails at submission with EOPNOTSUPP (ctx->drain_disabled)', async (t) => {
  const ring = ringFor(t);
  if (!ring.hasFeature('CQE_SKIP')) return t.skip('IORING_FEAT_CQE_SKIP missing');
  assert.equal(await ring.run(op.nop().drain()), 0, 'drain works before any skipSuccess');
  await ring.link([op.nop().skipSuccess(), op.nop()]);
  await assert.rejects(ring.run(op.nop().drain()), { code: 'EOPNOTSUPP' });
  assert.equal(await ring.nop(), 0, 'requests without drain still run');
});

test('link: an abort breaks the chain at the running step; pre-aborted chains are never submitted', async (t) => {
  const ring = ringFor(t);
  const ac = new AbortController();
  const p = ring.link([op.nop(), op.timeout(5_000), op.nop()], { signal: ac.signal });
  setTimeout(() => ac.abort(), 10);
  assert.deepEqual(view(await p), { steps: ['ok:0', 'aborted:ABORT_ERR', 'cancelled:ABORT_ERR'], broken: '1:timeout:aborted' });
  const before = ring.stats().sqesSubmitted;
  const pre = await ring.link([op.nop(), op.nop()], { signal: AbortSignal.abort() });
  assert.deepEqual(view(pre), { steps: ['aborted:ABORT_ERR', 'cancelled:ABORT_ERR'], broken: '0:nop:aborted' });
  assert.equal(ring.stats().sqesSubmitted, before);
  assert.equal(ring.pending, 0);
});

test('link: a chain cut off by close() resolves with its steps cancelled (RingClosedError)', async (t) => {
  const ring = ringFor(t);
  const p = ring.link([op.timeout(5_000), op.nop()]);
  await ring.close();
  const o = await p;
  assert.equal(o.ok, false);
  assert.equal(o.broken?.reason, 'closed');
  assert.deepEqual(o.steps.map((s) => s.status), ['cancelled', 'cancelled']);
});

test('link(), chain(): bad input names the argument', (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.link([]), { name: 'TypeError', message: /non-empty array/ });
  assert.throws(() => ring.link([op.nop(), 5 as never]), { name: 'TypeError', message: /takes Sqe objects built with ring\.op\.\*; "sqes"\[1\] is/ });
  assert.throws(() => ring.link([op.nop()], { link: true } as never), { name: 'TypeError', message: /"link" is not an option of link\(\); it accepts signal, hard/ });
  assert.throws(() => ring.link([op.nop()], { hard: 1 } as never), { name: 'TypeError', message: /"hard" must be a boolean/ });
  assert.throws(() => ring.link([op.nop()], { signal: {} } as never), { name: 'TypeError', message: /"signal" must be an AbortSignal/ });
  assert.throws(() => ring.link([op.nop().skipSuccess()]), { name: 'RangeError', message: /skipSuccess\(\) on the last request/ });
  assert.throws(() => ring.link(Array.from({ length: ring.sqEntries + 1 }, () => op.nop())), RangeError);
  assert.throws(() => ring.chain([op.nop()], { hard: true } as never), { name: 'TypeError', message: /"hard" is not an option of chain\(\)/ });
  assert.throws(() => (ring.link as (...a: unknown[]) => unknown)([op.nop()], {}, 3), { name: 'TypeError', message: /takes sqes, options/ });
});
