/** IORING_OP_READV and IORING_OP_WRITEV against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { O } from '../src/index.js';
import { ringFor, requireOp, tempDir } from './helpers.js';


test('readv / writev scatter-gather', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'readv') || !requireOp(t, ring, 'writev')) return;
  const d = tempDir();
  t.after(d.cleanup);
  const fd = await ring.openat(join(d.dir, 'v'), O.CREAT | O.RDWR, 0o600);
  t.after(() => closeSync(fd));
  const n = await ring.writev(fd, [Buffer.from('one,'), Buffer.from('two,'), new Uint8Array([0x33])], 0);
  assert.equal(n, 9);
  const a = Buffer.alloc(4), b = Buffer.alloc(3), c = Buffer.alloc(10);
  assert.equal(await ring.readv(fd, [a, b, c], 0), 9);
  assert.equal(a.toString() + b.toString() + c.subarray(0, 2).toString(), 'one,two,3');
});
