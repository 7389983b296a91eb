/** Test helpers: temp files on tmpfs, a ring per test, probe guards that say why they skip. */
import { mkdtempSync, rmSync, writeFileSync, existsSync, openSync, closeSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { TestContext } from 'node:test';
import { Ring, type RingOptions } from '../src/index.js';

const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** A fresh temp dir (removed by the returned cleanup). */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(base, 'ringflow-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A temp file holding `data`. */
export function tempFile(data: Uint8Array | string): { path: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'f');
  writeFileSync(path, data);
  return { path, cleanup };
}

/** Deterministic bytes: byte i of the file = (i * 131 + (i >> 12)) & 0xff. */
export function pattern(len: number, start = 0): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) {
    const j = start + i;
    b[j - start] = (j * 131 + (j >>> 12)) & 0xff;
  }
  return b;
}

/** A ring closed when the test ends. */
export function ringFor(t: TestContext, options?: RingOptions): Ring {
  const ring = new Ring(options);
  t.after(() => ring.close());
  return ring;
}

/** Skips (with the probe's reason) unless the kernel supports `op`. Returns false when skipped. */
export function requireOp(t: TestContext, ring: Ring, op: string): boolean {
  if (ring.supports(op)) return true;
  t.skip(`kernel probe (IORING_REGISTER_PROBE) says ${op} is not supported`);
  return false;
}

/**
 * A FIFO in a temp dir, its write end held open (closed, with the dir, when the test ends): a
 * read of it stays in the kernel until something is written.
 */
export function fifo(t: { after(fn: () => void): void }): { path: string; fd: number; write(s: string): void } {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, 'r+');
  t.after(() => closeSync(fd));
  return { path, fd, write: (s) => void writeSync(fd, s) };
}
