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
import { existsSync } from 'node:fs';

/**
 * The package's root directory: two levels above this module, which is dist/src/native.js, or a
 * chunk of the bundled entry points in dist/pkg/ (tools/bundle.ts keeps every bundled file at that
 * depth). Files the package ships are found from here (the addon; programs/ in src/programs/builtin.ts).
 */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [join(packageRoot, 'build', 'Release', 'ringflow.node'), join(packageRoot, 'build', 'Debug', 'ringflow.node')];

function load(): any {
  const require = createRequire(import.meta.url);
  for (const c of candidates) if (existsSync(c)) return require(c);
  throw new Error(
    `ringflow: native addon not built (looked for ${candidates.join(', ')}); run "npm install" (or "npm run build:native")`,
  );
}

/** The raw addon. Typed views of its parts live next to their users (ring/binding.ts, programs/binding.ts). */
export const binding: any = load();
