/**
 * The Ring's completion-program surface: extra CQs, program tables, regions and grants (files,
 * directories, slots), the program request and the programs' CQ 0. Installed on Ring.prototype
 * when the package entry loads (as the promise methods are, src/ring/methods.ts); the engine
 * itself is src/ring/programs.ts, the policy docs/security.md.
 */
import { Ring, ringInternals as internals } from './ring.js';
import { ProgramEngine, programSqe, type Region } from './programs.js';
import type { CompletionQueue, Cqe } from './cq.js';
import type { Program } from '../programs/program.js';
import { FixedFile } from '../ops/sqe.js';
import * as grants from './grants.js';

declare module './ring.js' {
  interface Ring {
    /** Adds a completion queue (size: power of two, 1..65536) that programs can post to and reap from; returns its index (≥ 1). */
    createCq(size: number): number;
    /** Completion queue `index` (≥ 1), to read from JS. */
    cq(index: number): CompletionQueue;
    /** Puts a loaded program (kind 'iouring' or 'iouring.s') into the ring's table; returns its index. */
    registerProgram(program: Program): number;
    /**
     * Allocates memory programs may read (and write, unless writable: false) and name in SQEs: a
     * size in bytes, or initial contents to copy in. The engine owns it; `region.bytes` is JS's
     * view of it. (A JS ArrayBuffer can be transferred or resized away while a program uses it, so
     * the ring never lends programs JS memory.)
     */
    registerRegion(sizeOrContents: number | ArrayBufferView, options?: { writable?: boolean }): Region;
    /**
     * Lets programs name this process fd in the SQEs they submit (false: take it back). The ring
     * holds its own dup of the file: programs naming `fd` reach that file even after JS closes `fd`.
     * A FixedFile: programs may name that slot of `ring.files` with IOSQE_FIXED_FILE (src/ring/files.ts).
     */
    allowFd(fd: number | FixedFile, allow?: boolean): void;
    /**
     * Grants programs the files beneath directory `path` (read only, or `write: true`); returns the
     * dirfd programs put in OPENAT/OPENAT2. Resolution stays beneath it: no absolute paths, no `..`
     * out, no magic links (/proc/self/fd/N), no other mounts (docs/security.md).
     */
    allowDir(path: string | Buffer, options?: grants.DirGrantOptions): number;
    /** What the program policy says about an SQE, without submitting it (`modern`: as helper 1000
     *  submits it, default true): 0 or the -errno a program would get, and the rewritten SQE. */
    checkProgramSqe(sqe: Uint8Array, options?: { modern?: boolean }): grants.SqeVerdict;
    /** Runs registered program `index` as a request; resolves with its result (0). */
    runProgram(index: number, options?: { userData?: bigint | number; cq?: number; signal?: AbortSignal }): Promise<number>;
    /** Receives CQ 0 completions that belong to no JS request (emitted by programs). */
    onCompletion(handler: ((cqe: Cqe) => void) | undefined): void;
  }
}

const proto = Ring.prototype;

proto.createCq = function (this: Ring, size: number): number {
  ProgramEngine.checkCqSize(size);
  return internals(this).enableEngine().createCq(size);
};

proto.cq = function (this: Ring, index: number): CompletionQueue {
  const q = internals(this).engine?.cqs.get(index);
  if (!q) throw new RangeError(`ring has no completion queue ${index} (CQ 0 is read through promises; create others with createCq)`);
  return q;
};

proto.registerProgram = function (this: Ring, program: Program): number {
  internals(this).assertOpen();
  ProgramEngine.checkProgram(program);
  return internals(this).enableEngine().registerProgram(program);
};

proto.registerRegion = function (this: Ring, sizeOrContents: number | ArrayBufferView, options: { writable?: boolean } = {}): Region {
  internals(this).assertOpen();
  ProgramEngine.regionLength(sizeOrContents);
  if (options === null || typeof options !== 'object') throw new TypeError('registerRegion(): options must be an object');
  if (options.writable !== undefined && typeof options.writable !== 'boolean')
    throw new TypeError(`registerRegion(): "writable" must be a boolean, got ${typeof options.writable}`);
  return internals(this).enableEngine().registerRegion(sizeOrContents, options.writable ?? true);
};

proto.allowFd = function (this: Ring, fd: number | FixedFile, allow = true): void {
  internals(this).assertOpen();
  if (fd instanceof FixedFile) {
    grants.checkAllowArg(allow);
    if (allow) this.files.checkAllow(fd.index);
    internals(this).enableEngine();
    grants.allowSlot(internals(this).handle, fd.index, allow);
    if (allow) internals(this).inbox.slotsGranted(); // file messages from other rings: 'auto' slots only
    return;
  }
  grants.checkFd(fd);
  internals(this).enableEngine();
  grants.allowFd(internals(this).handle, fd, allow);
};

proto.allowDir = function (this: Ring, path: string | Buffer, options: grants.DirGrantOptions = {}): number {
  internals(this).assertOpen();
  internals(this).enableEngine();
  return grants.allowDir(internals(this).handle, path, options);
};

proto.checkProgramSqe = function (this: Ring, sqe: Uint8Array, options: { modern?: boolean } = {}): grants.SqeVerdict {
  internals(this).assertOpen();
  internals(this).enableEngine();
  return grants.checkProgramSqe(internals(this).handle, sqe, options);
};

proto.runProgram = function (this: Ring, index: number, options: { userData?: bigint | number; cq?: number; signal?: AbortSignal } = {}): Promise<number> {
  return this.run(programSqe(index, options), options);
};

proto.onCompletion = function (this: Ring, handler: ((cqe: Cqe) => void) | undefined): void {
  if (handler !== undefined && typeof handler !== 'function') throw new TypeError('onCompletion() takes a function');
  internals(this).enableEngine().onCompletion = handler;
};
