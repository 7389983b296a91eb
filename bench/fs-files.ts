/**
 * The fs trial's files (bench/fs-trial.ts): on the disk file system the read trial uses
 * (readDir('disk'): the OS temp dir when it is ext4/xfs/…, not /dev/shm), one directory holding
 *   small/  `count` files of 1 KiB      (readFile 1 KiB, and stat of every path)
 *   medium/ `count` files of 64 KiB     (readFile 64 KiB)
 *   random.dat  a 64 MiB file of the block pattern (the FileHandle random-read loop)
 * Every file is written (its pages stay in the page cache), the file system synced once (sync -f:
 * no writeback during the cells) and the random-read file read once. Files of a size hold a per-file stamp in their
 * first 8 bytes (file index, length) that the trial checks on every read.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createPatternFile } from './drivers.js';
import { readDir, readThrough } from './read-files.js';
import { FS_SIZES, fsFilePath, randomFilePath, stampFile, type FsSize } from './fs-layout.js';

export { FS_SIZES, fsFilePath, randomFilePath, type FsSize };

export interface FsFileSet {
  dir: string;
  fsType: string;
  /** Files per size. */
  count: number;
  /** MiB of the random-read file. */
  randomMiB: number;
  skipped?: string;
}

export function planFsFiles(count: number, randomMiB: number, tag = String(process.pid)): FsFileSet {
  const d = readDir('disk');
  const dir = join(d.dir, `ringflow-bench-fs-${tag}`);
  return { dir, fsType: d.fsType, count, randomMiB, ...('skipped' in d ? { skipped: d.skipped } : {}) };
}

/** Writes the set, syncs it and reads it once. */
export function createFsFiles(s: FsFileSet): void {
  mkdirSync(s.dir, { recursive: true });
  for (const size of Object.keys(FS_SIZES) as FsSize[]) {
    mkdirSync(join(s.dir, size), { recursive: true });
    const buf = Buffer.alloc(FS_SIZES[size]);
    for (let i = 0; i < s.count; i++) {
      stampFile(buf, i);
      const fd = openSync(fsFilePath(s.dir, size, i), 'w', 0o600);
      try {
        writeSync(fd, buf);
      } finally {
        closeSync(fd);
      }
    }
  }
  createPatternFile(randomFilePath(s.dir), s.randomMiB);
  // syncfs(2) of the file system holding the set: no writeback of these files during the cells
  spawnSync('sync', ['-f', s.dir], { stdio: 'ignore' });
  readThrough(randomFilePath(s.dir));
}

export function removeFsFiles(s: FsFileSet): void {
  if (!s.skipped) rmSync(s.dir, { recursive: true, force: true });
}
