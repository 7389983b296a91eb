/**
 * The JS side of completion programs (docs/completion-programs.md): the native engine's handle
 * calls, argument checks, the program-request builder and the engine's counters. Ring delegates
 * its program methods here.
 */
import { binding } from '../native.js';
import { RingError } from '../errors.js';
import { Sqe } from '../ops/sqe.js';
import { op as builders } from '../ops/build.js';
import type { OpDesc } from '../ops/table.js';
import type { Program } from '../programs/program.js';
import { CompletionQueue, type Cqe } from './cq.js';
import { attachPolicy } from './grants.js';

/** ringflow's opcode for a program request (docs/completion-programs.md). */
export const OP_BPF = 0xa0;
/** The program request's pseudo entry (not a kernel opcode, so not in OPS). */
export const PROGRAM_OP: OpDesc = {
  name: 'program', code: OP_BPF, constant: 'BPF', since: 'ringflow', result: 'number', cancellable: true,
  doc: 'Runs a registered completion program as a request (the 2021 io_uring BPF prototype\'s IORING_OP_BPF).',
};

/** Builds a program request: `op.program(index, { userData })`, for ring.chain() and ring.run(). */
export function programSqe(index: number, options: { userData?: bigint | number } = {}): Sqe {
  if (!Number.isInteger(index) || index < 0 || index > 99) throw new RangeError(`program index must be an integer in [0, 99], got ${index}`);
  if (options === null || typeof options !== 'object') throw new TypeError('program(): options must be an object');
  const s = new Sqe(PROGRAM_OP);
  s.setOff(index);
  const ud = options.userData;
  if (ud !== undefined) {
    if (typeof ud !== 'bigint' && (typeof ud !== 'number' || !Number.isInteger(ud) || ud < 0))
      throw new TypeError('program(): "userData" must be a non-negative integer or bigint');
    s.setAddr(ud);
    s.len = 1; // marks addr as the program's context token (ctx->user_data)
  }
  return s;
}
(builders as unknown as Record<string, unknown>).program = programSqe;


/** Counters of the completion-program engine, merged into ring.stats() once programs or extra CQs are used. */
export interface ProgramStats {
  /** Program runs and instructions executed. */
  programRuns: number;
  programInsns: number;
  /** Runs stopped by the instruction budget. */
  budgetStops: number;
  /** Program requests stopped for re-running without progress. */
  livelockStops: number;
  /** Runs stopped by a memory fault or a helper error. */
  programFaults: number;
  /** CQEs dropped because their CQ was full. */
  droppedCqes: number;
  /** SQEs programs queued (helpers 164/1000), and those refused with an error CQE. */
  programSqes: number;
  programSqesRejected: number;
  /** io_uring_enter calls the engine made on its own for programs' requests (included in enterCalls). */
  programEnterCalls: number;
  /** JS submits that needed no io_uring_enter (only unlinked program requests, which run without
   *  a trip through the kernel): counted by the ring as submits, subtracted from enterCalls. */
  jsEntersSkipped: number;
  /** CQEs posted per completion queue (index = CQ; 0 = JS's). */
  cqes: number[];
}

/** A ring's completion-program engine (created on first use). */
export class ProgramEngine {
  readonly cq0: ArrayBuffer;
  readonly cq0Size: number;
  readonly cqs = new Map<number, CompletionQueue>();
  onCompletion: ((cqe: Cqe) => void) | undefined;
  #handle: unknown;
  #ctl: BigUint64Array;

  constructor(handle: unknown, cqEntries: number, budget: number) {
    this.#handle = handle;
    // CQ 0 holds twice the kernel CQ: JS's own requests never fill it (maxInflight ≤ the CQ size)
    this.cq0Size = Math.min(65536, Math.max(1024, 2 ** Math.ceil(Math.log2(cqEntries * 2))));
    const r = binding.engineEnable(handle, this.cq0Size, budget);
    if (typeof r === 'number') throw new RingError(r, 'engine');
    const [cq0, ctl] = r as [ArrayBuffer, ArrayBuffer];
    attachPolicy(handle); // what programs may submit (src/ops/policy.ts)
    this.cq0 = cq0;
    this.#ctl = new BigUint64Array(ctl);
  }

  static checkCqSize(size: unknown): void {
    if (typeof size !== 'number' || !Number.isInteger(size)) throw new TypeError(`createCq(size): size must be an integer, got ${typeof size}`);
    if (size < 1 || size > 65536 || (size & (size - 1)) !== 0) throw new RangeError(`createCq(size): size must be a power of two in [1, 65536], got ${size}`);
  }
  static checkProgram(program: Program): void {
    if (!(program as { nativeHandle?: unknown })?.nativeHandle)
      throw new TypeError('registerProgram() takes a Program loaded with loadProgram()/loadObject() (and the native engine)');
    const kind = program.kind;
    if (kind !== 'iouring' && kind !== 'iouring.s')
      throw new TypeError(`registerProgram(): the program must be of kind "iouring" or "iouring.s" (SEC("iouring/…")), got "${kind}"`);
  }
  static checkRegion(view: unknown): void {
    if (!ArrayBuffer.isView(view)) throw new TypeError('registerRegion() takes a Buffer, TypedArray or DataView');
    if (view.byteLength === 0) throw new RangeError('registerRegion(): the region is empty');
  }
  static checkFd(fd: unknown): void {
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd >= 1 << 22)
      throw new RangeError(`allowFd(fd): fd must be an integer in [0, 2^22), got ${String(fd)}`);
  }

  createCq(size: number): number {
    const r = binding.engineCreateCq(this.#handle, size);
    if (typeof r === 'number') throw new RingError(r, 'engine', { detail: 'createCq' });
    const [index, mem] = r as [number, ArrayBuffer];
    this.cqs.set(index, new CompletionQueue(index, mem));
    return index;
  }
  registerProgram(program: Program): number {
    const r = binding.engineRegisterProgram(this.#handle, program.nativeHandle) as number;
    if (r < 0) throw new RingError(r, 'engine', { detail: r === -28 ? 'the ring holds 100 programs already' : 'registerProgram' });
    return r;
  }
  registerRegion(view: ArrayBufferView, writable: boolean): { id: number; address: number; length: number } {
    const r = binding.engineRegisterRegion(this.#handle, view, writable);
    if (typeof r === 'number') throw new RingError(r, 'engine', { detail: r === -28 ? 'at most 14 regions' : 'registerRegion' });
    const [id, address] = r as [number, number];
    return { id, address, length: view.byteLength };
  }
  allowFd(fd: number, allow: boolean): void {
    binding.engineAllowFd(this.#handle, fd, allow);
  }
  /** JS holds SQEs it has not handed over: the engine must not append behind them. */
  markPending(): void {
    this.#ctl[0] = 1n;
  }
  /** One reaping pass now; true when CQ 0 has entries. */
  pass(): boolean {
    return binding.enginePass(this.#handle) === 1;
  }
  /** Ring closing: waiting program requests complete with -EAGAIN, held-back chains fail. */
  shutdown(): void {
    binding.engineShutdown(this.#handle);
  }
  stats(cq0Posted: number): ProgramStats {
    const c = this.#ctl;
    const cqes = [cq0Posted];
    for (const [i, q] of this.cqs) cqes[i] = q.posted;
    return {
      programEnterCalls: Number(c[1]),
      programRuns: Number(c[3]),
      programInsns: Number(c[4]),
      budgetStops: Number(c[5]),
      droppedCqes: Number(c[6]),
      programSqes: Number(c[7]),
      programSqesRejected: Number(c[8]),
      livelockStops: Number(c[9]),
      programFaults: Number(c[10]),
      jsEntersSkipped: Number(c[11]),
      cqes,
    };
  }

}
