/**
 * Programs that serve connections (docs/completion-programs.md, "Serving connections"): a TCP echo
 * server and a relay (proxy) run by the shipped completion programs programs/echo.bpf.c and
 * programs/relay.bpf.c, with no JavaScript wakeup per connection or per message.
 *
 * JS sets each one up and then only watches: it registers the program, gives it the fds it may use
 * (ring.allowFd), allocates its buffers as a registered region (programs never get JS memory),
 * gives it a completion queue of its own and runs it as one program request. The request ends
 * when the program has closed everything it owns; JS asks for that with a NOP whose completion is
 * posted to the program's queue with a stop tag (close() / stop()).
 */
import type { Ring } from '../ring/ring.js';
import type { Region } from '../ring/programs.js';
import { ArrayMap } from '../programs/maps.js';
import { ServingProgram, fdOf, checkSocket, intOption, checkOptions, loadShipped, pow2, errName, type SocketLike } from './program-common.js';

export type { SocketLike } from './program-common.js';
/** Entries of the programs' maps (MAX_CONNS in echo.bpf.c, MAX_PAIRS in relay.bpf.c). */
export const ECHO_MAX_CONNECTIONS = 4096;
export { RELAY_MAX_PAIRS } from './program-relay.js';
/** Region bytes before the echo server's buffers: the accept back-off timespec (10 ms). */
const ECHO_HEADER = 64;
const ECHO_BACKOFF_NS = 10_000_000n;

// ------------------------------------------------------------------ echo

/** Options of serveEcho(). */
export interface ServeEchoOptions {
  /** Connections served at once (default 256, at most 4096). The next one is accepted and closed at once (refused). */
  maxConnections?: number;
  /** Bytes per connection buffer: the most one RECV takes (default 16384). */
  bufferSize?: number;
  /** Compile the program (default: RINGFLOW_JIT != 0) or interpret it. */
  jit?: boolean;
}

/** What an echo program has done so far (read from its maps; no JS was woken to count). */
export interface EchoStats {
  /** Connections accepted, including those refused. */
  accepted: number;
  /** Accepted and closed at once: every slot was taken (maxConnections), or the server was stopping. */
  refused: number;
  /** Connections open now, and closed so far (by the peer, an error, or close()). */
  active: number;
  closed: number;
  /** Connections that ended with an error (reset, EPIPE…); each ended only itself. */
  errors: number;
  /** Bytes echoed, RECVs that brought data, SENDs that sent less than asked (the rest was sent next). */
  bytes: number;
  messages: number;
  shortSends: number;
  /** ACCEPT failures; `accepting` false once one was not transient (the socket stopped listening). */
  acceptErrors: number;
  accepting: boolean;
  /** The last error a connection or ACCEPT got (errno name). */
  lastError: string | undefined;
  /** Program runs (each reaps every CQE that is there). */
  runs: number;
}

/**
 * A TCP echo server run by programs/echo.bpf.c on `ring`, over listening socket `listen` (JS
 * created and listens on it; the program accepts). Returns at once; the program serves until
 * close(). Uses one program slot, one region (64 + maxConnections × bufferSize bytes) and one
 * completion queue of the ring.
 */
export function serveEcho(ring: Ring, listen: SocketLike, options: ServeEchoOptions = {}): EchoServerProgram {
  return new EchoServerProgram(ring, listen, options);
}

export class EchoServerProgram extends ServingProgram {
  readonly ring: Ring;
  readonly maxConnections: number;
  readonly bufferSize: number;
  /** The program's completion queue, its index in the ring's program table, its buffers. */
  readonly cq: number;
  readonly programIndex: number;
  readonly region: Region;
  /** The program runs compiled (JIT), not interpreted. */
  readonly compiled: boolean;
  /** Settles when the program request ends: after close(), or with its error (the ring closed: EAGAIN). */
  readonly done: Promise<void>;
  readonly #state: DataView;
  readonly #conns: ArrayMap;

  constructor(ring: Ring, listen: SocketLike, options: ServeEchoOptions = {}) {
    super();
    const o = checkOptions('serveEcho()', options, ['maxConnections', 'bufferSize', 'jit']);
    const fd = fdOf('serveEcho(listen)', listen);
    this.ring = ring;
    this.maxConnections = intOption('serveEcho()', o, 'maxConnections', 256, 1, ECHO_MAX_CONNECTIONS);
    this.bufferSize = intOption('serveEcho()', o, 'bufferSize', 16384, 1, 1 << 24);
    if (ECHO_HEADER + this.maxConnections * this.bufferSize > 2 ** 32)
      throw new RangeError(`serveEcho(): maxConnections × bufferSize is ${this.maxConnections * this.bufferSize} bytes; a region holds at most 2^32`);
    checkSocket('serveEcho(listen)', listen, fd, true);
    const obj = loadShipped('echo', o['jit'] as boolean | undefined, { args: 32, state: 112, conns: 32 });
    this.#state = (obj.maps.get('state') as ArrayMap).view(0);
    this.#conns = obj.maps.get('conns') as ArrayMap;
    const program = obj.program('echo');
    this.compiled = program.jitBytes > 0;
    this.programIndex = ring.registerProgram(program);
    this.region = ring.registerRegion(ECHO_HEADER + this.maxConnections * this.bufferSize);
    // every connection has one request in flight (+ its cancel at stop); ACCEPT, its cancel, a refusal, a back-off, STOP
    this.cq = ring.createCq(pow2(2 * this.maxConnections + 8));
    this.region.bytes.writeBigInt64LE(ECHO_BACKOFF_NS / 1_000_000_000n, 0);
    this.region.bytes.writeBigInt64LE(ECHO_BACKOFF_NS % 1_000_000_000n, 8);
    const args = (obj.maps.get('args') as ArrayMap).view(0);
    args.setBigUint64(0, BigInt(this.region.address) + BigInt(ECHO_HEADER), true);
    args.setBigUint64(8, BigInt(this.region.address), true);
    args.setInt32(16, fd, true);
    args.setUint32(20, this.bufferSize, true);
    args.setUint32(24, this.maxConnections, true);
    args.setUint32(28, this.cq, true);
    for (let i = 0; i < this.maxConnections; i++) {
      const c = this.#conns.view(i);
      c.setInt32(0, -1, true);
      c.setUint32(20, i + 1, true); // free list: i → i + 1; maxConnections ends it
    }
    ring.allowFd(fd);
    this.done = ring.runProgram(this.programIndex).then(
      () => undefined,
      (err: unknown) => {
        // the ring closed under the program (EAGAIN) or it failed: the connections it accepted are
        // the programs' fds, which the engine closes when the ring closes (native/policy.c
        // rf_policy_free); JS never closes them (their numbers may name other files by then)
        throw err;
      },
    );
    this.done.catch(() => undefined); // settles unobserved when nobody awaits it
  }

  /** What the program has done so far. */
  stats(): EchoStats {
    const s = this.#state;
    const n = (at: number): number => Number(s.getBigUint64(at, true));
    const last = Number(s.getBigInt64(96, true));
    return {
      accepted: n(32), refused: n(40), active: s.getUint32(24, true), closed: n(48), errors: n(56),
      bytes: n(64), messages: n(72), shortSends: n(80), acceptErrors: n(88),
      accepting: s.getUint32(8, true) === 1 && s.getUint32(4, true) === 0,
      lastError: errName(last), runs: n(104),
    };
  }
}

export { relay, RelayProgram, RelayPair, type RelayOptions, type RelayPairStats } from './program-relay.js';
