/**
 * What a completion program is given (docs/security.md): the program policy (src/ops/policy.ts)
 * loaded into a ring's engine, the directories it may open files beneath (ring.allowDir), the
 * process fds it may name (ring.allowFd, held as the engine's own dups), and a dry run of the
 * policy on one SQE (ring.checkProgramSqe). Ring's methods delegate here.
 */
import { binding } from '../native.js';
import { RingError } from '../errors.js';
import { programPolicy } from '../ops/policy.js';

/** Loads the program policy into a ring's engine (once, when the engine is enabled). */
export function attachPolicy(handle: unknown): void {
  const r = binding.policyLoad(handle, programPolicy().bytes) as number;
  if (r < 0) throw new RingError(r, 'engine', { detail: 'loading the program policy' });
}

/** Options of ring.allowDir(). */
export interface DirGrantOptions {
  /** Programs may also create, write, truncate and append beneath it (default false: read only). */
  write?: boolean;
}

/**
 * Grants programs the files beneath directory `path`: ringflow opens it O_PATH | O_DIRECTORY (the
 * ring owns that fd and closes it with the ring) and returns the fd; a program's OPENAT/OPENAT2
 * naming it as dirfd is resolved beneath it (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV) with the open flags the grant permits.
 */
export function allowDir(handle: unknown, path: unknown, options: unknown = {}): number {
  let bytes: Buffer;
  if (typeof path === 'string') bytes = Buffer.from(path, 'utf8');
  else if (Buffer.isBuffer(path)) bytes = path;
  else throw new TypeError(`allowDir(path): path must be a string or Buffer, got ${path === null ? 'null' : typeof path}`);
  if (bytes.length === 0) throw new RangeError('allowDir(path): path is empty');
  if (bytes.includes(0)) throw new RangeError('allowDir(path): path contains a NUL byte');
  if (bytes.length >= 4096) throw new RangeError(`allowDir(path): path is ${bytes.length} bytes; PATH_MAX is 4096 with its NUL`);
  if (options === null || typeof options !== 'object') throw new TypeError('allowDir(path, options): options must be an object');
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'write') throw new TypeError(`allowDir(): unknown option "${k}" (accepted: write)`);
  if (o['write'] !== undefined && typeof o['write'] !== 'boolean') throw new TypeError(`allowDir(): option "write" must be a boolean, got ${typeof o['write']}`);
  const r = binding.policyGrantDir(handle, Buffer.concat([bytes, Buffer.from([0])]), o['write'] === true) as number;
  if (r < 0) throw new RingError(r, 'open', { detail: `allowDir(${typeof path === 'string' ? JSON.stringify(path) : 'Buffer'})` });
  return r;
}

/** Checks allowFd's fd argument. */
export function checkFd(fd: unknown): asserts fd is number {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd >= 1 << 22)
    throw new RangeError(`allowFd(fd): fd must be an integer in [0, 2^22), got ${String(fd)}`);
}

/**
 * Lets programs name process fd `fd` (allow false: takes it back). The engine keeps its own dup of
 * the file, so a program naming `fd` reaches the file it was given even after JS closes `fd` and
 * the number is reused; the dup is closed with the ring.
 */
export function allowFd(handle: unknown, fd: unknown, allow: unknown): void {
  checkFd(fd);
  if (typeof allow !== 'boolean') throw new TypeError(`allowFd(fd, allow): allow must be a boolean, got ${typeof allow}`);
  const r = binding.policyAllowFd(handle, fd, allow) as number;
  if (r === -16)
    throw new RingError(r, 'engine', { detail: `allowFd(${fd}, ${allow}): fd ${fd} is one completion programs opened or accepted themselves; it is theirs until their CLOSE of it, or the ring's close` });
  if (r < 0) throw new RingError(r, 'fcntl', { detail: `allowFd(${fd}): F_DUPFD_CLOEXEC` });
}

/** allowFd's `allow` argument. */
export function checkAllowArg(allow: unknown): void {
  if (typeof allow !== 'boolean') throw new TypeError(`allowFd(fd, allow): allow must be a boolean, got ${typeof allow}`);
}

/**
 * Lets programs name registered-file-table slot `slot` with IOSQE_FIXED_FILE (false: takes it
 * back; ring.files checked the slot). The slot then stays as it is while a program request that
 * named it is alive (slotsChange), however late the kernel looks it up (links, io-wq, SQPOLL).
 */
export function allowSlot(handle: unknown, slot: number, allow: boolean): void {
  const r = binding.policyAllowSlot(handle, slot, allow) as number;
  if (r < 0) throw new RingError(r, 'engine', { detail: `allowFd(fixed(${slot}))` });
}

/** JS is about to change slots [start, start + count) (-1: all): 0, or -EBUSY while a live program request named one. */
export function slotsChange(handle: unknown, start: number, count: number): number {
  return binding.policySlotsChange(handle, start, count) as number;
}

/** What the program policy says about one SQE (ring.checkProgramSqe). */
export interface SqeVerdict {
  /** 0: accepted; else the -errno a program's submit would get in its CQE. */
  res: number;
  /** Accepted: the SQE as the kernel would get it (pointers into engine memory, fds translated, OPENAT2). */
  sqe?: Uint8Array;
  /** Accepted: the engine memory the rewritten SQE points into (a copy) and its address. */
  scratch?: { address: bigint; bytes: Uint8Array };
}

/** Runs the program policy on 64 SQE bytes without submitting anything. */
export function checkProgramSqe(handle: unknown, sqe: unknown, options: unknown = {}): SqeVerdict {
  if (!(sqe instanceof Uint8Array) || sqe.byteLength !== 64) throw new TypeError('checkProgramSqe(sqe): sqe must be a Uint8Array of 64 bytes');
  if (options === null || typeof options !== 'object') throw new TypeError('checkProgramSqe(sqe, options): options must be an object');
  const modern = (options as { modern?: unknown }).modern ?? true;
  if (typeof modern !== 'boolean') throw new TypeError('checkProgramSqe(): option "modern" must be a boolean');
  const copy = sqe.slice();
  const r = binding.policyCheck(handle, copy, modern) as number | [number, bigint, ArrayBuffer];
  if (typeof r === 'number') return { res: r };
  return { res: 0, sqe: copy, scratch: { address: r[1], bytes: new Uint8Array(r[2]) } };
}
