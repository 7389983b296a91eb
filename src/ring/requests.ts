/**
 * The requests JS is waiting for: each gets a slot and a generation, which together are its
 * user_data (low word slot, high word generation), so a CQE finds its request in O(1) and a
 * stale or foreign CQE (a reused slot, a program's) is recognised by the generation.
 */
import type { Sqe } from '../ops/sqe.js';

/** Per-request state from submission to its (last) CQE. */
export class Pending {
  sqe: Sqe;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  /** Members of the same submitted chain (for CQE_SKIP_SUCCESS bookkeeping). */
  chain: Pending[] | undefined;
  slot = -1;
  gen = 0;
  constructor(sqe: Sqe, resolve: (v: unknown) => void, reject: (e: unknown) => void) {
    this.sqe = sqe;
    this.resolve = resolve;
    this.reject = reject;
    this.signal = undefined;
    this.chain = undefined;
  }
}

export class RequestTable {
  #slots: (Pending | undefined)[] = [];
  #gens: number[] = [];
  #free: number[] = [];

  /** Gives p a free slot and the slot's next generation (31 bits, so 0xffffffff stays free for internal tags). */
  add(p: Pending): void {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#slots.length;
      this.#slots.push(undefined);
      this.#gens.push(0);
    }
    const gen = (this.#gens[slot] + 1) & 0x7fffffff;
    this.#gens[slot] = gen;
    p.slot = slot;
    p.gen = gen;
    this.#slots[slot] = p;
  }

  /** The request a CQE's user_data names, or undefined (settled already, or not JS's). */
  get(slot: number, gen: number): Pending | undefined {
    const p = this.#slots[slot];
    return p && p.gen === gen ? p : undefined;
  }

  /** The request holding `slot` (whatever its generation). */
  at(slot: number): Pending | undefined {
    return this.#slots[slot];
  }

  /** Is p still waiting for its CQE? */
  holds(p: Pending): boolean {
    return p.slot >= 0 && this.#slots[p.slot] === p;
  }

  /** Frees p's slot if it still holds it. */
  release(p: Pending): void {
    if (this.holds(p)) {
      this.#slots[p.slot] = undefined;
      this.#free.push(p.slot);
    }
  }

  /** Takes every waiting request out of the table (teardown). */
  drain(): Pending[] {
    const out = this.#slots.filter((p): p is Pending => p !== undefined);
    this.#slots = [];
    this.#gens = [];
    this.#free = [];
    return out;
  }
}
