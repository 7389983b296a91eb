/**
 * The relay (proxy) pattern run by programs/relay.bpf.c: bytes move both ways between two connected
 * sockets with no JavaScript wakeup per message (docs/completion-programs.md, "Serving
 * connections"). A RelayProgram is one registered program, one region of buffers (two per pair)
 * and, per pair slot, one completion queue (created on the slot's first use, then reused); each
 * pair is one program request, whose end is the pair's end.
 */
import type { Ring } from '../ring/ring.js';
import { RingError, RingClosedError } from '../errors.js';
import type { Region } from '../ring/programs.js';
import { ArrayMap } from '../programs/maps.js';
import { STOP_TAG, fdOf, checkSocket, intOption, checkOptions, loadShipped, errName, type SocketLike } from './program-common.js';

/** Entries of relay.bpf.c's `pairs` map: the most maxPairs may say. */
export const RELAY_MAX_PAIRS = 1024;
/** CQEs one pair can have outstanding: 2 transfers, 2 shutdowns, 2 cancels, 2 closes, a stop. */
const PAIR_CQ = 16;

/** Options of new RelayProgram() and relay(). */
export interface RelayOptions {
  /** Pairs relayed at once (default 64, at most 1024); add() beyond that throws RangeError. */
  maxPairs?: number;
  /** Bytes per direction buffer: the most one RECV takes (default 16384). */
  bufferSize?: number;
  /** Compile the program (default: RINGFLOW_JIT != 0) or interpret it. */
  jit?: boolean;
}

/** What a pair has moved (read from the program's map). */
export interface RelayPairStats {
  /** Bytes sent to B that came from A, and to A from B. */
  aToB: number;
  bToA: number;
  /** RECVs that brought data, per direction. */
  messagesAToB: number;
  messagesBToA: number;
  /** SENDs that sent less than asked (the rest was sent next). */
  shortSends: number;
  /** The error that ended the pair (errno name: ECONNRESET, EPIPE…), undefined for a clean end. */
  error: string | undefined;
  /** Ended by stop(). */
  stopped: boolean;
}

/** RelayProgram's #add for relay(), which checked the pair itself (before making the program). */
let addChecked!: (r: RelayProgram, fa: number, fb: number) => RelayPair;

export class RelayProgram {
  readonly ring: Ring;
  readonly maxPairs: number;
  readonly bufferSize: number;
  readonly programIndex: number;
  readonly region: Region;
  /** The program runs compiled (JIT), not interpreted. */
  readonly compiled: boolean;
  readonly #pairs: ArrayMap;
  readonly #free: number[] = [];
  readonly #cqs: number[] = [];
  readonly #live = new Set<RelayPair>();

  constructor(ring: Ring, options: RelayOptions = {}) {
    const o = checkOptions('RelayProgram()', options, ['maxPairs', 'bufferSize', 'jit']);
    this.ring = ring;
    this.maxPairs = intOption('RelayProgram()', o, 'maxPairs', 64, 1, RELAY_MAX_PAIRS);
    this.bufferSize = intOption('RelayProgram()', o, 'bufferSize', 16384, 1, 1 << 24);
    if (2 * this.maxPairs * this.bufferSize > 2 ** 32)
      throw new RangeError(`RelayProgram(): 2 × maxPairs × bufferSize is ${2 * this.maxPairs * this.bufferSize} bytes; a region holds at most 2^32`);
    const obj = loadShipped('relay', o['jit'] as boolean | undefined, { args: 16, pairs: 96 });
    this.#pairs = obj.maps.get('pairs') as ArrayMap;
    const program = obj.program('relay');
    this.compiled = program.jitBytes > 0;
    this.programIndex = ring.registerProgram(program);
    this.region = ring.registerRegion(2 * this.maxPairs * this.bufferSize);
    const args = (obj.maps.get('args') as ArrayMap).view(0);
    args.setBigUint64(0, BigInt(this.region.address), true);
    args.setUint32(8, this.bufferSize, true);
    args.setUint32(12, this.maxPairs, true);
    for (let i = this.maxPairs - 1; i >= 0; i--) this.#free.push(i);
  }

  /** Pairs being relayed now. */
  get active(): number {
    return this.#live.size;
  }

  /**
   * Starts relaying between connected sockets `a` and `b` (allowed to programs for the pair's life:
   * the program closes its dups at the end, JS's fds stay open and JS's to close).
   * @throws RangeError when all maxPairs pairs are in use
   */
  add(a: SocketLike, b: SocketLike): RelayPair {
    const [fa, fb] = pairFds('RelayProgram.add', a, b);
    return this.#add(fa, fb);
  }

  static {
    addChecked = (r, fa, fb) => r.#add(fa, fb);
  }

  /** add() of two fds pairFds() accepted. */
  #add(fa: number, fb: number): RelayPair {
    if (this.#free.length === 0) throw new RangeError(`relay(): all ${this.maxPairs} pairs are in use (maxPairs); end one or make a RelayProgram with more`);
    // the program closes its dups of a pair's fds at the pair's end: a second pair on one of them would lose it then
    const busy = relayedFds.get(this.ring) ?? new Set<number>();
    for (const fd of [fa, fb]) if (busy.has(fd)) throw new RangeError(`relay(a, b): fd ${fd} is relayed by a live pair of this ring already (a socket relays to one peer; stop() that pair first)`);
    const slot = this.#free.pop()!;
    let cq = this.#cqs[slot];
    if (cq === undefined) cq = this.#cqs[slot] = this.ring.createCq(PAIR_CQ);
    else this.ring.cq(cq).drain(); // a stop that came after the previous pair had ended
    this.#pairs.value(slot).fill(0);
    const p = this.#pairs.view(slot);
    p.setInt32(0, fa, true);
    p.setInt32(4, fb, true);
    p.setUint32(8, cq, true);
    try {
      this.ring.allowFd(fa);
      try {
        this.ring.allowFd(fb);
      } catch (e) {
        this.ring.allowFd(fa, false); // the engine's dup of a must not outlive a pair that never began
        throw e;
      }
    } catch (e) {
      this.#free.push(slot);
      throw e;
    }
    const pair = new RelayPair(this, slot, cq, this.#pairs, fa, fb);
    this.#live.add(pair);
    busy.add(fa).add(fb);
    relayedFds.set(this.ring, busy);
    const end = (): void => {
      this.#live.delete(pair);
      this.#free.push(slot);
      busy.delete(fa);
      busy.delete(fb);
    };
    pair.done.then(end, end);
    return pair;
  }

  /** Stops every pair (RelayPair.stop()); resolves when all have ended. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#live].map((p) => p.stop()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The fds live relay pairs of a ring use (any RelayProgram of it). */
const relayedFds = new WeakMap<Ring, Set<number>>();

export class RelayPair {
  /** Settles when the pair has ended: both directions closed, an error, or stop(); resolves its stats. */
  readonly done: Promise<RelayPairStats>;
  #stopping: Promise<RelayPairStats> | undefined;
  readonly #view: DataView;

  constructor(
    readonly relay: RelayProgram,
    readonly slot: number,
    readonly cq: number,
    pairs: ArrayMap,
    readonly a: number,
    readonly b: number,
  ) {
    this.#view = pairs.view(slot);
    const snapshot = (): RelayPairStats => this.stats();
    const ring = relay.ring;
    // a program waiting when its ring closes ends with -EAGAIN (the prototype's rule): for the pair, the ring closed
    const closed = (err: unknown): never => {
      throw ring.closed && err instanceof RingError && err.code === 'EAGAIN' ? new RingClosedError('ring closed while the relay ran; it') : err;
    };
    this.done = ring.runProgram(relay.programIndex, { userData: BigInt(slot) }).then(snapshot, closed);
    this.done.catch(() => undefined); // settles unobserved when nobody awaits it
  }

  /** What the pair has moved so far. */
  stats(): RelayPairStats {
    const v = this.#view;
    const n = (at: number): number => Number(v.getBigUint64(at, true));
    return {
      aToB: n(40), bToA: n(48), messagesAToB: n(80), messagesBToA: n(88), shortSends: v.getUint32(76, true),
      error: errName(v.getInt32(72, true)), stopped: v.getUint32(68, true) === 1,
    };
  }

  /** Cancels both directions (the sockets stay open, JS's to use or close); resolves when the pair has ended. */
  stop(): Promise<RelayPairStats> {
    if (!this.#stopping) {
      const ring = this.relay.ring;
      const post = ring.closed ? Promise.resolve(0) : ring.nop({ cq: this.cq, userData: STOP_TAG }).catch(() => 0);
      this.#stopping = post.then(() => this.done).catch((err: unknown) => {
        if (!ring.closed) throw err;
        return this.stats(); // the ring closed under the pair: it has ended
      });
    }
    return this.#stopping;
  }
}

/** The RelayProgram relay() uses on each ring (made on its first call, with that call's options). */
/** The fds of a relay pair: two different connected sockets (`what` names the call in errors). */
function pairFds(what: string, a: SocketLike, b: SocketLike): [number, number] {
  const fa = fdOf(`${what}(a)`, a);
  const fb = fdOf(`${what}(b)`, b);
  if (fa === fb) throw new RangeError(`${what}(a, b): a and b are the same fd (${fa})`);
  checkSocket(`${what}(a)`, a, fa, false);
  checkSocket(`${what}(b)`, b, fb, false);
  return [fa, fb];
}

const perRing = new WeakMap<Ring, RelayProgram>();

/**
 * Relays between connected sockets `a` and `b` on `ring` through the ring's shared RelayProgram
 * (created on the first call with `options`; later calls' options must be omitted or equal).
 */
export function relay(ring: Ring, a: SocketLike, b: SocketLike, options?: RelayOptions): RelayPair {
  const [fa, fb] = pairFds('relay', a, b); // before the ring's shared RelayProgram is made with these options
  let r = perRing.get(ring);
  if (!r) {
    r = new RelayProgram(ring, options);
    perRing.set(ring, r);
  } else if (options !== undefined) {
    const o = checkOptions('relay()', options, ['maxPairs', 'bufferSize', 'jit']);
    if ((o['maxPairs'] !== undefined && o['maxPairs'] !== r.maxPairs) || (o['bufferSize'] !== undefined && o['bufferSize'] !== r.bufferSize))
      throw new TypeError(`relay(): this ring's relay was made with maxPairs ${r.maxPairs}, bufferSize ${r.bufferSize}; make a RelayProgram for other options`);
  }
  return addChecked(r, fa, fb);
}
