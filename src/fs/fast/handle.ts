/**
 * What the ring-backed streams need of a FileHandle: its descriptor, the ring its I/O goes
 * through, and its close(). fs-core's FileHandle is one; so is `{ fd, ring, close }` made by hand.
 */
import type { Ring } from '../../ring/ring.js';

export interface RingFileHandle {
  /** The process descriptor (a FileHandle's `fd`). */
  readonly fd: number;
  /** The ring the stream's reads and writes go through. */
  readonly ring: Ring;
  /** Closes the handle (the stream calls it when it closes with autoClose, or on destroy()). */
  close(): Promise<void>;
  /** A FileHandle emits 'close' when it is closed; the stream then closes too (as Node's do). */
  on?(event: 'close', listener: () => void): unknown;
  off?(event: 'close', listener: () => void): unknown;
}

/** Turns a kernel error of a stream's I/O into what the stream emits (fs-core passes Node's converter). */
export type StreamErrorMapper = (err: unknown, syscall: 'read' | 'write' | 'close' | 'fsync') => unknown;

/** Node's validateInteger for start/end: ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE. */
export function checkPosition(name: string, v: unknown, min = 0): number {
  if (typeof v !== 'number') {
    const e = new TypeError(`The "${name}" argument must be of type number.${describeReceived(v)}`) as TypeError & { code: string };
    e.code = 'ERR_INVALID_ARG_TYPE';
    throw e;
  }
  if (!Number.isInteger(v) || v < min || v > Number.MAX_SAFE_INTEGER) {
    const e = new RangeError(
      `The value of "${name}" is out of range. ${Number.isInteger(v) ? `It must be >= ${min} && <= ${Number.MAX_SAFE_INTEGER}` : 'It must be an integer'}. Received ${formatNumber(v)}`,
    ) as RangeError & { code: string };
    e.code = 'ERR_OUT_OF_RANGE';
    throw e;
  }
  return v;
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v) || Math.abs(v) < 1000) return String(v);
  // Node's addNumericalSeparator: 1_000_000
  const s = String(Math.trunc(Math.abs(v)));
  let out = '';
  for (let i = s.length; i > 0; i -= 3) out = (i - 3 > 0 ? '_' : '') + s.slice(Math.max(0, i - 3), i) + out;
  return (v < 0 ? '-' : '') + out;
}

function describeReceived(v: unknown): string {
  if (v == null) return ` Received ${String(v)}`;
  if (typeof v === 'function') return ` Received function ${(v as { name?: string }).name || '<anonymous>'}`;
  if (typeof v === 'object') {
    const name = (v as { constructor?: { name?: string } }).constructor?.name;
    return name ? ` Received an instance of ${name}` : ' Received [object Object]';
  }
  let shown = String(v).slice(0, 25);
  if (String(v).length > 25) shown += '...';
  if (typeof v === 'string') shown = `'${shown}'`;
  return ` Received type ${typeof v} (${shown})`;
}
