/**
 * Path opcodes against the running kernel (issue #12 item 1): mkdirat, symlinkat, linkat,
 * renameat (NOREPLACE, EXCHANGE), unlinkat (files, removeDir), relative to a dirfd and to the
 * cwd, and the errors the file system answers with as RingError codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, statSync, lstatSync, readlinkSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempDir, requireOp } from './helpers.js';
import { RingError, RENAME, LINKAT_FLAGS, op } from '../src/index.js';

const isErrno = (code: string) => (e: unknown) => {
  assert.ok(e instanceof RingError, String(e));
  assert.equal(e.code, code);
  return true;
};

test('mkdirat makes a directory with the mode (before the umask), relative to a dirfd or the cwd', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'mkdirat')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  await ring.mkdirat(join(dir, 'a'), 0o700);
  const st = statSync(join(dir, 'a'));
  assert.ok(st.isDirectory());
  assert.equal(st.mode & 0o777, 0o700);
  const dfd = openSync(dir, 'r');
  t.after(() => closeSync(dfd));
  await ring.mkdirat('b', undefined, { dirfd: dfd });
  assert.ok(statSync(join(dir, 'b')).isDirectory(), 'relative to dirfd');
  await assert.rejects(ring.mkdirat(join(dir, 'a')), isErrno('EEXIST'));
  await assert.rejects(ring.mkdirat(join(dir, 'missing', 'c')), isErrno('ENOENT'));
});

test('symlinkat stores the target as given; linkat makes a hard link (AT_SYMLINK_FOLLOW follows a symlink)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'symlinkat') || !requireOp(t, ring, 'linkat')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, 'file'), 'content');
  const dfd = openSync(dir, 'r');
  t.after(() => closeSync(dfd));
  await ring.symlinkat('file', 'sym', { dirfd: dfd });
  assert.equal(readlinkSync(join(dir, 'sym')), 'file');
  await ring.symlinkat('no/such/target', join(dir, 'dangling'));
  assert.equal(readlinkSync(join(dir, 'dangling')), 'no/such/target', 'a dangling target is fine');
  await assert.rejects(ring.symlinkat('file', join(dir, 'sym')), isErrno('EEXIST'));

  await ring.linkat('file', 'hard', { oldDirfd: dfd, newDirfd: dfd });
  assert.equal(statSync(join(dir, 'hard')).ino, statSync(join(dir, 'file')).ino);
  assert.equal(statSync(join(dir, 'file')).nlink, 2);
  await ring.linkat(join(dir, 'sym'), join(dir, 'hard-to-sym'));
  assert.ok(lstatSync(join(dir, 'hard-to-sym')).isSymbolicLink(), 'without AT_SYMLINK_FOLLOW the link is to the symlink');
  await ring.linkat(join(dir, 'sym'), join(dir, 'hard-followed'), { flags: LINKAT_FLAGS.SYMLINK_FOLLOW });
  assert.equal(lstatSync(join(dir, 'hard-followed')).ino, statSync(join(dir, 'file')).ino, 'AT_SYMLINK_FOLLOW links the target');
  await assert.rejects(ring.linkat(join(dir, 'nope'), join(dir, 'x')), isErrno('ENOENT'));
});

test('renameat moves; RENAME_NOREPLACE refuses an existing target (EEXIST); RENAME_EXCHANGE swaps', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'renameat')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, 'a'), 'A');
  writeFileSync(join(dir, 'b'), 'B');
  await ring.renameat(join(dir, 'a'), join(dir, 'c'));
  assert.ok(!existsSync(join(dir, 'a')));
  assert.equal(readFileSync(join(dir, 'c'), 'utf8'), 'A');
  await assert.rejects(ring.renameat(join(dir, 'c'), join(dir, 'b'), { flags: RENAME.NOREPLACE }), isErrno('EEXIST'));
  assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'B', 'NOREPLACE left the target alone');
  await ring.renameat(join(dir, 'c'), join(dir, 'b'), { flags: RENAME.EXCHANGE });
  assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'A');
  assert.equal(readFileSync(join(dir, 'c'), 'utf8'), 'B');
  const dfd = openSync(dir, 'r');
  t.after(() => closeSync(dfd));
  mkdirSync(join(dir, 'sub'));
  const sfd = openSync(join(dir, 'sub'), 'r');
  t.after(() => closeSync(sfd));
  await ring.renameat('b', 'moved', { oldDirfd: dfd, newDirfd: sfd });
  assert.equal(readFileSync(join(dir, 'sub', 'moved'), 'utf8'), 'A', 'old and new paths relative to their own dirfds');
  await assert.rejects(ring.renameat(join(dir, 'nope'), join(dir, 'x')), isErrno('ENOENT'));
  await assert.rejects(ring.renameat(join(dir, 'c'), join(dir, 'x'), { flags: RENAME.EXCHANGE }), isErrno('ENOENT'), 'EXCHANGE needs both');
});

test('unlinkat removes files, removeDir removes empty directories; ENOENT, EISDIR, ENOTDIR, ENOTEMPTY', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'unlinkat')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, 'f'), 'x');
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'full'));
  writeFileSync(join(dir, 'full', 'g'), 'y');
  await assert.rejects(ring.unlinkat(join(dir, 'empty')), isErrno('EISDIR'), 'a directory needs removeDir');
  await assert.rejects(ring.unlinkat(join(dir, 'f'), { removeDir: true }), isErrno('ENOTDIR'));
  await assert.rejects(ring.unlinkat(join(dir, 'full'), { removeDir: true }), isErrno('ENOTEMPTY'));
  await ring.unlinkat(join(dir, 'f'));
  assert.ok(!existsSync(join(dir, 'f')));
  await assert.rejects(ring.unlinkat(join(dir, 'f')), isErrno('ENOENT'));
  const dfd = openSync(dir, 'r');
  t.after(() => closeSync(dfd));
  await ring.unlinkat('empty', { dirfd: dfd, removeDir: true });
  assert.ok(!existsSync(join(dir, 'empty')));
});

test('a linked chain: mkdirat → symlinkat → renameat → unlinkat; the path ops\' errors do not break a link (6.18)', async (t) => {
  const ring = ringFor(t);
  for (const o of ['mkdirat', 'symlinkat', 'renameat', 'unlinkat']) if (!requireOp(t, ring, o)) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const d = join(dir, 'd');
  const ok = await Promise.allSettled(
    ring.chain([op.mkdirat(d), op.symlinkat('x', join(d, 'l')), op.renameat(join(d, 'l'), join(d, 'm')), op.unlinkat(join(d, 'm'))], { link: true }),
  );
  assert.deepEqual(ok.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.ok(statSync(d).isDirectory());
  assert.ok(!existsSync(join(d, 'l')) && !existsSync(join(d, 'm')), 'each step ran after the one before');
  // io_uring/fs.c completes these ops with their error but does not mark the request failed
  // (no req_set_fail), so the kernel starts the next request of the chain anyway
  const after = await Promise.allSettled(ring.chain([op.mkdirat(d), op.symlinkat('x', join(d, 'next'))], { link: true }));
  assert.equal(after[0].status, 'rejected');
  assert.equal((after[0] as PromiseRejectedResult).reason.code, 'EEXIST');
  assert.equal(after[1].status, 'fulfilled', 'the kernel ran the next step');
  assert.equal(readlinkSync(join(d, 'next')), 'x');
  // ring.link() reads it the same way (the table's errorKeepsLink): the failed step is 'failed',
  // nothing is 'broken', the next step ran
  const outcome = await ring.link([op.mkdirat(d), op.nop()]);
  assert.equal(outcome.ok, false);
  assert.equal(outcome.broken, undefined, 'an mkdirat error breaks no link');
  assert.equal(outcome.steps[0].status, 'failed');
  assert.deepEqual(outcome.steps[1], { status: 'ok', value: 0 });
  // a CQE_SKIP_SUCCESS member whose error fails no link: the kernel skips its error CQE as well,
  // so ringflow refuses the flag for such ops instead of losing the error
  assert.throws(() => op.mkdirat(d).skipSuccess(), { name: 'TypeError', message: /skipSuccess\(\) would hide its errors too/ });
  assert.throws(() => op.unlinkat(d, { sqeFlags: 64 }), { name: 'TypeError', message: /would hide its errors too/ });
});
