/**
 * ringflow/fs against node:fs/promises on this Node line: the surface, system errors (ENOENT and
 * friends: message, code, errno, syscall, path, dest, class), Node's validation errors for
 * FileHandle and path calls, Stats/BigIntStats, `position: null`, AbortSignal (already aborted
 * and aborted mid-flight: the ring request is cancelled).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeFsp from 'node:fs/promises';
import { Stats } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fs, * as named from '../src/fs/index.js';
import { nodeError } from '../src/fs/errors.js';
import { RingError } from '../src/errors.js';
import { CPU_TIME_SCALE } from './helpers.js';

const nfs = (nodeFsp as unknown as { default: typeof nodeFsp }).default;
let dir = '';
before(async () => {
  dir = await nfs.mkdtemp(join(tmpdir(), 'rf-fs-core-'));
  await nfs.writeFile(join(dir, 'file'), 'hello world');
});
after(() => nfs.rm(dir, { recursive: true, force: true }));

/** What a call settles to, in comparable form. */
async function outcome(f: () => unknown): Promise<unknown> {
  try {
    const v = await f();
    return { ok: v === undefined ? 'undefined' : typeof v };
  } catch (e) {
    const x = e as NodeJS.ErrnoException & { dest?: string };
    return { class: x.constructor.name, name: x.name, message: x.message, code: x.code, errno: x.errno, syscall: x.syscall, path: x.path, dest: x.dest };
  }
}

test('the default export has the keys of node:fs/promises, in its order; named exports are its functions', () => {
  assert.deepEqual(Object.keys(fs), Object.keys(nfs));
  for (const k of Object.keys(nfs)) assert.equal((named as Record<string, unknown>)[k], (fs as unknown as Record<string, unknown>)[k], k);
  assert.equal(fs.constants, nfs.constants);
  assert.equal(typeof named.createFs, 'function');
});

test('system errors have node:fs/promises\' shape (ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY; path and dest)', async () => {
  const p = (s: string) => join(dir, s);
  await nfs.mkdir(p('full'));
  await nfs.writeFile(p('full/x'), '');
  const cases: [string, (m: typeof nfs) => unknown][] = [
    ['open missing', (m) => m.open(p('missing'))],
    ['open in a file', (m) => m.open(p('file/x'))],
    ['open wx existing', (m) => m.open(p('file'), 'wx')],
    ['readFile missing', (m) => m.readFile(p('missing'))],
    ['readFile dir', (m) => m.readFile(dir)],
    ['writeFile into missing dir', (m) => m.writeFile(p('missing/x'), 'a')],
    ['stat missing', (m) => m.stat(p('missing'))],
    ['lstat missing (Buffer)', (m) => m.lstat(Buffer.from(p('missing')))],
    ['stat missing (URL)', (m) => m.stat(pathToFileURL(p('missing')))],
    ['rename missing', (m) => m.rename(p('missing'), p('other'))],
    ['link missing', (m) => m.link(p('missing'), p('other'))],
    ['symlink existing', (m) => m.symlink('file', p('file'))],
    ['unlink missing', (m) => m.unlink(p('missing'))],
    ['unlink dir', (m) => m.unlink(p('full'))],
    ['rmdir non-empty', (m) => m.rmdir(p('full'))],
    ['rmdir file', (m) => m.rmdir(p('file'))],
    ['mkdir existing', (m) => m.mkdir(p('full'))],
    ['truncate missing', (m) => m.truncate(p('missing'))],
    ['appendFile dir', (m) => m.appendFile(dir, 'x')],
  ];
  for (const [what, call] of cases) assert.deepEqual(await outcome(() => call(fs as unknown as typeof nfs)), await outcome(() => call(nfs)), what);
});

test('nodeError() converts a RingError for any syscall, path and dest', () => {
  const e = nodeError(new RingError(-2, 'io_uring_enter', { op: 'openat' }), 'open', '/x') as NodeJS.ErrnoException;
  assert.equal(e.message, "ENOENT: no such file or directory, open '/x'");
  assert.deepEqual([e.errno, e.code, e.syscall, e.path, e.constructor], [-2, 'ENOENT', 'open', '/x', Error]);
  const r = nodeError(new RingError(17, 'io_uring_enter'), 'rename', Buffer.from('/a'), '/b') as NodeJS.ErrnoException & { dest: string };
  assert.equal(r.message, "EEXIST: file already exists, rename '/a' -> '/b'");
  assert.equal(r.dest, '/b');
  const other = new TypeError('x');
  assert.equal(nodeError(other, 'open'), other);
});

test('invalid arguments of path calls give node:fs/promises\' errors', async () => {
  const f = join(dir, 'file');
  const cases: [string, (m: typeof nfs) => unknown][] = [
    ['open undefined', (m) => m.open(undefined as never)],
    ['open number', (m) => m.open(42 as never)],
    ['open NUL', (m) => m.open('a\0b')],
    ['open flags', (m) => m.open(f, 'zz')],
    ['open flags float', (m) => m.open(f, 1.5 as never)],
    ['open mode string', (m) => m.open(f, 'r', 'abc' as never)],
    ['open mode range', (m) => m.open(f, 'r', -1)],
    ['open URL http', (m) => m.open(new URL('http://x/y'))],
    ['readFile encoding', (m) => m.readFile(f, { encoding: 'nope' as never })],
    ['readFile options', (m) => m.readFile(f, 5 as never)],
    ['readFile signal', (m) => m.readFile(f, { signal: 'x' as never })],
    ['writeFile data', (m) => m.writeFile(join(dir, 'w'), 5 as never)],
    ['writeFile flush', (m) => m.writeFile(join(dir, 'w'), 'x', { flush: 1 as never })],
    ['mkdir mode', (m) => m.mkdir(join(dir, 'm'), { mode: 'zz' })],
    ['mkdir recursive', (m) => m.mkdir(join(dir, 'm'), { recursive: 1 as never })],
    ['rename newPath', (m) => m.rename(f, {} as never)],
    ['symlink type', (m) => m.symlink('a', join(dir, 's'), 'bad' as never)],
    ['truncate len', (m) => m.truncate(f, 'x' as never)],
    ['truncate len float', (m) => m.truncate(f, 1.5)],
  ];
  for (const [what, call] of cases) assert.deepEqual(await outcome(() => call(fs as unknown as typeof nfs)), await outcome(() => call(nfs)), what);
});

test('invalid arguments of FileHandle methods give node\'s errors', async () => {
  const f = join(dir, 'file');
  const ours = await fs.open(f, 'r+');
  const theirs = await nfs.open(f, 'r+');
  type FH = Awaited<ReturnType<typeof nfs.open>>;
  const cases: [string, (h: FH) => unknown][] = [
    ['read offset', (h) => h.read(Buffer.alloc(4), 5, 1, 0)],
    ['read offset float', (h) => h.read(Buffer.alloc(4), 1.5, 1, 0)],
    ['read offset type', (h) => h.read(Buffer.alloc(4), 'x' as never, 1, 0)],
    ['read length', (h) => h.read(Buffer.alloc(4), 0, 5, 0)],
    ['read negative length', (h) => h.read(Buffer.alloc(4), 0, -1, 0)],
    ['read position type', (h) => h.read(Buffer.alloc(4), 0, 1, 'x' as never)],
    ['read position bigint', (h) => h.read(Buffer.alloc(4), 0, 1, (2n ** 63n) as never)],
    ['read options buffer', (h) => h.read({ buffer: 'x' as never })],
    ['read options type', (h) => h.read(5 as never)],
    ['read empty buffer', (h) => h.read(Buffer.alloc(0), 0, 1, 0)],
    ['readv', (h) => h.readv('x' as never)],
    ['readv element', (h) => h.readv([Buffer.alloc(1), 'x' as never])],
    ['write offset', (h) => h.write(Buffer.alloc(4), 5)],
    ['write length', (h) => h.write(Buffer.alloc(4), 0, 5)],
    ['write type', (h) => h.write(5 as never)],
    ['write hex', (h) => h.write('abc', 0, 'hex')],
    ['writev', (h) => h.writev(5 as never)],
    ['truncate', (h) => h.truncate('x' as never)],
    ['chmod', (h) => h.chmod('zz' as never)],
    ['chown', (h) => h.chown(-2, 0)],
    ['utimes', (h) => h.utimes('x' as never, 0)],
    ['readFile encoding', (h) => h.readFile({ encoding: 'nope' as never })],
  ];
  try {
    for (const [what, call] of cases) assert.deepEqual(await outcome(() => call(ours as unknown as FH)), await outcome(() => call(theirs)), what);
  } finally {
    await ours.close();
    await theirs.close();
  }
});

test('a closed FileHandle rejects like node\'s (Error "file closed", EBADF, the syscall), close() twice resolves, \'close\' is emitted', async () => {
  const ours = await fs.open(join(dir, 'file'));
  const theirs = await nfs.open(join(dir, 'file'));
  let closes = 0;
  (ours as unknown as NodeJS.EventEmitter).on('close', () => closes++);
  await ours.close();
  await theirs.close();
  assert.equal(closes, 1);
  assert.equal(ours.fd, -1);
  await ours.close();
  for (const m of ['read', 'write', 'stat', 'truncate', 'sync', 'datasync', 'readFile', 'writeFile', 'appendFile', 'readv', 'writev', 'chmod'] as const) {
    const args: unknown[] = m === 'write' || m === 'writeFile' || m === 'appendFile' ? ['x'] : m === 'readv' || m === 'writev' ? [[Buffer.alloc(1)]] : m === 'chmod' ? [0o644] : [];
    const call = (h: unknown) => () => (h as Record<string, (...a: unknown[]) => unknown>)[m](...args);
    assert.deepEqual(await outcome(call(ours)), await outcome(call(theirs)), m);
  }
});

test('close() waits for the operations in flight; they complete', async () => {
  const fh = await fs.open(join(dir, 'file'));
  const read = fh.read(Buffer.alloc(5), 0, 5, 0);
  const closed = fh.close();
  const r = await read;
  assert.equal(r.buffer.toString(), 'hello');
  await closed;
  assert.equal(fh.fd, -1);
});

test('FileHandle.read: every overload; position null reads at the file position and moves it', async () => {
  await using fh = await fs.open(join(dir, 'file'));
  const a = await fh.read({ length: 5, position: null });
  assert.equal(a.buffer.subarray(0, a.bytesRead).toString(), 'hello');
  assert.equal(a.buffer.length, 16384);
  assert.equal(Object.getPrototypeOf(a), null);
  const b = await fh.read(Buffer.alloc(6), 0, 6, null);
  assert.equal(b.buffer.toString(), ' world');
  const c = await fh.read(Buffer.alloc(4), { position: 0 });
  assert.equal(c.buffer.toString(), 'hell');
  const d = await fh.read(new Uint16Array(2), 0, 4, 6); // a TypedArray target
  assert.equal(Buffer.from(d.buffer.buffer).toString(), 'worl');
  // a bigint position, from the file position at the end: read at it where node's read does
  // (22+: 'rld'); Node 20's read ignores a bigint position (reads at the end: nothing)
  const e = await fh.read({ buffer: new DataView(new ArrayBuffer(3)), position: 8n });
  const nh = await nodeFsp.open(join(dir, 'file'));
  await nh.read(Buffer.alloc(11), 0, 11, null);
  const ne = await nh.read({ buffer: new DataView(new ArrayBuffer(3)), position: 8n });
  await nh.close();
  assert.equal(e.bytesRead, ne.bytesRead);
  assert.equal(Buffer.from(e.buffer.buffer).toString(), Buffer.from(ne.buffer.buffer).toString());
  assert.ok(['rld', '\0\0\0'].includes(Buffer.from(e.buffer.buffer).toString()));
  const eof = await fh.read(); // position null again: the file position is at the end
  assert.equal(eof.bytesRead, 0);
  const bufs = [Buffer.alloc(2), Buffer.alloc(3)];
  assert.deepEqual((await fh.readv(bufs, 0)).bytesRead, 5);
  assert.equal(Buffer.concat(bufs).toString(), 'hello');
});

test('FileHandle write overloads, writev, stat, truncate, sync, readFile/writeFile/appendFile', async () => {
  const p = join(dir, 'rw');
  await using fh = await fs.open(p, 'w+');
  assert.equal((await fh.write('abc')).bytesWritten, 3);
  assert.equal((await fh.write(Buffer.from('XYZ'), 1, 2, 10)).bytesWritten, 2);
  assert.equal((await fh.write(Buffer.from('Q'), { position: 0 } as never)).bytesWritten, 1);
  assert.equal((await fh.writev([Buffer.from('1'), Buffer.from('2')], 3)).bytesWritten, 2);
  await fh.sync();
  await fh.datasync();
  assert.equal((await fh.stat()).size, 12);
  assert.deepEqual(await nfs.readFile(p), Buffer.from('Qbc12\0\0\0\0\0YZ'));
  await fh.truncate(2);
  assert.equal((await fh.stat({ bigint: true })).size, 2n);
  await fh.writeFile('more'); // at the file position (3: only write('abc') moved it), past the end: a hole
  await fh.appendFile('!');
  const all = await nfs.readFile(p);
  assert.deepEqual(all, Buffer.from('Qb\0more!'));
  assert.equal(await fs.readFile(p, 'latin1'), all.toString('latin1'));
  await fh.chmod(0o600);
  assert.equal((await nfs.stat(p)).mode & 0o777, 0o600);
});

test('Stats and BigIntStats equal node\'s for a file, a directory, a symlink; instanceof fs.Stats', async () => {
  await nfs.symlink('file', join(dir, 'ln')).catch(() => {});
  for (const [call, p] of [['stat', join(dir, 'file')], ['stat', dir], ['lstat', join(dir, 'ln')], ['stat', '/dev/null']] as const) {
    const ours = await fs[call](p);
    const theirs = await nfs[call](p);
    assert.ok(ours instanceof Stats);
    assert.deepEqual(ours, theirs);
    for (const m of ['isFile', 'isDirectory', 'isSymbolicLink', 'isCharacterDevice', 'isBlockDevice', 'isFIFO', 'isSocket'] as const) assert.equal(ours[m](), theirs[m](), m);
    const big = await fs[call](p, { bigint: true });
    assert.deepEqual(big, await nfs[call](p, { bigint: true }));
    assert.equal(big.constructor.name, 'BigIntStats');
    assert.deepEqual(ours.mtime, theirs.mtime);
  }
  // throwIfNoEntry: false is taken where node's stat takes it (24+); Node 20/22 reject ENOENT
  const missing = join(dir, 'missing');
  const settle = (p: Promise<unknown>) => p.then((v) => ({ v }), (e: NodeJS.ErrnoException) => ({ code: e.code, message: e.message }));
  assert.deepEqual(await settle(fs.stat(missing, { throwIfNoEntry: false } as never)), await settle(nfs.stat(missing, { throwIfNoEntry: false } as never)));
});

test('AbortSignal: an aborted signal rejects with AbortError before anything runs', async () => {
  const p = join(dir, 'not-created');
  const signal = AbortSignal.abort('why');
  for (const call of [() => fs.readFile(join(dir, 'file'), { signal }), () => fs.writeFile(p, 'x', { signal })]) {
    const e = (await outcome(call)) as { class: string; code: string; name: string };
    assert.equal(e.name, 'AbortError');
    assert.equal(e.code, 'ABORT_ERR');
  }
  // stat takes a signal where node's stat does (26); earlier lines ignore it and resolve
  const statted = (f: typeof nfs.stat) => f(join(dir, 'file'), { signal } as never).then(() => 'resolved', (e: Error) => e.name);
  assert.equal(await statted(fs.stat as typeof nfs.stat), await statted(nfs.stat));
  await assert.rejects(nfs.stat(p), { code: 'ENOENT' });
  await assert.rejects(fs.readFile(join(dir, 'file'), { signal }), (e: Error) => e.cause === 'why');
});

test('AbortSignal: aborted mid-flight, the ring request is cancelled (a read blocked on an empty FIFO)', async () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const fh = await fs.open(fifo, 'r+'); // O_RDWR: the open does not wait for a writer
  const ac = new AbortController();
  const t0 = Date.now();
  const pending = fh.readFile({ signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(pending, { name: 'AbortError', code: 'ABORT_ERR' });
  assert.ok(Date.now() - t0 < 5000 * CPU_TIME_SCALE); // (a TCG guest is slower)
  await fh.close(); // nothing left in flight on the handle
});
