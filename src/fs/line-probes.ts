/**
 * Behaviours of node:fs/promises that differ between Node lines, found by asking node itself
 * (once, lazily, only on the paths that need them) instead of reading the version number.
 *
 * The probes ask about '/' and /dev/null. Under Node's permission model node:fs refuses paths the
 * process was not granted before it gets to what a probe asks, so there they use a directory the
 * process may read (probeDir), and tell node's argument checks (ERR_* codes, AbortError) from what
 * the system call answered. A probe that still fails is not kept: the next call asks again.
 */
import * as nodeFsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { permissionModelOn, readGranted } from './permission.js';

/** '/' unless the permission model refuses it; then the first directory it grants read access to of the temp dir, the current one and the entry script's. */
function probeDir(): string {
  if (!permissionModelOn) return '/';
  for (const d of ['/', tmpdir(), process.cwd(), process.argv[1] ? dirname(process.argv[1]) : '']) if (d && readGranted(d)) return d;
  return '/';
}

/** Something node:fs can open read-only to probe a FileHandle: /dev/null, or under the permission model a directory it grants. */
export function probeFile(): string {
  return readGranted('/dev/null') ? '/dev/null' : probeDir();
}

/** Keeps a probe's answer, but not its failure (asked again next time). */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () =>
    (p ??= make().catch((e: unknown) => {
      p = undefined;
      throw e;
    }));
}

/** An error of node's own argument checks (ERR_OUT_OF_RANGE, ERR_INVALID_ARG_TYPE, …), not of a system call. */
const isCheck = (e: unknown): boolean => typeof (e as { code?: unknown })?.code === 'string' && (e as { code: string }).code.startsWith('ERR_');

/** Node 26's readFile(path) names the path in a read error (EISDIR for a directory); earlier lines do not. */
export const readFileErrorNamesPath = once(() =>
  nodeFsp.readFile(probeDir()).then(
    () => false,
    (e: NodeJS.ErrnoException) => e.syscall === 'read' && e.path !== undefined,
  ),
);

/**
 * How node's FileHandle.read (lib/internal/fs/promises.js read()) treats length and position on
 * this line. Node 20 takes any position that is not a safe integer as -1 (the file position, so a
 * bigint is ignored) and checks none; 22 validates the position (validatePosition: integer ≥ -1 or
 * bigint) after the offset/length checks, 24 before the `length === 0` early return; 26 also
 * truncates the length to an int32 (`length |= 0`) first.
 */
export interface ReadRules {
  /** `length |= 0` before the checks (a length of 2**32 + 1 reads 1 byte). */
  truncatesLength: boolean;
  /** validatePosition runs (a non-integer position is refused; a bigint one is used). */
  validatesPosition: boolean;
  /** …and before the `length === 0` early return (a bad position with length 0 is refused). */
  positionBeforeEmptyRead: boolean;
}

/**
 * Asks node's own FileHandle.read on /dev/null (which reads nothing, so the buffer is never
 * written) with arguments that only exercise its checks: none of them reaches the native read
 * with a length node cannot take (a non-integer length aborts Node 20-24). On a directory (the
 * permission model's probeDir) a read that passes the checks fails EISDIR: accepted all the same.
 */
export const readRules = once(async (): Promise<ReadRules> => {
  const h = await nodeFsp.open(probeFile(), 'r');
  const accepts = (length: number, position: unknown) =>
    h.read(Buffer.alloc(16), 0, length, position as number).then(
      () => true,
      (e: unknown) => !isCheck(e),
    );
  try {
    return {
      truncatesLength: await accepts(2 ** 32 + 1, null), // |0 → 1; else out of range (> 16)
      validatesPosition: !(await accepts(1, 'x')),
      positionBeforeEmptyRead: !(await accepts(0, 'x')),
    };
  } finally {
    await h.close();
  }
});

/**
 * Does node's FileHandle.stat(options) check its options (Node 26: validateObject, options.signal,
 * an aborted signal)? Earlier lines only read `options.bigint`. Asked of node's own handle on
 * /dev/null with a number for options.
 */
export const fstatChecksOptions = once(async (): Promise<boolean> => {
  const h = await nodeFsp.open(probeFile(), 'r');
  try {
    return await h.stat(123 as never).then(() => false, isCheck);
  } finally {
    await h.close();
  }
});

/** Does node's stat(path, { throwIfNoEntry: false }) resolve undefined for a missing entry (24+)? Node 20/22 reject. */
export const statTakesThrowIfNoEntry = once(() =>
  nodeFsp.stat(permissionModelOn ? join(probeDir(), '.ringflow-probe-no-such-entry') : '/dev/null/x', { throwIfNoEntry: false } as never).then(
    (v) => v === undefined,
    () => false,
  ),
);

const statSignal = { stat: once(() => signalProbe('stat')), lstat: once(() => signalProbe('lstat')) };
/** (an aborted signal rejects with an AbortError before anything else where node honours it; elsewhere the stat runs, or the permission model refuses it) */
const signalProbe = (name: 'stat' | 'lstat'): Promise<boolean> =>
  nodeFsp[name]('/', { signal: AbortSignal.abort() } as never).then(
    () => false,
    (e: unknown) => (e as { name?: unknown })?.name === 'AbortError',
  );

/** Do node's stat/lstat honour options.signal (26: an aborted one rejects)? Earlier lines ignore it. */
export function statTakesSignal(name: 'stat' | 'lstat'): Promise<boolean> {
  return statSignal[name]();
}
