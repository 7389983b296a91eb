/** IORING_OP_FSYNC (fsync and fdatasync) against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor, requireOp, tempFile } from './helpers.js';


test('fsync on a bad fd rejects with EBADF', async (t) => {
  const ring = ringFor(t);
  await assert.rejects(ring.fsync(99999), { name: 'RingError', code: 'EBADF', errno: 9, op: 'fsync', syscall: 'io_uring:fsync' });
});

test('fsync and fdatasync resolve (undefined) on a written file', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'fsync')) return;
  const f = tempFile('');
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r+');
  t.after(() => closeSync(fd));
  assert.equal(await ring.write(fd, Buffer.from('durable'), 0), 7);
  assert.equal(await ring.fsync(fd), undefined);
  assert.equal(await ring.fdatasync(fd), undefined);
  assert.equal(await ring.fsync(fd, { fsyncFlags: 1 }), undefined);
});
