/**
 * ringflow/fs against node:fs/promises where an attack found them apart: a low RLIMIT_NOFILE, more
 * than IOV_MAX buffers (a write stream with thousands of queued chunks), writeFile to a FIFO or
 * into a file it creates read-only, readFile results' ArrayBuffers, files over 2 GiB, paths over
 * PATH_MAX, a FIFO opened 'r+' read and written at once, and small argument cases.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeFsp from 'node:fs/promises';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSync, closeSync, readSync, constants } from 'node:fs';
import fs from '../src/fs/index.js';
import { runUnprivileged } from './unprivileged.js';

/** RLIMIT_MEMLOCK for the unprivileged child: the hard limit here (a ring's memory counts against it on 6.14+). */
const MEMLOCK = Number(spawnSync('bash', ['-c', 'ulimit -H -l'], { encoding: 'utf8' }).stdout.trim()) * 1024 || 8 << 20;

const nfs = (nodeFsp as unknown as { default: typeof nodeFsp }).default;
let dir = '';
before(async () => {
  dir = await nfs.mkdtemp(join(tmpdir(), 'rf-fs-careless-'));
});
after(() => nfs.rm(dir, { recursive: true, force: true }));

/** What a call settles to, comparable between the two modules. */
async function outcome(f: () => Promise<unknown>): Promise<unknown> {
  try {
    const v = await f();
    return { ok: v === undefined ? 'undefined' : typeof v };
  } catch (e) {
    const x = e as NodeJS.ErrnoException;
    return { name: x.name, code: x.code, errno: x.errno, syscall: x.syscall };
  }
}

test('readFile and writeFile work under a hard RLIMIT_NOFILE of 1024 and 64 (the slot table shrinks to fit)', () => {
  const entry = fileURLToPath(new URL('../src/fs/index.js', import.meta.url));
  const body = `
    import fs from ${JSON.stringify(entry)};
    const p = ${JSON.stringify(join(dir, 'nofile'))};
    await fs.writeFile(p, 'abc');
    const many = await Promise.all(Array.from({ length: 500 }, () => fs.readFile(p, 'utf8')));
    console.log(JSON.stringify({ one: await fs.readFile(p, 'utf8'), many: many.every((s) => s === 'abc') }));`;
  for (const limit of [1024, 64]) {
    const r = spawnSync('bash', ['-c', `ulimit -n ${limit} && exec "$0" --input-type=module -e "$1"`, process.execPath, body], { encoding: 'utf8' });
    assert.equal(r.status, 0, `RLIMIT_NOFILE ${limit}: ${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { one: 'abc', many: true }, `RLIMIT_NOFILE ${limit}`);
  }
});

test('more buffers than IOV_MAX: writev writes them all, readv reads the first 1024 (as libuv), a write stream with 5000 queued chunks', async () => {
  const bufs = Array.from({ length: 2000 }, (_, i) => Buffer.from([65 + (i % 26), 10]));
  const results: unknown[] = [];
  for (const m of [nfs, fs]) {
    const p = join(dir, `iov-${m === fs ? 'rf' : 'node'}`);
    const h = await m.open(p, 'w+');
    const w = await h.writev(bufs, 0);
    const back = Array.from({ length: 2000 }, () => Buffer.alloc(2));
    const r = await h.readv(back, 0);
    await h.close();
    results.push({ written: w.bytesWritten, read: r.bytesRead, same: Buffer.concat(back.slice(0, 1024)).equals(Buffer.concat(bufs.slice(0, 1024))), file: (await nfs.readFile(p)).equals(Buffer.concat(bufs)) });
  }
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[1], { written: 4000, read: 2048, same: true, file: true });
  // a write stream whose chunks pile up goes out as writev of all of them
  const p = join(dir, 'stream');
  const h = await fs.open(p, 'w');
  const ws = h.createWriteStream();
  for (let i = 0; i < 5000; i++) ws.write(`line ${i}\n`);
  await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
  const lines = (await nfs.readFile(p, 'utf8')).split('\n');
  assert.equal(lines.length, 5001);
  assert.equal(lines[4999], 'line 4999');
});

test('writeFile to a FIFO opens it once: the reader gets every byte (with and without a signal)', async () => {
  for (const signal of [undefined, new AbortController().signal]) {
    const fifo = join(dir, `fifo-${signal ? 's' : 'n'}`);
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('sh', ['-c', `wc -c < "${fifo}"`]);
    let out = '';
    reader.stdout.on('data', (d: Buffer) => (out += d));
    const exited = new Promise((r) => reader.on('exit', r));
    await fs.writeFile(fifo, Buffer.alloc(1_200_000, 0x61), { signal });
    await exited;
    assert.equal(Number(out.trim()), 1_200_000, signal ? 'with a signal (rounds of 512 KiB)' : 'without');
  }
});

test('writeFile of more than one round into a file it creates read-only (mode 0o444), as an unprivileged user', (t) => {
  const entry = fileURLToPath(new URL('../src/fs/index.js', import.meta.url));
  const sub = join(dir, 'nobody');
  execFileSync('mkdir', ['-m', '0777', sub]);
  execFileSync('chmod', ['0711', dir]); // (mkdtemp's 0700 would keep the other user out)
  const body = `
    import fs from ${JSON.stringify(entry)};
    const out = {};
    for (const signal of [undefined, new AbortController().signal]) {
      const p = ${JSON.stringify(sub)} + '/ro-' + (signal ? 's' : 'n');
      out[signal ? 'signal' : 'none'] = await fs.writeFile(p, Buffer.alloc(2_000_000, 1), { mode: 0o444, signal }).then(async () => (await fs.stat(p)).size, (e) => e.code);
    }
    console.log(JSON.stringify(out));`;
  const r = runUnprivileged([entry], body, MEMLOCK);
  if ('skip' in r) return t.skip(r.skip);
  assert.deepEqual(r.out, { none: 2_000_000, signal: 2_000_000 });
});

test("readFile results own exactly their bytes (buffer.byteLength === length), whatever the size heuristic chose", async () => {
  const sizes = [200_000, 100_000, 70_000, 40_000, 33_000, 40_000, 1000];
  for (const [i, size] of sizes.entries()) {
    const p = join(dir, `sz-${i}`);
    const data = Buffer.alloc(size);
    for (let k = 0; k < size; k++) data[k] = (k * 31 + i) & 0xff;
    await nfs.writeFile(p, data);
    const b = await fs.readFile(p);
    assert.ok(b.equals(data));
    assert.equal(b.byteOffset, 0, `${size}: byteOffset`);
    assert.equal(b.buffer.byteLength, size, `${size}: its ArrayBuffer is the file's size`);
  }
});

test('readFile of a file over 2 GiB is refused from its size, before reading it', async () => {
  const p = join(dir, 'sparse-3g');
  execFileSync('truncate', ['-s', '3G', p]);
  const t0 = Date.now();
  await assert.rejects(fs.readFile(p), (e: NodeJS.ErrnoException) => e instanceof RangeError && e.code === 'ERR_FS_FILE_TOO_LARGE' && e.message === 'File size (3221225472) is greater than 2 GiB');
  assert.ok(Date.now() - t0 < 2000, `refused in ${Date.now() - t0} ms (reading 2 GiB first took seconds)`);
  await fs.unlink(p);
});

test('paths longer than PATH_MAX: ENAMETOOLONG from every path function, as node', async () => {
  const long = join(dir, 'x'.repeat(4200));
  const src = join(dir, 'exists');
  await nfs.writeFile(src, 'x');
  const calls: [string, (m: typeof nfs) => Promise<unknown>][] = [
    ['readFile', (m) => m.readFile(long)],
    ['writeFile', (m) => m.writeFile(long, 'x')],
    ['appendFile', (m) => m.appendFile(long, 'x')],
    ['open', (m) => m.open(long)],
    ['stat', (m) => m.stat(long)],
    ['unlink', (m) => m.unlink(long)],
    ['rmdir', (m) => m.rmdir(long)],
    ['mkdir', (m) => m.mkdir(long)],
    // (from a file that exists: the kernel looks the old path up before it looks at the new one)
    ['rename', (m) => m.rename(src, long)],
    ['link', (m) => m.link(src, long)],
    ['symlink', (m) => m.symlink(long, join(dir, 'sl'))],
  ];
  for (const [name, call] of calls) assert.deepEqual(await outcome(() => call(fs as unknown as typeof nfs)), await outcome(() => call(nfs)), name);
});

test("a FIFO opened 'r+': a read waiting at the file position does not hold back the write that feeds it", async () => {
  const fifo = join(dir, 'fifo-rw');
  execFileSync('mkfifo', [fifo]);
  const h = await fs.open(fifo, 'r+');
  const buf = Buffer.alloc(4);
  const reading = h.read(buf, 0, 4, null);
  await new Promise((r) => setTimeout(r, 50));
  const w = await h.write('ping', null);
  assert.equal(w.bytesWritten, 4);
  assert.equal((await reading).bytesRead, 4);
  assert.equal(buf.toString(), 'ping');
  await h.close();
});

test('small cases: an odd hex string in any case, readableWebStream() while closing, a zero-length write on a read-only handle', async () => {
  const p = join(dir, 'small');
  await nfs.writeFile(p, 'abc');
  for (const enc of ['hex', 'HEX', 'Hex']) {
    const results = [];
    for (const m of [nfs, fs as unknown as typeof nfs]) {
      const h = await m.open(p, 'r+');
      results.push(await outcome(() => h.write('abc', 0, enc as BufferEncoding)));
      await h.close();
    }
    assert.deepEqual(results[1], results[0], enc);
  }
  assert.equal(await nfs.readFile(p, 'utf8'), 'abc');
  const h = await fs.open(p);
  const reading = h.read(Buffer.alloc(3), 0, 3, 0);
  const closing = h.close();
  assert.throws(() => h.readableWebStream(), (e: NodeJS.ErrnoException) => e.code === 'ERR_INVALID_STATE' && /The FileHandle is closing/.test(e.message));
  await reading;
  await closing;
  const results = [];
  for (const m of [nfs, fs as unknown as typeof nfs]) {
    const ro = await m.open(p, 'r');
    results.push([await outcome(() => ro.write('')), await outcome(() => ro.write(Buffer.from('x'), 0, 0))]);
    await ro.close();
  }
  assert.deepEqual(results[1], results[0]);
});

test('writeFile of one round aborted while it waits on a FIFO: the file is closed (the reader sees end-of-file)', async () => {
  const fifoPath = join(dir, 'fifo-abort');
  execFileSync('mkfifo', [fifoPath]);
  const rd = openSync(fifoPath, constants.O_RDONLY | constants.O_NONBLOCK); // a reader that does not read
  try {
    const ac = new AbortController();
    const p = fs.writeFile(fifoPath, Buffer.alloc(256 * 1024, 1), { signal: ac.signal }); // more than the pipe holds: it waits
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, { name: 'AbortError' });
    // drain what went in; then a pipe with no writer left reads 0, one still open EAGAIN
    const buf = Buffer.alloc(65536);
    let end = false;
    for (let i = 0; i < 100 && !end; i++) {
      try {
        end = readSync(rd, buf) === 0;
      } catch (e) {
        assert.equal((e as NodeJS.ErrnoException).code, 'EAGAIN');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    assert.ok(end, 'no writer is left on the FIFO');
  } finally {
    closeSync(rd);
  }
});
