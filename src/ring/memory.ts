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
import { markAsUntransferable } from 'node:worker_threads';
import { binding } from '../native.js';

const bases = new WeakMap<ArrayBufferLike, number>();

/**
 * ArrayBuffers over memory ringflow allocated natively and reference counts (registered buffers,
 * buffer groups: src/buffers/native-memory.ts): a transfer() moves the same memory, which stays
 * valid, so they are not marked here (on Node 24+ a mark is a V8 detach key, after which neither
 * ringflow's own detach nor Node's teardown of a worker can detach them: a fatal error).
 */
export const nativelyOwned = new WeakSet<ArrayBuffer>();

const hasSab = typeof SharedArrayBuffer !== 'undefined';

/** Is `v` a SharedArrayBuffer (growable or not)? */
export function isSharedArrayBuffer(v: unknown): v is SharedArrayBuffer {
  return hasSab && v instanceof SharedArrayBuffer;
}

/**
 * The cached base address of an ArrayBuffer ringflow has handed to the kernel before, when it can
 * neither move nor shrink since (marked untransferable, not resizable: checked when it was cached;
 * not natively owned memory, which ringflow detaches on release); undefined otherwise. The builders'
 * fast path (src/ops/build-plan.ts) takes a view over such a buffer without the checks again.
 */
export function knownBase(ab: ArrayBufferLike): number | undefined {
  const base = bases.get(ab);
  if (base === undefined || nativelyOwned.has(ab as ArrayBuffer) || isSharedArrayBuffer(ab)) return undefined;
  return base;
}

/** Base address of an ArrayBuffer or SharedArrayBuffer (cached). */
export function bufferAddress(ab: ArrayBufferLike): number {
  let base = bases.get(ab);
  if (base === undefined) {
    // Node-API has no SharedArrayBuffer accessor; a view's data pointer is the buffer's base.
    base = binding.addressOf(isSharedArrayBuffer(ab) ? new Uint8Array(ab, 0, 0) : ab) as number;
    if (base < 0) throw new TypeError('ringflow: cannot take the address of this buffer');
    // A zero-length buffer may have no memory yet (address 0): ask again next time.
    if (base !== 0) {
      if (!isSharedArrayBuffer(ab) && !nativelyOwned.has(ab as ArrayBuffer)) {
        markAsUntransferable(ab);
        if (!transferGuarded) guardTransfer();
      }
      bases.set(ab, base);
    }
  }
  return base;
}

let transferGuarded = false;

/**
 * Makes ArrayBuffer.prototype.transfer() and transferToFixedLength() refuse the buffers lent to
 * the kernel, on runtimes whose own transfer() detaches a buffer marked untransferable (Node 22;
 * found by trying it on a probe buffer, not by version). Elsewhere it changes nothing.
 */
function guardTransfer(): void {
  transferGuarded = true;
  const proto = ArrayBuffer.prototype as unknown as Record<string, unknown>;
  const transfer = proto.transfer as ((this: ArrayBuffer, n?: number) => ArrayBuffer) | undefined;
  if (typeof transfer !== 'function') return; // no transfer() (Node 20)
  const probe = new ArrayBuffer(8);
  markAsUntransferable(probe);
  try {
    transfer.call(probe);
  } catch {
    return; // the runtime refuses it itself
  }
  for (const name of ['transfer', 'transferToFixedLength']) {
    const original = proto[name] as ((this: ArrayBuffer, ...a: unknown[]) => ArrayBuffer) | undefined;
    const desc = Object.getOwnPropertyDescriptor(proto, name);
    if (typeof original !== 'function' || !desc) continue;
    const guarded = {
      [name](this: ArrayBuffer, ...args: unknown[]): ArrayBuffer {
        if (bases.has(this)) throw new TypeError(`ArrayBuffer is not detachable: ringflow lent its memory to io_uring (${name}() would move or free it under the kernel)`);
        return original.apply(this, args);
      },
    }[name]!;
    Object.defineProperty(guarded, 'length', { value: original.length });
    Object.defineProperty(proto, name, { ...desc, value: guarded });
  }
}

/** Address of the first byte of a view. */
export function viewAddress(view: ArrayBufferView): number {
  return bufferAddress(view.buffer) + view.byteOffset;
}

/** Is this a detached ArrayBuffer (transferred away)? Its memory must not be handed to the kernel. */
export function isDetached(ab: ArrayBufferLike): boolean {
  // `detached` exists from Node 22; before, a detached buffer reports byteLength 0 and refuses views.
  const d = (ab as { detached?: boolean }).detached;
  if (d !== undefined) return d;
  if (ab.byteLength !== 0 || isSharedArrayBuffer(ab)) return false;
  try {
    new Uint8Array(ab);
    return false;
  } catch {
    return true;
  }
}

/** Is this a resizable ArrayBuffer (`new ArrayBuffer(n, { maxByteLength })`)? It can shrink under the kernel. */
export function isResizable(ab: ArrayBufferLike): boolean {
  return !isSharedArrayBuffer(ab) && (ab as { resizable?: boolean }).resizable === true;
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
