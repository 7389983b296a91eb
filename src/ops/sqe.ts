/**
 * One submission queue entry, prepared in JS before it is copied into the mapped SQE array.
 * Builders (src/ops/build.ts) fill it from the opcode table; link/drain/skip flags are set on it
 * before submission (tokio-rs/io-uring's `Entry` + `.flags()`; liburing's io_uring_sqe_set_flags).
 */
import { SqeFlags } from '../ring/abi.js';
import type { OpDesc } from './table.js';

/** A slot in the ring's registered file table, used instead of a process fd (sets IOSQE_FIXED_FILE). */
export class FixedFile {
  readonly index: number;
  constructor(index: number) {
    if (!Number.isInteger(index) || index < 0 || index > 0x7fffffff)
      throw new RangeError(`FixedFile index must be an integer in [0, 2^31), got ${index}`);
    this.index = index;
  }
}
/** Shorthand for `new FixedFile(index)`. */
export const fixed = (index: number): FixedFile => new FixedFile(index);

/** A file descriptor argument: a process fd or a registered slot. */
export type Fd = number | FixedFile;

const TWO32 = 0x1_0000_0000;

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
  /** Memory kept reachable until the CQE (buffers, iovec arrays, paths, timespecs). */
  keep: object[] | undefined;
  /** Turns a successful res into the promise's value (statx parses its buffer). */
  parse: ((res: number) => unknown) | undefined;
  /** Requested transfer length for read/write family ops (a short result breaks a link). */
  expect = -1;

  constructor(op: OpDesc) {
    this.op = op;
    this.opcode = op.code;
  }

  /** IOSQE_IO_LINK: the next request in the same submission starts after this one succeeds. */
  link(): this {
    this.flags |= SqeFlags.IO_LINK;
    return this;
  }
  /** IOSQE_IO_HARDLINK: like link(), but the chain continues even if this one fails. */
  hardlink(): this {
    this.flags |= SqeFlags.IO_HARDLINK;
    return this;
  }
  /** IOSQE_IO_DRAIN: start only after all earlier requests completed. */
  drain(): this {
    this.flags |= SqeFlags.IO_DRAIN;
    return this;
  }
  /** IOSQE_ASYNC: go straight to the kernel's worker pool. */
  async(): this {
    this.flags |= SqeFlags.ASYNC;
    return this;
  }
  /** IOSQE_CQE_SKIP_SUCCESS: post no CQE on success (5.17). Its promise resolves with undefined once a later request of the chain completes. */
  skipSuccess(): this {
    this.flags |= SqeFlags.CQE_SKIP_SUCCESS;
    return this;
  }
  /** Sets the 64-bit `off` field. */
  setOff(v: number | bigint): this {
    [this.offLo, this.offHi] = split64(v);
    return this;
  }
  setAddr(v: number | bigint): this {
    [this.addrLo, this.addrHi] = split64(v);
    return this;
  }
  setAddr3(v: number | bigint): this {
    [this.addr3Lo, this.addr3Hi] = split64(v);
    return this;
  }
  /** Keeps `o` reachable until the CQE. */
  hold(o: object): this {
    (this.keep ??= []).push(o);
    return this;
  }

  /** Writes the 64 bytes at word index `w` (= byte offset / 4) of `u32`. */
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
    u32[w + 12] = this.addr3Lo;
    u32[w + 13] = this.addr3Hi;
    u32[w + 14] = 0;
    u32[w + 15] = 0;
  }

  /** The 64 SQE bytes with a given user_data (for tests and inspection). */
  toBytes(userData: number | bigint = 0): Uint8Array {
    const u32 = new Uint32Array(16);
    const [lo, hi] = split64(userData);
    this.encode(u32, 0, lo, hi);
    return new Uint8Array(u32.buffer);
  }
}
