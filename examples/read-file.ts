/**
 * Reads a file with ringflow: open, stat, read in parallel 64 KiB chunks, close.
 * Run: node dist/examples/read-file.js [path]   (default: this script itself)
 */
import { fileURLToPath } from 'node:url';
import { Ring, O } from '../src/index.js';

export async function readWholeFile(ring: Ring, path: string): Promise<Buffer> {
  const fd = await ring.openat(path, O.RDONLY);
  try {
    const { size } = await ring.statx('', { dirfd: fd, statxFlags: 0x1000 /* AT_EMPTY_PATH */ });
    const out = Buffer.allocUnsafe(Number(size));
    const CHUNK = 64 * 1024;
    const reads: Promise<number>[] = [];
    for (let off = 0; off < out.length; off += CHUNK) {
      // all chunk reads go to the kernel in one io_uring_enter
      reads.push(ring.read(fd, out.subarray(off, Math.min(off + CHUNK, out.length)), off));
    }
    await Promise.all(reads);
    return out;
  } finally {
    await ring.closeFd(fd);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await using ring = new Ring();
  const path = process.argv[2] ?? fileURLToPath(import.meta.url);
  const data = await readWholeFile(ring, path);
  const s = ring.stats();
  console.log(`${path}: ${data.length} bytes in ${s.sqesSubmitted} requests, ${s.enterCalls} io_uring_enter calls`);
}
