/**
 * Valid and edge-case calls of every function of node:fs/promises (FileHandle methods are in
 * cases-filehandle.ts, generated invalid arguments in cases-invalid.ts).
 */
import type { Case, SideCtx } from './harness.js';
import { settleMkdtemp, maskMkdtempSuffix } from './mkdtemp-shape.js';

type Form = 'str' | 'buf' | 'url';
const FORMS: Form[] = ['str', 'buf', 'url'];

/** `rel` in this side's tree as a string, Buffer or URL. */
export function at(c: SideCtx, form: Form, rel: string): string | Buffer | URL {
  return form === 'str' ? c.p(rel) : form === 'buf' ? c.b(rel) : c.u(rel);
}

const has = (name: string) => (fs: Record<string, unknown>) => (typeof fs[name] === 'function' ? undefined : `node:fs/promises has no ${name}() on this line`);

/** Cases `name(<form of rel>, ...rest)` for each path form. */
function eachForm(fn: string, rels: string[], rest: (c: SideCtx) => unknown[] = () => [], extra: Partial<Case> = {}): Case[] {
  const out: Case[] = [];
  for (const rel of rels) {
    for (const form of FORMS) {
      out.push({ name: `${fn}(${form} ${rel || '<root>'})`, run: (fs, c) => fs[fn](at(c, form, rel), ...rest(c)), ...extra });
    }
  }
  return out;
}

const NAMES = ['file.txt', 'dir', 'emptydir', 'link-file', 'link-dir', 'link-broken', 'link-abs', 'link-loop', 'missing', 'file.txt/x', 'dir/sub/c.txt', ''];

export function functionCases(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, run: Case['run'], extra: Partial<Case> = {}) => cases.push({ name, run, ...extra });

  // --- stat family
  cases.push(...eachForm('stat', NAMES));
  cases.push(...eachForm('lstat', NAMES));
  add('stat bigint', (fs, c) => fs.stat(c.p('big'), { bigint: true }));
  add('lstat bigint symlink', (fs, c) => fs.lstat(c.p('link-file'), { bigint: true }));
  add('stat bigint:false', (fs, c) => fs.stat(c.p('file.txt'), { bigint: false }));
  add('stat throwIfNoEntry:false missing / under a file', async (fs, c) => [await c.step(() => fs.stat(c.p('missing'), { throwIfNoEntry: false })), await c.step(() => fs.stat(c.p('file.txt/x'), { throwIfNoEntry: false }))]);
  add('lstat throwIfNoEntry:false missing', (fs, c) => fs.lstat(c.p('missing'), { throwIfNoEntry: false }));
  add('stat/lstat aborted signal', async (fs, c) => [await c.step(() => fs.stat(c.p('file.txt'), { signal: AbortSignal.abort() })), await c.step(() => fs.lstat(c.p('file.txt'), { signal: AbortSignal.abort('why') }))]);
  add('stat options undefined/null', async (fs, c) => [await c.step(() => fs.stat(c.p('file.txt'), undefined)), await c.step(() => fs.stat(c.p('file.txt'), null))]);
  add('stat shared file (exact)', (fs, c) => fs.stat(c.sh('bin')), { exactStats: true });
  add('stat shared dir bigint (exact)', (fs, c) => fs.stat(c.sh('dir'), { bigint: true }), { exactStats: true });
  add('lstat shared symlink (exact)', (fs, c) => fs.lstat(c.sh('link-abs')), { exactStats: true });
  add('stat /dev/null (exact)', (fs) => fs.stat('/dev/null'), { exactStats: true });
  add('stat relative path', (fs) => fs.stat('.'), { exactStats: true });
  add('stat trailing slash on file', (fs, c) => fs.stat(c.p('file.txt') + '/'));
  add('stat trailing slash on dir', (fs, c) => fs.stat(c.p('dir') + '/'));
  add('statfs', (fs, c) => fs.statfs(c.p('file.txt')), { skipUnless: has('statfs') });
  add('statfs bigint', (fs, c) => fs.statfs(c.p('dir'), { bigint: true }), { skipUnless: has('statfs') });
  add('statfs missing', (fs, c) => fs.statfs(c.p('missing')), { skipUnless: has('statfs') });

  // --- access
  cases.push(...eachForm('access', ['file.txt', 'missing', 'link-broken', 'dir/sub', 'file.txt/x']));
  for (const mode of [0, 1, 2, 4, 7, undefined]) add(`access mode ${mode}`, (fs, c) => fs.access(c.p('file.txt'), mode));
  add('access X_OK on non-executable', (fs, c) => fs.access(c.p('file.txt'), fs.constants.X_OK));
  add('access W_OK on ro file', (fs, c) => fs.access(c.p('ro.txt'), fs.constants.W_OK));

  // --- readFile
  cases.push(...eachForm('readFile', ['file.txt', 'empty', 'big', 'dir', 'missing', 'link-file', 'link-broken', 'link-loop', 'file.txt/x']));
  for (const enc of ['utf8', 'utf-8', 'latin1', 'hex', 'base64', 'base64url', 'ascii', 'ucs2', 'utf16le', 'binary', 'buffer', null, undefined]) {
    add(`readFile encoding ${enc}`, (fs, c) => fs.readFile(c.p('utf8.txt'), enc));
    add(`readFile {encoding: ${enc}}`, (fs, c) => fs.readFile(c.p('bin'), { encoding: enc }));
  }
  add('readFile big utf8', (fs, c) => fs.readFile(c.p('big'), 'latin1'));
  add('readFile flag r+', (fs, c) => fs.readFile(c.p('file.txt'), { flag: 'r+' }));
  add('readFile flag a+ creates', (fs, c) => fs.readFile(c.p('new.txt'), { flag: 'a+' }));
  add('readFile flag w truncates', (fs, c) => fs.readFile(c.p('file.txt'), { flag: 'w+' }));
  add('readFile flag number O_RDONLY', (fs, c) => fs.readFile(c.p('file.txt'), { flag: fs.constants.O_RDONLY }));
  add('readFile /dev/null', (fs) => fs.readFile('/dev/null'));
  add('readFile /proc/self/stat length>0', async (fs) => (await fs.readFile('/proc/self/status', 'utf8')).startsWith('Name:'));
  add('readFile signal not aborted', (fs, c) => fs.readFile(c.p('file.txt'), { signal: new AbortController().signal }));
  add('readFile signal pre-aborted', (fs, c) => fs.readFile(c.p('file.txt'), { signal: AbortSignal.abort() }));
  add('readFile signal pre-aborted with reason', (fs, c) => fs.readFile(c.p('file.txt'), { signal: AbortSignal.abort(new Error('why')) }));
  add('readFile signal pre-aborted, missing file', (fs, c) => fs.readFile(c.p('missing'), { signal: AbortSignal.abort() }));
  add('readFile on FileHandle', async (fs, c) => {
    const h = await c.track(fs.open(c.p('file.txt')));
    return [await c.step(() => fs.readFile(h, 'utf8')), await c.step(() => fs.readFile(h, 'utf8'))];
  });

  // --- writeFile / appendFile
  cases.push(...eachForm('writeFile', ['new.txt', 'file.txt', 'dir', 'missing/x', 'file.txt/x', 'link-file', 'link-broken'], () => ['data\n']));
  cases.push(...eachForm('appendFile', ['new.txt', 'file.txt', 'dir', 'missing/x', 'link-file'], () => ['more\n']));
  const datas: [string, () => unknown][] = [
    ['string', () => 'héllo ✓'],
    ['empty string', () => ''],
    ['Buffer', () => Buffer.from([0, 1, 2, 255])],
    ['Uint8Array', () => new Uint8Array([65, 66, 67])],
    ['Uint16Array', () => new Uint16Array([0x4142, 0x4344])],
    ['Float64Array', () => new Float64Array([1.5])],
    ['DataView', () => new DataView(new Uint8Array([1, 2, 3, 4, 5]).buffer, 1, 3)],
    ['subarray', () => Buffer.from('0123456789').subarray(3, 7)],
    ['big buffer', () => Buffer.alloc(200_000, 0x61)],
    ['iterable of strings', () => ['a', 'b', 'c']],
    ['async iterable', () => (async function* () { yield 'x'; yield Buffer.from('y'); })()],
    ['String object', () => new String('boxed')],
    ['object with toString', () => ({ toString: () => 'custom' })],
  ];
  for (const [label, data] of datas) {
    add(`writeFile data ${label}`, (fs, c) => fs.writeFile(c.p('out'), data()));
    add(`appendFile data ${label}`, (fs, c) => fs.appendFile(c.p('file.txt'), data()));
  }
  for (const enc of ['utf8', 'hex', 'base64', 'latin1', 'ucs2', 'ascii']) {
    add(`writeFile encoding ${enc}`, (fs, c) => fs.writeFile(c.p('out'), 'c3RyaW5n', enc));
    add(`appendFile {encoding: ${enc}}`, (fs, c) => fs.appendFile(c.p('out'), 'c3RyaW5n', { encoding: enc }));
  }
  for (const flag of ['w', 'wx', 'a', 'ax', 'w+', 'a+', 'r+', 'as', 'rs+', 'xw', 'xa'] as const) {
    add(`writeFile flag ${flag} existing`, (fs, c) => fs.writeFile(c.p('file.txt'), 'XY', { flag }));
    add(`writeFile flag ${flag} new`, (fs, c) => fs.writeFile(c.p('new'), 'XY', { flag }));
    add(`appendFile flag ${flag}`, (fs, c) => fs.appendFile(c.p('file.txt'), 'XY', { flag }));
  }
  for (const mode of [0o600, 0o755, '640', 0o4755, 0, undefined]) add(`writeFile mode ${String(mode)}`, (fs, c) => fs.writeFile(c.p('new'), 'x', { mode }));
  add('writeFile flush', (fs, c) => fs.writeFile(c.p('new'), 'x', { flush: true }));
  add('appendFile flush', (fs, c) => fs.appendFile(c.p('file.txt'), 'x', { flush: true }));
  add('writeFile signal pre-aborted', (fs, c) => fs.writeFile(c.p('new'), 'x', { signal: AbortSignal.abort() }));
  add('writeFile signal pre-aborted existing', (fs, c) => fs.writeFile(c.p('file.txt'), 'x', { signal: AbortSignal.abort() }));
  add('writeFile signal live', (fs, c) => fs.writeFile(c.p('new'), 'x', { signal: new AbortController().signal }));
  add('writeFile on FileHandle', async (fs, c) => {
    const h = await c.track(fs.open(c.p('file.txt'), 'r+'));
    return [await c.step(() => fs.writeFile(h, 'AB')), await c.step(() => fs.writeFile(h, 'CD')), await c.step(() => fs.appendFile(h, 'EF'))];
  });
  add('writeFile on read-only FileHandle', async (fs, c) => {
    const h = await c.track(fs.open(c.p('file.txt'), 'r'));
    return fs.writeFile(h, 'AB');
  });
  add('writeFile ro file (root may write)', (fs, c) => fs.writeFile(c.p('ro.txt'), 'x'));

  // --- truncate
  for (const len of [undefined, 0, 3, 12, 100, 70_000, 5.0, -0]) add(`truncate ${Object.is(len, -0) ? '-0' : String(len)}`, (fs, c) => fs.truncate(c.p('file.txt'), len));
  cases.push(...eachForm('truncate', ['file.txt', 'dir', 'missing', 'link-file', 'link-broken'], () => [4]));

  // --- copyFile / cp
  cases.push(...eachForm('copyFile', ['file.txt', 'missing', 'dir', 'link-file'], (c) => [c.p('copy')]));
  add('copyFile onto existing', (fs, c) => fs.copyFile(c.p('big'), c.p('file.txt')));
  add('copyFile dest URL/Buffer', async (fs, c) => [await c.step(() => fs.copyFile(c.p('bin'), c.u('c1'))), await c.step(() => fs.copyFile(c.p('bin'), c.b('c2')))]);
  add('copyFile COPYFILE_EXCL existing', (fs, c) => fs.copyFile(c.p('bin'), c.p('file.txt'), fs.constants.COPYFILE_EXCL));
  add('copyFile COPYFILE_EXCL new', (fs, c) => fs.copyFile(c.p('bin'), c.p('new'), fs.constants.COPYFILE_EXCL));
  add('copyFile COPYFILE_FICLONE', (fs, c) => fs.copyFile(c.p('bin'), c.p('new'), fs.constants.COPYFILE_FICLONE));
  add('copyFile COPYFILE_FICLONE_FORCE', (fs, c) => fs.copyFile(c.p('bin'), c.p('new'), fs.constants.COPYFILE_FICLONE_FORCE));
  add('copyFile into missing dir', (fs, c) => fs.copyFile(c.p('bin'), c.p('missing/new')));
  add('copyFile onto dir', (fs, c) => fs.copyFile(c.p('bin'), c.p('dir')));
  add('copyFile to itself', (fs, c) => fs.copyFile(c.p('bin'), c.p('bin')));
  add('cp file', (fs, c) => fs.cp(c.p('file.txt'), c.p('cpf')), { skipUnless: has('cp') });
  add('cp dir recursive', (fs, c) => fs.cp(c.p('dir'), c.p('cpd'), { recursive: true }), { skipUnless: has('cp') });
  add('cp dir without recursive', (fs, c) => fs.cp(c.p('dir'), c.p('cpd')), { skipUnless: has('cp') });
  add('cp errorOnExist', (fs, c) => fs.cp(c.p('bin'), c.p('file.txt'), { force: false, errorOnExist: true }), { skipUnless: has('cp') });
  add('cp filter', (fs, c) => fs.cp(c.p('dir'), c.p('cpd'), { recursive: true, filter: (s: string) => !s.endsWith('b.txt') }), { skipUnless: has('cp') });

  // --- readdir / opendir
  cases.push(...eachForm('readdir', ['', 'dir', 'emptydir', 'file.txt', 'missing', 'link-dir', 'link-broken']));
  const sorted = async (p: Promise<any[]>) => (await p).sort((x: any, y: any) => String(x.name ?? x).localeCompare(String(y.name ?? y)));
  for (const opts of [{ withFileTypes: true }, { encoding: 'buffer' }, { encoding: 'hex' }, { recursive: true }, { withFileTypes: true, recursive: true }, 'buffer', 'latin1', { encoding: 'buffer', withFileTypes: true }]) {
    add(`readdir ${JSON.stringify(opts)}`, (fs, c) => sorted(fs.readdir(c.p('dir'), opts)));
  }
  add('readdir root withFileTypes', (fs, c) => sorted(fs.readdir(c.p(), { withFileTypes: true })));
  const readAll = async (dir: any) => {
    const out: unknown[] = [];
    for await (const d of dir) out.push(d);
    return out.sort((x: any, y: any) => String(x.name).localeCompare(String(y.name)));
  };
  add('opendir iterate', async (fs, c) => readAll(await fs.opendir(c.p('dir'))));
  add('opendir Buffer path', async (fs, c) => { const d = await fs.opendir(c.b('dir')); return [d.path, await readAll(d)]; });
  add('opendir recursive', async (fs, c) => readAll(await fs.opendir(c.p('dir'), { recursive: true })));
  add('opendir bufferSize 1', async (fs, c) => readAll(await fs.opendir(c.p('dir'), { bufferSize: 1 })));
  add('opendir encoding buffer', async (fs, c) => readAll(await fs.opendir(c.p('dir'), { encoding: 'buffer' })));
  add('opendir missing', (fs, c) => fs.opendir(c.p('missing')));
  add('opendir on file', (fs, c) => fs.opendir(c.p('file.txt')));
  add('opendir read/close', async (fs, c) => {
    const d = await fs.opendir(c.p('emptydir'));
    return [await c.step(() => d.read()), await c.step(() => d.close()), await c.step(() => d.close()), await c.step(() => d.read())];
  });

  // --- readlink / realpath
  cases.push(...eachForm('readlink', ['link-file', 'link-abs', 'link-broken', 'link-loop', 'file.txt', 'missing']));
  for (const enc of ['buffer', 'hex', { encoding: 'buffer' }, { encoding: 'utf8' }]) add(`readlink ${JSON.stringify(enc)}`, (fs, c) => fs.readlink(c.p('link-dir'), enc));
  cases.push(...eachForm('realpath', ['link-file', 'link-dir', 'link-abs', 'link-broken', 'link-loop', 'dir/../file.txt', 'missing', '']));
  add('realpath encoding buffer', (fs, c) => fs.realpath(c.p('link-dir'), 'buffer'));
  add('realpath {encoding: hex}', (fs, c) => fs.realpath(c.p('link-file'), { encoding: 'hex' }));

  // --- mkdir / mkdtemp
  cases.push(...eachForm('mkdir', ['newdir', 'dir', 'file.txt', 'missing/x', 'file.txt/x', 'link-dir', 'link-broken']));
  add('mkdir recursive new', (fs, c) => fs.mkdir(c.p('n1/n2/n3'), { recursive: true }));
  add('mkdir recursive existing', (fs, c) => fs.mkdir(c.p('dir/sub'), { recursive: true }));
  add('mkdir recursive through file', (fs, c) => fs.mkdir(c.p('file.txt/n1'), { recursive: true }));
  add('mkdir recursive onto file', (fs, c) => fs.mkdir(c.p('file.txt'), { recursive: true }));
  add('mkdir recursive Buffer', (fs, c) => fs.mkdir(c.b('n1/n2'), { recursive: true }));
  add('mkdir recursive URL', (fs, c) => fs.mkdir(c.u('n1/n2'), { recursive: true }));
  for (const mode of [0o700, 0o755, '750', 0o1777, 0o777, undefined]) {
    add(`mkdir mode ${String(mode)}`, (fs, c) => fs.mkdir(c.p('m'), mode));
    add(`mkdir {mode: ${String(mode)}, recursive}`, (fs, c) => fs.mkdir(c.p('m/n'), { mode, recursive: true }));
  }
  const settle = settleMkdtemp;
  add('mkdtemp', async (fs, c) => settle(c, await fs.mkdtemp(c.p('tmp-'))));
  add('mkdtemp in dir', async (fs, c) => settle(c, await fs.mkdtemp(c.p('dir/x'))));
  add('mkdtemp missing parent', (fs, c) => fs.mkdtemp(c.p('missing/x')), { project: maskMkdtempSuffix });
  add('mkdtemp Buffer prefix', async (fs, c) => settle(c, await fs.mkdtemp(c.b('t'))));
  add('mkdtemp encoding buffer', async (fs, c) => settle(c, await fs.mkdtemp(c.p('t'), 'buffer')));
  add('mkdtemp {encoding: hex}', async (fs, c) => settle(c, await fs.mkdtemp(c.p('t'), { encoding: 'hex' }), 'hex'));
  add('mkdtemp URL prefix', async (fs, c) => {
    const r = await c.step(() => fs.mkdtemp(c.u('u')));
    if (r.how === 'resolved') settle(c, c.p('u') + String(r.value).slice(-6));
    return r.how;
  });

  // --- paths with a lone surrogate: node writes U+FFFD in its place; ringflow/fs lets node answer (src/fs/path-guard.ts)
  const lone = 'lone-\uD800';
  add('writeFile, stat, readFile, rename, unlink a lone-surrogate name', async (fs, c) => [
    await c.step(() => fs.writeFile(c.p(lone), 'x')),
    await c.step(() => fs.stat(c.p(lone)).then((s: { size: number }) => s.size)),
    await c.step(() => fs.readFile(c.p(lone), 'utf8')),
    await c.step(() => fs.rename(c.p(lone), c.p(`${lone}2`))),
    await c.step(() => fs.open(c.p(`${lone}2`)).then((h: { close(): Promise<void> }) => h.close())),
    await c.step(() => fs.unlink(c.p(`${lone}2`))),
    await c.step(() => fs.mkdir(c.p(lone))),
    await c.step(() => fs.symlink(lone, c.p('link-lone'))),
    await c.step(() => fs.lstat(c.p('link-lone')).then((s: { isSymbolicLink(): boolean }) => s.isSymbolicLink())),
  ]);

  // --- rename / link / symlink / unlink / rmdir / rm
  const pairs: [string, string][] = [
    ['file.txt', 'renamed'], ['file.txt', 'bin'], ['file.txt', 'dir'], ['dir', 'emptydir'], ['dir', 'file.txt'],
    ['emptydir', 'dir'], ['missing', 'x'], ['file.txt', 'missing/x'], ['dir', 'dir/sub/inside'], ['link-dir', 'ld2'],
    ['file.txt', 'file.txt'], ['file.txt', 'file.txt/x'],
  ];
  for (const [from, to] of pairs) {
    add(`rename ${from} -> ${to}`, (fs, c) => fs.rename(c.p(from), c.p(to)));
    add(`link ${from} -> ${to}`, (fs, c) => fs.link(c.p(from), c.p(to)));
  }
  add('rename Buffer/URL', (fs, c) => fs.rename(c.b('file.txt'), c.u('r')));
  add('link URL/Buffer', (fs, c) => fs.link(c.u('file.txt'), c.b('l')));
  for (const [target, path, type] of [
    ['file.txt', 'sl', undefined], ['nowhere', 'sl', undefined], ['dir', 'sl', 'dir'], ['dir', 'sl', 'junction'], ['file.txt', 'sl', 'file'],
    ['file.txt', 'file.txt', undefined], ['x', 'missing/sl', undefined], ['', 'sl', undefined], ['a/../../b', 'sl', null],
  ] as const) {
    add(`symlink ${target} ${path} ${type}`, (fs, c) => fs.symlink(target, c.p(path), type));
  }
  add('symlink absolute target', (fs, c) => fs.symlink(c.p('dir'), c.p('sl')));
  add('symlink Buffer target', (fs, c) => fs.symlink(Buffer.from('file.txt'), c.b('sl')));
  add('symlink URL target', (fs, c) => fs.symlink(c.u('file.txt'), c.u('sl')));
  cases.push(...eachForm('unlink', ['file.txt', 'dir', 'missing', 'link-file', 'link-dir', 'link-broken', 'file.txt/x', 'dir/a.txt']));
  cases.push(...eachForm('rmdir', ['emptydir', 'dir', 'file.txt', 'missing', 'link-dir', 'emptydir/.', 'dir/sub/..']));
  add('rmdir recursive:false', (fs, c) => fs.rmdir(c.p('emptydir'), { recursive: false }));
  cases.push(...eachForm('rm', ['file.txt', 'dir', 'emptydir', 'missing', 'link-dir', 'link-broken']));
  for (const opts of [{ recursive: true }, { force: true }, { recursive: true, force: true }, { maxRetries: 2, retryDelay: 1, recursive: true }]) {
    for (const rel of ['dir', 'missing', 'file.txt', 'link-dir']) add(`rm ${rel} ${JSON.stringify(opts)}`, (fs, c) => fs.rm(c.p(rel), opts));
  }

  // --- attributes
  for (const mode of [0o600, 0o755, 0o4711, '644', '0755', 0o7777, 0]) {
    add(`chmod ${String(mode)}`, (fs, c) => fs.chmod(c.p('file.txt'), mode));
  }
  cases.push(...eachForm('chmod', ['dir', 'missing', 'link-file', 'link-broken'], () => [0o700]));
  add('lchmod', (fs, c) => fs.lchmod(c.p('link-file'), 0o700));
  for (const [uid, gid] of [[0, 0], [1000, 1000], [-1, -1], [-1, 0], [65534, 65534]]) {
    add(`chown ${uid} ${gid}`, (fs, c) => fs.chown(c.p('file.txt'), uid, gid));
    add(`lchown ${uid} ${gid}`, (fs, c) => fs.lchown(c.p('link-file'), uid, gid));
  }
  cases.push(...eachForm('chown', ['missing', 'link-broken'], () => [0, 0]));
  cases.push(...eachForm('lchown', ['missing', 'link-broken'], () => [0, 0]));
  const timeForms: [string, unknown][] = [
    ['seconds', 1_600_000_000], ['fractional', 1_600_000_000.123456], ['Date', new Date('2021-05-06T07:08:09.010Z')],
    ['numeric string', '1500000000'], ['zero', 0],
  ];
  for (const [label, t] of timeForms) {
    add(`utimes ${label}`, (fs, c) => fs.utimes(c.p('file.txt'), t, t), { times: ['file.txt'] });
    add(`lutimes ${label}`, (fs, c) => fs.lutimes(c.p('link-file'), t, t), { times: ['link-file'] });
  }
  // Negative and non-finite numbers mean "now" in Node: the times differ by the run's timing.
  add('utimes negative (now)', (fs, c) => fs.utimes(c.p('file.txt'), -1000.5, NaN));
  add('utimes through link', (fs, c) => fs.utimes(c.p('link-file'), 1e9, 2e9), { times: ['file.txt'] });
  cases.push(...eachForm('utimes', ['dir'], () => [1e9, 1e9], { times: ['dir'] }));
  cases.push(...eachForm('utimes', ['missing', 'link-broken'], () => [1e9, 1e9]));

  // --- watch / glob
  add('watch pre-aborted', async (fs, c) => {
    const it = fs.watch(c.p('dir'), { signal: AbortSignal.abort() });
    return [typeof it[Symbol.asyncIterator], await c.step(() => it.next())];
  });
  add('watch missing', async (fs, c) => {
    const it = fs.watch(c.p('missing'));
    return c.step(() => it.next());
  });
  add('watch sees a write', async (fs, c) => {
    const ac = new AbortController();
    const it = fs.watch(c.p('dir'), { signal: ac.signal });
    const first = it.next();
    await new Promise((r) => setTimeout(r, 20));
    await fs.writeFile(c.p('dir/a.txt'), 'changed');
    const ev = await first;
    ac.abort();
    return [ev.done, ev.value?.filename];
  });
  add('glob', async (fs, c) => {
    const out: unknown[] = [];
    for await (const x of fs.glob('**/*.txt', { cwd: c.p() })) out.push(x);
    return out.sort();
  }, { skipUnless: has('glob') });
  add('glob withFileTypes', async (fs, c) => {
    const out: any[] = [];
    for await (const x of fs.glob('dir/*', { cwd: c.p(), withFileTypes: true })) out.push(x);
    return out.sort((x, y) => x.name.localeCompare(y.name));
  }, { skipUnless: has('glob') });
  return cases;
}
