/**
 * FileHandle: open() with every flag/mode form, then every method with the forms Node accepts
 * (TypedArray/DataView targets, position null/number/bigint, the options-object overloads), and
 * the misuse cases (closed handle, wrong access mode, EISDIR, EBADF).
 */
import type { Case, SideCtx } from './harness.js';
import type { FsModule } from './impl.js';

/** A value as a case-name fragment (3n stays distinct from 3, -0 from 0). */
const label = (v: unknown) => (typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : typeof v === 'string' ? `'${v}'` : String(v));

type H = any;

/** A case that opens `rel` with `flags` on each side, runs `body` on the handle, closes it. */
function withHandle(name: string, rel: string, flags: string | number, body: (h: H, c: SideCtx, fs: FsModule) => unknown, extra: Partial<Case> = {}): Case {
  return {
    name,
    run: async (fs, c) => {
      const h = await c.track(fs.open(c.p(rel), flags));
      return body(h, c, fs);
    },
    ...extra,
  };
}

export function fileHandleCases(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, run: Case['run'], extra: Partial<Case> = {}) => cases.push({ name, run, ...extra });
  const wh = (...a: Parameters<typeof withHandle>) => cases.push(withHandle(...a));

  // --- open: flags and modes
  const flagForms: (string | number | undefined | null)[] = ['r', 'rs', 'sr', 'r+', 'rs+', 'sr+', 'w', 'wx', 'xw', 'w+', 'wx+', 'xw+', 'a', 'ax', 'xa', 'as', 'sa', 'a+', 'ax+', 'xa+', 'as+', 'sa+', undefined, null, 0, 1, 2, 0o1101, 0o2002, 0o100, 0o200000];
  for (const flags of flagForms) {
    for (const rel of ['file.txt', 'new', 'dir']) {
      add(`open ${rel} flags ${label(flags)}`, async (fs, c) => {
        const r = await c.step(() => c.track(fs.open(c.p(rel), flags)));
        return [r, await c.step(() => fs.readFile(c.p(rel), 'latin1'))];
      });
    }
  }
  for (const mode of [0o600, 0o755, '640', '0644', 0o4755, undefined, null]) {
    add(`open new mode ${label(mode)}`, (fs, c) => c.track(fs.open(c.p('new'), 'w', mode)));
  }
  for (const rel of ['missing', 'file.txt/x', 'link-broken', 'link-loop', 'link-dir', 'missing/x']) {
    add(`open r ${rel}`, (fs, c) => c.track(fs.open(c.p(rel))));
    add(`open w ${rel}`, (fs, c) => c.track(fs.open(c.p(rel), 'w')));
  }
  add('open Buffer path', (fs, c) => c.track(fs.open(c.b('file.txt'))));
  add('open URL path', (fs, c) => c.track(fs.open(c.u('file.txt'))));
  add('open O_DIRECTORY on file', (fs, c) => c.track(fs.open(c.p('file.txt'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)));
  add('open O_NOFOLLOW on link', (fs, c) => c.track(fs.open(c.p('link-file'), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)));
  add('open O_CREAT|O_EXCL existing', (fs, c) => c.track(fs.open(c.p('file.txt'), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY)));

  // --- read: every overload and target type
  const targets: [string, () => ArrayBufferView][] = [
    ['Buffer', () => Buffer.alloc(16)],
    ['Uint8Array', () => new Uint8Array(16)],
    ['Int16Array', () => new Int16Array(8)],
    ['Float32Array', () => new Float32Array(4)],
    ['BigUint64Array', () => new BigUint64Array(2)],
    ['DataView', () => new DataView(new ArrayBuffer(20), 2, 16)],
    ['empty Buffer', () => Buffer.alloc(0)],
  ];
  for (const [label, mk] of targets) {
    wh(`read into ${label}`, 'file.txt', 'r', (h, c) => { const b = c.ref('buf', mk()); return h.read(b, 0, b.byteLength, 0); });
    wh(`read({buffer: ${label}})`, 'file.txt', 'r', (h, c) => h.read({ buffer: c.ref('buf', mk()) }));
    wh(`read(${label}, {offset})`, 'file.txt', 'r', (h, c) => h.read(c.ref('buf', mk()), { offset: 0, position: 2 }));
  }
  wh('read()', 'file.txt', 'r', (h) => h.read());
  wh('read() twice', 'file.txt', 'r', async (h, c) => [await c.step(() => h.read()), await c.step(() => h.read())]);
  wh('read({})', 'file.txt', 'r', (h) => h.read({}));
  wh('read big with no args', 'big', 'r', (h) => h.read());
  for (const position of [null, undefined, 0, 3, 11, 12, 100, 3n, -1, 0n]) {
    wh(`read position ${label(position)}`, 'file.txt', 'r', async (h, c) => {
      const b = c.ref('buf', Buffer.alloc(8));
      return [await c.step(() => h.read(b, 0, 4, position)), await c.step(() => h.read(b, 4, 4, position))];
    });
  }
  for (const [off, len] of [[0, 0], [4, 4], [8, 8], [0, 16], [15, 1]]) {
    wh(`read offset ${off} length ${len}`, 'file.txt', 'r', (h, c) => h.read(c.ref('buf', Buffer.alloc(16, 0x2e)), off, len, 0));
  }
  wh('read options {length, position}', 'bin', 'r', (h, c) => h.read(c.ref('buf', Buffer.alloc(32)), { length: 10, position: 5 }));
  wh('read options {position: bigint}', 'bin', 'r', (h, c) => h.read({ buffer: c.ref('buf', Buffer.alloc(8)), position: 990n }));
  wh('read options {offset: 4}', 'bin', 'r', (h, c) => h.read({ buffer: c.ref('buf', Buffer.alloc(8)), offset: 4 }));
  wh('read on write-only handle', 'file.txt', 'w', (h) => h.read(Buffer.alloc(4), 0, 4, 0));
  wh('read on directory', 'dir', 'r', (h) => h.read(Buffer.alloc(4), 0, 4, 0));
  wh('readv', 'file.txt', 'r', (h, c) => h.readv([c.ref('b0', Buffer.alloc(3)), c.ref('b1', new Uint8Array(4)), c.ref('b2', new DataView(new ArrayBuffer(2)))]));
  wh('readv position', 'file.txt', 'r', (h, c) => h.readv([c.ref('b0', Buffer.alloc(5))], 6));
  wh('readv position null twice', 'file.txt', 'r', async (h, c) => [await c.step(() => h.readv([Buffer.alloc(5)], null)), await c.step(() => h.readv([Buffer.alloc(5)]))]);
  wh('readv empty list', 'file.txt', 'r', (h) => h.readv([]));
  wh('readv at EOF', 'file.txt', 'r', (h) => h.readv([Buffer.alloc(4)], 100));

  // --- readFile / readLines / streams
  for (const enc of [undefined, 'utf8', 'hex', { encoding: 'latin1' }, null]) {
    wh(`fh.readFile ${JSON.stringify(enc)}`, 'utf8.txt', 'r', (h) => h.readFile(enc));
  }
  wh('fh.readFile after partial read', 'file.txt', 'r', async (h, c) => [await c.step(() => h.read(Buffer.alloc(6), 0, 6, null)), await c.step(() => h.readFile('utf8'))]);
  wh('fh.readFile big', 'big', 'r', (h) => h.readFile());
  wh('fh.readFile signal pre-aborted', 'file.txt', 'r', (h) => h.readFile({ signal: AbortSignal.abort() }));
  wh('fh.readFile on write-only', 'file.txt', 'w', (h) => h.readFile());
  wh('readLines', 'lines.txt', 'r', async (h) => { const out: string[] = []; for await (const l of h.readLines()) out.push(l); return out; });
  wh('createReadStream', 'big', 'r', async (h) => { const parts: Buffer[] = []; for await (const b of h.createReadStream()) parts.push(b); return [Buffer.concat(parts).length, Buffer.concat(parts).subarray(0, 8)]; });
  wh('createReadStream start/end/encoding', 'file.txt', 'r', async (h) => { let s = ''; for await (const b of h.createReadStream({ start: 2, end: 7, encoding: 'utf8' })) s += b; return s; });
  wh('createWriteStream', 'file.txt', 'r+', async (h) => {
    const ws = h.createWriteStream({ start: 3 });
    ws.write('abc');
    await new Promise<void>((res, rej) => ws.end('DEF', () => res()).on('error', rej));
    return ws.bytesWritten;
  });
  wh('readableWebStream', 'file.txt', 'r', async (h) => {
    const out: number[] = [];
    for await (const chunk of h.readableWebStream()) out.push(...new Uint8Array(chunk));
    return Buffer.from(out);
  }, { skipUnless: () => undefined });

  // --- write: every overload
  wh('write Buffer', 'file.txt', 'r+', (h, c) => h.write(c.ref('buf', Buffer.from('XYZ'))));
  wh('write Buffer offset length position', 'file.txt', 'r+', (h, c) => h.write(c.ref('buf', Buffer.from('0123456789')), 2, 5, 4));
  wh('write Buffer options object', 'file.txt', 'r+', (h, c) => h.write(c.ref('buf', Buffer.from('0123456789')), { offset: 1, length: 3, position: 8 }));
  wh('write Uint16Array', 'file.txt', 'r+', (h, c) => h.write(c.ref('buf', new Uint16Array([0x4141, 0x4242]))));
  wh('write DataView', 'file.txt', 'r+', (h, c) => h.write(c.ref('buf', new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2)), 0, 2, 0));
  wh('write string', 'file.txt', 'r+', (h) => h.write('héllo'));
  wh('write string position', 'file.txt', 'r+', (h) => h.write('ZZ', 5));
  wh('write string position encoding', 'file.txt', 'r+', (h) => h.write('4142', 0, 'hex'));
  wh('write string null position', 'file.txt', 'r+', async (h, c) => [await c.step(() => h.write('a', null)), await c.step(() => h.write('b', null, 'utf8'))]);
  wh('write bigint position', 'file.txt', 'r+', (h) => h.write(Buffer.from('Q'), 0, 1, 20n));
  wh('write past end (hole)', 'file.txt', 'r+', (h) => h.write('end', 100));
  wh('write on O_APPEND with position', 'file.txt', 'a', (h) => h.write('tail', 0));
  wh('write on read-only handle', 'file.txt', 'r', (h) => h.write('x'));
  wh('write empty Buffer', 'file.txt', 'r+', (h) => h.write(Buffer.alloc(0)));
  wh('writev', 'file.txt', 'r+', (h, c) => h.writev([c.ref('b0', Buffer.from('ab')), c.ref('b1', new Uint8Array([67, 68]))]));
  wh('writev position', 'file.txt', 'r+', (h) => h.writev([Buffer.from('ab')], 3));
  wh('writev empty', 'file.txt', 'r+', (h) => h.writev([]));
  wh('fh.writeFile', 'file.txt', 'r+', (h) => h.writeFile('short'));
  wh('fh.writeFile encoding', 'file.txt', 'r+', (h) => h.writeFile('6869', 'hex'));
  wh('fh.writeFile iterable', 'file.txt', 'w', (h) => h.writeFile(['a', 'b']));
  wh('fh.appendFile', 'file.txt', 'r+', (h) => h.appendFile('more'));
  wh('fh.appendFile on a', 'file.txt', 'a', (h) => h.appendFile(Buffer.from('more')));

  // --- metadata and the rest
  wh('fh.stat', 'file.txt', 'r', (h) => h.stat());
  wh('fh.stat bigint', 'dir', 'r', (h) => h.stat({ bigint: true }));
  add('fh.stat shared (exact)', async (fs, c) => { const h = await c.track(fs.open(c.sh('big'))); return h.stat({ bigint: true }); }, { exactStats: true });
  for (const len of [undefined, 0, 5, 50, -1]) wh(`fh.truncate ${label(len)}`, 'file.txt', 'r+', (h) => h.truncate(len));
  wh('fh.truncate read-only', 'file.txt', 'r', (h) => h.truncate(2));
  wh('fh.sync', 'file.txt', 'r+', (h) => h.sync());
  wh('fh.datasync', 'file.txt', 'r', (h) => h.datasync());
  wh('fh.chmod', 'file.txt', 'r', (h) => h.chmod(0o640));
  wh('fh.chmod string', 'file.txt', 'r', (h) => h.chmod('600'));
  wh('fh.chown', 'file.txt', 'r', (h) => h.chown(1, 2));
  wh('fh.utimes', 'file.txt', 'r', (h) => h.utimes(1e9, new Date(2e12)), { times: ['file.txt'] });
  wh('fh.fd is a number', 'file.txt', 'r', (h) => [typeof h.fd, h.fd > 2]);
  wh('fh.getAsyncId', 'file.txt', 'r', (h) => typeof h.getAsyncId());
  wh('fh close event', 'file.txt', 'r', async (h) => {
    let events = 0;
    h.on?.('close', () => events++);
    await h.close();
    return events;
  });
  wh('fh.close twice', 'file.txt', 'r', async (h, c) => [await c.step(() => h.close()), await c.step(() => h.close()), h.fd]);
  wh('fh Symbol.asyncDispose', 'file.txt', 'r', async (h, c) => {
    const dispose = (Symbol as any).asyncDispose ?? Symbol.for('nodejs.asyncDispose');
    return [typeof h[dispose], await c.step(() => h[dispose]()), h.fd];
  });
  // Every method on a closed handle.
  const closedCalls: [string, (h: H) => unknown][] = [
    ['read', (h) => h.read(Buffer.alloc(4), 0, 4, 0)], ['read()', (h) => h.read()], ['readv', (h) => h.readv([Buffer.alloc(2)])],
    ['write', (h) => h.write('x')], ['writev', (h) => h.writev([Buffer.from('x')])], ['readFile', (h) => h.readFile()],
    ['writeFile', (h) => h.writeFile('x')], ['appendFile', (h) => h.appendFile('x')], ['stat', (h) => h.stat()],
    ['truncate', (h) => h.truncate(1)], ['sync', (h) => h.sync()], ['datasync', (h) => h.datasync()],
    ['chmod', (h) => h.chmod(0o600)], ['chown', (h) => h.chown(0, 0)], ['utimes', (h) => h.utimes(1, 1)],
    ['readLines', async (h) => { for await (const _ of h.readLines()) void _; }],
    ['createReadStream', (h) => new Promise((res) => { const s = h.createReadStream(); s.on('error', res); s.on('data', () => res('data')); s.on('end', () => res('end')); })],
  ];
  for (const [label, call] of closedCalls) {
    wh(`closed handle: ${label}`, 'file.txt', 'r+', async (h) => { await h.close(); return call(h); });
  }
  add('fs fn on closed FileHandle', async (fs, c) => {
    const h = await fs.open(c.p('file.txt'), 'r+');
    await h.close();
    return [await c.step(() => fs.readFile(h)), await c.step(() => fs.writeFile(h, 'x')), await c.step(() => fs.appendFile(h, 'x'))];
  });
  add('concurrent reads on one handle', async (fs, c) => {
    const h = await c.track(fs.open(c.p('big')));
    const rs = await Promise.all([0, 1, 2, 3].map((i) => h.read(Buffer.alloc(100), 0, 100, i * 1000)));
    return rs.map((r: any) => [r.bytesRead, r.buffer.subarray(0, 4)]);
  });
  return cases;
}
