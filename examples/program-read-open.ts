/**
 * read(open()) by a completion program: an eBPF program compiled from C opens a file, feeds the
 * fd it got into a READ, closes it and reports the byte count, all next to the ring; JavaScript
 * wakes once, for the result (docs/completion-programs.md).
 *
 *   node dist/examples/program-read-open.js [path]     (needs clang; default: /etc/hostname)
 *
 * The program is test/programs/ring/read_open.c:
 *   run 1: OPENAT(path) on CQ 1, wait for 1 CQE  → run 2: READ(fd, buf) → run 3: CLOSE(fd)
 *   → run 4: emit { 0xA0A0, bytes } to CQ 0 and finish.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ring, loadObject, ArrayMap } from '../src/index.js'; // from 'ringflow' in your project

const root = fileURLToPath(new URL('../..', import.meta.url));

/** clang -O2 -g -target bpf -c read_open.c (with ringflow/bpf.h on the include path). */
export function compileReadOpen(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'rf-example-'));
  try {
    const out = join(dir, 'read_open.o');
    const src = join(root, 'test', 'programs', 'ring', 'read_open.c');
    const r = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-I', join(root, 'include'), '-c', src, '-o', out], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`clang failed: ${r.error?.message ?? r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads up to `max` bytes of `path` through the program; returns them and how often JS woke. */
export async function readOpenByProgram(ring: Ring, elf: Uint8Array, path: string, max = 4096): Promise<{ data: Buffer; wakeups: number }> {
  const obj = loadObject(elf);
  const prog = ring.registerProgram(obj.program('read_open'));
  // the files it may open: those beneath the file's directory, read only (docs/security.md)
  const dirfd = ring.allowDir(dirname(path));
  // the memory the program may touch: the path (read-only) and the destination buffer
  const pathBuf = Buffer.from(basename(path) + '\0');
  const p = ring.registerRegion(pathBuf, { writable: false });
  const b = ring.registerRegion(max); // memory the ring allocates and owns; b.bytes is JS's view
  const buf = b.bytes;
  const args = (obj.maps.get('args') as ArrayMap).view(0); // struct args { u64 path, buf; u32 len; s32 dirfd; }
  args.setBigUint64(0, BigInt(p.address), true);
  args.setBigUint64(8, BigInt(b.address), true);
  args.setUint32(16, max, true);
  args.setInt32(20, dirfd, true);

  let bytes: number | undefined;
  ring.onCompletion((cqe) => {
    if (cqe.userData === 0xa0a0n) bytes = cqe.res;
  });
  const w0 = ring.stats().wakeups;
  await ring.runProgram(prog);
  const wakeups = ring.stats().wakeups - w0;
  if (bytes === undefined) throw new Error('the program reported nothing');
  if (bytes < 0) throw new Error(`read(open(${path})) failed: errno ${-bytes}`);
  return { data: buf.subarray(0, bytes), wakeups };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2] ?? '/etc/hostname';
  await using ring = new Ring({ cqs: [16] });
  const { data, wakeups } = await readOpenByProgram(ring, compileReadOpen(), path);
  console.log(`${path}: ${data.length} bytes read by a program (openat → read → close), JS woke ${wakeups} time(s)`);
}
