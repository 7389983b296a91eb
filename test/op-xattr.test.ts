/**
 * The xattr family against the running kernel (issue #12 item 1): fsetxattr/setxattr write user.*
 * attributes, fgetxattr/getxattr read them back as a Buffer, into a buffer, or as a size, with
 * XATTR_CREATE / XATTR_REPLACE and the errors (ENODATA, EEXIST, ERANGE, ENOENT). The files live on
 * the disk file system under os.tmpdir() (tmpfs may refuse user xattrs): a kernel answer of
 * EOPNOTSUPP skips with that reason.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ringFor, requireOp } from './helpers.js';
import { Ring, RingError, XATTR } from '../src/index.js';

const isErrno = (code: string) => (e: unknown) => {
  assert.ok(e instanceof RingError, String(e));
  assert.equal(e.code, code);
  return true;
};

/** A file on the disk file system, opened read-write; false (skipped) when it refuses user xattrs. */
async function xattrFile(t: TestContext, ring: Ring): Promise<{ path: string; fd: number } | false> {
  const dir = mkdtempSync(join(tmpdir(), 'ringflow-xattr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'f');
  writeFileSync(path, 'data');
  const fd = openSync(path, 'r+');
  t.after(() => closeSync(fd));
  try {
    await ring.fsetxattr(fd, 'user.ringflow-probe', Buffer.from('1'));
  } catch (e) {
    if (e instanceof RingError && e.code === 'EOPNOTSUPP') {
      t.skip(`the file system under ${tmpdir()} refuses user.* xattrs (EOPNOTSUPP)`);
      return false;
    }
    throw e;
  }
  return { path, fd };
}

test('fsetxattr then fgetxattr: the value as a Buffer, into a buffer, or its size', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'fsetxattr') || !requireOp(t, ring, 'fgetxattr')) return;
  const f = await xattrFile(t, ring);
  if (!f) return;
  const value = Buffer.from('héllo wörld');
  await ring.fsetxattr(f.fd, 'user.greeting', value);
  const got = await ring.fgetxattr(f.fd, 'user.greeting');
  assert.ok(Buffer.isBuffer(got));
  assert.deepEqual(got, value);
  assert.equal(await ring.fgetxattr(f.fd, 'user.greeting', 0), value.length, 'value 0 asks the size');
  const into = Buffer.alloc(64, 0xee);
  assert.equal(await ring.fgetxattr(f.fd, 'user.greeting', into), value.length);
  assert.deepEqual(into.subarray(0, value.length), value);
  assert.equal(into[value.length], 0xee, 'nothing past the value was written');
  await assert.rejects(ring.fgetxattr(f.fd, 'user.greeting', 4), isErrno('ERANGE'), 'an area smaller than the value');
  await assert.rejects(ring.fgetxattr(f.fd, 'user.absent'), isErrno('ENODATA'));
  await ring.fsetxattr(f.fd, 'user.empty', Buffer.alloc(0));
  assert.equal((await ring.fgetxattr(f.fd, 'user.empty')).length, 0, 'an empty value');
});

test('setxattr/getxattr by path; XATTR_CREATE and XATTR_REPLACE', async (t) => {
  const ring = ringFor(t);
  for (const o of ['setxattr', 'getxattr']) if (!requireOp(t, ring, o)) return;
  const f = await xattrFile(t, ring);
  if (!f) return;
  await ring.setxattr(f.path, 'user.k', Buffer.from('one'), { flags: XATTR.CREATE });
  assert.equal((await ring.getxattr(f.path, 'user.k')).toString(), 'one');
  await assert.rejects(ring.setxattr(f.path, 'user.k', Buffer.from('two'), { flags: XATTR.CREATE }), isErrno('EEXIST'));
  await ring.setxattr(f.path, 'user.k', Buffer.from('three'), { flags: XATTR.REPLACE });
  assert.equal((await ring.getxattr(f.path, 'user.k')).toString(), 'three');
  await assert.rejects(ring.setxattr(f.path, 'user.new', Buffer.from('x'), { flags: XATTR.REPLACE }), isErrno('ENODATA'));
  await ring.setxattr(f.path, 'user.k', Buffer.from('four'));
  assert.equal((await ring.getxattr(f.path, Buffer.from('user.k'))).toString(), 'four', 'a Buffer name');
  assert.equal(await ring.getxattr(f.path, 'user.k', 0), 4);
  await assert.rejects(ring.getxattr(f.path + '.missing', 'user.k'), isErrno('ENOENT'));
  await assert.rejects(ring.setxattr(f.path, 'bogus.k', Buffer.from('x')), isErrno('EOPNOTSUPP'), 'an unknown namespace');
  // the two families see the same attribute
  assert.equal((await ring.fgetxattr(f.fd, 'user.k')).toString(), 'four');
});

test('a 3000-byte value round-trips through the default 64 KiB (XATTR_SIZE_MAX) result area', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'fsetxattr') || !requireOp(t, ring, 'fgetxattr')) return;
  const f = await xattrFile(t, ring);
  if (!f) return;
  const big = Buffer.alloc(3000, 0x5a); // ext4 keeps values up to a block in one xattr block
  try {
    await ring.fsetxattr(f.fd, 'user.big', big);
  } catch (e) {
    if (e instanceof RingError && e.code === 'ENOSPC') return t.skip('the file system has no room for a 3000-byte value');
    throw e;
  }
  assert.deepEqual(await ring.fgetxattr(f.fd, 'user.big'), big);
});
