/**
 * The receiving side of messages (IORING_OP_MSG_RING CQEs whose user_data carries MESSAGE_TAG,
 * src/ops/msg-ring-abi.ts): the completion dispatch (src/ring/completion.ts) hands each one here,
 * never to a request. The inbox turns it into a RingMessage and gives it to every open
 * subscription (ring.onMessage() listeners, ring.messages() iterators: src/ring/messages.ts); a
 * message that arrives while none is open waits in the inbox for the first one opened.
 *
 * Liveness (docs/threads.md): while a subscription is open the inbox is `listening`, and the ring
 * counts as busy (src/ring/liveness.ts): it keeps Node's event loop (a worker's too) alive unless
 * ring.unref()'d, as a MessagePort with a 'message' listener does, and is not collected. With no
 * subscription, a ring waiting only for messages lets the process exit.
 */
import { FixedFile } from '../ops/sqe.js';
import { FILE_MESSAGE_BIT } from '../ops/msg-ring-abi.js';
import type { HandleState } from './ring-handle.js';
import { microtask, throwLater } from './jobs.js';

/** A data message: what the sender put in user_data (`data`), res (`value`) and, with FLAGS_PASS, flags. */
export interface DataMessage {
  readonly type: 'data';
  /** 31 bits from the CQE's user_data. */
  readonly data: number;
  /** The CQE's res: the sender's value. */
  readonly value: number;
  /** The CQE's flags (0 unless the sender passed some: IORING_MSG_RING_FLAGS_PASS). */
  readonly flags: number;
}
/** A file message: the sender put a file into this ring's registered file table. */
export interface FileMessage {
  readonly type: 'file';
  /** The slot it is in now. */
  readonly file: FixedFile;
}
export type RingMessage = DataMessage | FileMessage;

/** A subscription: gets every message while open. */
export type MessageListener = (m: RingMessage) => void;

export class MessageInbox {
  /** Messages that came while no subscription was open. */
  #waiting: RingMessage[] = [];
  /** Open subscriptions and what each hears when the ring closes. */
  #listeners = new Map<MessageListener, (() => void) | undefined>();
  #ended = false;
  /** Told when `listening` may have changed (the ring re-evaluates whether it is busy). */
  onListeningChange: (() => void) | undefined;
  /** Messages received (for tests and stats). */
  received = 0;
  /** The ring's handle (ring.handle()), marked closed when the ring begins closing. */
  handleState: HandleState | undefined;
  /** The ring's programs were granted slots of its file table (handles say so to senders). */
  programSlots = false;

  /** ring.allowFd(fixed(i)): from now on senders put files only into slots the kernel picks. */
  slotsGranted(): void {
    this.programSlots = true;
    this.handleState?.programSlots();
  }

  /** A subscription is open: the ring is busy (see the file comment). */
  get listening(): boolean {
    return this.#listeners.size > 0;
  }
  get ended(): boolean {
    return this.#ended;
  }
  /** Messages waiting for a subscription. */
  get backlog(): number {
    return this.#waiting.length;
  }

  /** A message CQE: user_data low word `low`, res, flags. */
  receive(low: number, res: number, flags: number): void {
    if (this.#ended) return;
    this.received++;
    let m: RingMessage;
    if (low & FILE_MESSAGE_BIT) {
      const slot = low & 0x7fffffff;
      m = { type: 'file', file: new FixedFile(slot === 0 ? res : slot - 1) };
    } else {
      m = { type: 'data', data: low, value: res, flags };
    }
    if (this.#listeners.size === 0) {
      this.#waiting.push(m);
      return;
    }
    for (const l of this.#listeners.keys()) this.#call(l, m);
  }

  /** Opens a subscription (`onEnd`: the ring closed); messages that waited go to it first (in a microtask). */
  subscribe(l: MessageListener, onEnd?: () => void): () => void {
    if (this.#ended) {
      if (onEnd) microtask(onEnd);
      return () => {};
    }
    const first = this.#listeners.size === 0;
    this.#listeners.set(l, onEnd);
    if (first && this.#waiting.length > 0) {
      const waiting = this.#waiting;
      this.#waiting = [];
      microtask(() => {
        for (const m of waiting) if (this.#listeners.has(l)) this.#call(l, m);
      });
    }
    if (first) this.onListeningChange?.();
    return () => {
      if (this.#listeners.delete(l) && this.#listeners.size === 0) this.onListeningChange?.();
    };
  }

  /** The ring is closing: its handle says so, subscriptions end (each hears its onEnd), waiting messages are dropped. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.handleState?.close();
    this.#waiting = [];
    const ends = [...this.#listeners.values()];
    this.#listeners.clear();
    for (const f of ends) f?.();
  }

  /** A listener that throws does not stop the delivery (the reap goes on): its error is reported as uncaught. */
  #call(l: MessageListener, m: RingMessage): void {
    try {
      l(m);
    } catch (e) {
      throwLater(e);
    }
  }
}
