/**
 * The differential harness: a Case is one piece of code run with the same arguments against
 * node:fs/promises (in root a) and the implementation under test (in root b, the same contents);
 * what it returned or threw is described (describe.ts) and compared, then the two trees' states.
 *
 *   const cases: Case[] = [{ name: 'readFile utf8', run: (fs, c) => fs.readFile(c.p('file.txt'), 'utf8') }];
 *   diffSuite('readFile', cases);
 *
 * A case's `run` should return the call itself (not `await` it) so a synchronous throw stays
 * distinguishable from a rejection; cases with several steps record each one with `c.step()`.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { pathToFileURL } from 'node:url';
import { capture, type Outcome, type DescribeOptions } from './describe.js';
import { CPU_TIME_SCALE } from '../helpers.js';
import { TempArea, snapshot } from './tree.js';
import { nodeImpl, loadImplUnderTest, type FsModule, type Impl } from './impl.js';
import { KNOWN_DIFFERENCES } from './known-differences.js';

export interface SideCtx {
  /** 'node' for the reference side, else the implementation's name. */
  side: string;
  /** This side's module: the default export, and the namespace object. */
  fs: FsModule;
  ns: FsModule;
  root: string;
  /** An absolute path string in this side's tree (the root itself without `rel`). */
  p(rel?: string): string;
  /** The same path as a Buffer. */
  b(rel?: string): Buffer;
  /** The same path as a file: URL. */
  u(rel?: string): URL;
  /** A path in the shared directory both sides read (the same file on both sides). */
  sh(rel?: string): string;
  /** Names an object passed in, so a result that is that very object is described as such. */
  ref<T extends object>(label: string, v: T): T;
  /** Runs one step of a multi-step case and records how it ended (never throws). */
  step(fn: () => unknown): Promise<Outcome>;
  /** Registers a FileHandle (or a promise of one) to be closed after the case; returns it. */
  track<T>(handle: T): T;
  /** Registers a cleanup (streams, watchers) run after the case. */
  defer(fn: () => unknown): void;
}

export interface Case {
  name: string;
  run(fs: FsModule, c: SideCtx): unknown;
  /** Both sides read the same file: Stats are compared whole (ino, times). */
  exactStats?: boolean;
  /** Start from empty roots instead of the fixture. */
  empty?: boolean;
  /** Relative paths whose atime/mtime must match after the case (set explicitly by it). */
  times?: string[];
  /** Masks what legitimately differs between the sides (mkdtemp's random suffix) in the outcome. */
  project?: (outcome: Outcome) => Outcome;
  /**
   * Why node:fs/promises itself never settles this call (ringflow/fs falls back to the same code):
   * 'still pending' is the outcome on both sides, known after NEVER_SETTLES_MS, not PENDING_MS.
   */
  neverSettles?: string;
  /** A probe on node:fs/promises: a reason to skip (e.g. the function is absent on this line). */
  skipUnless?: (node: FsModule) => string | undefined;
}

export interface SideResult {
  outcome: Outcome;
  tree: ReturnType<typeof snapshot>;
}

/** The wait for a call of a case marked neverSettles (PENDING_MS is 20 s under TCG, per side). */
export const NEVER_SETTLES_MS = 100 * CPU_TIME_SCALE;

/**
 * Every handle a case opened stays reachable until the process exits: one whose close() did not
 * take (still referenced by a stream on node's side) would otherwise be closed by GC, which
 * Node 26 turns into an uncaught error after the tests.
 */
const closeNeverSettled: unknown[] = [];

/** Runs `kase` on one side, in `root`, and returns its outcome and the tree afterwards. */
export async function runSide(kase: Case, impl: Impl, root: string, shared: string): Promise<SideResult> {
  const refs = new Map<object, string>();
  const o: DescribeOptions = { root, refs, exactStats: !!kase.exactStats, pendingMs: kase.neverSettles ? NEVER_SETTLES_MS : undefined };
  const handles: unknown[] = [];
  const cleanups: (() => unknown)[] = [];
  const c: SideCtx = {
    side: impl.name,
    fs: impl.fs,
    ns: impl.ns,
    root,
    p: (rel) => (rel === undefined ? root : join(root, rel)),
    b: (rel) => Buffer.from(rel === undefined ? root : join(root, rel)),
    u: (rel) => pathToFileURL(rel === undefined ? root : join(root, rel)),
    sh: (rel) => (rel === undefined ? shared : join(shared, rel)),
    ref: (label, v) => (refs.set(v, label), v),
    step: (fn) => capture(fn, o),
    track: (h) => {
      const keep = (x: unknown) => (handles.push(x), closeNeverSettled.push(x));
      if (h && typeof (h as any).then === 'function') (h as any).then(keep, () => {});
      else keep(h);
      return h;
    },
    defer: (fn) => cleanups.push(fn),
  };
  const raw = await capture(() => kase.run(impl.fs, c), o);
  const outcome = kase.project ? kase.project(raw) : raw;
  // Cleanups and closes are bounded: a close that never settles (a handle still locked by a
  // stream) is recorded as part of the outcome instead of hanging the suite.
  const hung: string[] = [];
  const bounded = async (what: string, fn: () => unknown) => {
    const r = await capture(fn, o);
    if (r.how === 'still pending') hung.push(what);
  };
  for (const fn of cleanups.reverse()) await bounded('a cleanup', fn);
  for (const h of handles) {
    await bounded('FileHandle.close() after the case', () => (h as any)?.close?.());
  }
  return { outcome: hung.length ? ({ ...outcome, hung } as unknown as Outcome) : outcome, tree: snapshot(root, kase.times) };
}

/**
 * Runs `kase` on both sides and asserts the same outcome and the same tree state. `pair` is the
 * two roots to use (fresh ones when absent). Returns whether both trees are still equal to
 * `pristine` (the fixture's snapshot), i.e. whether the pair can serve the next case.
 */
export async function diffCase(
  kase: Case, area: TempArea, impl: Impl, pair?: [string, string], pristine?: unknown, reference: Impl = nodeImpl,
): Promise<boolean> {
  const [a, b] = pair ?? area.pair(kase.empty);
  const ref = await runSide(kase, reference, a, area.shared);
  const got = await runSide(kase, impl, b, area.shared);
  assert.deepStrictEqual(got.outcome, ref.outcome, `${kase.name}: ${impl.name} (actual) and ${reference.name} (expected) differ in the result`);
  assert.deepStrictEqual(got.tree, ref.tree, `${kase.name}: ${impl.name} (actual) and ${reference.name} (expected) leave different trees`);
  return pristine !== undefined && !kase.times && isDeepStrictEqual(ref.tree, pristine) && isDeepStrictEqual(got.tree, pristine);
}

/**
 * Registers one test named `title` with a subtest per case. A case named in KNOWN_DIFFERENCES
 * runs as `todo` (its failure is reported with the difference, not counted as a failure).
 * Directory creation is slow on the disk, so a pair of fixture trees is reused by the next case
 * as long as a case leaves both exactly as the fixture was (by snapshot); else a fresh pair.
 */
export function diffSuite(title: string, cases: Case[] | (() => Case[])): void {
  test(title, async (t: TestContext) => {
    const { impl, reason } = await loadImplUnderTest();
    if (reason) t.diagnostic(reason);
    const area = new TempArea();
    // Relative paths some bad arguments amount to (a file: URL passed as a string, which cp()
    // creates parent directories for) land in the temp area, not in the checkout.
    const cwd = process.cwd();
    process.chdir(area.base);
    t.after(() => {
      process.chdir(cwd);
      area.cleanup();
    });
    const list = typeof cases === 'function' ? cases() : cases;
    const seen = new Set<string>();
    for (const kase of list) {
      assert.ok(!seen.has(kase.name), `duplicate case name ${kase.name}`);
      seen.add(kase.name);
    }
    let pair: [string, string] | undefined;
    let pristine: unknown;
    for (const kase of list) {
      const skip = kase.skipUnless?.(nodeImpl.fs);
      const todo = impl.name === 'ringflow' ? KNOWN_DIFFERENCES[kase.name] : undefined;
      await t.test(kase.name, { skip, todo }, async () => {
        if (kase.empty) return void (await diffCase(kase, area, impl));
        if (!pair) {
          pair = area.pair();
          pristine = snapshot(pair[0]);
        }
        const use = pair;
        pair = undefined;
        if (await diffCase(kase, area, impl, use, pristine)) pair = use;
      });
    }
  });
}
