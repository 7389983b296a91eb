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
import { Ring, RingError, type RingHandle } from '../src/index.js';

const prefix = (b: Buffer) => createHash('sha256').update(b).digest().readInt32BE(0);
/** The SQ thread of a ring (fdinfo's SqThread: -1 without SQPOLL). */
const sqThread = (fd: number) => Number(/^SqThread:\s*(-?\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? NaN);

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
  const first = ringFor(t, { sqpoll: { idle: 50 } });
  const attached = ringFor(t, { sqpoll: { idle: 50 }, attachWq: first });
  const byHandle = ringFor(t, { sqpoll: true, attachWq: first.handle() });
  const byFd = ringFor(t, { sqpoll: true, attachWq: first.fd });
  const own = ringFor(t, { sqpoll: true });
  // all of them work; fdinfo names the SQ thread once a request went through (right after setup it may name the process)
  assert.deepEqual(await Promise.all([first, attached, byHandle, byFd, own].map((r) => r.nop())), [0, 0, 0, 0, 0]);
  const tid = sqThread(first.fd);
  assert.match(readFileSync(`/proc/self/task/${tid}/comm`, 'utf8'), /^iou-sqp-/, 'the first ring has an SQ thread');
  for (const r of [attached, byHandle, byFd]) assert.equal(sqThread(r.fd), tid, 'attached: the same SQ thread');
  assert.notEqual(sqThread(own.fd), tid, 'not attached: its own');
  assert.match(readFileSync(`/proc/self/task/${sqThread(own.fd)}/comm`, 'utf8'), /^iou-sqp-/);
});

test('ATTACH_WQ to a ring of another worker thread (its handle crossed postMessage): the same SQ thread', async (t) => {
  const code = `
    const { Ring } = await import(${JSON.stringify(new URL('../src/index.js', import.meta.url).href)});
    const { parentPort } = await import('node:worker_threads');
    const ring = new Ring({ sqpoll: { idle: 100 } });
    parentPort.postMessage(ring.handle());
    parentPort.once('message', async () => { await ring.close(); });
  `;
  const w = new Worker(code, { eval: true });
  t.after(() => w.terminate());
  const h = await new Promise<RingHandle>((r) => w.once('message', r));
  const mine = new Ring({ sqpoll: true, attachWq: h });
  try {
    assert.equal(await mine.nop(), 0);
    assert.match(readFileSync(`/proc/self/task/${sqThread(mine.fd)}/comm`, 'utf8'), /^iou-sqp-/);
    assert.equal(sqThread(mine.fd), sqThread(h.fd));
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
  assert.throws(() => new Ring({ attachWq: plain, sqpoll: true }), err('EINVAL', /has no SQ thread.*SQPOLL ring can only attach to another SQPOLL ring/));
  // without SQPOLL the kernel only checks the fd: the ring is made and works
  const attached = ringFor(t, { attachWq: plain });
  assert.equal(await attached.nop(), 0);
  assert.throws(() => new Ring({ attachWq: -1 }), RangeError);
  assert.throws(() => new Ring({ attachWq: { fd: 'x' } as never }), TypeError);
});
