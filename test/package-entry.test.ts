/**
 * The package as users import it: 'ringflow' and 'ringflow/fs' resolve to the bundled entries in
 * dist/pkg/ (tools/bundle.ts), which must be the same API as dist/src/ (every export, node's fs
 * surface), share one Ring class between them, find the files the package ships (the addon, the
 * prebuilt programs) from their own directory, and work in a fresh process and in a worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { readFileSync, existsSync, writeFileSync, rmSync, mkdirSync, symlinkSync } from 'node:fs';
import * as nodeFsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { CPU_TIME_SCALE, tempDir } from './helpers.js';
import { unwrapLocalNames } from '../tools/bundle-names.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entryUrl = import.meta.resolve('ringflow');
const fsUrl = import.meta.resolve('ringflow/fs');

type Pkg = typeof import('../src/index.js');
type PkgFs = typeof import('../src/fs/index.js');
const pkg = (await import('ringflow' as string)) as Pkg;
const pkgFs = (await import('ringflow/fs' as string)) as PkgFs;

test('the package entries are the bundled files in dist/pkg, beside their shared chunk', () => {
  assert.equal(fileURLToPath(entryUrl), join(root, 'dist', 'pkg', 'ringflow.js'));
  assert.equal(fileURLToPath(fsUrl), join(root, 'dist', 'pkg', 'fs.js'));
  // esbuild present (a devDependency): the entries import a chunk rather than re-exporting dist/src
  const fsText = readFileSync(fileURLToPath(fsUrl), 'utf8');
  assert.doesNotMatch(fsText, /from "\.\.\/src\//, 'dist/pkg/fs.js re-exports dist/src: run npm run build:ts with esbuild installed');
  const chunk = /from "\.\/(chunk-[A-Z0-9]+\.js)"/.exec(fsText);
  assert.ok(chunk, 'fs.js imports a shared chunk');
  assert.match(readFileSync(fileURLToPath(entryUrl), 'utf8'), new RegExp(`from "\\./${chunk[1].replace('.', '\\.')}"`), 'both entries import the same chunk');
});

test("'ringflow' exports exactly what src/index.ts exports, and 'ringflow/fs' what src/fs/index.ts does", async () => {
  const src = await import('../src/index.js');
  assert.deepEqual(Object.keys(pkg).sort(), Object.keys(src).sort());
  const srcFs = await import('../src/fs/index.js');
  assert.deepEqual(Object.keys(pkgFs).sort(), Object.keys(srcFs).sort());
  // node's surface: the named exports of node:fs/promises plus createFs, the default's keys in node's order
  assert.deepEqual(Object.keys(pkgFs).sort(), [...Object.keys(nodeFsp), 'createFs'].filter((k) => k !== 'default').concat('default').sort());
  assert.deepEqual(Object.keys(pkgFs.default), Object.keys((nodeFsp as unknown as { default: object }).default));
});

test("a Ring from 'ringflow' is the Ring 'ringflow/fs' takes, with the full API on it", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ring = new pkg.Ring();
  t.after(() => ring.close());
  const fs = pkgFs.createFs({ ring });
  const p = join(dir, 'a.txt');
  await fs.writeFile(p, 'bundled');
  assert.equal(await fs.readFile(p, 'utf8'), 'bundled');
  assert.equal(ring.stats().enterCalls > 0, true, 'the calls went through the ring given');
  assert.equal(typeof ring.bufferGroup, 'function'); // installed by the package entry (buffers)
  assert.equal(typeof ring.registerProgram, 'function'); // (completion programs)
  assert.throws(() => pkgFs.createFs({ ring: {} as never }), /options\.ring must be a Ring/);
});

test("'ringflow/fs' answers as node:fs/promises does: results, errors, FileHandles", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const fs = pkgFs.default;
  const p = join(dir, 'b.bin');
  await fs.writeFile(p, Buffer.from([1, 2, 3, 4]));
  assert.equal((await fs.stat(p)).size, 4);
  const h = await fs.open(p, 'r');
  const nh = await nodeFsp.open(p, 'r');
  const buf = Buffer.alloc(2);
  assert.deepEqual(await h.read(buf, 0, 2, 2), await nh.read(Buffer.alloc(2), 0, 2, 2)); // { bytesRead, buffer }, null prototype as node's
  assert.deepEqual([...buf], [3, 4]);
  await Promise.all([h.close(), nh.close()]);
  const missing = join(dir, 'missing');
  const ours = (await fs.readFile(missing).catch((e: unknown) => e)) as NodeJS.ErrnoException;
  const theirs = (await nodeFsp.readFile(missing).catch((e: unknown) => e)) as NodeJS.ErrnoException;
  assert.ok(ours instanceof Error);
  for (const k of ['message', 'code', 'errno', 'syscall', 'path'] as const) assert.equal(ours[k], theirs[k], k);
  await fs.unlink(p);
  assert.equal(existsSync(p), false);
});

test("the bundle finds the files the package ships: the addon and the prebuilt programs", () => {
  assert.deepEqual(pkg.builtinObject('echo'), readFileSync(join(root, 'programs', 'echo.bpf.o')));
  const obj = pkg.loadObject(pkg.builtinObject('chain'));
  assert.ok(obj.programs.length > 0, 'the verifier and loader run from the bundle');
});

test("a fresh process that imports only 'ringflow/fs' works and exits by itself", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const p = join(dir, 'c.txt');
  writeFileSync(p, 'fresh');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import fs from 'ringflow/fs'; console.log('read', await fs.readFile(${JSON.stringify(p)}, 'utf8'));`], {
    cwd: root, // the package's own name resolves inside it (self-reference through "exports")
    encoding: 'utf8',
    timeout: 20_000 * CPU_TIME_SCALE,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /read fresh/);
});

test("CommonJS: require('ringflow') and require('ringflow/fs') load the same modules import does (one Ring class, one default ring)", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const p = join(dir, 'cjs.txt');
  writeFileSync(p, 'required');
  // require(esm): the bundle has no top-level await, so require() returns its namespace (Node 20.19+, 22.12+)
  const script = `
    const fs = require('ringflow/fs');
    const { Ring } = require('ringflow');
    (async () => {
      const esm = await import('ringflow');
      const esmFs = await import('ringflow/fs');
      console.log('same', Ring === esm.Ring, fs.default === esmFs.default, fs.__esModule === true);
      console.log('read', await fs.readFile(${JSON.stringify(p)}, 'utf8'), await fs.default.readFile(${JSON.stringify(p)}, 'utf8'));
      const ring = new Ring();
      console.log('nop', await ring.nop());
      await ring.close();
    })().catch((e) => { console.error(e); process.exitCode = 1; });`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 * CPU_TIME_SCALE });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /same true true true/, 'one module instance for require and import (no dual package)');
  assert.match(r.stdout, /read required required/);
  assert.match(r.stdout, /nop 0/);
});

test('CommonJS where require() cannot load an ES module (Jest, Node 20 before 20.19): the "require" condition loads dist/pkg/*.cjs, the same API, one Ring between both entries', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const p = join(dir, 'fallback.txt');
  writeFileSync(p, 'commonjs');
  const expected = {
    main: Object.keys(pkg).sort(),
    fs: Object.keys(pkgFs).sort(),
    names: Object.entries(pkgFs).filter(([, v]) => typeof v === 'function').map(([k, v]) => `${k}:${(v as { name: string }).name}`).sort(), // (a namespace's keys are sorted; a CommonJS object's are in the order they were made)
  };
  const script = `
    const assert = require('node:assert/strict');
    const fsPath = require.resolve('ringflow/fs'), mainPath = require.resolve('ringflow');
    const fs = require('ringflow/fs');
    const main = require('ringflow');
    const expected = ${JSON.stringify(expected)};
    (async () => {
      assert.deepEqual([fsPath, mainPath].map((f) => f.slice(f.lastIndexOf('/') + 1)), ['fs.cjs', 'ringflow.cjs']);
      assert.deepEqual(Object.keys(main).sort(), expected.main);
      assert.deepEqual(Object.keys(fs).sort(), expected.fs);
      assert.deepEqual(Object.entries(fs).filter(([, v]) => typeof v === 'function').map(([k, v]) => k + ':' + v.name).sort(), expected.names);
      assert.equal(fs.__esModule, true);
      const ring = new main.Ring();
      const viaRing = fs.createFs({ ring }); // one Ring class: the entries are views of one bundle
      assert.equal(await viaRing.readFile(${JSON.stringify(p)}, 'utf8'), 'commonjs');
      assert.equal(ring.stats().enterCalls > 0, true);
      assert.equal(await fs.default.readFile(${JSON.stringify(p)}, 'utf8'), 'commonjs');
      const err = await fs.readFile(${JSON.stringify(p)} + '.missing').catch((e) => e);
      assert.equal(err.code, 'ENOENT');
      assert.deepEqual(main.builtinObject('echo'), require('node:fs').readFileSync(${JSON.stringify(join(root, 'programs', 'echo.bpf.o'))})); // the package root found from the .cjs
      await ring.close();
      console.log('fallback ok');
    })().catch((e) => { console.error(e); process.exitCode = 1; });`;
  // --no-experimental-require-module: Node's require() without require(esm), as Jest's is
  const r = spawnSync(process.execPath, ['--no-experimental-require-module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 * CPU_TIME_SCALE });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /fallback ok/);
});

test('a TypeScript project compiled to CommonJS imports both entries: types resolve (node10 and nodenext) and the output runs', (t) => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) return t.skip('typescript (a devDependency) is not installed');
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'ringflow'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  writeFileSync(
    join(dir, 'index.ts'),
    [
      `import fs from 'ringflow/fs';`,
      `import * as star from 'ringflow/fs';`,
      `import { readFile, type FileHandle } from 'ringflow/fs';`,
      `import { Ring } from 'ringflow';`,
      `async function main(): Promise<void> {`,
      `  const a: Buffer = await fs.readFile(__filename);`,
      `  const b: string = await star.readFile(__filename, 'utf8');`,
      `  const fh: FileHandle = await star.open(__filename);`,
      `  await fh.close();`,
      `  const ring = new Ring();`,
      `  const n: number = await ring.nop();`,
      `  await ring.close();`,
      `  console.log('ran', a.length === b.length, (await readFile(__filename, 'utf8')) === b, n);`,
      `}`,
      `main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });`,
      // a wrong type must still be an error: the types are really there, not an implicit any
      `// @ts-expect-error readFile resolves a Buffer without an encoding`,
      `export const wrong: Promise<number> = fs.readFile(__filename);`,
      '',
    ].join('\n'),
  );
  const typeRoots = [join(root, 'node_modules', '@types')];
  for (const [name, module, moduleResolution, interop] of [
    ['node10', 'commonjs', 'node10', true],
    ['nodenext', 'nodenext', 'nodenext', false],
  ] as const) {
    const outDir = join(dir, `out-${name}`);
    const config = { compilerOptions: { module, moduleResolution, esModuleInterop: interop, strict: true, target: 'es2022', outDir, typeRoots, types: ['node'] }, files: ['index.ts'] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
    const c = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', timeout: 120_000 * CPU_TIME_SCALE });
    assert.equal(c.status, 0, `${name}: tsc failed\n${c.stdout}${c.stderr}`);
    const out = join(outDir, 'index.js');
    assert.match(readFileSync(out, 'utf8'), /require\("ringflow\/fs"\)/, `${name}: compiled to require()`);
    const r = spawnSync(process.execPath, [out], { cwd: dir, encoding: 'utf8', timeout: 20_000 * CPU_TIME_SCALE });
    assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /ran true true 0/, name);
  }
  // TypeScript 6+ defaults "types" to []: the package's declarations reference node's types
  // themselves, so a file that uses no Node global of its own still type-checks against them
  writeFileSync(
    join(dir, 'plain.ts'),
    [
      `import fs from 'ringflow/fs';`,
      `import { Ring } from 'ringflow';`,
      `export async function main(path: string): Promise<number> {`,
      `  await using ring = new Ring();`,
      `  return (await ring.nop()) + (await fs.readFile(path)).length;`,
      `}`,
      '',
    ].join('\n'),
  );
  const config = { compilerOptions: { module: 'nodenext', strict: true, target: 'es2022', noEmit: true, types: [] }, files: ['plain.ts'] };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  const c = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', timeout: 120_000 * CPU_TIME_SCALE });
  assert.equal(c.status, 0, `types []: tsc failed\n${c.stdout}${c.stderr}`);
});

test('without its addon (npm skipped the install script) the import says how to build it', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  // native.js alone, at its depth in a package root (its package.json names ringflow) that has no build/
  mkdirSync(join(dir, 'dist', 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "name": "ringflow", "type": "module" }\n');
  writeFileSync(join(dir, 'dist', 'src', 'native.js'), readFileSync(join(root, 'dist', 'src', 'native.js')));
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(new URL(`file://${join(dir, 'dist', 'src', 'native.js')}`).href)});`], {
    encoding: 'utf8',
    timeout: 20_000 * CPU_TIME_SCALE,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ringflow: the native addon is not built \(looked for [^)]*build\/Release\/ringflow\.node/);
  assert.match(r.stderr, /npm install-scripts approve ringflow", then run "npm rebuild ringflow"/);
});

test("bundled into an application's file, ringflow says to keep it external instead of looking for its addon in the wrong place", async (t) => {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return t.skip('esbuild (a devDependency) is not installed');
  }
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const outfile = join(dir, 'app', 'server.mjs');
  await esbuild.build({
    stdin: { contents: `import fs from 'ringflow/fs'; console.log((await fs.readFile('/etc/hostname')).length);`, resolveDir: root, sourcefile: 'app.js' },
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    logLevel: 'silent',
  });
  const r = spawnSync(process.execPath, [outfile], { encoding: 'utf8', timeout: 20_000 * CPU_TIME_SCALE });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ringflow: its code runs from [^ ]*server\.mjs, outside the ringflow package/);
  assert.match(r.stderr, /Keep ringflow out of the bundle \(esbuild --external:ringflow/);
});

test("'ringflow/fs' in a worker thread: its own default ring, results back to the parent", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const p = join(dir, 'w.txt');
  writeFileSync(p, 'worker');
  const w = new Worker(
    `import(${JSON.stringify(fsUrl)}).then(async ({ default: fs }) => {
       const { parentPort, workerData } = await import('node:worker_threads');
       parentPort.postMessage(await fs.readFile(workerData, 'utf8'));
     });`,
    { eval: true, workerData: p },
  );
  const [msg] = await Promise.all([new Promise((resolve, reject) => w.once('message', resolve).once('error', reject)), new Promise((resolve) => w.once('exit', resolve))]);
  assert.equal(msg, 'worker');
});

test('without esbuild the entries re-export dist/src, and the package works the same', async (t) => {
  const dir = join(root, 'dist', `pkg-fallback-${process.pid}`); // at dist/pkg's depth
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [join(root, 'dist', 'tools', 'bundle.js'), '--out', dir, '--no-esbuild'], { encoding: 'utf8', timeout: 60_000 * CPU_TIME_SCALE });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /esbuild is not installed/);
  assert.equal(readFileSync(join(dir, 'fs.js'), 'utf8'), 'export * from "../src/fs/index.js";\nexport { default } from "../src/fs/index.js";\n');
  const fb = (await import(new URL(`file://${join(dir, 'fs.js')}`).href)) as PkgFs;
  const fbMain = (await import(new URL(`file://${join(dir, 'ringflow.js')}`).href)) as Pkg;
  assert.deepEqual(Object.keys(fb).sort(), Object.keys(pkgFs).sort());
  assert.deepEqual(Object.keys(fbMain).sort(), Object.keys(pkg).sort());
  assert.equal(fb.default, (await import('../src/fs/index.js')).default, 'the fallback is dist/src itself');
});

test('every exported function and class of both entries has its source name (keepNames, and no rename leaks: readFile3, _Ring)', async () => {
  const src = await import('../src/index.js');
  const srcFs = await import('../src/fs/index.js');
  const names = (m: Record<string, unknown>) => Object.entries(m).filter(([, v]) => typeof v === 'function').map(([k, v]) => [k, (v as { name: string }).name]);
  assert.deepEqual(names(pkg as unknown as Record<string, unknown>), names(src as unknown as Record<string, unknown>));
  assert.deepEqual(names(pkgFs as unknown as Record<string, unknown>), names(srcFs as unknown as Record<string, unknown>));
  assert.deepEqual(names(pkgFs.default as unknown as Record<string, unknown>), names(srcFs.default as unknown as Record<string, unknown>));
  // (installed in another order: the bundle evaluates src/ring/core.ts's modules first)
  const methods = (c: { prototype: object }) => Object.getOwnPropertyNames(c.prototype).sort().map((k) => [k, (Object.getOwnPropertyDescriptor(c.prototype, k)!.value as { name?: string } | undefined)?.name]);
  assert.deepEqual(methods(pkg.Ring), methods(src.Ring));
  assert.equal(pkg.Ring.name, 'Ring');
  assert.equal(new pkg.RingError(-2, 'open').name, 'RingError');
});

test('the bundle post-pass blanks keepNames wrappers of closures V8 names itself, column for column, and leaves the rest', () => {
  const W = '/* @__PURE__ */ __name(';
  const src = [
    `function f(op2, name2) {`,
    `  const w = ${W}() => where(op2, name2), "w");`,
    `  const renamed = ${W}() => 1, "other");`,
    `  const o = { isFile: ${W}() => fmt === 1, "isFile"), last: ${W}() => 2, "last") };`,
    `  const finish = ${W}async () => {`,
    `    if (done) return;`,
    `  }, "finish");`,
    `  return { give: ${W}() => pool.give(slot), "give"),`,
    `    back: ${W}() => {`,
    `      out = false;`,
    `    }, "back"),`,
    `    k: 1 };`,
    `}`,
    `__name(f, "f");`,
  ].join('\n');
  const { text, count } = unwrapLocalNames(src);
  const out = text.split('\n');
  assert.equal(count, 3, 'the single-line const, the multi-line const and the multi-line property');
  assert.equal(out[1], `  const w = ${' '.repeat(W.length)}() => where(op2, name2)${' '.repeat(6)};`);
  assert.equal(out[1].length, src.split('\n')[1].length, 'columns kept');
  assert.equal(out[2], src.split('\n')[2], 'a wrapper naming something else stays (a rename)');
  assert.equal(out[3], src.split('\n')[3], 'a line with two wrappers stays');
  assert.equal(out[4], `  const finish = ${' '.repeat(W.length)}async () => {`);
  assert.equal(out[6], `  }${' '.repeat(`, "finish")`.length)};`);
  assert.equal(out[7], src.split('\n')[7], 'a property wrapper on a line that goes on after it stays');
  assert.equal(out[8], `    back: ${' '.repeat(W.length)}() => {`);
  assert.equal(out[10], `    }${' '.repeat(`, "back")`.length)},`);
  assert.equal(out[13], `__name(f, "f");`, 'top level: once, kept');
  // the blanked code runs and V8 gives the closures the same names
  const run = new Function('where', 'fmt', 'done', 'pool', 'slot', 'out', text.replace('__name(f, "f");', 'return f;').replaceAll(W, '((fn) => fn)('));
  const f = run(() => 'at', 1, true, { give: () => 0 }, 0, true) as (a: unknown, b: unknown) => unknown;
  assert.equal(typeof f, 'function');
});
