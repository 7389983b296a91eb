/**
 * What keeps a Ring alive. A busy ring (requests queued, in flight, or closing) is held here and
 * by the native side (its callback, strongly, from ringRef's busy: also where nothing reaches this
 * module, a copy of ringflow in a vm context only its awaiting code reaches), so a Ring the program
 * dropped stays alive while the kernel may still use its requests' memory, and keeps Node's event
 * loop alive unless unref()'d. An idle ring is held only by its users (and by the native side while
 * its program engine has work of its own); one dropped without close() is reported when collected.
 */
import { binding } from '../native.js';
import { immediate } from './jobs.js';

/** The holds of busy rings (each holds its ring); an array with swap-remove: a Set cost ~10 % at QD 1. */
const busyRings: LoopHold[] = [];

/**
 * Rings dropped without close(): the native handle's finalizer closes the ring's fds when the
 * Ring is collected (only possible while it is idle); this registry says so once per ring, as
 * Node does for a FileHandle.
 */
export const droppedRings = new FinalizationRegistry<number>((fd) => {
  process.emitWarning(`ringflow: closing io_uring fd ${fd} on garbage collection (a Ring was dropped without close())`, {
    code: 'RINGFLOW_RING_GC',
    detail: 'Call ring.close() (or use `await using`) when done with a ring.',
  });
});

/**
 * The async resource a ring's callbacks run in (binding.ringRef's fourth argument), as async_hooks
 * see it: hasRef() says whether the ring holds the event loop now, as a timer's or a socket's does,
 * so that tools listing what keeps a process alive (Jest's --detectOpenHandles) pass over an
 * unref()'d ring. Its async context exists only while the ring is busy (native/ring_napi.c,
 * make_actx: an idle ring's would keep alive what the context current at its making reached), so
 * async_hooks see one init and one destroy per busy spell. It holds no reference to its Ring.
 */
export class RingResource {
  refd = false;
  hasRef(): boolean {
    return this.refd;
  }
}

/** One ring's hold on itself (against GC) and on the event loop (ringRef's loopRef). */
export class LoopHold {
  /** The ring this hold keeps alive while it is in busyRings. */
  readonly ring: object;
  readonly #handle: unknown;
  /** In busyRings (alive whatever holds it): requests queued, in flight, or closing. */
  #held = false;
  /** Its index in busyRings while #held. */
  #busyIndex = -1;
  #userUnref = false;

  /** Going idle waits for the event loop's check phase (setImmediate) before letting go. */
  #idleCheckScheduled = false;
  /** The deferred check is running: going idle applies now. */
  #settlingIdle = false;
  /** Asks the ring to re-evaluate (its #updateRef). */
  readonly #recheck: () => void;
  readonly #idleCheck = (): void => {
    this.#idleCheckScheduled = false;
    this.#settlingIdle = true;
    try {
      this.#recheck();
    } finally {
      this.#settlingIdle = false;
    }
  };

  readonly #resource: RingResource;

  constructor(ring: object, handle: unknown, resource: RingResource, recheck: () => void) {
    this.ring = ring;
    this.#handle = handle;
    this.#resource = resource;
    this.#recheck = recheck;
  }

  get held(): boolean {
    return this.#held;
  }

  /** ring.unref() (true) / ring.ref() (false); update() applies it. */
  setUnref(unref: boolean): void {
    this.#userUnref = unref;
  }

  /**
   * Busy: the ring is kept alive against GC, and keeps the event loop alive unless unref()'d.
   * Idle: only its users hold it (and the native side, while the program engine has work of its
   * own). The native side is told of every change of busy (its hold, the async context).
   */
  update(busy: boolean, engine: boolean): void {
    if (!busy && this.#held && !engine && !this.#settlingIdle) {
      // going idle: stay held (and the loop ref'd) until the event loop's check phase, so that the
      // next request of a loop at QD 1, made before then, finds the ring busy still: no unref/ref
      // pair of native calls per request. The immediate keeps the loop turning until it has run.
      if (!this.#idleCheckScheduled) {
        this.#idleCheckScheduled = true;
        immediate(this.#idleCheck);
      }
      return;
    }
    const want = busy && !this.#userUnref;
    const heldChanged = busy !== this.#held;
    if (heldChanged) {
      this.#held = busy;
      if (busy) this.#busyIndex = busyRings.push(this) - 1;
      else this.#leaveBusy();
    }
    if (want !== this.#resource.refd || heldChanged) {
      this.#resource.refd = want; // (the one record of it: the async resource's hasRef() reads it)
      binding.ringRef(this.#handle, want, busy, this.#resource);
    }
  }

  /** The ring is destroyed: it leaves busyRings for good. */
  release(): void {
    this.#leaveBusy();
    this.#held = false;
    this.#resource.refd = false; // (its async context is destroyed with the ring's close)
  }

  #leaveBusy(): void {
    const i = this.#busyIndex;
    if (i < 0) return;
    const last = busyRings.pop()!;
    if (last !== this) {
      busyRings[i] = last;
      last.#busyIndex = i;
    }
    this.#busyIndex = -1;
  }
}
