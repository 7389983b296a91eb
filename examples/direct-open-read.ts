/**
 * read(open()) in one submission, through a direct descriptor: OPENAT into slot 0 of the ring's
 * registered file table → READ from that slot (IOSQE_FIXED_FILE) → CLOSE of the slot, linked, so
 * one io_uring_enter opens, reads and closes. Without a registered slot this cannot be one
 * submission: a process fd's number is known only once the open completes.
 * Run: node dist/examples/direct-open-read.js [path]   (default: this script itself)
 */
import { fileURLToPath } from 'node:url';
import { Ring, O, op, fixed } from '../src/index.js';

/** Reads up to `max` bytes from the start of `path` in one linked submission; returns them. */
export async function readThroughSlot(ring: Ring, path: string, max = 4096): Promise<Buffer> {
  if (ring.files.size === 0) ring.files.register({ sparse: 1 });
  const buf = Buffer.alloc(max);
  const slot = fixed(0);
  // link: the read starts after the open succeeded; hardlink: the close runs even when the read
  // comes back short (a short read counts as failed for a plain link)
  const [opened, read, closed] = ring.chain([
    op.openat(path, O.RDONLY, 0, { direct: 0 }).link(), // into slot 0 (file_index 1)
    op.read(slot, buf, 0).hardlink(), // from slot 0, looked up when the read starts
    op.close(slot), // empties slot 0
  ]);
  const [o, r, c] = await Promise.allSettled([opened, read, closed]);
  for (const x of [o, r, c]) if (x.status === 'rejected') throw x.reason;
  const n = (r as PromiseFulfilledResult<unknown>).value as number;
  return buf.subarray(0, n);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await using ring = new Ring();
  const path = process.argv[2] ?? fileURLToPath(import.meta.url);
  const data = await readThroughSlot(ring, path, 1 << 20);
  const s = ring.stats();
  console.log(`${path}: ${data.length} bytes; open, read and close in ${s.enterCalls} io_uring_enter call${s.enterCalls === 1 ? '' : 's'}`);
}
