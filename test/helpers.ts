/** Test helpers: temp files on tmpfs, a ring per test, probe guards that say why they skip. */
import { mkdtempSync, rmSync, writeFileSync, existsSync, openSync, closeSync, writeSync, readFileSync, appendFileSync, readdirSync, readlinkSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { before, after, type TestContext } from 'node:test';
import { Ring, type RingOptions } from '../src/index.js';
import { opByName } from '../src/ops/table.js';
import { opFlagSupported } from '../src/ring/kernel-probe.js';

const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/**
 * Factor for wall-clock and CPU-time bounds: 20 when the CPU itself is emulated (QEMU's TCG, named
 * in /proc/cpuinfo's model name: scripts/kernel-suite.sh runs the suite there, 10-30 times slower),
 * else 1. Bounds that guard against runaway work stay meaningful; they just allow for the emulator.
 */
export const CPU_TIME_SCALE = (() => {
  try {
    return /^model name\s*:.*\bTCG\b/m.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 20 : 1;
  } catch {
    return 1;
  }
})();

/**
 * Iterations of a loop that repeats the same work to show it does not pile up (memory, stack, fds):
 * all `n` on the host and the Node lines, a fifth (or 1/tcgDivisor) in the QEMU guests (TCG: 10-40 times slower),
 * where the kernel's part is what is checked and the host has run the long loop already.
 */
export function repeats(n: number, tcgDivisor = 5): number {
  return CPU_TIME_SCALE > 1 ? Math.ceil(n / tcgDivisor) : n;
}

/**
 * A temp dir for files a whole test process shares (compiled objects), made on the first call and
 * removed when the process exits: `const dir = processDir('rf-bpf-'); ... dir()`.
 */
export function processDir(prefix: string): () => string {
  let dir: string | undefined;
  return () => {
    if (dir === undefined) {
      const made = mkdtempSync(join(tmpdir(), prefix));
      process.on('exit', () => rmSync(made, { recursive: true, force: true }));
      dir = made;
    }
    return dir;
  };
}

/** A fresh temp dir (removed by the returned cleanup). */
/** This process's fds open on files under `under` (what /proc/self/fd links to: other tests' fds, closed or not meanwhile, do not count). */
export function fdsUnder(under: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync('/proc/self/fd')) {
    try {
      const to = readlinkSync(`/proc/self/fd/${n}`);
      if (to.startsWith(under + '/')) out.push(`${n} → ${to}`);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/**
 * For a test file (call it at its top level): a maker of directories of their own, one per test (a
 * leak one test finds is not the next one's), each holding files f0..f(n-1) ("file i"), all under a
 * root the file removes when it ends.
 */
export function fileDirs(prefix: string, n: number): () => string {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  return () => {
    const dir = mkdtempSync(join(root, 'd'));
    for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}`), `file ${i}`);
    return dir;
  };
}

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

/** A temp file with `data` opened read-only (closed, with its dir, when the test ends). */
export function fileFd(t: TestContext, data: Uint8Array | string): { path: string; fd: number } {
  const f = tempFile(data);
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  return { path: f.path, fd };
}

/**
 * A new ring that got fd number `fd` (the lowest free one, so usually the first made; up to four
 * tries), closed when the test ends with the others made; undefined if none did.
 */
export function ringOnFd(t: TestContext, fd: number): { ring: Ring | undefined; fds: number[] } {
  const made: Ring[] = [];
  t.after(() => Promise.all(made.map((r) => r.close())));
  let ring: Ring | undefined;
  for (let i = 0; i < 4 && !ring; i++) {
    const r = new Ring();
    made.push(r);
    if (r.fd === fd) ring = r;
  }
  return { ring, fds: made.map((r) => r.fd) };
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

/** A temp file of `len` pattern() bytes, open for the test (`flags` 'r' by default); closed and removed after it. */
export function patternFd(t: TestContext, len: number, flags = 'r'): number {
  const f = tempFile(pattern(len));
  t.after(f.cleanup);
  const fd = openSync(f.path, flags);
  t.after(() => closeSync(fd));
  return fd;
}

/**
 * Runs `source` as an ES module in a fresh node with --expose-gc (a ring dropped, a process that
 * must exit): its exit code, the JSON it printed after 'RESULT ' ({} if nothing), all it printed.
 */
export function gcChild(source: string, env: Record<string, string> = {}): { code: number | null; result: Record<string, unknown>; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', '--no-warnings', '--input-type=module', '-e', source], {
    encoding: 'utf8',
    timeout: 30_000 * CPU_TIME_SCALE,
    env: { ...process.env, ...env },
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { code: r.status, result: line ? JSON.parse(line.slice(7)) : {}, out: r.stdout + r.stderr, ms: Date.now() - t0 };
}

/** A ring closed when the test ends. */
export function ringFor(t: TestContext, options?: RingOptions): Ring {
  const ring = new Ring(options);
  t.after(() => ring.close());
  return ring;
}

/**
 * The opcode ledger: `npm test` (tools/run-tests.ts) names a file in RF_OP_LEDGER and prints, after
 * the run, how many opcodes of the table ran against the kernel in a test, which the probe skipped,
 * and which no test ran. Each requireOp() call is one line: op, 'ran' or 'skipped', the reason.
 */
function ledger(op: string, outcome: 'ran' | 'skipped', reason = ''): void {
  const file = process.env.RF_OP_LEDGER;
  if (file) appendFileSync(file, `${op}\t${outcome}\t${reason}\n`);
}

/** Records in the opcode ledger that a test ran `op` against the kernel (where requireOp() cannot be the guard). */
export function exercised(op: string): void {
  if (!opByName(op)) throw new RangeError(`exercised(): no op ${op} in the opcode table`);
  ledger(op, 'ran');
}

/**
 * Skips (with the probe's reason) unless the kernel supports `op`; returns false when skipped. Call
 * it at the start of a test that runs `op` against the kernel: the suite's opcode ledger counts it.
 */
export function requireOp(t: TestContext, ring: Ring, op: string): boolean {
  if (!opByName(op)) throw new RangeError(`requireOp(): no op ${op} in the opcode table`);
  if (ring.supports(op)) {
    ledger(op, 'ran');
    return true;
  }
  const reason = `kernel probe (IORING_REGISTER_PROBE) says ${op} is not supported`;
  ledger(op, 'skipped', reason);
  t.skip(reason);
  return false;
}

/**
 * For a test's `{ skip }` option: false when the kernel has flag `flag` of op `op` (the probe the
 * opcode table declares, as ring.supports(op, { flag }) asks it), else the reason to skip.
 */
export function lacksFlag(op: string, flag: string): false | string {
  const d = opByName(op);
  if (!d) throw new RangeError(`lacksFlag(): no op ${op}`);
  const has = opFlagSupported(d, flag);
  if (has) return false;
  const since = d.flagSince?.[flag]?.since ?? d.since;
  return `kernel probe: ${has === null ? 'cannot ask this kernel for' : 'this kernel lacks'} ${op}'s ${flag} flag (Linux ${since}+)`;
}

/** Skips (with the probe's reason) unless the kernel has flag `flag` of `op`. Returns false when skipped. */
export function requireFlag(t: TestContext, ring: Ring, op: string, flag: string): boolean {
  if (ring.supports(op, { flag })) return true;
  t.skip(lacksFlag(op, flag) || `ring.supports('${op}', { flag: '${flag}' }) is false`);
  return false;
}

let devNull: number | undefined;
const zeros = Buffer.alloc(65536);
/**
 * A request that resolves to `v` (0..65535), for tests that need each request to carry its own
 * result: NOP with INJECT_RESULT where the kernel has it (6.10+), else a write of `v` bytes to
 * /dev/null (its res is the byte count).
 */
export function tagged(ring: Ring, v: number): Promise<number> {
  if (!lacksFlag('nop', 'INJECT_RESULT')) return ring.nop({ injectResult: v });
  devNull ??= openSync('/dev/null', 'w');
  return ring.write(devNull, zeros, -1, { length: v });
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
