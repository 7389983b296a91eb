/** NOP's 6.x flags against the kernel (io_uring/nop.c): a file lookup (FILE, FIXED_FILE), a registered-buffer lookup (FIXED_BUFFER), completion through task work (TW). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { ringFor, requireOp, requireFlag } from './helpers.js';
import { fixed } from '../src/index.js';

test('nop FILE looks the fd up: 0 for an open one, EBADF for none', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'nop') || !requireFlag(t, ring, 'nop', 'FILE')) return;
  const fd = openSync('/dev/null', 'r');
  t.after(() => closeSync(fd));
  assert.equal(await ring.nop({ file: fd }), 0);
  await assert.rejects(ring.nop({ file: 987654 }), { code: 'EBADF', op: 'nop' });
});

test('nop FIXED_FILE looks a slot of the registered file table up', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'nop') || !requireFlag(t, ring, 'nop', 'FIXED_FILE')) return;
  const fd = openSync('/dev/null', 'r');
  t.after(() => closeSync(fd));
  ring.files.register([fd, null]);
  assert.equal(await ring.nop({ file: fixed(0) }), 0);
  await assert.rejects(ring.nop({ file: fixed(1) }), { code: 'EBADF' }, 'an empty slot');
  await assert.rejects(ring.nop({ file: fixed(9) }), { code: 'EBADF' }, 'past the table');
});

test('nop FIXED_BUFFER looks a registered buffer up: 0 for one, EFAULT for none', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'nop') || !requireFlag(t, ring, 'nop', 'FIXED_BUFFER')) return;
  await assert.rejects(ring.nop({ bufIndex: 0 }), { code: 'EFAULT' }, 'no buffers registered');
  ring.buffers.register([4096, null]);
  assert.equal(await ring.nop({ bufIndex: 0 }), 0);
  await assert.rejects(ring.nop({ bufIndex: 1 }), { code: 'EFAULT' }, 'an empty slot');
});

test('nop TW completes through task work, with the injected result', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'nop') || !requireFlag(t, ring, 'nop', 'TW')) return;
  assert.equal(await ring.nop({ nopFlags: 16 | 1, injectResult: 77 }), 77);
  assert.deepEqual(await Promise.all([1, 2, 3].map((v) => ring.nop({ nopFlags: 16 | 1, injectResult: v }))), [1, 2, 3]);
});

test('nop file / bufIndex refuse bad arguments naming them', (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.nop({ file: -1 }), /^RangeError: nop\(\): "file" must be in \[0, 2147483647\]/);
  assert.throws(() => ring.nop({ file: '3' as never }), /^TypeError: nop\(\): "file" must be an integer/);
  assert.throws(() => ring.nop({ bufIndex: 70000 }), /^RangeError: nop\(\): "bufIndex" must be in \[0, 65535\]/);
  assert.equal(ring.pending, 0);
});
