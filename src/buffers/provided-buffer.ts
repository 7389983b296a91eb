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

export class ProvidedBuffer {
  /** The buffer id (bid) the kernel chose. */
  readonly id: number;
  /** Where these bytes start inside the buffer (non-zero for an incremental group's later pieces). */
  readonly offset: number;
  /** The kernel keeps using the rest of this buffer (an incremental group's IORING_CQE_F_BUF_MORE). */
  readonly more: boolean;
  #bytes: Buffer | undefined;
  #owner: BufferOwner;

  /** @internal made by BufferGroup.take() */
  constructor(owner: BufferOwner, id: number, offset: number, bytes: Buffer, more: boolean) {
    this.#owner = owner;
    this.id = id;
    this.offset = offset;
    this.#bytes = bytes;
    this.more = more;
  }

  /** Exactly the bytes received (a view of the buffer; throws after release()). */
  get bytes(): Buffer {
    const b = this.#bytes;
    if (!b) throw new BufferStateError('ERR_BUFFER_RELEASED', `provided buffer ${this.id} of group ${this.#owner.id} was released: its bytes are the kernel's again`);
    return b;
  }

  /** Bytes received (0 once released). */
  get length(): number {
    return this.#bytes?.length ?? 0;
  }

  get released(): boolean {
    return this.#bytes === undefined;
  }

  /** Gives the buffer back to the kernel's group; its views read as zero-length from now on. A second release() throws. */
  release(): void {
    if (arguments.length !== 0) throw new TypeError(`release() takes no arguments, got ${arguments.length}`);
    const b = this.#bytes;
    if (!b) throw new BufferStateError('ERR_BUFFER_RELEASED', `provided buffer ${this.id} of group ${this.#owner.id} was released already (a buffer goes back to the kernel once)`);
    this.#bytes = undefined;
    if (b.length > 0) detach(b.buffer as ArrayBuffer);
    this.#owner.returned(this.id);
  }

  /** `using`: releases the buffer unless release() did already. */
  [Symbol.dispose](): void {
    if (this.#bytes) this.release();
  }
}
