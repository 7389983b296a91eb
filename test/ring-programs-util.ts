/**
 * Shared by the completion-program tests (docs/completion-programs.md): compiles the C programs
 * of test/programs/ring/ with clang, loads them, and says clearly why a test skips (no clang:
 * noClang; no engine: noEngine; the prebuilt programs/*.bpf.o need only the engine).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadObject, engineAvailable, ArrayMap, type LoadedObject } from '../src/programs/index.js';
import { Ring, RingError } from '../src/index.js';
import { processDir } from './helpers.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ringCDir = join(root, 'test', 'programs', 'ring');
/** Why tests that compile C with clang on purpose skip (false: clang is here). */
export const noClang: string | false =
  spawnSync('clang', ['--version'], { encoding: 'utf8' }).status === 0
    ? false
    : 'clang not found: this test compiles C programs on purpose (scripts/ensure-deps.sh installs clang; the shipped programs/*.bpf.o need none)';

/** Why tests that run programs on a ring skip, whatever compiled them (false: they run). */
export const noEngine: string | false = !engineAvailable()
  ? 'native eBPF engine not built'
  : typeof (Ring.prototype as unknown as Record<string, unknown>).registerProgram !== 'function'
    ? 'ring.registerProgram() not implemented yet (issue 4)'
    : false;

/** Why the program-on-ring tests that compile test/programs/ring/*.c skip (false: they run). */
export const skipReason: string | false = noClang || noEngine;

const out = processDir('rf-ring-bpf-');
const cache = new Map<string, Uint8Array>();

/** clang -O2 -g -target bpf -I include -c test/programs/ring/<name> (cached per process). */
export function compileRing(name: string, dir = ringCDir): Uint8Array {
  const key = join(dir, name);
  const hit = cache.get(key);
  if (hit) return hit;
  const o = join(out(), name.replace(/\.c$/, '.o'));
  const r = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-I', join(root, 'include'), '-c', key, '-o', o], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const elf = readFileSync(o);
  cache.set(key, elf);
  return elf;
}

/** A fresh copy of an object's programs and maps (maps start zeroed for every test). */
export function load(name: string): LoadedObject {
  return loadObject(compileRing(name));
}

/** Value 0 of an array map, as a DataView (writes are seen by the program). */
export function mapView(obj: LoadedObject, name: string, index = 0): DataView {
  const m = obj.maps.get(name);
  assert.ok(m instanceof ArrayMap, `map ${name} is an array map`);
  return m.view(index);
}

/** Element i of an array map of 8-byte values (signed). */
export function mapI64(obj: LoadedObject, name: string, index: number): bigint {
  return mapView(obj, name, index).getBigInt64(0, true);
}

/** The address registerRegion() reported, as a bigint (for the programs' u64 fields). */
export function addr(region: { address: number | bigint }, offset = 0): bigint {
  return BigInt(region.address) + BigInt(offset);
}

/** Asserts a promise rejects with RingError `code`. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RingError, `expected RingError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

/** A contract field of stats() (docs/completion-programs.md: programRuns, droppedCqes, cqes, wakeups, …). */
export function stat(ring: Ring, name: string): unknown {
  return (ring.stats() as unknown as Record<string, unknown>)[name];
}

/** Lets the event loop turn a few times (completions in flight get delivered). */
export async function settle(ms = 20): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Linux errno values the programs report in res. */
export const E = { ENOENT: 2, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EFAULT: 14, EINVAL: 22, ETIME: 62 } as const;

/** Rejects with a clear message when `p` has not settled after `ms` (a hung request fails its test instead of the run). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled after ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
