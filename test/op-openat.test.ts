/** IORING_OP_OPENAT against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, existsSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { O, RingError } from '../src/index.js';
import { ringFor, requireOp, tempDir } from './helpers.js';


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
