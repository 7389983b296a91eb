/**
 * Suite-side drivers: the pattern file, the Node trials (fresh process each), fio, and the C loop.
 * Each returns a TrialResult or a Skip (with the reason printed in the table).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BLOCK, stampBlock, type TrialResult } from './common.js';

export interface Skip {
  skipped: string;
}
export type Outcome = TrialResult | Skip;
export const isSkip = (o: Outcome | undefined): o is Skip => o !== undefined && 'skipped' in o;

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
/** The repository root (dist/bench/../..). */
export const repoRoot = join(here, '..', '..');

// ---------------------------------------------------------------- the pattern file

/** Writes `mib` MiB of the block pattern (see common.ts) to a new file; returns its path. */
export function createPatternFile(path: string, mib: number): void {
  const chunk = Buffer.alloc(1 << 20);
  const fd = openSync(path, 'w', 0o600);
  try {
    let block = 0;
    for (let m = 0; m < mib; m++) {
      for (let at = 0; at < chunk.length; at += BLOCK) stampBlock(chunk, at, block++);
      writeSync(fd, chunk, 0, chunk.length);
    }
  } finally {
    closeSync(fd);
  }
}

export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

// ---------------------------------------------------------------- Node trials in a fresh process

/** Runs dist/bench/<name>.js in a fresh `node` with JSON args; parses its one JSON line. */
export function runNodeTrial<T extends TrialResult = TrialResult>(name: string, args: object, timeoutMs: number): Promise<T> {
  return runTrialIn<T>(process.execPath, name, args, timeoutMs);
}

/** Runs dist/bench/<name>.js under the JavaScript runtime `exe` (node, bun) with JSON args; parses its one JSON line. */
export function runTrialIn<T extends TrialResult = TrialResult>(exe: string, name: string, args: object, timeoutMs: number): Promise<T> {
  const file = join(here, `${name}.js`);
  return new Promise((resolve, reject) => {
    const child = spawn(exe, [file, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${name} trial exited ${signal ?? code}: ${err.trim() || out.trim()}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
      } catch {
        reject(new Error(`${name} trial printed no JSON result: ${out.trim()} ${err.trim()}`));
      }
    });
  });
}

// ---------------------------------------------------------------- fio (the C reference for reads)

export function fioVersion(): string | undefined {
  const r = spawnSync('fio', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** fio engines the read trial uses: io_uring (the C reference) and psync (one synchronous pread at a time). */
export type FioEngine = 'io_uring' | 'psync';

/**
 * fio random 4 KiB reads over the same file, one job, buffered; IOPS from its JSON. io_uring at
 * depth `qd`; psync is synchronous (depth 1 whatever `qd` says).
 */
export function runFio(file: string, qd: number, seconds: number, warmup: number, engine: FioEngine = 'io_uring'): Promise<Outcome> {
  if (!fioVersion()) return Promise.resolve({ skipped: 'fio not installed (scripts/ensure-deps.sh installs it)' });
  const size = statSync(file).size;
  const ms = (s: number) => `${Math.max(1, Math.round(s * 1000))}ms`;
  const args = [
    '--name=r',
    `--filename=${file}`,
    '--rw=randread',
    '--bs=4k',
    `--ioengine=${engine}`,
    `--iodepth=${engine === 'psync' ? 1 : qd}`,
    `--size=${size}`,
    '--direct=0',
    '--invalidate=0',
    '--norandommap',
    `--ramp_time=${ms(warmup)}`,
    `--runtime=${ms(seconds)}`,
    '--time_based',
    '--output-format=json',
  ];
  return new Promise((resolve) => {
    const child = spawn('fio', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => resolve({ skipped: `fio failed to start: ${e.message}` }));
    child.on('close', (code) => {
      if (code !== 0) return resolve({ skipped: `fio exited ${code}: ${err.trim().split('\n')[0]}` });
      try {
        const j = JSON.parse(out.slice(out.indexOf('{'))) as { jobs: { read: { iops: number; total_ios: number; runtime: number } }[] };
        const rd = j.jobs[0].read;
        resolve({ opsPerSec: rd.iops, ops: rd.total_ios, seconds: rd.runtime / 1000, note: `fio --ioengine=${engine} --direct=0` });
      } catch (e) {
        resolve({ skipped: `fio output not understood: ${(e as Error).message}` });
      }
    });
  });
}

// ---------------------------------------------------------------- the C NOP loop (the limit for NOPs)

/**
 * The C loop's executable: build/Release/nop_loop, which `npm install` builds with the addon
 * (binding.gyp, -O2), when it is at least as new as bench/c/nop_loop.c; otherwise bench/c/nop_loop.c
 * compiled here with `cc -O2` into a cache dir keyed by the source hash.
 */
export function buildCLoop(): { exe: string } | Skip {
  const src = join(repoRoot, 'bench', 'c', 'nop_loop.c');
  if (!existsSync(src)) return { skipped: `C loop source not found (${src})` };
  const installed = join(repoRoot, 'build', 'Release', 'nop_loop');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(src).mtimeMs) return { exe: installed };
  const cc = process.env.CC ?? 'cc';
  if (spawnSync(cc, ['--version'], { encoding: 'utf8' }).status !== 0) return { skipped: `C loop skipped: no build/Release/nop_loop (npm install builds it with the addon) and no C compiler (${cc}) on PATH` };
  const text = readFileSync(src);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  const dir = join(process.env.XDG_CACHE_HOME ?? join(tmpdir()), 'ringflow-bench');
  const exe = join(dir, `nop_loop-${hash}`);
  if (existsSync(exe)) return { exe };
  mkdirSync(dir, { recursive: true });
  const tmp = `${exe}.${process.pid}`;
  const r = spawnSync(cc, ['-O2', '-o', tmp, src], { encoding: 'utf8' });
  if (r.status !== 0) return { skipped: `C loop did not compile: ${(r.stderr || r.stdout).trim().split('\n')[0]}` };
  renameSync(tmp, exe);
  return { exe };
}

export function runCLoop(exe: string, batch: number, seconds: number, warmup: number, flags: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(exe, [String(batch), String(seconds), String(warmup), flags.toString(16)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => resolve({ skipped: `C loop failed to start: ${e.message}` }));
    child.on('close', (code) => {
      if (code !== 0) return resolve({ skipped: `C loop exited ${code}: ${err.trim()}` });
      try {
        const j = JSON.parse(out.trim()) as TrialResult & { setupFlags: string };
        resolve({ ...j, setupFlags: [j.setupFlags as unknown as string] });
      } catch {
        resolve({ skipped: `C loop printed no JSON: ${out.trim()}` });
      }
    });
  });
}
