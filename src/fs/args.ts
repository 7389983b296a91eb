/**
 * Argument normalisation for ringflow/fs, with Node's validators' rules and errors
 * (lib/internal/validators.js, lib/internal/fs/utils.js): paths as string/Buffer/URL, flags as
 * strings or numbers, modes as numbers or octal strings, options objects, encodings, signals,
 * buffers, offsets, lengths and positions.
 */
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import { constants } from 'node:fs';
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js';

export type Path = string | Buffer;
export type PathArg = string | Buffer | URL;

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_SYNC } = constants;

/** Node's stringToFlags table. */
const FLAGS: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

/** A WHATWG URL (or a look-alike, as Node's isURL accepts). */
function isURL(v: unknown): v is URL {
  return v instanceof URL || (v != null && typeof v === 'object' && (v as URL).href !== undefined && (v as URL).protocol !== undefined && (v as { auth?: unknown }).auth === undefined && (v as { path?: unknown }).path === undefined);
}

/** Node's getValidatedPath: a file: URL becomes its path; a string or Uint8Array without NUL bytes passes. */
export function validatedPath(value: unknown, name = 'path'): Path {
  const p = isURL(value) ? fileURLToPath(value) : value;
  if (typeof p !== 'string' && !types.isUint8Array(p)) throw invalidArgType(name, ['string', 'Buffer', 'URL'], p);
  if (typeof p === 'string' ? p.includes('\u0000') : (p as Uint8Array).includes(0))
    throw invalidArgValue(name, p, 'must be a string, Uint8Array, or URL without null bytes');
  return typeof p === 'string' || Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

export function validateInteger(value: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

export function validateInt32(value: unknown, name: string, min = -2147483648, max = 2147483647): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

export function validateUint32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 0 || value > 4294967295) throw outOfRange(name, '>= 0 && <= 4294967295', value);
  return value;
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'boolean', value);
  return value;
}

/** Node's validateObject: `nullable` allows null (kValidateObjectAllowNullable); arrays and functions are refused. */
export function validateObject(value: unknown, name: string, nullable = false): void {
  if ((!nullable && value === null) || Array.isArray(value) || typeof value !== 'object') throw invalidArgType(name, 'Object', value);
}

export function validateAbortSignal(signal: unknown, name: string): AbortSignal | undefined {
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) throw invalidArgType(name, 'AbortSignal', signal);
  return signal as AbortSignal | undefined;
}

/** Node's stringToFlags: O_* flags from 'r', 'w+', 'ax', … or an int32; null/undefined = O_RDONLY. */
export function flagsOf(flags: unknown, name = 'flags'): number {
  if (typeof flags === 'number') return validateInt32(flags, name);
  if (flags == null) return O_RDONLY;
  if (typeof flags === 'string' && Object.hasOwn(FLAGS, flags)) return FLAGS[flags];
  throw invalidArgValue('flags', flags);
}

/** Node's parseFileMode: a uint32 or an octal string; `def` when undefined/null. */
export function modeOf(value: unknown, name: string, def?: number): number {
  value ??= def;
  if (typeof value === 'string') {
    if (!/^[0-7]+$/.test(value)) throw invalidArgValue(name, value, 'must be a 32-bit unsigned integer or an octal string');
    value = Number.parseInt(value, 8);
  }
  return validateUint32(value, name);
}

export function assertEncoding(encoding: unknown): void {
  if (encoding && !Buffer.isEncoding(encoding as string)) throw invalidArgValue('encoding', encoding, 'is invalid encoding');
}

export interface FsOptions {
  encoding?: BufferEncoding | 'buffer' | null;
  flag?: string | number;
  mode?: number | string;
  signal?: AbortSignal;
  flush?: boolean;
  bigint?: boolean;
  throwIfNoEntry?: boolean;
  recursive?: boolean;
  [k: string]: unknown;
}

/** Node's getOptions: a string is the encoding; null/undefined/a function give `defaults`; objects are used as given. */
export function optionsOf(options: unknown, defaults: FsOptions = {}): FsOptions {
  if (options == null || typeof options === 'function') return defaults;
  let o: FsOptions;
  if (typeof options === 'string') o = { ...defaults, encoding: options as BufferEncoding };
  else if (typeof options !== 'object') throw invalidArgType('options', ['string', 'Object'], options);
  else o = options as FsOptions;
  if (o.encoding !== 'buffer') assertEncoding(o.encoding);
  if (o.signal !== undefined) validateAbortSignal(o.signal, 'options.signal');
  return o;
}

export function validateBuffer(buffer: unknown, name = 'buffer'): asserts buffer is ArrayBufferView {
  if (!ArrayBuffer.isView(buffer)) throw invalidArgType(name, ['Buffer', 'TypedArray', 'DataView'], buffer);
}

export function validateBufferArray(buffers: unknown, name = 'buffers'): ArrayBufferView[] {
  if (!Array.isArray(buffers)) throw invalidArgType(name, 'ArrayBufferView[]', buffers);
  for (const b of buffers) if (!ArrayBuffer.isView(b)) throw invalidArgType(name, 'ArrayBufferView[]', buffers);
  return buffers;
}

export function validateOffsetLengthRead(offset: number, length: number, bufferLength: number): void {
  if (offset < 0) throw outOfRange('offset', '>= 0', offset);
  if (length < 0) throw outOfRange('length', '>= 0', length);
  if (offset + length > bufferLength) throw outOfRange('length', `<= ${bufferLength - offset}`, length);
}

export function validateOffsetLengthWrite(offset: number, length: number, byteLength: number): void {
  if (offset > byteLength) throw outOfRange('offset', `<= ${byteLength}`, offset);
  if (length > byteLength - offset) throw outOfRange('length', `<= ${byteLength - offset}`, length);
  if (length < 0) throw outOfRange('length', '>= 0', length);
  validateInt32(length, 'length', 0);
}

/** Node's validatePosition: an integer ≥ -1 or a bigint in [-1, 2^63 - 1 - length]. */
export function validatePosition(position: unknown, name: string, length: number): number | bigint {
  if (typeof position === 'number') return validateInteger(position, name, -1);
  if (typeof position === 'bigint') {
    const max = 2n ** 63n - 1n - BigInt(length);
    if (!(position >= -1n && position <= max)) throw outOfRange(name, `>= -1 && <= ${max}`, position);
    return position;
  }
  throw invalidArgType(name, ['integer', 'bigint'], position);
}

/** Node's validateStringAfterArrayBufferView. */
export function validateStringAfterView(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, ['string', 'Buffer', 'TypedArray', 'DataView'], value);
}

/** A Uint8Array over any ArrayBufferView's bytes (what the ring reads into / writes from). */
export const bytesOf = (v: ArrayBufferView): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
