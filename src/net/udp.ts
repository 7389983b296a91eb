/**
 * UDP on the ring: a bound datagram socket that sends to an address (IORING_OP_SEND with a
 * destination) and receives messages with their sender (IORING_OP_RECVMSG). The socket's fd has
 * one owner, the UdpSocket, and one end, close().
 */
import type { Ring } from '../ring/ring.js';
import { RingError, describeValue } from '../errors.js';
import { boundSocket, checkHost, checkPort, socketName, ownSocketFd, closeSocketFd, hostPort, naming, type AddressInfo, toAddressInfo } from './addr.js';

export interface Datagram {
  /** The message (a copy: yours to keep). */
  data: Buffer;
  /** Who sent it. */
  address: AddressInfo | null;
  /** MSG_TRUNC: the message was longer than `maxMessage` and was cut. */
  truncated: boolean;
}

/** MSG_TRUNC in recvmsg's flags. */
const MSG_TRUNC = 0x20;

export class UdpSocket implements AsyncIterable<Datagram> {
  readonly ring: Ring;
  readonly fd: number;
  readonly #family: 'ipv4' | 'ipv6';
  readonly #max: number;
  #closing: Promise<void> | undefined;
  #aborter = new AbortController();

  private constructor(ring: Ring, fd: number, family: 'ipv4' | 'ipv6', maxMessage: number) {
    this.ring = ring;
    this.fd = fd;
    this.#family = family;
    this.#max = maxMessage;
    ownSocketFd(fd, this);
  }

  /** A datagram socket bound to host:port (port 0: any). `maxMessage`: receive size, default 65535. */
  static async bind(ring: Ring, options: { port?: number; host?: string; maxMessage?: number; reusePort?: boolean } = {}): Promise<UdpSocket> {
    if (options === null || typeof options !== 'object') throw new TypeError(`UdpSocket.bind(): options must be an object, got ${describeValue(options)}`);
    const port = checkPort('UdpSocket.bind()', options.port ?? 0);
    const { host, family } = checkHost('UdpSocket.bind()', options.host ?? '127.0.0.1');
    const max = options.maxMessage ?? 65535;
    if (!Number.isInteger(max) || max < 1 || max > 65535) throw new RangeError(`UdpSocket.bind(): "maxMessage" must be an integer in [1, 65535], got ${describeValue(max)}`);
    const fd = await boundSocket(ring, 'UdpSocket.bind()', 'dgram', host, family, port, { reusePort: options.reusePort === true });
    return new UdpSocket(ring, fd, family, max);
  }

  address(): AddressInfo | null {
    return this.#closing ? null : socketName(this.fd, false); // (once closing, the fd number may name another socket)
  }

  /** Sends one datagram to host:port; resolves the bytes sent. */
  async send(data: Uint8Array | string, port: number, host = '127.0.0.1'): Promise<number> {
    this.#assertOpen('send');
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    if (!(b instanceof Uint8Array)) throw new TypeError(`UdpSocket.send(): "data" must be a string or a Uint8Array, got ${describeValue(data)}`);
    checkPort('UdpSocket.send()', port);
    const h = checkHost('UdpSocket.send()', host);
    try {
      return await this.ring.send(this.fd, b, 0, { to: { family: h.family, address: h.host, port } });
    } catch (e) {
      throw naming(e, `to ${hostPort(h.host, port)}`, e instanceof RingError && e.code === 'EINVAL' ? this.#sendHint(h.host) : undefined);
    }
  }

  /** Why a send to `to` may be EINVAL: a socket bound to a loopback address cannot reach another host. */
  #sendHint(to: string): string | undefined {
    const from = this.address()?.address;
    const loopback = (a: string): boolean => a === '::1' || a.startsWith('127.');
    if (from === undefined || !loopback(from) || loopback(to)) return undefined;
    return `this socket is bound to ${from}, a loopback address, which cannot send to another host: bind it to '0.0.0.0' (or '::') or to an address of the interface that reaches ${to}`;
  }

  /** Receives one datagram. */
  async receive(options?: { signal?: AbortSignal }): Promise<Datagram> {
    this.#assertOpen('receive');
    const buf = Buffer.allocUnsafe(this.#max);
    let r;
    try {
      r = await this.ring.recvmsg(this.fd, { buffers: [buf], address: true }, 0, { signal: options?.signal });
    } catch (e) {
      this.#assertOpen('receive'); // close() cancelled it
      throw e;
    }
    return { data: Buffer.from(buf.subarray(0, Math.min(r.bytes, this.#max))), address: toAddressInfo(r.address), truncated: (r.flags & MSG_TRUNC) !== 0 };
  }

  /** Datagrams as they arrive; ends when the socket is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Datagram> {
    const signal = this.#aborter.signal;
    while (!this.#closing) {
      try {
        yield await this.receive({ signal });
      } catch (e) {
        if (this.#closing) return;
        throw e;
      }
    }
  }

  get family(): 'ipv4' | 'ipv6' {
    return this.#family;
  }

  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#aborter.abort();
      await closeSocketFd(this.ring, this, this.fd);
    })());
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(m: string): void {
    if (this.#closing) throw new RingError(-9 /* EBADF */, m, { detail: 'the socket is closed' });
  }
}
