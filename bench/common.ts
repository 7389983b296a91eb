/**
 * Shared pieces of the benchmark trials. A trial is one compiled file under dist/bench/ that the
 * suite runs in a fresh `node` process with its arguments as one JSON string in argv[2]; it prints
 * one JSON line (a TrialResult) on stdout and exits 0, or prints the error on stderr and exits 1.
 */

/** What a trial reports. ops/seconds cover the measured window only (after the warm-up). */
export interface TrialResult {
  opsPerSec: number;
  ops: number;
  seconds: number;
  /** io_uring_enter calls made during the window (ringflow: ring.stats().enterCalls; C loop: its own count). */
  enterCalls?: number;
  /** SQEs per io_uring_enter during the window (sqesSubmitted / enterCalls). */
  iosPerCall?: number;
  /** Times libuv woke JS for completions during the window (ringflow only). */
  wakeups?: number;
  /** Completions whose buffer content was checked against the file's pattern. */
  verified?: number;
  /** Setup flags of the ring the trial used (ringflow only), as names. */
  setupFlags?: string[];
  note?: string;
}

/** Trial arguments from argv[2] (JSON). */
export function trialArgs<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error('trial: missing JSON arguments in argv[2]');
  return JSON.parse(raw) as T;
}

/** Runs a trial body, prints its result as one JSON line, exits 0; on error prints it and exits 1. */
export function runTrial(body: () => Promise<TrialResult>): void {
  body().then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`trial failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}

/** 4 KiB: the block size of the read trials and of the file's pattern. */
export const BLOCK = 4096;

/**
 * The bench file's pattern: block b holds b (u32 LE) at byte 0 and ~b at byte 4092, so a read of
 * block b can be checked with two loads, and a driver returning the wrong block, a short read or
 * untouched memory cannot pass.
 */
export function stampBlock(buf: Buffer, at: number, block: number): void {
  buf.writeUInt32LE(block >>> 0, at);
  buf.writeUInt32LE(~block >>> 0, at + BLOCK - 4);
}

export function checkBlock(buf: Buffer, block: number): boolean {
  return buf.readUInt32LE(0) === block >>> 0 && buf.readUInt32LE(BLOCK - 4) === ~block >>> 0;
}

/** xorshift32: the same seed gives every driver the same offsets sequence. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.#s = x;
    return x;
  }
  /** Uniform-enough integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
}

/**
 * The timing window: a warm-up, then a measured interval. Loops call `done()` after each
 * completion; it reads the clock every 64 completions (never via timers: with DEFER_TASKRUN and
 * in-line completions a tight await loop may never yield to the timers phase).
 */
export class Window {
  ops = 0;
  running = true;
  #start = performance.now();
  #measuring = false;
  #t0 = 0;
  #ops0 = 0;
  #t1 = 0;
  #ops1 = 0;
  readonly #warmupMs: number;
  readonly #measureMs: number;
  readonly #onStart: () => void;
  readonly #onEnd: () => void;

  constructor(warmupMs: number, measureMs: number, onStart: () => void = () => {}, onEnd: () => void = () => {}) {
    this.#warmupMs = warmupMs;
    this.#measureMs = measureMs;
    this.#onStart = onStart;
    this.#onEnd = onEnd;
  }

  /** Counts n completions; returns false once the window has closed. */
  done(n = 1): boolean {
    const before = this.ops;
    this.ops += n;
    if (((before ^ this.ops) & ~63) !== 0 || n >= 64) this.#check();
    return this.running;
  }

  #check(): void {
    const now = performance.now();
    if (!this.#measuring) {
      if (now - this.#start >= this.#warmupMs) {
        this.#measuring = true;
        this.#t0 = now;
        this.#ops0 = this.ops;
        this.#onStart();
      }
    } else if (now - this.#t0 >= this.#measureMs && this.running) {
      this.#t1 = now;
      this.#ops1 = this.ops;
      this.running = false;
      this.#onEnd();
    }
  }

  /** Ops and seconds of the measured interval. */
  result(): { ops: number; seconds: number; opsPerSec: number } {
    const ops = this.#ops1 - this.#ops0;
    const seconds = (this.#t1 - this.#t0) / 1000;
    return { ops, seconds, opsPerSec: seconds > 0 ? ops / seconds : 0 };
  }
}

/** Ring counters snapshot at the window's start and end → enter calls and IOS/call in the window. */
export function statsDelta(
  a: { enterCalls: number; sqesSubmitted: number; wakeups: number },
  b: { enterCalls: number; sqesSubmitted: number; wakeups: number },
): { enterCalls: number; iosPerCall: number; wakeups: number } {
  const enterCalls = b.enterCalls - a.enterCalls;
  const sqes = b.sqesSubmitted - a.sqesSubmitted;
  return { enterCalls, iosPerCall: enterCalls > 0 ? sqes / enterCalls : 0, wakeups: b.wakeups - a.wakeups };
}

/**
 * One loop of 4 KiB reads at random blocks of a pattern file through a FileHandle-like `read`
 * (node:fs/promises under Node or Bun, ringflow/fs), each block checked, until `w` is done.
 */
export async function randomBlockReads(
  fh: { read(buf: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> },
  blocks: number,
  seed: number,
  w: Window,
): Promise<void> {
  const rng = new Rng(seed);
  const buf = Buffer.allocUnsafe(BLOCK);
  do {
    const b = rng.below(blocks);
    const { bytesRead } = await fh.read(buf, 0, BLOCK, b * BLOCK);
    if (bytesRead !== BLOCK || !checkBlock(buf, b)) throw new Error(`read of block ${b} returned ${bytesRead} bytes or the wrong content: driver is broken`);
  } while (w.done());
}
