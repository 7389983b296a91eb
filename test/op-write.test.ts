/** IORING_OP_WRITE against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { O } from '../src/index.js';
import { ringFor, requireOp, tempDir } from './helpers.js';


test('write then read back; append via current position', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'write')) return;
  const d = tempDir();
  t.after(d.cleanup);
  const path = join(d.dir, 'w');
  const fd = await ring.openat(path, O.CREAT | O.RDWR | O.TRUNC, 0o644);
  t.after(() => closeSync(fd));
  assert.equal(await ring.write(fd, Buffer.from('hello '), 0), 6);
  assert.equal(await ring.write(fd, Buffer.from('world'), 6), 5);
  assert.equal(await ring.write(fd, new Uint16Array([0x4241]), 11), 2);
  assert.equal(readFileSync(path, 'latin1'), 'hello worldAB');
  await ring.fsync(fd);
  await ring.fdatasync(fd);
});
