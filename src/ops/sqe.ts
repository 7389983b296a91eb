/**
 * One submission queue entry, prepared in JS before it is copied into the mapped SQE array.
 * Builders (src/ops/build.ts) fill it from the opcode table; link/drain/skip flags are set on it
 * before submission (tokio-rs/io-uring's `Entry` + `.flags()`; liburing's io_uring_sqe_set_flags).
 */
import { SqeFlags } from '../ring/abi.js';
import { describeValue } from '../errors.js';
import type { OpDesc } from './table.js';

/** A slot in the ring's registered file table, used instead of a process fd (sets IOSQE_FIXED_FILE). */
export class FixedFile {
  readonly index: number;
  constructor(index: number) {
    if (typeof index !== 'number' || !Number.isInteger(index)) throw new TypeError(`FixedFile(): "index" must be an integer, got ${describeValue(index)}`);
    if (index < 0 || index > 0x7fffffff) throw new RangeError(`FixedFile(): "index" must be in [0, 2147483647], got ${describeValue(index)}`);
    this.index = index;
  }
}
/** Shorthand for `new FixedFile(index)`. */
export const fixed = (index: number): FixedFile => new FixedFile(index);

/** A file descriptor argument: a process fd or a registered slot. */
export type Fd = number | FixedFile;

const TWO32 = 0x1_0000_0000;

/** Why CQE_SKIP_SUCCESS is refused for an op whose errors fail no link (OpDesc.errorKeepsLink). */
export function skipRefusal(op: string): string {
  return `${op}(): skipSuccess() would hide its errors too: the kernel completes a failed ${op} without failing it, so CQE_SKIP_SUCCESS suppresses its error CQE (6.18); leave it off`;
}

/** Methods without parameters refuse arguments: `sqe.link(false)` must not quietly link. */
function noArgs(method: string, n: number): void {
  if (n !== 0) throw new TypeError(`${method}() takes no arguments, got ${n}`);
}

/** A 64-bit SQE field value: an integer number of magnitude <= 2^53 - 1, or a bigint in [-2^63, 2^64 - 1]. */
function check64(method: string, name: string, v: unknown): number | bigint {
  if (typeof v === 'bigint') {
    if (v < -(2n ** 63n) || v > 2n ** 64n - 1n) throw new RangeError(`${method}(): "${name}" as a bigint must be in [-2^63, 2^64 - 1], got ${describeValue(v)}`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${method}(): "${name}" must be an integer or bigint, got ${describeValue(v)}`);
  if (!Number.isSafeInteger(v)) throw new RangeError(`${method}(): "${name}" as a number must be in [-(2^53 - 1), 2^53 - 1] (use a bigint beyond), got ${describeValue(v)}`);
  return v;
}

/** Checks a `cq` target and its user_data (toCq(), the `cq`/`userData` options). */
export function checkCqTarget(where: string, cq: unknown, userData: unknown): [number, bigint] {
  if (typeof cq !== 'number' || !Number.isInteger(cq)) throw new TypeError(`${where}: "cq" must be a completion queue index (an integer), got ${describeValue(cq)}`);
  if (cq < 0 || cq > 0xffff) throw new RangeError(`${where}: "cq" must be in [0, 65535], got ${cq}`);
  if (typeof userData === 'bigint') {
    if (userData < 0n || userData > 2n ** 64n - 1n) throw new RangeError(`${where}: "userData" as a bigint must be in [0, 2^64 - 1], got ${describeValue(userData)}`);
    return [cq, userData];
  }
  if (typeof userData !== 'number' || !Number.isInteger(userData)) throw new TypeError(`${where}: "userData" must be a non-negative integer or bigint, got ${describeValue(userData)}`);
  if (userData < 0 || !Number.isSafeInteger(userData)) throw new RangeError(`${where}: "userData" as a number must be in [0, 2^53 - 1] (use a bigint beyond), got ${describeValue(userData)}`);
  return [cq, BigInt(userData)];
}

/** Splits a 64-bit value (number in [-2^53, 2^53] or bigint) into two u32 words. */
export function split64(v: number | bigint): [lo: number, hi: number] {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    return [Number(u & 0xffffffffn), Number(u >> 32n)];
  }
  if (v < 0) {
    // two's complement for small negatives such as -1 (current position)
    const u = BigInt.asUintN(64, BigInt(v));
    return [Number(u & 0xffffffffn), Number(u >> 32n)];
  }
  return [v >>> 0, Math.floor(v / TWO32) >>> 0];
}

/** The array a toBytes() call is encoding into while it runs (an inspection: no ring's SQ). */
let inspecting: Uint32Array | undefined;
/**
 * Is `u32` the array of a toBytes() call rather than a ring's SQE array? A request that names
 * another one (src/ops/build-wait.ts) writes, on a ring, only what that request was submitted
 * with on the same ring; in toBytes() it shows what it would name on the ring the other last ran on.
 */
export function isInspection(u32: Uint32Array): boolean {
  return u32 === inspecting;
}

/** An empty buffer to build a request over before setBuffer() names its memory. */
export const NO_BYTES = new Uint8Array(0);

/** @internal What the ring keeps about an Sqe between submissions (Sqe.ringState). */
export class SqeRingState {
  /**
   * What the ring's file table learns from a success (the slots a direct open filled:
   * src/ring/files.ts), set at each submission, replacing the last one's; each request takes it
   * when it is made (PendingExtra.hook), so an Sqe submitted again and again does not pile them up.
   */
  resultHook: ((res: number, value: unknown) => void) | undefined = undefined;
  /** The BufferGroup selectBuffer(group) named: asked at every submission whether a request may still select from it. */
  selectedFrom: { checkSelect(method: string): void } | undefined = undefined;
  /**
   * ring.runBig() sets it for the length of its run() call: the request made then resolves its
   * whole CQE (PendingExtra.big). Never left set: the Sqe run again by ring.run() resolves what
   * its op resolves.
   */
  big = false;
}

/**
 * A prepared request. Fields mirror struct io_uring_sqe; 64-bit fields are kept as lo/hi words.
 * `keep` holds every JS object whose memory the kernel touches, until the request's CQE.
 */
export class Sqe {
  readonly op: OpDesc;
  opcode: number;
  flags = 0;
  ioprio = 0;
  fd = 0;
  offLo = 0;
  offHi = 0;
  addrLo = 0;
  addrHi = 0;
  len = 0;
  opFlags = 0;
  bufIndex = 0;
  personality = 0;
  fileIndex = 0;
  addr3Lo = 0;
  addr3Hi = 0;
  /** Memory the kernel touches (buffers, iovec arrays, paths, timespecs): reachable while the Sqe is, and from each request made of it until that request's last CQE. */
  keep: object[] | undefined;
  /** Turns a successful res (and the CQE's flags: a provided buffer's id) into the promise's value (statx parses its buffer). */
  parse: ((res: number, flags: number) => unknown) | undefined;
  /** Posts a CQE per event (IORING_CQE_F_MORE): submitted with ring.runMulti() or an iterator, not ring.run(). */
  multishot = false;
  /** Requested transfer length for read/write family ops (a short result breaks a link). */
  expect = -1;
  /** The `cq` option: the engine CQ that also gets this request's completion (-1: none). */
  cq = -1;
  /** The user_data of that copy. */
  cqUserData = 0n;
  /**
   * A uring_cmd command area (op.uringCmdRaw): 20 words (80 bytes) from SQE byte 48, zero-padded;
   * `cmdBytes` of them were given. Its first 16 bytes replace addr3 and the pad after it; the rest
   * needs 128-byte SQEs (an sqe128 ring). undefined: bytes 48..63 are addr3 and 0.
   */
  cmd: Uint32Array | undefined = undefined;
  cmdBytes = 0;
  /** A check every submission path makes before queueing this SQE (a message to a ring handle: the
   *  target still open and its fd still that ring's, and a file message's slot rule:
   *  src/ops/build-msg.ts; a poll update's new user_data: src/ops/build-wait.ts); throws to
   *  refuse. `engine`: the ring has a program engine. Set once when the Sqe is built, never wrapped. */
  submitCheck: ((method: string, engine: boolean) => void) | undefined = undefined;
  /**
   * @internal What the ring keeps about this Sqe between submissions, made on first need (most
   * Sqes never need it: one field, not three, on every request's path). See SqeRingState.
   */
  ringState: SqeRingState | undefined = undefined;

  constructor(op: OpDesc) {
    if (op === null || typeof op !== 'object' || typeof op.name !== 'string')
      throw new TypeError(`new Sqe(): "op" must be an entry of the opcode table (OPS, opByName()), got ${describeValue(op)}`);
    if (typeof op.code !== 'number' || !Number.isInteger(op.code) || op.code < 0 || op.code > 0xff)
      throw new RangeError(`new Sqe(): "op".code must be an opcode in [0, 255], got ${describeValue(op.code)}`);
    this.op = op;
    this.opcode = op.code;
  }

  /** IOSQE_IO_LINK: the next request of the same chain (ring.chain/link) starts after this one succeeds (dropped on a chain's last request and a lone run: docs/chains.md). */
  link(): this {
    noArgs('link', arguments.length);
    this.flags |= SqeFlags.IO_LINK;
    return this;
  }
  /** IOSQE_IO_HARDLINK: like link(), but the chain continues even if this one fails. */
  hardlink(): this {
    noArgs('hardlink', arguments.length);
    this.flags |= SqeFlags.IO_HARDLINK;
    return this;
  }
  /** IOSQE_IO_DRAIN: start only after all earlier requests completed. */
  drain(): this {
    noArgs('drain', arguments.length);
    this.flags |= SqeFlags.IO_DRAIN;
    return this;
  }
  /** IOSQE_ASYNC: go straight to the kernel's worker pool. */
  async(): this {
    noArgs('async', arguments.length);
    this.flags |= SqeFlags.ASYNC;
    return this;
  }
  /** IOSQE_CQE_SKIP_SUCCESS: post no CQE on success (5.17). Its promise resolves with undefined once a later request of the chain completes. */
  skipSuccess(): this {
    noArgs('skipSuccess', arguments.length);
    if (this.op.errorKeepsLink) throw new TypeError(skipRefusal(this.op.name));
    this.flags |= SqeFlags.CQE_SKIP_SUCCESS;
    return this;
  }
  /**
   * Also posts this request's completion (res, flags) to completion queue `cq` with `userData`,
   * where programs can reap it and wait for it (0: the programs' CQ 0, which JS sees through
   * onCompletion; 1..: the extra CQs). The promise settles as usual. The `cq` / `userData`
   * builder options do the same.
   */
  toCq(cq: number, userData: number | bigint = 0): this {
    if (arguments.length < 1 || arguments.length > 2) throw new TypeError(`toCq() takes cq, userData; got ${arguments.length} arguments`);
    [this.cq, this.cqUserData] = checkCqTarget('toCq()', cq, userData);
    return this;
  }
  /** Sets the 64-bit `off` field. */
  setOff(v: number | bigint): this {
    if (arguments.length !== 1) throw new TypeError(`setOff() takes one argument, got ${arguments.length}`);
    [this.offLo, this.offHi] = split64(check64('setOff', 'off', v));
    return this;
  }
  setAddr(v: number | bigint): this {
    if (arguments.length !== 1) throw new TypeError(`setAddr() takes one argument, got ${arguments.length}`);
    [this.addrLo, this.addrHi] = split64(check64('setAddr', 'addr', v));
    return this;
  }
  setAddr3(v: number | bigint): this {
    if (arguments.length !== 1) throw new TypeError(`setAddr3() takes one argument, got ${arguments.length}`);
    [this.addr3Lo, this.addr3Hi] = split64(check64('setAddr3', 'addr3', v));
    return this;
  }
  /**
   * IOSQE_BUFFER_SELECT from provided-buffer group `group` (its id, sets buf_group): the kernel
   * picks the buffer. A BufferGroup (ring.bufferGroup()) also holds its memory until the last CQE
   * and makes the result a ProvidedBuffer (src/buffers/buffer-group.ts).
   */
  selectBuffer(group: number | { readonly id: number; selectedBy(sqe: Sqe): void }): this {
    if (arguments.length !== 1) throw new TypeError(`selectBuffer() takes one argument (a group id or BufferGroup), got ${arguments.length}`);
    const id = typeof group === 'object' && group !== null ? group.id : group;
    if (typeof id !== 'number' || !Number.isInteger(id)) throw new TypeError(`selectBuffer(): "group" must be a group id (an integer) or a BufferGroup, got ${describeValue(group)}`);
    if (id < 0 || id > 0xffff) throw new RangeError(`selectBuffer(): the group id must be in [0, 65535], got ${id}`);
    if (typeof group === 'object') group.selectedBy(this);
    else if (this.ringState?.selectedFrom !== undefined) {
      // by id now: no longer the group's (its parse would read this id's buffers as the group's)
      this.ringState.selectedFrom = undefined;
      this.parse = undefined;
    }
    this.flags |= SqeFlags.BUFFER_SELECT;
    this.bufIndex = id;
    return this;
  }
  /**
   * Points the request's data buffer at `length` bytes at `address`: memory ringflow owns that
   * `keeper` keeps alive until the CQE (a provided buffer lent to a send, a fresh buffer readFile
   * fills). Build the request over NO_BYTES, then set this; the op's short-transfer tracking
   * (`expect`, when it has one) follows the length.
   */
  setBuffer(address: number, length: number, keeper: object): this {
    this.setAddr(address);
    this.len = length;
    if (this.expect >= 0) this.expect = length;
    return this.hold(keeper);
  }
  /**
   * @internal Points this request at other memory: addr and len (and the expected length) set to
   * `address` and `length`, `keeper` the one object held. For a request its owner issues again and
   * again over different buffers, one at a time (a socket's sends from provided buffers: the
   * previous request has ended before the next is issued): the builder runs once.
   */
  retarget(address: number, length: number, keeper: object): void {
    this.addrLo = address >>> 0;
    this.addrHi = Math.floor(address / 0x100000000);
    this.len = length;
    if (this.expect >= 0) this.expect = length;
    this.keep = [keeper];
  }

  /** Keeps `value` reachable with the Sqe's memory (see `keep`): while the Sqe lives and until the last CQE of each request made of it; each call adds one entry (hold once per value). */
  hold(value: object): this {
    if (arguments.length !== 1) throw new TypeError(`hold() takes one argument, got ${arguments.length}`);
    if (value === null || (typeof value !== 'object' && typeof value !== 'function'))
      throw new TypeError(`hold(): "value" must be an object, got ${describeValue(value)}`);
    (this.keep ??= []).push(value);
    return this;
  }

  /** Bytes of SQE this request needs: 128 when its uring_cmd area is longer than the 16 bytes a 64-byte SQE holds. */
  get entrySize(): 64 | 128 {
    return this.cmdBytes > 16 ? 128 : 64;
  }

  /** Writes the first 64 bytes at word index `w` (= byte offset / 4) of `u32`. */
  encode(u32: Uint32Array, w: number, userLo: number, userHi: number): void {
    u32[w] = this.opcode | (this.flags << 8) | (this.ioprio << 16);
    u32[w + 1] = this.fd;
    u32[w + 2] = this.offLo;
    u32[w + 3] = this.offHi;
    u32[w + 4] = this.addrLo;
    u32[w + 5] = this.addrHi;
    u32[w + 6] = this.len;
    u32[w + 7] = this.opFlags;
    u32[w + 8] = userLo;
    u32[w + 9] = userHi;
    u32[w + 10] = this.bufIndex | (this.personality << 16);
    u32[w + 11] = this.fileIndex;
    const cmd = this.cmd;
    if (cmd === undefined) {
      u32[w + 12] = this.addr3Lo;
      u32[w + 13] = this.addr3Hi;
      u32[w + 14] = 0;
      u32[w + 15] = 0;
    } else {
      u32[w + 12] = cmd[0];
      u32[w + 13] = cmd[1];
      u32[w + 14] = cmd[2];
      u32[w + 15] = cmd[3];
    }
  }

  /** Writes bytes 64..127 of a 128-byte SQE (an sqe128 ring) at word index `w`: the rest of the
   *  uring_cmd area, or zeros (no stale bytes of an earlier request reach a driver). */
  encodeTail(u32: Uint32Array, w: number): void {
    const cmd = this.cmd;
    if (cmd === undefined) u32.fill(0, w + 16, w + 32);
    else u32.set(cmd.subarray(4, 20), w + 16);
  }

  /** The SQE bytes with a given user_data (for tests and inspection): 64, or 128 as an sqe128 ring holds it. */
  toBytes(userData: number | bigint = 0, size: 64 | 128 = 64): Uint8Array {
    if (arguments.length > 2) throw new TypeError(`toBytes() takes at most two arguments (userData, size), got ${arguments.length}`);
    const ud = check64('toBytes', 'userData', userData);
    if (ud < 0) throw new RangeError(`toBytes(): "userData" must not be negative, got ${describeValue(userData)}`);
    if (size !== 64 && size !== 128) throw new RangeError(`toBytes(): "size" must be 64 or 128 (an sqe128 ring's entries), got ${describeValue(size)}`);
    if (size < this.entrySize) throw new RangeError(`toBytes(): this ${this.op.name}'s command area of ${this.cmdBytes} bytes needs a 128-byte SQE (at most 16 bytes fit in 64)`);
    const u32 = new Uint32Array(size >> 2);
    const [lo, hi] = split64(ud);
    const outer = inspecting;
    inspecting = u32;
    try {
      this.encode(u32, 0, lo, hi);
    } finally {
      inspecting = outer;
    }
    if (size === 128) this.encodeTail(u32, 0);
    return new Uint8Array(u32.buffer);
  }
}
