/**
 * A provided buffer handed to JS by a completion (src/buffers/buffer-group.ts): the bytes the
 * kernel put there, and the duty to give it back. Its one end is release() (or `using`'s
 * dispose): the buffer goes back to the kernel's group, and its view is detached (zero-length:
 * a Buffer kept from `bytes` reads nothing afterwards, and `bytes` itself throws), so JS can
 * never read data the kernel writes into the buffer for someone else.
 */
import { RingError, errno as errnoOf } from '../errors.js';
import { detach } from './native-memory.js';

const ENOBUFS = errnoOf('ENOBUFS');

/** A provided buffer used wrongly: released twice, read after release, or a CQE naming a buffer the kernel does not hold. */
export class BufferStateError extends Error {
  /** 'ERR_BUFFER_RELEASED' (released already) or 'ERR_BUFFER_NOT_KERNELS' (a CQE names a buffer the group had not given the kernel). */
  readonly code: 'ERR_BUFFER_RELEASED' | 'ERR_BUFFER_NOT_KERNELS';
  constructor(code: BufferStateError['code'], message: string) {
    super(message);
    this.name = 'BufferStateError';
    this.code = code;
  }
}

/**
 * -ENOBUFS from a request selecting from a group: the group had no buffer for it. A RingError
 * (code 'ENOBUFS', errno 105) with a hint about the group; `err instanceof RingError &&
 * err.code === 'ENOBUFS'` catches it and the plain RingError a promise method rejects with.
 */
export class BufferGroupEmptyError extends RingError {
  /** The group's id (bgid). */
  readonly group: number;
  constructor(group: number, kind: string, outstanding: number) {
    super(-ENOBUFS, 'io_uring_enter', {
      detail: `buffer group ${group} (${kind})`,
      hint: `the kernel found no buffer in group ${group}: ${outstanding} of its buffers are held by JS; release() them (or make the group bigger), then re-arm the request (await group.refilled())`,
    });
    this.name = 'BufferGroupEmptyError';
    this.group = group;
  }
}

/** What a ProvidedBuffer tells its group when released. */
export interface BufferOwner {
  /** The buffer (or piece of it) with id `id` came back from JS. */
  returned(id: number): void;
  /** Group id and kind, for messages. */
  readonly id: number;
}

/**
 * The memory of a group, as its buffers reach it (never given to users: the keeper must not be
 * transferred or detached while a request the group lent it to is in flight).
 */
export interface GroupMemory {
  /** Address of the group's byte 0. */
  readonly address: number;
  /** Keeps the memory alive while reachable (an ArrayBuffer over all of it holding a native reference). */
  readonly keeper: object;
  /** A fresh Buffer over [start, start + length) holding its own reference (length ≥ 1). */
  view(start: number, length: number): Buffer;
}

/** What lend() gives the request that takes a buffer over: its bytes, and the one way back. */
export interface BufferLease {
  readonly address: number;
  readonly length: number;
  /** Keep this reachable until the kernel is done with the bytes (sqe.hold). */
  readonly keeper: object;
  /** Gives the buffer back to its group (once; later calls do nothing). */
  back(): void;
}

const EMPTY = Buffer.alloc(0);
/** lend()'s body, set by ProvidedBuffer's static block (it reads private fields). */
let lendBuffer: (b: ProvidedBuffer) => BufferLease;

export class ProvidedBuffer {
  /** The buffer id (bid) the kernel chose. */
  readonly id: number;
  /** Where these bytes start inside the buffer (non-zero for an incremental group's later pieces). */
  readonly offset: number;
  /** The kernel keeps using the rest of this buffer (an incremental group's IORING_CQE_F_BUF_MORE). */
  readonly more: boolean;
  #owner: BufferOwner;
  #mem: GroupMemory;
  /** Where the bytes start in the group's memory. */
  #start: number;
  /** Bytes received; -1 once released (or lent). */
  #length: number;
  /** The view handed out by `bytes`, made on first use (an ArrayBuffer over native memory costs a
   *  Node-API external buffer: a buffer only forwarded, e.g. TcpSocket.write(chunk), never has one). */
  #bytes: Buffer | undefined;

  /** @internal made by BufferGroup.take() */
  constructor(owner: BufferOwner, mem: GroupMemory, id: number, offset: number, start: number, length: number, more: boolean) {
    this.#owner = owner;
    this.#mem = mem;
    this.id = id;
    this.offset = offset;
    this.#start = start;
    this.#length = length;
    this.more = more;
  }

  /** Exactly the bytes received (a view of the buffer; throws after release()). */
  get bytes(): Buffer {
    const n = this.#length;
    if (n < 0) throw new BufferStateError('ERR_BUFFER_RELEASED', `provided buffer ${this.id} of group ${this.#owner.id} was released: its bytes are the kernel's again`);
    return (this.#bytes ??= n === 0 ? EMPTY : this.#mem.view(this.#start, n));
  }

  /** Bytes received (0 once released). */
  get length(): number {
    return this.#length < 0 ? 0 : this.#length;
  }

  get released(): boolean {
    return this.#length < 0;
  }

  /** Gives the buffer back to the kernel's group; its views read as zero-length from now on. A second release() throws. */
  release(): void {
    if (arguments.length !== 0) throw new TypeError(`release() takes no arguments, got ${arguments.length}`);
    this.#end('was released already (a buffer goes back to the kernel once)');
    this.#owner.returned(this.id);
  }

  /** `using`: releases the buffer unless release() did already. */
  [Symbol.dispose](): void {
    if (this.#length >= 0) this.release();
  }

  /** JS's end of the buffer: refused when it came already; detaches the view if one was made. */
  #end(why: string): void {
    if (this.#length < 0) throw new BufferStateError('ERR_BUFFER_RELEASED', `provided buffer ${this.id} of group ${this.#owner.id} ${why}`);
    this.#length = -1;
    const b = this.#bytes;
    this.#bytes = undefined;
    if (b !== undefined && b.length > 0) detach(b.buffer as ArrayBuffer);
  }

  static {
    lendBuffer = (b) => {
      const address = b.#mem.address + b.#start;
      const length = b.#length;
      b.#end('was released already (a buffer is handed over or released once)');
      return new Lease(address, length, b.#mem.keeper, b.#owner, b.id);
    };
  }
}

/** lend()'s BufferLease: one object per lease (a forwarded chunk per message makes one). */
class Lease implements BufferLease {
  readonly address: number;
  readonly length: number;
  readonly keeper: object;
  #owner: BufferOwner | undefined;
  #id: number;
  constructor(address: number, length: number, keeper: object, owner: BufferOwner, id: number) {
    this.address = address;
    this.length = length;
    this.keeper = keeper;
    this.#owner = owner;
    this.#id = id;
  }
  back(): void {
    const owner = this.#owner;
    if (owner === undefined) return; // (once)
    this.#owner = undefined;
    owner.returned(this.#id);
  }
}

/**
 * Hands `b` to a request that sends from it (TcpSocket.write(chunk)): for JS it is released from
 * now on (`bytes` and release() throw, a view read earlier is detached), and it goes back to its
 * group when the request calls back(), after the kernel's last CQE for it. Throws
 * BufferStateError when it was released (or handed over) already.
 */
export function lend(b: ProvidedBuffer): BufferLease {
  return lendBuffer(b);
}
