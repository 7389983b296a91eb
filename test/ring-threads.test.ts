/**
 * Rings across threads beyond messages: examples/worker-fanout (a ring per worker, work fanned
 * out and collected by msg_ring) and IORING_SETUP_ATTACH_WQ (what it shares, what it refuses).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ringFor, requireOp, tempDir, pattern } from './helpers.js';
import { sqThreads, newSqThreads } from './sq-threads.js';
import { Ring, RingError, type RingHandle } from '../src/index.js';

const prefix = (b: Buffer) => createHash('sha256').update(b).digest().readInt32BE(0);
/**
 * The SQ thread fdinfo names for a ring: -1 without SQPOLL, and on 6.1 also while the thread holds
 * its lock (polling), so tests find SQ threads by name (test/sq-threads.ts) and check this only
 * where it names one.
 */
const sqThread = (fd: number) => Number(/^SqThread:\s*(-?\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? NaN);
/** Where fdinfo names the SQ thread of `fd`, it is `tid`. */
function fdinfoAgrees(fd: number, tid: number, what: string): void {
  const named = sqThread(fd);
  if (named !== -1) assert.equal(named, tid, `${what}: fdinfo's SqThread`);
}

test('examples/worker-fanout: files passed to 3 workers\' rings by msg_ring are hashed there and the results come back by msg_ring', async (t) => {
  const probe = ringFor(t);
  if (!requireOp(t, probe, 'msgRing')) return;
  const d = tempDir();
  t.after(d.cleanup);
  const files = Array.from({ length: 40 }, (_, i) => {
    const path = join(d.dir, `f${i}`);
    writeFileSync(path, pattern(1 + i * 3001, i));
    return path;
  });
  const { fanOut } = await import('../examples/worker-fanout.js');
  const results = await fanOut(files, 3);
  assert.equal(results.length, 40);
  for (const [i, r] of results.entries()) {
    assert.equal(r.path, files[i]);
    assert.equal(r.sha256Prefix, prefix(readFileSync(files[i])), r.path);
  }
  assert.deepEqual(new Set(results.map((r) => r.worker)), new Set([0, 1, 2]), 'every worker hashed some');
  // and as a script
  const script = fileURLToPath(new URL('../examples/worker-fanout.js', import.meta.url));
  const run = spawnSync(process.execPath, [script, '--workers', '2', ...files.slice(0, 5)], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.match(lines.pop()!, /^5 files hashed by 2 workers in [\d.]+ ms$/);
  for (const [i, line] of lines.entries()) assert.ok(line.startsWith((prefix(readFileSync(files[i])) >>> 0).toString(16).padStart(8, '0')), line);
});

test('ATTACH_WQ: an SQPOLL ring attached to another shares its SQ thread (a Ring, its handle, or its fd); without attachWq each has its own', async (t) => {
  // a new SQPOLL ring adds an iou-sqp-* thread to this process, named once a request went through
  // (an SQPOLL ring's requests are submitted by an SQ thread only); an attached one adds none
  const before = sqThreads();
  const first = ringFor(t, { sqpoll: { idle: 50 } });
  assert.equal(await first.nop(), 0);
  const firstThreads = newSqThreads(before);
  assert.equal(firstThreads.length, 1, `the first ring has an SQ thread: ${firstThreads}`);
  const [tid] = firstThreads;
  const attached = ringFor(t, { sqpoll: { idle: 50 }, attachWq: first });
  const byHandle = ringFor(t, { sqpoll: true, attachWq: first.handle() });
  const byFd = ringFor(t, { sqpoll: true, attachWq: first.fd });
  assert.deepEqual(await Promise.all([first, attached, byHandle, byFd].map((r) => r.nop())), [0, 0, 0, 0], 'all of them work');
  assert.deepEqual(newSqThreads(before), [tid], 'attached: no SQ thread of their own, the first ring\'s serves them');
  for (const [r, what] of [[first, 'first'], [attached, 'a Ring'], [byHandle, 'its handle'], [byFd, 'its fd']] as const) fdinfoAgrees(r.fd, tid, what);
  const own = ringFor(t, { sqpoll: true });
  assert.equal(await own.nop(), 0);
  const all = newSqThreads(before);
  assert.equal(all.length, 2, `not attached: its own SQ thread (${all})`);
  const ownTid = all.find((x) => x !== tid)!;
  assert.ok(ownTid !== undefined && all.includes(tid));
  fdinfoAgrees(own.fd, ownTid, 'not attached');
});

test('ATTACH_WQ to a ring of another worker thread (its handle crossed postMessage): the same SQ thread', async (t) => {
  const code = `
    const { Ring } = await import(${JSON.stringify(new URL('../src/index.js', import.meta.url).href)});
    const { parentPort } = await import('node:worker_threads');
    const ring = new Ring({ sqpoll: { idle: 100 } });
    await ring.nop(); // its SQ thread has run (and named itself) before the handle goes out
    parentPort.postMessage(ring.handle());
    parentPort.once('message', async () => { await ring.close(); });
  `;
  const before = sqThreads();
  const w = new Worker(code, { eval: true });
  t.after(() => w.terminate());
  const h = await new Promise<RingHandle>((r) => w.once('message', r));
  const theirs = newSqThreads(before);
  assert.equal(theirs.length, 1, `the worker's ring has an SQ thread: ${theirs}`);
  const mine = new Ring({ sqpoll: true, attachWq: h });
  try {
    assert.equal(await mine.nop(), 0);
    assert.deepEqual(newSqThreads(before), theirs, 'mine added no SQ thread: the worker ring\'s submitted its nop');
    fdinfoAgrees(mine.fd, theirs[0], 'attached across threads');
    fdinfoAgrees(h.fd, theirs[0], 'the worker\'s ring');
  } finally {
    await mine.close();
  }
  w.postMessage('close');
  assert.equal(await new Promise((r) => w.once('exit', r)), 0);
});

test('ATTACH_WQ errors are clear: a closed fd (ENXIO), an fd that is no ring (EINVAL), an SQPOLL ring on a ring without SQ thread (EINVAL)', async (t) => {
  const closed = new Ring();
  const fd = closed.fd;
  await closed.close();
  const err = (code: string, re: RegExp) => (e: unknown) => e instanceof RingError && e.code === code && re.test(e.message);
  assert.throws(() => new Ring({ attachWq: fd }), err('ENXIO', /attachWq: fd \d+.*not open/));
  assert.throws(() => new Ring({ attachWq: 0 }), err('EINVAL', /attachWq: fd 0 is .*must name an io_uring fd/));
  const plain = ringFor(t);
  // the kernel refuses it (io_attach_sq_data: the ring has no sq_data); ringflow's hint says why
  assert.throws(() => new Ring({ attachWq: plain, sqpoll: true }), err('EINVAL', new RegExp(`wq_fd=${plain.fd}\\]: an SQPOLL ring can only attach to another SQPOLL ring`)));
  // without SQPOLL the kernel only checks the fd: the ring is made and works
  const attached = ringFor(t, { attachWq: plain });
  assert.equal(await attached.nop(), 0);
  assert.throws(() => new Ring({ attachWq: -1 }), RangeError);
  assert.throws(() => new Ring({ attachWq: { fd: 'x' } as never }), TypeError);
});
