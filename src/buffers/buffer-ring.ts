/**
 * The two ways a group's buffers reach the kernel (src/buffers/buffer-group.ts decides which):
 *
 *  - BufferRing: a ring-mapped group (IORING_REGISTER_PBUF_RING, 5.19; IOU_PBUF_RING_INC, 6.12).
 *    The ring is ringflow's native memory (NativeBlock: page-aligned, as the kernel requires),
 *    not the kernel's (IOU_PBUF_RING_MMAP, 6.4): one code path from 5.19 on, no mmap of the ring
 *    fd at a per-group offset, and the memory's life is ringflow's to decide (it is freed only
 *    after UNREGISTER_PBUF_RING returned). An entry is struct io_uring_buf (16 bytes: addr u64,
 *    len u32, bid u16, resv u16); the tail is the u16 at byte 14, over entry 0's resv. Entries
 *    are written, then the tail is stored (Atomics.store: ordered after them).
 *  - LegacyBuffers: IORING_OP_PROVIDE_BUFFERS / REMOVE_BUFFERS requests (5.7), one SQE per run of
 *    consecutive ids given back, queued at once so that a request submitted after it finds them.
 */
import { RegisterOp } from '../ring/abi.js';
import { RingError, RingClosedError, errno as errnoOf } from '../errors.js';
import { Sqe } from '../ops/sqe.js';
import { opByCode } from '../ops/table.js';
import type { Ring } from '../ring/ring.js';
import { NativeBlock, memlockError, pagesOf } from './native-memory.js';

const ENOENT = errnoOf('ENOENT');
/** IOU_PBUF_RING_INC (6.12): buffers are consumed piecewise (io_uring-6.18.md §2.7). */
export const PBUF_RING_INC = 2;
/** struct io_uring_buf_reg: 40 bytes (ring_addr u64, ring_entries u32, bgid u16, flags u16, resv). */
const BUF_REG_SIZE = 40;
const ENTRY_SIZE = 16;
const OP_PROVIDE_BUFFERS = opByCode(31)!;
const OP_REMOVE_BUFFERS = opByCode(32)!;

/** What a group needs of the mechanism that hands its buffers to the kernel. */
export interface GroupBackend {
  /** Puts buffer `bid` (all `size` bytes of it, at `address`) at position `pos` of the kernel's order. */
  put(pos: number, bid: number, address: number): void;
  /** Makes what put() wrote since the last publish visible to the kernel; `tail` is the next position. */
  publish(tail: number): void;
  /** Takes the group back from the kernel (nothing is handed out from it afterwards). */
  close(): Promise<void>;
}

export class BufferRing implements GroupBackend {
  readonly entries: number;
  readonly incremental: boolean;
  #ring: Ring;
  #id: number;
  #mem: NativeBlock;
  #u32: Uint32Array;
  #u16: Uint16Array;
  #size: number;
  #mask: number;

  /** Registers a ring of `entries` (a power of two ≤ 32768) for group `id`; throws RingError (EINVAL where the kernel lacks it or `flags`). */
  constructor(ring: Ring, id: number, entries: number, size: number, flags: number) {
    this.#ring = ring;
    this.#id = id;
    this.entries = entries;
    this.incremental = (flags & PBUF_RING_INC) !== 0;
    this.#size = size;
    this.#mask = entries - 1;
    this.#mem = new NativeBlock(entries * ENTRY_SIZE, `buffer group ${id}: its ring of ${entries} entries`);
    const ab = this.#mem.view(0, entries * ENTRY_SIZE);
    this.#u32 = new Uint32Array(ab);
    this.#u16 = new Uint16Array(ab);
    const reg = Buffer.alloc(BUF_REG_SIZE);
    reg.writeBigUInt64LE(BigInt(this.#mem.address), 0);
    reg.writeUInt32LE(entries, 8);
    reg.writeUInt16LE(id, 12);
    reg.writeUInt16LE(flags, 14);
    try {
      ring.register(RegisterOp.REGISTER_PBUF_RING, reg, 1);
    } catch (e) {
      this.#mem.release();
      if (e instanceof RingError && e.code === 'EEXIST')
        throw new RingError(-e.errno, 'io_uring_register', { detail: `buffer group ${id}`, hint: `group id ${id} is registered on this ring already (by code outside this BufferGroup): pick another id` });
      if (e instanceof RingError && e.code === 'ENOMEM') throw memlockError(-e.errno, 'io_uring_register', `buffer group ${id}: its ring of ${entries} entries`, pagesOf(entries * ENTRY_SIZE));
      throw e;
    }
  }

  /** @internal the ring's memory (ring.allowBufferGroup hands it to the engine, which writes entries for buffers programs give back). */
  get memory(): NativeBlock {
    return this.#mem;
  }

  /** `length`: bytes of the entry (a send queue's filled part); default the whole buffer. */
  put(pos: number, bid: number, address: number, length = this.#size): void {
    const w = (pos & this.#mask) * (ENTRY_SIZE >> 2);
    this.#u32[w] = address % 0x1_0000_0000;
    this.#u32[w + 1] = Math.floor(address / 0x1_0000_0000);
    this.#u32[w + 2] = length;
    this.#u16[w * 2 + 6] = bid; // bid at byte 12; byte 14 of entry 0 is the tail, left alone
  }

  publish(tail: number): void {
    Atomics.store(this.#u16, 7, tail & 0xffff);
  }

  async close(): Promise<void> {
    if (!this.#ring.closed) {
      const reg = Buffer.alloc(BUF_REG_SIZE);
      reg.writeUInt16LE(this.#id, 12);
      this.#ring.register(RegisterOp.UNREGISTER_PBUF_RING, reg, 1);
    }
    this.#mem.release(); // the kernel has let go of the ring (unregistered, or the ring is gone)
  }
}

export class LegacyBuffers implements GroupBackend {
  #ring: Ring;
  #id: number;
  #size: number;
  #count: number;
  #keeper: object;
  /** put() since the last publish: [first bid, count, address] runs. */
  #runs: [number, number, number][] = [];
  /** PROVIDE_BUFFERS requests not completed yet. */
  #inflight = new Set<Promise<unknown>>();
  /** The first publish's requests, as the kernel answered them (the group's `ready`). */
  #first: Promise<unknown>[] | undefined;
  #onFailure: (bids: number[], err: unknown) => void;

  /** `keeper` holds the buffers' memory alive for as long as a request that may touch it is in flight. */
  constructor(ring: Ring, id: number, size: number, count: number, keeper: object, onFailure: (bids: number[], err: unknown) => void) {
    this.#ring = ring;
    this.#id = id;
    this.#size = size;
    this.#count = count;
    this.#keeper = keeper;
    this.#onFailure = onFailure;
  }

  put(_pos: number, bid: number, address: number): void {
    const last = this.#runs[this.#runs.length - 1];
    if (last && last[0] + last[1] === bid) last[1]++;
    else this.#runs.push([bid, 1, address]);
  }

  #firstList: Promise<unknown>[] | undefined;

  publish(): void {
    const runs = this.#runs;
    this.#runs = [];
    for (const [first, n, address] of runs) {
      const s = new Sqe(OP_PROVIDE_BUFFERS);
      s.fd = n;
      s.setAddr(address);
      s.len = this.#size;
      s.setOff(first);
      s.bufIndex = this.#id;
      s.hold(this.#keeper);
      const raw = this.#ring.run(s);
      if (!this.#first) (this.#firstList ??= []).push(raw);
      const p = raw.catch((e: unknown) => {
        this.#onFailure(Array.from({ length: n }, (_, i) => first + i), e);
      });
      this.#inflight.add(p);
      void p.finally(() => this.#inflight.delete(p));
    }
    this.#first ??= this.#firstList ?? [];
  }

  /** Resolves when the first provide completed; rejects with its RingError. */
  async settled(): Promise<void> {
    await Promise.all(this.#first ?? []);
  }

  /** Waits for the provides in flight, then removes what the kernel still holds (REMOVE_BUFFERS). */
  async close(): Promise<void> {
    await Promise.all(this.#inflight);
    if (this.#ring.closed) return;
    const s = new Sqe(OP_REMOVE_BUFFERS);
    s.fd = this.#count;
    s.bufIndex = this.#id;
    try {
      await this.#ring.run(s);
    } catch (e) {
      // ENOENT: the kernel held none of them (all handed out); a ring closing meanwhile let go of everything
      if (!(e instanceof RingError && e.errno === ENOENT) && !(e instanceof RingClosedError)) throw e;
    }
  }
}
