/**
 * The ring's registered file table (`ring.files`): io_uring_register FILES2 (dense, with holes,
 * or sparse), FILES_UPDATE2, UNREGISTER_FILES and FILE_ALLOC_RANGE, and the slots as FixedFile.
 *
 * It also keeps what completion programs may name (docs/completion-programs.md, "Registered
 * files"): a program may name a slot JS allowed with ring.allowFd(fixed(i)). An allowance is
 * given only for a slot ringflow knows holds a file; every change of a slot ringflow sees (these
 * methods, a JS request that opens into a slot, closes one or runs FILES_UPDATE, a files opcode
 * through ring.register()) takes the allowances of the slots it changes back first, and is
 * refused (EBUSY) while a program request that named one of them is alive, so a program request
 * reaches the file that was in the slot when its SQE was accepted, whenever the kernel looks it up.
 */
import { RingError, errno as errnoOf, describeValue as describe } from '../errors.js';
import { RegisterOp } from './abi.js';
import { FixedFile, SqeRingState, type Sqe } from '../ops/sqe.js';
import { fdArray, fdListOf, FILES_SKIP, FILE_INDEX_ALLOC, MAX_FIXED_FILES, type FdEntry } from '../ops/fd-list.js';
import { viewAddress } from './memory.js';
import { opByCode } from '../ops/table.js';

const EBUSY = errnoOf('EBUSY');
/** IORING_FIXED_FD_* for fixedFdInstall's installFlags (6.8). */
export const FixedFdInstallFlags = { NO_CLOEXEC: 1 } as const;
/** IORING_RSRC_REGISTER_SPARSE (5.19): a table of empty slots. */
const RSRC_REGISTER_SPARSE = 1;
/** struct io_uring_rsrc_register / io_uring_rsrc_update2: 32 bytes; io_uring_file_index_range: 16. */
const RSRC_STRUCT_SIZE = 32;
const FILE_INDEX_RANGE_SIZE = 16;

/** What the table needs of its ring (Ring keeps its native handle to itself). */
export interface FileTableHost {
  /** io_uring_register(2) on the ring (throws RingError). */
  register(opcode: number, arg: ArrayBufferView | null, nr: number): number;
  /** JS is about to change slots [start, start + count) (count -1: all): the engine takes their
   *  program allowances back; -EBUSY while a live program request named one. 0 without an engine. */
  slotsChange(start: number, count: number): number;
}

/** io_uring_register opcodes that change the file table, for ring.register() passthrough. */
const FILE_OPCODES: ReadonlySet<number> = new Set([
  RegisterOp.REGISTER_FILES, RegisterOp.UNREGISTER_FILES, RegisterOp.REGISTER_FILES_UPDATE,
  RegisterOp.REGISTER_FILES2, RegisterOp.REGISTER_FILES_UPDATE2,
]);

function checkSlotInt(what: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${describe(v)}`);
  if (v < 0 || v > max) throw new RangeError(`${what} must be in [0, ${max}], got ${describe(v)}`);
  return v;
}

export class FileTable {
  #host: FileTableHost;
  #size = 0;
  /** Per slot: 1 = holds a file as far as ringflow knows (allowances are given only for those). */
  #filled = new Uint8Array(0);

  constructor(host: FileTableHost) {
    this.#host = host;
  }

  /** Slots in the table (0: none registered). */
  get size(): number {
    return this.#size;
  }

  /**
   * Registers the table (IORING_REGISTER_FILES2): `fds` (null or -1 leaves a slot empty), or
   * `{ sparse: n }` for n empty slots (IORING_RSRC_REGISTER_SPARSE). The ring holds its own
   * reference to each file: closing the fd afterwards does not empty the slot.
   */
  register(fds: ArrayLike<FdEntry> | { sparse: number }): void {
    if (arguments.length !== 1) throw new TypeError(`files.register() takes one argument (fds or { sparse }), got ${arguments.length}`);
    const rr = Buffer.alloc(RSRC_STRUCT_SIZE);
    let list: Int32Array | undefined;
    let n: number;
    if (fds !== null && typeof fds === 'object' && !Array.isArray(fds) && !ArrayBuffer.isView(fds) && 'sparse' in fds) {
      for (const k of Object.keys(fds)) if (k !== 'sparse') throw new TypeError(`files.register(): "${k}" is not an option; it takes { sparse }`);
      n = checkSlotInt('files.register(): "sparse"', fds.sparse, MAX_FIXED_FILES);
      if (n === 0) throw new RangeError('files.register(): "sparse" must be in [1, 1048576], got 0');
      rr.writeUInt32LE(RSRC_REGISTER_SPARSE, 4);
    } else {
      list = fdArray(() => 'files.register(): "fds"', fds, false);
      n = list.length;
      rr.writeBigUInt64LE(BigInt(viewAddress(list)), 16);
    }
    rr.writeUInt32LE(n, 0);
    if (this.#size > 0) throw new RingError(-EBUSY, 'io_uring_register', { detail: 'files.register(): the ring already has a file table; unregister() it first' });
    this.#host.register(RegisterOp.REGISTER_FILES2, rr, RSRC_STRUCT_SIZE);
    this.#size = n;
    this.#filled = new Uint8Array(n);
    if (list) for (let i = 0; i < n; i++) this.#filled[i] = list[i] >= 0 ? 1 : 0;
  }

  /**
   * Replaces slots from `offset` (IORING_REGISTER_FILES_UPDATE2): an fd puts its file there,
   * null or -1 empties the slot, FILES_SKIP (-2) leaves it. Returns the number of slots updated.
   */
  update(offset: number, fds: ArrayLike<FdEntry>): number {
    if (arguments.length !== 2) throw new TypeError(`files.update() takes offset, fds; got ${arguments.length} arguments`);
    checkSlotInt('files.update(): "offset"', offset, MAX_FIXED_FILES - 1);
    const list = fdArray(() => 'files.update(): "fds"', fds, true);
    this.#requireTable('update');
    if (offset + list.length > this.#size)
      throw new RangeError(`files.update(): slots ${offset}..${offset + list.length - 1} are past the table (${this.#size} slots)`);
    this.#changing(offset, list, 'files.update()');
    const up = Buffer.alloc(RSRC_STRUCT_SIZE);
    up.writeUInt32LE(offset, 0);
    up.writeBigUInt64LE(BigInt(viewAddress(list)), 8);
    up.writeUInt32LE(list.length, 24);
    const done = this.#host.register(RegisterOp.REGISTER_FILES_UPDATE2, up, RSRC_STRUCT_SIZE);
    this.#applied(offset, list, done);
    return done;
  }

  /** Unregisters the table (IORING_UNREGISTER_FILES): every slot and every program allowance goes. */
  unregister(): void {
    if (arguments.length !== 0) throw new TypeError(`files.unregister() takes no arguments, got ${arguments.length}`);
    this.#requireTable('unregister');
    this.#change(0, -1, 'files.unregister()');
    this.#host.register(RegisterOp.UNREGISTER_FILES, null, 0);
    this.#size = 0;
    this.#filled = new Uint8Array(0);
  }

  /** Limits the slots the kernel picks for 'auto' (IORING_REGISTER_FILE_ALLOC_RANGE, 6.0) to [offset, offset + length). */
  allocRange(offset: number, length: number): void {
    if (arguments.length !== 2) throw new TypeError(`files.allocRange() takes offset, length; got ${arguments.length} arguments`);
    checkSlotInt('files.allocRange(): "offset"', offset, MAX_FIXED_FILES - 1);
    checkSlotInt('files.allocRange(): "length"', length, MAX_FIXED_FILES);
    this.#requireTable('allocRange');
    if (offset + length > this.#size) throw new RangeError(`files.allocRange(): [${offset}, ${offset + length}) is past the table (${this.#size} slots)`);
    const r = Buffer.alloc(FILE_INDEX_RANGE_SIZE);
    r.writeUInt32LE(offset, 0);
    r.writeUInt32LE(length, 4);
    this.#host.register(RegisterOp.REGISTER_FILE_ALLOC_RANGE, r, 0);
  }

  /** Slot `index` as a FixedFile (to pass where an op takes an fd). */
  slot(index: number): FixedFile {
    if (arguments.length !== 1) throw new TypeError(`files.slot() takes one argument (index), got ${arguments.length}`);
    checkSlotInt('files.slot(): "index"', index, Math.max(this.#size - 1, 0));
    if (this.#size === 0) throw new RangeError('files.slot(): the ring has no file table (files.register() first)');
    return new FixedFile(index);
  }

  // ---------------------------------------------------------------- for Ring

  /** ring.allowFd(fixed(i)): the slot must be in the table and hold a file ringflow knows of. */
  checkAllow(slot: number): void {
    if (slot >= this.#size) throw new RangeError(`allowFd(fixed(${slot})): the ring's file table has ${this.#size} slots`);
    if (!this.#filled[slot])
      throw new RangeError(`allowFd(fixed(${slot})): slot ${slot} holds no file ringflow knows of (allow a slot after its file is there)`);
  }

  /**
   * JS requests about to be queued: those that change slots (declared by the opcode table,
   * `sqe.slotEffect`) take the slots' allowances back first, or throw EBUSY while a program
   * request named one; what they put there is learnt from their results.
   */
  beforeSubmit(s: Sqe): void {
    // by the opcode the kernel gets (a hand-built Sqe may have changed it)
    const op = s.opcode === s.op.code ? s.op : opByCode(s.opcode);
    const effect = op?.sqe?.slotEffect;
    if (effect === 'fileIndex') {
      const idx = s.fileIndex >>> 0;
      if (idx === 0) return;
      const opens = op!.sqe!.fdEffect === 'opens';
      const count = op!.sqe!.slots ?? 1;
      if (idx === FILE_INDEX_ALLOC) {
        // free slots only (never an allowed one: those hold files); with several, the request resolves them (PIPE)
        if (opens) this.#onResult(s, (res, value) => (Array.isArray(value) ? value.forEach((f: FixedFile) => this.#mark(f.index, 1)) : this.#mark(res, 1)));
        return;
      }
      const slot = idx - 1;
      this.#change(slot, count, op!.name, true);
      for (let i = 0; i < count; i++) this.#mark(slot + i, 0);
      if (opens) this.#onResult(s, () => { for (let i = 0; i < count; i++) this.#mark(slot + i, 1); });
    } else if (effect === 'update') {
      const list = fdListOf(s);
      if (!list) return;
      const off = s.offLo >>> 0;
      if (off === FILE_INDEX_ALLOC) {
        this.#onResult(s, (res) => {
          for (let i = 0; i < res; i++) this.#mark(list[i], 1);
        });
        return;
      }
      this.#changing(off, list, 'filesUpdate()');
      this.#onResult(s, (res) => this.#applied(off, list, res));
    }
  }

  /** ring.register() passthrough with a files opcode: ringflow no longer knows the table. */
  beforeRegister(opcode: number, arg: ArrayBufferView | null, nr: number): void {
    if (!FILE_OPCODES.has(opcode)) return;
    this.#change(0, -1, `ring.register(${opcode})`);
    this.#filled.fill(0);
    if (opcode === RegisterOp.UNREGISTER_FILES) this.#size = 0;
    else if (opcode === RegisterOp.REGISTER_FILES) this.#size = nr;
    else if (opcode === RegisterOp.REGISTER_FILES2 && arg && arg.byteLength >= 4)
      this.#size = new DataView(arg.buffer, arg.byteOffset, arg.byteLength).getUint32(0, true);
    if (this.#filled.length !== this.#size) this.#filled = new Uint8Array(this.#size);
  }

  // ---------------------------------------------------------------- internals

  #requireTable(method: string): void {
    if (this.#size === 0) throw new RangeError(`files.${method}(): the ring has no file table (files.register() first)`);
  }

  /** `what`: the method, or (`ofOp`) the name of an op about to change the slots, whose message says which (built only on an error: opens and closes of slots come here per request). */
  #change(start: number, count: number, what: string, ofOp = false): void {
    const r = this.#host.slotsChange(start, count);
    if (r >= 0) return;
    if (ofOp) what = `${what}() on slot ${count === 1 ? start : `${start}..${start + count - 1}`}`;
    if (r === -EBUSY)
      throw new RingError(r, 'io_uring_register', {
        detail: `${what}: a completion program's request that names ${count === 1 ? `slot ${start}` : 'one of these slots'} is still alive; take the slot back with ring.allowFd(fixed(i), false) and wait for the programs' requests`,
      });
    if (r < 0) throw new RingError(r, 'engine', { detail: what });
  }

  /** Takes back the slots an fd list changes (FILES_SKIP entries leave theirs). */
  #changing(offset: number, list: Int32Array, what: string): void {
    let first = -1;
    for (let i = 0; i <= list.length; i++) {
      const skip = i === list.length || list[i] === FILES_SKIP;
      if (!skip && first < 0) first = i;
      if (skip && first >= 0) {
        this.#change(offset + first, i - first, what);
        first = -1;
      }
    }
    for (let i = 0; i < list.length; i++) if (list[i] !== FILES_SKIP) this.#mark(offset + i, 0);
  }

  /** The first `done` entries of an update from `offset` took effect. */
  #applied(offset: number, list: Int32Array, done: number): void {
    for (let i = 0; i < done && i < list.length; i++) if (list[i] !== FILES_SKIP) this.#mark(offset + i, list[i] >= 0 ? 1 : 0);
  }

  #mark(slot: number, filled: 0 | 1): void {
    if (slot >= 0 && slot < this.#filled.length) this.#filled[slot] = filled;
  }

  /**
   * Runs `f` on the request's successful result (and the value it resolves), before its promise
   * resolves: the Sqe's resultHook, which the request made next takes (replaced, never wrapped: an
   * Sqe submitted many times once piled a wrapper per submission onto its parse, until a completion
   * overflowed the stack).
   */
  #onResult(s: Sqe, f: (res: number, value: unknown) => void): void {
    (s.ringState ??= new SqeRingState()).resultHook = f;
  }
}
