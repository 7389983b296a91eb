/**
 * A ring per worker thread, ring to ring: the main thread opens each file into its ring's file
 * table and passes it to a worker's ring (IORING_MSG_SEND_FD); the worker reads it through its
 * own ring, hashes it, and sends the result back to the main ring as a data message
 * (IORING_MSG_DATA). No postMessage() on the hot path: only the rings' handles cross it, once.
 *
 * Run: node dist/examples/worker-fanout.js [--workers N] [file ...]   (default: ringflow's own dist/src/ring/*.js)
 */
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { Ring, O, type RingHandle, type RingMessage } from '../src/index.js';

/** Files a worker holds at once (slots of its ring's file table). */
const SLOTS = 8;
/** A data message that tells a worker to stop. */
const STOP = 0x7fffffff;
/** A reply's data: worker index << 16 | the worker's slot the file was in. */
const replyData = (worker: number, slot: number) => (worker << 16) | slot;

export interface HashResult {
  path: string;
  /** The first 4 bytes of the file's SHA-256, as a signed 32-bit integer (what one message's res carries). */
  sha256Prefix: number;
  /** The worker that hashed it. */
  worker: number;
}

/** The first 4 bytes of a SHA-256 digest as a signed 32-bit integer. */
export const prefixOf = (digest: Buffer): number => digest.readInt32BE(0);

/** A worker: its ring receives files, hashes them, replies to the main ring. */
async function hasher(index: number, reply: RingHandle): Promise<void> {
  const ring = new Ring();
  ring.files.register({ sparse: SLOTS });
  const { port } = workerData as { port: import('node:worker_threads').MessagePort };
  port.postMessage(ring.handle()); // the one postMessage: where to send files
  const buf = Buffer.allocUnsafe(64 * 1024);
  for await (const m of ring.messages()) {
    if (m.type === 'data' && m.data === STOP) break;
    if (m.type !== 'file') continue;
    const h = createHash('sha256');
    for (let pos = 0; ; ) {
      const n = await ring.read(m.file, buf, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
    await ring.closeFd(m.file); // the slot is free again before the main thread hears of it
    await ring.sendMessage(reply, replyData(index, m.file.index), prefixOf(h.digest()));
  }
  await ring.close();
}

/** Hashes `paths` on `workers` worker threads, each with its own ring. */
export async function fanOut(paths: readonly string[], workers: number): Promise<HashResult[]> {
  await using ring = new Ring();
  ring.files.register({ sparse: Math.max(64, workers * SLOTS) });
  const script = fileURLToPath(import.meta.url);
  const threads: Worker[] = [];
  const targets: RingHandle[] = [];
  let fail!: (e: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {});
  for (let i = 0; i < workers; i++) {
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(script, { workerData: { role: 'hasher', index: i, reply: ring.handle(), port: port2 }, transferList: [port2] });
    threads.push(w);
    w.once('error', fail);
    targets.push(await new Promise<RingHandle>((resolve) => port1.once('message', (h: RingHandle) => (port1.close(), resolve(h)))));
  }
  const results: HashResult[] = new Array(paths.length);
  // per worker: free slots, and which job each busy slot holds
  const free = targets.map(() => Array.from({ length: SLOTS }, (_, s) => SLOTS - 1 - s));
  const busy = targets.map(() => new Map<number, number>());
  let next = 0;
  let done = 0;
  const replies = ring.messages();

  /** Sends job `job` to worker `w` (one of its free slots). */
  const dispatch = async (w: number, job: number): Promise<void> => {
    const slot = free[w].pop()!;
    busy[w].set(slot, job);
    const mine = await ring.openat(paths[job], O.RDONLY, 0, { direct: 'auto' });
    try {
      await ring.sendFile(targets[w], mine, slot);
    } finally {
      await ring.closeFd(mine); // the worker's ring holds its own reference now
    }
  };
  const sends: Promise<void>[] = [];
  for (let w = 0; w < workers; w++) while (free[w].length > 0 && next < paths.length) sends.push(dispatch(w, next++));
  while (done < paths.length) {
    const { value } = (await Promise.race([replies.next(), failed])) as IteratorResult<RingMessage>;
    if (value.type !== 'data') continue;
    const w = value.data >>> 16;
    const slot = value.data & 0xffff;
    const job = busy[w].get(slot)!;
    busy[w].delete(slot);
    free[w].push(slot);
    results[job] = { path: paths[job], sha256Prefix: value.value, worker: w };
    done++;
    if (next < paths.length) sends.push(dispatch(w, next++));
  }
  await Promise.all(sends);
  await replies.return!();
  for (const t of targets) await ring.sendMessage(t, STOP);
  await Promise.all(threads.map((t) => new Promise((resolve) => t.once('exit', resolve))));
  return results;
}

if (!isMainThread && (workerData as { role?: string })?.role === 'hasher') {
  const { index, reply } = workerData as { index: number; reply: RingHandle };
  await hasher(index, reply);
} else if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let workers = 2;
  const wi = args.indexOf('--workers');
  if (wi >= 0) {
    workers = Number(args[wi + 1]);
    args.splice(wi, 2);
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const ringDir = join(here, '..', 'src', 'ring');
  const paths = args.length > 0 ? args : readdirSync(ringDir).filter((f) => f.endsWith('.js')).map((f) => join(ringDir, f));
  const t0 = performance.now();
  const results = await fanOut(paths, workers);
  const ms = performance.now() - t0;
  for (const r of results) console.log(`${(r.sha256Prefix >>> 0).toString(16).padStart(8, '0')}  worker ${r.worker}  ${r.path}`);
  console.log(`${results.length} files hashed by ${workers} workers in ${ms.toFixed(1)} ms`);
}
