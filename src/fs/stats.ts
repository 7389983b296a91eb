/**
 * fs.Stats and fs.BigIntStats from a statx(2) result, built by Node's own classes so that
 * `instanceof fs.Stats`, isFile() and the lazy Date getters are Node's: the constructors are
 * taken from objects Node made (fs.Stats is wrapped by a deprecation on Node 22+, its prototype's
 * constructor is not; BigIntStats is not exported at all). Their signature differs by line (Node
 * 26 takes seconds and nanoseconds per time), read from the constructor's length.
 *
 * Field rules are libuv's (uv__fs_statx): dev and rdev are glibc's makedev(major, minor), the
 * times are sec * 1000 + nsec / 1e6 ms; the BigInt variant keeps nanoseconds.
 */
import { Stats, statSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { parseStatx, type StatxResult } from '../ops/build.js';
import { Statx } from '../ring/abi.js';

type Ctor = new (...args: unknown[]) => unknown;
const StatsCtor = Stats.prototype.constructor as unknown as Ctor;
/** Node 26: (…, atimeS, atimeNs, mtimeS, mtimeNs, …); before: (…, atimeMs, mtimeMs, ctimeMs, birthtimeMs). */
const statsTakesTimespecs = StatsCtor.length >= 18;
let BigIntStatsCtor: Ctor | undefined;

/** glibc makedev (sys/sysmacros.h) as a bigint. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) | ((mi & 0xffffff00n) << 12n);
}

const NS = 1_000_000_000n;
/** [seconds, nanoseconds] of a statx time given in ns (floor division, nsec in [0, 1e9)). */
function timespec(ns: bigint): [bigint, bigint] {
  let s = ns / NS;
  let n = ns % NS;
  if (n < 0n) {
    n += NS;
    s -= 1n;
  }
  return [s, n];
}
const msOf = ([s, n]: [bigint, bigint]): number => Number(s) * 1000 + Number(n) / 1e6;

/** Builds fs.Stats (or fs.BigIntStats with `bigint`) from a statx result. */
export function statsFromStatx(x: StatxResult, bigint: true): BigIntStats;
export function statsFromStatx(x: StatxResult, bigint?: boolean): Stats;
export function statsFromStatx(x: StatxResult, bigint = false): Stats | BigIntStats {
  const dev = makedev(x.devMajor, x.devMinor);
  const rdev = makedev(x.rdevMajor, x.rdevMinor);
  const times = [x.atimeNs, x.mtimeNs, x.ctimeNs, x.btimeNs];
  if (bigint) {
    BigIntStatsCtor ??= Object.getPrototypeOf(statSync('/', { bigint: true })).constructor as Ctor;
    // BigInt64Array fields in Node: a u64 above 2^63 reads back negative there too
    const i64 = (v: bigint) => BigInt.asIntN(64, v);
    return new BigIntStatsCtor(
      i64(dev), BigInt(x.mode), BigInt(x.nlink), BigInt(x.uid), BigInt(x.gid), i64(rdev), BigInt(x.blksize),
      i64(x.ino), i64(x.size), i64(x.blocks),
      ...times.map((t) => { const [s, n] = timespec(t); return s * NS + n; }),
    ) as BigIntStats;
  }
  const head = [Number(dev), x.mode, x.nlink, x.uid, x.gid, Number(rdev), x.blksize, Number(x.ino), Number(x.size), Number(x.blocks)];
  const ts = times.map(timespec);
  const tail = statsTakesTimespecs ? ts.flatMap(([s, n]) => [Number(s), Number(n)]) : ts.map(msOf);
  return new StatsCtor(...head, ...tail) as Stats;
}

const TWO32 = 2 ** 32;

/** u32 and i32 views of the last buffer statsFromStatxBytes read (the cached stat's one buffer, in practice). */
let viewed: Buffer | undefined;
let w32: Uint32Array<ArrayBufferLike> = new Uint32Array(64);
let s32: Int32Array<ArrayBufferLike> = new Int32Array(w32.buffer);
/** A 4-byte-aligned copy for a buffer whose bytes do not start on a 4-byte boundary. */
const aligned = Buffer.alloc(256);

/**
 * fs.Stats straight from the bytes of a struct statx, in numbers only: the same values as
 * statsFromStatx(parseStatx(b), false) (a u64 is correctly rounded once, as Number(bigint) is; the
 * kernel's tv_nsec is already in [0, 1e9)), without the dozen BigInts on the way, which were a
 * tenth of a cached stat's CPU time; the words are read through typed-array views of the buffer
 * (made once per buffer) and Node's constructor is called with its arguments written out (a
 * spread of arrays and a Buffer method call per field were a sixth of it). `bigint`: BigIntStats
 * through parseStatx.
 */
export function statsFromStatxBytes(b: Buffer, bigint: boolean): Stats | BigIntStats {
  if (bigint) return statsFromStatx(parseStatx(b), true);
  if (b.length < 256) throw new RangeError(`statsFromStatxBytes(): a struct statx is 256 bytes, got ${b.length}`);
  if (b.byteOffset % 4 !== 0) {
    b.copy(aligned, 0, 0, 256);
    b = aligned;
  }
  if (b !== viewed) {
    w32 = new Uint32Array(b.buffer, b.byteOffset, 64);
    s32 = new Int32Array(b.buffer, b.byteOffset, 64);
    viewed = b;
  }
  const u = w32;
  const dev = devOf(u[Statx.dev_major >> 2], u[Statx.dev_minor >> 2]);
  const rdev = devOf(u[Statx.rdev_major >> 2], u[Statx.rdev_minor >> 2]);
  const mode = u[Statx.mode >> 2] & 0xffff; // stx_mode is a u16 (little-endian: the low half)
  const nlink = u[Statx.nlink >> 2];
  const uid = u[Statx.uid >> 2];
  const gid = u[Statx.gid >> 2];
  const blksize = u[Statx.blksize >> 2];
  const ino = u64(u, Statx.ino >> 2);
  const size = u64(u, Statx.sizeField >> 2);
  const blocks = u64(u, Statx.blocks >> 2);
  const A = Statx.atime >> 2, M = Statx.mtime >> 2, C = Statx.ctime >> 2, B = Statx.btime >> 2;
  if (statsTakesTimespecs)
    return new StatsCtor(dev, mode, nlink, uid, gid, rdev, blksize, ino, size, blocks,
      i64(u, s32, A), u[A + 2], i64(u, s32, M), u[M + 2], i64(u, s32, C), u[C + 2], i64(u, s32, B), u[B + 2]) as Stats;
  return new StatsCtor(dev, mode, nlink, uid, gid, rdev, blksize, ino, size, blocks,
    msAt(u, s32, A), msAt(u, s32, M), msAt(u, s32, C), msAt(u, s32, B)) as Stats;
}

/** A u64 at word `w` (correctly rounded once above 2^53: the sum of two exact halves). */
const u64 = (u: Uint32Array<ArrayBufferLike>, w: number): number => u[w] + u[w + 1] * TWO32;
/** An i64 at word `w` (the high word signed). */
const i64 = (u: Uint32Array<ArrayBufferLike>, s: Int32Array<ArrayBufferLike>, w: number): number => u[w] + s[w + 1] * TWO32;
/** A statx timestamp at word `w` (tv_sec i64, tv_nsec u32) in ms, as libuv computes it. */
const msAt = (u: Uint32Array<ArrayBufferLike>, s: Int32Array<ArrayBufferLike>, w: number): number => i64(u, s, w) * 1000 + u[w + 2] / 1e6;
/** glibc makedev in a number: bits of minor 0-7, major 8-19, minor 20-43, major 44-63 (disjoint: a sum is the OR). */
const devOf = (ma: number, mi: number): number => (ma < 4096 ? ((ma << 8) | (mi & 0xff)) + (mi >>> 8) * 2 ** 20 : Number(makedev(ma, mi)));
