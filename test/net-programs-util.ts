/** Shared by the tests of the connection-serving programs (test/net-programs.test.ts, test/program-groups.test.ts,
 *  test/program-multishot.test.ts, test/security/net-isolation.test.ts, test/security/multishot-attack.test.ts). */
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { localPort } from './net-helpers.js';
import { CPU_TIME_SCALE } from './helpers.js';
import type { TestContext } from 'node:test';
import type { BufferGroup, Ring } from '../src/index.js';
import { boundSocket } from '../src/net/addr.js';

/** Program tests run both ways: compiled and interpreted. */
export const MODES = [{ jit: true, name: 'JIT' }, { jit: false, name: 'interpreter' }] as const;

/** A ring-mapped BufferGroup of `ring` (`incremental`: consuming buffers incrementally), or a skip
 *  of `t` naming what the kernel lacks (PBUF_RING: 5.19; IOU_PBUF_RING_INC: 6.12). */
export function ringGroup(t: TestContext, ring: Ring, options: { count: number; size: number; incremental?: boolean }): BufferGroup | undefined {
  const g = ring.bufferGroup({ ...options, kind: 'auto' });
  if (g.kind === 'legacy' || (options.incremental && g.kind !== 'incremental')) {
    t.skip(options.incremental
      ? 'this kernel has no incremental buffer groups (IOU_PBUF_RING_INC)'
      : 'this kernel has no ring-mapped buffer groups (IORING_REGISTER_PBUF_RING: the probe fell back to PROVIDE_BUFFERS)');
    void g.close();
    return undefined;
  }
  return g;
}

/** A TCP listener on 127.0.0.1 at a kernel-chosen port (bind/listen through the ring on 6.11+, the syscalls before). */
export async function listener(ring: Ring, backlog = 128): Promise<{ fd: number; port: number }> {
  const fd = await boundSocket(ring, 'listener()', 'stream', '127.0.0.1', 'ipv4', 0, { backlog });
  return { fd, port: localPort(fd) };
}

/** A node:net client that collects what it receives. */
export class Client {
  readonly socket: net.Socket;
  /** Bytes received so far (cheap to poll: `received` joins the chunks). */
  bytes = 0;
  #chunks: Buffer[] = [];
  ended = false;
  closed: Promise<void>;
  #waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#chunks.push(d); // (joined when asked: a concat per chunk copies 2 GiB for 16 MiB in 64 KiB chunks)
      this.bytes += d.length;
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('end', () => {
      this.ended = true;
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('error', () => undefined); // resets are part of some tests
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  /** Everything received so far, in one Buffer. */
  get received(): Buffer {
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!;
  }

  /** Resolves once `n` bytes in all were received (rejects on end or after `ms` × CPU_TIME_SCALE). */
  until(n: number, ms = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out with ${this.bytes} of ${n} bytes`)), ms * CPU_TIME_SCALE); // (a TCG guest is 10-30 times slower)
      const check = (): void => {
        if (this.bytes >= n) {
          clearTimeout(timer);
          resolve();
        } else if (this.ended) {
          clearTimeout(timer);
          reject(new Error(`ended with ${this.bytes} of ${n} bytes`));
        } else this.#waiters.push(check);
      };
      check();
    });
  }

  /** Resolves once the peer has ended (EOF) or the socket closed (rejects after `ms` × CPU_TIME_SCALE). */
  untilEnd(ms = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no end from the peer')), ms * CPU_TIME_SCALE);
      const check = (): void => {
        if (this.ended || this.socket.destroyed) {
          clearTimeout(timer);
          resolve();
        } else this.#waiters.push(check);
      };
      this.socket.once('close', check);
      check();
    });
  }

  /** Writes and waits until the echo of everything written so far is back. */
  async echo(data: Buffer, total: number): Promise<void> {
    this.socket.write(data);
    await this.until(total);
  }
}

/** A connected TCP pair: `ring` accepts `inner` (a ring-side fd) for a node:net client `outer`. */
export async function acceptedPair(ring: Ring, l: { fd: number; port: number }): Promise<{ fd: number; client: Client }> {
  const [a, client] = await Promise.all([ring.accept(l.fd), Client.connect(l.port)]);
  return { fd: a.fd as number, client };
}

/** The number of fds this process has open. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Polls `cond` every few ms until true (or throws after `ms`). */
export async function eventually(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms * CPU_TIME_SCALE; // an emulated CPU (QEMU's TCG) is 10-30 times slower
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A pattern of `n` bytes that differs per `seed`. */
export function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}
