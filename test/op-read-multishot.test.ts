/** IORING_OP_READ_MULTISHOT (6.7) against the kernel: a FIFO read into provided buffers, as an async iterator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, writeSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ringFor, requireOp, tempDir, tempFile } from './helpers.js';
import { op, type ProvidedBuffer } from '../src/index.js';

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

/** A FIFO's two ends, opened apart: closing `wr` is the reader's end of file. */
function pipe(t: { after(fn: () => void): void }): { rd: number; wr: number; closeWriter(): void } {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const rd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const wr = openSync(path, constants.O_WRONLY);
  let open = true;
  const closeWriter = () => {
    if (open) closeSync(wr);
    open = false;
  };
  t.after(() => {
    closeWriter();
    closeSync(rd);
  });
  return { rd, wr, closeWriter };
}

test('readMultishot yields a ProvidedBuffer per read and ends at end of file', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'readMultishot')) return;
  const p = pipe(t);
  const group = ring.bufferGroup({ count: 4, size: 64 });
  const s = ring.readMultishot(p.rd, group);
  const got: string[] = [];
  const writer = (async () => {
    for (const m of ['one', 'two', 'three']) {
      await tick(15);
      writeSync(p.wr, m);
    }
    await tick(15);
    p.closeWriter();
  })();
  for await (const b of s) {
    got.push(b.bytes.toString());
    assert.ok(b.bytes.length <= 64);
    b.release();
  }
  await writer;
  assert.deepEqual(got, ['one', 'two', 'three']);
  assert.equal(s.done, true);
  assert.equal(group.outstanding, 0, 'every buffer went back');
  assert.equal(ring.pending, 0, 'the request ended at EOF (res 0 without F_MORE)');
});

test('readMultishot out of buffers (ENOBUFS) waits for a release, then reads on', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'readMultishot')) return;
  const p = pipe(t);
  const group = ring.bufferGroup({ count: 1, size: 16 });
  const s = ring.readMultishot(p.rd, group);
  writeSync(p.wr, 'first');
  const a = await s.next();
  assert.equal((a.value as ProvidedBuffer).bytes.toString(), 'first');
  writeSync(p.wr, 'second'); // the group is empty: the kernel ends the read with ENOBUFS
  await tick(30);
  (a.value as ProvidedBuffer).release();
  const b = await s.next();
  assert.equal((b.value as ProvidedBuffer).bytes.toString(), 'second');
  assert.ok(s.rearms >= 1, 're-armed after the buffer came back');
  (b.value as ProvidedBuffer).release();
  s.close();
  for (let i = 0; i < 50 && ring.pending > 0; i++) await tick(5);
  assert.equal(ring.pending, 0);
});

test('readMultishot on a regular file fails EBADFD (pollable files only); break ends a live one cleanly', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'readMultishot')) return;
  const f = tempFile('data');
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const group = ring.bufferGroup({ count: 2, size: 16 });
  await assert.rejects(async () => {
    for await (const b of ring.readMultishot(fd, group)) b.release();
  }, { code: 'EBADFD', op: 'readMultishot' });
  const p = pipe(t);
  const s = ring.readMultishot(p.rd, group);
  writeSync(p.wr, 'x');
  for await (const b of s) {
    b.release();
    break;
  }
  for (let i = 0; i < 50 && ring.pending > 0; i++) await tick(5);
  assert.equal(ring.pending, 0, 'break cancelled the request');
  assert.equal(group.outstanding, 0);
});

test('readMultishot refuses bad arguments naming them; the promise method path does not exist for it', (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.readMultishot(-1, 0 as never), /^RangeError: readMultishot\(\): "fd" must be in/);
  assert.throws(() => ring.readMultishot(0, 70000 as never), /^RangeError: readMultishot\(\): "group" must be in \[0, 65535\]/);
  assert.throws(() => ring.readMultishot(0, 3 as never), /^TypeError: readMultishot\(\): "group" must be a BufferGroup/);
  assert.throws(() => ring.readMultishot(0, 3 as never, { bogus: 1 } as never), /^TypeError: readMultishot\(\): "bogus" is not an option/);
  assert.throws(() => ring.run(op.readMultishot(0, 3)), /submit it with ring\.runMulti/);
  assert.equal(ring.pending, 0);
});
