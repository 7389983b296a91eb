/**
 * The Ring's buffer surface, installed on Ring.prototype when the package entry loads (as
 * src/ring/ring-programs.ts installs the program methods): `ring.buffers` (registered buffers,
 * src/ring/registered-buffers.ts) and `ring.bufferGroup(options)` (provided buffers,
 * src/buffers/buffer-group.ts).
 */
import { Ring } from '../ring/ring.js';
import { registeredBuffersOf, type RegisteredBuffers } from '../ring/registered-buffers.js';
import { BufferGroup, type BufferGroupOptions } from './buffer-group.js';
import { setDefaultGroupFactory, DEFAULT_GROUP } from '../net/recv-group.js';

declare module '../ring/ring.js' {
  interface Ring {
    /** The ring's registered buffer table (register, update, unregister, at). */
    readonly buffers: RegisteredBuffers;
    /** A provided-buffer group on this ring (same as `new BufferGroup(ring, options)`). */
    bufferGroup(options: BufferGroupOptions): BufferGroup;
  }
}

Object.defineProperty(Ring.prototype, 'buffers', {
  configurable: true,
  enumerable: false,
  get(this: Ring): RegisteredBuffers {
    return registeredBuffersOf(this);
  },
});

Ring.prototype.bufferGroup = function (this: Ring, options: BufferGroupOptions): BufferGroup {
  if (arguments.length !== 1) throw new TypeError(`ring.bufferGroup() takes one argument (options), got ${arguments.length}`);
  return new BufferGroup(this, options);
};

// the sockets' default group (src/net/tcp.ts): a ring-mapped group where the kernel has one
setDefaultGroupFactory((ring) => new BufferGroup(ring, { ...DEFAULT_GROUP }));
