/**
 * struct msghdr for SENDMSG / RECVMSG (and SENDMSG_ZC), as userspace lays it out on 64-bit
 * (struct user_msghdr, include/linux/socket.h): msg_name @0, msg_namelen @8, msg_iov @16,
 * msg_iovlen @24, msg_control @32, msg_controllen @40, msg_flags @48; 56 bytes. The kernel copies
 * the header and the iovec array while it prepares the request; it reads (sendmsg) or writes
 * (recvmsg) the data, address and control buffers while the request runs, and recvmsg writes
 * msg_namelen, msg_controllen and msg_flags back into the header: everything stays reachable
 * until the CQE (Sqe.hold).
 */
import { describeValue as describe } from '../errors.js';
import { spanAddress, viewAddress } from '../ring/memory.js';
import { bufferSpan } from './build.js';
import { split64, type Sqe } from './sqe.js';
import { MSGHDR_SIZE, SOCKADDR_STORAGE } from './net-abi.js';
import { encodeSockaddr, parseSockaddr, type SockAddr, type SockAddrInput } from './sockaddr.js';
import type { BufferLike } from './build.js';

/** What sendmsg sends: data buffers in order, the address to send to (unconnected sockets), ancillary data. */
export interface SendMsg {
  buffers?: BufferLike[];
  address?: SockAddrInput;
  control?: BufferLike;
}
/** What recvmsg fills: data buffers in order; `address: false` to not ask for the sender's address; a control area. */
export interface RecvMsg {
  buffers?: BufferLike[];
  address?: boolean;
  control?: BufferLike;
}
/** What a recvmsg promise resolves to. */
export interface Received {
  /** Bytes received (the datagram's length with MSG_TRUNC). */
  bytes: number;
  /** The sender's address (datagram sockets), or null (connected stream sockets). */
  address: SockAddr | null;
  /** msg_flags the kernel set (MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB, MSG_ERRQUEUE). */
  flags: number;
  /** Bytes of ancillary data written to `control`. */
  controlLength: number;
}

const IOVEC = 16;
const IOV_MAX = 1024;
const SEND_KEYS = new Set(['buffers', 'address', 'control']);

/**
 * Encodes `v` as a msghdr (and its iovec array, address and control) for `dir`; with a buffer
 * group the kernel picks the data buffer, so `buffers` may be omitted (or hold one whose length
 * caps the transfer). Sets the Sqe's address field through `set`, holds every piece, and for
 * recvmsg sets `parse`. Returns the total data length.
 */
export function encodeMsghdr(w: () => string, s: Sqe, v: unknown, dir: 'send' | 'recv', bufferSelect: boolean, set: (addr: number) => void): number {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v))
    throw new TypeError(`${w()} must be a message object { buffers${dir === 'send' ? ', address' : ', address: boolean'}, control }, got ${describe(v)}`);
  const m = v as Record<string, unknown>;
  for (const k of Object.keys(m)) if (!SEND_KEYS.has(k)) throw new TypeError(`${w()}: "${k}" is not a key of a message; it takes buffers, address, control`);
  const hdr = Buffer.alloc(MSGHDR_SIZE);
  const put64 = (at: number, x: number) => {
    const [lo, hi] = split64(x);
    hdr.writeUInt32LE(lo, at);
    hdr.writeUInt32LE(hi, at + 4);
  };
  // data
  let total = 0;
  const list = m.buffers;
  if (list === undefined) {
    if (!bufferSelect) throw new TypeError(`${w()}.buffers is required (an array of buffers), unless a bufferGroup gives the buffer`);
  } else {
    if (!Array.isArray(list)) throw new TypeError(`${w()}.buffers must be an array of buffers, got ${describe(list)}`);
    const max = bufferSelect ? 1 : IOV_MAX;
    if (list.length > max || (!bufferSelect && list.length === 0))
      throw new RangeError(`${w()}.buffers must hold ${bufferSelect ? '0 or 1 buffer (with a bufferGroup the kernel reads only its length)' : `1 to ${IOV_MAX} buffers (IOV_MAX)`}, got ${list.length}`);
    const iov = Buffer.alloc(IOVEC * Math.max(list.length, 1));
    for (let i = 0; i < list.length; i++) {
      const sp = bufferSpan(() => `${w()}.buffers[${i}]`, list[i]);
      const [aLo, aHi] = split64(bufferSelect ? 0 : spanAddress(sp));
      iov.writeUInt32LE(aLo, i * IOVEC);
      iov.writeUInt32LE(aHi, i * IOVEC + 4);
      iov.writeUInt32LE(sp.length >>> 0, i * IOVEC + 8);
      iov.writeUInt32LE(Math.floor(sp.length / 0x1_0000_0000), i * IOVEC + 12);
      total += sp.length;
      if (!bufferSelect) s.hold(sp.buffer);
    }
    if (list.length) {
      put64(16, viewAddress(iov));
      put64(24, list.length);
      s.hold(iov.buffer);
    }
  }
  // address
  let nameArea: Buffer | undefined;
  if (dir === 'send') {
    if (m.address !== undefined) {
      const name = encodeSockaddr(() => `${w()}.address`, m.address);
      put64(0, viewAddress(name));
      hdr.writeUInt32LE(name.length, 8);
      s.hold(name.buffer);
    }
  } else {
    if (m.address !== undefined && typeof m.address !== 'boolean') throw new TypeError(`${w()}.address of a received message is a boolean (ask for the sender's address, default true), got ${describe(m.address)}`);
    if (m.address !== false) {
      nameArea = Buffer.alloc(SOCKADDR_STORAGE);
      put64(0, viewAddress(nameArea));
      hdr.writeUInt32LE(SOCKADDR_STORAGE, 8);
      s.hold(nameArea.buffer);
    }
  }
  // ancillary data
  if (m.control !== undefined) {
    const sp = bufferSpan(() => `${w()}.control`, m.control);
    put64(32, spanAddress(sp));
    put64(40, sp.length);
    s.hold(sp.buffer);
  }
  set(viewAddress(hdr));
  s.hold(hdr.buffer);
  if (dir === 'recv')
    s.parse = (res: number): Received => ({
      bytes: res,
      address: nameArea ? parseSockaddr(nameArea, hdr.readUInt32LE(8)) : null,
      flags: hdr.readUInt32LE(48),
      controlLength: Number(hdr.readBigUInt64LE(40)),
    });
  return total;
}
