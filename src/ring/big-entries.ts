/**
 * Requests on big-entry rings: ring.runBig() resolves a request's whole 32-byte CQE (rings set up
 * with cqe32 or cqeMixed), and ring.uringCmdRaw() is the promise form of op.uringCmdRaw (whose
 * command area may fill a 128-byte SQE on a ring with sqe128). Installed on Ring.prototype when
 * the package entry loads. The SQ and CQ code that handles the entry sizes is in submission.ts
 * and completion.ts; the setup options in setup.ts.
 */
import { Ring, type RunOptions } from './ring.js';
import { Sqe, SqeRingState, type Fd } from '../ops/sqe.js';
import { SetupFlags } from './abi.js';
import { buildSqe, type BufferLike, type CommonOptions } from '../ops/build.js';
import { URING_CMD_RAW } from '../ops/uring-cmd-raw.js';
import type { BigCompletion } from './cq.js';

declare module '../ops/build.js' {
  interface Builders {
    /**
     * IORING_OP_RECV_ZC (6.15): zero-copy receive into the zcrx area of interface queue `ifq`; a
     * CQE per chunk (ring.runMulti), each 32 bytes. Needs a NIC with header split (not loopback).
     */
    recvZc(fd: Fd, ifq: number, options?: CommonOptions & { length?: number; pollFirst?: boolean }): Sqe;
  }
}

declare module './ring.js' {
  interface Ring {
    /**
     * Runs one request and resolves its whole CQE: { res, flags, extra1, extra2 } (big_cqe[0] and
     * [1]). Needs a ring set up with cqe32 or cqeMixed (on a cqeMixed ring, a request that posts a
     * 16-byte CQE resolves extras 0n). Rejects with RingError when res < 0, as ring.run() does.
     * Single-CQE requests whose promise resolves res; not timers, parsed results, zero-copy sends.
     */
    runBig(sqe: Sqe, options?: RunOptions): Promise<BigCompletion>;
    /** IORING_OP_URING_CMD, raw (op.uringCmdRaw); resolves res. ring.runBig(op.uringCmdRaw(…)) also gets big_cqe. */
    uringCmdRaw(fd: Fd, cmdOp: number, cmd?: BufferLike, options?: CommonOptions & { addr?: number | bigint; bufIndex?: number }): Promise<number>;
  }
}

const BIG_CQES = SetupFlags.CQE32 | SetupFlags.CQE_MIXED;

const proto = Ring.prototype as unknown as Record<string, unknown>;

proto.runBig = function (this: Ring, sqe: Sqe, options?: RunOptions): Promise<BigCompletion> {
  if (arguments.length < 1 || arguments.length > 2) throw new TypeError(`ring.runBig() takes sqe, options; got ${arguments.length} arguments`);
  if (!(sqe instanceof Sqe)) throw new TypeError('ring.runBig(): "sqe" must be an Sqe built with ring.op.* / op.*');
  if (!(this.setupFlags & BIG_CQES)) throw new RangeError('ring.runBig(): this ring posts 16-byte CQEs only; create it with { cqe32: true } or { cqeMixed: true } for 32-byte ones');
  const r = sqe.op.result;
  if (sqe.parse || sqe.op.multiCqe || r === 'timer' || r === 'linkTimer' || r === 'statx' || r === 'accepted' || r === 'received')
    throw new TypeError(`ring.runBig(): ${sqe.op.name} resolves a result of its own, not its CQE; use ring.run()`);
  // the request made by this run() takes the mark (PendingExtra.big); nothing stays on the Sqe, which may be run again (by either)
  const rs = (sqe.ringState ??= new SqeRingState());
  rs.big = true;
  try {
    return this.run<BigCompletion>(sqe, options);
  } finally {
    rs.big = false;
  }
};

proto.uringCmdRaw = function (this: Ring, ...args: unknown[]): Promise<number> {
  return this.run(buildSqe(URING_CMD_RAW, args), args[3] as RunOptions | undefined);
};
