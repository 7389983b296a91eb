/**
 * The state of a BulkQueue (src/ring/bulk.ts) as one block of u32 words, shared with the native
 * reap (native/bulk.c, which mirrors this layout and checks it on every call): a header of
 * counters, then eight arrays of `depth` words. JS reads and writes it through the views below;
 * the native side gets the whole block.
 */

/** Header words. */
export const BulkWord = {
  DEPTH: 0,
  /** Free slots on the free stack. */
  FREE_TOP: 1,
  /** Index of the oldest ready completion. */
  READY_HEAD: 2,
  /** Completions waiting for take(). */
  READY: 3,
  /** Requests pushed whose CQE has not arrived. */
  INFLIGHT: 4,
  /** Slots the last native reap finished (listed in `finished`), for JS to let go of their memory. */
  FINISHED: 5,
} as const;
const HEADER = 8;
/** The arrays after the header, in order (native/bulk.c BA_*). */
const ARRAYS = 8;

export interface BulkState {
  readonly words: Uint32Array;
  /** Per slot: the caller's tag, the 16-bit generation of its user_data, 1 while in flight. */
  readonly slotTag: Uint32Array;
  readonly slotGen: Uint32Array;
  readonly slotUsed: Uint32Array;
  /** The free-slot stack (FREE_TOP entries). */
  readonly free: Uint32Array;
  /** The ready list: a ring buffer of depth entries from READY_HEAD. */
  readonly readyTag: Uint32Array;
  readonly readyRes: Int32Array;
  readonly readyFlags: Uint32Array;
  /** Slots the last native reap finished (FINISHED entries). */
  readonly finished: Uint32Array;
}

/** A fresh state for `depth` slots (1..65536): every slot free, nothing in flight or ready. */
export function bulkState(depth: number): BulkState {
  const buffer = new ArrayBuffer((HEADER + ARRAYS * depth) * 4);
  const words = new Uint32Array(buffer);
  const at = (i: number): Uint32Array => new Uint32Array(buffer, (HEADER + i * depth) * 4, depth);
  const s: BulkState = {
    words,
    slotTag: at(0),
    slotGen: at(1),
    slotUsed: at(2),
    free: at(3),
    readyTag: at(4),
    readyRes: new Int32Array(buffer, (HEADER + 5 * depth) * 4, depth),
    readyFlags: at(6),
    finished: at(7),
  };
  words[BulkWord.DEPTH] = depth;
  for (let i = 0; i < depth; i++) s.free[i] = depth - 1 - i;
  words[BulkWord.FREE_TOP] = depth;
  return s;
}
