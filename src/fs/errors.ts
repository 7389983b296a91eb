/**
 * Node-style errors for ringflow/fs: system errors in the shape node:fs/promises gives them
 * (`ENOENT: no such file or directory, open '/x'` with errno < 0, code, syscall, path, dest) and
 * the validation errors of Node's internal/errors (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE,
 * ERR_OUT_OF_RANGE, ABORT_ERR) with Node's message text, class and `code`.
 */
import { getSystemErrorMap, inspect } from 'node:util';
import { RingError } from '../errors.js';
import { PATH_TOO_LONG } from '../ops/build.js';

/** ENAMETOOLONG (asm-generic/errno-base.h). */
const ENAMETOOLONG = 36;

type PathLike = string | Uint8Array | undefined;

const systemErrors = getSystemErrorMap(); // negative errno → [code, libuv's description]

/** libuv's code and description for a (positive or negative) errno: the words Node puts in its messages. */
function describeErrno(errno: number): [string, string] {
  return systemErrors.get(-Math.abs(errno)) ?? ['UNKNOWN', 'unknown error'];
}

const pathText = (p: PathLike): string => (typeof p === 'string' ? p : Buffer.from(p!.buffer, p!.byteOffset, p!.byteLength).toString());

/** A system error as node:fs/promises throws it: plain Error, message `${code}: ${desc}, ${syscall} '${path}' -> '${dest}'`. */
export type SystemError = NodeJS.ErrnoException & { dest?: string };

export function errnoError(errno: number, syscall: string, path?: PathLike, dest?: PathLike): SystemError {
  const [code, desc] = describeErrno(errno);
  let message = `${code}: ${desc}, ${syscall}`;
  const p = path !== undefined ? pathText(path) : undefined;
  const d = dest !== undefined ? pathText(dest) : undefined;
  if (p !== undefined) message += ` '${p}'`;
  if (d !== undefined) message += ` -> '${d}'`;
  const e = new Error(message) as SystemError;
  e.errno = -Math.abs(errno);
  e.code = code;
  e.syscall = syscall;
  if (p !== undefined) e.path = p;
  if (d !== undefined) e.dest = d;
  return e;
}

/**
 * The converter fs-fast and fs-core share: a RingError from the ring (or anything else thrown on
 * the way) → the error node:fs/promises would throw for `syscall` on `path` (and `dest`).
 * Non-RingErrors (AbortError, validation errors, RingClosedError) pass through unchanged, except
 * an abort, which becomes Node's AbortError shape.
 */
export function nodeError(err: unknown, syscall: string, path?: PathLike, dest?: PathLike): Error {
  if (err instanceof RingError) return errnoError(err.errno, syscall, path, dest);
  // a path the kernel would refuse for its length: its ENAMETOOLONG, as node's call gets it
  if (err instanceof RangeError && (err as RangeError & { [PATH_TOO_LONG]?: boolean })[PATH_TOO_LONG] === true) return errnoError(ENAMETOOLONG, syscall, path, dest);
  if (err instanceof Error && err.name === 'AbortError' && !(err instanceof AbortError)) return new AbortError(undefined, { cause: err.cause });
  return err as Error;
}

/** Node's AbortError (internal/errors): name 'AbortError', code 'ABORT_ERR', cause = the signal's reason. */
export class AbortError extends Error {
  code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** The AbortError Node throws for an aborted signal. */
export const abortedBy = (signal: AbortSignal): AbortError => new AbortError(undefined, { cause: signal.reason });

/** Throws Node's AbortError when `signal` is aborted (node's checkAborted). */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedBy(signal);
}

/** The error a FileHandle method gives once the handle is closed (node's fsCall). */
export function fileClosedError(syscall: string): NodeJS.ErrnoException {
  const e = new Error('file closed') as NodeJS.ErrnoException;
  e.code = 'EBADF';
  e.syscall = syscall;
  return e;
}

/** A Node internal error: `Base` instance with `code`, the stack headed `${Base.name} [${code}]: …` as Node's are. */
function nodeInternalError<E extends Error>(Base: new (message: string) => E, code: string, message: string): E & { code: string } {
  const e = new Base(message) as E & { code: string };
  // Node puts the code into the stack's first line by naming the error for the moment the stack is formatted
  Object.defineProperty(e, 'name', { value: `${Base.name} [${code}]`, configurable: true, writable: true, enumerable: false });
  void e.stack;
  delete (e as { name?: string }).name;
  e.code = code;
  return e;
}

const kTypes = ['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol'];
const classRegExp = /^([A-Z][a-z0-9]*)+$/;

/** Node's determineSpecificType: how "Received …" names a value. */
function receivedType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${(value as { name: string }).name}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: string } }).constructor;
    if (ctor?.name) return `an instance of ${ctor.name}`;
    return inspect(value, { depth: -1 });
  }
  let inspected = inspect(value, { colors: false });
  if (inspected.length > 28) inspected = `${inspected.slice(0, 25)}...`;
  return `type ${typeof value} (${inspected})`;
}

function listOf(items: string[], lead: string, pair: string): string {
  if (items.length > 2) return `${lead}${items.slice(0, -1).join(', ')}, or ${items[items.length - 1]}`;
  if (items.length === 2) return `${pair}${items[0]} or ${items[1]}`;
  return `${items[0]}`;
}

/** ERR_INVALID_ARG_TYPE (TypeError). `expected`: type names ('string'), classes ('Buffer'), or other words ('ArrayBufferView[]'). */
export function invalidArgType(name: string, expected: string | string[], actual: unknown): TypeError & { code: string } {
  const list = Array.isArray(expected) ? expected : [expected];
  let msg = 'The ';
  msg += name.endsWith(' argument') ? `${name} ` : `"${name}" ${name.includes('.') ? 'property' : 'argument'} `;
  msg += 'must be ';
  const types: string[] = [];
  const instances: string[] = [];
  const other: string[] = [];
  for (const v of list) {
    if (kTypes.includes(v)) types.push(v.toLowerCase());
    else if (classRegExp.test(v)) instances.push(v);
    else other.push(v);
  }
  if (instances.length > 0 && types.includes('object')) {
    types.splice(types.indexOf('object'), 1);
    instances.push('Object');
  }
  if (types.length > 0) {
    msg += types.length > 2 ? listOf(types, 'one of type ', '') : types.length === 2 ? `one of type ${types[0]} or ${types[1]}` : `of type ${types[0]}`;
    if (instances.length > 0 || other.length > 0) msg += ' or ';
  }
  if (instances.length > 0) {
    msg += instances.length > 2 ? listOf(instances, 'an instance of ', '') : `an instance of ${instances[0]}${instances.length === 2 ? ` or ${instances[1]}` : ''}`;
    if (other.length > 0) msg += ' or ';
  }
  if (other.length > 0) {
    if (other.length > 2) msg += listOf(other, 'one of ', '');
    else if (other.length === 2) msg += `one of ${other[0]} or ${other[1]}`;
    else msg += `${other[0].toLowerCase() !== other[0] ? 'an ' : ''}${other[0]}`;
  }
  msg += `. Received ${receivedType(actual)}`;
  return nodeInternalError(TypeError, 'ERR_INVALID_ARG_TYPE', msg);
}

/** ERR_INVALID_ARG_VALUE (TypeError): `The argument 'name' ${reason}. Received ${inspect(value)}`. */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): TypeError & { code: string } {
  let inspected = inspect(value);
  if (inspected.length > 128) inspected = `${inspected.slice(0, 128)}...`;
  return nodeInternalError(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. Received ${inspected}`);
}

/** Node's addNumericalSeparator: 4294967296 → 4_294_967_296. */
function withSeparators(text: string): string {
  let res = '';
  let i = text.length;
  const start = text[0] === '-' ? 1 : 0;
  for (; i >= start + 4; i -= 3) res = `_${text.slice(i - 3, i)}${res}`;
  return `${text.slice(0, i)}${res}`;
}

/** ERR_OUT_OF_RANGE (RangeError): `The value of "name" is out of range. It must be ${range}. Received …`. */
export function outOfRange(name: string, range: string, input: unknown): RangeError & { code: string } {
  let received: string;
  if (Number.isInteger(input) && Math.abs(input as number) > 2 ** 32) received = withSeparators(String(input));
  else if (typeof input === 'bigint') {
    received = String(input);
    if (input > 2n ** 32n || input < -(2n ** 32n)) received = withSeparators(received);
    received += 'n';
  } else received = inspect(input);
  return nodeInternalError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${received}`);
}

/** ERR_FS_FILE_TOO_LARGE (RangeError). */
export function fileTooLarge(size: number): RangeError & { code: string } {
  return nodeInternalError(RangeError, 'ERR_FS_FILE_TOO_LARGE', `File size (${size}) is greater than 2 GiB`);
}

/** ERR_INVALID_STATE (Error). */
export function invalidState(message: string): Error & { code: string } {
  return nodeInternalError(Error, 'ERR_INVALID_STATE', `Invalid state: ${message}`);
}
