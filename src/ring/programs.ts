/**
 * The JS side of completion programs (docs/completion-programs.md): the native engine's handle
 * calls, argument checks, the program-request builder and the engine's counters. Ring delegates
 * its program methods here.
 */
import { binding } from '../native.js';
import { RingError } from '../errors.js';
import { Sqe } from '../ops/sqe.js';
import { op as builders } from '../ops/build.js';
import { OPS, type OpDesc } from '../ops/table.js';
import type { Program } from '../programs/program.js';
import { CompletionQueue, type Cqe } from './cq.js';
import { attachPolicy } from './grants.js';
import { throwLater } from './jobs.js';

/** Words of the engine's counters (engine_ctl in native/engine_internal.h). */
const CTL_WORDS = 16;
const CTL_IN_KERNEL = 14;
const CTL_READS_PROG_CQ0 = 12;

/** ringflow's opcode for a program request (docs/completion-programs.md). */
export const OP_BPF = 0xa0;
/** The program request's pseudo entry (not a kernel opcode, so not in OPS). */
export const PROGRAM_OP: OpDesc = {
  name: 'program', code: OP_BPF, constant: 'BPF', since: 'ringflow', result: 'number', cancellable: true,
  doc: 'Runs a registered completion program as a request (the 2021 io_uring BPF prototype\'s IORING_OP_BPF).',
};

/** Builds a program request: `op.program(index, { userData })`, for ring.chain() and ring.run(). */
export function programSqe(index: number, options: { userData?: bigint | number; cq?: number } = {}): Sqe {
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
  // as in the prototype, the request's own CQE on CQ `cq` carries its user_data (the token)
  if (options.cq !== undefined) s.toCq(options.cq, ud ?? 0);
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
  /** CQEs dropped because their CQ was full (single-shot requests and CQEs programs emit). */
  droppedCqes: number;
  /** CQEs of multishot requests that found their CQ full and waited in the engine until it drained
   *  (never dropped: each holds a buffer or an fd, or ends its request). */
  parkedCqes: number;
  /** SQEs programs queued (helpers 164/1000), and those refused with an error CQE. */
  programSqes: number;
  programSqesRejected: number;
  /** io_uring_enter calls the engine made on its own for programs' requests (included in enterCalls). */
  programEnterCalls: number;
  /** JS submits that needed no io_uring_enter (only unlinked program requests, which run without
   *  a trip through the kernel): counted by the ring as submits, subtracted from enterCalls. */
  jsEntersSkipped: number;
  /** Loop turns whose share of program work (programBudget instructions) ran out while programs
   *  were still runnable: the rest ran on later turns. */
  passYields: number;
  /** CQEs dropped because the programs' CQ 0 was full (nobody reaped it, or onCompletion was not set). */
  programCq0Dropped: number;
  /** CQEs posted per completion queue (index = CQ; 0 = JS's). */
  cqes: number[];
}

/** What a CompletionQueue calls after JS read it while CQEs wait in the engine's park: a weak
 *  reference to the ring's handle, so a queue JS keeps does not keep a dropped ring alive. */
function flushParkOf(handle: unknown, index: number): () => void {
  const ref = new WeakRef(handle as object);
  return () => {
    const h = ref.deref();
    if (h !== undefined) binding.engineFlushPark(h, index);
  };
}

/** Memory programs may read (and write, if writable) and name in SQEs: allocated and owned by the
 * ring's engine, between guard pages. `bytes` is a view of it; the memory lives as long as the
 * engine or any view of it does, whatever JS does to `bytes.buffer` (transfer, resize attempts). */
export interface Region {
  id: number;
  /** The address programs use for this region's first byte. */
  address: number;
  length: number;
  writable: boolean;
  /** The region's memory (read and write it from JS; programs see the same bytes). */
  bytes: Buffer;
}

/**
 * The opcodes whose SQE names another request by user_data in addr (the table's namesRequest). The
 * engine gives every request its own tag in the kernel, so it translates such a target, within the
 * submitter's own requests (native/engine.c translate_target).
 */
const NAMING_OPCODES = Uint8Array.from(
  OPS.filter((o) => o.namesRequest).map((o) => {
    if (o.params?.[0]?.field !== 'addr') throw new Error(`ringflow: ${o.name} names a request, but its first parameter is not in addr`);
    return o.code;
  }),
);

/** A ring's completion-program engine (created on first use). */
export class ProgramEngine {
  /** JS's CQ 0: completions of the requests JS submitted, and nothing else. */
  readonly cq0: ArrayBuffer;
  readonly cq0Size: number;
  readonly cqs = new Map<number, CompletionQueue>();
  /** The programs' CQ 0 (what programs emit or submit to CQ 0), read by onCompletion. */
  readonly programCq0: CompletionQueue;
  #onCompletion: ((cqe: Cqe) => void) | undefined;
  #handle: unknown;
  #ctl: BigUint64Array;

  constructor(handle: unknown, cqEntries: number, budget: number) {
    this.#handle = handle;
    // CQ 0 holds twice the kernel CQ: JS's own requests never fill it (maxInflight ≤ the CQ size)
    this.cq0Size = Math.min(65536, Math.max(1024, 2 ** Math.ceil(Math.log2(cqEntries * 2))));
    const r = binding.engineEnable(handle, this.cq0Size, budget, NAMING_OPCODES);
    if (typeof r === 'number') throw new RingError(r, 'engine');
    const [cq0, ctl, progCq0] = r as [ArrayBuffer, ArrayBuffer, ArrayBuffer];
    attachPolicy(handle); // what programs may submit (src/ops/policy.ts)
    this.cq0 = cq0;
    this.#ctl = new BigUint64Array(ctl, 0, CTL_WORDS);
    this.programCq0 = new CompletionQueue(0, progCq0, flushParkOf(handle, 0));
  }

  get onCompletion(): ((cqe: Cqe) => void) | undefined {
    return this.#onCompletion;
  }
  /** Listens to the programs' CQ 0 (the engine then wakes JS for it), or stops listening. */
  set onCompletion(h: ((cqe: Cqe) => void) | undefined) {
    this.#onCompletion = h;
    this.#ctl[CTL_READS_PROG_CQ0] = h ? 1n : 0n;
  }

  /**
   * Hands the programs' CQ 0 to onCompletion, one CQE at a time: each is taken off the queue
   * before the handler runs, so a handler may call anything, close() included, and no CQE is
   * seen twice; a handler that throws is reported as uncaught and the rest are still delivered.
   * At most one queue's worth per call (the queue is engine memory that outlives close()).
   * Returns how many were delivered.
   */
  deliverProgramCq0(): number {
    const q = this.programCq0;
    let n = 0;
    for (; n < q.size && this.#onCompletion; n++) {
      const c = q.shift();
      if (!c) break;
      try {
        this.#onCompletion(c);
      } catch (err) {
        throwLater(err);
      }
    }
    return n;
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
  /** The region's length from registerRegion()'s first argument (a size, or contents to copy in). */
  static regionLength(what: unknown): number {
    if (typeof what === 'number') {
      if (!Number.isInteger(what) || what < 1 || what > 2 ** 32)
        throw new RangeError(`registerRegion(size): size must be an integer in [1, 2^32] bytes, got ${what}`);
      return what;
    }
    if (!ArrayBuffer.isView(what))
      throw new TypeError(`registerRegion() takes a size in bytes or initial contents (Buffer, TypedArray or DataView), got ${what === null ? 'null' : typeof what}`);
    if (what.byteLength === 0) throw new RangeError('registerRegion(): the initial contents are empty (or their ArrayBuffer was detached)');
    return what.byteLength;
  }


  /** Has the engine CQ `cq` (0: the programs' CQ 0, always there)? */
  hasCq(cq: number): boolean {
    return cq === 0 || this.cqs.has(cq);
  }
  /** Posts the copy of a JS request's completion its `cq` option asked for (a full CQ drops it and counts). */
  post(cq: number, userData: bigint, res: number, flags: number): void {
    binding.enginePost(this.#handle, cq, userData, res, flags);
  }

  createCq(size: number): number {
    const r = binding.engineCreateCq(this.#handle, size);
    if (typeof r === 'number') throw new RingError(r, 'engine', { detail: 'createCq' });
    const [index, mem] = r as [number, ArrayBuffer];
    this.cqs.set(index, new CompletionQueue(index, mem, flushParkOf(this.#handle, index)));
    return index;
  }
  registerProgram(program: Program): number {
    const r = binding.engineRegisterProgram(this.#handle, program.nativeHandle) as number;
    if (r < 0) throw new RingError(r, 'engine', { detail: r === -28 ? 'the ring holds 100 programs already' : 'registerProgram' });
    return r;
  }
  registerRegion(what: number | ArrayBufferView, writable: boolean): Region {
    const length = ProgramEngine.regionLength(what);
    const r = binding.engineRegisterRegion(this.#handle, length, writable);
    if (typeof r === 'number') throw new RingError(r, 'engine', { detail: r === -28 ? 'at most 14 regions' : 'registerRegion' });
    const [id, address, mem] = r as [number, number, ArrayBuffer];
    const bytes = Buffer.from(mem, 0, length);
    if (typeof what !== 'number') bytes.set(new Uint8Array(what.buffer, what.byteOffset, what.byteLength));
    return { id, address, length, writable, bytes };
  }

  /** JS holds SQEs it has not handed over: the engine must not append behind them. */
  markPending(): void {
    this.#ctl[0] = 1n;
  }
  /** One reaping pass now; true when CQ 0 has entries. */
  pass(): boolean {
    return binding.enginePass(this.#handle) === 1;
  }
  /** While closing: does the kernel still hold requests programs submitted (counted by the engine's passes)? */
  holdsKernelRequests(): boolean {
    return this.#ctl[CTL_IN_KERNEL] !== 0n;
  }
  /** Ring closing: waiting program requests complete with -EAGAIN, held-back chains fail. */
  shutdown(): void {
    binding.engineShutdown(this.#handle);
  }
  stats(cq0Posted: number): ProgramStats {
    const c = this.#ctl;
    const cqes = [cq0Posted + this.programCq0.posted];
    for (const [i, q] of this.cqs) cqes[i] = q.posted;
    return {
      programEnterCalls: Number(c[1]),
      programRuns: Number(c[3]),
      programInsns: Number(c[4]),
      budgetStops: Number(c[5]),
      droppedCqes: Number(c[6]),
      parkedCqes: Number(c[15]),
      programSqes: Number(c[7]),
      programSqesRejected: Number(c[8]),
      livelockStops: Number(c[9]),
      programFaults: Number(c[10]),
      jsEntersSkipped: Number(c[11]),
      passYields: Number(c[13]),
      programCq0Dropped: this.programCq0.dropped,
      cqes,
    };
  }

}
