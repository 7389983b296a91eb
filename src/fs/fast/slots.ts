/**
 * Direct-descriptor slots for ringflow/fs's linked chains (open → read → close in one submission).
 *
 * A linked chain must name the slot its open fills before the open has run, so the kernel's own
 * pick (IORING_FILE_INDEX_ALLOC) cannot be used: the read after it would not know where to look.
 * SlotPool hands out slots of the ring's registered file table that only ringflow/fs uses and
 * takes them back once the chain that used them has settled (and its file is closed).
 *
 * The table: when the ring has none, the pool registers a sparse one (IORING_RSRC_REGISTER_SPARSE)
 * of `size + reserveForOthers` slots, keeps [0, size) for itself and points the kernel's 'auto'
 * allocation at the rest (IORING_REGISTER_FILE_ALLOC_RANGE), so an `openat(..., { direct: 'auto' })`
 * made by other code on the same ring never lands in one of ours. A ring that already has a file
 * table gets no pool unless the caller hands one over with `SlotPool.adopt(ring, offset, count)`;
 * the fast functions then open into plain descriptors (two submissions instead of one).
 */
import type { Ring } from '../../ring/ring.js';
import { FixedFile } from '../../ops/sqe.js';
import { RingError } from '../../errors.js';

/** Slots a pool keeps for ringflow/fs by default. */
export const DEFAULT_POOL_SLOTS = 1024;
/** Slots left to the kernel's 'auto' allocation for other code on the ring. */
export const DEFAULT_OTHER_SLOTS = 1024;
/** The smallest table the pool registers when RLIMIT_NOFILE refuses larger ones (half of it the pool's). */
const MIN_TABLE_SLOTS = 16;

const pools = new WeakMap<Ring, SlotPool | null>();

export class SlotPool {
  /** First slot of the pool in the ring's table. */
  readonly offset: number;
  /** Slots in the pool. */
  readonly size: number;
  #free: number[];
  #waiters: ((slot: number) => void)[] = [];
  #inUse = new Uint8Array(0);
  #idle: (() => void)[] = [];

  private constructor(offset: number, size: number) {
    this.offset = offset;
    this.size = size;
    this.#inUse = new Uint8Array(size);
    // handed out lowest first: pop() takes from the end
    this.#free = Array.from({ length: size }, (_, i) => offset + size - 1 - i);
  }

  /**
   * The ring's pool: created on first use (registering a sparse table when the ring has none);
   * undefined when the ring already has a file table that was not handed over with adopt().
   */
  static of(ring: Ring): SlotPool | undefined {
    const known = pools.get(ring);
    if (known !== undefined) return known ?? undefined;
    let pool: SlotPool | null = null;
    if (ring.files.size === 0) {
      // the kernel refuses a table of more slots than RLIMIT_NOFILE allows (EMFILE: a hard limit of
      // 1024 in some containers and serverless runtimes): halve it until it fits; any other refusal,
      // or none fitting, leaves the fast functions on plain descriptors
      for (let total = DEFAULT_POOL_SLOTS + DEFAULT_OTHER_SLOTS; total >= MIN_TABLE_SLOTS; total >>= 1) {
        try {
          ring.files.register({ sparse: total });
        } catch (e) {
          if (e instanceof RingError && e.code === 'EMFILE') continue;
          if (e instanceof RingError) break;
          throw e;
        }
        const mine = total >> 1;
        ring.files.allocRange(mine, total - mine);
        pool = new SlotPool(0, mine);
        break;
      }
    }
    pools.set(ring, pool);
    return pool ?? undefined;
  }

  /**
   * Hands slots [offset, offset + count) of the ring's existing file table to ringflow/fs (they
   * must be empty and stay untouched by other code). Replaces the ring's pool; call it before the
   * first fs call on this ring.
   */
  static adopt(ring: Ring, offset: number, count: number): SlotPool {
    if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`SlotPool.adopt(): "offset" must be an integer >= 0, got ${String(offset)}`);
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`SlotPool.adopt(): "count" must be an integer >= 1, got ${String(count)}`);
    if (offset + count > ring.files.size)
      throw new RangeError(`SlotPool.adopt(): slots ${offset}..${offset + count - 1} are past the ring's file table (${ring.files.size} slots)`);
    const pool = new SlotPool(offset, count);
    pools.set(ring, pool);
    return pool;
  }

  /** Slots not handed out now. */
  get free(): number {
    return this.#free.length;
  }

  /** Callers waiting for a slot (more chains in flight than the pool has slots). */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** A free slot now, or -1 when every slot is out. */
  tryTake(): number {
    const s = this.#free.pop();
    if (s === undefined) return -1;
    this.#inUse[s - this.offset] = 1;
    return s;
  }

  /** A free slot, waiting for one when every slot is out. */
  take(): number | Promise<number> {
    const s = this.tryTake();
    if (s >= 0) return s;
    return new Promise<number>((resolve) => this.#waiters.push(resolve));
  }

  /** Gives a slot back (its file must be closed: the slot empty). A waiter gets it at once. */
  give(slot: number): void {
    const i = slot - this.offset;
    if (i < 0 || i >= this.size || this.#inUse[i] !== 1) throw new Error(`SlotPool.give(): slot ${slot} was not handed out`);
    const w = this.#waiters.shift();
    if (w) return w(slot);
    this.#inUse[i] = 0;
    this.#free.push(slot);
    if (this.#free.length === this.size) for (const f of this.#idle.splice(0)) f();
  }

  /** Resolves once every slot is back (the closes queued after the last reads have completed). */
  idle(): Promise<void> {
    if (this.#free.length === this.size) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** The slot as the FixedFile an op takes. */
  static fixed(slot: number): FixedFile {
    return new FixedFile(slot);
  }
}
