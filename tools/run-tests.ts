/**
 * `npm test`: runs every dist/test/**\/*.test.js file with `node --test`, one file at a time.
 *
 * Node 20 and 26 accept a directory after `--test`; Node 22 and 24 take it as a module path
 * ("Cannot find module .../dist/test"), and Node 20 has no glob patterns. Listing the files here
 * works on every line. Arguments are passed to `node --test` (e.g. `--test-reporter=tap`);
 * arguments naming test files or directories replace the default dist/test.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

function testFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const options = args.filter((a) => a.startsWith('-'));
const targets = args.filter((a) => !a.startsWith('-'));
const files = (targets.length ? targets : [join(root, 'dist', 'test')]).flatMap((t) => testFiles(resolve(t)));
if (files.length === 0) {
  console.error('run-tests: no *.test.js files found (run `npx tsc -p .` first)');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...options, ...files.map((f) => relative(process.cwd(), f) || f)], { stdio: 'inherit' });
if (r.error) throw r.error;
process.exit(r.status ?? 1);
