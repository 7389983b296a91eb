/**
 * The read trial's files, one per file system a user may read from:
 *   tmpfs  /dev/shm: on this 6.18 kernel a buffered 4 KiB read from tmpfs does not complete
 *          inline: io_uring hands every read to an io-wq worker thread (read.ts counts them);
 *   disk   the OS temp dir when it is a disk file system (ext4 here), else the bench cache, else
 *          $RINGFLOW_BENCH_DISK_DIR: a page-cached read completes inline during io_uring_enter.
 * Each file holds the block pattern of common.ts, is fsync'd (no writeback during the cells),
 * read once, and checked to be resident in the page cache (fincore(1), i.e. mincore(2)) before
 * every cell; a cell on a file that was not fully resident is re-read first and the residency
 * the cell started with is recorded.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, realpathSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPatternFile, removeQuietly } from './drivers.js';
import { benchCache } from './net/tools.js';

export type FsKind = 'tmpfs' | 'disk';
export const FS_KINDS: readonly FsKind[] = ['tmpfs', 'disk'];

/** One read file (or why its file system is not measured). */
export interface ReadFile {
  kind: FsKind;
  dir: string;
  /** The file system type of `dir` (/proc/self/mounts), e.g. "tmpfs", "ext4". */
  fsType: string;
  path: string;
  sizeMiB: number;
  /** Set when this file system is not measured in this run. */
  skipped?: string;
}

/** statfs(2) f_type magics (include/uapi/linux/magic.h), for when /proc/self/mounts says nothing. */
const FS_MAGIC: Record<number, string> = {
  0x01021994: 'tmpfs',
  0x858458f6: 'ramfs',
  0xef53: 'ext2/3/4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0xf2f52010: 'f2fs',
  0x2fc12fc1: 'zfs',
  0xca451a4e: 'bcachefs',
  0x794c7630: 'overlay',
  0x6969: 'nfs',
  0x65735546: 'fuse',
};

const MEMORY_FS = new Set(['tmpfs', 'ramfs']);

/** The type of the file system holding `dir`: the longest mount point of /proc/self/mounts above it. */
export function fsTypeOf(dir: string): string {
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    /* keep the path as given */
  }
  try {
    let best = '';
    let type = '';
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [, mnt, fstype] = line.split(' ');
      if (!mnt || !fstype) continue;
      const m = mnt.replace(/\\040/g, ' ');
      const under = m === '/' || real === m || real.startsWith(`${m}/`);
      if (under && m.length >= best.length) {
        best = m;
        type = fstype;
      }
    }
    if (type) return type;
  } catch {
    /* no /proc: ask statfs */
  }
  try {
    const t = Number(statfsSync(dir).type) >>> 0;
    return FS_MAGIC[t] ?? `unknown (statfs type 0x${t.toString(16)})`;
  } catch {
    return 'unknown';
  }
}

/** Where each kind of file goes in this run. */
export function readDir(kind: FsKind): { dir: string; fsType: string } | { skipped: string; dir: string; fsType: string } {
  if (kind === 'tmpfs') {
    const dir = '/dev/shm';
    if (!existsSync(dir)) return { dir, fsType: 'none', skipped: 'no /dev/shm on this machine' };
    const fsType = fsTypeOf(dir);
    return MEMORY_FS.has(fsType) ? { dir, fsType } : { dir, fsType, skipped: `/dev/shm is ${fsType}, not tmpfs` };
  }
  const env = process.env.RINGFLOW_BENCH_DISK_DIR;
  const candidates = env ? [env] : [tmpdir(), benchCache()];
  for (const dir of candidates) {
    if (!existsSync(dir)) continue;
    const fsType = fsTypeOf(dir);
    if (!MEMORY_FS.has(fsType)) return { dir, fsType };
  }
  const tried = candidates.map((d) => `${d} (${existsSync(d) ? fsTypeOf(d) : 'missing'})`).join(', ');
  return { dir: candidates[0], fsType: 'none', skipped: `no disk file system among ${tried}; set RINGFLOW_BENCH_DISK_DIR` };
}

/** Plans the files of a run (nothing is written yet). */
export function planReadFiles(kinds: readonly FsKind[], sizeMiB: number, tag = String(process.pid)): ReadFile[] {
  return kinds.map((kind) => {
    const d = readDir(kind);
    return { kind, dir: d.dir, fsType: d.fsType, path: join(d.dir, `ringflow-bench-${tag}-${kind}.dat`), sizeMiB, ...('skipped' in d ? { skipped: d.skipped } : {}) };
  });
}

/** Reads the whole file once (pulls every page into the page cache). */
export function readThrough(path: string): void {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    while (readSync(fd, buf, 0, buf.length, null) > 0) {
      /* discard */
    }
  } finally {
    closeSync(fd);
  }
}

/** Percent of `path` resident in the page cache (fincore: mincore(2) over a mapping), or why not known. */
export function residentPct(path: string): number | { unknown: string } {
  const r = spawnSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES,SIZE', path], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { unknown: r.error ? 'fincore is not installed (util-linux)' : `fincore exited ${r.status}: ${r.stderr.trim()}` };
  const [res, size] = r.stdout.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(res) || !Number.isFinite(size)) return { unknown: `fincore printed "${r.stdout.trim()}"` };
  return size > 0 ? (100 * res) / size : 100;
}

/**
 * Before a cell: the residency the file has now; if below 100 %, it is read through once more and
 * the residency after that is what the cell starts with. Returns that percentage (or undefined
 * when it cannot be known).
 */
export function ensureResident(path: string): number | undefined {
  let pct = residentPct(path);
  if (typeof pct !== 'number') return undefined;
  if (pct < 100) {
    readThrough(path);
    pct = residentPct(path);
  }
  return typeof pct === 'number' ? pct : undefined;
}

/** Writes the pattern file, fsyncs it (so no writeback runs during the cells) and reads it once. */
export function createReadFile(f: ReadFile): void {
  createPatternFile(f.path, f.sizeMiB);
  const fd = openSync(f.path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  readThrough(f.path);
}

export function removeReadFiles(files: readonly ReadFile[]): void {
  for (const f of files) if (!f.skipped) removeQuietly(f.path);
}

