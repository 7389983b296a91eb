/**
 * TcpServer: a listening socket on the ring (listen through IORING_OP_BIND/LISTEN on 6.11+, single
 * and multishot accept, the latter as an async iterator of TcpSockets), or a node:net Server's
 * adopted. The listening fd has one owner, the server, and one end, close().
 */
import type { Ring } from '../ring/ring.js';
import { RingError } from '../errors.js';
import { MultishotStream, type StreamOptions } from './stream.js';
import { boundSocket, checkHost, checkPort, socketName, nodeFd, adoptFd, ownSocketFd, closeSocketFd, type AddressInfo } from './addr.js';
import type { RecvGroup } from './recv-group.js';
import { TcpSocket, checkOptions, addStream } from './tcp.js';

export interface ListenOptions {
  port?: number;
  /** Numeric address; default '127.0.0.1' ('::' for all interfaces, v4 and v6). */
  host?: string;
  backlog?: number;
  reusePort?: boolean;
  /** Provided buffers the server's sockets receive into (default: the ring's default group). */
  group?: RecvGroup;
}

export class TcpServer implements AsyncIterable<TcpSocket> {
  readonly ring: Ring;
  /** The listening socket (owned by this server; closed by close()). */
  readonly fd: number;
  readonly #group: RecvGroup | undefined;
  #streams = new Set<MultishotStream<TcpSocket>>();
  #closed = false;

  private constructor(ring: Ring, fd: number, group: RecvGroup | undefined) {
    this.ring = ring;
    this.fd = fd;
    this.#group = group;
    ownSocketFd(fd, this);
  }

  /** socket + SO_REUSEADDR + bind + listen (through the ring on 6.11+); resolves once listening. */
  static async listen(ring: Ring, options?: ListenOptions): Promise<TcpServer> {
    const o = checkOptions('TcpServer.listen()', options);
    const port = checkPort('TcpServer.listen()', o.port ?? 0);
    const { host, family } = checkHost('TcpServer.listen()', o.host ?? '127.0.0.1');
    const fd = await boundSocket(ring, 'TcpServer.listen()', 'stream', host, family, port, { backlog: o.backlog as number | undefined, reusePort: o.reusePort === true });
    return new TcpServer(ring, fd, o.group as RecvGroup | undefined);
  }

  /** Takes over a listening node:net Server's socket (a dup; the node server is closed). */
  static adopt(ring: Ring, server: unknown, options: { group?: RecvGroup } = {}): TcpServer {
    const fd = adoptFd(nodeFd('TcpServer.adopt()', server));
    (server as { close(): void }).close();
    return new TcpServer(ring, fd, options.group);
  }

  /** { address, family, port } as node:net's server.address(). */
  address(): AddressInfo | null {
    return this.#closed ? null : socketName(this.fd, false);
  }

  get listening(): boolean {
    return !this.#closed;
  }

  /** Accepts one connection. */
  async accept(options?: { signal?: AbortSignal }): Promise<TcpSocket> {
    this.#assertOpen('accept');
    let a: { fd: number };
    try {
      a = (await this.ring.accept(this.fd, { signal: options?.signal })) as { fd: number };
    } catch (e) {
      this.#assertOpen('accept'); // close() cancelled it
      throw e;
    }
    return new TcpSocket(this.ring, a.fd, this.#group);
  }

  /**
   * Connections as they arrive, from one multishot accept (5.19; re-armed if the kernel ends it).
   * Backpressure: at `highWater` connections accepted and not taken, accepting pauses (the kernel
   * queues them in the listen backlog). Breaking out of the loop closes the ones not taken.
   */
  connections(options?: StreamOptions): MultishotStream<TcpSocket> {
    this.#assertOpen('connections');
    const s = new MultishotStream<TcpSocket>(
      this.ring,
      {
        sqe: () => this.ring.op.accept(this.fd, { multishot: true }),
        item: (res) => new TcpSocket(this.ring, res, this.#group),
        dispose: (sock) => void sock.close(),
      },
      { highWater: 512, ...options },
    );
    addStream(this.#streams, s);
    return s;
  }

  [Symbol.asyncIterator](): AsyncIterator<TcpSocket> {
    return this.connections();
  }

  /** Stops accepting and closes the listening socket (connections already accepted stay open). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#streams) s.close();
    this.#streams.clear();
    await closeSocketFd(this.ring, this, this.fd);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(m: string): void {
    if (this.#closed) throw new RingError(-9 /* EBADF */, m, { detail: 'the server is closed' });
  }
}
