/**
 * The temp trees: a base directory under os.tmpdir() (the disk, not tmpfs), per case two roots of
 * the same length (`<base>/<case>/a` and `.../b`) filled with identical contents, a `shared`
 * directory both sides read (for Stats compared whole), and a snapshot of a tree's state (names,
 * types, sizes, contents, link targets, modes, link counts) for comparing the two after a case.
 */
import {
  mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, lstatSync, readdirSync, readFileSync,
  readlinkSync, utimesSync, lutimesSync, chmodSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { normalise } from './describe.js';

/** Bytes 0..n-1 of a fixed pseudo-random pattern (binary content, every byte value). */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** The fixture every case starts from (relative names; the root prefix is added per side). */
export function fillFixture(root: string): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'file.txt'), 'hello world\n');
  writeFileSync(join(root, 'utf8.txt'), 'héllo wörld ✓ 𝄞\n');
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'bin'), bytes(1000));
  writeFileSync(join(root, 'big'), bytes(70_000, 7));
  writeFileSync(join(root, 'lines.txt'), 'one\ntwo\r\nthree\n\nfive');
  writeFileSync(join(root, 'ro.txt'), 'read only\n', { mode: 0o444 });
  chmodSync(join(root, 'ro.txt'), 0o444);
  mkdirSync(join(root, 'dir/sub'), { recursive: true });
  writeFileSync(join(root, 'dir/a.txt'), 'A');
  writeFileSync(join(root, 'dir/b.txt'), 'BB');
  writeFileSync(join(root, 'dir/sub/c.txt'), 'CCC');
  mkdirSync(join(root, 'emptydir'));
  symlinkSync('file.txt', join(root, 'link-file'));
  symlinkSync('dir', join(root, 'link-dir'));
  symlinkSync('nowhere', join(root, 'link-broken'));
  symlinkSync(join(root, 'file.txt'), join(root, 'link-abs'));
  symlinkSync('link-loop', join(root, 'link-loop'));
  // Fixed times, so a case that only reads leaves comparable times behind.
  const t = new Date('2020-01-02T03:04:05.678Z');
  for (const name of ['file.txt', 'utf8.txt', 'empty', 'bin', 'big', 'lines.txt', 'ro.txt', 'dir/a.txt', 'dir/b.txt', 'dir/sub/c.txt', 'dir/sub', 'dir', 'emptydir']) {
    utimesSync(join(root, name), t, t);
  }
  for (const name of ['link-file', 'link-dir', 'link-broken', 'link-abs', 'link-loop']) lutimesSync(join(root, name), t, t);
}

/** The suite's temp area: created once per test file, removed by `cleanup`. */
export class TempArea {
  readonly base: string;
  readonly shared: string;
  private n = 0;

  /** `parent`: where to create the area (os.tmpdir() unless given). */
  constructor(parent = tmpdir()) {
    this.base = mkdtempSync(join(parent, 'rf-fs-diff-'));
    this.shared = join(this.base, 'shared');
    fillFixture(this.shared);
  }

  /**
   * Two fresh roots of equal length with identical fixture contents (or empty when `empty`). The
   * letter telling them apart comes after the 64th character, so messages that show a path cut
   * short (util.inspect of a Buffer or a long string in a validation error) read the same.
   */
  pair(empty = false): [string, string] {
    const name = `c${String(++this.n).padStart(5, '0')}-`;
    const dir = join(this.base, name.padEnd(Math.max(name.length, 64 - this.base.length), 'x'));
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    if (empty) {
      mkdirSync(a, { recursive: true });
      mkdirSync(b, { recursive: true });
    } else {
      fillFixture(a);
      fillFixture(b);
    }
    return [a, b];
  }

  cleanup(): void {
    rmSync(this.base, { recursive: true, force: true, maxRetries: 3 });
  }
}

export interface EntryState {
  type: string;
  mode: string;
  nlink: number;
  uid: number;
  gid: number;
  size?: number;
  content?: string;
  target?: string;
  entries?: string[];
  mtimeMs?: number;
  atimeMs?: number;
}

/**
 * The state of the tree under `root`, by relative path: type, permission bits, link count, owner,
 * size and content of files (latin1), link targets, directory listings; times of the entries
 * named in `times` (relative paths: the ones a case set explicitly, e.g. with utimes).
 */
export function snapshot(root: string, times: readonly string[] = []): Record<string, EntryState> {
  const out: Record<string, EntryState> = {};
  const walk = (rel: string): void => {
    const abs = rel ? join(root, rel) : root;
    const st = lstatSync(abs);
    const e: EntryState = {
      type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : 'other',
      mode: (st.mode & 0o7777).toString(8),
      nlink: st.nlink,
      uid: st.uid,
      gid: st.gid,
    };
    if (times.includes(rel)) {
      e.mtimeMs = st.mtimeMs;
      e.atimeMs = st.atimeMs;
    }
    if (e.type === 'file') {
      e.size = st.size;
      e.content = st.size <= 1 << 20 ? normalise(readFileSync(abs).toString('latin1'), root) : `<${st.size} bytes>`;
    } else if (e.type === 'symlink') {
      e.target = normalise(readlinkSync(abs), root);
    } else if (e.type === 'dir') {
      const names = readdirSync(abs).sort();
      e.entries = names;
      out[rel || '.'] = e;
      for (const n of names) walk(rel ? join(rel, n) : n);
      return;
    }
    out[rel] = e;
  };
  walk('');
  return out;
}
