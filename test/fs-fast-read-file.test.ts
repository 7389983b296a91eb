/**
 * readWholeFile (src/fs/fast/read-file.ts) against the running kernel: the bytes equal
 * node:fs/promises' readFile at every size around the one-submission limit; a small file costs one
 * io_uring_enter and at most one JS wakeup; errors carry Node's syscall name; the direct-descriptor
 * slot goes back to the pool after errors, aborts and a full pool; a ring whose file table belongs
 * to someone else still reads (plain descriptors) and its table is left alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { writeFileSync, mkdirSync, existsSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ringFor, tempDir, pattern, fifo } from './helpers.js';
import { RingError, FixedFile } from '../src/index.js';
import { readWholeFile, FIRST_READ, SlotPool } from '../src/fs/fast/index.js';
import { ASYNC_FROM, readWholeFileCounters } from '../src/fs/fast/read-file.js';

const TMPFS_MAGIC = 0x01021994;
const O_RDWR = 0o2;
const O_CREAT = 0o100;
const O_APPEND = 0o2000;

test('bytes equal node:fs/promises readFile at every size around the one-submission limit, Buffer and string', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  for (const size of [0, 1, 1024, FIRST_READ - 1, FIRST_READ, FIRST_READ + 1, 3 * FIRST_READ + 17, 1 << 20]) {
    const path = join(dir, `f${size}`);
    writeFileSync(path, pattern(size));
    const got = await readWholeFile(ring, path);
    assert.ok(Buffer.isBuffer(got));
    assert.deepEqual(got, await readFile(path), `size ${size}`);
    assert.equal((got as Buffer).length, size, 'a Buffer of the file\'s length');
    assert.equal(await readWholeFile(ring, path, { encoding: 'latin1' }), await readFile(path, 'latin1'), `size ${size} latin1`);
  }
  const text = join(dir, 'utf8');
  writeFileSync(text, 'héllo wörld ✓\n'.repeat(300));
  assert.equal(await readWholeFile(ring, text, { encoding: 'utf8' }), await readFile(text, 'utf8'));
  assert.equal(await readWholeFile(ring, text, { encoding: 'base64' }), await readFile(text, 'base64'));
});

test('a small file: one io_uring_enter, no more than one JS wakeup, 4 SQEs (open, read, read, and the close of the read before)', async (t) => {
  const ring = ringFor(t);
  // a disk file system: its page-cached reads complete inline (tmpfs reads go through io-wq, and
  // each io-wq completion of the chain may wake JS)
  const dir = mkdtempSync(join(tmpdir(), 'ringflow-fs-fast-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  if (statfsSync(dir).type === TMPFS_MAGIC) return t.skip(`${tmpdir()} is tmpfs: its reads go through io-wq`);
  const path = join(dir, 'small');
  writeFileSync(path, pattern(1024));
  await readWholeFile(ring, path); // the pool's table is registered on first use
  const rounds = 20;
  const a = ring.stats();
  for (let i = 0; i < rounds; i++) {
    const s0 = ring.stats();
    const got = await readWholeFile(ring, path);
    const s1 = ring.stats();
    assert.equal((got as Buffer).length, 1024);
    assert.equal(s1.enterCalls - s0.enterCalls, 1, 'one submission before the bytes are there');
    assert.ok(s1.wakeups - s0.wakeups <= 1, `at most one JS wakeup, got ${s1.wakeups - s0.wakeups}`);
  }
  const b = ring.stats();
  assert.equal(b.sqesSubmitted - a.sqesSubmitted, 4 * rounds, "open + 2 reads, and the previous file's close in the same submission");
  // the last close is queued: it completes on its own and the slot comes back
  const pool = SlotPool.of(ring)!;
  await pool.idle();
  assert.equal(pool.free, pool.size);
  // a larger file goes on reading the same open file: more rounds
  const big = join(dir, 'big');
  writeFileSync(big, pattern(FIRST_READ * 2));
  const c = ring.stats();
  assert.deepEqual(await readWholeFile(ring, big), pattern(FIRST_READ * 2));
  assert.ok(ring.stats().enterCalls - c.enterCalls > 1, 'more than one submission past FIRST_READ');
});

test('a FIFO whose writer sends more than the first read and then closes: every byte, nothing lost, the slot back', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  const data = pattern(300_000);
  writeFileSync(src, data);
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const writer = spawn('sh', ['-c', `cat "${src}" > "${path}"`], { stdio: 'ignore' });
  t.after(() => writer.kill()); // (blocked on the FIFO should the read fail: it would hold the file's process)
  const exited = new Promise((r) => writer.on('exit', r));
  const got = await readWholeFile(ring, path);
  await exited;
  assert.deepEqual(got, data);
  const pool = SlotPool.of(ring)!;
  await pool.idle();
  assert.equal(pool.free, pool.size);
});

test("errors carry Node's syscall: ENOENT 'open', EISDIR 'read', EEXIST 'open'; the slot comes back every time", async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  await readWholeFile(ring, '/proc/self/cmdline');
  const pool = SlotPool.of(ring)!;
  await pool.idle(); // its close completes
  const free = pool.free;
  assert.equal(free, pool.size);
  const is = (code: string, syscall: string) => (e: unknown) => e instanceof RingError && e.code === code && e.syscall === syscall;
  await assert.rejects(readWholeFile(ring, join(dir, 'missing')), is('ENOENT', 'open'));
  await assert.rejects(readWholeFile(ring, dir), is('EISDIR', 'read'));
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  await assert.rejects(readWholeFile(ring, join(sub, 'x', 'y')), is('ENOENT', 'open'));
  writeFileSync(join(dir, 'there'), 'x');
  await assert.rejects(readWholeFile(ring, join(dir, 'there'), { flags: O_CREAT | 0o200 /* O_EXCL */ }), is('EEXIST', 'open'));
  await assert.rejects(readWholeFile(ring, join(dir, 'there', 'below')), is('ENOTDIR', 'open'));
  assert.equal(pool.free, free, 'every slot is back');
  // and every slot is really empty: a read through each fails EBADF
  for (const slot of [0, 1, 2]) await assert.rejects(ring.read(new FixedFile(slot), Buffer.alloc(1), 0), (e: unknown) => e instanceof RingError && e.code === 'EBADF');
});

test('flags: O_CREAT creates an empty file (""), O_RDWR|O_APPEND reads from the start, mode applies', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const made = join(dir, 'made');
  assert.equal(await readWholeFile(ring, made, { flags: O_RDWR | O_CREAT, mode: 0o600, encoding: 'utf8' }), '');
  assert.ok(existsSync(made));
  const a = join(dir, 'a');
  writeFileSync(a, 'abc');
  assert.equal(await readWholeFile(ring, a, { flags: O_RDWR | O_APPEND | O_CREAT, encoding: 'utf8' }), 'abc');
  // O_CLOEXEC (which the kernel refuses for a direct descriptor) is dropped, not an error
  assert.equal(await readWholeFile(ring, a, { flags: 0o2000000, encoding: 'utf8' }), 'abc');
});

test('/proc files (size 0, answered by the read) equal what node:fs/promises reads', async (t) => {
  const ring = ringFor(t);
  assert.deepEqual(await readWholeFile(ring, '/proc/self/cmdline'), await readFile('/proc/self/cmdline'));
  const mounts = (await readWholeFile(ring, '/proc/self/mountinfo', { encoding: 'utf8' })) as string;
  assert.ok(mounts.length > 0 && mounts.endsWith('\n'));
  assert.equal(mounts.split('\n')[0], (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')[0]);
});

test('aborts: a signal aborted before the call submits nothing; one that fires mid-read cancels it and the slot comes back empty', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  writeFileSync(path, 'data');
  await readWholeFile(ring, path);
  const pool = SlotPool.of(ring)!;
  const before = ring.stats().sqesSubmitted;
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  await assert.rejects(readWholeFile(ring, path, { signal: ac.signal }), (e: unknown) => e instanceof Error && e.name === 'AbortError' && (e.cause as Error)?.message === 'stop');
  assert.equal(ring.stats().sqesSubmitted, before, 'nothing submitted');
  // mid-read: a FIFO with nothing in it keeps the first read in the kernel
  const f = fifo(t);
  for (let i = 0; i < 3; i++) {
    const ac2 = new AbortController();
    const p = readWholeFile(ring, f.path, { signal: ac2.signal });
    setTimeout(() => ac2.abort(), 20);
    await assert.rejects(p, (e: unknown) => e instanceof Error && e.name === 'AbortError');
    assert.equal(pool.free, pool.size, `round ${i}: the slot is back`);
  }
  for (let s = 0; s < 3; s++) await assert.rejects(ring.read(new FixedFile(s), Buffer.alloc(1), 0), (e: unknown) => e instanceof RingError && e.code === 'EBADF', `slot ${s} is empty`);
  // the pool still works
  assert.equal(await readWholeFile(ring, path, { encoding: 'utf8' }), 'data');
});

test('more reads in flight than the pool has slots: they wait for a slot, all succeed, every slot comes back', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  ring.files.register({ sparse: 8 });
  const pool = SlotPool.adopt(ring, 4, 2);
  const paths = Array.from({ length: 40 }, (_, i) => {
    const p = join(dir, `f${i}`);
    writeFileSync(p, pattern(100 + i * 50, i));
    return p;
  });
  const got = await Promise.all(paths.map((p) => readWholeFile(ring, p)));
  for (let i = 0; i < paths.length; i++) assert.deepEqual(got[i], pattern(100 + i * 50, i));
  await pool.idle();
  assert.equal(pool.free, 2);
  assert.equal(pool.waiting, 0);
});

test("a ring whose file table belongs to someone else: plain descriptors, the table's slots untouched", async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const mine = join(dir, 'mine');
  writeFileSync(mine, 'mine');
  ring.files.register({ sparse: 4 });
  const held = await ring.openat(mine, 0, 0, { direct: 1 });
  const path = join(dir, 'f');
  writeFileSync(path, pattern(3000));
  assert.equal(SlotPool.of(ring), undefined, 'no pool');
  assert.deepEqual(await readWholeFile(ring, path), pattern(3000));
  await assert.rejects(readWholeFile(ring, join(dir, 'missing')), (e: unknown) => e instanceof RingError && e.code === 'ENOENT' && e.syscall === 'open');
  await assert.rejects(readWholeFile(ring, dir), (e: unknown) => e instanceof RingError && e.code === 'EISDIR' && e.syscall === 'read');
  const b = Buffer.alloc(8);
  assert.equal(await ring.read(held, b, 0), 4, 'slot 1 still holds its file');
  assert.equal(ring.files.size, 4);
});

test("results are Buffers of their own, as node:fs/promises' are: byteOffset 0, transferable (posted to a worker), small and large, on pool slots and plain descriptors", async (t) => {
  const transferable = (b: Buffer): boolean => {
    try {
      structuredClone(b.buffer, { transfer: [b.buffer as ArrayBuffer] });
      return true;
    } catch {
      return false;
    }
  };
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  for (const plain of [false, true]) {
    const ring = ringFor(t);
    if (plain) ring.files.register({ sparse: 8 }); // someone else's table: readWholeFile uses plain descriptors
    // large files first, then small ones: readWholeFile picks a fresh buffer or the scratch from the sizes it saw
    for (const size of [200_000, FIRST_READ, 40_000, 40_000, 40_000, 1024, 1024, 1024, 100]) {
      const path = join(dir, `t${size}`);
      writeFileSync(path, pattern(size));
      const want = await readFile(path);
      const got = (await readWholeFile(ring, path)) as Buffer;
      assert.deepEqual(got, want, `size ${size}`);
      assert.equal(got.byteOffset, want.byteOffset, `size ${size}: byteOffset as node's (${want.byteOffset})`);
      assert.equal(transferable(got), transferable(want), `size ${size}: transferable as node's (${transferable(want)})`);
      assert.equal(got.length, 0, `size ${size}: the transfer took its memory`);
    }
  }
});

test(`from ${ASYNC_FROM} readFiles in flight a large file's first read goes to io-wq; lone calls and small files never; every byte right, errors in place`, async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const big = Array.from({ length: 64 }, (_, i) => {
    const p = join(dir, `big${i}`);
    writeFileSync(p, pattern(FIRST_READ, i * 7));
    return p;
  });
  const small = Array.from({ length: 64 }, (_, i) => {
    const p = join(dir, `small${i}`);
    writeFileSync(p, pattern(1024, i));
    return p;
  });
  const huge = join(dir, 'huge');
  writeFileSync(huge, pattern(3 * FIRST_READ + 5, 3));
  const c = readWholeFileCounters;
  // a lone call never reaches the threshold (the sizes seen so far make large files read fresh)
  for (const p of big.slice(0, 4)) assert.deepEqual(await readWholeFile(ring, p), await readFile(p));
  const seq = c.asyncFirstReads;
  for (const p of big) assert.deepEqual(await readWholeFile(ring, p), await readFile(p));
  assert.equal(c.asyncFirstReads, seq, 'no io-wq read for calls one at a time');
  // 64 at once: past the threshold the fresh first reads are IOSQE_ASYNC, and the bytes are the file's
  const got = await Promise.all(big.map((p) => readWholeFile(ring, p)));
  for (let i = 0; i < big.length; i++) assert.deepEqual(got[i], await readFile(big[i]), big[i]);
  assert.ok(c.asyncFirstReads > seq, `${c.asyncFirstReads - seq} first reads went to io-wq`);
  assert.equal(c.inFlight, 0);
  // mixed with a file past the one-submission read, missing files and small ones: each call answers as alone
  const mixed = await Promise.allSettled([...big.slice(0, 30), huge, join(dir, 'missing'), ...small.slice(0, 30)].map((p) => readWholeFile(ring, p)));
  for (let i = 0; i < 30; i++) assert.deepEqual(mixed[i], { status: 'fulfilled', value: await readFile(big[i]) });
  assert.deepEqual(mixed[30], { status: 'fulfilled', value: await readFile(huge) });
  assert.equal(mixed[31].status, 'rejected');
  assert.equal(((mixed[31] as PromiseRejectedResult).reason as RingError).code, 'ENOENT');
  for (let i = 0; i < 30; i++) assert.deepEqual(mixed[32 + i], { status: 'fulfilled', value: await readFile(small[i]) });
  assert.equal(c.inFlight, 0, 'every call left the count, errors too');
  // small files read through the scratch buffers: never io-wq, however many at once
  for (let i = 0; i < 8; i++) await Promise.all(small.map((p) => readWholeFile(ring, p))); // the size hint follows the small files
  const before = c.asyncFirstReads;
  const smallGot = await Promise.all(small.map((p) => readWholeFile(ring, p)));
  for (let i = 0; i < small.length; i++) assert.deepEqual(smallGot[i], await readFile(small[i]));
  assert.equal(c.asyncFirstReads, before, 'small files stay inline');
});
