/** Expected SQE bytes for the golden tests (test/sqe-golden*.test.ts): fields named, the rest zero. */
import assert from 'node:assert/strict';
import { viewAddress } from '../src/ring/memory.js';

export interface SqeFieldsExpected {
  opcode: number;
  flags?: number;
  ioprio?: number;
  fd?: number;
  off?: bigint;
  addr?: bigint;
  len?: number;
  opFlags?: number;
  user?: bigint;
  bufIndex?: number;
  personality?: number;
  fileIndex?: number;
  addr3?: bigint;
  /** A uring_cmd area from byte 48 (up to 80 bytes in a 128-byte SQE); overrides addr3. */
  cmd?: Uint8Array;
}

/** The SQE (64 or 128 bytes) struct io_uring_sqe lays out for these fields (negative values as two's complement). */
export function expectSqe(f: SqeFieldsExpected, size: 64 | 128 = 64): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt8(f.opcode, 0);
  b.writeUInt8(f.flags ?? 0, 1);
  b.writeUInt16LE(f.ioprio ?? 0, 2);
  b.writeInt32LE(f.fd ?? 0, 4);
  b.writeBigUInt64LE(BigInt.asUintN(64, f.off ?? 0n), 8);
  b.writeBigUInt64LE(BigInt.asUintN(64, f.addr ?? 0n), 16);
  b.writeUInt32LE((f.len ?? 0) >>> 0, 24);
  b.writeUInt32LE((f.opFlags ?? 0) >>> 0, 28);
  b.writeBigUInt64LE(f.user ?? 0n, 32);
  b.writeUInt16LE(f.bufIndex ?? 0, 40);
  b.writeUInt16LE(f.personality ?? 0, 42);
  b.writeUInt32LE((f.fileIndex ?? 0) >>> 0, 44);
  b.writeBigUInt64LE(BigInt.asUintN(64, f.addr3 ?? 0n), 48);
  if (f.cmd) b.set(f.cmd, 48);
  return b;
}

/** The address of a view's first byte, as the SQE holds it. */
export const addr = (v: ArrayBufferView): bigint => BigInt(viewAddress(v));

/** Compares SQE bytes as hex (a readable diff). */
export function eq(got: Uint8Array, want: Buffer, why?: string): void {
  assert.equal(Buffer.from(got).toString('hex'), want.toString('hex'), why);
}
