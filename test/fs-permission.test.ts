/**
 * ringflow/fs under Node's permission model (`--permission`, `--allow-fs-*`, `--allow-addons`):
 * node:fs refuses paths the process was not granted, and ringflow/fs must not be a way around
 * that (src/fs/permission.ts). Each call runs in a child on ringflow/fs and on node:fs/promises;
 * the outcomes must be the same (the value, or ERR_ACCESS_DENIED with the same permission and
 * resource), and only granted calls may reach the ring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { CPU_TIME_SCALE, tempDir } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fsUrl = new URL('../src/fs/index.js', import.meta.url).href;
const indexUrl = new URL('../src/index.js', import.meta.url).href;
/** The flag that turns the model on: --permission (22.13+, 23.5+), else Node 20's --experimental-permission. */
const permissionFlag = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';

/** A call whose outcome on node:fs/promises is racy (its thread pool against process.chdir): only checked to stay off the ring. */
const RACE = 'writeFile relative, chdir to ro before the open';

interface Outcome {
  ok?: unknown;
  code?: string;
  permission?: string;
  resource?: string;
  message?: string;
  /** io_uring_enter calls the call made on the explicit ring (ringflow only). */
  enters?: number;
}

test('under the permission model ringflow/fs refuses what node:fs refuses, and only granted paths reach the ring', (t) => {
  if (!process.allowedNodeEnvironmentFlags.has('--allow-addons')) return t.skip(`this Node (${process.version}) has no --allow-addons: ringflow cannot load under its permission model`);
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  // two identical trees, one per implementation (the calls change them); outcomes are compared with the tree's path as <tree>
  for (const tree of ['ours', 'node']) {
    for (const d of ['rw', 'ro', 'none']) mkdirSync(join(dir, tree, d), { recursive: true });
    writeFileSync(join(dir, tree, 'ro', 'a'), 'read only');
    writeFileSync(join(dir, tree, 'none', 'b'), 'secret');
    writeFileSync(join(dir, tree, 'rw', 'c'), 'mine');
  }
  const at = (...p: string[]) => `(T + ${JSON.stringify(`/${p.join('/')}`)})`;
  // [label, the call with `f` standing for the fs surface and T for its tree] — each runs on ringflow/fs, then on node:fs/promises
  const calls: [string, string][] = [
    ['readFile ro', `f.readFile(${at('ro', 'a')}, 'utf8')`],
    ['readFile none', `f.readFile(${at('none', 'b')}, 'utf8')`],
    ['readFile none (URL)', `f.readFile(pathToFileURL(${at('none', 'b')}))`],
    ['readFile none (Buffer path)', `f.readFile(Buffer.from(${at('none', 'b')}))`],
    ['readFile none (relative)', `(process.chdir(${at('none')}), f.readFile('b', 'utf8'))`],
    ['readFile ro flag r+', `f.readFile(${at('ro', 'a')}, { flag: 'r+', encoding: 'utf8' })`],
    ['stat ro', `f.stat(${at('ro', 'a')}).then((s) => s.size)`],
    ['stat none', `f.stat(${at('none', 'b')}).then((s) => s.size)`],
    ['lstat none', `f.lstat(${at('none', 'b')}).then((s) => s.size)`],
    ['open ro', `f.open(${at('ro', 'a')}).then(async (h) => { const r = await h.read(Buffer.alloc(4), 0, 4, 0); await h.close(); return r.bytesRead; })`],
    ['open ro r+', `f.open(${at('ro', 'a')}, 'r+').then((h) => h.close())`],
    ['open none', `f.open(${at('none', 'b')}).then((h) => h.close())`],
    ['writeFile rw', `f.writeFile(${at('rw', 'n')}, 'new')`],
    ['writeFile ro', `f.writeFile(${at('ro', 'x')}, 'no')`],
    ['appendFile ro', `f.appendFile(${at('ro', 'a')}, 'no')`],
    ['truncate ro', `f.truncate(${at('ro', 'a')}, 1)`],
    ['mkdir rw', `f.mkdir(${at('rw', 'd')})`],
    ['mkdir ro', `f.mkdir(${at('ro', 'd')})`],
    ['rename rw to ro', `f.rename(${at('rw', 'n')}, ${at('ro', 'n2')})`],
    ['rename rw to rw', `f.rename(${at('rw', 'n')}, ${at('rw', 'n2')})`],
    ['unlink ro', `f.unlink(${at('ro', 'a')})`],
    ['unlink rw', `f.unlink(${at('rw', 'n2')})`],
    ['rmdir rw', `f.rmdir(${at('rw', 'd')})`],
    ['symlink into ro', `f.symlink(${at('rw', 'c')}, ${at('ro', 'link')})`],
    ['link into ro', `f.link(${at('rw', 'c')}, ${at('ro', 'hard')})`],
    ['readFile rw', `f.readFile(${at('rw', 'c')}, 'utf8')`],
    // what is checked must be what goes to the ring (found by an attack helper): an option or a
    // path that answers differently when read again, and a relative path whose directory changes
    ['readFile ro flag getter', `(() => { let n = 0; return f.readFile(${at('ro', 'a')}, { get flag() { return n++ ? 'w' : 'r'; }, encoding: 'utf8' }); })()`],
    ['readFile ro, encoding getter turns flag to w', `(() => { const o = { flag: 'r', get encoding() { o.flag = 'w'; return 'utf8'; } }; return f.readFile(${at('ro', 'a')}, o); })()`],
    ['readFile ro inherited flag', `f.readFile(${at('ro', 'a')}, Object.assign(Object.create({ flag: 'a+' }), { encoding: 'utf8' }))`],
    ['readFile URL getter', `f.readFile(new (class extends URL { k = 0; get pathname() { return this.k++ ? ${at('none', 'b')} : ${at('ro', 'a')}; } })('file:///x'), 'utf8')`],
    ['writeFile URL getter', `f.writeFile(new (class extends URL { k = 0; get pathname() { return this.k++ ? ${at('ro', 'u')} : ${at('rw', 'u')}; } })('file:///x'), 'x')`],
    ['readFile rw (URL)', `f.readFile(pathToFileURL(${at('rw', 'c')}), 'utf8')`],
    [RACE, `(process.chdir(${at('rw')}), ((p) => (process.chdir(${at('ro')}), p))(f.writeFile('cw', 'x')))`],
    ['stat empty path', `f.stat('')`],
    ['readFile empty path', `f.readFile('')`],
    // node's behaviours that differ by line, probed where the model lets node:fs look
    ['stat ro aborted signal', `f.stat(${at('ro', 'a')}, { signal: AbortSignal.abort() }).then((s) => s.size)`],
    ['stat ro throwIfNoEntry', `f.stat(${at('ro', 'zz')}, { throwIfNoEntry: false }).then(String)`],
    ['readFile ro dir', `f.readFile(${at('ro')})`],
    ['fh.read bad position', `f.open(${at('ro', 'a')}).then(async (h) => { try { return (await h.read(Buffer.alloc(4), 0, 1, 'x')).bytesRead; } finally { await h.close(); } })`],
    ['fh.stat(123)', `f.open(${at('ro', 'a')}).then(async (h) => { try { return (await h.stat(123)).size; } finally { await h.close(); } })`],
    // code that replaces built-ins after ringflow/fs loaded (a second attack helper): the guard uses
    // what it took at load and a brand check (such code could use the Ring API itself, which the
    // model does not reach; these only keep ringflow/fs from being the easier way round it)
    ['readFile none, FileHandle[Symbol.hasInstance] replaced', `f.open(${at('rw', 'c')}).then(async (h) => { const C = h.constructor; await h.close(); if (f === nodeFs) return f.readFile(${at('none', 'b')}, 'utf8'); let arm = true; Object.defineProperty(C, Symbol.hasInstance, { configurable: true, value: (v) => (typeof v === 'string' && arm ? ((arm = false), true) : Function.prototype[Symbol.hasInstance].call(C, v)) }); try { return await f.readFile(${at('none', 'b')}, 'utf8'); } finally { delete C[Symbol.hasInstance]; } })`],
    ['readFile none, String.prototype.includes and indexOf replaced', `(() => { const inc = String.prototype.includes, io = String.prototype.indexOf; String.prototype.includes = function (s, ...r) { return s === '\\0' ? false : inc.call(this, s, ...r); }; String.prototype.indexOf = function (s, ...r) { return s === '\\0' ? -1 : io.call(this, s, ...r); }; try { return f.readFile(${at('none', 'b')} + '\\0/../../rw/c', 'utf8'); } finally { String.prototype.includes = inc; String.prototype.indexOf = io; } })()`],
    ['readFile none, Function.prototype.apply replaced', `(async () => { const apply = Function.prototype.apply; let leaked; Function.prototype.apply = function (t, a) { if (this.name === 'readFile') leaked ??= this; return Reflect.apply(this, t, a ?? []); }; try { await f.readFile(${at('ro', 'a')}); } finally { Function.prototype.apply = apply; } return (leaked ?? f.readFile)(${at('none', 'b')}, 'utf8'); })()`],
    ['readFile none, Array.prototype[Symbol.iterator] replaced', `(() => { const it = Array.prototype[Symbol.iterator]; Array.prototype[Symbol.iterator] = function () { Array.prototype[Symbol.iterator] = it; return this.length === 1 && this[0] === 0 ? it.call([]) : it.call(this); }; try { return f.readFile(${at('none', 'b')}, 'utf8'); } finally { Array.prototype[Symbol.iterator] = it; } })()`],
    ['readFile closed handle', `f.open(${at('ro', 'a')}).then(async (h) => { await h.close(); return f.readFile(h); })`],
  ];
  const script = `
    import { pathToFileURL } from 'node:url';
    import nodeFs from 'node:fs/promises';
    import { createFs } from ${JSON.stringify(fsUrl)};
    import { Ring } from ${JSON.stringify(indexUrl)};
    const ring = new Ring();
    const ours = createFs({ ring });
    const cwd = process.cwd();
    const run = async (f, src) => {
      const T = ${JSON.stringify(dir)} + (f === ours ? '/ours' : '/node');
      const before = ring.stats().enterCalls;
      let out;
      try { out = { ok: await eval(src) }; }
      catch (e) { out = { code: e.code, permission: e.permission, resource: e.resource, message: e.message }; }
      process.chdir(cwd);
      out = JSON.parse(JSON.stringify(out).replaceAll(T, '<tree>'));
      if (f === ours) out.enters = ring.stats().enterCalls - before;
      return out;
    };
    const results = [];
    for (const [label, src] of ${JSON.stringify(calls)}) results.push([label, await run(ours, src), await run(nodeFs, src)]);
    // process.permission.has is writable: ringflow/fs took it when it loaded
    process.permission.has = () => true;
    results.push(['readFile none, has() replaced', await run(ours, ${JSON.stringify(`f.readFile(${at('none', 'b')}, 'utf8')`)}), await run(nodeFs, ${JSON.stringify(`f.readFile(${at('none', 'b')}, 'utf8')`)})]);
    await ring.close();
    console.log('RESULT ' + JSON.stringify(results));`;
  const args = [
    permissionFlag,
    '--allow-addons',
    `--allow-fs-read=${root}`,
    ...['ours', 'node'].flatMap((tree) => [`--allow-fs-read=${join(dir, tree, 'ro')}`, `--allow-fs-read=${join(dir, tree, 'rw')}`, `--allow-fs-write=${join(dir, tree, 'rw')}`]),
    '--no-warnings',
    '--input-type=module',
    '-e',
    script,
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 * CPU_TIME_SCALE });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, r.stdout + r.stderr);
  const results = JSON.parse(line.slice('RESULT '.length)) as [string, Outcome, Outcome][];
  const denied: string[] = [];
  for (const [label, ours, theirs] of results) {
    const { enters, ...same } = ours;
    if (label === RACE) {
      assert.equal(enters, 0, `${label}: a relative path went to the ring`);
      continue;
    }
    assert.deepEqual(same, theirs, `${label}: ringflow/fs answered ${JSON.stringify(ours)}, node:fs/promises ${JSON.stringify(theirs)}`);
    if (theirs.code === 'ERR_ACCESS_DENIED') {
      denied.push(label);
      // (two cases make granted calls first: the Symbol.hasInstance one opens and closes rw/c, the apply one reads ro/a)
      const own = label.includes('Symbol.hasInstance') ? 2 : label.includes('Function.prototype.apply') ? 1 : 0;
      assert.equal(enters, own, `${label}: refused by node, yet ringflow/fs went to the ring`);
    }
  }
  // what the model refuses here (an empty path: Node 22+ refuse it, 20 answers ENOENT; either way as node), and that a granted call does use the ring
  assert.deepEqual(denied.filter((l) => !l.includes('empty path')), [
    'readFile none',
    'readFile none (URL)',
    'readFile none (Buffer path)',
    'readFile none (relative)',
    'readFile ro flag r+',
    'stat none',
    'lstat none',
    'open ro r+',
    'open none',
    'writeFile ro',
    'appendFile ro',
    'truncate ro',
    'mkdir ro',
    'rename rw to ro',
    'unlink ro',
    'symlink into ro',
    'link into ro',
    'readFile ro, encoding getter turns flag to w', // (node reads the encoding first)
    'readFile ro inherited flag',
    'readFile none, FileHandle[Symbol.hasInstance] replaced',
    'readFile none, Function.prototype.apply replaced',
    'readFile none, Array.prototype[Symbol.iterator] replaced',
    'readFile none, has() replaced',
  ]);
  const granted = new Map(results.map(([label, ours]) => [label, ours]));
  // (a granted stat of a cached path answers from the kernel's caches on this thread: no enter to count)
  for (const label of ['readFile ro', 'open ro', 'writeFile rw', 'mkdir rw', 'rename rw to rw', 'unlink rw', 'readFile rw'])
    assert.ok((granted.get(label)?.enters ?? 0) > 0, `${label}: granted, and went through the ring`);
  for (const f of ['x', 'd', 'n2', 'link', 'hard', 'u']) assert.equal(existsSync(join(dir, 'ours', 'ro', f)), false, `ro/${f} was made`);
  assert.equal(readFileSync(join(dir, 'ours', 'ro', 'a'), 'utf8'), 'read only', 'ro/a kept its bytes');
  for (const label of ['readFile ro flag getter', 'readFile ro, encoding getter turns flag to w', 'readFile ro inherited flag', 'readFile URL getter', 'writeFile URL getter'])
    assert.equal(granted.get(label)?.enters, 0, `${label}: not checkable as given, so node:fs/promises ran it`);
  assert.ok((granted.get('readFile rw (URL)')?.enters ?? 0) > 0, 'a plain file: URL that is granted goes through the ring');
});
