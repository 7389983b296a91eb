/**
 * Arrays of file descriptors for the registered file table (io_uring_register FILES2 /
 * FILES_UPDATE2 and IORING_OP_FILES_UPDATE): a __s32 array where -1 is an empty slot and
 * IORING_REGISTER_FILES_SKIP (-2, 5.12) leaves a slot as it is (updates only).
 */
import { describeValue as describe } from '../errors.js';
import { types } from 'node:util';
import { FixedFile, type Sqe } from './sqe.js';
import { viewAddress } from '../ring/memory.js';

/** IORING_REGISTER_FILES_SKIP: in an update, leaves the slot as it is. */
export const FILES_SKIP = -2;
/** IORING_FILE_INDEX_ALLOC (~0U, 5.19): the kernel picks a free slot. */
export const FILE_INDEX_ALLOC = 0xffffffff;
/** IORING_MAX_FIXED_FILES (io_uring/rsrc.h, 6.18): the most slots a table has. */
export const MAX_FIXED_FILES = 1 << 20;

/** What an entry of an fd list may be. */
export type FdEntry = number | null;

/**
 * Validates an fd list (`allowSkip`: FILES_SKIP is accepted, for updates) and encodes it as the
 * __s32 array the kernel reads. Holes (null, -1) become -1.
 */
export function fdArray(what: () => string, v: unknown, allowSkip: boolean): Int32Array {
  if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<unknown>).length !== 'number' || typeof v === 'string' || types.isAnyArrayBuffer(v))
    throw new TypeError(`${what()} must be an array of fds (null or -1 for an empty slot${allowSkip ? ', FILES_SKIP (-2) to leave one' : ''}), got ${describe(v)}`);
  const list = v as ArrayLike<unknown>;
  const n = list.length;
  if (!Number.isInteger(n) || n < 1 || n > MAX_FIXED_FILES)
    throw new RangeError(`${what()} must hold 1 to ${MAX_FIXED_FILES} entries (IORING_MAX_FIXED_FILES), got ${describe(n)}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const e = list[i];
    if (e === null) {
      out[i] = -1;
      continue;
    }
    if (typeof e !== 'number' || !Number.isInteger(e)) throw new TypeError(`${what()}[${i}] must be an fd (integer), null or -1, got ${describe(e)}`);
    if (e > 0x7fffffff || e < -1 && !(allowSkip && e === FILES_SKIP))
      throw new RangeError(`${what()}[${i}] must be an fd in [0, 2147483647]${allowSkip ? ', -1 (empty) or FILES_SKIP (-2)' : ' or -1 (empty)'}, got ${describe(e)}`);
    out[i] = e;
  }
  return out;
}

/** The fd list an Sqe was built with (FILES_UPDATE): for its later parameters and ring.files. */
const lists = new WeakMap<object, Int32Array>();
export function rememberFdList(sqe: object, list: Int32Array): void {
  lists.set(sqe, list);
}
export function fdListOf(sqe: object): Int32Array | undefined {
  return lists.get(sqe);
}

/**
 * Encodes a builder argument of kind 'direct' (file_index = slot + 1, or IORING_FILE_INDEX_ALLOC;
 * the request then resolves the FixedFile), 'slotOffset' (a slot or ALLOC) or 'fdList' (a __s32
 * array, len = its count). `set` writes the parameter's SQE field.
 */
export function applySlotParam(kind: 'direct' | 'slotOffset' | 'fdList', s: Sqe, w: () => string, v: unknown, set: (x: number) => void): void {
  if (kind === 'fdList') {
    const fds = fdArray(w, v, true);
    set(viewAddress(fds));
    s.len = fds.length;
    s.hold(fds.buffer);
    rememberFdList(s, fds);
    return;
  }
  let slot: number;
  if (v === 'auto') slot = FILE_INDEX_ALLOC;
  else if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be a slot number or 'auto', got ${describe(v)}`);
  else if (v < 0 || v >= MAX_FIXED_FILES) throw new RangeError(`${w()} must be in [0, ${MAX_FIXED_FILES - 1}] or 'auto', got ${describe(v)}`);
  else slot = v;
  if (kind === 'direct') {
    // file_index is 1-based; with IORING_FILE_INDEX_ALLOC the kernel's res is the slot it picked
    s.fileIndex = v === 'auto' ? FILE_INDEX_ALLOC : slot + 1;
    s.parse = v === 'auto' ? (res) => new FixedFile(res) : () => new FixedFile(slot);
    return;
  }
  set(slot);
  // with IORING_FILE_INDEX_ALLOC the kernel writes the slots it picked over the fd list (an
  // earlier parameter): the promise resolves them
  const fds = fdListOf(s);
  if (v === 'auto' && fds) s.parse = (res) => Array.from(fds.subarray(0, res));
}
