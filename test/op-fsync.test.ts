/** IORING_OP_FSYNC (fsync and fdatasync) against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor } from './helpers.js';


test('fsync on a bad fd rejects with EBADF', async (t) => {
  const ring = ringFor(t);
  await assert.rejects(ring.fsync(99999), { name: 'RingError', code: 'EBADF', errno: 9, op: 'fsync', syscall: 'io_uring:fsync' });
});
