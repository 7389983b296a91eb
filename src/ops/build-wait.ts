/**
 * Encoders for the parameter kinds of the waiting opcodes (src/ops/ops-core.ts: poll, epoll,
 * futex, waitid, timeouts; READ_MULTISHOT's group; NOP's file): build.ts calls applyWaitParam
 * for the kinds in WAIT_KINDS. Each check throws ringflow's TypeError/RangeError naming the
 * argument.
 *
 * Requests by name: ringflow owns every request's user_data (slot and generation, src/ring/requests.ts),
 * so a request that names another one (POLL_REMOVE, TIMEOUT_REMOVE) takes the other's Sqe (or the
 * promise of ring.pollAdd() / ring.timeout()): a poll or timer Sqe remembers the user_data it was
 * last submitted with and the ring it went to, and the naming request reads them when it is
 * written into the SQ — after the request it names, which was queued first (the SQ and the JS
 * backlog keep order). On another ring than that one it names nothing (ENOENT): a user_data is a
 * slot and generation of one ring's request table, and on another ring it is some unrelated request's.
 *
 * Kinds:
 * - pollMask: POLL.* mask (an int32 or u32: EPOLL.ET | EPOLL.IN is negative in JS) or event names → u32; the Sqe can be named
 * - pollUpdate: like pollMask, and IORING_POLL_UPDATE_EVENTS in len (POLL_REMOVE)
 * - newUserData: u64 → off, and IORING_POLL_UPDATE_USER_DATA in len (POLL_REMOVE)
 * - target: a user_data (number | bigint), or a nameable Sqe / its promise → addr, resolved at submission
 * - timerSpec: a timespec (as build.ts's) whose Sqe can be named (TIMEOUT, LINK_TIMEOUT)
 * - timerUpdate: the new timespec of TIMEOUT_REMOVE → off, and UPDATE (| LINK_TIMEOUT_UPDATE for a linkTimeout target)
 * - futexWord: Int32Array / Uint32Array (BigInt64Array / BigUint64Array: FUTEX2_SIZE_U64) → addr, FUTEX2_* | PRIVATE → fd
 * - futexIndex: element index, added to addr; futexValue: expected value / mask of the word's size; futexShared: clears PRIVATE
 * - futexCount: waiters to wake, [0, INT_MAX]; futexWaitv: struct futex_waitv array → addr, count → len
 * - epollEvent: { events, data = fd } → struct epoll_event (12 bytes, packed) at addr; null with EPOLL_CTL_DEL
 * - epollEvents: maxevents → len and an events array at addr, parsed into [{ events, data }]
 * - siginfo: internal: a siginfo_t at `field`, parsed into { pid, uid, code, status } (null: nothing to report)
 * - nopFile: a process fd, or a FixedFile (also `bit`: IORING_NOP_FIXED_FILE) → fd
 * - mshotGroup: a provided-buffer group (a BufferGroup, or its id) with IOSQE_BUFFER_SELECT; marks the Sqe multishot
 */
import type { OpDesc, ParamDesc, ParamKind } from './desc.js';
import { Sqe, FixedFile, isInspection } from './sqe.js';
import { SqeFlags } from '../ring/abi.js';
import { spanAddress, viewAddress } from '../ring/memory.js';
import { describeValue as describe } from '../errors.js';
import { bufferSpan, setField } from './build.js';
import { POLL_FLAGS, POLL_EVENT_NAMES, EPOLL_CTL, EPOLL_EVENT_SIZE, EPOLL_MAX_EVENTS, FUTEX2, FUTEX_WAITV_MAX, FUTEX_WAITV_SIZE, SIGINFO } from './wait-abi.js';

/** The parameter kinds this module encodes. */
export const WAIT_KINDS: ReadonlySet<ParamKind> = new Set<ParamKind>([
  'pollMask', 'pollUpdate', 'newUserData', 'target', 'timerSpec', 'timerUpdate', 'futexWord', 'futexIndex',
  'futexValue', 'futexShared', 'futexCount', 'futexWaitv', 'epollEvent', 'epollEvents', 'siginfo', 'nopFile', 'mshotGroup',
]);

function int(w: () => string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${w()} must be in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

// ------------------------------------------------------------------ requests by name

/**
 * Where a remembered Sqe was last written: `sq`, the SQE array's id (sqIdOf: one per ring; NONE:
 * not yet; INSPECTED: a toBytes() call, no ring), and the user_data's low and high words. One
 * record per Sqe, made when it is built and updated in place: nothing is allocated per submission.
 */
interface Submitted {
  sq: number;
  lo: number;
  hi: number;
}
const NONE = 0;
const INSPECTED = -1;
/** The record of each Sqe that can be named (remember()). */
const submittedAs = new WeakMap<Sqe, Submitted>();
/** The promise of ring.pollAdd() / ring.timeout() → its Sqe (methods-wait.ts registers them). */
const promised = new WeakMap<object, Sqe>();
/** A user_data no ringflow request has (generations are 31-bit; 0xfffffffd is no tag): the kernel answers ENOENT. */
const UNSUBMITTED_HI = 0xfffffffd;
const ENCODE = Sqe.prototype.encode;

/**
 * An id per SQE array written into: a ring's SQE array is one object for the ring's life, so its
 * id names the ring. Weak, and ids are never reused: a record never holds a ring's (mapped) memory,
 * and a ring made after another was collected never gets its id.
 */
const sqIds = new WeakMap<Uint32Array, number>();
let lastSqId = 0;
function sqIdOf(u32: Uint32Array): number {
  let id = sqIds.get(u32);
  if (id === undefined) sqIds.set(u32, (id = ++lastSqId));
  return id;
}

/**
 * Makes `s` remember the user_data it is submitted with, and the ring (its encode() records them).
 * toBytes() with a non-zero userData records too, as an inspection that names nothing on a ring;
 * ringflow's own user_data is never (0, 0) in practice (generation 0 comes after 2^31 reuses of
 * slot 0), so toBytes() alone does not.
 */
function remember(s: Sqe): void {
  const at: Submitted = { sq: NONE, lo: 0, hi: 0 };
  submittedAs.set(s, at);
  s.encode = function (this: Sqe, u32: Uint32Array, w: number, lo: number, hi: number) {
    ENCODE.call(this, u32, w, lo, hi);
    if (lo !== 0 || hi !== 0) {
      at.sq = isInspection(u32) ? INSPECTED : sqIdOf(u32);
      at.lo = lo;
      at.hi = hi;
    }
  };
}

/** Registers the Sqe a promise method submitted (ring.pollAdd(), ring.timeout()), so the promise can name it. */
export function namePromise(promise: object, sqe: Sqe): void {
  promised.set(promise, sqe);
}

/** The Sqe a target argument names: an Sqe ringflow remembers, or a registered promise; undefined for a user_data number. */
export function targetSqe(w: () => string, v: unknown): Sqe | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return undefined;
  const sqe = v instanceof Sqe ? v : v !== null && typeof v === 'object' ? promised.get(v) : undefined;
  if (!sqe) throw new TypeError(`${w()} must be a user_data (number or bigint), or the Sqe or promise of a poll or timeout this ring runs, got ${describe(v)}`);
  if (!submittedAs.has(sqe))
    throw new TypeError(`${w()}: this ${sqe.op.name} Sqe cannot be named (only polls and timeouts built by ringflow's builders remember their user_data)`);
  return sqe;
}

/**
 * The user_data `target` was last submitted with, written into addr when `s` is written into the
 * SQ — if that submission went into this same SQ (the ring `s` runs on); otherwise (never
 * submitted, last submitted on another ring, or only inspected) a user_data no request has. In
 * toBytes() (an inspection), the user_data of its last submission wherever it went.
 */
function addressTarget(s: Sqe, target: Sqe): void {
  const at = submittedAs.get(target)!;
  s.encode = function (this: Sqe, u32: Uint32Array, w: number, lo: number, hi: number) {
    ENCODE.call(this, u32, w, lo, hi);
    const named = at.sq !== NONE && (at.sq === sqIds.get(u32) || isInspection(u32));
    u32[w + 4] = named ? at.lo : 0;
    u32[w + 5] = named ? at.hi : UNSUBMITTED_HI;
  };
}

/** The target Sqe of a naming request (TIMEOUT_REMOVE's update picks its flag from it). */
const targets = new WeakMap<Sqe, Sqe>();

/** The Sqe a poll or timeout remove / update names, when it was given one (not a user_data). */
export function namedSqe(s: Sqe): Sqe | undefined {
  return targets.get(s);
}

/**
 * The submitCheck of a POLL_REMOVE with a new user_data: on a Ring every poll is a ringflow
 * request, whose CQEs find their promise by the user_data ringflow gave it; with another one they
 * would reach nobody (the promise never settles, ring.close() waits for it for good). So the new
 * user_data must be the one the poll has (the kernel's flag is still exercised), and on a ring whose
 * program engine gives requests tags of its own none is accepted. Other values are for toBytes()
 * (a raw ring of one's own).
 */
function checkNewUserData(s: Sqe, method: string, engine: boolean): void {
  const t = targets.get(s);
  const at = t === undefined ? undefined : submittedAs.get(t)!;
  const [lo, hi] = at === undefined ? [s.addrLo, s.addrHi] : [at.lo, at.hi];
  if (engine || (at !== undefined && at.sq === NONE) || s.offLo !== lo || s.offHi !== hi)
    throw new RangeError(
      `${method}: a pollRemove/pollUpdate with newUserData (IORING_POLL_UPDATE_USER_DATA) other than the poll's own user_data${engine ? ' (on a ring with completion programs: none)' : ''} would give its completions a user_data no request of this ring has, so they would reach nobody and its promise would never settle; a ringflow request keeps its own (other values are for toBytes(), raw rings)`,
    );
}

// ------------------------------------------------------------------ value encoders

function pollMask(w: () => string, v: unknown): number {
  if (Array.isArray(v)) {
    let m = 0;
    for (const [i, n] of v.entries()) {
      if (typeof n !== 'string' || !Object.hasOwn(POLL_EVENT_NAMES, n))
        throw new RangeError(`${w()}[${i}] must be one of ${Object.keys(POLL_EVENT_NAMES).map((k) => `'${k}'`).join(', ')}, got ${describe(n)}`);
      m |= POLL_EVENT_NAMES[n]!;
    }
    return m;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be a POLL.* mask (an integer) or an array of event names such as ['in', 'out'], got ${describe(v)}`);
  // poll32_events: the low 16 bits are the events, the high ones EPOLLET and the like (EPOLL.ET | EPOLL.IN is a negative int32 in JS)
  return int(w, v, -0x80000000, 0xffffffff) >>> 0;
}

/** A futex word: the typed array it lives in (addr = its base until futexIndex adds the element). */
const words = new WeakMap<Sqe, { array: Int32Array | Uint32Array | BigInt64Array | BigUint64Array; size: number }>();

function futexArray(w: () => string, v: unknown): { array: Int32Array | Uint32Array | BigInt64Array | BigUint64Array; size: number } {
  if (v instanceof Int32Array || v instanceof Uint32Array) return { array: v, size: FUTEX2.SIZE_U32 };
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return { array: v, size: FUTEX2.SIZE_U64 };
  throw new TypeError(`${w()} must be an Int32Array or Uint32Array (or BigInt64Array / BigUint64Array for a 64-bit futex), usually over a SharedArrayBuffer, got ${describe(v)}`);
}

/** A futex value (expected value, mask) of the word's size: u32 (an int32 is taken as its bits) or u64. */
function futexValue(w: () => string, v: unknown, size: number, nonZero: boolean): number | bigint {
  let out: number | bigint;
  if (size === FUTEX2.SIZE_U64) {
    if (typeof v === 'number' && Number.isSafeInteger(v)) v = BigInt(v);
    if (typeof v !== 'bigint') throw new TypeError(`${w()} must be a bigint (or a safe integer) for a 64-bit futex, got ${describe(v)}`);
    if (v < -(2n ** 63n) || v > 2n ** 64n - 1n) throw new RangeError(`${w()} must be in [-2^63, 2^64 - 1], got ${describe(v)}`);
    out = BigInt.asUintN(64, v);
  } else {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${w()} must be an integer for a 32-bit futex, got ${describe(v)}`);
    if (v < -0x80000000 || v > 0xffffffff) throw new RangeError(`${w()} must be in [-2147483648, 4294967295] (the 32 bits of the word), got ${describe(v)}`);
    out = v >>> 0;
  }
  if (nonZero && (out === 0 || out === 0n)) throw new RangeError(`${w()} must not be 0 (a wait with mask 0 matches no wake; the kernel refuses it)`);
  return out;
}

interface Waiter {
  word: unknown;
  index?: unknown;
  expected: unknown;
  shared?: unknown;
}
const WAITER_KEYS = new Set(['word', 'index', 'expected', 'shared']);

function futexWaitv(s: Sqe, w: () => string, v: unknown): void {
  if (!Array.isArray(v)) throw new TypeError(`${w()} must be an array of { word, index, expected, shared? }, got ${describe(v)}`);
  if (v.length === 0 || v.length > FUTEX_WAITV_MAX) throw new RangeError(`${w()} must hold 1 to ${FUTEX_WAITV_MAX} futexes (FUTEX_WAITV_MAX), got ${v.length}`);
  const b = Buffer.alloc(v.length * FUTEX_WAITV_SIZE);
  for (const [i, e] of (v as unknown[]).entries()) {
    const at = (): string => `${w()}[${i}]`;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new TypeError(`${at()} must be { word, index, expected, shared? }, got ${describe(e)}`);
    for (const k of Object.keys(e)) if (!WAITER_KEYS.has(k)) throw new TypeError(`${at()} takes word, index, expected, shared; got "${k}"`);
    const o = e as Waiter;
    const { array, size } = futexArray(() => `${at()}.word`, o.word);
    const index = int(() => `${at()}.index`, o.index ?? 0, 0, array.length - 1);
    const shared = o.shared ?? false;
    if (typeof shared !== 'boolean') throw new TypeError(`${at()}.shared must be a boolean, got ${describe(shared)}`);
    const span = bufferSpan(() => `${at()}.word`, array);
    const val = futexValue(() => `${at()}.expected`, o.expected, size, false);
    const off = i * FUTEX_WAITV_SIZE;
    b.writeBigUInt64LE(BigInt(val), off);
    b.writeBigUInt64LE(BigInt(spanAddress(span) + index * array.BYTES_PER_ELEMENT), off + 8);
    b.writeUInt32LE(size | (shared ? 0 : FUTEX2.PRIVATE), off + 16);
    s.hold(span.buffer);
  }
  setField(s, 'addr', viewAddress(b));
  s.hold(b.buffer);
  s.len = v.length;
}

export interface EpollEvent {
  /** EPOLL* bits: what the file is ready for (epollWait), or what to watch (epollCtl). */
  events: number;
  /** The 64 bits given with epollCtl (default: the fd). */
  data: bigint;
}

function epollEvent(s: Sqe, w: () => string, v: unknown): void {
  if (v === null && s.len === EPOLL_CTL.DEL) return; // EPOLL_CTL_DEL reads no event
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${w()} must be { events, data? }${s.len === EPOLL_CTL.DEL ? ' or null' : ` (null only with 'del')`}, got ${describe(v)}`);
  for (const k of Object.keys(v)) if (k !== 'events' && k !== 'data') throw new TypeError(`${w()} takes events and data, got "${k}"`);
  const o = v as { events?: unknown; data?: unknown };
  const events = pollMask(() => `${w()}.events`, o.events);
  let data = o.data ?? s.offLo; // default: the fd the event is for
  if (typeof data === 'number') {
    if (!Number.isSafeInteger(data) || data < 0) throw new RangeError(`${w()}.data must be a non-negative safe integer or a bigint, got ${describe(data)}`);
    data = BigInt(data);
  }
  if (typeof data !== 'bigint') throw new TypeError(`${w()}.data must be a number or bigint, got ${describe(data)}`);
  if (data < 0n || data > 2n ** 64n - 1n) throw new RangeError(`${w()}.data must be in [0, 2^64 - 1], got ${describe(data)}`);
  const b = Buffer.alloc(EPOLL_EVENT_SIZE);
  b.writeUInt32LE(events, 0);
  b.writeBigUInt64LE(data, 4);
  setField(s, 'addr', viewAddress(b));
  s.hold(b.buffer);
}

export interface WaitidResult {
  /** The child's pid. */
  pid: number;
  /** Its real uid. */
  uid: number;
  /** What happened: CLD.EXITED, KILLED, DUMPED, STOPPED, TRAPPED, CONTINUED. */
  code: number;
  /** The exit status (EXITED) or the signal (the others). */
  status: number;
}

/**
 * Encodes `v` (given, or the param's default) for a waiting parameter kind. `as` encodes a value
 * with one of build.ts's own kinds.
 */
export function applyWaitParam(op: OpDesc, s: Sqe, p: ParamDesc, v: unknown, opts: Record<string, unknown>, w: () => string, as: (kind: ParamKind, v: unknown) => void): void {
  switch (p.kind) {
    case 'pollMask':
      setField(s, p.field, pollMask(w, v));
      remember(s);
      return;
    case 'pollUpdate':
      setField(s, p.field, pollMask(w, v));
      s.len |= POLL_FLAGS.UPDATE_EVENTS;
      return;
    case 'newUserData':
      as('u64', v);
      s.len |= POLL_FLAGS.UPDATE_USER_DATA;
      s.submitCheck = (method, engine) => checkNewUserData(s, method, engine);
      return;
    case 'target': {
      const t = targetSqe(w, v);
      if (!t) return as('userData', v);
      targets.set(s, t);
      addressTarget(s, t);
      return;
    }
    case 'timerSpec':
      as('timespec', v);
      remember(s);
      return;
    case 'timerUpdate': {
      // the new time of TIMEOUT_REMOVE's update (addr2): IORING_TIMEOUT_UPDATE (0x2), plus
      // IORING_LINK_TIMEOUT_UPDATE (0x10) for a link timeout (io_timeout_remove treats a request
      // without UPDATE as a removal whatever else it says, and removal never finds link timeouts)
      as('timespec', v);
      if (opts.timeoutFlags === undefined) s.opFlags |= targets.get(s)?.op.name === 'linkTimeout' ? 0x12 : 0x2;
      return;
    }
    case 'futexWord': {
      const a = futexArray(w, v);
      const span = bufferSpan(w, a.array);
      words.set(s, a);
      setField(s, p.field, spanAddress(span));
      s.hold(span.buffer);
      s.fd = a.size | FUTEX2.PRIVATE;
      return;
    }
    case 'futexIndex': {
      const a = words.get(s)!;
      const i = int(w, v, 0, a.array.length - 1);
      setField(s, p.field, (s.addrLo + s.addrHi * 0x1_0000_0000) + i * a.array.BYTES_PER_ELEMENT);
      return;
    }
    case 'futexValue':
      setField(s, p.field, futexValue(w, v, words.get(s)!.size, p.name === 'mask'));
      return;
    case 'futexShared':
      if (typeof v !== 'boolean') throw new TypeError(`${w()} must be a boolean, got ${describe(v)}`);
      if (v) s.fd &= ~FUTEX2.PRIVATE;
      return;
    case 'futexCount':
      setField(s, p.field, int(w, v, 0, 0x7fffffff));
      return;
    case 'futexWaitv':
      futexWaitv(s, w, v);
      return;
    case 'epollEvent':
      epollEvent(s, w, v);
      return;
    case 'epollEvents': {
      const max = int(w, v, 1, EPOLL_MAX_EVENTS);
      const b = Buffer.alloc(max * EPOLL_EVENT_SIZE);
      setField(s, p.field, viewAddress(b));
      s.hold(b.buffer);
      s.len = max;
      s.parse = (res: number): EpollEvent[] => {
        const out: EpollEvent[] = [];
        for (let i = 0; i < res; i++) out.push({ events: b.readUInt32LE(i * EPOLL_EVENT_SIZE), data: b.readBigUInt64LE(i * EPOLL_EVENT_SIZE + 4) });
        return out;
      };
      return;
    }
    case 'siginfo': {
      const b = Buffer.alloc(SIGINFO.size);
      setField(s, p.field, viewAddress(b));
      s.hold(b.buffer);
      // WNOHANG with no child to report: res 0 and si_signo 0
      s.parse = (): WaitidResult | null =>
        b.readInt32LE(SIGINFO.signo) === 0
          ? null
          : { pid: b.readInt32LE(SIGINFO.pid), uid: b.readUInt32LE(SIGINFO.uid), code: b.readInt32LE(SIGINFO.code), status: b.readInt32LE(SIGINFO.status) };
      return;
    }
    case 'nopFile':
      // IORING_NOP_FILE looks the file up; a slot with IORING_NOP_FIXED_FILE (nop.c, 6.13), not IOSQE_FIXED_FILE
      if (v instanceof FixedFile) {
        s.fd = v.index;
        s.opFlags |= p.bit!;
      } else {
        s.fd = int(w, v, 0, 0x7fffffff);
      }
      return;
    case 'mshotGroup': {
      // READ_MULTISHOT: always multishot, always from a provided-buffer group
      const group = v as { id?: unknown; selectedBy?: unknown };
      if (v !== null && typeof v === 'object' && typeof group.id === 'number' && typeof group.selectedBy === 'function') {
        s.selectBuffer(v as Parameters<Sqe['selectBuffer']>[0]);
      } else {
        s.bufIndex = int(w, v, 0, 0xffff);
        s.flags |= SqeFlags.BUFFER_SELECT;
      }
      s.multishot = true;
      return;
    }
    default:
      throw new Error(`ringflow: no encoder for parameter kind ${p.kind} (${op.name}.${p.name})`);
  }
}
