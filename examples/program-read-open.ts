/**
 * read(open()) by a completion program: an eBPF program opens a file, feeds the fd it got into a
 * READ, closes it and reports the byte count, all next to the ring; JavaScript wakes once, for the
 * result (docs/completion-programs.md).
 *
 *   node dist/examples/program-read-open.js [path]     (default: /etc/hostname; no compiler needed)
 *
 * The program is programs/read_open.bpf.c, shipped prebuilt (programs/read_open.bpf.o, which
 * builtinObject('read_open') returns):
 *   run 1: OPENAT(path) on CQ 1, wait for 1 CQE  → run 2: READ(fd, buf) → run 3: CLOSE(fd)
 *   → run 4: emit { 0xA0A0, bytes } to CQ 0 and finish.
 * A program of your own: clang -O2 -g -target bpf -I <ringflow>/include -c prog.c, then
 * loadObject(readFileSync('prog.o')) (docs/programs.md).
 */
import { dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ring, loadObject, builtinObject, ArrayMap } from '../src/index.js'; // from 'ringflow' in your project

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
  const { data, wakeups } = await readOpenByProgram(ring, builtinObject('read_open'), path);
  console.log(`${path}: ${data.length} bytes read by a program (openat → read → close), JS woke ${wakeups} time(s)`);
}
