/**
 * The one place the native addon is loaded (better-sqlite3's lib/binding.js habit).
 * Every native function returns a number (>= 0 ok, -errno failure) or a plain value;
 * none throws. Callers in TypeScript validate arguments first and turn -errno into RingError.
 *
 * The addon is initialised once per Node environment (the main thread and each worker) and
 * keeps its state per environment: a ring handle is valid only in the environment that made it
 * (elsewhere, and once closed, native calls on it return -EINVAL), and an environment that ends
 * closes its own rings and nothing else (test/security/threads.test.ts).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';

/**
 * The package's root directory: two levels above this module, which is dist/src/native.js, or a
 * chunk of the bundled entry points in dist/pkg/ (tools/bundle.ts keeps every bundled file at that
 * depth). Files the package ships are found from here (the addon; programs/ in src/programs/builtin.ts).
 */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [join(packageRoot, 'build', 'Release', 'ringflow.node'), join(packageRoot, 'build', 'Debug', 'ringflow.node')];

/** Is `dir` the root of the ringflow package (its package.json names it)? */
function isPackageRoot(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'ringflow';
  } catch {
    return false;
  }
}

function load(): any {
  const require = createRequire(import.meta.url);
  for (const c of candidates) if (existsSync(c)) return require(c);
  if (!isPackageRoot(packageRoot))
    throw new Error(
      `ringflow: its code runs from ${fileURLToPath(import.meta.url)}, outside the ringflow package (${packageRoot} is not its root), ` +
        `so it cannot find its native addon: was it bundled into your application's file? Keep ringflow out of the bundle ` +
        `(esbuild --external:ringflow, webpack's externals, Vite's ssr.external) and install it beside it.`,
    );
  throw new Error(
    `ringflow: the native addon is not built (looked for ${candidates.join(', ')}). ` +
      `npm skips a dependency's install script when the project does not allow it (allowScripts in npm 11+, or --ignore-scripts): ` +
      `allow it with "npm install-scripts approve ringflow", then run "npm rebuild ringflow" (node-gyp needs a C compiler, python3 and make). ` +
      `In a checkout of ringflow itself: "npm run build:native".`,
  );
}

/** The raw addon. Typed views of its parts live next to their users (ring/binding.ts, programs/binding.ts). */
export const binding: any = load();
