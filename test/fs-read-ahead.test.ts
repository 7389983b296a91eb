/**
 * ReadStreams of ringflow/fs FileHandles read the next chunk ahead (src/fs/read-ahead.ts): the
 * bytes are node's, whatever the chunk size, start/end, or file position; a pipe is never read
 * ahead (an extra read could wait forever and hold close()).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, createReadStream as nodeCreateReadStream } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { open as nodeOpen } from 'node:fs/promises';
import { tempDir, pattern } from './helpers.js';
import fs from '../src/fs/index.js';
import { ReadAhead } from '../src/fs/read-ahead.js';
import type { FileHandle } from '../src/fs/file-handle.js';

/** ringflow/fs's open() is typed as node's; the object is ringflow's FileHandle. */
const ours = (h: unknown): FileHandle => h as FileHandle;

async function collect(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

test('ReadAhead at the file position: every chunk after the first comes from a read issued ahead; the bytes are the file', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const f = join(dir, 'f');
  const data = pattern(1_000_003);
  writeFileSync(f, data);
  const fh = await fs.open(f);
  t.after(() => fh.close());
  const ra = new ReadAhead(ours(fh));
  const out: Buffer[] = [];
  for (;;) {
    const b = Buffer.alloc(65536);
    const n = await ra.read(b, 0, b.length, null);
    if (n === 0) break;
    out.push(b.subarray(0, n));
  }
  assert.deepEqual(Buffer.concat(out), data);
  assert.ok(ra.served >= out.length - 1, `${ra.served} of ${out.length} chunks read ahead`);
});

test('ReadAhead at explicit positions with changing lengths, then a jump: the bytes at each position', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const f = join(dir, 'f');
  const data = pattern(300_000);
  writeFileSync(f, data);
  const fh = await fs.open(f);
  t.after(() => fh.close());
  const ra = new ReadAhead(ours(fh));
  let pos = 1000;
  for (const len of [4096, 4096, 1000, 65536, 7, 65536]) {
    const b = Buffer.alloc(len + 10);
    const n = await ra.read(b, 10, len, pos);
    assert.deepEqual(b.subarray(10, 10 + n), data.subarray(pos, pos + n), `at ${pos}`);
    assert.ok(n > 0);
    pos += n;
  }
  const b = Buffer.alloc(100);
  assert.equal(await ra.read(b, 0, 100, 5), 100, 'a jump back');
  assert.deepEqual(b, data.subarray(5, 105));
  assert.ok(ra.served > 0);
});

test('a pipe is not read ahead: a FIFO with one chunk written and the writer still open, read, then closed without waiting', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const fifo = join(dir, 'p');
  execFileSync('mkfifo', [fifo]);
  const reader = fs.open(fifo, 'r');
  const writer = await nodeOpen(fifo, 'w');
  const fh = await reader;
  await writer.write(Buffer.from('hello'));
  const ra = new ReadAhead(ours(fh));
  const b = Buffer.alloc(100);
  assert.equal(await ra.read(b, 0, 100, null), 5);
  assert.equal(ra.served, 0);
  await fh.close(); // would wait for a read ahead on the empty pipe
  await writer.close();
});

test('FileHandle.createReadStream gives node\'s bytes: whole file, start/end, small highWaterMark, at the file position after a read', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const f = join(dir, 'f');
  const data = pattern(500_000);
  writeFileSync(f, data);
  for (const opts of [{}, { start: 10, end: 300_000 }, { highWaterMark: 1000 }, { start: 499_990 }, { encoding: 'latin1' as const, highWaterMark: 4096 }]) {
    const fh = await fs.open(f);
    const mine = await collect(fh.createReadStream(opts));
    const theirs = await collect(nodeCreateReadStream(f, opts));
    assert.deepEqual(mine, theirs, JSON.stringify(opts));
  }
  // a stream that starts at the file position after a read of 100 bytes
  const fh = await fs.open(f);
  await fh.read(Buffer.alloc(100), 0, 100, null);
  assert.deepEqual(await collect(fh.createReadStream()), data.subarray(100));
  assert.deepEqual(readFileSync(f), data);
});
