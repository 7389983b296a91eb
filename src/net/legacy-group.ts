/**
 * A minimal provided-buffer group over IORING_OP_PROVIDE_BUFFERS (5.7): the default group of the
 * socket layer until the BufferGroup class (src/buffers) installs its own factory. One pool of
 * `count` × `size` bytes lent to the kernel for the group's life; a chunk is given back with a
 * PROVIDE_BUFFERS of its one buffer.
 */
import type { Ring } from '../ring/ring.js';
import { RingError } from '../errors.js';
import { CqeFlags } from '../ring/abi.js';
import { setDefaultGroupFactory, DEFAULT_GROUP, type RecvChunk, type RecvGroup } from './recv-group.js';

let nextGroupId = 0x4000;

class LegacyGroup implements RecvGroup {
  readonly id: number;
  readonly #ring: Ring;
  readonly #pool: Buffer;
  readonly #size: number;
  /** Ids the kernel holds (true) or JS holds (false). */
  readonly #inKernel: boolean[];
  #waiters: (() => void)[] = [];

  constructor(ring: Ring, count: number, size: number) {
    this.#ring = ring;
    this.id = nextGroupId++ & 0xffff;
    this.#size = size;
    this.#pool = Buffer.alloc(count * size);
    this.#inKernel = new Array<boolean>(count).fill(true);
    void ring.provideBuffers(this.#pool, size, count, this.id, 0);
  }

  take(res: number, flags: number): RecvChunk {
    if (!(flags & CqeFlags.BUFFER)) throw new RingError(-22, 'recv', { detail: 'a completion with data but no provided buffer' });
    const id = flags >>> 16;
    if (!this.#inKernel[id]) throw new RingError(-22, 'recv', { detail: `provided buffer ${id} named twice` });
    this.#inKernel[id] = false;
    let bytes: Uint8Array = this.#pool.subarray(id * this.#size, id * this.#size + res);
    let released = false;
    const give = () => {
      if (released) throw new Error(`provided buffer ${id} released twice`);
      released = true;
      bytes = new Uint8Array(0);
      this.#inKernel[id] = true;
      if (this.#ring.closed) return;
      // waiters re-arm a request that selects from the group: wake them once the kernel has it back
      void this.#ring.provideBuffers(this.#pool.subarray(id * this.#size, (id + 1) * this.#size), this.#size, 1, this.id, id).then(
        () => this.#wake(),
        () => {},
      );
    };
    return {
      id,
      get bytes() {
        return bytes;
      },
      release: give,
      [Symbol.dispose]: () => {
        if (!released) give();
      },
    };
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  refilled(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }
}

setDefaultGroupFactory((ring) => new LegacyGroup(ring, DEFAULT_GROUP.count, DEFAULT_GROUP.size));
