/**
 * What the networking trials run besides Node: the C programs under bench/c (built with the addon
 * by `npm install`, else compiled here with `cc -O2` into the bench cache), and tools that come
 * from npm on demand (the Bun runtime, autocannon) installed into the bench cache with
 * `npm install --prefix`, so `npm ci` stays as fast as it was for everyone who never benches.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { repoRoot, type Skip } from '../drivers.js';

/** The bench cache: $RINGFLOW_BENCH_CACHE, else $XDG_CACHE_HOME/ringflow-bench, else ~/.cache/ringflow-bench (the OS temp dir without a home). */
export function benchCache(): string {
  if (process.env.RINGFLOW_BENCH_CACHE) return process.env.RINGFLOW_BENCH_CACHE;
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, 'ringflow-bench');
  const home = homedir();
  return home && existsSync(home) ? join(home, '.cache', 'ringflow-bench') : join(tmpdir(), 'ringflow-bench');
}

/**
 * The executable of bench/c/<name>.c: build/Release/<name> when it is at least as new as the
 * source, else the source compiled with `cc -O2` into the cache (keyed by the source's hash).
 */
export function cTool(name: string): { exe: string } | Skip {
  const src = join(repoRoot, 'bench', 'c', `${name}.c`);
  if (!existsSync(src)) return { skipped: `${name}: source not found (${src})` };
  const installed = join(repoRoot, 'build', 'Release', name);
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(src).mtimeMs) return { exe: installed };
  const cc = process.env.CC ?? 'cc';
  if (spawnSync(cc, ['--version'], { encoding: 'utf8' }).status !== 0)
    return { skipped: `${name}: no build/Release/${name} (npm install builds it with the addon) and no C compiler (${cc}) on PATH` };
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const dir = join(benchCache(), 'c');
  const exe = join(dir, `${name}-${hash}`);
  if (existsSync(exe)) return { exe };
  mkdirSync(dir, { recursive: true });
  const tmp = `${exe}.${process.pid}`;
  const r = spawnSync(cc, ['-O2', '-std=gnu11', '-o', tmp, src], { encoding: 'utf8' });
  if (r.status !== 0) return { skipped: `${name} did not compile: ${(r.stderr || r.stdout).trim().split('\n')[0]}` };
  renameSync(tmp, exe);
  return { exe };
}

/** `name` on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** May the bench reach the npm registry for a tool it lacks? Not with RINGFLOW_BENCH_FETCH=0. */
export const fetchAllowed = () => process.env.RINGFLOW_BENCH_FETCH !== '0';

const installs = new Map<string, { dir: string } | Skip>();

/**
 * The directory holding node_modules/<pkg> for `pkg@version`, installed into the cache on first
 * use (`npm install --prefix <dir> --ignore-scripts`, atomically renamed into place). With
 * `fetch` false, only an existing install is used.
 */
export function npmTool(pkg: string, version: string, fetch: boolean): { dir: string } | Skip {
  const spec = `${pkg}@${version}`;
  const dir = join(benchCache(), 'npm', spec.replace(/[^A-Za-z0-9.@-]+/g, '+'));
  if (existsSync(join(dir, 'node_modules', pkg, 'package.json'))) return { dir };
  if (!fetch) return { skipped: `${spec} is not in the bench cache (${dir}) and this run does not fetch (--quick or RINGFLOW_BENCH_FETCH=0)` };
  const known = installs.get(spec);
  if (known) return known;
  const npm = onPath('npm');
  let out: { dir: string } | Skip;
  if (!npm) out = { skipped: `${spec}: npm is not on PATH to fetch it` };
  else {
    process.stderr.write(`bench: fetching ${spec} from npm into ${dir}\n`);
    const tmp = `${dir}.tmp-${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    const r = spawnSync(npm, ['install', '--prefix', tmp, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', '--loglevel=error', spec], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (r.status === 0 && existsSync(join(tmp, 'node_modules', pkg, 'package.json'))) {
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      out = { dir };
    } else {
      rmSync(tmp, { recursive: true, force: true });
      const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n').slice(-1)[0];
      out = { skipped: `could not fetch ${spec} from npm: ${why || `npm exited ${r.status}`}` };
    }
  }
  installs.set(spec, out);
  return out;
}

/** The Bun release the trials use (npm package @oven/bun-linux-<arch>[-baseline]). */
export const BUN_VERSION = '1.4.5';
/** The autocannon release the HTTP trials use. */
export const AUTOCANNON_VERSION = '9.0.0';

/**
 * The bun executable: $RINGFLOW_BUN, else `bun` on PATH, else the npm package for this CPU from
 * the cache (fetched when `fetch`): @oven/bun-linux-x64 (needs AVX2, else the -baseline build) or
 * @oven/bun-linux-aarch64.
 */
export function bunBinary(fetch: boolean): { exe: string; version?: string } | Skip {
  if (process.env.RINGFLOW_BUN) return existsSync(process.env.RINGFLOW_BUN) ? { exe: process.env.RINGFLOW_BUN } : { skipped: `RINGFLOW_BUN=${process.env.RINGFLOW_BUN} does not exist` };
  const path = onPath('bun');
  if (path) return { exe: path };
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return { skipped: `no Bun build on npm for ${process.platform}-${process.arch}` };
  let pkg = process.arch === 'arm64' ? '@oven/bun-linux-aarch64' : '@oven/bun-linux-x64';
  if (process.arch === 'x64') {
    let avx2 = false;
    try {
      avx2 = /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    } catch {
      /* assume not */
    }
    if (!avx2) pkg += '-baseline';
  }
  const t = npmTool(pkg, BUN_VERSION, fetch);
  if ('skipped' in t) return { skipped: `Bun: ${t.skipped}` };
  const exe = join(t.dir, 'node_modules', pkg, 'bin', 'bun');
  if (!existsSync(exe)) return { skipped: `Bun: ${pkg}@${BUN_VERSION} has no bin/bun` };
  return { exe, version: BUN_VERSION };
}

/** autocannon's module entry (run in a separate process by http-load.ts). */
export function autocannonModule(fetch: boolean): { path: string } | Skip {
  const t = npmTool('autocannon', AUTOCANNON_VERSION, fetch);
  if ('skipped' in t) return { skipped: `autocannon: ${t.skipped}` };
  return { path: join(t.dir, 'node_modules', 'autocannon', 'autocannon.js') };
}
