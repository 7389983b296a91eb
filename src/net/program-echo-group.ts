/**
 * The echo server of src/net/programs.ts with its receive buffers chosen by the kernel from a
 * provided-buffer group (programs/echo_group.bpf.c; docs/completion-programs.md, "Provided buffers
 * in programs"): a connection holds a buffer only from the RECV that filled it until its echo has
 * been sent, so N connections need far fewer than N buffers. JS grants the group to programs
 * (ring.allowBufferGroup) for the server's life and takes it back when the program has ended.
 *
 * `multishot: true` runs programs/echo_multi.bpf.c instead: one multishot ACCEPT and one multishot
 * RECV per connection, armed once, so the program submits only its SENDs (received buffers queue
 * per connection and are sent in order).
 */
import type { Ring } from '../ring/ring.js';
import type { Region } from '../ring/programs.js';
import { ArrayMap } from '../programs/maps.js';
import { BufferGroup } from '../buffers/buffer-group.js';
import { ServingProgram, fdOf, checkSocket, intOption, checkOptions, loadShipped, pow2, errName, type SocketLike } from './program-common.js';
import { ECHO_MAX_CONNECTIONS, type EchoStats } from './programs.js';

const BACKOFF_NS = 10_000_000n;

/** Options of serveEchoFromGroup(). */
export interface ServeEchoGroupOptions {
  /** The group the kernel picks receive buffers from: a ring-mapped BufferGroup of this ring (granted to programs until the server ends). */
  group: BufferGroup;
  /** Connections served at once (default 256, at most 4096). */
  maxConnections?: number;
  /** Multishot ACCEPT and RECV (programs/echo_multi.bpf.c) instead of a request per connection
   *  and per message (programs/echo_group.bpf.c). Default false. */
  multishot?: boolean;
  /** Compile the program (default: RINGFLOW_JIT != 0) or interpret it. */
  jit?: boolean;
}

/** EchoStats plus what the program did with the group's buffers. */
export interface EchoGroupStats extends EchoStats {
  /** Buffers the program gave back (rf_buf_return), and give-backs refused (never, when it works). */
  returned: number;
  returnErrors: number;
  /** RECVs that found no buffer in the group (-ENOBUFS; a multishot RECV ends with it), each
   *  retried after 10 ms. */
  noBuffers: number;
}

export function serveEchoFromGroup(ring: Ring, listen: SocketLike, options: ServeEchoGroupOptions): EchoGroupServerProgram {
  return new EchoGroupServerProgram(ring, listen, options);
}

export class EchoGroupServerProgram extends ServingProgram {
  readonly ring: Ring;
  readonly group: BufferGroup;
  readonly maxConnections: number;
  readonly cq: number;
  readonly programIndex: number;
  /** The back-off timespec (programs name only registered memory). */
  readonly region: Region;
  readonly compiled: boolean;
  /** Multishot ACCEPT and RECV (programs/echo_multi.bpf.c). */
  readonly multishot: boolean;
  /** Settles when the program request ends (and the group's grant was taken back). */
  readonly done: Promise<void>;
  readonly #state: DataView;
  readonly #conns: ArrayMap;

  constructor(ring: Ring, listen: SocketLike, options: ServeEchoGroupOptions) {
    super();
    const o = checkOptions('serveEchoFromGroup()', options, ['group', 'maxConnections', 'multishot', 'jit']);
    const fd = fdOf('serveEchoFromGroup(listen)', listen);
    const group = o['group'];
    if (!(group instanceof BufferGroup)) throw new TypeError('serveEchoFromGroup(): option "group" must be a BufferGroup');
    this.ring = ring;
    this.group = group;
    this.maxConnections = intOption('serveEchoFromGroup()', o, 'maxConnections', 256, 1, ECHO_MAX_CONNECTIONS);
    const multishot = o['multishot'] === undefined ? false : o['multishot'];
    if (typeof multishot !== 'boolean') throw new TypeError('serveEchoFromGroup(): option "multishot" must be a boolean');
    this.multishot = multishot;
    checkSocket('serveEchoFromGroup(listen)', listen, fd, true);
    const name = multishot ? 'echo_multi' : 'echo_group';
    const obj = loadShipped(name, o['jit'] as boolean | undefined, multishot ? { args: 40, state: 136, conns: 40, bufs: 8 } : { args: 40, state: 136, conns: 40 });
    this.#state = (obj.maps.get('state') as ArrayMap).view(0);
    this.#conns = obj.maps.get('conns') as ArrayMap;
    const program = obj.program(name);
    this.compiled = program.jitBytes > 0;
    ring.allowBufferGroup(group); // throws for a legacy group, another ring's, a closed one
    this.programIndex = ring.registerProgram(program);
    this.region = ring.registerRegion(64);
    // single-shot: each connection's request and its cancel, and the refusals. Multishot: also
    // every buffer of the group in a RECV CQE at once (an overflow would only wait in the engine's
    // park: multishot CQEs are never dropped)
    this.cq = ring.createCq(pow2(3 * this.maxConnections + 8 + (multishot ? group.count : 0)));
    this.region.bytes.writeBigInt64LE(BACKOFF_NS / 1_000_000_000n, 0);
    this.region.bytes.writeBigInt64LE(BACKOFF_NS % 1_000_000_000n, 8);
    const args = (obj.maps.get('args') as ArrayMap).view(0);
    args.setBigUint64(0, BigInt(group.address), true);
    args.setBigUint64(8, BigInt(this.region.address), true);
    args.setInt32(16, fd, true);
    args.setUint32(20, group.size, true);
    args.setUint32(24, this.maxConnections, true);
    args.setUint32(28, this.cq, true);
    args.setUint32(32, group.id, true);
    args.setUint32(36, group.count, true);
    for (let i = 0; i < this.maxConnections; i++) {
      const c = this.#conns.view(i);
      c.setInt32(0, -1, true);
      c.setUint32(20, i + 1, true);
      if (!multishot) c.setUint32(32, 0xffffffff, true);
    }
    ring.allowFd(fd);
    const end = (): void => {
      if (!ring.closed) ring.allowBufferGroup(group, false);
    };
    this.done = ring.runProgram(this.programIndex).then(
      () => end(),
      (err: unknown) => {
        end(); // connections left open are the programs' fds: the engine closes them with the ring
        throw err;
      },
    );
    this.done.catch(() => undefined);
  }

  stats(): EchoGroupStats {
    const s = this.#state;
    const n = (at: number): number => Number(s.getBigUint64(at, true));
    return {
      accepted: n(32), refused: n(40), active: s.getUint32(24, true), closed: n(48), errors: n(56),
      bytes: n(64), messages: n(72), shortSends: n(80), acceptErrors: n(88),
      accepting: s.getUint32(8, true) === 1 && s.getUint32(4, true) === 0,
      lastError: errName(Number(s.getBigInt64(96, true))), runs: n(104),
      returned: n(112), noBuffers: n(120), returnErrors: n(128),
    };
  }
}
