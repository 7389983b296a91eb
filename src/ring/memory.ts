/**
 * Addresses of JS memory for SQE fields, and the rule for which memory may be handed to the
 * kernel. An ArrayBuffer's backing store never moves in V8, so its base address is asked of
 * native code once and cached per buffer (Node's pooled small Buffers share one, so the cache
 * hits for them too). Memory whose length can shrink or vanish while the kernel uses it
 * (a detached or a resizable ArrayBuffer) is refused; SharedArrayBuffers, growable or not, only
 * ever grow in place and are accepted.
 *
 * An ArrayBuffer handed to the kernel is marked untransferable (worker_threads.markAsUntransferable,
 * as Node does for its Buffer pool), once: ArrayBuffer.prototype.transfer() and transfer lists
 * would otherwise move or free its memory while the kernel still reads or writes it. Node 24 and
 * 26 refuse both; Node 20 has no transfer() and clones instead of transferring; Node 22 refuses
 * transfer lists but its transfer() detaches a marked buffer all the same: where a probe finds
 * that, transfer() and transferToFixedLength() are guarded to refuse the buffers lent to the
 * kernel as the newer lines do (guardTransfer). Its memory stays where the kernel was told it is
 * for as long as the buffer lives.
 */
import { types } from 'node:util';
import { binding } from '../native.js';

let untransferable: ((ab: ArrayBuffer) => void) | undefined;
/** worker_threads.markAsUntransferable, loaded at the first buffer lent to the kernel rather than with the ring. */
const markAsUntransferable = (): ((ab: ArrayBuffer) => void) => (untransferable ??= process.getBuiltinModule('node:worker_threads').markAsUntransferable);

const bases = new WeakMap<ArrayBufferLike, number>();

/** A base class whose constructor returns the object it is given, so a subclass adds its private fields to that object. */
const Identity = class {
  constructor(o: object) {
    return o;
  }
} as new (o: object) => object;

/**
 * The stamp of an ArrayBuffer over native memory: its base address, in a private field added to
 * the ArrayBuffer itself (a class whose base constructor returns the object it is given). A
 * WeakSet/WeakMap entry per buffer made the garbage collector's ephemeron work the largest cost of
 * a server receiving into provided buffers (one view per received chunk; docs/benchmarks.md).
 */
class NativeStamp extends Identity {
  #base: number;
  constructor(ab: ArrayBuffer, base: number) {
    super(ab);
    this.#base = base;
  }
  static baseOf(o: unknown): number | undefined {
    return typeof o === 'object' && o !== null && #base in o ? (o as NativeStamp).#base : undefined;
  }
}

/**
 * Was `ab` made over memory ringflow allocated natively and reference counts (registered buffers,
 * buffer groups: src/buffers/native-memory.ts; noteNativeBase)? A transfer() of one moves the same
 * memory, which stays valid, so they are not marked untransferable here (on Node 24+ a mark is a
 * V8 detach key, after which neither ringflow's own detach nor Node's teardown of a worker can
 * detach them: a fatal error).
 */
export function nativelyOwned(ab: ArrayBufferLike): boolean {
  return NativeStamp.baseOf(ab) !== undefined;
}

/** Is `v` a SharedArrayBuffer (growable or not)? (Asked of the engine: a prototype swapped by setPrototypeOf cannot pass an ArrayBuffer off as one.) */
export function isSharedArrayBuffer(v: unknown): v is SharedArrayBuffer {
  return types.isSharedArrayBuffer(v);
}

// The engine's own accessors of views and buffers. What ringflow hands the kernel (an address and
// a length) is read through these, never through `v.byteLength` and friends, which a subclass or an
// own property can redefine: a view must not be able to name memory past the end of its buffer.
type Getter = (this: unknown) => unknown;
const getterOf = (proto: object, key: PropertyKey): Getter => Object.getOwnPropertyDescriptor(proto, key)!.get as Getter;
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const taTag = getterOf(TypedArrayPrototype, Symbol.toStringTag);
const taBuffer = getterOf(TypedArrayPrototype, 'buffer');
const taByteOffset = getterOf(TypedArrayPrototype, 'byteOffset');
const taByteLength = getterOf(TypedArrayPrototype, 'byteLength');
const dvBuffer = getterOf(DataView.prototype, 'buffer');
const dvByteOffset = getterOf(DataView.prototype, 'byteOffset');
const dvByteLength = getterOf(DataView.prototype, 'byteLength');
const abByteLength = getterOf(ArrayBuffer.prototype, 'byteLength');
const optionalGetter = (key: string): Getter | undefined => Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, key)?.get as Getter | undefined;
const abDetached = optionalGetter('detached'); // Node 22+
const abResizable = optionalGetter('resizable'); // resizable ArrayBuffers (V8 11.1+)
const sabByteLength = typeof SharedArrayBuffer !== 'undefined' ? getterOf(SharedArrayBuffer.prototype, 'byteLength') : abByteLength;

/**
 * The buffer and byte range of a view (TypedArray or DataView, as ArrayBuffer.isView says), read
 * with the engine's accessors. A DataView over a detached buffer throws (as its getters do).
 */
export function viewExtent(v: ArrayBufferView): { buffer: ArrayBuffer | SharedArrayBuffer; offset: number; length: number } {
  if (taTag.call(v) !== undefined) return { buffer: taBuffer.call(v) as ArrayBuffer, offset: taByteOffset.call(v) as number, length: taByteLength.call(v) as number };
  return { buffer: dvBuffer.call(v) as ArrayBuffer, offset: dvByteOffset.call(v) as number, length: dvByteLength.call(v) as number };
}

/** The buffer of a view (TypedArray or DataView), read with the engine's accessor. */
export function viewBuffer(v: ArrayBufferView): ArrayBuffer | SharedArrayBuffer {
  return (taTag.call(v) !== undefined ? taBuffer : dvBuffer).call(v) as ArrayBuffer;
}

/** The byte length of an ArrayBuffer or SharedArrayBuffer, read with the engine's accessor. */
export function bufferByteLength(ab: ArrayBufferLike): number {
  return (types.isSharedArrayBuffer(ab) ? sabByteLength : abByteLength).call(ab) as number;
}

/**
 * The cached base address of an ArrayBuffer ringflow has handed to the kernel before, when it can
 * neither move nor shrink since (marked untransferable, not resizable: checked when it was cached;
 * not natively owned memory, which ringflow detaches on release); undefined otherwise. The builders'
 * fast path (src/ops/build-plan.ts) takes a view over such a buffer without the checks again.
 */
export function knownBase(ab: ArrayBufferLike): number | undefined {
  const base = bases.get(ab);
  if (base === undefined || isSharedArrayBuffer(ab)) return undefined;
  return base;
}

/**
 * The address and length of each Uint8Array the builders' fast path has taken that spans a whole
 * ArrayBuffer knownBase() accepts. Such a view's buffer can neither move, shrink nor be detached
 * (see knownBase), so its extent stays what it was: a buffer read into again and again costs one
 * lookup instead of its buffer, byteOffset and byteLength (slow getters on some Node lines) and
 * two lookups keyed by the buffer. A view over part of a buffer (a slice of Node's Buffer pool, often
 * used once) is not remembered: adding it would cost more than the lookups it saves.
 */
const viewSpans = new WeakMap<object, { readonly address: number; readonly length: number }>();
/** knownView()'s answer for a view it does not remember (valid until the next call). */
const scratchSpan = { address: 0, length: 0 };

/** The address and length of `v` if it is a Uint8Array over memory knownBase() accepts; undefined otherwise. */
export function knownView(v: unknown): { readonly address: number; readonly length: number } | undefined {
  // WeakMap.get of a primitive is undefined (no type check needed for a hit)
  const cached = viewSpans.get(v as object);
  if (cached !== undefined) {
    // a view's length changes only when its buffer is detached (a WebAssembly.Memory grown, a
    // transfer): then it is the slow path's to refuse, never the old memory's address
    if ((taByteLength.call(v) as number) === cached.length) return cached;
    viewSpans.delete(v as object);
    return undefined;
  }
  if (taTag.call(v) !== 'Uint8Array') return undefined;
  const ab = taBuffer.call(v) as ArrayBuffer;
  const base = knownBase(ab);
  if (base === undefined) return undefined;
  const offset = taByteOffset.call(v) as number;
  const length = taByteLength.call(v) as number;
  if (length === 0) return undefined; // (empty, or detached: the builder's checks say which)
  if (offset === 0 && length === (abByteLength.call(ab) as number)) {
    const span = { address: base, length };
    viewSpans.set(v as Uint8Array, span);
    return span;
  }
  scratchSpan.address = base + offset;
  scratchSpan.length = length;
  return scratchSpan;
}

/** Base address of an ArrayBuffer or SharedArrayBuffer (cached). */
export function bufferAddress(ab: ArrayBufferLike): number {
  let base = bases.get(ab) ?? NativeStamp.baseOf(ab);
  if (base === undefined) {
    // Node-API has no SharedArrayBuffer accessor; a view's data pointer is the buffer's base.
    base = binding.addressOf(isSharedArrayBuffer(ab) ? new Uint8Array(ab, 0, 0) : ab) as number;
    if (base < 0) throw new TypeError('ringflow: cannot take the address of this buffer');
    // A zero-length buffer may have no memory yet (address 0): ask again next time.
    if (base !== 0) {
      // a WebAssembly.Memory's buffer is left unmarked: the engine already refuses to transfer it,
      // and on Node 24+ a mark (a detach key) would make the memory's next grow abort the process
      if (!isSharedArrayBuffer(ab) && !wasmBuffers.has(ab)) {
        markAsUntransferable()(ab);
        if (!transferGuarded) guardTransfer();
      }
      bases.set(ab, base);
    }
  }
  return base;
}

/**
 * The address of an ArrayBuffer that only the caller can reach until the kernel is done with it
 * (ringflow/fs's readFile reads into a fresh buffer that it returns only after the read's CQE):
 * neither marked untransferable nor cached, so the buffer is transferable afterwards, as
 * node:fs/promises' results are. The caller keeps it reachable until the CQE (sqe.hold).
 */
export function privateAddress(ab: ArrayBuffer): number {
  const base = binding.addressOf(ab) as number;
  if (!(base > 0)) throw new TypeError('ringflow: cannot take the address of this buffer');
  return base;
}

let transferGuarded = false;
let detachKeys: boolean | undefined;

/**
 * Is a mark of markAsUntransferable a V8 detach key on this runtime (Node 24 and 26: transfer()
 * then refuses the buffer, and a detach by anyone else, Node-API's or a WebAssembly.Memory's grow,
 * is a fatal error rather than a catchable one)? Node 20 and 22 mark without one. Found by trying
 * transfer() on a marked probe, not by version.
 */
export function marksAreDetachKeys(): boolean {
  if (detachKeys === undefined) {
    const probe = new ArrayBuffer(8);
    markAsUntransferable()(probe);
    const t = (probe as unknown as { transfer?: () => ArrayBuffer }).transfer;
    try {
      if (typeof t === 'function') t.call(probe);
      detachKeys = false;
    } catch {
      detachKeys = true;
    }
  }
  return detachKeys;
}

/**
 * The buffers of WebAssembly.Memory objects read since ringflow loaded (through the `buffer`
 * getter, wrapped here to note them, or toFixedLengthBuffer() where the engine has it). V8
 * detaches such a buffer itself when the memory grows (also from inside wasm, with no JS call), so
 * ringflow must not give it a detach key of its own; the engine refuses to transfer it anyway.
 * A buffer read before ringflow was imported, or from another realm's WebAssembly, is not known
 * here (docs/guide.md says so): reading `memory.buffer` again after the import notes it (the same
 * object until the memory grows). grow() of a memory whose buffer was lent unknown is refused with
 * a RangeError where the mark would make it abort the process (a grow from inside wasm is not
 * seen: that one still aborts).
 */
const wasmBuffers = new WeakSet<ArrayBuffer>();

type Method = (this: unknown, ...args: unknown[]) => unknown;
/**
 * Replaces the method `name` of `proto` (when it has a writable one) with what `around` makes of
 * it, keeping its name, length and property attributes.
 */
function wrapMethod(proto: object, name: string, around: (original: Method) => Method): void {
  const d = Object.getOwnPropertyDescriptor(proto, name);
  if (typeof d?.value !== 'function' || !d.writable) return;
  const original = d.value as Method;
  const wrapped = around(original);
  Object.defineProperty(wrapped, 'name', { value: name });
  Object.defineProperty(wrapped, 'length', { value: original.length });
  Object.defineProperty(proto, name, { ...d, value: wrapped });
}

(function noteWasmBuffers(): void {
  const memory = (globalThis as { WebAssembly?: { Memory?: { prototype: object } } }).WebAssembly?.Memory;
  if (memory === undefined) return;
  const proto = memory.prototype;
  const noted = (b: unknown): unknown => {
    if (typeof b === 'object' && b !== null && !isSharedArrayBuffer(b)) wasmBuffers.add(b as ArrayBuffer);
    return b;
  };
  const d = Object.getOwnPropertyDescriptor(proto, 'buffer');
  if (d?.get && d.configurable) {
    const get = d.get as Method;
    const buffer = function (this: unknown): unknown {
      return noted(get.call(this));
    };
    Object.defineProperty(buffer, 'name', { value: get.name });
    Object.defineProperty(proto, 'buffer', { ...d, get: buffer });
    // a memory whose buffer was lent (and marked) before ringflow knew it for a wasm memory's: on
    // runtimes where the mark is a detach key, V8's detach in grow() would abort the process; a
    // RangeError (what grow() throws when it cannot grow) is what a JS caller can handle
    wrapMethod(proto, 'grow', (grow) =>
      function (this: unknown, ...args: unknown[]): unknown {
        const b = get.call(this) as ArrayBuffer;
        if (typeof b === 'object' && b !== null && bases.has(b) && !wasmBuffers.has(b) && marksAreDetachKeys())
          throw new RangeError(
            "WebAssembly.Memory.grow(): ringflow lent this memory's buffer to io_uring before it knew it for a wasm memory's (the buffer was read before ringflow was imported) and marked it untransferable, which on this Node means it cannot be detached; read memory.buffer once after importing ringflow, before lending it",
          );
        return grow.apply(this, args);
      },
    );
  }
  wrapMethod(proto, 'toFixedLengthBuffer', (f) =>
    function (this: unknown, ...args: unknown[]): unknown {
      return noted(f.apply(this, args));
    },
  );
})();

/**
 * Makes ArrayBuffer.prototype.transfer() and transferToFixedLength() refuse the buffers lent to
 * the kernel, on runtimes whose own transfer() detaches a buffer marked untransferable (Node 22;
 * found by trying it on a probe buffer, not by version). Elsewhere it changes nothing.
 *
 * ArrayBuffer.prototype may be shared by several copies of ringflow: the ES module and the
 * CommonJS build in one process, or one copy per test file under Jest, which hands every test
 * file's vm context the process's ArrayBuffer. The first copy installs the guard and every copy
 * adds its own test to it, held weakly; the guard is made by the realm's own Function, so it holds
 * nothing of the copy that made it. (A guard per copy, each wrapping the last, kept every copy alive
 * and with it each Jest test file's context and default ring: 2026-11-28.)
 */
function guardTransfer(): void {
  transferGuarded = true;
  if (typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer !== 'function') return; // no transfer() (Node 20)
  if (marksAreDetachKeys()) return; // the runtime refuses it itself
  for (const name of ['transfer', 'transferToFixedLength']) {
    const add = (ArrayBuffer.prototype as unknown as Record<string, Record<symbol, unknown> | undefined>)[name]?.[GUARD_ADD];
    if (typeof add === 'function') add(isLent); // another copy's guard
    else
      wrapMethod(ArrayBuffer.prototype, name, (original) => {
        const made = makeTransferGuard(original, name);
        made.add(isLent);
        return made.guard;
      });
  }
}

/** Lent to the kernel by this copy of ringflow (the test each copy adds to the shared guard). */
const isLent = (ab: unknown): boolean => typeof ab === 'object' && ab !== null && (bases.has(ab as ArrayBuffer) || nativelyOwned(ab as ArrayBuffer));

/** The key of the guard's add(test), on the guarded methods (Symbol.for: the same in every copy and realm). */
const GUARD_ADD = Symbol.for('ringflow.transferGuard.add');

interface TransferGuard {
  guard: Method;
  add(test: (ab: unknown) => boolean): void;
}

/**
 * The guard of `original` (transfer or transferToFixedLength): it throws a TypeError for a buffer
 * any added test says is lent, else calls `original`. Its source runs in the realm of `original`'s
 * own Function (no closure over this module); where code generation from strings is refused
 * (--disallow-code-generation-from-strings), a closure here is the guard and keeps this copy alive.
 */
function makeTransferGuard(original: Method, name: string): TransferGuard {
  const message = `ArrayBuffer is not detachable: ringflow lent its memory to io_uring (${name}() would move or free it under the kernel)`;
  try {
    const RealmFunction = original.constructor as FunctionConstructor;
    return new RealmFunction('original', 'message', 'key', GUARD_SOURCE)(original, message, GUARD_ADD) as TransferGuard;
  } catch {
    const tests: WeakRef<(ab: unknown) => boolean>[] = [];
    const guard = function (this: unknown, ...args: unknown[]): unknown {
      for (const t of tests) if (t.deref()?.(this)) throw new TypeError(message);
      return original.apply(this, args);
    };
    const add = (test: (ab: unknown) => boolean): void => {
      // (as GUARD_SOURCE's: the tests of collected copies go, so one per live copy is kept)
      for (let i = tests.length - 1; i >= 0; i--) if (tests[i]!.deref() === undefined) tests.splice(i, 1);
      tests.push(new WeakRef(test));
    };
    Object.defineProperty(guard, GUARD_ADD, { value: add });
    return { guard, add };
  }
}

/** makeTransferGuard's guard, as source for the realm's Function (arguments: original, message, key; wrapMethod names it). */
const GUARD_SOURCE = `
  const tests = [];
  const apply = Reflect.apply;
  const guard = function (...args) {
    for (let i = 0; i < tests.length; i++) {
      const test = tests[i].deref();
      if (test !== undefined && test(this)) throw new TypeError(message);
    }
    return apply(original, this, args);
  };
  const add = (test) => {
    for (let i = tests.length - 1; i >= 0; i--) if (tests[i].deref() === undefined) tests.splice(i, 1);
    tests.push(new WeakRef(test));
  };
  Object.defineProperty(guard, key, { value: add });
  return { guard, add };
`;

/**
 * Records the base address of an ArrayBuffer ringflow made over native memory it owns
 * (src/buffers/native-memory.ts: the address is known when it is made), so that handing it to the
 * kernel asks native code for nothing. nativelyOwned() says yes for it: not marked untransferable.
 */
export function noteNativeBase(ab: ArrayBuffer, base: number): void {
  new NativeStamp(ab, base);
}

/** Address of the first byte of a view. */
export function viewAddress(view: ArrayBufferView): number {
  return bufferAddress(view.buffer) + view.byteOffset;
}

/** Is this a detached ArrayBuffer (transferred away)? Its memory must not be handed to the kernel. */
export function isDetached(ab: ArrayBufferLike): boolean {
  if (isSharedArrayBuffer(ab)) return false; // never detached
  // `detached` exists from Node 22; before, a detached buffer reports byteLength 0 and refuses views.
  if (abDetached !== undefined) return abDetached.call(ab) as boolean;
  if (abByteLength.call(ab) !== 0) return false;
  try {
    new Uint8Array(ab);
    return false;
  } catch {
    return true;
  }
}

/** Is this a resizable ArrayBuffer (`new ArrayBuffer(n, { maxByteLength })`)? It can shrink under the kernel. */
export function isResizable(ab: ArrayBufferLike): boolean {
  return !isSharedArrayBuffer(ab) && abResizable !== undefined && abResizable.call(ab) === true;
}

/** Why the memory of `ab` cannot be lent to the kernel, or undefined when it can. */
export function refusalOf(ab: ArrayBufferLike): string | undefined {
  if (isDetached(ab)) return 'is a detached ArrayBuffer (transferred away; it has no memory left)';
  if (isResizable(ab))
    return 'is a resizable ArrayBuffer (or a view over one): it could shrink while the kernel uses it; pass a fixed-length buffer or a SharedArrayBuffer';
  return undefined;
}

/** A byte range of one buffer: what a buffer argument names. */
export interface ByteSpan {
  buffer: ArrayBuffer | SharedArrayBuffer;
  offset: number;
  length: number;
}

/** Address of a span's first byte. */
export function spanAddress(s: ByteSpan): number {
  return bufferAddress(s.buffer) + s.offset;
}
