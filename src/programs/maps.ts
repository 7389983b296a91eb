/**
 * JS classes over native map handles. Every argument is validated here with an exact TypeError or
 * RangeError before native code sees it (native still re-checks). -errno results become errors.
 */
import { bpf, MapType, MapFlags, type MapHandle } from './binding.js';
import { ProgramError } from './errors.js';
import { errnoName } from '../errors.js';
import type { MapInfo } from './verify.js';

const errname = (e: number): string => errnoName(-e);

/** True when the native eBPF engine is compiled in (binding exports bpfProgCreate etc.). */
export function engineAvailable(): boolean {
  return typeof (bpf as Partial<typeof bpf>).bpfProgCreate === 'function' && typeof (bpf as Partial<typeof bpf>).bpfMapCreate === 'function';
}

/** @throws ProgramError 'ENATIVE' when the native engine is missing. */
export function requireEngine(what: string): void {
  if (!engineAvailable()) throw new ProgramError('ENATIVE', -1, `native: ${what}: the eBPF engine is not built into the addon (binding has no bpfProgCreate); rebuild with "npm run build:native"`);
}

/** Options for a new map: the same facts the verifier knows a map by. */
export type MapOptions = MapInfo;

const u32 = (v: unknown, name: string, min = 0): number => {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer`);
  if (v < min || v > 0xffffffff) throw new RangeError(`${name} must be between ${min} and 4294967295 (got ${v})`);
  return v;
};

/** Base class: a native map and its shape. */
export abstract class BpfMap implements MapInfo {
  /** Native handle (passed to program creation). */
  readonly handle: MapHandle;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;

  /** @internal use createMap() or the subclass constructors. */
  protected constructor(opts: MapOptions) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('map options must be an object');
    u32(opts.type, 'type', 1);
    u32(opts.keySize, 'keySize');
    u32(opts.valueSize, 'valueSize', opts.type === MapType.RingBuf ? 0 : 1);
    u32(opts.maxEntries, 'maxEntries', 1);
    const flags = opts.flags === undefined ? 0 : u32(opts.flags, 'flags');
    requireEngine('map create');
    const h = bpf.bpfMapCreate(opts.type, opts.keySize, opts.valueSize, opts.maxEntries, flags);
    if (typeof h === 'number') throw new ProgramError('ENATIVE', -1, `native: map create (type ${opts.type}, key ${opts.keySize}, value ${opts.valueSize}, entries ${opts.maxEntries}) failed: ${errname(h)}`);
    this.handle = h;
    this.type = opts.type;
    this.keySize = opts.keySize;
    this.valueSize = opts.valueSize;
    this.maxEntries = opts.maxEntries;
    this.flags = flags;
    this.name = opts.name ?? '';
  }

  protected bytes(v: unknown, size: number, what: string): Uint8Array {
    if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
    if (v.byteLength !== size) throw new RangeError(`${what} must be ${size} bytes (got ${v.byteLength})`);
    return v;
  }
}

/**
 * Array map: maxEntries values of valueSize bytes, keyed by a u32 index; values are preallocated
 * and read/written in place through a zero-copy view of native memory.
 */
export class ArrayMap extends BpfMap {
  /** The whole value storage (zero-copy); element i starts at i * stride. */
  readonly memory: Uint8Array;
  /** Bytes between consecutive values (valueSize rounded up to 8). */
  readonly stride: number;

  /** Creates an array map (key size is always 4). */
  constructor(opts: { valueSize: number; maxEntries: number; flags?: number; name?: string }) {
    super({ ...opts, type: MapType.Array, keySize: 4 });
    const mem = bpf.bpfMapMemory(this.handle);
    if (typeof mem === 'number') throw new ProgramError('ENATIVE', -1, `native: array map memory failed: ${errname(mem)}`);
    this.memory = new Uint8Array(mem);
    this.stride = (this.valueSize + 7) & ~7;
  }

  private index(i: unknown): number {
    if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError('index must be an integer');
    if (i < 0 || i >= this.maxEntries) throw new RangeError(`index ${i} out of range (maxEntries ${this.maxEntries})`);
    return i;
  }

  /** Zero-copy view of value i (writes are seen by programs and vice versa). */
  value(i: number): Uint8Array {
    const k = this.index(i);
    return this.memory.subarray(k * this.stride, k * this.stride + this.valueSize);
  }

  /** DataView over value i (zero-copy), for typed field access. */
  view(i: number): DataView {
    const v = this.value(i);
    return new DataView(v.buffer, v.byteOffset, v.byteLength);
  }

  /** Copy of value i. */
  get(i: number): Uint8Array {
    return this.value(i).slice();
  }

  /** Overwrites value i. */
  set(i: number, value: Uint8Array): this {
    this.value(i).set(this.bytes(value, this.valueSize, 'value'));
    return this;
  }
}

const FLAGS = { any: 0, noexist: 1, exist: 2 } as const;

/** Hash map: keys and values of fixed sizes, at most maxEntries elements. */
export class HashMap extends BpfMap {
  /** Creates a hash map. */
  constructor(opts: { keySize: number; valueSize: number; maxEntries: number; flags?: number; name?: string }) {
    if (opts && typeof opts === 'object') u32(opts.keySize, 'keySize', 1);
    super({ ...opts, type: MapType.Hash });
  }

  /** Copy of the value for key, or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    const out = new Uint8Array(this.valueSize);
    const r = bpf.bpfMapLookup(this.handle, this.bytes(key, this.keySize, 'key'), out);
    if (r === -2) return undefined;
    if (r < 0) throw new ProgramError('ENATIVE', -1, `native: map lookup failed: ${errname(r)}`);
    return out;
  }

  /** True when key is present. */
  has(key: Uint8Array): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Sets key to value. mode 'any' (default) creates or replaces, 'noexist' only creates,
   * 'exist' only replaces.
   * @throws ProgramError 'ENATIVE' with EEXIST / ENOENT / E2BIG (map full).
   */
  set(key: Uint8Array, value: Uint8Array, mode: 'any' | 'noexist' | 'exist' = 'any'): this {
    const k = this.bytes(key, this.keySize, 'key');
    const v = this.bytes(value, this.valueSize, 'value');
    if (!(mode in FLAGS)) throw new TypeError(`mode must be 'any', 'noexist' or 'exist'`);
    const r = bpf.bpfMapUpdate(this.handle, k, v, FLAGS[mode]);
    if (r < 0) throw new ProgramError('ENATIVE', -1, `native: map update failed: ${errname(r)}${r === -7 ? ` (map full, maxEntries ${this.maxEntries})` : ''}`);
    return this;
  }

  /** Deletes key; false when it was absent. */
  delete(key: Uint8Array): boolean {
    const r = bpf.bpfMapDelete(this.handle, this.bytes(key, this.keySize, 'key'));
    if (r === -2) return false;
    if (r < 0) throw new ProgramError('ENATIVE', -1, `native: map delete failed: ${errname(r)}`);
    return true;
  }

  /** Keys (copies), in native iteration order. */
  *keys(): Generator<Uint8Array> {
    let prev: Uint8Array | null = null;
    for (let guard = 0; guard <= this.maxEntries; guard++) {
      const next = new Uint8Array(this.keySize);
      const r = bpf.bpfMapNextKey(this.handle, prev, next);
      if (r === -2) return;
      if (r < 0) throw new ProgramError('ENATIVE', -1, `native: map next key failed: ${errname(r)}`);
      yield next;
      prev = next;
    }
  }

  /** [key, value] pairs (copies). */
  *entries(): Generator<[Uint8Array, Uint8Array]> {
    for (const k of this.keys()) {
      const v = this.get(k);
      if (v) yield [k, v];
    }
  }

  /** Number of elements (walks the keys). */
  get size(): number {
    let n = 0;
    for (const _ of this.keys()) n++;
    return n;
  }
}

/** Ring buffer map: programs produce records (bpf_ringbuf_output/reserve), JS consumes them. */
export class RingBufMap extends BpfMap {
  private scratch: Uint8Array;

  /** Creates a ring buffer of size bytes (a power of two, multiple of 4096). */
  constructor(opts: { size: number; name?: string }) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('map options must be an object');
    const size = u32(opts.size, 'size', 4096);
    if (size & (size - 1) || size % 4096) throw new RangeError(`size must be a power of two and a multiple of 4096 (got ${size})`);
    super({ type: MapType.RingBuf, keySize: 0, valueSize: 0, maxEntries: size, ...(opts.name ? { name: opts.name } : {}) });
    this.scratch = new Uint8Array(4096);
  }

  /** The oldest committed record (consumed), or undefined when empty. */
  read(): Uint8Array | undefined {
    for (;;) {
      const r = bpf.bpfRingbufRead(this.handle, this.scratch);
      if (r === 0) return undefined;
      if (r === -28) {
        this.scratch = new Uint8Array(Math.min(this.scratch.length * 2, this.maxEntries));
        continue;
      }
      if (r < 0) throw new ProgramError('ENATIVE', -1, `native: ring buffer read failed: ${errname(r)}`);
      return this.scratch.slice(0, r);
    }
  }

  /** All committed records, oldest first. */
  drain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let r = this.read(); r; r = this.read()) out.push(r);
    return out;
  }
}

/** Creates the right map class for a spec (ELF loader, data-file `-- map` sections). */
export function createMap(spec: MapOptions & { initial?: Uint8Array }): BpfMap {
  const name = spec.name ?? '';
  switch (spec.type) {
    case MapType.Array: {
      if (spec.keySize !== 4) throw new RangeError(`array map ${name} must have keySize 4 (got ${spec.keySize})`);
      const m = new ArrayMap({ valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags ?? 0, name });
      if (spec.initial) m.value(0).set(spec.initial.subarray(0, m.valueSize));
      return m;
    }
    case MapType.Hash:
      return new HashMap({ keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags ?? 0, name });
    case MapType.RingBuf:
      return new RingBufMap({ size: spec.maxEntries, name });
    default:
      throw new RangeError(`map ${name}: unsupported map type ${spec.type} (supported: 1 hash, 2 array, 27 ringbuf)`);
  }
}

export { MapType, MapFlags };
