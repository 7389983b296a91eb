/**
 * Socket addresses: JS objects ↔ struct sockaddr_in / sockaddr_in6 / sockaddr_un bytes (x86-64,
 * include/uapi/linux/in.h, in6.h, un.h). Builders encode what bind/connect/sendto/sendmsg take;
 * accept and recvmsg parse what the kernel wrote back into the same object shape.
 */
import { types } from 'node:util';
import { describeValue as describe } from '../errors.js';
import { refusalOf } from '../ring/memory.js';
import { AF, SOCKADDR_STORAGE } from './net-abi.js';

let netModule: typeof import('node:net') | undefined;
/** node:net (its address checks), loaded at the first address parsed rather than with the opcode table. */
const net = (): typeof import('node:net') => (netModule ??= process.getBuiltinModule('node:net'));

/** An IPv4 address and port (struct sockaddr_in, 16 bytes). */
export interface SockAddrIn {
  family: 'ipv4';
  address: string;
  port: number;
}
/** An IPv6 address and port (struct sockaddr_in6, 28 bytes). */
export interface SockAddrIn6 {
  family: 'ipv6';
  address: string;
  port: number;
  flowinfo?: number;
  scopeId?: number;
}
/** A unix-domain address: a path, '\0name' for the abstract namespace, '' unnamed (struct sockaddr_un). */
export interface SockAddrUn {
  family: 'unix';
  address: string;
}
/** A socket address as ringflow returns it (accept, recvmsg). Other families keep their bytes. */
export type SockAddr = SockAddrIn | SockAddrIn6 | SockAddrUn | { family: number; bytes: Uint8Array };

/**
 * What builders accept as an address: a SockAddr; node:net style `{ address, port, family? }`
 * (family 'IPv4' / 'IPv6' / 4 / 6, or guessed from the address) or `{ path }`; or the raw bytes
 * of a struct sockaddr (at most 128, sizeof(struct sockaddr_storage)).
 */
export type SockAddrInput =
  | SockAddrIn
  | SockAddrIn6
  | SockAddrUn
  | { address: string; port: number; family?: 'IPv4' | 'IPv6' | 4 | 6; flowinfo?: number; scopeId?: number }
  | { path: string }
  | ArrayBufferView
  | ArrayBuffer;

/** sun_path's size: a path of at most 107 bytes plus its NUL, or an abstract name of 108 bytes. */
const SUN_PATH = 108;
const FAMILIES = "'ipv4', 'ipv6' or 'unix' (or node:net's 'IPv4' / 'IPv6' / 4 / 6)";

function port(w: () => string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()}.port must be an integer, got ${describe(v)}`);
  if (v < 0 || v > 0xffff) throw new RangeError(`${w()}.port must be in [0, 65535], got ${describe(v)}`);
  return v;
}

function u32(w: () => string, key: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${w()}.${key} must be an integer in [0, 4294967295], got ${describe(v)}`);
  return v;
}

function ipv4Bytes(s: string): number[] {
  return s.split('.').map(Number);
}

/** The 16 bytes of a textual IPv6 address (node:net validated it), and a numeric zone if any. */
function ipv6Bytes(w: () => string, text: string): { bytes: number[]; zone: number | undefined } {
  let s = text;
  let zone: number | undefined;
  const pct = s.indexOf('%');
  if (pct >= 0) {
    const z = s.slice(pct + 1);
    if (!/^\d+$/.test(z) || Number(z) > 0xffffffff) throw new RangeError(`${w()}.address: the zone of ${describe(text)} must be a numeric interface index (or pass scopeId)`);
    zone = Number(z);
    s = s.slice(0, pct);
  }
  // an embedded IPv4 tail (::ffff:1.2.3.4) stands for the last two groups
  let v4: number[] | undefined;
  const last = s.lastIndexOf(':');
  if (s.indexOf('.', last) >= 0) {
    v4 = ipv4Bytes(s.slice(last + 1));
    s = s.slice(0, last + 1) + '0:0';
  }
  const split = s.indexOf('::');
  const groupsOf = (part: string): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const head = groupsOf(split < 0 ? s : s.slice(0, split));
  const tail = split < 0 ? [] : groupsOf(s.slice(split + 2));
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (v4) bytes.splice(12, 4, ...v4);
  return { bytes, zone };
}

function formatIPv6(b: Uint8Array): string {
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: the longest run of two or more zero groups becomes '::' (the first of equal runs)
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function unixBytes(w: () => string, path: unknown): Buffer {
  if (typeof path !== 'string') throw new TypeError(`${w()}: a unix address must be a string path, got ${describe(path)}`);
  const abstract = path.startsWith('\0');
  const p = Buffer.from(path, 'utf8');
  if (!abstract && p.includes(0)) throw new TypeError(`${w()}: a unix path must not contain NUL bytes (a leading NUL names the abstract namespace)`);
  if (abstract ? p.length > SUN_PATH : p.length > SUN_PATH - 1)
    throw new RangeError(`${w()}: a unix ${abstract ? 'abstract name' : 'path'} must be at most ${abstract ? SUN_PATH : SUN_PATH - 1} bytes (sun_path is ${SUN_PATH}), got ${p.length}`);
  const b = Buffer.alloc(2 + p.length + (abstract || p.length === 0 ? 0 : 1));
  b.writeUInt16LE(AF.UNIX, 0);
  p.copy(b, 2);
  return b;
}

function inetBytes(w: () => string, fam: 4 | 6, o: Record<string, unknown>): Buffer {
  const address = o.address;
  if (typeof address !== 'string') throw new TypeError(`${w()}.address must be a string, got ${describe(address)}`);
  const p = port(w, o.port);
  if (fam === 4) {
    if (!net().isIPv4(address)) throw new RangeError(`${w()}.address must be an IPv4 address (dotted quad) for family ipv4, got ${describe(address)}`);
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF.INET, 0);
    b.writeUInt16BE(p, 2);
    Buffer.from(ipv4Bytes(address)).copy(b, 4);
    return b;
  }
  if (!net().isIPv6(address)) throw new RangeError(`${w()}.address must be an IPv6 address for family ipv6, got ${describe(address)}`);
  const { bytes, zone } = ipv6Bytes(w, address);
  const scope = u32(w, 'scopeId', o.scopeId);
  if (zone !== undefined && o.scopeId !== undefined && zone !== scope) throw new RangeError(`${w()}: the address's zone %${zone} and scopeId ${scope} differ`);
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF.INET6, 0);
  b.writeUInt16BE(p, 2);
  b.writeUInt32BE(u32(w, 'flowinfo', o.flowinfo), 4);
  Buffer.from(bytes).copy(b, 8);
  b.writeUInt32LE(zone ?? scope, 24);
  return b;
}

const KEYS: Record<string, ReadonlySet<string>> = {
  ipv4: new Set(['family', 'address', 'port']),
  ipv6: new Set(['family', 'address', 'port', 'flowinfo', 'scopeId']),
  unix: new Set(['family', 'address']),
  path: new Set(['path']),
};

/**
 * Encodes an address argument as the struct sockaddr bytes the kernel reads, exactly as long as
 * the family's struct (sockaddr_un: up to the path's NUL). `w` names the argument for errors.
 */
export function encodeSockaddr(w: () => string, v: unknown): Buffer {
  if (ArrayBuffer.isView(v) || types.isAnyArrayBuffer(v)) {
    const buf = (ArrayBuffer.isView(v) ? v.buffer : v) as ArrayBuffer;
    const why = refusalOf(buf);
    if (why) throw new TypeError(`${w()} ${why}`);
    const bytes = ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v as ArrayBuffer);
    if (bytes.length < 2 || bytes.length > SOCKADDR_STORAGE)
      throw new RangeError(`${w()} as raw bytes must be a struct sockaddr of 2 to ${SOCKADDR_STORAGE} bytes (sizeof(struct sockaddr_storage)), got ${bytes.length}`);
    return Buffer.from(bytes); // a copy: the kernel reads it at submission
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new TypeError(`${w()} must be an address object ({ family, address, port }, { address, port } or { path }) or struct sockaddr bytes, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  let kind: 'ipv4' | 'ipv6' | 'unix' | 'path';
  const f = o.family;
  if (f === 'ipv4' || f === 'IPv4' || f === 4) kind = 'ipv4';
  else if (f === 'ipv6' || f === 'IPv6' || f === 6) kind = 'ipv6';
  else if (f === 'unix') kind = 'unix';
  else if (f !== undefined) throw new RangeError(`${w()}.family must be ${FAMILIES}, got ${describe(f)}`);
  else if ('path' in o) kind = 'path';
  else if (typeof o.address === 'string' && net().isIPv4(o.address)) kind = 'ipv4';
  else if (typeof o.address === 'string' && net().isIPv6(o.address)) kind = 'ipv6';
  else if (typeof o.address === 'string') throw new RangeError(`${w()}.address must be an IPv4 or IPv6 address (or give family 'unix' or { path }), got ${describe(o.address)}`);
  else throw new TypeError(`${w()} needs an address: { family, address, port }, { address, port } or { path }`);
  for (const k of Object.keys(o))
    if (!KEYS[kind]!.has(k)) throw new TypeError(`${w()}: "${k}" is not a key of a${kind === 'path' ? ' { path }' : ` ${kind}`} address; it takes ${[...KEYS[kind]!].join(', ')}`);
  if (kind === 'unix') return unixBytes(w, o.address);
  if (kind === 'path') return unixBytes(w, o.path);
  return inetBytes(w, kind === 'ipv4' ? 4 : 6, o);
}

/** The address in the first `len` bytes of `b` (what accept/recvmsg/recvfrom wrote). */
export function parseSockaddr(b: Uint8Array, len: number): SockAddr | null {
  const n = Math.min(len, b.length);
  if (n < 2) return null;
  const v = new DataView(b.buffer, b.byteOffset, n);
  const family = v.getUint16(0, true);
  if (family === AF.INET && n >= 16) return { family: 'ipv4', address: `${b[4]}.${b[5]}.${b[6]}.${b[7]}`, port: v.getUint16(2, false) };
  if (family === AF.INET6 && n >= 24) {
    const out: SockAddrIn6 = { family: 'ipv6', address: formatIPv6(b.subarray(8, 24)), port: v.getUint16(2, false), flowinfo: v.getUint32(4, false) };
    out.scopeId = n >= 28 ? v.getUint32(24, true) : 0;
    return out;
  }
  if (family === AF.UNIX) {
    const p = Buffer.from(b.subarray(2, n));
    if (p.length === 0) return { family: 'unix', address: '' };
    if (p[0] === 0) return { family: 'unix', address: p.toString('utf8') }; // abstract: every byte counts
    const end = p.indexOf(0);
    return { family: 'unix', address: p.subarray(0, end < 0 ? p.length : end).toString('utf8') };
  }
  return { family, bytes: Uint8Array.from(b.subarray(0, n)) };
}

/** A sockaddr_storage area for the kernel to write an address into, with its socklen_t (128). */
export function sockaddrArea(): { area: Buffer; len: Buffer } {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(SOCKADDR_STORAGE, 0);
  return { area: Buffer.alloc(SOCKADDR_STORAGE), len };
}
