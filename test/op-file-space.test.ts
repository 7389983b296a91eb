/**
 * File space, advice and openat2 against the running kernel (issue #12 item 1): fallocate
 * (allocate, KEEP_SIZE, PUNCH_HOLE), ftruncate, fadvise, madvise on whole pages of JS memory,
 * sync_file_range, and openat2 with RESOLVE_* flags, O_CREAT modes and direct descriptors —
 * including the linked chain openat2(direct) → write → close — with errors as RingError codes.
 * Files live on the disk file system under os.tmpdir().
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync, fstatSync, statSync, readFileSync, symlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ringFor, pattern, requireOp } from './helpers.js';
import { RingError, FixedFile, fixed, op, O, FALLOC_FL, SYNC_FILE_RANGE, RESOLVE } from '../src/index.js';
import { viewAddress } from '../src/ring/memory.js';
import { systemPageSize } from '../src/ops/build-files.js';

const isErrno = (code: string) => (e: unknown) => {
  assert.ok(e instanceof RingError, String(e));
  assert.equal(e.code, code);
  return true;
};

/** A temp dir on the disk file system (removed when the test ends). */
function diskDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringflow-space-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
function fileWith(t: TestContext, data: Uint8Array | string, flags = 'r+'): { path: string; fd: number } {
  const path = join(diskDir(t), 'f');
  writeFileSync(path, data);
  const fd = openSync(path, flags);
  t.after(() => closeSync(fd));
  return { path, fd };
}

test('fallocate allocates and grows the file; KEEP_SIZE keeps the size; PUNCH_HOLE zeroes a range', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'fallocate')) return;
  const f = fileWith(t, '');
  await ring.fallocate(f.fd, 0, 1 << 20);
  const st = fstatSync(f.fd);
  assert.equal(st.size, 1 << 20);
  assert.ok(st.blocks * 512 >= 1 << 20, 'the blocks are allocated');
  await ring.fallocate(f.fd, 1 << 20, 1 << 20, FALLOC_FL.KEEP_SIZE);
  assert.equal(fstatSync(f.fd).size, 1 << 20, 'KEEP_SIZE');
  const g = fileWith(t, pattern(3 * 4096));
  try {
    await ring.fallocate(g.fd, 4096, 4096, FALLOC_FL.PUNCH_HOLE | FALLOC_FL.KEEP_SIZE);
  } catch (e) {
    if (e instanceof RingError && e.code === 'EOPNOTSUPP') return t.skip(`the file system under ${tmpdir()} cannot punch holes`);
    throw e;
  }
  const back = readFileSync(g.path);
  assert.equal(back.length, 3 * 4096);
  assert.deepEqual(back.subarray(4096, 8192), Buffer.alloc(4096), 'the hole reads as zeros');
  assert.deepEqual(back.subarray(0, 4096), pattern(4096), 'the rest is untouched');
  await assert.rejects(ring.fallocate(g.fd, 0, 0), isErrno('EINVAL'), 'length 0');
  const ro = fileWith(t, 'x', 'r');
  await assert.rejects(ring.fallocate(ro.fd, 0, 10), isErrno('EBADF'), 'a read-only fd');
});

test('ftruncate shrinks and grows a file (a FixedFile too); EINVAL on a read-only fd', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'ftruncate')) return;
  const f = fileWith(t, pattern(10000));
  await ring.ftruncate(f.fd, 100);
  assert.deepEqual(readFileSync(f.path), pattern(100));
  await ring.ftruncate(f.fd, 5000n);
  const grown = readFileSync(f.path);
  assert.equal(grown.length, 5000);
  assert.deepEqual(grown.subarray(100), Buffer.alloc(4900), 'growth reads as zeros');
  ring.files.register([f.fd]);
  await ring.ftruncate(fixed(0), 7);
  assert.equal(statSync(f.path).size, 7);
  const ro = fileWith(t, 'abc', 'r');
  await assert.rejects(ring.ftruncate(ro.fd, 1), isErrno('EINVAL'));
});

test('fadvise declares access patterns; ESPIPE on a pipe', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'fadvise')) return;
  const f = fileWith(t, pattern(65536));
  for (const advice of ['sequential', 'random', 'willneed', 'dontneed', 'noreuse', 'normal'] as const) assert.equal(await ring.fadvise(f.fd, 0, 0, advice), undefined, advice);
  // a length past 32 bits: 6.11+ reads it from addr; before, the kernel refuses a nonzero addr
  // (EINVAL, seen on 6.1): the builder cannot tell, the kernel says so
  await ring.fadvise(f.fd, 4096, 2n ** 33n, 3).catch((e: unknown) => {
    if (!(e instanceof RingError && e.code === 'EINVAL')) throw e;
    t.diagnostic('this kernel refuses fadvise lengths over 4 GiB (sqe->addr is 6.11+)');
  });
  const b = Buffer.alloc(100);
  assert.equal(await ring.read(f.fd, b, 0), 100, 'the file reads the same after DONTNEED');
  assert.deepEqual(b, pattern(100));
  if (requireOp(t, ring, 'pipe')) {
    const [r, w] = await ring.pipe();
    t.after(() => (closeSync(r), closeSync(w)));
    await assert.rejects(ring.fadvise(r, 0, 0, 'willneed'), isErrno('ESPIPE'));
  }
});

test('madvise on whole pages of JS memory: DONTNEED gives back zero pages, the rest of the buffer is untouched', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'madvise')) return;
  const page = systemPageSize();
  const ab = new ArrayBuffer(6 * page);
  const at = (page - (viewAddress(new Uint8Array(ab)) % page)) % page;
  const all = new Uint8Array(ab);
  all.fill(0xab);
  const pages = new Uint8Array(ab, at + page, 2 * page);
  await ring.madvise(pages, 'willneed');
  assert.equal(pages[0], 0xab, 'WILLNEED keeps the data');
  await ring.madvise(pages, 'dontneed');
  assert.ok(pages.every((x) => x === 0), 'private anonymous pages read as zeros after DONTNEED');
  assert.equal(all[at + page - 1], 0xab, 'the byte before the range is untouched');
  assert.equal(all[at + 3 * page], 0xab, 'the byte after the range is untouched');
  pages.fill(1);
  await ring.madvise(pages, 'cold');
  assert.equal(pages[page], 1, 'COLD keeps the data');
  assert.throws(() => op.madvise(new Uint8Array(ab, at + 1, page), 'dontneed'), RangeError, 'a view off the page boundary is refused before the kernel');
});

test('syncFileRange writes back a range (WRITE | WAIT_AFTER); ESPIPE on a pipe, EBADF on a closed fd', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'syncFileRange')) return;
  const f = fileWith(t, '');
  await ring.write(f.fd, pattern(8192), 0);
  await ring.syncFileRange(f.fd, 0, 0, SYNC_FILE_RANGE.WAIT_BEFORE | SYNC_FILE_RANGE.WRITE | SYNC_FILE_RANGE.WAIT_AFTER);
  await ring.syncFileRange(f.fd, 4096, 4096, SYNC_FILE_RANGE.WRITE);
  await ring.syncFileRange(f.fd, 0, 0, 0);
  assert.throws(() => ring.syncFileRange(f.fd, 0, 0, 8), RangeError, 'unknown flags are refused before the kernel');
  const gone = openSync(f.path, 'r');
  closeSync(gone);
  await assert.rejects(ring.syncFileRange(gone, 0, 0, SYNC_FILE_RANGE.WRITE), isErrno('EBADF'));
  if (requireOp(t, ring, 'pipe')) {
    const [r, w] = await ring.pipe();
    t.after(() => (closeSync(r), closeSync(w)));
    await assert.rejects(ring.syncFileRange(w, 0, 0, SYNC_FILE_RANGE.WRITE), isErrno('ESPIPE'));
  }
});

test('openat2: O_CREAT with a mode, O_CLOEXEC added; RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS refuse escapes', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'openat2')) return;
  const dir = diskDir(t);
  const fd = await ring.openat2(join(dir, 'new'), { flags: O.CREAT | O.EXCL | O.WRONLY, mode: 0o640 });
  t.after(() => closeSync(fd));
  assert.equal(statSync(join(dir, 'new')).mode & 0o777, 0o640 & ~process.umask());
  const flags = parseInt(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/^flags:\s*([0-7]+)/m)![1]!, 8); // octal
  assert.ok(flags & O.CLOEXEC, 'O_CLOEXEC');
  await assert.rejects(ring.openat2(join(dir, 'new'), { flags: O.CREAT | O.EXCL | O.WRONLY, mode: 0o600 }), isErrno('EEXIST'));
  await assert.rejects(ring.openat2(join(dir, 'other'), { flags: O.RDONLY, mode: 0o600 }), isErrno('EINVAL'), 'openat2 refuses a mode without O_CREAT');
  mkdirSync(join(dir, 'jail'));
  writeFileSync(join(dir, 'outside'), 'secret');
  symlinkSync('../outside', join(dir, 'jail', 'link'));
  const jail = openSync(join(dir, 'jail'), 'r');
  t.after(() => closeSync(jail));
  await assert.rejects(ring.openat2('../outside', { resolve: RESOLVE.BENEATH }, { dirfd: jail }), isErrno('EXDEV'));
  await assert.rejects(ring.openat2('link', { resolve: RESOLVE.BENEATH }, { dirfd: jail }), isErrno('EXDEV'), 'a symlink out of the tree');
  await assert.rejects(ring.openat2('link', { resolve: RESOLVE.NO_SYMLINKS }, { dirfd: jail }), isErrno('ELOOP'));
  const ok = await ring.openat2('link', O.RDONLY, { dirfd: jail });
  t.after(() => closeSync(ok));
  const b = Buffer.alloc(8);
  assert.equal(await ring.read(ok, b, 0), 6, 'without RESOLVE_* the symlink is followed');
  await assert.rejects(ring.openat2(join(dir, 'missing')), isErrno('ENOENT'));
});

test('a linked chain: openat2 into a slot → write through it → close the slot', async (t) => {
  const ring = ringFor(t);
  for (const o of ['openat2', 'write', 'close']) if (!requireOp(t, ring, o)) return;
  const dir = diskDir(t);
  ring.files.register({ sparse: 4 });
  const data = pattern(3000);
  const results = await Promise.allSettled(
    ring.chain([op.openat2(join(dir, 'chained'), { flags: O.CREAT | O.WRONLY, mode: 0o600 }, { direct: 2 }), op.write(fixed(2), data, 0), op.close(fixed(2))], { link: true }),
  );
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled']);
  assert.ok((results[0] as PromiseFulfilledResult<unknown>).value instanceof FixedFile);
  assert.equal(((results[0] as PromiseFulfilledResult<FixedFile>).value).index, 2);
  assert.equal((results[1] as PromiseFulfilledResult<number>).value, 3000);
  assert.deepEqual(readFileSync(join(dir, 'chained')), data);
  await assert.rejects(ring.write(fixed(2), data, 0), isErrno('EBADF'), 'the chain closed the slot');
  // a failed open cancels the rest of the chain
  const failed = await Promise.allSettled(ring.chain([op.openat2(join(dir, 'no', 'such'), O.RDONLY, { direct: 2 }), op.write(fixed(2), data, 0)], { link: true }));
  assert.equal((failed[0] as PromiseRejectedResult).reason.code, 'ENOENT');
  assert.equal((failed[1] as PromiseRejectedResult).reason.code, 'ECANCELED');
});
