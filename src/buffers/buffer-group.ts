/**
 * BufferGroup: provided buffers (IOSQE_BUFFER_SELECT) behind one class. The kernel picks a buffer
 * from the group for each request that selects from it and names it in the CQE; take() turns that
 * CQE into a ProvidedBuffer (the id and a view of exactly the bytes received), whose release()
 * gives it back. The group keeps every buffer's owner (the kernel, or JS through ProvidedBuffers)
 * so a buffer is never handed out twice: a CQE that names a buffer the kernel does not hold is
 * refused (BufferStateError ERR_BUFFER_NOT_KERNELS), a second release() too.
 *
 * Kinds (`group.kind`): 'ring' (PBUF_RING, 5.19), 'incremental' (PBUF_RING with IOU_PBUF_RING_INC,
 * 6.12: a CQE with IORING_CQE_F_BUF_MORE hands out a piece, the rest stays the kernel's; the CQE
 * without it ends that buffer) and 'legacy' (PROVIDE_BUFFERS requests, 5.7). The kernel is asked,
 * not its version: what it refuses falls back (incremental → ring → legacy) unless `kind` insists.
 *
 * Bundles (IORING_RECVSEND_BUNDLE, 6.10): one CQE covers several buffers in the order the kernel
 * had them (the CQE names the first); the group keeps that order (`#order`), so takeBundle()
 * returns them without the user seeing ring indices.
 *
 * Memory: the buffers are one native block (src/buffers/native-memory.ts). A request that
 * selects through select()/sqe.selectBuffer(group) holds a view of it until its last CQE, so
 * close() (unregister / REMOVE_BUFFERS) never frees memory a request in flight may still write.
 */
import { RingError, RingClosedError, describeValue as describe } from '../errors.js';
import { CqeFlags, SqeFlags } from '../ring/abi.js';
import { ringInternals, type Ring } from '../ring/ring.js';
import { SqeRingState, type Sqe } from '../ops/sqe.js';
import { NativeBlock } from './native-memory.js';
import { ProvidedBuffer, BufferStateError, BufferGroupEmptyError, type BufferOwner, type GroupMemory } from './provided-buffer.js';
import { BufferRing, LegacyBuffers, PBUF_RING_INC, type GroupBackend } from './buffer-ring.js';
import { GroupState, Owner } from './group-state.js';
import { immediate, microtask } from '../ring/jobs.js';

export type BufferGroupKind = 'ring' | 'incremental' | 'legacy';

export interface BufferGroupOptions {
  /** Buffers in the group: 1..32768 (a ring group's ring has the next power of two of entries). */
  count: number;
  /** Bytes per buffer: 1..2^31 - 4096 (the kernel's largest single transfer). */
  size: number;
  /** The group id (bgid, 0..65535) requests name; default: the lowest id no group of this ring uses. */
  id?: number;
  /** 'auto' (default: ring-mapped where the kernel has it, else legacy), 'ring' or 'legacy' (no fallback). */
  kind?: 'auto' | 'ring' | 'legacy';
  /** Consume buffers incrementally (IOU_PBUF_RING_INC, 6.12); falls back to whole buffers where the kernel lacks it (`kind` says). */
  incremental?: boolean;
}

/** Largest count: a ring group's entries are at most 32768 (io_uring_register_buf_ring.3). */
export const MAX_GROUP_BUFFERS = 32768;
/** MAX_RW_COUNT: the kernel transfers at most this much at once. */
export const MAX_BUFFER_SIZE = 0x7ffff000;
/** IORING_RECVSEND_BUNDLE (6.10), in ioprio of recv/send. */
const RECVSEND_BUNDLE = 1 << 4;
/** Opcodes whose ioprio carries RECVSEND_BUNDLE: sendmsg 9, recvmsg 10, send 26, recv 27. */
const BUNDLE_OPS = new Set([9, 10, 26, 27]);

const KERNEL = Owner.KERNEL;
const USER = Owner.JS;
const PROGRAM = Owner.PROGRAM;

/** What ring.allowBufferGroup() hands the engine (src/buffers/program-groups.ts). */
export interface GroupGrant {
  buffers: NativeBlock;
  ring: NativeBlock;
  table: NativeBlock;
  entries: number;
  incremental: boolean;
}

/** Group ids in use per ring (by BufferGroups and SendQueues of this process). */
const idsInUse = new WeakMap<Ring, Map<number, object>>();

/** The open BufferGroup of `ring` with group id `id`, if any. */
export function groupOf(ring: Ring, id: number): BufferGroup | undefined {
  const g = idsInUse.get(ring)?.get(id);
  return g instanceof BufferGroup ? g : undefined;
}

/**
 * The owner of a closed group's id while requests that select from it by id are still in the
 * kernel (a recv armed on it): given to a new group, the id would let them take that group's
 * buffers while the old group's owner reads its own memory at their index. Freed once none is left.
 */
const RETIRING = Object.freeze({ retiring: true });

/** Does one of `ring`'s JS requests in flight (or queued) select a buffer from group `id`? */
const selectsFrom = (ring: Ring, id: number): boolean =>
  ringInternals(ring).selectRequests((p) => (p.sqe.flags & SqeFlags.BUFFER_SELECT) !== 0 && p.sqe.bufIndex === id, 1).length > 0;

/** `id` if it is free on `ring`, or the lowest free one; throws RangeError if taken. Sets nothing. */
function freeId(ring: Ring, id: number | undefined, what: string): number {
  const used = idsInUse.get(ring);
  if (used === undefined) return id ?? 0;
  for (const [k, o] of used) if (o === RETIRING && (ring.closed || !selectsFrom(ring, k))) used.delete(k);
  if (id === undefined) {
    id = 0;
    while (used.has(id)) id++;
    if (id > 0xffff) throw new RangeError(`${what}: every group id (0..65535) of this ring is in use`);
  } else if (used.get(id) === RETIRING)
    throw new RangeError(`${what}: group id ${id} belonged to a group closed while requests selecting from it are still in flight (they would take this group's buffers); cancel them first, or leave "id" out to get a free one`);
  else if (used.has(id)) throw new RangeError(`${what}: group id ${id} is in use by another buffer group of this ring (close() it first, or leave "id" out to get a free one)`);
  return id;
}

/** Gives group id `id` of `ring` to `owner`. */
function takeId(ring: Ring, id: number, owner: object): void {
  const used = idsInUse.get(ring) ?? new Map<number, object>();
  used.set(id, owner);
  idsInUse.set(ring, used);
}

/** @internal Reserves a group id of `ring` for `owner` (a SendQueue): `id`, or the lowest free one. Throws RangeError if taken. */
export function reserveGroupId(ring: Ring, owner: object, id: number | undefined, what: string): number {
  id = freeId(ring, id, what);
  takeId(ring, id, owner);
  return id;
}

/** @internal Frees a group id reserveGroupId() gave `owner` (retiring it while requests still select from it). */
export function freeGroupId(ring: Ring, owner: object, id: number): void {
  const used = idsInUse.get(ring);
  if (used?.get(id) !== owner) return;
  if (!ring.closed && selectsFrom(ring, id)) used.set(id, RETIRING);
  else used.delete(id);
}

function checkInt(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${what} must be in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(n));

export class BufferGroup implements BufferOwner {
  readonly ring: Ring;
  /** The group id (bgid) requests select from. */
  readonly id: number;
  readonly count: number;
  /** Bytes per buffer. */
  readonly size: number;
  /** What the kernel gave: 'ring', 'incremental' or 'legacy'. */
  readonly kind: BufferGroupKind;
  /** Resolves when the kernel has the buffers (legacy: the first PROVIDE_BUFFERS completed; rings: at once). */
  readonly ready: Promise<void>;

  #slab: NativeBlock;
  /** A view of the buffers' memory held by requests that may write into it. */
  #keeper: ArrayBuffer;
  /** What the group's ProvidedBuffers reach its memory through (views made only when read). */
  #memory: GroupMemory;
  #backend: GroupBackend;
  /** Who holds each buffer, the kernel's order and tail: shared with the engine (group-state.ts). */
  #table: GroupState;
  #state: Uint8Array;
  /** Pieces handed to JS and not released, per buffer. */
  #held: Uint32Array;
  /** Bytes of the buffer the kernel has used so far (incremental groups). */
  #offset: Uint32Array;
  /** The order the kernel has the buffers in (ring positions), and each buffer's position. */
  #order: Uint16Array;
  #pos: Uint32Array;
  #mask: number;
  #outstanding = 0;
  /** Set while the group is granted to completion programs: takes the grant back (throws EBUSY while a program request uses it). */
  #revoke: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  #refillWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #refillListeners = new Set<() => void>();
  #refillQueued = false;
  #refillFromEmpty = false;
  /** A later wake-up pass is scheduled (waiters left while buffers remained). */
  #refillPass = false;
  /** Buffers a legacy PROVIDE_BUFFERS failed to give the kernel: given again with the next release. */
  #unprovided: number[] = [];

  constructor(ring: Ring, options: BufferGroupOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`new BufferGroup(): "options" must be an object { count, size, id?, kind?, incremental? }, got ${describe(options)}`);
    for (const k of Object.keys(options)) if (!['count', 'size', 'id', 'kind', 'incremental'].includes(k)) throw new TypeError(`new BufferGroup(): "${k}" is not an option (count, size, id, kind, incremental)`);
    const count = checkInt('new BufferGroup(): "count"', options.count, 1, MAX_GROUP_BUFFERS);
    const size = checkInt('new BufferGroup(): "size"', options.size, 1, MAX_BUFFER_SIZE);
    const kind = options.kind ?? 'auto';
    if (kind !== 'auto' && kind !== 'ring' && kind !== 'legacy') throw new TypeError(`new BufferGroup(): "kind" must be 'auto', 'ring' or 'legacy', got ${describe(kind)}`);
    if (options.incremental !== undefined && typeof options.incremental !== 'boolean') throw new TypeError(`new BufferGroup(): "incremental" must be a boolean, got ${describe(options.incremental)}`);
    if (options.incremental && kind === 'legacy') throw new RangeError('new BufferGroup(): legacy groups cannot be incremental (IOU_PBUF_RING_INC is a buffer-ring flag)');
    if (count * size > 2 ** 40) throw new RangeError(`new BufferGroup(): count × size is ${count * size} bytes, more than 1 TiB`);
    if (!ring || typeof ring.register !== 'function') throw new TypeError(`new BufferGroup(): "ring" must be a Ring, got ${describe(ring)}`);
    if (ring.closed) throw new RingClosedError();
    const id = freeId(ring, options.id === undefined ? undefined : checkInt('new BufferGroup(): "id"', options.id, 0, 0xffff), 'new BufferGroup()');
    this.ring = ring;
    this.id = id;
    this.count = count;
    this.size = size;
    this.#slab = new NativeBlock(count * size, `buffer group ${id}: ${count} buffers of ${size} bytes`);
    this.#keeper = this.#slab.view(0, count * size);
    const slab = this.#slab;
    this.#memory = { address: slab.address, keeper: this.#keeper, view: (start, length) => slab.bytes(start, length) };
    const cap = nextPow2(count);
    this.#mask = cap - 1;
    try {
      this.#table = new GroupState(id, count, cap);
    } catch (e) {
      this.#slab.release();
      throw e;
    }
    this.#order = this.#table.order;
    this.#pos = this.#table.pos;
    this.#state = this.#table.state;
    this.#held = new Uint32Array(count);
    this.#offset = this.#table.offset;
    let backend: GroupBackend | undefined;
    let got: BufferGroupKind = 'legacy';
    try {
      if (kind !== 'legacy') {
        for (const flags of options.incremental ? [PBUF_RING_INC, 0] : [0]) {
          try {
            backend = new BufferRing(ring, id, cap, size, flags);
            got = flags ? 'incremental' : 'ring';
            break;
          } catch (e) {
            // EINVAL: this kernel lacks PBUF_RING (before 5.19) or the INC flag (before 6.12)
            if (!(e instanceof RingError && e.code === 'EINVAL')) throw e;
            if (kind === 'ring' && flags === 0) throw e;
          }
        }
      }
      backend ??= new LegacyBuffers(ring, id, size, count, this.#keeper, (bids, err) => this.#provideFailed(bids, err));
    } catch (e) {
      this.#slab.release();
      this.#table.block.release();
      throw e;
    }
    this.kind = got;
    this.#backend = backend;
    takeId(ring, id, this);
    for (let bid = 0; bid < count; bid++) this.#put(bid);
    this.#backend.publish(this.#table.tail);
    this.ready = this.#backend instanceof LegacyBuffers ? this.#backend.settled() : Promise.resolve();
    this.ready.catch(() => {}); // a failure also shows in available; awaiting ready is optional
  }

  /** Buffers the kernel holds (given to it, not yet named by a CQE JS has taken); 0 once closed. */
  get available(): number {
    return this.closed ? 0 : this.#table.available;
  }

  /** Buffers completion programs hold now (selected by their requests, not given back), and the
   *  number they gave back so far (ring.allowBufferGroup; docs/completion-programs.md). */
  get programs(): { owned: number; returned: number; granted: boolean } {
    return { owned: this.#table.programOwned, returned: this.#table.programReturned, granted: this.#revoke !== undefined };
  }

  /** Address of buffer 0 (buffer `bid` starts at address + bid × size): what a completion program
   *  granted the group computes a buffer's address from. */
  get address(): number {
    return this.#slab.address;
  }

  /** Buffers (or pieces of them) JS holds and has not released. */
  get outstanding(): number {
    return this.#outstanding;
  }

  get closed(): boolean {
    return this.#closing !== undefined || this.ring.closed;
  }

  /**
   * Makes `sqe` select its buffer from this group (IOSQE_BUFFER_SELECT, buf_group): the request
   * holds the group's memory until its last CQE, and resolves with a ProvidedBuffer (an array of
   * them for a recv/send with IORING_RECVSEND_BUNDLE; null when the CQE used no buffer, at EOF).
   */
  select(sqe: Sqe): Sqe {
    return sqe.selectBuffer(this);
  }

  /** @internal sqe.selectBuffer(group) calls this. */
  selectedBy(sqe: Sqe): void {
    this.checkSelect('selectBuffer()');
    if (!sqe.keep?.includes(this.#keeper)) sqe.hold(this.#keeper); // (once: an Sqe selected again does not pile it up)
    // asked again at every submission (SubmissionQueue.checkEntry): an Sqe reused after this group
    // closed would select from whichever group took its id since, and read its buffers as this one's
    (sqe.ringState ??= new SqeRingState()).selectedFrom = this;
    sqe.parse = (res, flags) => {
      // a refusal rejects the request's promise (parse runs inside the ring's reap: it must not throw)
      try {
        return BUNDLE_OPS.has(sqe.opcode) && sqe.ioprio & RECVSEND_BUNDLE ? this.takeBundle(res, flags) : this.take(res, flags);
      } catch (e) {
        return Promise.reject(e);
      }
    };
  }

  /** @internal Throws what refuses a JS request selecting from this group now: closed, or granted to completion programs. */
  checkSelect(method: string): void {
    if (this.closed) throw new RangeError(`${method}: buffer group ${this.id} is closed: a request cannot select from it`);
    if (this.#revoke) throw new RangeError(`${method}: buffer group ${this.id} is granted to completion programs (ring.allowBufferGroup): JS requests cannot select from it until ring.allowBufferGroup(group, false)`);
  }

  /**
   * The buffer a CQE names (res, flags of a request that selected from this group): a
   * ProvidedBuffer of exactly `res` bytes, or null when the CQE used no buffer (res 0 at EOF).
   * res < 0 throws: BufferGroupEmptyError for -ENOBUFS, RingError otherwise.
   */
  take(res: number, flags: number): ProvidedBuffer | null {
    if (arguments.length !== 2) throw new TypeError(`group.take() takes res, flags; got ${arguments.length} arguments`);
    if (!this.#cqe(res, flags)) return null;
    const bid = flags >>> CqeFlags.BUFFER_SHIFT;
    this.#check(bid, res, 0);
    const done = this.kind !== 'incremental' || !(flags & CqeFlags.BUF_MORE);
    return this.#piece(bid, res, done);
  }

  /**
   * The buffers of a bundle CQE (IORING_RECVSEND_BUNDLE): res bytes over consecutive buffers of
   * the kernel's order, first the one the CQE names; in order, each a view of its part. [] when
   * the CQE used no buffer.
   */
  takeBundle(res: number, flags: number): ProvidedBuffer[] {
    if (arguments.length !== 2) throw new TypeError(`group.takeBundle() takes res, flags; got ${arguments.length} arguments`);
    if (!this.#cqe(res, flags)) return [];
    const first = flags >>> CqeFlags.BUFFER_SHIFT;
    this.#check(first, 0, 0);
    const p = this.#pos[first];
    // validate the whole walk before changing anything
    const parts: [bid: number, n: number][] = [];
    let left = res;
    do {
      if (parts.length >= this.count)
        throw new BufferStateError('ERR_BUFFER_NOT_KERNELS', `bundle CQE of ${res} bytes from buffer ${first} covers more than group ${this.id}'s ${this.count} buffers of ${this.size} bytes`);
      const bid = this.#order[(p + parts.length) & this.#mask];
      this.#check(bid, 0, parts.length);
      const n = Math.min(left, this.size - this.#offset[bid]);
      parts.push([bid, n]);
      left -= n;
    } while (left > 0);
    const more = (flags & CqeFlags.BUF_MORE) !== 0;
    return parts.map(([bid, n], i) => this.#piece(bid, n, this.kind !== 'incremental' || i < parts.length - 1 || !more));
  }

  /**
   * Resolves when the kernel has buffers of this group (at once if it has some): a request that
   * ended with -ENOBUFS (a multishot recv's last CQE) can be re-armed then. Rejects if the group closes first.
   */
  refilled(): Promise<void> {
    if (this.closed) return Promise.reject(new RingClosedError(`buffer group ${this.id}`));
    if (this.#table.available > 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#refillWaiters.push({ resolve, reject }));
  }

  /** Calls `listener` each time the kernel's buffers of this group go from none to some; returns the unsubscribe function. */
  onRefill(listener: () => void): () => void {
    if (typeof listener !== 'function') throw new TypeError(`group.onRefill() takes a function, got ${describe(listener)}`);
    this.#refillListeners.add(listener);
    return () => void this.#refillListeners.delete(listener);
  }

  /**
   * Takes the group back from the kernel (UNREGISTER_PBUF_RING, or REMOVE_BUFFERS for legacy) and
   * frees its id. Buffers JS holds stay readable until released. A request in flight may still
   * complete with a buffer it had selected before (legacy groups select when the request starts):
   * take() hands it out as before, and its release() only detaches the view. The memory is freed
   * once no ProvidedBuffer, no request in flight that selected from the group, and the group
   * itself can reach it (the requests hold it: their parse and `keep`).
   */
  close(): Promise<void> {
    if (!this.#closing && this.#revoke && !this.ring.closed) {
      // programs first: EBUSY while a program request selected from the group or uses a buffer
      try {
        this.#revoke();
      } catch (e) {
        return Promise.reject(e);
      }
    }
    this.#closing ??= (async () => {
      try {
        await this.#backend.close();
      } finally {
        freeGroupId(this.ring, this, this.id);
        const err = new RingClosedError(`buffer group ${this.id}`);
        for (const w of this.#refillWaiters.splice(0)) w.reject(err);
        this.#refillListeners.clear();
        // buffer states stay: a request in flight may still deliver one the kernel had selected
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- programs (program-groups.ts)

  /**
   * @internal ring.allowBufferGroup(): the memory the engine keeps while the group is granted (its
   * buffers, its buffer ring, the ownership table), and the function that takes the grant back
   * (close() calls it first). Only ring-mapped groups: a legacy group's buffers go back through
   * PROVIDE_BUFFERS requests, which a program helper does not submit.
   */
  grantTo(revoke: () => void): GroupGrant {
    if (this.closed) throw new RangeError(`buffer group ${this.id} is closed: it cannot be granted to programs`);
    if (!(this.#backend instanceof BufferRing))
      throw new RangeError(`buffer group ${this.id} is a legacy group (PROVIDE_BUFFERS): programs can be granted only ring-mapped groups (kind 'ring' or 'incremental'), whose buffers they give back through the ring`);
    const grant = { buffers: this.#slab, ring: this.#backend.memory, table: this.#table.block, entries: this.#mask + 1, incremental: this.kind === 'incremental' };
    this.#revoke = revoke;
    return grant;
  }

  /** @internal the grant was taken back. */
  revoked(): void {
    this.#revoke = undefined;
  }

  // ---------------------------------------------------------------- BufferOwner

  /** @internal a ProvidedBuffer (or piece) of buffer `bid` was released. */
  returned(bid: number): void {
    this.#outstanding--;
    if (--this.#held[bid] > 0 || this.#state[bid] !== USER) return; // pieces still out, or the kernel still uses the rest
    this.#state[bid] = 0;
    if (this.closed) return;
    if (this.#unprovided.length > 0) for (const b of this.#unprovided.splice(0)) this.#put(b); // (no array per return)
    this.#put(bid);
    this.#backend.publish(this.#table.tail);
    if (this.#table.available === 1) this.#refill(true);
    else if (this.#refillWaiters.length > 0) this.#refill(false);
  }

  // ---------------------------------------------------------------- internals

  /** Does the CQE carry a buffer? Throws for errors. */
  #cqe(res: number, flags: number): boolean {
    if (typeof res !== 'number' || !Number.isInteger(res)) throw new TypeError(`group.take(): "res" must be an integer, got ${describe(res)}`);
    if (typeof flags !== 'number' || !Number.isInteger(flags)) throw new TypeError(`group.take(): "flags" must be an integer, got ${describe(flags)}`);
    if (res < 0) {
      if (res === -105) throw new BufferGroupEmptyError(this.id, this.kind, this.#outstanding);
      throw new RingError(res, 'io_uring_enter', { detail: `a request selecting from buffer group ${this.id}` });
    }
    if (flags & CqeFlags.BUFFER) return true;
    if (res > 0) throw new BufferStateError('ERR_BUFFER_NOT_KERNELS', `a CQE of ${res} bytes names no provided buffer (IORING_CQE_F_BUFFER is not set): it did not select from group ${this.id}`);
    return false;
  }

  /** Refuses a buffer the kernel does not hold, or more bytes than it has left. */
  #check(bid: number, n: number, at: number): void {
    if (bid >= this.count || this.#state[bid] !== KERNEL)
      throw new BufferStateError(
        'ERR_BUFFER_NOT_KERNELS',
        `a CQE names buffer ${bid}${at ? ` (buffer ${at} of a bundle)` : ''} of group ${this.id}, which ${bid >= this.count ? `does not exist (${this.count} buffers)` : this.#state[bid] === USER ? 'JS holds (handed out already and not released)' : this.#state[bid] === PROGRAM ? 'completion programs hold (their request selected it; they give it back with rf_buf_return)' : 'the group has not given the kernel'}: refused, never handed out twice`,
      );
    if (this.#offset[bid] + n > this.size) throw new BufferStateError('ERR_BUFFER_NOT_KERNELS', `a CQE of ${n} bytes in buffer ${bid} of group ${this.id} is past its ${this.size} bytes`);
  }

  /** Hands `n` bytes of buffer `bid` (from where the kernel is in it) to JS; `done`: the kernel has finished with the buffer. */
  #piece(bid: number, n: number, done: boolean): ProvidedBuffer {
    const off = this.#offset[bid];
    this.#held[bid]++;
    this.#outstanding++;
    if (done) {
      this.#state[bid] = USER;
      this.#offset[bid] = 0;
      this.#table.available--;
    } else this.#offset[bid] = off + n;
    return new ProvidedBuffer(this, this.#memory, bid, off, bid * this.size + off, n, !done);
  }

  /** Gives buffer `bid` (whole) to the kernel at the end of its order. */
  #put(bid: number): void {
    const tail = this.#table.tail;
    this.#state[bid] = KERNEL;
    this.#offset[bid] = 0;
    this.#pos[bid] = tail;
    this.#order[tail & this.#mask] = bid;
    this.#backend.put(tail, bid, this.#slab.address + bid * this.size);
    this.#table.tail = tail + 1;
    this.#table.available++;
  }

  /** A legacy PROVIDE_BUFFERS failed: the kernel does not have these buffers; the group keeps them until the next give-back. */
  #provideFailed(bids: number[], _err: unknown): void {
    for (const bid of bids) {
      if (this.#state[bid] !== KERNEL) continue;
      this.#state[bid] = 0; // held by the group: given again with the next buffer returned
      this.#table.available--;
      this.#unprovided.push(bid);
    }
  }

  /**
   * Wakes waiters of refilled(), oldest first, as many as the kernel has buffers (each re-armed
   * request takes at least one when it has data): waking them all at every give-back had 1000
   * starved connections re-arm 225,000 times for 87,000 chunks, nearly all failing -ENOBUFS again.
   * A woken request with no data takes none, so while some wait and buffers remain another pass
   * runs after the re-arms went in (setImmediate). `fromEmpty`: the group had none (onRefill's
   * listeners are told).
   */
  #refill(fromEmpty: boolean): void {
    if (fromEmpty) this.#refillFromEmpty = true;
    if (this.#refillQueued) return;
    this.#refillQueued = true;
    microtask(() => {
      this.#refillQueued = false;
      const available = this.#table.available;
      if (available === 0 || this.closed) return;
      const woken = this.#refillWaiters.splice(0, available);
      for (const w of woken) w.resolve();
      if (this.#refillFromEmpty) {
        this.#refillFromEmpty = false;
        for (const l of this.#refillListeners) l();
      }
      if (this.#refillWaiters.length > 0 && !this.#refillPass) {
        this.#refillPass = true;
        immediate(() => {
          this.#refillPass = false;
          if (this.#refillWaiters.length > 0) this.#refill(false);
        });
      }
    });
  }

}
