/**
 * Trial: node:fs/promises calls an application makes, through one of three implementations
 * (`api`): ringflow/fs, node:fs/promises under Node (libuv threadpool), or node:fs/promises under
 * Bun (this same compiled file run by the bun binary). Workloads:
 *   readFile  readFile(path) of `count` files of 1 KiB or 64 KiB, cycling through them
 *   stat      stat(path) of the `count` 1 KiB files
 *   randread  one FileHandle, handle.read(buf, 0, 4096, pos) at random 4 KiB blocks of a 64 MiB file
 * `conc` async loops run at once (1: sequential; 64: 64 calls in flight). Every result is checked
 * (the file's stamp, its size, the block pattern). Nothing here imports ringflow statically: Bun
 * runs it; the ringflow driver loads it at run time.
 * Arguments (JSON in argv[2]): { api, work, size?, conc, dir, count, seconds, warmup, seed }.
 */
import * as fsp from 'node:fs/promises';
import { BLOCK, Window, randomBlockReads, runTrial, trialArgs, type TrialResult } from './common.js';
import { FS_SIZES, checkFile, fsFilePath, randomFilePath, type FsSize } from './fs-layout.js';

export type FsApi = 'ringflow' | 'node';
export type FsWork = 'readFile' | 'stat' | 'randread';

export interface FsTrialArgs {
  api: FsApi;
  work: FsWork;
  size?: FsSize;
  conc: number;
  dir: string;
  count: number;
  seconds: number;
  warmup: number;
  seed: number;
}

export interface FsTrialResult extends TrialResult {
  /** JS wakeups per call (ringflow, when its ring is known). */
  wakeupsPerOp?: number;
  /** io_uring_enter calls per call (ringflow, when its ring is known). */
  entersPerOp?: number;
  /** CPU time of the whole process (every thread: libuv's pool, Bun's, io-wq workers are the kernel's) per call, µs. */
  cpuUsPerOp?: number;
}

interface Handle {
  read(buf: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}
interface Impl {
  readFile(path: string): Promise<Buffer>;
  stat(path: string): Promise<{ size: number | bigint }>;
  open(path: string): Promise<Handle>;
  note: string;
  /** The ring's counters, when this implementation exposes its ring. */
  stats?: () => { enterCalls: number; wakeups: number };
}

declare const Bun: { version: string } | undefined;

/** ringflow/fs as the package exports it (dist/pkg/fs.js, bundled), or dist/src/fs/index.js, else the fast functions on a ring of its own. */
async function ringflowImpl(): Promise<Impl> {
  const dynamicImport = (rel: string) => import(new URL(rel, import.meta.url).href) as Promise<Record<string, unknown>>;
  for (const rel of ['../pkg/fs.js', '../src/fs/index.js']) {
    try {
      const m = await dynamicImport(rel);
      if (typeof m.readFile === 'function') {
        const f = m as unknown as typeof fsp;
        return { readFile: (p) => f.readFile(p), stat: (p) => f.stat(p), open: (p) => f.open(p, 'r'), note: `ringflow/fs (dist/${rel.slice(3)}, its default ring)` };
      }
    } catch {
      /* not built: the next one */
    }
  }
  const { Ring } = (await dynamicImport('../src/index.js')) as unknown as typeof import('../src/index.js');
  const fast = (await dynamicImport('../src/fs/fast/index.js')) as unknown as typeof import('../src/fs/fast/index.js');
  const ring = new Ring();
  return {
    readFile: (p) => fast.readWholeFile(ring, p) as Promise<Buffer>,
    stat: (p) => ring.statx(p),
    open: async (p) => {
      const fd = await ring.openat(p, 0, 0);
      return {
        read: async (buf, off, len, pos) => ({ bytesRead: await ring.read(fd, buf.subarray(off, off + len), pos) }),
        close: () => ring.closeFd(fd),
      };
    },
    note: 'ringflow fast functions (readWholeFile, ring.statx, ring.read; src/fs/fast)',
    stats: () => ring.stats(),
  };
}

function nodeImpl(): Impl {
  const note =
    typeof Bun !== 'undefined'
      ? `Bun ${Bun.version} node:fs/promises`
      : `Node ${process.version} node:fs/promises, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`;
  return { readFile: (p) => fsp.readFile(p), stat: (p) => fsp.stat(p), open: (p) => fsp.open(p, 'r'), note };
}

runTrial(async (): Promise<FsTrialResult> => {
  const a = trialArgs<FsTrialArgs>();
  const impl = a.api === 'ringflow' ? await ringflowImpl() : nodeImpl();
  let s0: { enterCalls: number; wakeups: number } | undefined;
  let s1: typeof s0;
  let c0: NodeJS.CpuUsage | undefined;
  let c1: NodeJS.CpuUsage | undefined;
  const w = new Window(
    a.warmup * 1000,
    a.seconds * 1000,
    () => {
      s0 = impl.stats?.();
      c0 = process.cpuUsage();
    },
    () => {
      s1 = impl.stats?.();
      c1 = process.cpuUsage(c0);
    },
  );
  let next = 0;
  let loop: (i: number) => Promise<void>;
  let done = async () => {};
  if (a.work === 'readFile' || a.work === 'stat') {
    const size: FsSize = a.work === 'stat' ? 'small' : (a.size ?? 'small');
    const len = FS_SIZES[size];
    const paths = Array.from({ length: a.count }, (_, i) => fsFilePath(a.dir, size, i));
    loop =
      a.work === 'readFile'
        ? async () => {
            do {
              const i = next++ % a.count;
              const buf = await impl.readFile(paths[i]);
              if (!checkFile(buf, i, len)) throw new Error(`readFile(${paths[i]}) returned ${buf.length} bytes or the wrong content: driver is broken`);
            } while (w.done());
          }
        : async () => {
            do {
              const i = next++ % a.count;
              const st = await impl.stat(paths[i]);
              if (Number(st.size) !== len) throw new Error(`stat(${paths[i]}).size is ${st.size}, not ${len}: driver is broken`);
            } while (w.done());
          };
  } else {
    const fh = await impl.open(randomFilePath(a.dir));
    const st = await impl.stat(randomFilePath(a.dir));
    const blocks = Math.floor(Number(st.size) / BLOCK);
    loop = (k) => randomBlockReads(fh, blocks, a.seed + k, w);
    done = () => fh.close();
  }
  await Promise.all(Array.from({ length: a.conc }, (_, k) => loop(k)));
  await done();
  const r: FsTrialResult = { ...w.result(), verified: w.ops, note: impl.note };
  if (c1 && r.ops > 0) r.cpuUsPerOp = (c1.user + c1.system) / r.ops;
  if (s0 && s1 && r.ops > 0) {
    r.wakeupsPerOp = (s1.wakeups - s0.wakeups) / r.ops;
    r.entersPerOp = (s1.enterCalls - s0.enterCalls) / r.ops;
  }
  return r;
});
