/** IORING_OP_CLOSE against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { O } from '../src/index.js';
import { ringFor, requireOp, tempFile } from './helpers.js';


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
