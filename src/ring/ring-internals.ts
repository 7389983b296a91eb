/**
 * The types a Ring shares with its companion modules: the options of one request, and what
 * ring-programs.ts, introspection.ts, chain.ts, cancel.ts, bulk.ts and the buffer and socket
 * modules reach inside a ring (ringInternals() in ring.ts hands it out; never exported from the
 * package).
 */
import type { Sqe } from '../ops/sqe.js';
import type { FileTable } from './files.js';
import type { ProgramEngine } from './programs.js';
import type { Pending } from './requests.js';
import type { ResourceTagHandler, BulkHandler } from './completion.js';
import type { BulkRingHooks } from './bulk.js';
import type { RingStats } from './introspection.js';
import type { MessageInbox } from './message-inbox.js';

/** Options of a single request submitted through a promise method or ring.run(). */
export interface RunOptions {
  signal?: AbortSignal;
}

/** What the Ring's companion modules (ring-programs.ts, introspection.ts, registered buffers) reach inside it. */
export interface RingInternals {
  readonly handle: unknown;
  readonly engine: ProgramEngine | undefined;
  /** The ring's file table, if it was made. */
  readonly files: FileTable | undefined;
  /** The live counters, and requests in flight and queued now. */
  readonly stats: RingStats;
  readonly inflight: number;
  readonly queued: number;
  /** io_uring_register(2); throws RingError (and RingClosedError on a closed ring). */
  register(opcode: number, arg: ArrayBufferView | null, nr: number): number;
  /** Switches completion handling to the native engine (once) and returns it. */
  enableEngine(): ProgramEngine;
  assertOpen(): void;
  /** Routes CQEs whose user_data high word is RESOURCE_TAG to `handler` (one per ring). */
  setResourceTags(handler: ResourceTagHandler): void;
  /** Re-evaluates whether the ring is busy (after a change in resource tags owed or message subscriptions). */
  updateRef(): void;
  /** The checks ring.run() makes of a request before it is queued (its `cq` target, the file table's). */
  prepare(sqe: Sqe): void;
  /** Refuses a request whose entry does not fit this ring's SQEs (a command area of more than 16 bytes needs sqe128). */
  checkEntry(sqe: Sqe, method: string): void;
  /**
   * Queues requests as one group, in one submission, in order (ring.chain(), ring.link():
   * src/ring/chain.ts). `withNext`: flushed with what is queued next, at the end of the tick
   * (process.nextTick), as a request queued while completions are delivered is (a close that
   * rides with the next request: src/ring/submission.ts, FlushSchedule).
   */
  submitGroup(group: Pending[], signal: AbortSignal | undefined, withNext?: boolean): void;
  /** submitGroup() of a lone request, without a group array when it fits at once. */
  submitOne(p: Pending, signal: AbortSignal | undefined, withNext?: boolean): void;
  /** user_data of the ring's promise requests in flight that `match` picks (ring.cancel({ op })). */
  selectRequests(match: (p: Pending) => boolean, max: number): bigint[];
  /** What a BulkQueue reaches (src/ring/bulk.ts), and where its CQEs go from now on. */
  bulkHooks(): BulkRingHooks;
  setBulk(handler: BulkHandler): void;
  /**
   * Runs `hook` once when close() begins (after it has refused new requests, before it cancels
   * what is in flight): for what holds kernel resources a cancel does not end (a socket whose
   * zero-copy sends the kernel keeps until its peer reads). Returns the unsubscribe; on a closing
   * ring, nothing is added.
   */
  onClosing(hook: () => void): () => void;
  /** Takes up to `max` requests `match` picks out of the JS backlog (never submitted), each with its chain's later steps: they reject with ECANCELED; returns how many `match` picked. */
  cancelQueued(match: (p: Pending) => boolean, max: number): number;
  /** The ring's message inbox (src/ring/message-inbox.ts). */
  readonly inbox: MessageInbox;
}
