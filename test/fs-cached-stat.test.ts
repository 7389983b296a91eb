/**
 * ringflow/fs stat/lstat from the kernel's caches (src/fs/cached-stat.ts, native/cached_stat.c):
 * openat2(O_PATH, RESOLVE_CACHED) + statx of the fd on the JS thread, io_uring's STATX otherwise.
 * The cached answer must be the one io_uring gives; whatever the cache cannot answer (a missing
 * path, a path whose lookup would need revalidation) goes to io_uring and ends as node's answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync, statSync, lstatSync, Stats } from 'node:fs';
import { join } from 'node:path';
import * as nodeFsp from 'node:fs/promises';
import { ringFor, tempDir } from './helpers.js';
import { cachedStatx } from '../src/fs/cached-stat.js';
import fs from '../src/fs/index.js';
import { AT_SYMLINK_NOFOLLOW, Statx } from '../src/ring/abi.js';
import { statsFromStatx, statsFromStatxBytes } from '../src/fs/stats.js';
import { parseStatx } from '../src/ops/build.js';
import { binding } from '../src/native.js';
import { errno } from '../src/errors.js';

/**
 * Why the caches cannot answer for paths under `dir` here, or undefined when they can: the kernel
 * refuses RESOLVE_CACHED (before 5.12), or a file system on the way revalidates its dentries, so
 * every lookup through it is EAGAIN (9p, NFS, FUSE: the QEMU guests of scripts/kernel-suite.sh
 * see the host's / over 9p).
 */
function cacheCannotAnswer(dir: string): string | undefined {
  const probe = binding.statCached('/', false, Buffer.alloc(256)) as number;
  if (probe === -errno('EINVAL') || probe === -errno('ENOSYS')) return `the kernel refuses openat2 RESOLVE_CACHED (5.12): ${probe}`;
  const r = binding.statCached(dir, false, Buffer.alloc(256)) as number;
  if (r === -errno('EAGAIN')) return `a file system on the way to ${dir} revalidates its dentries (openat2 RESOLVE_CACHED: EAGAIN): stat goes to io_uring there`;
  return undefined;
}

const strip = (x: object) => Object.fromEntries(Object.entries(x).filter(([k, v]) => typeof v !== 'function' && k !== 'atimeNs'));

test('a cached stat is the statx io_uring answers (file, directory, a symlink itself with nofollow, Buffer path)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = ringFor(t);
  const f = join(dir, 'f');
  writeFileSync(f, 'x'.repeat(1234));
  const l = join(dir, 'l');
  symlinkSync('f', l);
  const why = cacheCannotAnswer(dir);
  if (why) return t.skip(why);
  for (const [path, nofollow] of [[f, false], [dir, false], [l, true]] as const) {
    const cached = cachedStatx(path, nofollow);
    assert.ok(cached !== undefined, `${path} answered from the caches`);
    const viaRing = await ring.statx(path, { statxFlags: nofollow ? AT_SYMLINK_NOFOLLOW : 0, mask: 0xfff });
    assert.deepEqual(strip(cached), strip(viaRing), `${path} nofollow=${nofollow}`);
  }
  assert.equal(cachedStatx(l, true)!.isSymbolicLink(), true);
  // following a link: the kernel (6.18) refuses it under RESOLVE_CACHED (EAGAIN), io_uring answers; a later kernel may answer it
  const followed = cachedStatx(l, false);
  assert.ok(followed === undefined || followed.isFile());
  assert.equal(Number(cachedStatx(Buffer.from(f), false)!.size), 1234);
});

test('what the cache cannot answer is undefined (io_uring answers): a missing path, a dangling link followed', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  symlinkSync('nowhere', join(dir, 'dangling'));
  assert.equal(cachedStatx(join(dir, 'missing'), false), undefined);
  assert.equal(cachedStatx(join(dir, 'dangling'), false), undefined);
  // the link itself is answered wherever the directory is
  assert.equal(cachedStatx(join(dir, 'dangling'), true)?.isSymbolicLink(), cacheCannotAnswer(dir) ? undefined : true);
});

test('fs.stat/lstat give node\'s Stats on the cached path and node\'s errors past it', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const f = join(dir, 'f');
  writeFileSync(f, 'hello');
  symlinkSync('f', join(dir, 'l'));
  const mine = await fs.stat(f);
  const theirs = statSync(f);
  for (const k of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blksize', 'blocks', 'mtimeMs', 'ctimeMs', 'birthtimeMs'] as const) assert.equal(mine[k], theirs[k], k);
  assert.equal((await fs.lstat(join(dir, 'l'))).isSymbolicLink(), lstatSync(join(dir, 'l')).isSymbolicLink());
  const big = await fs.stat(f, { bigint: true });
  assert.equal(big.ino, statSync(f, { bigint: true }).ino);
  const missing = join(dir, 'missing');
  const [a, b] = await Promise.allSettled([fs.stat(missing), nodeFsp.stat(missing)]);
  assert.equal(a.status, 'rejected');
  assert.equal(b.status, 'rejected');
  const ea = (a as PromiseRejectedResult).reason as NodeJS.ErrnoException;
  const eb = (b as PromiseRejectedResult).reason as NodeJS.ErrnoException;
  assert.deepEqual([ea.message, ea.code, ea.errno, ea.syscall, ea.path], [eb.message, eb.code, eb.errno, eb.syscall, eb.path]);
  // /proc/self revalidates its dentries: not answered from the cache, io_uring answers it
  assert.equal((await fs.stat('/proc/self/status')).isFile(), true);
});

test('Stats built from the statx bytes in numbers equal those built through BigInts, edge values included', () => {
  const b = Buffer.alloc(Statx.size);
  const cases: ((b: Buffer) => void)[] = [
    () => {}, // all zero
    (b) => {
      b.writeUInt16LE(0o100644, Statx.mode);
      b.writeUInt32LE(3, Statx.nlink);
      b.writeUInt32LE(1000, Statx.uid);
      b.writeUInt32LE(1000, Statx.gid);
      b.writeUInt32LE(4096, Statx.blksize);
      b.writeBigUInt64LE(123456789n, Statx.ino);
      b.writeBigUInt64LE(65536n, Statx.sizeField);
      b.writeBigUInt64LE(128n, Statx.blocks);
      b.writeUInt32LE(8, Statx.dev_major);
      b.writeUInt32LE(1, Statx.dev_minor);
      for (const [i, o] of [Statx.atime, Statx.mtime, Statx.ctime, Statx.btime].entries()) {
        b.writeBigInt64LE(1_764_000_000n + BigInt(i), o);
        b.writeUInt32LE(123_456_789 + i, o + 8);
      }
    },
    (b) => {
      // u64s past 2^53 (rounded once, as Number(bigint) rounds), huge device numbers, times before 1970
      b.writeBigUInt64LE(2n ** 64n - 1n, Statx.ino);
      b.writeBigUInt64LE(2n ** 53n + 1n, Statx.sizeField);
      b.writeBigUInt64LE(2n ** 60n + 12345n, Statx.blocks);
      b.writeUInt32LE(0xffffffff, Statx.dev_major);
      b.writeUInt32LE(0xffffffff, Statx.dev_minor);
      b.writeUInt32LE(4095, Statx.rdev_major);
      b.writeUInt32LE(0x12345678, Statx.rdev_minor);
      b.writeBigInt64LE(-1n, Statx.atime);
      b.writeUInt32LE(999_999_999, Statx.atime + 8);
      b.writeBigInt64LE(-(2n ** 40n), Statx.mtime);
      b.writeBigInt64LE(2n ** 40n, Statx.ctime);
      b.writeUInt32LE(1, Statx.ctime + 8);
    },
  ];
  for (const [i, fill] of cases.entries()) {
    b.fill(0);
    fill(b);
    const fast = statsFromStatxBytes(b, false);
    const slow = statsFromStatx(parseStatx(b), false);
    assert.deepEqual({ ...fast }, { ...slow }, `case ${i}`);
    assert.ok(fast instanceof Stats);
    assert.deepEqual({ ...statsFromStatxBytes(b, true) }, { ...statsFromStatx(parseStatx(b), true) }, `case ${i} bigint`);
    // the same bytes 2 bytes into another buffer (not 4-byte aligned), then at its start again
    const odd = Buffer.alloc(Statx.size + 2).subarray(2);
    b.copy(odd);
    assert.deepEqual({ ...statsFromStatxBytes(odd, false) }, { ...slow }, `case ${i} unaligned`);
    assert.deepEqual({ ...statsFromStatxBytes(b, false) }, { ...slow }, `case ${i} again`);
  }
  assert.throws(() => statsFromStatxBytes(Buffer.alloc(100), false), RangeError);
});
