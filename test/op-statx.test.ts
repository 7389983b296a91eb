/** IORING_OP_STATX against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, openSync, closeSync } from 'node:fs';
import { AT_EMPTY_PATH } from '../src/index.js';
import { ringFor, requireOp, tempFile } from './helpers.js';


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
