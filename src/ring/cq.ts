/**
 * Extra completion queues (the 2021 BPF prototype's multiple CQs), kept by the native engine in
 * shared memory that JS reads directly. Layout: head u32 @0, tail u32 @4, mask u32 @8,
 * entries u32 @12, dropped u32 @16, posted u64 @24, parked u32 @32, CQEs (16 bytes each) from
 * byte 64. `parked`: programs' multishot CQEs waiting in the engine for room in this queue
 * (docs/completion-programs.md, "Multishot requests"); JS reading the queue lets them in.
 */

/** A completion as read from a completion queue. */
export interface Cqe {
  userData: bigint;
  res: number;
  flags: number;
}

/**
 * A request's 32-byte completion (a ring with cqe32, or a cqeMixed ring's IORING_CQE_F_32
 * entries): res, flags and big_cqe[0..1], which the op defines (a nop with its CQE32 flag: the
 * SQE's off and addr; a uring_cmd: the driver's second result in extra1). ring.runBig() resolves it.
 */
export interface BigCompletion {
  res: number;
  flags: number;
  extra1: bigint;
  extra2: bigint;
}

export const CQ_HEADER = 64;

/** One completion queue of a ring (index ≥ 1), readable from JS. */
export class CompletionQueue {
  readonly index: number;
  readonly size: number;
  #u32: Uint32Array;
  #i32: Int32Array;
  #u64: BigUint64Array;

  readonly #flushPark: (() => unknown) | undefined;

  /** @internal */
  constructor(index: number, memory: ArrayBuffer, flushPark?: () => unknown) {
    this.index = index;
    this.#flushPark = flushPark;
    this.#u32 = new Uint32Array(memory);
    this.#i32 = new Int32Array(memory);
    this.#u64 = new BigUint64Array(memory);
    this.size = this.#u32[3];
  }

  /** CQEs waiting in this queue. */
  get ready(): number {
    return (this.#u32[1] - this.#u32[0]) >>> 0;
  }
  /** CQEs dropped because the queue was full (the prototype's overflow policy for extra CQs). */
  get dropped(): number {
    return this.#u32[4];
  }
  /** CQEs of programs' multishot requests waiting in the engine for room in this queue (they move
   *  in, in order, as it is read). */
  get parked(): number {
    return this.#u32[8];
  }
  /** CQEs ever posted to this queue. */
  get posted(): number {
    return Number(this.#u64[3]);
  }

  /** Takes the oldest CQE off the queue (its slot is released before the caller sees it), or undefined. */
  shift(): Cqe | undefined {
    const u32 = this.#u32;
    const head = u32[0];
    if (head === u32[1]) return undefined;
    const w = (CQ_HEADER >> 2) + ((head & u32[2]) << 2);
    const c = { userData: (BigInt(u32[w + 1]) << 32n) | BigInt(u32[w]), res: this.#i32[w + 2], flags: u32[w + 3] };
    u32[0] = (head + 1) >>> 0;
    if (u32[8] !== 0) this.#flushPark?.();
    return c;
  }

  /** Takes up to `max` CQEs off the queue (oldest first). */
  drain(max = Infinity): Cqe[] {
    if (typeof max !== 'number' || !(max >= 0)) throw new RangeError(`drain(max): max must be a number >= 0, got ${max}`);
    const u32 = this.#u32;
    const out: Cqe[] = [];
    let head = u32[0];
    const tail = u32[1];
    const mask = u32[2];
    while (head !== tail && out.length < max) {
      const w = (CQ_HEADER >> 2) + ((head & mask) << 2);
      out.push({ userData: (BigInt(u32[w + 1]) << 32n) | BigInt(u32[w]), res: this.#i32[w + 2], flags: u32[w + 3] });
      head = (head + 1) >>> 0;
    }
    u32[0] = head;
    if (u32[8] !== 0 && out.length > 0) this.#flushPark?.(); // parked CQEs move into the room made
    return out;
  }
}
