/**
 * The registered file table against the running kernel: ring.files (dense with holes, sparse,
 * update with holes and FILES_SKIP, unregister, FILE_ALLOC_RANGE), FixedFile in ops, direct opens
 * (explicit and 'auto') and closes of slots, IORING_OP_FILES_UPDATE, FIXED_FD_INSTALL, and
 * read(open()) through a slot in one linked submission.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, readSync, fstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempFile, tempDir, pattern, requireOp, fileFd, repeats } from './helpers.js';
import { Ring, RingError, FixedFile, fixed, op, O, FILES_SKIP, FixedFdInstallFlags, SqeFlags } from '../src/index.js';

async function readSlot(ring: Ring, slot: number, n: number): Promise<Buffer> {
  const b = Buffer.alloc(n);
  const got = await ring.read(fixed(slot), b, 0);
  return b.subarray(0, got);
}

const isErrno = (code: string) => (e: unknown) => e instanceof RingError && e.code === code;

test('register a dense table with holes: slots read their files, holes are -EBADF, the fd can be closed afterwards', async (t) => {
  const ring = ringFor(t);
  const a = fileFd(t, 'alpha');
  const b = tempFile('bravo');
  t.after(b.cleanup);
  const bfd = openSync(b.path, 'r');
  ring.files.register([a.fd, null, bfd, -1]);
  assert.equal(ring.files.size, 4);
  closeSync(bfd); // the table holds its own reference
  assert.equal((await readSlot(ring, 0, 16)).toString(), 'alpha');
  assert.equal((await readSlot(ring, 2, 16)).toString(), 'bravo');
  for (const hole of [1, 3]) await assert.rejects(readSlot(ring, hole, 4), isErrno('EBADF'), `slot ${hole} is empty`);
  await assert.rejects(readSlot(ring, 4, 4), isErrno('EBADF'), 'a slot past the table');
  await assert.rejects(readSlot(ring, 1 << 20, 4), isErrno('EBADF'), 'far past the table');
  assert.ok(ring.files.slot(2) instanceof FixedFile && ring.files.slot(2).index === 2);
});

test('sparse table: update fills slots, -1 empties one, FILES_SKIP leaves one; unregister while idle', async (t) => {
  const ring = ringFor(t);
  const a = fileFd(t, 'one');
  const b = fileFd(t, 'two');
  ring.files.register({ sparse: 8 });
  assert.equal(ring.files.size, 8);
  await assert.rejects(readSlot(ring, 0, 4), isErrno('EBADF'), 'a sparse slot is empty');
  assert.equal(ring.files.update(2, [a.fd, b.fd, a.fd]), 3);
  assert.equal((await readSlot(ring, 2, 8)).toString(), 'one');
  assert.equal((await readSlot(ring, 3, 8)).toString(), 'two');
  assert.equal(ring.files.update(2, [FILES_SKIP, -1, null]), 3, 'skip, clear, clear');
  assert.equal((await readSlot(ring, 2, 8)).toString(), 'one', 'FILES_SKIP left slot 2');
  await assert.rejects(readSlot(ring, 3, 4), isErrno('EBADF'), '-1 emptied slot 3');
  await assert.rejects(readSlot(ring, 4, 4), isErrno('EBADF'), 'null emptied slot 4');
  assert.throws(() => ring.files.update(7, [a.fd, a.fd]), /slots 7\.\.8 are past the table \(8 slots\)/);
  ring.files.unregister();
  assert.equal(ring.files.size, 0);
  await assert.rejects(readSlot(ring, 2, 4), (e: unknown) => e instanceof RingError && (e.code === 'EBADF' || e.code === 'ENXIO'));
  assert.throws(() => ring.files.update(0, [a.fd]), /no file table/);
  // and a new table after it
  ring.files.register([b.fd]);
  assert.equal((await readSlot(ring, 0, 8)).toString(), 'two');
});

test('register twice is EBUSY; a bad fd in the list is the kernel\'s EBADF and leaves no table', (t) => {
  const ring = ringFor(t);
  const a = fileFd(t, 'x');
  assert.throws(() => ring.files.register([a.fd, 0x7ffffff0]), isErrno('EBADF'));
  assert.equal(ring.files.size, 0);
  ring.files.register([a.fd]);
  assert.throws(() => ring.files.register([a.fd]), isErrno('EBUSY'));
});

test('direct open into an explicit slot and into an auto slot (IORING_FILE_INDEX_ALLOC) resolves the FixedFile; close empties it', async (t) => {
  const ring = ringFor(t);
  const f = fileFd(t, 'direct');
  ring.files.register({ sparse: 4 });
  const s1 = await ring.openat(f.path, O.RDONLY, 0, { direct: 1 });
  assert.ok(s1 instanceof FixedFile);
  assert.equal(s1.index, 1);
  assert.equal((await readSlot(ring, 1, 16)).toString(), 'direct');
  const auto = await ring.openat(f.path, O.RDONLY, 0, { direct: 'auto' });
  assert.ok(auto instanceof FixedFile);
  assert.ok(auto.index >= 0 && auto.index < 4 && auto.index !== 1, `a free slot (${auto.index})`);
  const b = Buffer.alloc(6);
  assert.equal(await ring.read(auto, b, 0), 6);
  assert.equal(await ring.closeFd(s1), undefined);
  await assert.rejects(readSlot(ring, 1, 4), isErrno('EBADF'), 'closed slot');
  await ring.closeFd(auto);
  await assert.rejects(ring.closeFd(fixed(1)), (e: unknown) => isErrno('EBADF')(e) && /no file is registered in that FixedFile slot/.test(String((e as RingError).hint)), 'closing an empty slot');
  await assert.rejects(ring.openat(f.path, O.RDONLY, 0, { direct: 9 }), isErrno('EINVAL'), 'a slot past the table');
});

test('FILE_ALLOC_RANGE (6.0) confines auto slots; a full range is ENFILE', async (t) => {
  const ring = ringFor(t);
  const f = fileFd(t, 'r');
  ring.files.register({ sparse: 8 });
  try {
    ring.files.allocRange(5, 2);
  } catch (e) {
    if (e instanceof RingError && e.code === 'EINVAL') return t.skip('the kernel refuses IORING_REGISTER_FILE_ALLOC_RANGE (6.0)');
    throw e;
  }
  const got = [];
  for (let i = 0; i < 2; i++) got.push((await ring.openat(f.path, O.RDONLY, 0, { direct: 'auto' })).index);
  assert.deepEqual(got.sort(), [5, 6]);
  await assert.rejects(ring.openat(f.path, O.RDONLY, 0, { direct: 'auto' }), isErrno('ENFILE'));
  assert.throws(() => ring.files.allocRange(6, 3), /past the table/);
});

test('IORING_OP_FILES_UPDATE: explicit slots (holes, FILES_SKIP) and auto slots the promise resolves', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'filesUpdate')) return;
  const a = fileFd(t, 'AAA');
  const b = fileFd(t, 'BBB');
  ring.files.register({ sparse: 6 });
  assert.equal(await ring.filesUpdate([a.fd, b.fd], 0), 2);
  assert.equal((await readSlot(ring, 1, 4)).toString(), 'BBB');
  assert.equal(await ring.filesUpdate([FILES_SKIP, null], 0), 2);
  assert.equal((await readSlot(ring, 0, 4)).toString(), 'AAA', 'skipped');
  await assert.rejects(readSlot(ring, 1, 4), isErrno('EBADF'), 'emptied');
  const slots = await ring.filesUpdate([b.fd, a.fd], 'auto');
  assert.equal(slots.length, 2);
  assert.ok(slots.every((s) => s >= 1 && s < 6), `free slots ${slots}`);
  assert.equal((await readSlot(ring, slots[0]!, 4)).toString(), 'BBB');
  assert.equal((await readSlot(ring, slots[1]!, 4)).toString(), 'AAA');
});

test('FIXED_FD_INSTALL (6.8): the slot\'s file as a working process fd, O_CLOEXEC by default', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'fixedFdInstall')) return;
  const f = fileFd(t, pattern(100));
  ring.files.register({ sparse: 2 });
  const slot = await ring.openat(f.path, O.RDONLY, 0, { direct: 0 });
  const fd = await ring.fixedFdInstall(slot);
  t.after(() => closeSync(fd));
  assert.ok(fd >= 0 && fd !== f.fd);
  const b = Buffer.alloc(100);
  assert.equal(readSync(fd, b, 0, 100, 0), 100, 'node:fs reads the installed fd');
  assert.deepEqual(b, pattern(100));
  assert.equal(fstatSync(fd).size, 100);
  const noCloexec = await ring.fixedFdInstall(slot, { installFlags: FixedFdInstallFlags.NO_CLOEXEC });
  t.after(() => closeSync(noCloexec));
  assert.ok(noCloexec >= 0);
  // /proc/self/fdinfo/N "flags:" is octal and includes O_CLOEXEC (02000000) when the fd has FD_CLOEXEC
  const flagsOf = (n: number) => parseInt(/^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${n}`, 'utf8'))![1]!, 8);
  assert.ok(flagsOf(fd) & O.CLOEXEC, 'default: O_CLOEXEC');
  assert.equal(flagsOf(noCloexec) & O.CLOEXEC, 0, 'NO_CLOEXEC');
  await assert.rejects(ring.fixedFdInstall(fixed(1)), isErrno('EBADF'), 'an empty slot');
});

test('read(open()) through a direct slot in ONE submission: open → read → close linked, one io_uring_enter', async (t) => {
  const ring = ringFor(t);
  const data = pattern(5000);
  const f = fileFd(t, data);
  ring.files.register({ sparse: 2 });
  const before = ring.stats().enterCalls;
  const buf = Buffer.alloc(8192);
  const [opened, read, closed] = ring.chain([
    op.openat(f.path, O.RDONLY, 0, { direct: 1 }).link(),
    op.read(fixed(1), buf, 0).hardlink(),
    op.close(fixed(1)),
  ]);
  const o = (await opened) as FixedFile;
  assert.equal(o.index, 1);
  assert.equal(await read, 5000);
  assert.equal(await closed, undefined);
  assert.deepEqual(buf.subarray(0, 5000), data);
  assert.equal(ring.stats().enterCalls - before, 1, 'one io_uring_enter');
  await assert.rejects(readSlot(ring, 1, 4), isErrno('EBADF'), 'the close emptied the slot');
  // a missing file breaks the chain at the open
  const [o2, r2, c2] = ring.chain([
    op.openat(join(tempDir().dir, 'missing'), O.RDONLY, 0, { direct: 1 }).link(),
    op.read(fixed(1), buf, 0).hardlink(),
    op.close(fixed(1)),
  ]);
  await assert.rejects(o2, isErrno('ENOENT'));
  await assert.rejects(r2, isErrno('ECANCELED'));
  await assert.rejects(c2, isErrno('ECANCELED'));
});

test('examples/direct-open-read reads through slot 0 in one io_uring_enter', async (t) => {
  const data = pattern(3000);
  const f = tempFile(data);
  t.after(f.cleanup);
  const { readThroughSlot } = await import('../examples/direct-open-read.js');
  await using ring = new Ring();
  assert.deepEqual(await readThroughSlot(ring, f.path, 4096), data);
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../examples/direct-open-read.js', import.meta.url)), f.path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /3000 bytes; open, read and close in 1 io_uring_enter call\n$/);
});

test('FixedFile is taken wherever the kernel takes a slot (read, write, readv, writev, fsync); ops that refuse one are TypeErrors', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const slot = await (async () => {
    ring.files.register({ sparse: 1 });
    return ring.openat(join(dir, 'w'), O.RDWR | O.CREAT, 0o600, { direct: 0 });
  })();
  assert.equal(await ring.write(slot, Buffer.from('hello'), 0), 5);
  assert.equal(await ring.writev(slot, [Buffer.from(' '), Buffer.from('world')], 5), 6);
  await ring.fsync(slot);
  await ring.fdatasync(slot);
  const a = Buffer.alloc(5), b = Buffer.alloc(6);
  assert.equal(await ring.readv(slot, [a, b], 0), 11);
  assert.equal(`${a}${b}`, 'hello world');
  assert.equal(op.write(slot, a).flags & SqeFlags.FIXED_FILE, SqeFlags.FIXED_FILE);
  assert.throws(() => op.statx('', { dirfd: slot as any }), /"dirfd" cannot be a FixedFile/);
  assert.throws(() => op.openat('x', 0, 0, { dirfd: slot as any }), /"dirfd" cannot be a FixedFile/);
  assert.throws(() => op.fixedFdInstall(3 as any), /fixedFdInstall\(\): "fd" must be a FixedFile/);
  assert.throws(() => op.openat('x', O.RDONLY | O.CLOEXEC, 0, { direct: 0 }), /openat\(\): "direct" cannot be combined with op flags 0x80000/);
  assert.equal(op.openat('x', O.RDONLY, 0, { direct: 0 }).opFlags & O.CLOEXEC, 0, 'no O_CLOEXEC for a direct open');
});

test('one direct-open Sqe submitted 20,000 times (a fifth under TCG; closed between): each run resolves its FixedFile, the file table learns the fill each time, and nothing piles up on the Sqe (it once wrapped its parse per submission until a completion overflowed the stack)', async (t) => {
  const ring = ringFor(t, { cqs: [16] });
  const f = fileFd(t, 'again');
  ring.files.register({ sparse: 4 });
  const open = op.openat(f.path, O.RDONLY, 0, { direct: 1 });
  const close = op.close(fixed(1));
  const parse = open.parse;
  for (let i = 0; i < repeats(20_000); i++) {
    const s = await ring.run<FixedFile>(open);
    assert.ok(s instanceof FixedFile && s.index === 1);
    if (i % 5000 === 0) {
      // the table knows slot 1 holds a file now (a program may be allowed it), and not after the close
      ring.allowFd(fixed(1));
      ring.allowFd(fixed(1), false);
    }
    await ring.run(close);
  }
  assert.equal(open.parse, parse, "the Sqe's parse is the builder's, untouched by the submissions");
  assert.throws(() => ring.allowFd(fixed(1)), /slot 1 holds no file ringflow knows of/, 'closed: the table knows the slot is empty');
  assert.equal((await ring.run<FixedFile>(open)).index, 1);
  ring.allowFd(fixed(1));
  ring.allowFd(fixed(1), false);
});
