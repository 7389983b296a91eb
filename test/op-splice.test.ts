/**
 * IORING_OP_PIPE, SPLICE and TEE against the running kernel (issue #12 item 1): pipe() resolves
 * two fds (or two FixedFile with `direct`), splice moves bytes file → pipe → file at offsets or
 * file positions, a FixedFile input sets SPLICE_F_FD_IN_FIXED, tee duplicates without consuming,
 * a short splice fails its link, and errors come back as RingError codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, readSync, writeSync, fstatSync, readFileSync } from 'node:fs';
import { ringFor, tempFile, pattern, requireOp } from './helpers.js';
import { RingError, FixedFile, fixed, op, PIPE_FLAGS } from '../src/index.js';

const isErrno = (code: string) => (e: unknown) => {
  assert.ok(e instanceof RingError, String(e));
  assert.equal(e.code, code);
  return true;
};

test('pipe() resolves [readFd, writeFd] of one pipe (O_CLOEXEC); NONBLOCK reaches the file', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pipe')) return;
  const [r, w] = await ring.pipe();
  t.after(() => (closeSync(r), closeSync(w)));
  assert.ok(fstatSync(r).isFIFO() && fstatSync(w).isFIFO());
  writeSync(w, 'through');
  const b = Buffer.alloc(16);
  assert.equal(readSync(r, b), 7);
  assert.equal(b.subarray(0, 7).toString(), 'through');
  const [nr, nw] = await ring.pipe({ flags: PIPE_FLAGS.NONBLOCK });
  t.after(() => (closeSync(nr), closeSync(nw)));
  assert.throws(() => readSync(nr, b), (e: NodeJS.ErrnoException) => e.code === 'EAGAIN', 'an empty O_NONBLOCK pipe does not block');
});

test('pipe({ direct }): slot n gets the read end and n + 1 the write end; "auto" picks two free slots', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'pipe')) return;
  await assert.rejects(ring.pipe({ direct: 0 }), isErrno('ENXIO'), 'no file table registered');
  ring.files.register({ sparse: 8 });
  const [r, w] = await ring.pipe({ direct: 2 });
  assert.ok(r instanceof FixedFile && w instanceof FixedFile);
  assert.deepEqual([r.index, w.index], [2, 3]);
  assert.equal(await ring.write(w, Buffer.from('slots'), -1), 5);
  const b = Buffer.alloc(8);
  assert.equal(await ring.read(r, b, -1), 5);
  assert.equal(b.subarray(0, 5).toString(), 'slots');
  const [ar, aw] = await ring.pipe({ direct: 'auto' });
  assert.ok(ar instanceof FixedFile && aw instanceof FixedFile);
  assert.ok(![2, 3].includes(ar.index) && ![2, 3].includes(aw.index) && ar.index !== aw.index, `free slots: ${ar.index}, ${aw.index}`);
  assert.equal(await ring.write(aw, Buffer.from('auto'), -1), 4);
  assert.equal(await ring.read(ar, b, -1), 4);
  await ring.closeFd(r);
  await assert.rejects(ring.read(r, b, -1), isErrno('EBADF'), 'closing the slot emptied it');
});

test('splice: file → pipe → file with offsets and file positions; res = bytes moved', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'splice') || !requireOp(t, ring, 'pipe')) return;
  const data = pattern(20000);
  const src = tempFile(data);
  const dst = tempFile('');
  t.after(src.cleanup);
  t.after(dst.cleanup);
  const inFd = openSync(src.path, 'r');
  const outFd = openSync(dst.path, 'r+');
  const [r, w] = await ring.pipe();
  t.after(() => [inFd, outFd, r, w].forEach((f) => closeSync(f)));
  assert.equal(await ring.splice(inFd, w, 4096, { offIn: 1000 }), 4096, 'file at offset 1000 → pipe');
  assert.equal(await ring.splice(r, outFd, 4096, { offOut: 0 }), 4096, 'pipe → file at offset 0');
  assert.deepEqual(readFileSync(dst.path), data.subarray(1000, 5096));
  // without offsets: the files' own positions advance
  assert.equal(await ring.splice(inFd, w, 100), 100);
  assert.equal(await ring.splice(inFd, w, 100), 100);
  const b = Buffer.alloc(200);
  assert.equal(readSync(r, b), 200);
  assert.deepEqual(b, data.subarray(0, 200), 'file position 0, then 100');
  await assert.rejects(ring.splice(inFd, outFd, 10), isErrno('EINVAL'), 'neither end is a pipe');
  await assert.rejects(ring.splice(r, w, 10, { offIn: 0 }), isErrno('ESPIPE'), 'a pipe has no offset');
});

test('splice from a FixedFile (SPLICE_F_FD_IN_FIXED) into a FixedFile output', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'splice') || !requireOp(t, ring, 'pipe')) return;
  const src = tempFile(pattern(512));
  t.after(src.cleanup);
  const inFd = openSync(src.path, 'r');
  t.after(() => closeSync(inFd));
  ring.files.register([inFd, null, null]);
  const [r, w] = await ring.pipe({ direct: 1 });
  assert.equal(await ring.splice(fixed(0), w, 512, { offIn: 0 }), 512);
  const b = Buffer.alloc(600);
  assert.equal(await ring.read(r, b, -1), 512);
  assert.deepEqual(b.subarray(0, 512), pattern(512));
  await assert.rejects(ring.splice(fixed(7), w, 1, { offIn: 0 }), isErrno('EBADF'), 'a slot beyond the table');
});

test('tee duplicates pipe bytes without consuming them', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'tee') || !requireOp(t, ring, 'pipe')) return;
  const [r1, w1] = await ring.pipe();
  const [r2, w2] = await ring.pipe();
  t.after(() => [r1, w1, r2, w2].forEach((f) => closeSync(f)));
  writeSync(w1, 'duplicate me');
  assert.equal(await ring.tee(r1, w2, 12), 12);
  const a = Buffer.alloc(32), b = Buffer.alloc(32);
  assert.equal(readSync(r2, b), 12);
  assert.equal(readSync(r1, a), 12, 'the source still holds the bytes');
  assert.equal(a.subarray(0, 12).toString(), 'duplicate me');
  assert.equal(b.subarray(0, 12).toString(), 'duplicate me');
  const f = tempFile('x');
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  await assert.rejects(ring.tee(fd, w2, 1), isErrno('EINVAL'), 'tee needs two pipes');
});

test('a short splice fails its link: the next request is cancelled', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'splice') || !requireOp(t, ring, 'pipe')) return;
  const [r, w] = await ring.pipe();
  const [r2, w2] = await ring.pipe();
  t.after(() => [r, w, r2, w2].forEach((f) => closeSync(f)));
  writeSync(w, 'abc');
  const [moved, next] = await Promise.allSettled(ring.chain([op.splice(r, w2, 10), op.nop()], { link: true }));
  assert.deepEqual(moved, { status: 'fulfilled', value: 3 }, 'the splice resolves the 3 bytes it moved');
  assert.equal(next.status, 'rejected');
  assert.equal((next as PromiseRejectedResult).reason.code, 'ECANCELED', 'the kernel failed the short splice and cancelled the rest');
  writeSync(w, 'defghij');
  const [full, after] = await Promise.allSettled(ring.chain([op.splice(r, w2, 7), op.nop()], { link: true }));
  assert.deepEqual([full, after], [{ status: 'fulfilled', value: 7 }, { status: 'fulfilled', value: 0 }]);
});
