/** IORING_OP_READ against the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor, requireOp, tempFile, pattern } from './helpers.js';


test('read: positional, into Buffer/Uint8Array/DataView, with offset/length window', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'read')) return;
  const data = pattern(10000);
  const f = tempFile(data);
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const b = Buffer.alloc(100);
  assert.equal(await ring.read(fd, b, 50), 100);
  assert.deepEqual(b, data.subarray(50, 150));
  const u = new Uint8Array(16);
  assert.equal(await ring.read(fd, u, 9990), 10, 'short read at EOF');
  assert.deepEqual(Buffer.from(u.subarray(0, 10)), data.subarray(9990));
  assert.equal(await ring.read(fd, u, 10000), 0, 'EOF reads 0');
  const dv = new DataView(new ArrayBuffer(8));
  assert.equal(await ring.read(fd, dv, 0), 8);
  assert.equal(dv.getUint8(1), data[1]);
  const w = Buffer.alloc(64, 0xee);
  assert.equal(await ring.read(fd, w, 0, { offset: 8, length: 4 }), 4);
  assert.deepEqual([...w.subarray(6, 14)], [0xee, 0xee, data[0], data[1], data[2], data[3], 0xee, 0xee]);
});

test('read: position omitted uses and advances the file position (pipes too)', async (t) => {
  const ring = ringFor(t);
  const f = tempFile('abcdefgh');
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const b = Buffer.alloc(3);
  assert.equal(await ring.read(fd, b), 3);
  assert.equal(b.toString(), 'abc');
  assert.equal(await ring.read(fd, b, null), 3);
  assert.equal(b.toString(), 'def');
  assert.equal(await ring.read(fd, b, -1), 2);
  assert.equal(b.subarray(0, 2).toString(), 'gh');
});

test('read from a write-only fd rejects with EBADF and a hint', async (t) => {
  const ring = ringFor(t);
  const f = tempFile('x');
  t.after(f.cleanup);
  const fd = openSync(f.path, 'w');
  t.after(() => closeSync(fd));
  await assert.rejects(ring.read(fd, Buffer.alloc(1), 0), (e: any) => e.code === 'EBADF' && /not open/.test(e.hint));
});
