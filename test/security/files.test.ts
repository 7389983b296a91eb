// Files a program can reach (issue 9 item 1, docs/security.md): a program opens files only
// beneath a directory granted with ring.allowDir(), resolved by the kernel as OPENAT2 with
// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV and the open flags the grant permits.
// Every case runs a program written in assembler (test/security/util.ts Submitter), compiled by
// the JIT and interpreted.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, symlinkSync, readFileSync, existsSync, openSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempDir } from '../helpers.js';
import { noEngine } from '../ring-programs-util.js';
import { Submitter, makeRegion, sqeBytes, type TestRegion } from './util.js';
import { OPEN_FLAGS as O, RESOLVE_FLAGS, STATX_FLAGS } from '../../src/ops/sqe-fields.js';
import type { Ring } from '../../src/index.js';

const skip = noEngine; // assembler programs only: no clang needed
const OP = { OPENAT: 18, CLOSE: 19, STATX: 21, READ: 22, WRITE: 23, OPENAT2: 28 } as const;
const E = { EPERM: 1, ENOENT: 2, EBADF: 9, EACCES: 13, EXDEV: 18, ELOOP: 40 } as const;
const AT_FDCWD = -100;

/** A tree: <root>/grant (granted) with files, links and a subdirectory; <root>/secret.txt outside. */
function tree(t: TestContext): { root: string; grant: string; first: (fn: () => void) => void } {
  const { dir, cleanup } = tempDir();
  const before: (() => void)[] = [];
  t.after(() => {
    for (const fn of before) fn();
    cleanup();
  });
  const grant = join(dir, 'grant');
  mkdirSync(join(grant, 'sub'), { recursive: true });
  writeFileSync(join(grant, 'inside.txt'), 'inside the grant');
  writeFileSync(join(grant, 'sub', 'deep.txt'), 'deeper');
  writeFileSync(join(dir, 'secret.txt'), 'SECRET');
  symlinkSync('../secret.txt', join(grant, 'out-rel')); // relative link leaving the grant
  symlinkSync(join(dir, 'secret.txt'), join(grant, 'out-abs')); // absolute link
  symlinkSync('inside.txt', join(grant, 'in-link')); // a link that stays beneath
  symlinkSync('..', join(grant, 'up')); // a directory link out
  return { root: dir, grant, first: (fn) => before.push(fn) };
}

interface Ctx {
  ring: Ring;
  sub: Submitter;
  paths: TestRegion;
  buf: TestRegion;
}
function setup(t: TestContext, jit: boolean): Ctx {
  const ring = ringFor(t, { cqs: [64] });
  const sub = new Submitter(ring, { jit });
  return { ring, sub, paths: makeRegion(ring, 4096, false), buf: makeRegion(ring, 4096) };
}

/** A program's OPENAT(dirfd, path, flags, mode): the CQE's res (fd or -errno) and whether the policy accepted it. */
async function openat(c: Ctx, dirfd: number, path: string, flags = 0, mode = 0): Promise<{ accepted: boolean; res: number }> {
  c.paths.bytes.fill(0);
  c.paths.bytes.set(Buffer.from(path + '\0'), 0);
  return c.sub.submit(sqeBytes(OP.OPENAT, { fd: dirfd, addr: c.paths.base, opFlags: flags, len: mode }));
}
/** A program's OPENAT2 with a struct open_how { flags, mode, resolve } in a region. */
async function openat2(c: Ctx, dirfd: number, path: string, how: { flags?: number; mode?: number; resolve?: number }): Promise<{ accepted: boolean; res: number }> {
  c.paths.bytes.fill(0);
  c.paths.bytes.set(Buffer.from(path + '\0'), 0);
  const hw = new DataView(c.buf.bytes.buffer);
  hw.setBigUint64(0, BigInt(how.flags ?? 0), true);
  hw.setBigUint64(8, BigInt(how.mode ?? 0), true);
  hw.setBigUint64(16, BigInt(how.resolve ?? 0), true);
  return c.sub.submit(sqeBytes(OP.OPENAT2, { fd: dirfd, addr: c.paths.base, off: c.buf.base, len: 24 }));
}
/** A program's READ of `fd` into the buffer region; returns the text read, or throws with the errno. */
async function readVia(c: Ctx, fd: number): Promise<string> {
  c.buf.bytes.fill(0);
  const r = await c.sub.submit(sqeBytes(OP.READ, { fd, addr: c.buf.base, len: 4096, off: 0n }));
  assert.ok(r.accepted, `READ of fd ${fd} was accepted (res ${r.res})`);
  assert.ok(r.res >= 0, `READ of fd ${fd}: res ${r.res}`);
  return Buffer.from(c.buf.bytes.subarray(0, r.res)).toString();
}
async function closeVia(c: Ctx, fd: number): Promise<void> {
  const r = await c.sub.submit(sqeBytes(OP.CLOSE, { fd }));
  assert.equal(r.res, 0, `CLOSE ${fd}`);
}

function refused(r: { accepted: boolean; res: number }, errno: number, what: string): void {
  assert.equal(r.accepted, false, `${what}: refused by the policy`);
  assert.equal(r.res, -errno, `${what}: -${errno}`);
}
function kernelRefused(r: { accepted: boolean; res: number }, errno: number, what: string): void {
  assert.equal(r.accepted, true, `${what}: submitted (the kernel decides)`);
  assert.equal(r.res, -errno, `${what}: the kernel's -${errno}`);
}

for (const jit of [true, false]) {
  const how = jit ? 'JIT' : 'interpreter';

  test(`${how}: a program opens and reads a file beneath a read-only grant; fds it opens are its own`, { skip }, async (t) => {
    const { grant } = tree(t);
    const c = setup(t, jit);
    const g = c.ring.allowDir(grant);
    for (const [path, text] of [['inside.txt', 'inside the grant'], ['sub/deep.txt', 'deeper'], ['in-link', 'inside the grant'], ['sub/../inside.txt', 'inside the grant']] as const) {
      const r = await openat(c, g, path, O.CLOEXEC);
      assert.ok(r.accepted && r.res >= 0, `open ${path}: res ${r.res}`);
      assert.equal(await readVia(c, r.res), text, path);
      await closeVia(c, r.res);
      const again = await c.sub.submit(sqeBytes(OP.READ, { fd: r.res, addr: c.buf.base, len: 16 }));
      refused(again, E.EBADF, `READ after its CLOSE (${path})`);
    }
    const two = await openat2(c, g, 'inside.txt', { flags: O.NONBLOCK, resolve: RESOLVE_FLAGS.NO_SYMLINKS });
    assert.ok(two.accepted && two.res >= 0, `OPENAT2 res ${two.res}`);
    assert.equal(await readVia(c, two.res), 'inside the grant');
    await closeVia(c, two.res);
    kernelRefused(await openat2(c, g, 'in-link', { resolve: RESOLVE_FLAGS.NO_SYMLINKS }), E.ELOOP, 'a program may ask for RESOLVE_NO_SYMLINKS too');
  });

  test(`${how}: escapes are refused: absolute paths, .., symlinks out, /proc/self/mem, /proc/self/fd/N`, { skip }, async (t) => {
    const { root, grant } = tree(t);
    const c = setup(t, jit);
    const g = c.ring.allowDir(grant);
    const fd = openSync(join(root, 'secret.txt'), 'r');
    t.after(() => closeSync(fd));
    for (const path of [
      join(root, 'secret.txt'), '/proc/self/mem', `/proc/self/fd/${fd}`, '/etc/hostname',
      '../secret.txt', 'sub/../../secret.txt', 'out-rel', 'out-abs', 'up/secret.txt', 'up/grant/inside.txt',
      `../../../../../../../../proc/self/mem`,
    ]) {
      kernelRefused(await openat(c, g, path), E.EXDEV, path);
      kernelRefused(await openat2(c, g, path, {}), E.EXDEV, `${path} (OPENAT2)`);
    }
    assert.equal(readFileSync(join(root, 'secret.txt'), 'utf8'), 'SECRET');
  });

  test(`${how}: magic links are refused even beneath a grant (RESOLVE_NO_MAGICLINKS)`, { skip }, async (t) => {
    const { root } = tree(t);
    const c = setup(t, jit);
    const fd = openSync(join(root, 'secret.txt'), 'r');
    t.after(() => closeSync(fd));
    const fds = c.ring.allowDir('/proc/self/fd');
    kernelRefused(await openat(c, fds, String(fd)), E.ELOOP, '/proc/self/fd/N beneath a grant of /proc/self/fd');
    const self = c.ring.allowDir('/proc/self');
    kernelRefused(await openat(c, self, `fd/${fd}`), E.ELOOP, 'fd/N beneath a grant of /proc/self');
    kernelRefused(await openat(c, self, 'exe'), E.ELOOP, '/proc/self/exe');
    kernelRefused(await openat(c, self, 'cwd/x'), E.ELOOP, '/proc/self/cwd');
  });

  test(`${how}: other mounts beneath a grant are not crossed (RESOLVE_NO_XDEV): tmpfs and procfs`, { skip }, async (t) => {
    const { grant, first } = tree(t);
    const mnt = join(grant, 'mnt');
    const proc = join(grant, 'proc');
    mkdirSync(mnt);
    mkdirSync(proc);
    const m1 = spawnSync('mount', ['-t', 'tmpfs', 'none', mnt], { encoding: 'utf8' });
    if (m1.status !== 0) return t.skip(`cannot mount tmpfs (needs CAP_SYS_ADMIN): ${m1.stderr || m1.error?.message}`);
    first(() => spawnSync('umount', ['-l', mnt]));
    writeFileSync(join(mnt, 'x'), 'on another mount');
    const m2 = spawnSync('mount', ['-t', 'proc', 'proc', proc], { encoding: 'utf8' });
    if (m2.status === 0) first(() => spawnSync('umount', ['-l', proc]));
    const c = setup(t, jit);
    const g = c.ring.allowDir(grant);
    kernelRefused(await openat(c, g, 'mnt/x'), E.EXDEV, 'a file on a tmpfs mounted beneath the grant');
    if (m2.status === 0) {
      kernelRefused(await openat(c, g, 'proc/self/mem'), E.EXDEV, 'procfs mounted beneath the grant');
      kernelRefused(await openat(c, g, 'proc/self/status'), E.EXDEV, 'procfs mounted beneath the grant');
    } else t.diagnostic(`procfs not mounted (${m2.stderr.trim()}); the tmpfs case covers RESOLVE_NO_XDEV`);
    const inside = await openat(c, g, 'inside.txt');
    assert.ok(inside.res >= 0, 'the grant itself still works');
  });

  test(`${how}: a read-only grant refuses writing, creating, truncating, O_PATH; a writable one creates beneath`, { skip }, async (t) => {
    const { grant } = tree(t);
    const c = setup(t, jit);
    const ro = c.ring.allowDir(grant);
    for (const [name, flags] of [
      ['O_WRONLY', O.WRONLY], ['O_RDWR', O.RDWR], ['O_CREAT', O.CREAT], ['O_WRONLY|O_CREAT', O.WRONLY | O.CREAT],
      ['O_TRUNC', O.TRUNC], ['O_APPEND', O.APPEND], ['O_PATH', O.PATH], ['O_TMPFILE', O.__O_TMPFILE | O.DIRECTORY | O.RDWR],
      ['O_NOATIME', O.NOATIME], ['FASYNC', O.FASYNC],
    ] as const) {
      refused(await openat(c, ro, name === 'O_CREAT' || name === 'O_WRONLY|O_CREAT' ? 'new.txt' : 'inside.txt', flags, 0o644), E.EPERM, `read-only grant, ${name}`);
      refused(await openat2(c, ro, 'inside.txt', { flags }), E.EPERM, `read-only grant, OPENAT2 ${name}`);
    }
    assert.equal(existsSync(join(grant, 'new.txt')), false, 'nothing was created');
    assert.equal(readFileSync(join(grant, 'inside.txt'), 'utf8'), 'inside the grant', 'nothing was truncated');
    refused(await openat2(c, ro, 'inside.txt', { resolve: RESOLVE_FLAGS.IN_ROOT }), E.EPERM, 'RESOLVE_IN_ROOT (would replace BENEATH)');
    refused(await openat2(c, ro, 'inside.txt', { flags: 1 << 30 }), 22, 'an open flag the kernel does not know');

    const rw = c.ring.allowDir(grant, { write: true });
    const made = await openat(c, rw, 'sub/new.txt', O.WRONLY | O.CREAT | O.EXCL, 0o640);
    assert.ok(made.accepted && made.res >= 0, `created: res ${made.res}`);
    c.buf.bytes.set(Buffer.from('written by a program'), 0);
    const w = await c.sub.submit(sqeBytes(OP.WRITE, { fd: made.res, addr: c.buf.base, len: 20, off: 0n }));
    assert.equal(w.res, 20);
    await closeVia(c, made.res);
    assert.equal(readFileSync(join(grant, 'sub', 'new.txt'), 'utf8'), 'written by a program');
    assert.equal(statSync(join(grant, 'sub', 'new.txt')).mode & 0o7777, 0o640 & ~process.umask());
    refused(await openat(c, rw, 'suid', O.WRONLY | O.CREAT, 0o4755), E.EPERM, 'set-uid mode');
    refused(await openat(c, rw, 'inside.txt', O.PATH), E.EPERM, 'O_PATH on a writable grant');
    kernelRefused(await openat(c, rw, '../escape.txt', O.WRONLY | O.CREAT, 0o600), E.EXDEV, 'creating outside');
  });

  test(`${how}: no grant, no open: AT_FDCWD, an allowed fd, a closed grant number → -EACCES`, { skip }, async (t) => {
    const { grant } = tree(t);
    const c = setup(t, jit);
    refused(await openat(c, AT_FDCWD, join(grant, 'inside.txt')), E.EACCES, 'AT_FDCWD');
    refused(await openat(c, AT_FDCWD, '/proc/self/mem'), E.EACCES, 'AT_FDCWD /proc/self/mem');
    const dirfd = openSync(grant, 'r');
    t.after(() => closeSync(dirfd));
    c.ring.allowFd(dirfd);
    refused(await openat(c, dirfd, 'inside.txt'), E.EACCES, 'an allowed fd is not a grant');
    refused(await openat2(c, dirfd, 'inside.txt', {}), E.EACCES, 'OPENAT2 with an allowed fd');
    refused(await openat(c, 12345, 'inside.txt'), E.EACCES, 'a number that is no grant');
  });

  test(`${how}: STATX from a program: only an fd it holds (AT_EMPTY_PATH, ""), never a path`, { skip }, async (t) => {
    const { grant } = tree(t);
    const c = setup(t, jit);
    const g = c.ring.allowDir(grant);
    const f = await openat(c, g, 'inside.txt');
    assert.ok(f.res >= 0);
    c.paths.bytes.fill(0);
    const st = (fd: number, flags: number, path = '') => {
      c.paths.bytes.set(Buffer.from(path + '\0'), 0);
      return c.sub.submit(sqeBytes(OP.STATX, { fd, addr: c.paths.base, opFlags: flags, len: 0xfff, off: c.buf.base }));
    };
    const ok = await st(f.res, STATX_FLAGS.EMPTY_PATH);
    assert.equal(ok.res, 0);
    assert.equal(new DataView(c.buf.bytes.buffer).getBigUint64(40, true), 16n, 'stx_size of inside.txt');
    assert.equal((await st(g, STATX_FLAGS.EMPTY_PATH)).res, 0, 'the granted directory itself');
    refused(await st(g, 0, 'inside.txt'), E.EACCES, 'a path beneath a grant (statx has no RESOLVE_BENEATH)');
    refused(await st(g, STATX_FLAGS.EMPTY_PATH, '../secret.txt'), E.EACCES, 'a non-empty path with AT_EMPTY_PATH');
    refused(await st(AT_FDCWD, STATX_FLAGS.EMPTY_PATH), E.EBADF, 'AT_FDCWD');
  });

  test(`${how}: allowFd holds the engine's dup: a program reaches the file it was given after JS closes the fd`, { skip }, async (t) => {
    const { root, grant } = tree(t);
    const c = setup(t, jit);
    const given = openSync(join(grant, 'inside.txt'), 'r');
    c.ring.allowFd(given);
    closeSync(given);
    const other = openSync(join(root, 'secret.txt'), 'r'); // very likely the same number
    t.after(() => closeSync(other));
    assert.equal(await readVia(c, given), 'inside the grant', 'the given file, not whatever reuses its number');
    if (other === given) t.diagnostic('the number was reused by another file, which the program did not reach');
    const mine = openSync(join(grant, 'sub', 'deep.txt'), 'r');
    t.after(() => closeSync(mine));
    c.ring.allowFd(mine);
    await closeVia(c, mine); // closes the engine's dup
    assert.equal(readFileSync(mine, 'utf8'), 'deeper', 'the program closed its dup, not JS fd');
    refused(await c.sub.submit(sqeBytes(OP.READ, { fd: mine, addr: c.buf.base, len: 8 })), E.EBADF, 'after its CLOSE');
    c.ring.allowFd(other);
    c.ring.allowFd(other, false);
    refused(await c.sub.submit(sqeBytes(OP.READ, { fd: other, addr: c.buf.base, len: 8 })), E.EBADF, 'after allowFd(fd, false)');
  });
}

test('allowDir and allowFd check their arguments', { skip }, (t) => {
  const ring = ringFor(t, { cqs: [1] });
  assert.throws(() => ring.allowDir(42 as unknown as string), { name: 'TypeError', message: 'allowDir(path): path must be a string or Buffer, got number' });
  assert.throws(() => ring.allowDir(''), { name: 'RangeError', message: 'allowDir(path): path is empty' });
  assert.throws(() => ring.allowDir('a\0b'), { name: 'RangeError', message: 'allowDir(path): path contains a NUL byte' });
  assert.throws(() => ring.allowDir('/tmp', { write: 1 } as unknown as { write: boolean }), { name: 'TypeError', message: 'allowDir(): option "write" must be a boolean, got number' });
  assert.throws(() => ring.allowDir('/tmp', { writable: true } as unknown as { write: boolean }), { name: 'TypeError', message: 'allowDir(): unknown option "writable" (accepted: write)' });
  assert.throws(() => ring.allowDir('/nonexistent/ringflow'), { name: 'RingError', code: 'ENOENT' });
  assert.throws(() => ring.allowDir('/etc/hostname'), { name: 'RingError', code: 'ENOTDIR' });
  assert.throws(() => ring.allowFd(-1), { name: 'RangeError' });
  assert.throws(() => ring.allowFd(1 << 22), { name: 'RangeError' });
  assert.throws(() => ring.allowFd(999_999), { name: 'RingError', code: 'EBADF' }, 'an fd that is not open');
});
