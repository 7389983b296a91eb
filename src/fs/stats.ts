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

/**
 * fs.Stats straight from the bytes of a struct statx, in numbers only: the same values as
 * statsFromStatx(parseStatx(b), false) (a u64 is correctly rounded once, as Number(bigint) is; the
 * kernel's tv_nsec is already in [0, 1e9)), without the dozen BigInts on the way, which were a
 * tenth of a cached stat's CPU time. `bigint`: BigIntStats through parseStatx.
 */
export function statsFromStatxBytes(b: Buffer, bigint: boolean): Stats | BigIntStats {
  if (bigint) return statsFromStatx(parseStatx(b), true);
  const u32 = (o: number): number => b.readUInt32LE(o);
  const u64 = (o: number): number => b.readUInt32LE(o) + b.readUInt32LE(o + 4) * TWO32;
  const i64 = (o: number): number => b.readUInt32LE(o) + b.readInt32LE(o + 4) * TWO32;
  // makedev: bits of minor 0-7, major 8-19, minor 20-43, major 44-63 (disjoint: a sum is the OR)
  const devOf = (ma: number, mi: number): number => (ma < 4096 ? ((ma << 8) | (mi & 0xff)) + (mi >>> 8) * 2 ** 20 : Number(makedev(ma, mi)));
  const head = [
    devOf(u32(Statx.dev_major), u32(Statx.dev_minor)),
    b.readUInt16LE(Statx.mode),
    u32(Statx.nlink),
    u32(Statx.uid),
    u32(Statx.gid),
    devOf(u32(Statx.rdev_major), u32(Statx.rdev_minor)),
    u32(Statx.blksize),
    u64(Statx.ino),
    u64(Statx.sizeField),
    u64(Statx.blocks),
  ];
  const at = [Statx.atime, Statx.mtime, Statx.ctime, Statx.btime];
  const tail = statsTakesTimespecs ? at.flatMap((o) => [i64(o), u32(o + 8)]) : at.map((o) => i64(o) * 1000 + u32(o + 8) / 1e6);
  return new StatsCtor(...head, ...tail) as Stats;
}
