/**
 * Behaviours of node:fs/promises that differ between Node lines, found by asking node itself
 * (once, lazily, only on the paths that need them) instead of reading the version number.
 */
import * as nodeFsp from 'node:fs/promises';

let readErrorHasPath: Promise<boolean> | undefined;

/** Node 26's readFile(path) names the path in a read error (EISDIR for a directory); earlier lines do not. */
export function readFileErrorNamesPath(): Promise<boolean> {
  readErrorHasPath ??= nodeFsp.readFile('/').then(
    () => false,
    (e: NodeJS.ErrnoException) => e.syscall === 'read' && e.path !== undefined,
  );
  return readErrorHasPath;
}

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

let readRulesPromise: Promise<ReadRules> | undefined;

/**
 * Asks node's own FileHandle.read on /dev/null (which reads nothing, so the buffer is never
 * written) with arguments that only exercise its checks: none of them reaches the native read
 * with a length node cannot take (a non-integer length aborts Node 20-24).
 */
export function readRules(): Promise<ReadRules> {
  readRulesPromise ??= (async () => {
    const h = await nodeFsp.open('/dev/null', 'r');
    const accepts = (length: number, position: unknown) =>
      h.read(Buffer.alloc(16), 0, length, position as number).then(
        () => true,
        () => false,
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
  })();
  return readRulesPromise;
}

let fstatChecks: Promise<boolean> | undefined;

/**
 * Does node's FileHandle.stat(options) check its options (Node 26: validateObject, options.signal,
 * an aborted signal)? Earlier lines only read `options.bigint`. Asked of node's own handle on
 * /dev/null with a number for options.
 */
export function fstatChecksOptions(): Promise<boolean> {
  fstatChecks ??= (async () => {
    const h = await nodeFsp.open('/dev/null', 'r');
    try {
      return await h.stat(123 as never).then(
        () => false,
        () => true,
      );
    } finally {
      await h.close();
    }
  })();
  return fstatChecks;
}

let statNoEntry: Promise<boolean> | undefined;

/** Does node's stat(path, { throwIfNoEntry: false }) resolve undefined for a missing entry (24+)? Node 20/22 reject. */
export function statTakesThrowIfNoEntry(): Promise<boolean> {
  statNoEntry ??= nodeFsp.stat('/dev/null/x', { throwIfNoEntry: false } as never).then(
    (v) => v === undefined,
    () => false,
  );
  return statNoEntry;
}

const statSignal = new Map<'stat' | 'lstat', Promise<boolean>>();

/** Do node's stat/lstat honour options.signal (26: an aborted one rejects)? Earlier lines ignore it. */
export function statTakesSignal(name: 'stat' | 'lstat'): Promise<boolean> {
  let p = statSignal.get(name);
  if (p === undefined) {
    p = nodeFsp[name]('/', { signal: AbortSignal.abort() } as never).then(
      () => false,
      () => true,
    );
    statSignal.set(name, p);
  }
  return p;
}
