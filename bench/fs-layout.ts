/**
 * Names and contents of the fs trial's files, shared by the suite (bench/fs-files.ts writes them)
 * and the trial (bench/fs-trial.ts, which Bun runs too: nothing here imports ringflow or Node-only
 * modules beyond node:path).
 */
import { join } from 'node:path';

export const FS_SIZES = { small: 1024, medium: 64 * 1024 } as const;
export type FsSize = keyof typeof FS_SIZES;

/** Path of file i of a size (the trial computes the same names). */
export const fsFilePath = (dir: string, size: FsSize, i: number) => join(dir, size, `f${i}`);
export const randomFilePath = (dir: string) => join(dir, 'random.dat');

/** Stamps file i: its index and length in the first 8 bytes, the rest a byte pattern. */
export function stampFile(buf: Buffer, i: number): void {
  for (let k = 8; k < buf.length; k++) buf[k] = (k * 31 + i) & 0xff;
  buf.writeUInt32LE(i >>> 0, 0);
  buf.writeUInt32LE(buf.length >>> 0, 4);
}

/** Does a read file carry its stamp? (index, length, and the last byte) */
export function checkFile(buf: Uint8Array, i: number, len: number): boolean {
  if (buf.length !== len) return false;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return v.getUint32(0, true) === i >>> 0 && v.getUint32(4, true) === len && buf[len - 1] === (((len - 1) * 31 + i) & 0xff);
}

