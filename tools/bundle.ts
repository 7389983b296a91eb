/**
 * Bundles the package's entry points (what `import 'ringflow'` and `import 'ringflow/fs'` load)
 * into dist/pkg/, after tsc has written dist/src/. Node's ES module loader spends about half a
 * millisecond per module file (resolution, package scope lookups, compilation); ringflow/fs is 71
 * files and the package entry 101, so an application that switched from node:fs/promises paid
 * ~50-70 ms at startup before its first call. Bundled, both entries load from a few files
 * (docs/benchmarks.md, "Startup").
 *
 *   dist/pkg/ringflow.js   the package entry (src/index.ts)
 *   dist/pkg/fs.js         ringflow/fs (src/fs/index.ts)
 *   dist/pkg/chunk-*.js    what both use (the Ring, the opcode table, the addon loader): one
 *                          copy, so a Ring from 'ringflow' is the class 'ringflow/fs' accepts
 *   dist/pkg/ringflow.cjs, fs.cjs, chunk-*.cjs
 *                          CommonJS for loaders that cannot require() an ES module: Jest (unless
 *                          it runs on Node 24.9+ with --experimental-vm-modules), Node 20 before
 *                          20.19 and 22 before 22.12. package.json's "module-sync" condition comes first, so Node's
 *                          own require() (20.19+, 22.12+) takes the ES module and never this copy.
 *                          Each is its ES module made CommonJS, file for file: the entries require
 *                          the shared chunk, so there is one Ring class between them, and
 *                          require('ringflow/fs') compiles fs.cjs and the chunk only (Jest compiles
 *                          them again for every test file: 40 % less than one bundle of both).
 *
 * Every file sits at the depth of dist/src/native.js, which finds the package root two levels up
 * (src/native.ts, packageRoot). Without esbuild (a devDependency: absent after
 * `npm install --omit=dev` of a git checkout) the entries are written as re-exports of dist/src/,
 * which work the same and load as many files as before.
 *
 * Usage: node dist/tools/bundle.js [--out DIR] [--no-esbuild]
 *   (package.json runs it after tsc: prepare, build:ts, pretest; --out and --no-esbuild are for
 *   test/package-entry.test.ts, which builds the fallback elsewhere and imports it)
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unwrapLocalNames } from './bundle-names.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 && args[outAt + 1] ? resolve(args[outAt + 1]) : join(root, 'dist', 'pkg');
const noEsbuild = args.includes('--no-esbuild');

/** Entry name (file in dist/pkg) → the module tsc wrote, relative to dist/. */
const ENTRIES = { ringflow: 'src/index.js', fs: 'src/fs/index.js' } as const;

/** The entries as plain re-exports of dist/src/ (the fallback; its .cjs entries need a Node that can require() an ES module). */
function writeReexports(): void {
  for (const [name, rel] of Object.entries(ENTRIES)) {
    const spec = JSON.stringify(relative(out, join(root, 'dist', rel)).replace(/^(?!\.)/, './')); // a relative specifier, never a bare one
    const hasDefault = name === 'fs';
    writeFileSync(join(out, `${name}.js`), `export * from ${spec};\n${hasDefault ? `export { default } from ${spec};\n` : ''}`);
    writeFileSync(join(out, `${name}.cjs`), `'use strict';\nmodule.exports = require(${spec});\n`);
  }
}

/**
 * The CommonJS copy of each ES module esbuild wrote (`esm`: paths relative to the root), in one
 * build with each file an entry and its chunk imports kept as requires of the chunks' .cjs copies.
 * esbuild follows each file's linked source map, so the .cjs maps lead back to src/*.ts too.
 */
async function buildCommonJs(esbuild: typeof import('esbuild'), esm: string[]): Promise<string[]> {
  const chunkAsCommonJs: import('esbuild').Plugin = {
    name: 'chunk-as-commonjs',
    setup(build) {
      build.onResolve({ filter: /^\.\/chunk-[A-Za-z0-9]+\.js$/ }, (a) => ({ path: a.path.replace(/\.js$/, '.cjs'), external: true }));
    },
  };
  const r = await esbuild.build({
    entryPoints: esm.map((f) => join(root, f)),
    outdir: out,
    outExtension: { '.js': '.cjs' },
    absWorkingDir: root,
    bundle: true, // (only to resolve the chunk imports: the plugin leaves each outside)
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    keepNames: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [chunkAsCommonJs],
    // src/native.ts finds the package root from import.meta.url; CommonJS has __filename. (The
    // directive first: strict, as the ES module it was made from and as the tests ran it.)
    define: { 'import.meta.url': '__ringflowModuleUrl' },
    banner: { js: `'use strict';\nconst __ringflowModuleUrl = require('node:url').pathToFileURL(__filename).href;` },
  });
  return Object.keys(r.metafile.outputs).filter((f) => f.endsWith('.cjs'));
}

async function main(): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  let esbuild: typeof import('esbuild') | undefined;
  try {
    esbuild = noEsbuild ? undefined : await import('esbuild');
  } catch {
    esbuild = undefined;
  }
  if (!esbuild) {
    writeReexports();
    console.log('bundle: esbuild is not installed; dist/pkg re-exports dist/src (the package loads unbundled)');
    return;
  }
  const entryPoints = Object.fromEntries(Object.entries(ENTRIES).map(([name, rel]) => [name, join(root, 'dist', rel)]));
  const r = await esbuild.build({
    entryPoints,
    outdir: out,
    absWorkingDir: root, // (the metafile's paths are relative to it)
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node', // node: built-ins stay imports
    target: 'node20',
    chunkNames: 'chunk-[hash]', // beside the entries: the depth src/native.ts counts on
    keepNames: true, // classes and functions keep their names (error names, stack traces, constructor.name)
    sourcemap: 'linked', // through tsc's maps back to src/*.ts
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  const esm = Object.keys(r.metafile.outputs).filter((f) => f.endsWith('.js'));
  const files = [...esm, ...(await buildCommonJs(esbuild, esm))];
  let unwrapped = 0;
  for (const f of files) {
    const path = join(root, f);
    const text = readFileSync(path, 'utf8');
    const out = unwrapLocalNames(text);
    unwrapped += out.count;
    if (out.count) writeFileSync(path, out.text);
  }
  console.log(`bundle: ${Object.keys(ENTRIES).join(', ')} → ${files.length} files in dist/pkg, ES modules and CommonJS (${unwrapped} closures left to V8's own naming)`);
}

await main();
