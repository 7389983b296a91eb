/** openat, close, statx against the real kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, existsSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { O, AT_EMPTY_PATH, RingError } from '../src/index.js';
import { ringFor, requireOp, tempDir, tempFile } from './helpers.js';

test('openat: create with mode, dirfd-relative, ENOENT, EEXIST with O_EXCL', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'openat')) return;
  const d = tempDir();
  t.after(d.cleanup);
  const p = join(d.dir, 'created');
  const fd = await ring.openat(p, O.CREAT | O.WRONLY, 0o640);
  assert.ok(fd > 2);
  assert.equal(statSync(p).mode & 0o777, 0o640 & ~process.umask());
  await ring.closeFd(fd);
  await assert.rejects(ring.openat(p, O.CREAT | O.EXCL | O.WRONLY), { code: 'EEXIST' });
  await assert.rejects(ring.openat(join(d.dir, 'missing'), O.RDONLY), (e: unknown) => e instanceof RingError && e.code === 'ENOENT' && e.errno === 2);
  const dirfd = openSync(d.dir, 'r');
  t.after(() => closeSync(dirfd));
  const fd2 = await ring.openat('created', O.RDONLY, 0, { dirfd });
  assert.ok(fd2 > 2);
  await ring.closeFd(fd2);
  assert.ok(existsSync(p));
});

test('close: a closed fd cannot be used, closing twice gives EBADF', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'close')) return;
  const f = tempFile('data');
  t.after(f.cleanup);
  const fd = await ring.openat(f.path, O.RDONLY);
  await ring.closeFd(fd);
  await assert.rejects(ring.read(fd, Buffer.alloc(4), 0), { code: 'EBADF' });
  await assert.rejects(ring.closeFd(fd), { code: 'EBADF' });
});

test('statx: typed result matches fs.statSync; AT_EMPTY_PATH on an fd; ENOENT', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'statx')) return;
  const f = tempFile('0123456789');
  t.after(f.cleanup);
  const st = await ring.statx(f.path);
  const ref = statSync(f.path, { bigint: true });
  assert.equal(st.size, 10n);
  assert.equal(st.ino, ref.ino);
  assert.equal(st.mode, Number(ref.mode));
  assert.equal(st.nlink, Number(ref.nlink));
  assert.equal(st.mtimeNs, ref.mtimeNs);
  assert.ok(st.isFile() && !st.isDirectory());
  const dirSt = await ring.statx('/');
  assert.ok(dirSt.isDirectory());
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const viaFd = await ring.statx('', { dirfd: fd, statxFlags: AT_EMPTY_PATH });
  assert.equal(viaFd.ino, ref.ino);
  await assert.rejects(ring.statx('/definitely/not/here'), { code: 'ENOENT' });
});
