/**
 * RingHandle: how a thread names another thread's ring as the target of a message
 * (IORING_OP_MSG_RING). A ring's fd number is the same in every thread of the process, so the
 * handle is plain data that crosses postMessage() (structured clone): the fd, the identity of the
 * file it named when the handle was made (the inode of the ring's anonymous file: each ring has
 * its own on 6.18, measured), and a SharedArrayBuffer in which the owning Ring says it is closing.
 *
 * Before a message is built for a handle, the sender checks both: a ring that began close() is
 * refused at once; an fd that no longer names that ring (the owning worker ended or was
 * terminated without close(), and the number went to another file, or to another ring) is refused
 * too. What is left is the window between that check and the kernel's fd lookup at submission:
 * a ring closed in it fails the message with EBADF (fd gone) or EBADFD (fd now another file).
 */
import { RingClosedError, describeValue } from '../errors.js';
import { binding } from '../native.js';

/** The inode the fd names (the addon's fstat: no Stats object), or -errno. */
const inoOf = (fd: number): number => binding.fdIno(fd) as number;

/** A message target that can cross postMessage(): see `ring.handle()`. */
export interface RingHandle {
  /** The ring's fd (the same number in every thread of the process). */
  readonly fd: number;
  /** The inode of the ring's file when the handle was made (its identity). */
  readonly ino: number;
  /** Int32Array view [0]: bit 0 (OPEN) while the ring is open, cleared once its close() began;
   *  bit 1 (PROGRAM_SLOTS) once its completion programs were granted slots of its file table. */
  readonly state: SharedArrayBuffer;
}

/** state bit: the ring is open. */
export const HANDLE_OPEN = 1;
/**
 * state bit: completion programs of the ring may use slots of its file table (ring.allowFd(fixed(i))).
 * A file message into a slot the sender names would replace a file a program was given (the
 * kernel installs it over whatever the slot holds); senders then send files only into a slot the
 * kernel picks (a free one) with a CQE (the engine sees it). docs/threads.md, docs/security.md.
 */
export const HANDLE_PROGRAM_SLOTS = 2;

/** The owning ring's side of its handle: made once, marked closed when close() begins. */
export class HandleState {
  readonly handle: RingHandle;
  readonly #flag: Int32Array;

  constructor(fd: number, programSlots: boolean) {
    const state = new SharedArrayBuffer(4);
    this.#flag = new Int32Array(state);
    this.#flag[0] = HANDLE_OPEN | (programSlots ? HANDLE_PROGRAM_SLOTS : 0);
    const ino = inoOf(fd);
    if (ino < 0) throw new RangeError(`ring.handle(): fstat of the ring's fd ${fd} failed (${ino})`);
    this.handle = Object.freeze({ fd, ino, state });
  }

  /** The ring is closing: handles everywhere see it at their next send. */
  close(): void {
    Atomics.and(this.#flag, 0, ~HANDLE_OPEN);
  }

  /** Its programs were granted a slot: senders see it at their next file message. */
  programSlots(): void {
    Atomics.or(this.#flag, 0, HANDLE_PROGRAM_SLOTS);
  }
}

/** Does the ring a handle names let its programs use slots of its file table? (HANDLE_PROGRAM_SLOTS) */
export function guardsSlots(h: RingHandle): boolean {
  return (Atomics.load(new Int32Array(h.state, 0, 1), 0) & HANDLE_PROGRAM_SLOTS) !== 0;
}

/** Is `v` shaped like a RingHandle (as it arrives from postMessage: a plain object)? */
export function isRingHandle(v: unknown): v is RingHandle {
  if (v === null || typeof v !== 'object') return false;
  const h = v as Partial<RingHandle>;
  return typeof h.fd === 'number' && typeof h.ino === 'number' && h.state instanceof SharedArrayBuffer;
}

/**
 * The fd of the ring a handle names, checked: its ring has not begun closing, and the fd still
 * names that ring's file. `where` names the argument in errors ("msgRing(): \"target\"").
 */
export function targetFd(where: string, h: RingHandle): number {
  if (!Number.isInteger(h.fd) || h.fd < 0 || h.fd > 0x7fffffff) throw new RangeError(`${where}: the handle's fd must be in [0, 2147483647], got ${describeValue(h.fd)}`);
  if (h.state.byteLength < 4) throw new TypeError(`${where}: the handle's state must be the 4-byte SharedArrayBuffer of ring.handle()`);
  if ((Atomics.load(new Int32Array(h.state, 0, 1), 0) & HANDLE_OPEN) === 0) throw new RingClosedError(`${where}: the target ring (fd ${h.fd})`);
  const ino = inoOf(h.fd);
  if (ino < 0) throw new RingClosedError(`${where}: the target ring (fd ${h.fd}: no such fd now)`);
  if (ino !== h.ino) throw new RingClosedError(`${where}: the target ring (fd ${h.fd} now names another file)`);
  return h.fd;
}
