/**
 * Multishot poll (IORING_POLL_ADD_MULTI, 5.13) as an async iterator: each readiness event of the
 * fd is one revents mask (POLL.*), on the multi-CQE request model (ring.runMulti through
 * MultishotStream, src/net/stream.ts): backpressure, re-arm when the kernel ends the poll, a clean
 * end on break / close() / the signal, and the ring closing. update() changes the events polled
 * in place (IORING_OP_POLL_REMOVE with IORING_POLL_UPDATE_EVENTS) and for every later re-arm.
 */
import type { Ring } from './ring.js';
import type { Sqe, Fd } from '../ops/sqe.js';
import { MultishotStream, type StreamOptions } from '../net/stream.js';
import { RingError } from '../errors.js';

/** What a poll stream polls for: a POLL.* mask or event names. */
export type PollEvents = number | readonly ('in' | 'pri' | 'out' | 'err' | 'hup' | 'rdhup' | 'rdnorm' | 'rdband' | 'wrnorm' | 'wrband' | 'msg')[];

export class PollStream extends MultishotStream<number> {
  readonly #ring: Ring;
  readonly #state: { events: PollEvents; current: Sqe | undefined };

  /** @internal ring.pollStream() makes it. */
  constructor(ring: Ring, fd: Fd, events: PollEvents, options?: StreamOptions) {
    ring.op.pollAdd(fd, events, { multishot: true }); // the arguments' errors, before anything runs
    const state: { events: PollEvents; current: Sqe | undefined } = { events, current: undefined };
    super(
      ring,
      {
        sqe: () => (state.current = ring.op.pollAdd(fd, state.events, { multishot: true })),
        item: (res) => res,
        dispose: () => {},
        error: (res) => new RingError(res, 'io_uring_enter', { op: 'pollAdd' }),
      },
      options,
    );
    this.#ring = ring;
    this.#state = state;
  }

  /**
   * Polls for `events` from now on: the armed poll is updated in place (no event is lost), and
   * later re-arms use them too. Resolves once the kernel has it (also when the poll is between two
   * arms, or the stream ended: the next arm, if any, uses the new events).
   */
  async update(events: PollEvents): Promise<void> {
    if (arguments.length !== 1) throw new TypeError(`PollStream.update() takes events, got ${arguments.length} arguments`);
    const sqe = this.#state.current;
    const update = this.#ring.op.pollRemove(sqe ?? 0, { updateEvents: events }); // validates events
    this.#state.events = events;
    if (!sqe || this.done) return;
    try {
      await this.#ring.run(update);
    } catch (e) {
      // ended or being re-armed meanwhile: the next arm takes the new events
      if (!(e instanceof RingError && e.code === 'ENOENT')) throw e;
    }
  }
}
