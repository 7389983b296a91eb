/**
 * Errors of the fast paths: a kernel failure becomes a RingError whose `syscall` is the name Node
 * uses for the call ('open', 'read', 'write', 'close', 'fstat'), so that fs-core's converter
 * (src/fs/errors.ts, nodeError) can build Node's message and properties from it. Aborts and a
 * closed ring pass through unchanged.
 */
import { RingError } from '../../errors.js';
import { abortError } from '../../ring/aborts.js';

/** The syscall names Node's fs reports for what the fast paths do. */
export type NodeSyscall = 'open' | 'read' | 'write' | 'close' | 'fstat' | 'fsync';

/** `e` with Node's syscall name when it is a kernel failure; anything else unchanged. */
export function asNodeSyscall(e: unknown, syscall: NodeSyscall): unknown {
  if (e instanceof RingError && e.syscall !== syscall) return new RingError(-e.errno, syscall);
  return e;
}

/** The AbortError Node's fs/promises rejects with (name 'AbortError', code 'ABORT_ERR', cause = the signal's reason). */
export function aborted(signal: AbortSignal): Error {
  return abortError(signal);
}

/** Node's ERR_FS_FILE_TOO_LARGE (a RangeError): readFile of more than 2 GiB. */
export function fileTooLarge(size: number): RangeError {
  const e = new RangeError(`File size (${size}) is greater than 2 GiB`) as RangeError & { code: string };
  e.code = 'ERR_FS_FILE_TOO_LARGE';
  return e;
}

/** Node's kIoMaxLength: the largest file readFile returns (2 GiB - 1). */
export const IO_MAX_LENGTH = 2 ** 31 - 1;
