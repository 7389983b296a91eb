/**
 * writeWholeFile (src/fs/fast/write-file.ts) against the running kernel: open + write + close in
 * one submission, the file's bytes and mode as node:fs/promises writeFile leaves them, O_APPEND,
 * errors with Node's syscall, aborts, and the slot back in the pool every time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, statSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ringFor, tempDir, pattern, fifo } from './helpers.js';
import { RingError, FixedFile } from '../src/index.js';
import { writeWholeFile, readWholeFile, SlotPool } from '../src/fs/fast/index.js';

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
const W = O_WRONLY | O_CREAT | O_TRUNC;

test('the bytes and mode node:fs/promises writeFile leaves, at several sizes, from Buffer, Uint8Array, DataView and string', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  for (const size of [0, 1, 4096, 100_000, 3 << 20]) {
    const data = pattern(size);
    const mine = join(dir, `mine${size}`);
    const theirs = join(dir, `theirs${size}`);
    await writeWholeFile(ring, mine, data, { flags: W, mode: 0o640 });
    await writeFile(theirs, data, { mode: 0o640 });
    assert.deepEqual(readFileSync(mine), readFileSync(theirs), `size ${size}`);
    assert.equal(statSync(mine).mode, statSync(theirs).mode);
  }
  const u8 = join(dir, 'u8');
  await writeWholeFile(ring, u8, new Uint8Array([1, 2, 3]), { flags: W });
  assert.deepEqual([...readFileSync(u8)], [1, 2, 3]);
  const dv = join(dir, 'dv');
  const bytes = pattern(64);
  await writeWholeFile(ring, dv, new DataView(bytes.buffer, bytes.byteOffset + 8, 16), { flags: W });
  assert.deepEqual(readFileSync(dv), bytes.subarray(8, 24));
  const s = join(dir, 's');
  await writeWholeFile(ring, s, 'héllo ✓', { flags: W });
  assert.equal(readFileSync(s, 'utf8'), 'héllo ✓');
  await writeWholeFile(ring, s, '68656c6c6f', { flags: W, encoding: 'hex' });
  assert.equal(readFileSync(s, 'utf8'), 'hello');
});

test('one submission (open, write, close): one io_uring_enter, three SQEs', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  await writeWholeFile(ring, path, 'warm-up', { flags: W });
  for (let i = 0; i < 5; i++) {
    const a = ring.stats();
    await writeWholeFile(ring, path, pattern(2000, i), { flags: W });
    const b = ring.stats();
    assert.equal(b.enterCalls - a.enterCalls, 1);
    assert.equal(b.sqesSubmitted - a.sqesSubmitted, 3);
    assert.deepEqual(readFileSync(path), pattern(2000, i));
  }
});

test('O_TRUNC replaces, O_APPEND appends, no O_TRUNC overwrites from the start', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  await writeWholeFile(ring, path, 'abcdef', { flags: W });
  await writeWholeFile(ring, path, 'XY', { flags: O_WRONLY | O_CREAT | O_APPEND });
  assert.equal(readFileSync(path, 'utf8'), 'abcdefXY');
  await writeWholeFile(ring, path, '12', { flags: O_WRONLY });
  assert.equal(readFileSync(path, 'utf8'), '12cdefXY');
  await writeWholeFile(ring, path, 'z', { flags: W | 0o2000000 /* O_CLOEXEC: dropped for a direct descriptor */ });
  assert.equal(readFileSync(path, 'utf8'), 'z');
  assert.equal(await readWholeFile(ring, path, { encoding: 'utf8' }), 'z');
});

test("errors carry Node's syscall (EEXIST, EISDIR, ENOENT 'open'; EBADF 'write' on a read-only open) and the slot comes back empty", async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  await writeWholeFile(ring, join(dir, 'warm'), 'x', { flags: W });
  const pool = SlotPool.of(ring)!;
  const is = (code: string, syscall: string) => (e: unknown) => e instanceof RingError && e.code === code && e.syscall === syscall;
  await assert.rejects(writeWholeFile(ring, path, 'y', { flags: W | O_EXCL }), is('EEXIST', 'open'));
  mkdirSync(join(dir, 'd'));
  await assert.rejects(writeWholeFile(ring, join(dir, 'd'), 'y', { flags: W }), is('EISDIR', 'open'));
  await assert.rejects(writeWholeFile(ring, join(dir, 'no', 'f'), 'y', { flags: W }), is('ENOENT', 'open'));
  await assert.rejects(writeWholeFile(ring, path, 'y', { flags: 0 /* O_RDONLY */ }), is('EBADF', 'write'));
  assert.equal(readFileSync(path, 'utf8'), 'x');
  assert.equal(pool.free, pool.size);
  for (const slot of [0, 1]) await assert.rejects(ring.read(new FixedFile(slot), Buffer.alloc(1), 0), is('EBADF', 'io_uring:read'));
});

test('aborts: before the call nothing is written; mid-write (a FIFO nobody reads) the write is cancelled and the slot comes back', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(writeWholeFile(ring, path, 'x', { flags: W, signal: ac.signal }), (e: unknown) => e instanceof Error && e.name === 'AbortError');
  assert.throws(() => statSync(path), /ENOENT/);
  const f = fifo(t); // its read end is held open but nobody reads: a write of more than the pipe holds waits
  const ac2 = new AbortController();
  const p = writeWholeFile(ring, f.path, pattern(4 << 20), { flags: O_WRONLY, signal: ac2.signal });
  setTimeout(() => ac2.abort(), 30);
  await assert.rejects(p, (e: unknown) => e instanceof Error && e.name === 'AbortError');
  const pool = SlotPool.of(ring)!;
  assert.equal(pool.free, pool.size);
});
