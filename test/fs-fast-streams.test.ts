/**
 * The ring-backed streams (src/fs/fast/read-stream.ts, write-stream.ts, read-lines.ts) beside
 * Node's FileHandle streams on the same files: the same 'data' chunks, events, bytesRead /
 * bytesWritten, start/end/highWaterMark/encoding, autoClose, option errors; reads issued ahead
 * (two in flight); destroy() in the middle of a read cancels it on the ring and closes the handle.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { writeFileSync, readFileSync, openSync, closeSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ringFor, tempDir, pattern, fifo } from './helpers.js';
import { Ring, RingError } from '../src/index.js';
import { RingReadStream, RingWriteStream, readLines, type RingFileHandle, type RingReadStreamOptions } from '../src/fs/fast/index.js';

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;

/** A FileHandle-like object over a ring-opened fd; counts its close() calls. */
async function handleOn(ring: Ring, path: string, flags = 0): Promise<RingFileHandle & { closes: number }> {
  const fd = await ring.openat(path, flags, 0o644);
  const h = {
    fd,
    ring,
    closes: 0,
    close: async () => {
      h.closes++;
      await ring.closeFd(fd);
    },
  };
  return h;
}

interface Seen {
  events: string[];
  chunks: (Buffer | string)[];
  bytesRead: number;
  error?: unknown;
}

/** Consumes a read stream through 'data' events; records every event in order. */
function consume(s: Readable & { bytesRead: number }): Promise<Seen> {
  const seen: Seen = { events: [], chunks: [], bytesRead: 0 };
  for (const e of ['open', 'ready', 'end', 'close', 'error']) s.on(e, (x: unknown) => {
    seen.events.push(e);
    if (e === 'error') seen.error = x;
  });
  s.on('data', (c: Buffer | string) => seen.chunks.push(c));
  return new Promise((resolve) => s.on('close', () => resolve({ ...seen, bytesRead: s.bytesRead })));
}

function file(t: TestContext, data: Buffer | string): string {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  writeFileSync(path, data);
  return path;
}

test("read streams: the same 'data' chunks, events and bytesRead as Node's FileHandle streams, for start/end/highWaterMark/encoding", async (t) => {
  const ring = ringFor(t);
  const path = file(t, pattern(300_000));
  const cases: RingReadStreamOptions[] = [
    {},
    { start: 10, end: 99_999 },
    { highWaterMark: 1000, start: 5 },
    { end: 70_000 },
    { start: 0, end: 0 },
    { start: 299_999 },
    { start: 400_000 },
    { encoding: 'latin1', highWaterMark: 4096 },
    { encoding: 'hex', start: 3, end: 20 },
  ];
  for (const o of cases) {
    const mine = await consume(new RingReadStream(await handleOn(ring, path), o));
    const fh = await open(path);
    const theirs = await consume(fh.createReadStream(o as Parameters<typeof fh.createReadStream>[0]));
    const label = JSON.stringify(o);
    assert.deepEqual(mine.events, theirs.events, `${label}: events`);
    assert.deepEqual(mine.chunks.map((c) => c.length), theirs.chunks.map((c) => c.length), `${label}: chunk sizes`);
    assert.deepEqual(mine.chunks.join(o.encoding ? '' : undefined), theirs.chunks.join(o.encoding ? '' : undefined));
    assert.deepEqual(Buffer.concat(mine.chunks.map((c) => Buffer.from(c as Buffer))), Buffer.concat(theirs.chunks.map((c) => Buffer.from(c as Buffer))), `${label}: bytes`);
    assert.equal(mine.bytesRead, theirs.bytesRead, `${label}: bytesRead`);
  }
});

test('read streams: reads are issued ahead (two in flight), and the file is read once', async (t) => {
  const ring = ringFor(t);
  const path = file(t, pattern(64 * 1024 * 10));
  for (const o of [{ start: 0 }, {}]) {
    const h = await handleOn(ring, path);
    const s = new RingReadStream(h, o);
    s.pause();
    s.read(0); // asks for data: the stream issues its reads
    assert.equal(ring.pending, 2, `${JSON.stringify(o)}: two reads in flight`);
    const a = ring.stats().sqesSubmitted;
    const seen = await consume(s.resume());
    const reads = ring.stats().sqesSubmitted - a;
    assert.equal(seen.bytesRead, 64 * 1024 * 10);
    // 10 full chunks and the read that finds the end, at most two more issued ahead of it, and the close
    assert.ok(reads >= 12 && reads <= 14, `${reads} SQEs`);
    assert.equal(h.closes, 1);
  }
});

test('read streams: autoClose false leaves the handle open at the end; destroy() closes it (as Node does)', async (t) => {
  const ring = ringFor(t);
  const path = file(t, 'hello');
  const h = await handleOn(ring, path);
  const s = new RingReadStream(h, { autoClose: false });
  assert.equal(s.autoClose, false);
  assert.equal(s.pending, false);
  const ended = new Promise((r) => s.on('end', r));
  s.resume();
  await ended;
  await new Promise((r) => setImmediate(r));
  assert.equal(h.closes, 0);
  assert.equal(s.destroyed, false);
  const b = Buffer.alloc(5);
  assert.equal(await ring.read(h.fd, b, 0), 5, 'the fd is still open');
  const closed = new Promise((r) => s.on('close', r));
  s.destroy();
  await closed;
  assert.equal(h.closes, 1);
  assert.equal(s.fd, null);
});

test('read streams: destroy() in the middle of a read cancels it on the ring and closes the handle', async (t) => {
  const ring = ringFor(t);
  const f = fifo(t);
  const h = await handleOn(ring, f.path);
  const s = new RingReadStream(h);
  const events: string[] = [];
  s.on('close', () => events.push('close'));
  s.on('error', () => events.push('error'));
  s.resume();
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(ring.pending >= 1, 'a read waits in the kernel');
  const closed = new Promise((r) => s.on('close', r));
  s.destroy();
  await closed;
  assert.deepEqual(events, ['close']);
  assert.equal(ring.pending, 0, 'no read left in the kernel');
  assert.equal(h.closes, 1);
  // nothing was consumed from the FIFO by a cancelled read
  f.write('probe');
  const fh = await open(f.path, 'r');
  const b = Buffer.alloc(5);
  assert.equal((await fh.read(b, 0, 5, null)).bytesRead, 5);
  assert.equal(b.toString(), 'probe');
  await fh.close();
});

test("read streams: a read error is emitted with Node's syscall; bad start/end throw Node's errors", async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const h = await handleOn(ring, dir, 0o200000 /* O_DIRECTORY */);
  const seen = await consume(new RingReadStream(h));
  assert.deepEqual(seen.events, ['error', 'close']);
  assert.ok(seen.error instanceof RingError && seen.error.code === 'EISDIR' && seen.error.syscall === 'read');
  assert.equal(h.closes, 1);
  const path = file(t, 'x');
  // Node's checks, on a stream over a plain fd (a FileHandle would keep a listener of the stream that threw)
  const fd = openSync(path, 'r');
  t.after(() => closeSync(fd));
  for (const o of [{ start: 5, end: 2 }, { start: -1 }, { end: 1.5 }, { start: '1' }]) {
    let theirs: { code?: string; message?: string; name?: string } = {};
    try {
      createReadStream('', { fd, autoClose: false, ...(o as object) });
    } catch (e) {
      theirs = e as typeof theirs;
    }
    assert.ok(theirs.code, `Node throws for ${JSON.stringify(o)}`);
    const hh = await handleOn(ring, path);
    assert.throws(() => new RingReadStream(hh, o as never), (e: Error & { code?: string }) => e.code === theirs.code && e.message === theirs.message && e.name === theirs.name, JSON.stringify(o));
    await hh.close();
  }
});

test('readLines: the same lines as FileHandle.readLines', async (t) => {
  const ring = ringFor(t);
  const text = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`).join('\r\n') + '\nlast';
  const path = file(t, text);
  const mine: string[] = [];
  for await (const l of readLines(await handleOn(ring, path))) mine.push(l);
  const fh = await open(path);
  const theirs: string[] = [];
  for await (const l of fh.readLines()) theirs.push(l);
  assert.deepEqual(mine, theirs);
});

/** Writes chunks to a write stream; resolves at 'close' with the events seen. */
async function writeAll(s: Writable & { bytesWritten: number }, chunks: (string | Buffer)[]): Promise<{ events: string[]; bytesWritten: number }> {
  const events: string[] = [];
  for (const e of ['open', 'ready', 'finish', 'close', 'error']) s.on(e, () => events.push(e));
  const closed = new Promise((r) => s.on('close', r));
  for (const c of chunks) s.write(c);
  s.end();
  await closed;
  return { events, bytesWritten: s.bytesWritten };
}

test("write streams: the file, events and bytesWritten of Node's FileHandle write stream; start; encoding; flush", async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const chunks = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? pattern(i % 500, i) : `chunk ${i}\n`));
  for (const o of [{}, { start: 7 }, { highWaterMark: 100 }, { encoding: 'latin1' as const }, { flush: true }]) {
    const a = join(dir, 'mine');
    const b = join(dir, 'theirs');
    writeFileSync(a, 'preexisting contents');
    writeFileSync(b, 'preexisting contents');
    const h = await handleOn(ring, a, O_WRONLY);
    const mine = await writeAll(new RingWriteStream(h, o), chunks);
    const fh = await open(b, 'r+');
    const theirs = await writeAll(fh.createWriteStream(o), chunks);
    assert.deepEqual(mine.events, theirs.events, JSON.stringify(o));
    assert.equal(mine.bytesWritten, theirs.bytesWritten);
    assert.deepEqual(readFileSync(a), readFileSync(b), JSON.stringify(o));
    assert.equal(h.closes, 1);
  }
});

test('write streams: chunks queued behind a write in flight go out together (writev); close(cb) ends and closes', async (t) => {
  const ring = ringFor(t);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'f');
  const h = await handleOn(ring, path, O_WRONLY | O_CREAT | O_TRUNC);
  const s = new RingWriteStream(h);
  const a = ring.stats().sqesSubmitted;
  for (let i = 0; i < 100; i++) s.write(`${i},`);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  const sqes = ring.stats().sqesSubmitted - a;
  assert.ok(sqes <= 3, `the first write, one writev of the other 99, the close: ${sqes} SQEs`);
  assert.equal(readFileSync(path, 'utf8'), Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
  assert.equal(s.bytesWritten, readFileSync(path).length);
  assert.equal(h.closes, 1);
});

test("write streams: a write error is emitted with Node's syscall and the handle closed", async (t) => {
  const ring = ringFor(t);
  const path = file(t, 'x');
  const h = await handleOn(ring, path, 0 /* O_RDONLY */);
  const s = new RingWriteStream(h);
  const err = new Promise<unknown>((r) => s.on('error', r));
  const closed = new Promise((r) => s.on('close', r));
  s.write('y');
  const e = await err;
  await closed;
  assert.ok(e instanceof RingError && e.code === 'EBADF' && e.syscall === 'write');
  assert.equal(h.closes, 1);
});
