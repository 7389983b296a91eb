/**
 * Rings across threads (docs/threads.md): IORING_OP_MSG_RING between rings, with a typed API on
 * both ends. Installed on Ring.prototype when the package entry loads.
 *
 * Sender:   ring.sendMessage(target, data, value?)   → a data message (IORING_MSG_DATA)
 *           ring.sendFile(target, file, slot?)       → a file of this ring's table into the
 *                                                      target's (IORING_MSG_SEND_FD, 6.0)
 *           ring.msgRing(target, message)            → the raw op (table-driven, src/ops/build-msg.ts)
 * Receiver: ring.handle()                            → a RingHandle to postMessage() to senders
 *           ring.onMessage(listener)                 → every message until unsubscribed
 *           ring.messages({ signal? })               → an async iterator of messages
 *
 * The target's CQE carries ringflow's MESSAGE_TAG in its user_data high word, so it reaches the
 * target's inbox (src/ring/message-inbox.ts) and never one of its requests.
 */
import { Ring, ringInternals, type RunOptions } from './ring.js';
import { opByName } from '../ops/table.js';
import { buildSqe } from '../ops/build.js';
import { RingError, RingClosedError, describeValue } from '../errors.js';
import { FixedFile } from '../ops/sqe.js';
import { HandleState, type RingHandle } from './ring-handle.js';
import { abortError } from './aborts.js';
import type { RingMessage, MessageListener } from './message-inbox.js';
import type { MessageTarget, MessageSpec } from '../ops/build-msg.js';
import type { CommonOptions } from '../ops/build.js';

export type { RingHandle } from './ring-handle.js';
export type { RingMessage, DataMessage, FileMessage, MessageListener } from './message-inbox.js';
export type { MessageTarget, MessageSpec, DataMessageSpec, FileMessageSpec } from '../ops/build-msg.js';

/** Options of ring.sendMessage(). */
export interface SendMessageOptions extends RunOptions {
  /** CQE flags the target's message carries (IORING_MSG_RING_FLAGS_PASS, 6.3). */
  flags?: number;
}
/** Options of ring.sendFile(). */
export interface SendFileOptions extends RunOptions {
  /** Post no CQE on the target (IORING_MSG_RING_CQE_SKIP): it gets the file without a message. */
  skipCqe?: boolean;
}
/** Options of ring.messages(). */
export interface MessagesOptions {
  /** Ends the iteration: a waiting next() rejects with an AbortError. */
  signal?: AbortSignal;
}

declare module './ring.js' {
  interface Ring {
    /** IORING_OP_MSG_RING: a data message or a file to another ring; resolves the request's res. */
    msgRing(target: MessageTarget, message: MessageSpec, options?: CommonOptions): Promise<number>;
    /**
     * This ring as a message target for other threads: plain data that crosses postMessage()
     * (its fd, the identity of its file, and a shared flag that says when it closes).
     */
    handle(): RingHandle;
    /**
     * Sends a data message to `target`: its ring gets { type: 'data', data, value, flags }.
     * `data`: [0, 2^31 - 1]; `value`: a 32-bit signed integer (default 0). Resolves when the
     * kernel posted it (a full target CQ keeps it in the kernel's overflow list: not an error).
     */
    sendMessage(target: MessageTarget, data: number, value?: number, options?: SendMessageOptions): Promise<void>;
    /**
     * Passes the file in slot `file` of this ring's registered table to slot `slot` of the target
     * ring's table ('auto', the default: a free one the kernel picks); the target gets
     * { type: 'file', file } unless skipCqe. Resolves the slot in the target. Linux 6.0.
     */
    sendFile(target: MessageTarget, file: FixedFile | number, slot?: number | 'auto', options?: SendFileOptions): Promise<number>;
    /**
     * Calls `listener` with every message this ring receives until the returned function is
     * called or the ring closes. While subscribed, the ring keeps the event loop alive (unless
     * ring.unref()). Messages that came before the first subscription are delivered to it first.
     */
    onMessage(listener: MessageListener): () => void;
    /**
     * The messages this ring receives, as an async iterator (ends when the ring closes, when the
     * loop breaks, or when `signal` aborts). While it is open the ring keeps the event loop alive.
     */
    messages(options?: MessagesOptions): AsyncIterableIterator<RingMessage>;
  }
}

const MSG_RING = opByName('msgRing')!;
const proto = Ring.prototype as unknown as Record<string, unknown>;

function optionsOf(method: string, v: unknown, keys: readonly string[]): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${method}(): options must be an object, got ${describeValue(v)}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new TypeError(`${method}(): "${k}" is not an option of ${method}(); it accepts ${keys.join(', ')}`);
  return v as Record<string, unknown>;
}

/** Rewrites "msgRing(): "message".data" errors of the builder to the method's own argument names. */
function renamed<T>(method: string, names: Record<string, string>, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if ((e instanceof TypeError || e instanceof RangeError) && e.message.startsWith('msgRing(): ')) {
      let msg = e.message.replace('msgRing(): ', `${method}(): `);
      for (const [from, to] of Object.entries(names)) msg = msg.replace(from, to);
      e.message = msg;
    } else if (e instanceof RingClosedError) {
      e.message = e.message.replace('msgRing(): ', `${method}(): `);
    }
    throw e;
  }
}

/** What a failed message means, by errno (io_uring/msg_ring.c, 6.18). */
const MESSAGE_HINTS: Record<string, string> = {
  EBADF: 'the target fd is not open (its ring was closed), or the source slot of this ring\'s file table is empty',
  EBADFD: 'the target fd is not an io_uring fd, or the target ring is disabled (R_DISABLED) until ring.enable()',
  ENXIO: 'the target ring has no registered file table: it must call ring.files.register() before it can receive files',
  EINVAL: 'a file cannot be sent to the ring it is in (use its slot directly), and a target slot must be inside the target\'s table',
  EOWNERDEAD: 'the thread that owns the target ring (SINGLE_ISSUER / DEFER_TASKRUN) has exited',
  EOVERFLOW: 'the kernel could not post the target CQE (its CQ and overflow list are full); for a file, the target has the file but no message of it',
  ENFILE: 'the target\'s file table has no free slot for \'auto\'',
};
/** A message request's RingError with the hint of its errno. */
function messageError(e: unknown): never {
  if (e instanceof RingError && e.op === 'msgRing' && MESSAGE_HINTS[e.code]) throw new RingError(-e.errno, 'io_uring_enter', { op: 'msgRing', hint: MESSAGE_HINTS[e.code] });
  throw e;
}

proto.handle = function (this: Ring): RingHandle {
  if (arguments.length !== 0) throw new TypeError(`handle() takes no arguments, got ${arguments.length}`);
  if (this.closed) throw new RingClosedError();
  const inbox = ringInternals(this).inbox;
  inbox.handleState ??= new HandleState(this.fd, inbox.programSlots);
  return inbox.handleState.handle;
};

proto.sendMessage = function (this: Ring, target: unknown, data: unknown, value?: unknown, options?: unknown): Promise<void> {
  if (arguments.length > 4) throw new TypeError(`sendMessage(): too many arguments (${arguments.length}); it takes target, data, value, options`);
  const o = optionsOf('sendMessage', options, ['flags', 'signal']);
  const message = o.flags === undefined ? { data, value: value ?? 0 } : { data, value: value ?? 0, flags: o.flags };
  const sqe = renamed('sendMessage', { '"message".data': '"data"', '"message".value': '"value"', '"message".flags': '"flags"' }, () =>
    buildSqe(MSG_RING, [target, message, o.signal === undefined ? undefined : { signal: o.signal }]),
  );
  return this.run<number>(sqe, o.signal === undefined ? undefined : { signal: o.signal as AbortSignal }).then(() => undefined, messageError);
};

proto.sendFile = function (this: Ring, target: unknown, file: unknown, slot?: unknown, options?: unknown): Promise<number> {
  if (arguments.length > 4) throw new TypeError(`sendFile(): too many arguments (${arguments.length}); it takes target, file, slot, options`);
  const o = optionsOf('sendFile', options, ['skipCqe', 'signal']);
  const message: Record<string, unknown> = { file, slot: slot ?? 'auto' };
  if (o.skipCqe !== undefined) message.skipCqe = o.skipCqe;
  const sqe = renamed('sendFile', { '"message".file': '"file"', '"message".slot': '"slot"', '"message".skipCqe': '"skipCqe"' }, () =>
    buildSqe(MSG_RING, [target, message, o.signal === undefined ? undefined : { signal: o.signal }]),
  );
  const explicit = typeof slot === 'number' ? slot : -1;
  return this.run<number>(sqe, o.signal === undefined ? undefined : { signal: o.signal as AbortSignal }).then((res) => (explicit >= 0 ? explicit : res), messageError);
};

proto.onMessage = function (this: Ring, listener: unknown): () => void {
  if (arguments.length !== 1) throw new TypeError(`onMessage() takes one argument (listener), got ${arguments.length}`);
  if (typeof listener !== 'function') throw new TypeError(`onMessage(): "listener" must be a function, got ${describeValue(listener)}`);
  if (this.closed) throw new RingClosedError();
  const internals = ringInternals(this);
  const inbox = internals.inbox;
  inbox.onListeningChange ??= internals.updateRef;
  const l: MessageListener = (m) => (listener as MessageListener).call(undefined, m);
  return inbox.subscribe(l);
};

proto.messages = function (this: Ring, options?: unknown): AsyncIterableIterator<RingMessage> {
  if (arguments.length > 1) throw new TypeError(`messages() takes at most one argument (options), got ${arguments.length}`);
  const o = optionsOf('messages', options, ['signal']);
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`messages(): "signal" must be an AbortSignal, got ${describeValue(signal)}`);
  if (this.closed) throw new RingClosedError();
  const internals = ringInternals(this);
  const inbox = internals.inbox;
  inbox.onListeningChange ??= internals.updateRef;
  return new MessageIterator((l, end) => inbox.subscribe(l, end), signal as AbortSignal | undefined);
};

/** ring.messages(): a queue fed by an inbox subscription, closed by return(), the ring's end or the signal. */
class MessageIterator implements AsyncIterableIterator<RingMessage> {
  #queue: RingMessage[] = [];
  #waiter: { resolve: (r: IteratorResult<RingMessage>) => void; reject: (e: unknown) => void } | undefined;
  #done = false;
  #failure: Error | undefined;
  #unsubscribe: () => void;
  #signal: AbortSignal | undefined;
  #onAbort = (): void => this.#finish(abortError(this.#signal!));

  constructor(subscribe: (l: MessageListener, end: () => void) => () => void, signal: AbortSignal | undefined) {
    this.#signal = signal;
    if (signal?.aborted) {
      this.#done = true;
      this.#failure = abortError(signal);
      this.#unsubscribe = () => {};
      return;
    }
    this.#unsubscribe = subscribe(
      (m) => this.#push(m),
      () => this.#finish(undefined),
    );
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  #push(m: RingMessage): void {
    if (this.#done) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w.resolve({ value: m, done: false });
    } else this.#queue.push(m);
  }

  #finish(err: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#unsubscribe();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const w = this.#waiter;
    this.#waiter = undefined;
    if (err && w) w.reject(err);
    else if (err) this.#failure = err;
    else w?.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<RingMessage>> {
    if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift()!, done: false });
    if (this.#failure) {
      const e = this.#failure;
      this.#failure = undefined;
      return Promise.reject(e);
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter) return Promise.reject(new TypeError('messages(): next() called while an earlier next() still waits'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<RingMessage>> {
    this.#queue = [];
    this.#finish(undefined);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RingMessage> {
    return this;
  }
}
