/**
 * Shared setup of the write-callback attacks (write-callback-attack*.test.ts): callbacks that check
 * the contract, readers of what a peer got, unique byte patterns, fd counts, a socket filled until a
 * send waits, a ring whose SQ is full.
 */
import { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { ringFor, CPU_TIME_SCALE } from '../helpers.js';
import { Ring, TcpServer, TcpSocket } from '../../src/index.js';
import { binding } from '../../src/native.js';
import { SOL, SO } from '../../src/ops/net-abi.js';
import { fillRest } from '../net-helpers.js';
import { sleep, pair, type Group } from './write-chunk-util.js';

export type Args = unknown[];

/**
 * Write callbacks that check the contract: each one called once (a second call is recorded as a
 * violation), never while `inside` is set (set around write() and abort() calls by the test).
 */
export class Callbacks {
  inside = false;
  readonly violations: string[] = [];
  readonly outcomes = new Map<string, Args>();
  #entries = new Map<string, { promise: Promise<Args>; resolve: (a: Args) => void }>();
  #expected: string[] = [];

  #entry(name: string) {
    let e = this.#entries.get(name);
    if (!e) {
      let resolve!: (a: Args) => void;
      const promise = new Promise<Args>((r) => (resolve = r));
      this.#entries.set(name, (e = { promise, resolve }));
    }
    return e;
  }
  /** A callback named `name` (`then` runs after recording, inside the callback: may write, close, throw). */
  cb(name: string, then?: (...args: Args) => void): (...args: Args) => void {
    assert.ok(!this.#expected.includes(name), `callback name ${name} used twice`);
    this.#expected.push(name);
    const e = this.#entry(name);
    return (...args: Args) => {
      if (this.inside) this.violations.push(`${name}: called inside write() or abort()`);
      if (this.outcomes.has(name)) {
        this.violations.push(`${name}: called twice (${String(this.outcomes.get(name)![0])}, then ${String(args[0])})`);
        return;
      }
      this.outcomes.set(name, args);
      e.resolve(args);
      then?.(...args);
    };
  }
  /** Calls write() (or anything) with `inside` set. */
  during<T>(f: () => T): T {
    this.inside = true;
    try {
      return f();
    } finally {
      this.inside = false;
    }
  }
  /** What callback `name` was called with (it may not be made yet). */
  of(name: string): Promise<Args> {
    return this.#entry(name).promise;
  }
  /** Waits until every callback made so far was called (fails after `ms` × CPU_TIME_SCALE), then checks no violation. */
  async all(ms = 5000): Promise<Map<string, Args>> {
    const deadline = Date.now() + ms * CPU_TIME_SCALE; // (a loaded TCG guest is 10-40 times slower)
    while (this.outcomes.size < this.#expected.length && Date.now() < deadline) await sleep(5);
    await sleep(20); // a second call would come now
    const missing = this.#expected.filter((n) => !this.outcomes.has(n));
    assert.deepEqual(missing, [], 'every callback was called');
    assert.deepEqual(this.violations, [], 'no callback called twice or inside write()/abort()');
    return this.outcomes;
  }
}

/** Reads `client` in the background (no read ever raced and dropped) until stop(). */
export function collect(client: TcpSocket) {
  const parts: Buffer[] = [];
  let got = 0;
  let stopped = false;
  const done = (async () => {
    const b = Buffer.alloc(1 << 16);
    while (!stopped) {
      const n = await client.read(b);
      if (n <= 0) break;
      parts.push(Buffer.from(b.subarray(0, n)));
      got += n;
    }
  })().catch(() => {});
  return {
    get length() {
      return got;
    },
    bytes: () => Buffer.concat(parts),
    stop() {
      stopped = true;
      return done;
    },
  };
}

/** A unique, position-dependent pattern (bytes that cannot be confused with another write's or offset). */
export function unique(tag: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  let x = (tag * 2654435761) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export const closedMessage = /the socket is closed|ring closed|Ring is closed|closed/i;
export const isClosedError = (e: unknown) => e instanceof Error && closedMessage.test(e.message);

/** The socket-related and io_uring fds of this process (links), to tell leaks from node's own files. */
export function netFds(): string[] {
  const out: string[] = [];
  for (const f of readdirSync('/proc/self/fd')) {
    try {
      const l = readlinkSync(`/proc/self/fd/${f}`);
      if (/^socket:|io_uring|eventfd/.test(l)) out.push(`${f}=${l}`);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Server on `ring`, client on `clientRing` (so closing `ring` leaves the client able to read). */
export async function split(ring: Ring, clientRing: Ring, group: Group) {
  const server = await TcpServer.listen(ring, { port: 0, group });
  const acc = server.accept();
  const client = await TcpSocket.connect(clientRing, { port: server.address()!.port, noDelay: true, group: clientRing.bufferGroup({ count: 8, size: 65536 }) });
  const peer = await acc;
  return { server, client, peer };
}

/** Small fixed socket buffers: a send waits for room as soon as the client stops reading. */
export function smallBuffers(peer: TcpSocket, client: TcpSocket, size = 4096): void {
  assert.equal(binding.sockSetInt(peer.fd, SOL.SOCKET, SO.SNDBUF, size), 0);
  assert.equal(binding.sockSetInt(client.fd, SOL.SOCKET, SO.RCVBUF, size), 0);
}

// ------------------------------------------------------------------------------------------ careless user

export async function fillUp(ring: Ring, peer: TcpSocket): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < 4096; i++) {
    const ac = new AbortController();
    const p = ring.send(peer.fd, Buffer.alloc(4096, 2), 0, { signal: ac.signal }).catch(() => 0);
    const r = await Promise.race([p, sleep(20).then(() => -1)]);
    if (r !== -1) {
      bytes += r;
      continue;
    }
    ac.abort();
    bytes += await p;
    return bytes + (await fillRest(ring, peer.fd)); // (room can still come: see fillRest)
  }
  throw new Error('the socket never filled');
}

export async function fullSqSetup(t: TestContext) {
  const ring = ringFor(t, { entries: 4 });
  const group = ring.bufferGroup({ count: 8, size: 4096 });
  const server = await TcpServer.listen(ring, { port: 0, group });
  const A = await pair(ring, group, server);
  const B = await pair(ring, group, server);
  await sleep(10);
  const fillSq = () => {
    for (let i = 0; i < 3; i++) ring.run(ring.op.nop()).catch(() => {});
  };
  return { ring, group, server, A, B, fillSq };
}

