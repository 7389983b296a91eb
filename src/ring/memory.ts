/**
 * Addresses of JS memory for SQE fields. An ArrayBuffer's backing store never moves in V8,
 * so its base address is asked of native code once and cached per ArrayBuffer (Node's pooled
 * small Buffers share one, so the cache hits for them too).
 */
import { binding } from '../native.js';

const bases = new WeakMap<ArrayBufferLike, number>();

/** Base address of an ArrayBuffer or SharedArrayBuffer (cached). */
export function bufferAddress(ab: ArrayBufferLike): number {
  let base = bases.get(ab);
  if (base === undefined) {
    base = binding.addressOf(ab) as number;
    if (base < 0) throw new TypeError('ringflow: cannot take the address of this buffer');
    bases.set(ab, base);
  }
  return base;
}

/** Address of the first byte of a view. */
export function viewAddress(view: ArrayBufferView): number {
  return bufferAddress(view.buffer) + view.byteOffset;
}

/** Is this a detached ArrayBuffer (transferred away)? Its memory must not be handed to the kernel. */
export function isDetached(ab: ArrayBufferLike): boolean {
  // A detached buffer reports byteLength 0; `detached` exists on Node >= 22.
  const d = (ab as { detached?: boolean }).detached;
  if (d !== undefined) return d;
  if (ab.byteLength !== 0) return false;
  try {
    new Uint8Array(ab);
    return false;
  } catch {
    return true;
  }
}
