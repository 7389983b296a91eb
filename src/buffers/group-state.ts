/**
 * A BufferGroup's ownership table: who holds each buffer (the kernel, JS, completion programs),
 * where the kernel is in each buffer (incremental groups), the ring's order and tail. It lives in
 * native memory (a NativeBlock) because two parties write it: JS's BufferGroup (take, release)
 * and, once the group is granted to programs (ring.allowBufferGroup), the engine (a program's
 * request completing with a buffer, helper 1001 giving one back: native/engine_groups.c). Both
 * run on the ring's thread and never at once, so the table is the one source of truth without
 * locks. The layout is native/engine_groups.h's.
 */
import { NativeBlock } from './native-memory.js';

/** Owners (native/engine_groups.h RF_BUF_*). */
export const Owner = { GROUP: 0, KERNEL: 1, JS: 2, PROGRAM: 3 } as const;
const HDR = 64;
const al4 = (n: number): number => (n + 3) & ~3;

/** Bytes of the table for `count` buffers and a ring of `entries` (rf_group_table_size). */
export function groupTableSize(count: number, entries: number): number {
  return al4(HDR + count) + count * 8 + entries * 2;
}

export class GroupState {
  readonly block: NativeBlock;
  /** Owner of each buffer (Owner). */
  readonly state: Uint8Array;
  /** Bytes of the buffer the kernel has consumed while it still holds it (incremental groups). */
  readonly offset: Uint32Array;
  /** The ring position each buffer was given at, and the buffer at each position. */
  readonly pos: Uint32Array;
  readonly order: Uint16Array;
  readonly #hdr: Uint32Array;

  constructor(id: number, count: number, entries: number) {
    this.block = new NativeBlock(groupTableSize(count, entries), `buffer group ${id}: its ownership table`);
    const ab = this.block.view(0, groupTableSize(count, entries));
    this.#hdr = new Uint32Array(ab, 0, HDR / 4);
    this.state = new Uint8Array(ab, HDR, count);
    const offsetAt = al4(HDR + count);
    this.offset = new Uint32Array(ab, offsetAt, count);
    this.pos = new Uint32Array(ab, offsetAt + count * 4, count);
    this.order = new Uint16Array(ab, offsetAt + count * 8, entries);
  }

  /** The next ring position. */
  get tail(): number {
    return this.#hdr[0]!;
  }
  set tail(v: number) {
    this.#hdr[0] = v >>> 0;
  }
  /** Buffers the kernel holds. */
  get available(): number {
    return this.#hdr[1]!;
  }
  set available(v: number) {
    this.#hdr[1] = v;
  }
  /** Buffers completion programs hold now, and have given back so far. */
  get programOwned(): number {
    return this.#hdr[2]!;
  }
  get programReturned(): number {
    return this.#hdr[3]!;
  }
  /** Program CQEs that named a buffer the kernel did not hold (counted, nobody's). */
  get anomalies(): number {
    return this.#hdr[4]!;
  }
}
