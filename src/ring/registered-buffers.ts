/**
 * The ring's registered buffer table (`ring.buffers`): IORING_REGISTER_BUFFERS2 (dense, with
 * holes, or sparse), IORING_REGISTER_BUFFERS_UPDATE and IORING_UNREGISTER_BUFFERS (5.13), and
 * each slot as a RegisteredBuffer that the fixed ops (read_fixed, write_fixed, readv/writev_fixed,
 * send_zc with a fixed buffer) name by index plus an address inside it.
 *
 * The memory is ringflow's, not JS's (src/buffers/native-memory.ts): the kernel pins it for as
 * long as it is registered, and a JS ArrayBuffer could be transferred, detached or resized under
 * it. `bytes` is a view of it that JS may read and write; transfer() of its ArrayBuffer either
 * throws (Node 24+) or moves the view, and the memory stays registered and alive either way.
 *
 * Tags: every buffer is registered with a tag (ringflow's own, user_data high word RESOURCE_TAG),
 * so the kernel posts a CQE when it has let go of a buffer that was unregistered or replaced, after
 * the last request using it ended. `released` resolves then, and the memory's own reference is
 * dropped (views keep theirs).
 */
import { RingError, errno as errnoOf, describeValue as describe } from '../errors.js';
import { RegisterOp, Features } from './abi.js';
import { ringInternals, type Ring } from './ring.js';
import { RESOURCE_TAG } from './ring.js';
import { bufferAddress } from './memory.js';
import { unregisterPostsTags } from './tag-probe.js';
import { NativeBlock, memlockError, pagesOf } from '../buffers/native-memory.js';

const EBUSY = errnoOf('EBUSY');
/** IORING_RSRC_REGISTER_SPARSE (5.19). */
const RSRC_REGISTER_SPARSE = 1;
/** struct io_uring_rsrc_register / io_uring_rsrc_update2: 32 bytes; struct iovec: 16. */
const RSRC_SIZE = 32;
const IOVEC_SIZE = 16;
/** IORING_MAX_REG_BUFFERS (1 << 14, io_uring/rsrc.c, 5.13+). */
export const MAX_REGISTERED_BUFFERS = 1 << 14;
/** The kernel refuses a registered buffer over 1 GiB (io_buffer_validate, SZ_1G). */
export const MAX_REGISTERED_BUFFER_SIZE = 1 << 30;

/** What a slot is registered with: a size in bytes (zeroed), contents to copy in, or null (empty slot). */
export type BufferEntry = number | ArrayBufferView | null;

/** A byte range of a registered buffer, as the fixed ops put it in an SQE (buf_index, addr, len). */
export interface FixedSpan {
  readonly buffer: RegisteredBuffer;
  readonly index: number;
  readonly address: number;
  readonly length: number;
}

/** One slot of the table: ringflow's memory, pinned by the kernel while registered. */
export class RegisteredBuffer {
  /** Its slot in the table (the SQE's buf_index). */
  readonly index: number;
  /** Its size in bytes. */
  readonly length: number;
  /** Address of its first byte (what fixed ops put in `addr`, plus an offset). */
  readonly address: number;
  /** A view of the memory (read and write it from JS; the kernel reads/writes it through fixed ops). */
  readonly bytes: Buffer;
  /** Resolves when the kernel has let go of the buffer (after unregister() or a replacing update(), once no request uses it; or the ring closed). */
  readonly released: Promise<void>;
  #block: NativeBlock;
  #registered = true;
  #done!: () => void;

  /** @internal */
  constructor(index: number, block: NativeBlock) {
    this.index = index;
    this.length = block.length;
    this.address = block.address;
    this.#block = block;
    this.bytes = block.bytes(0, block.length);
    this.released = new Promise((resolve) => (this.#done = resolve));
  }

  /** Is it still in the table? (false after unregister() or an update() of its slot). */
  get registered(): boolean {
    return this.#registered;
  }

  /** [offset, offset + length) of this buffer for a fixed op; RangeError past its end. */
  span(offset = 0, length = this.length - offset): FixedSpan {
    if (typeof offset !== 'number' || !Number.isInteger(offset)) throw new TypeError(`RegisteredBuffer.span(): "offset" must be an integer, got ${describe(offset)}`);
    if (typeof length !== 'number' || !Number.isInteger(length)) throw new TypeError(`RegisteredBuffer.span(): "length" must be an integer, got ${describe(length)}`);
    if (offset < 0 || length < 0 || offset + length > this.length)
      throw new RangeError(`RegisteredBuffer.span(): [${offset}, ${offset + length}) is not inside registered buffer ${this.index} (${this.length} bytes)`);
    if (!this.#registered) throw new RangeError(`RegisteredBuffer.span(): buffer ${this.index} is no longer registered`);
    return { buffer: this, index: this.index, address: this.address + offset, length };
  }

  /** @internal out of the table (the kernel lets go later: tagged). */
  unregistered(): void {
    this.#registered = false;
  }

  /** @internal the kernel let go (its tag's CQE, or the ring closed). */
  kernelReleased(): void {
    this.#registered = false;
    this.#block.release();
    this.#done();
  }
}

function checkInt(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${what} must be in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

/** What #prepare() made for one register/update call. */
interface Prepared {
  buffers: (RegisteredBuffer | undefined)[];
  tagLows: number[];
  iov: Buffer;
  tags: BigUint64Array;
  iovAddress: number;
  tagAddress: number;
}

/** The ring's registered buffer table. */
export class RegisteredBuffers {
  #ring: Ring;
  #slots: (RegisteredBuffer | undefined)[] = [];
  #size = 0;
  /** Tagged buffers the kernel has not let go of yet, by tag (low word). */
  #byTag = new Map<number, RegisteredBuffer>();
  #nextTag = 1;
  /** Buffers an update() replaced whose tag CQE has not come: the ring stays busy for them. */
  #owed = new Set<RegisteredBuffer>();

  /** @internal use `ring.buffers` */
  constructor(ring: Ring) {
    this.#ring = ring;
    const self = this;
    ringInternals(ring).setResourceTags({
      tag: (low) => {
        const b = this.#byTag.get(low);
        if (!b) return;
        this.#byTag.delete(low);
        this.#owed.delete(b);
        b.kernelReleased();
      },
      closed: () => {
        for (const b of this.#byTag.values()) b.kernelReleased();
        this.#byTag.clear();
        this.#owed.clear();
        this.#slots = [];
        this.#size = 0;
      },
      get owed() {
        return self.#owed.size;
      },
    });
  }

  /** An update() replaced a tagged buffer: its tag CQE is owed (the ring stays busy until it comes). */
  #letGo(b: RegisteredBuffer | undefined): void {
    if (!b || !b.registered) return;
    b.unregistered();
    this.#owed.add(b); // every buffer in the table is tagged (#prepare)
  }

  /** Slots in the table (0: none registered). */
  get size(): number {
    return this.#size;
  }

  /** The buffer in slot `index`, or undefined (an empty slot, or past the table). */
  at(index: number): RegisteredBuffer | undefined {
    checkInt('buffers.at(): "index"', index, 0, MAX_REGISTERED_BUFFERS - 1);
    return this.#slots[index];
  }

  /**
   * Registers the table (IORING_REGISTER_BUFFERS2): each entry a size in bytes (zeroed memory), an
   * ArrayBufferView whose bytes are copied in, or null for an empty slot; or `{ sparse: n }` for n
   * empty slots to fill with update(). Returns the buffers (undefined for empty slots).
   * ENOMEM is RLIMIT_MEMLOCK refusing: the RingError says how much was asked and the limit.
   */
  register(entries: readonly BufferEntry[] | { sparse: number }): (RegisteredBuffer | undefined)[] {
    if (arguments.length !== 1) throw new TypeError(`buffers.register() takes one argument (entries or { sparse }), got ${arguments.length}`);
    ringInternals(this.#ring).assertOpen();
    if (this.#size > 0) throw new RingError(-EBUSY, 'io_uring_register', { detail: 'buffers.register(): the ring already has a buffer table; unregister() it first' });
    const rr = Buffer.alloc(RSRC_SIZE);
    if (entries !== null && typeof entries === 'object' && !Array.isArray(entries) && 'sparse' in entries) {
      for (const k of Object.keys(entries)) if (k !== 'sparse') throw new TypeError(`buffers.register(): "${k}" is not an option; it takes { sparse }`);
      const n = checkInt('buffers.register(): "sparse"', entries.sparse, 1, MAX_REGISTERED_BUFFERS);
      rr.writeUInt32LE(n, 0);
      rr.writeUInt32LE(RSRC_REGISTER_SPARSE, 4);
      this.#ring.register(RegisterOp.REGISTER_BUFFERS2, rr, RSRC_SIZE);
      this.#size = n;
      this.#slots = new Array(n).fill(undefined);
      return this.#slots.slice();
    }
    if (!Array.isArray(entries) || entries.length === 0)
      throw new TypeError(`buffers.register(): "entries" must be a non-empty array of sizes, ArrayBufferViews or null, or { sparse: n }; got ${describe(entries)}`);
    if (entries.length > MAX_REGISTERED_BUFFERS) throw new RangeError(`buffers.register(): at most ${MAX_REGISTERED_BUFFERS} buffers, got ${entries.length}`);
    const made = this.#prepare('buffers.register()', 0, entries);
    rr.writeUInt32LE(entries.length, 0);
    rr.writeBigUInt64LE(BigInt(made.iovAddress), 16);
    rr.writeBigUInt64LE(BigInt(made.tagAddress), 24);
    this.#call(RegisterOp.REGISTER_BUFFERS2, rr, 'buffers.register()', made);
    this.#size = entries.length;
    this.#slots = made.buffers.slice();
    this.#track(made);
    return made.buffers;
  }

  /**
   * Replaces slots from `offset` (IORING_REGISTER_BUFFERS_UPDATE): a size or contents registers a
   * new buffer there, null empties the slot. The buffers replaced stay usable by requests already
   * in flight; their `released` resolves when the kernel has let go. Returns the new buffers.
   */
  update(offset: number, entries: readonly BufferEntry[]): (RegisteredBuffer | undefined)[] {
    if (arguments.length !== 2) throw new TypeError(`buffers.update() takes offset, entries; got ${arguments.length} arguments`);
    checkInt('buffers.update(): "offset"', offset, 0, MAX_REGISTERED_BUFFERS - 1);
    if (!Array.isArray(entries) || entries.length === 0) throw new TypeError(`buffers.update(): "entries" must be a non-empty array of sizes, ArrayBufferViews or null, got ${describe(entries)}`);
    ringInternals(this.#ring).assertOpen();
    if (this.#size === 0) throw new RangeError('buffers.update(): the ring has no buffer table (buffers.register() first)');
    if (offset + entries.length > this.#size) throw new RangeError(`buffers.update(): slots ${offset}..${offset + entries.length - 1} are past the table (${this.#size} slots)`);
    const made = this.#prepare('buffers.update()', offset, entries);
    const up = Buffer.alloc(RSRC_SIZE);
    up.writeUInt32LE(offset, 0);
    up.writeBigUInt64LE(BigInt(made.iovAddress), 8);
    up.writeBigUInt64LE(BigInt(made.tagAddress), 16);
    up.writeUInt32LE(entries.length, 24);
    const done = this.#call(RegisterOp.REGISTER_BUFFERS_UPDATE, up, 'buffers.update()', made);
    for (let i = 0; i < done; i++) {
      this.#letGo(this.#slots[offset + i]);
      this.#slots[offset + i] = made.buffers[i];
    }
    this.#track(made, done);
    ringInternals(this.#ring).updateRef();
    return made.buffers.slice(0, done);
  }

  /** Unregisters the table (IORING_UNREGISTER_BUFFERS). Buffers stay readable; each `released` resolves when the kernel let go. */
  unregister(): void {
    if (arguments.length !== 0) throw new TypeError(`buffers.unregister() takes no arguments, got ${arguments.length}`);
    ringInternals(this.#ring).assertOpen();
    if (this.#size === 0) throw new RangeError('buffers.unregister(): the ring has no buffer table (buffers.register() first)');
    this.#ring.register(RegisterOp.UNREGISTER_BUFFERS, null, 0);
    if (this.#ring.pending === 0 || unregisterPostsTags() === false) {
      // The kernel has let go now: no request can be using them (programs cannot name registered
      // buffers), or the kernel quiesced the table inside the unregister (before 6.13: Debian's
      // 6.1 and 6.12), which posts no tag (src/ring/tag-probe.ts). Free them without waiting for
      // tags (a tag that still comes finds nothing to release).
      const gone = new Set(this.#slots.filter((b) => b?.registered));
      for (const [low, t] of this.#byTag) if (gone.has(t)) this.#byTag.delete(low);
      for (const b of gone) b!.kernelReleased();
    } else {
      // requests in flight may use them, and this kernel posts each tag when the last one ends:
      // `released` resolves at the tag or at ring close, without holding the event loop for them
      for (const b of this.#slots) b?.unregistered();
    }
    this.#slots = [];
    this.#size = 0;
    ringInternals(this.#ring).updateRef();
  }

  // ---------------------------------------------------------------- internals

  /** Allocates the entries' memory and builds the iovec and tag arrays. */
  #prepare(where: string, offset: number, entries: readonly BufferEntry[]): Prepared {
    if (!(this.#ring.features & Features.RSRC_TAGS)) {
      // REGISTER_BUFFERS2 and tags are 5.13 (IORING_FEAT_RSRC_TAGS); ringflow needs them to know when memory is free
      throw new RingError(-errnoOf('EOPNOTSUPP'), 'io_uring_register', { detail: `${where}: this kernel lacks IORING_FEAT_RSRC_TAGS (Linux 5.13+)` });
    }
    const n = entries.length;
    const iov = Buffer.alloc(n * IOVEC_SIZE);
    const tags = new BigUint64Array(n);
    const buffers: (RegisteredBuffer | undefined)[] = [];
    const tagLows: number[] = [];
    for (let i = 0; i < n; i++) {
      const e = entries[i];
      if (e === null || e === undefined) {
        buffers.push(undefined);
        tagLows.push(0);
        continue;
      }
      let size: number;
      let contents: ArrayBufferView | undefined;
      if (typeof e === 'number') size = checkInt(`${where}: entry ${i}`, e, 1, MAX_REGISTERED_BUFFER_SIZE);
      else if (ArrayBuffer.isView(e)) {
        contents = e;
        size = checkInt(`${where}: entry ${i}'s byteLength`, e.byteLength, 1, MAX_REGISTERED_BUFFER_SIZE);
      } else throw new TypeError(`${where}: entry ${i} must be a size in bytes, an ArrayBufferView or null, got ${describe(e)}`);
      const block = new NativeBlock(size, `${where}: buffer ${offset + i}`);
      const b = new RegisteredBuffer(offset + i, block);
      if (contents) b.bytes.set(new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength));
      iov.writeBigUInt64LE(BigInt(block.address), i * IOVEC_SIZE);
      iov.writeBigUInt64LE(BigInt(size), i * IOVEC_SIZE + 8);
      const low = this.#nextTag;
      this.#nextTag = this.#nextTag >= 0xffffffff ? 1 : this.#nextTag + 1;
      tags[i] = (BigInt(RESOURCE_TAG) << 32n) | BigInt(low);
      tagLows.push(low);
      buffers.push(b);
    }
    return { buffers, tagLows, iov, tags, iovAddress: addressOf(iov), tagAddress: addressOf(tags) };
  }

  #call(opcode: number, arg: Buffer, where: string, made: Prepared): number {
    const pages = made.buffers.reduce((s, b) => s + (b ? pagesOf(b.length) : 0), 0);
    try {
      return this.#ring.register(opcode, arg, RSRC_SIZE);
    } catch (e) {
      for (const b of made.buffers) b?.kernelReleased(); // never registered: free now
      if (e instanceof RingError) throw memlockError(-e.errno, 'io_uring_register', `${where}: ${made.buffers.filter(Boolean).length} buffer(s)`, pages);
      throw e;
    } finally {
      made.iov.fill(0); // keep the arrays reachable until here
      void made.tags;
    }
  }

  #track(made: Prepared, count = made.buffers.length): void {
    for (let i = 0; i < made.buffers.length; i++) {
      const b = made.buffers[i];
      if (!b) continue;
      if (i < count) this.#byTag.set(made.tagLows[i], b);
      else b.kernelReleased(); // past what an update applied
    }
  }
}

/** Address of a JS array the kernel reads during one io_uring_register call only. */
function addressOf(v: ArrayBufferView): number {
  return bufferAddress(v.buffer) + v.byteOffset;
}

const tables = new WeakMap<Ring, RegisteredBuffers>();
/** `ring.buffers`: the ring's registered buffer table (made on first use). */
export function registeredBuffersOf(ring: Ring): RegisteredBuffers {
  let t = tables.get(ring);
  if (!t) {
    t = new RegisteredBuffers(ring);
    tables.set(ring, t);
  }
  return t;
}
