/**
 * The generated mix: a seeded PRNG produces a sequence of operations (mkdir, writeFile, appendFile,
 * rename, unlink, rmdir, rm, link, symlink, truncate, chmod, copyFile, stat, readdir, open and
 * FileHandle write/read/truncate/stat/close, ...) over a small namespace, so that names collide
 * and errors (EEXIST, ENOENT, ENOTDIR, ENOTEMPTY, EISDIR, EBADF) come up as often as successes.
 * Each step runs on both trees; outcomes are compared after each step, whole tree states every
 * `checkEvery` steps and at the end.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { capture, type DescribeOptions, type Outcome } from './describe.js';
import { snapshot, type TempArea } from './tree.js';
import type { FsModule, Impl } from './impl.js';

/** mulberry32: a small seeded PRNG, the same sequence on every machine and Node line. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Side {
  fs: FsModule;
  root: string;
  handles: any[];
  o: DescribeOptions;
}

interface Step {
  label: string;
  run(s: Side): unknown;
}

const NAMES = ['a', 'b', 'c', 'd', 'd/e', 'd/f', 'g', 'g/h', 'g/h/i', 'a/x', 'd/e/y'];
const SIZES = [0, 1, 5, 100, 4096, 5000, 70_000];

/** Draws one step from `rng` (all choices made here, once, so both sides run the same call). */
export function drawStep(rng: () => number): Step {
  const int = (n: number) => Math.floor(rng() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const name = () => pick(NAMES);
  const bytes = () => {
    const n = pick(SIZES);
    const seed = int(256);
    return { n, seed, make: () => Buffer.alloc(n, seed) };
  };
  const P = (s: Side, rel: string) => join(s.root, rel);
  const handle = (s: Side, k: number) => s.handles[k % Math.max(1, s.handles.length)];
  const ops: (() => Step)[] = [
    () => { const n = name(), recursive = rng() < 0.3, mode = pick([0o755, 0o700, undefined]); return { label: `mkdir ${n} ${recursive ? 'recursive ' : ''}${mode?.toString(8) ?? ''}`, run: (s) => s.fs.mkdir(P(s, n), { recursive, mode }) }; },
    () => { const n = name(), d = bytes(), flag = pick(['w', 'a', 'wx', 'r+', 'w+']); return { label: `writeFile ${n} ${d.n}B ${flag}`, run: (s) => s.fs.writeFile(P(s, n), d.make(), { flag }) }; },
    () => { const n = name(), d = bytes(); return { label: `appendFile ${n} ${d.n}B`, run: (s) => s.fs.appendFile(P(s, n), d.make()) }; },
    () => { const n = name(), enc = pick(['latin1', undefined]); return { label: `readFile ${n} ${enc}`, run: (s) => s.fs.readFile(P(s, n), enc) }; },
    () => { const x = name(), y = name(); return { label: `rename ${x} ${y}`, run: (s) => s.fs.rename(P(s, x), P(s, y)) }; },
    () => { const n = name(); return { label: `unlink ${n}`, run: (s) => s.fs.unlink(P(s, n)) }; },
    () => { const n = name(); return { label: `rmdir ${n}`, run: (s) => s.fs.rmdir(P(s, n)) }; },
    () => { const n = name(), recursive = rng() < 0.5, force = rng() < 0.5; return { label: `rm ${n} ${recursive} ${force}`, run: (s) => s.fs.rm(P(s, n), { recursive, force }) }; },
    () => { const x = name(), y = name(); return { label: `link ${x} ${y}`, run: (s) => s.fs.link(P(s, x), P(s, y)) }; },
    () => { const t = pick(['a', 'd/../a', 'h/../../a', 'nowhere', 'd', 'g/h', '.']), y = name(); return { label: `symlink ${t} ${y}`, run: (s) => s.fs.symlink(t, P(s, y)) }; },
    () => { const n = name(); return { label: `readlink ${n}`, run: (s) => s.fs.readlink(P(s, n)) }; },
    () => { const n = name(), len = pick([0, 3, 100, 5000]); return { label: `truncate ${n} ${len}`, run: (s) => s.fs.truncate(P(s, n), len) }; },
    () => { const n = name(), big = rng() < 0.5; return { label: `stat ${n} ${big}`, run: (s) => s.fs.stat(P(s, n), { bigint: big }) }; },
    () => { const n = name(); return { label: `lstat ${n}`, run: (s) => s.fs.lstat(P(s, n)) }; },
    () => { const n = name(); return { label: `readdir ${n}`, run: async (s) => (await s.fs.readdir(P(s, n))).sort() }; },
    () => { const n = name(), mode = pick([0o644, 0o600, 0o755, 0o444]); return { label: `chmod ${n} ${mode.toString(8)}`, run: (s) => s.fs.chmod(P(s, n), mode) }; },
    () => { const x = name(), y = name(), excl = rng() < 0.3; return { label: `copyFile ${x} ${y} ${excl}`, run: (s) => s.fs.copyFile(P(s, x), P(s, y), excl ? s.fs.constants.COPYFILE_EXCL : 0) }; },
    () => { const n = name(); return { label: `access ${n}`, run: (s) => s.fs.access(P(s, n)) }; },
    () => {
      const n = name(), flags = pick(['r', 'r+', 'w', 'a', 'wx', 'a+', 'w+']), mode = pick([0o644, 0o600]);
      return { label: `open ${n} ${flags}`, run: (s) => s.fs.open(P(s, n), flags, mode).then((h: unknown) => (s.handles.push(h), h)) };
    },
    () => {
      const k = int(8), d = bytes(), pos = pick([null, 0, 7, 5000, 3n] as const);
      return { label: `h${k}.write ${d.n}B at ${typeof pos === "bigint" ? `${pos}n` : String(pos)}`, run: (s) => handle(s, k)?.write(d.make(), 0, d.n, pos) ?? 'no handle' };
    },
    () => {
      const k = int(8), n = pick([0, 1, 10, 5000]), pos = pick([null, 0, 3, 100000, 2n] as const);
      return { label: `h${k}.read ${n} at ${typeof pos === "bigint" ? `${pos}n` : String(pos)}`, run: (s) => handle(s, k)?.read(Buffer.alloc(n), 0, n, pos) ?? 'no handle' };
    },
    () => { const k = int(8), len = pick([0, 2, 6000]); return { label: `h${k}.truncate ${len}`, run: (s) => handle(s, k)?.truncate(len) ?? 'no handle' }; },
    () => { const k = int(8); return { label: `h${k}.stat`, run: (s) => handle(s, k)?.stat() ?? 'no handle' }; },
    () => { const k = int(8); return { label: `h${k}.readFile`, run: (s) => handle(s, k)?.readFile('latin1') ?? 'no handle' }; },
    () => { const k = int(8), d = bytes(); return { label: `h${k}.writeFile ${d.n}B`, run: (s) => handle(s, k)?.writeFile(d.make()) ?? 'no handle' }; },
    () => { const k = int(8); return { label: `h${k}.sync`, run: (s) => handle(s, k)?.sync() ?? 'no handle' }; },
    () => {
      const k = int(8), keep = rng() < 0.3;
      // keep: close but leave it in the pool, so later steps use a closed handle (EBADF paths).
      return {
        label: `h${k}.close${keep ? ' (kept)' : ''}`,
        run: (s) => {
          if (!s.handles.length) return 'no handle';
          const i = k % s.handles.length;
          const h = s.handles[i];
          if (!keep) s.handles.splice(i, 1);
          return h.close();
        },
      };
    },
  ];
  return pick(ops)();
}

/** Runs `steps` generated steps from `seed` on both sides; throws (naming the seed) at the first difference. */
export async function runMix(seed: number, steps: number, area: TempArea, reference: Impl, impl: Impl, checkEvery = 8): Promise<void> {
  const rng = prng(seed);
  const [a, b] = area.pair(true);
  const mk = (i: Impl, root: string): Side => ({ fs: i.fs, root, handles: [], o: { root, refs: new Map(), exactStats: false } });
  const ref = mk(reference, a);
  const got = mk(impl, b);
  const log: string[] = [];
  const where = (i: number) => `seed ${seed}, step ${i} (rerun: RF_FS_DIFF_SEEDS=${seed} RF_FS_DIFF_STEPS=${i + 1}); last steps:\n  ${log.slice(-12).join('\n  ')}`;
  try {
    for (let i = 0; i < steps; i++) {
      const step = drawStep(rng);
      log.push(`${i}: ${step.label}`);
      const r: Outcome = await capture(() => step.run(ref), ref.o);
      const g: Outcome = await capture(() => step.run(got), got.o);
      assert.deepStrictEqual(g, r, `${impl.name} vs ${reference.name} differ in the result: ${where(i)}`);
      if (i % checkEvery === checkEvery - 1 || i === steps - 1) {
        assert.deepStrictEqual(snapshot(b), snapshot(a), `${impl.name} vs ${reference.name} trees differ: ${where(i)}`);
      }
    }
  } finally {
    for (const h of [...ref.handles, ...got.handles]) await h.close().catch(() => {});
  }
}
