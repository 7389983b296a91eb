/**
 * Types of the waiting builders (op.pollAdd(), op.futexWait(), …) and their promise methods
 * (installed from the opcode table by methods.ts), plus what one promise per request cannot say:
 * ring.pollStream() and ring.readMultishot() (multishot requests as async iterators, on the
 * multi-CQE request model), ring.pollUpdate() and ring.timeoutUpdate() (a running poll or timer
 * changed in place, named by its Sqe or its promise), and epollCreate().
 */
import { Ring, type RunOptions } from './ring.js';
import { opByName } from '../ops/table.js';
import { buildSqe, type CommonOptions, type Timespec } from '../ops/build.js';
import { namePromise, type EpollEvent, type WaitidResult } from '../ops/build-wait.js';
import type { Sqe, Fd } from '../ops/sqe.js';
import { binding } from '../native.js';
import { RingError, describeValue } from '../errors.js';
import { MultishotStream, END, type StreamOptions } from '../net/stream.js';
import { PollStream, type PollEvents } from './poll-stream.js';
import type { BufferGroup } from '../buffers/buffer-group.js';
import type { ProvidedBuffer } from '../buffers/provided-buffer.js';

export type { EpollEvent, WaitidResult } from '../ops/build-wait.js';
export type { PollEvents } from './poll-stream.js';

/**
 * A running request another request names (POLL_REMOVE, TIMEOUT_REMOVE): the Sqe of a poll or a
 * timer (timeout, linkTimeout) built with op.*, the promise of ring.pollAdd() / ring.timeout(),
 * or a raw user_data.
 */
export type RequestTarget = Sqe | Promise<unknown> | number | bigint;
/** A futex word: an element of a 32-bit typed array (64-bit ones: FUTEX2_SIZE_U64, which 6.18 refuses). */
export type FutexWord = Int32Array | Uint32Array | BigInt64Array | BigUint64Array;
/** One futex of futexWaitv(). */
export interface FutexWaiter {
  word: FutexWord;
  /** Element index (default 0). */
  index?: number;
  /** Sleep only while the word holds this value. */
  expected: number | bigint;
  /** A shared futex (default: private to this process). */
  shared?: boolean;
}
/** What epollCtl() adds or changes. */
export interface EpollEventInput {
  /** EPOLL.* bits or event names. */
  events: PollEvents;
  /** 64 bits handed back by epollWait() (default: the fd). */
  data?: number | bigint;
}
export type EpollOp = 'add' | 'del' | 'mod' | 1 | 2 | 3;
export type WaitIdType = 'all' | 'pid' | 'pgid' | 'pidfd' | 0 | 1 | 2 | 3;
interface FutexOptions {
  mask?: number | bigint;
  shared?: boolean;
}

declare module '../ops/build.js' {
  interface Builders {
    /** IORING_OP_NOP with a file (IORING_NOP_FILE, a FixedFile: NOP_FIXED_FILE) or registered buffer (NOP_FIXED_BUFFER) to look up (6.13). */
    nop(options?: CommonOptions & { injectResult?: number; nopFlags?: number; file?: Fd; bufIndex?: number }): Sqe;
    /** IORING_OP_POLL_ADD: res = revents; `multishot` (IORING_POLL_ADD_MULTI) posts a CQE per event. */
    pollAdd(fd: Fd, events: PollEvents, options?: CommonOptions & { multishot?: boolean; level?: boolean }): Sqe;
    /** IORING_OP_POLL_REMOVE: removes the poll `target`, or updates its events / user_data in place. */
    pollRemove(target: RequestTarget, options?: CommonOptions & { updateEvents?: PollEvents; newUserData?: number | bigint }): Sqe;
    /** IORING_OP_TIMEOUT_REMOVE: removes a timeout, or with `time` re-arms it (UPDATE; LINK_TIMEOUT_UPDATE for a linkTimeout Sqe). */
    timeoutRemove(target: RequestTarget, options?: CommonOptions & { timeoutFlags?: number; time?: Timespec }): Sqe;
    /** IORING_OP_EPOLL_CTL. */
    epollCtl(epfd: number, op: EpollOp, fd: number, event: EpollEventInput | null, options?: CommonOptions): Sqe;
    /** IORING_OP_EPOLL_WAIT (6.15). */
    epollWait(epfd: Fd, maxEvents?: number, options?: CommonOptions): Sqe;
    /** IORING_OP_WAITID (6.7). */
    waitid(idtype: WaitIdType, id?: number, waitOptions?: number, options?: CommonOptions): Sqe;
    /** IORING_OP_FUTEX_WAIT (6.7). */
    futexWait(word: FutexWord, index: number, expected: number | bigint, options?: CommonOptions & FutexOptions): Sqe;
    /** IORING_OP_FUTEX_WAKE (6.7). */
    futexWake(word: FutexWord, index: number, count?: number, options?: CommonOptions & FutexOptions): Sqe;
    /** IORING_OP_FUTEX_WAITV (6.7). */
    futexWaitv(waiters: FutexWaiter[], options?: CommonOptions): Sqe;
    /** IORING_OP_READ_MULTISHOT (6.7): from a provided-buffer group; submit with ring.runMulti (or ring.readMultishot()). */
    readMultishot(fd: Fd, group: number | BufferGroup, options?: CommonOptions): Sqe;
  }
}

declare module './ring.js' {
  interface Ring {
    /** poll(2) one fd: resolves the revents mask (POLL.*). The promise names the poll for pollUpdate()/pollRemove(). */
    pollAdd(fd: Fd, events: PollEvents, options?: CommonOptions & { level?: boolean }): Promise<number>;
    /** Removes a poll (it rejects ECANCELED); rejects ENOENT when none is armed under that name. */
    pollRemove(target: RequestTarget, options?: CommonOptions & { updateEvents?: PollEvents; newUserData?: number | bigint }): Promise<void>;
    /** Changes the events of an armed poll in place (IORING_POLL_UPDATE_EVENTS). */
    pollUpdate(target: RequestTarget, events: PollEvents, options?: RunOptions): Promise<void>;
    /** Multishot poll (IORING_POLL_ADD_MULTI) as an async iterator of revents masks. */
    pollStream(fd: Fd, events: PollEvents, options?: StreamOptions): PollStream;
    /** Removes a timeout (its promise rejects ECANCELED), or with `time` re-arms it. */
    timeoutRemove(target: RequestTarget, options?: CommonOptions & { timeoutFlags?: number; time?: Timespec }): Promise<void>;
    /**
     * Re-arms a running timer with a new time: a timeout (its Sqe or the promise of ring.timeout())
     * through IORING_TIMEOUT_UPDATE, a linkTimeout (its Sqe) through IORING_LINK_TIMEOUT_UPDATE.
     * Rejects ENOENT when the timer is no longer running.
     */
    timeoutUpdate(target: RequestTarget, time: Timespec, options?: RunOptions & { timeoutFlags?: number }): Promise<void>;
    epollCtl(epfd: number, op: EpollOp, fd: number, event: EpollEventInput | null, options?: CommonOptions): Promise<void>;
    /** Resolves the ready events once at least one is (6.15). */
    epollWait(epfd: Fd, maxEvents?: number, options?: CommonOptions): Promise<EpollEvent[]>;
    /** Resolves the child's state change (null with W.NOHANG and nothing to report) (6.7). */
    waitid(idtype: WaitIdType, id?: number, waitOptions?: number, options?: CommonOptions): Promise<WaitidResult | null>;
    /** Resolves when woken; rejects EAGAIN when the word does not hold `expected` (6.7). */
    futexWait(word: FutexWord, index: number, expected: number | bigint, options?: CommonOptions & FutexOptions): Promise<void>;
    /** Resolves how many waiters it woke (6.7). */
    futexWake(word: FutexWord, index: number, count?: number, options?: CommonOptions & FutexOptions): Promise<number>;
    /** Resolves the index of the futex woken (6.7). */
    futexWaitv(waiters: FutexWaiter[], options?: CommonOptions): Promise<number>;
    /**
     * Multishot read (6.7) of a pollable file (pipe, socket, eventfd) into buffers of `group`: an
     * async iterator of ProvidedBuffers (release() each when done), ending at EOF.
     */
    readMultishot(fd: Fd, group: BufferGroup, options?: StreamOptions): MultishotStream<ProvidedBuffer>;
  }
}

const proto = Ring.prototype as unknown as Record<string, unknown>;

/** ring.pollAdd() and ring.timeout(): their promise names the request (pollUpdate, timeoutUpdate). */
for (const name of ['pollAdd', 'timeout']) {
  const o = opByName(name)!;
  const options = o.params!.filter((p) => p.positional).length;
  proto[name] = function (this: Ring, ...args: unknown[]) {
    const sqe = buildSqe(o, args);
    if (sqe.multishot) throw new TypeError(`ring.${name}(): multishot requests post more than one completion; use ${name === 'pollAdd' ? 'ring.pollStream()' : `op.${name}() with ring.runMulti()`}`);
    const p = this.run(sqe, args[options] as RunOptions | undefined);
    namePromise(p, sqe);
    return p;
  };
}

function runOptions(method: string, options: unknown, extra: readonly string[] = []): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options))
    throw new TypeError(`${method}(): options must be an object, got ${describeValue(options)}`);
  const keys = ['signal', ...extra];
  for (const k of Object.keys(options)) if (!keys.includes(k)) throw new TypeError(`${method}(): "${k}" is not an option of ${method}(); it accepts ${keys.join(', ')}`);
  return options as Record<string, unknown>;
}

const POLL_REMOVE = opByName('pollRemove')!;
proto.pollUpdate = function (this: Ring, target: unknown, events: unknown, options?: unknown) {
  if (arguments.length < 2 || arguments.length > 3) throw new TypeError(`pollUpdate(): takes target, events, options; got ${arguments.length} arguments`);
  const o = runOptions('pollUpdate', options);
  return this.run(buildSqe(POLL_REMOVE, [target, { ...o, updateEvents: events }]), o as RunOptions);
};

const TIMEOUT_REMOVE = opByName('timeoutRemove')!;
proto.timeoutUpdate = function (this: Ring, target: unknown, time: unknown, options?: unknown) {
  if (arguments.length < 2 || arguments.length > 3) throw new TypeError(`timeoutUpdate(): takes target, time, options; got ${arguments.length} arguments`);
  if (time === undefined) throw new TypeError('timeoutUpdate(): "time" is required');
  const o = runOptions('timeoutUpdate', options, ['timeoutFlags']);
  return this.run(buildSqe(TIMEOUT_REMOVE, [target, { ...o, time }]), o as RunOptions);
};

proto.pollStream = function (this: Ring, fd: unknown, events: unknown, options?: unknown) {
  if (arguments.length < 2 || arguments.length > 3) throw new TypeError(`pollStream(): takes fd, events, options; got ${arguments.length} arguments`);
  runOptions('pollStream', options, ['highWater', 'lowWater']);
  return new PollStream(this, fd as Fd, events as PollEvents, options as StreamOptions | undefined);
};

const READ_MULTISHOT = opByName('readMultishot')!;
proto.readMultishot = function (this: Ring, ...args: unknown[]) {
  const [fd, group, options] = args;
  // the stream's own options (highWater, lowWater) out of what the builder checks; its errors come first
  const plain = options !== null && typeof options === 'object' && Object.getPrototypeOf(options) === Object.prototype;
  const { highWater, lowWater, ...rest } = (plain ? options : {}) as Record<string, unknown>;
  buildSqe(READ_MULTISHOT, plain ? [fd, group, rest, ...args.slice(3)] : args);
  const g = group as BufferGroup;
  if (group === null || typeof group !== 'object' || typeof g.take !== 'function')
    throw new TypeError(`readMultishot(): "group" must be a BufferGroup (ring.bufferGroup()): its buffers become the items; got ${describeValue(group)} (a group id works with op.readMultishot() and ring.runMulti())`);
  const ring = this;
  return new MultishotStream<ProvidedBuffer>(
    ring,
    {
      sqe: () => buildSqe(READ_MULTISHOT, [fd, g]),
      // a read of 0 bytes: end of file (a pipe's writers are gone)
      item: (res, flags) => (res === 0 ? END : (g.take(res, flags) ?? undefined)),
      dispose: (b) => b.release(),
      refilled: () => g.refilled(),
      error: (res) => new RingError(res, 'io_uring_enter', { op: 'readMultishot' }),
    },
    { highWater: highWater as number | undefined, lowWater: lowWater as number | undefined, signal: rest.signal as AbortSignal | undefined },
  );
};

/** A new epoll instance (epoll_create1(EPOLL_CLOEXEC)) for epollCtl() / epollWait(); close it with ring.closeFd() or fs.closeSync(). */
export function epollCreate(): number {
  if (arguments.length !== 0) throw new TypeError(`epollCreate() takes no arguments, got ${arguments.length}`);
  const r = binding.epollCreate() as number;
  if (r < 0) throw new RingError(r, 'epoll_create1');
  return r;
}
