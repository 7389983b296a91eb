/**
 * ring.cancel(): IORING_OP_ASYNC_CANCEL by what a request is rather than by its user_data alone —
 * its file (IORING_ASYNC_CANCEL_FD, FD_FIXED for a registered slot), its opcode (OP, 6.6), its
 * user_data (USERDATA, 6.6, when combined), or anything (ANY) — one match or all of them (ALL).
 * Resolves the number of requests the kernel found. Each cancelled request settles as usual: its
 * promise rejects with RingError ECANCELED (EINTR if it was running), or AbortError when its own
 * signal had fired; its memory is kept until that CQE (docs/chains.md, "Cancellation").
 *
 * Matching (io_uring/cancel.c io_cancel_req_match, 6.18): every criterion given must hold; ANY
 * matches every request of the ring (and implies ALL); a cancel by fd never matches a timeout (it
 * has no file). Installed on Ring.prototype when the package entry loads.
 *
 * By opcode, ringflow matches itself: it knows the op of each of its promise requests, picks those
 * (and, with fd, those on that file: a FixedFile slot or a process fd as the request names it) and
 * cancels each by its user_data. IORING_ASYNC_CANCEL_OP is never sent: Debian's 6.1 accepts the flag
 * (the 6.6 cancel flags are backported) but did not apply it — a cancel by opcode and fd cancelled a
 * read when asked for readv, and found no timeouts (scripts/kernel-suite.sh 61). So `op` reaches
 * promise requests only (not bulk or completion-program requests) and works on every kernel.
 */
import { Ring } from './ring.js';
import { CancelFlags } from './abi.js';
import { RingError } from '../errors.js';
import { describeValue } from '../errors.js';
import { FixedFile, type Fd, type Sqe } from '../ops/sqe.js';
import type { Pending } from './requests.js';
import { op as builders } from '../ops/build.js';
import { opByName, opByCode } from '../ops/table.js';
import { ringInternals } from './ring.js';
import { SqeFlags } from './abi.js';

/** What ring.cancel() looks for. Criteria combine (fd and op: requests on that file with that opcode). */
export type CancelTarget =
  | { readonly any: true }
  | { readonly fd: Fd; readonly op?: string | number; readonly userData?: number | bigint }
  | { readonly op: string | number; readonly fd?: Fd; readonly userData?: number | bigint }
  | { readonly userData: number | bigint; readonly fd?: Fd; readonly op?: string | number };

export interface CancelOptions {
  /** Cancel every match (IORING_ASYNC_CANCEL_ALL), not only the first. `any` always cancels all. */
  readonly all?: boolean;
}

declare module './ring.js' {
  interface Ring {
    /**
     * Cancels in-flight requests of this ring by file (`fd`: a process fd or a fixed(slot)), by
     * opcode (`op`: a table name such as 'read', or an opcode number), by `userData`, or `any`.
     * With `all`, every match; else the first. Resolves how many the kernel found (a request
     * already running in io-wq counts: the kernel signals it, and it completes on its own, often
     * with EINTR). Rejects with RingError for a bad fd (EBADF) or a criterion this kernel lacks
     * (EINVAL, naming the flag).
     */
    cancel(target: CancelTarget, options?: CancelOptions): Promise<number>;
  }
}

/** The SQE fields of a cancel: its flags, the fd (sqe->fd), the opcode (sqe->len), the user_data (sqe->addr). */
interface CancelSpec {
  flags: number;
  fd: number;
  opcode: number;
  userData: number | bigint;
}

const KEYS = ['any', 'fd', 'op', 'userData'];

/** Checks `target` and `options` and says which SQE fields they set; TypeError/RangeError name the argument. */
export function cancelSpec(target: unknown, options: unknown, argCount: number): CancelSpec {
  if (argCount < 1 || argCount > 2) throw new TypeError(`ring.cancel() takes target, options; got ${argCount} arguments`);
  if (target === null || typeof target !== 'object' || Array.isArray(target))
    throw new TypeError(`ring.cancel(): "target" must be an object: { fd }, { op }, { userData } (combinable) or { any: true }, got ${describeValue(target)}`);
  const t = target as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!KEYS.includes(k)) throw new TypeError(`ring.cancel(): "${k}" is not a cancel criterion; "target" accepts ${KEYS.join(', ')}`);
  let all = false;
  if (options !== undefined) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`ring.cancel(): "options" must be an object ({ all }), got ${describeValue(options)}`);
    const o = options as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'all') throw new TypeError(`ring.cancel(): "${k}" is not an option of cancel(); it accepts all`);
    if (o.all !== undefined && typeof o.all !== 'boolean') throw new TypeError(`ring.cancel(): "all" must be a boolean, got ${describeValue(o.all)}`);
    all = o.all === true;
  }
  const spec: CancelSpec = { flags: all ? CancelFlags.ALL : 0, fd: 0, opcode: 0, userData: 0 };
  if (t.any !== undefined) {
    if (t.any !== true) throw new TypeError(`ring.cancel(): "any" must be true, got ${describeValue(t.any)}`);
    // cancel.c refuses ANY with FD or OP (EINVAL): say so here
    if (t.fd !== undefined || t.op !== undefined || t.userData !== undefined) throw new TypeError('ring.cancel(): "any" matches every request; it takes no fd, op or userData');
    spec.flags |= CancelFlags.ANY;
    return spec;
  }
  if (t.fd === undefined && t.op === undefined && t.userData === undefined)
    throw new TypeError('ring.cancel(): "target" needs at least one of fd, op, userData (or any: true)');
  if (t.fd !== undefined) {
    const fd = t.fd;
    if (fd instanceof FixedFile) {
      spec.flags |= CancelFlags.FD | CancelFlags.FD_FIXED;
      spec.fd = fd.index;
    } else {
      if (typeof fd !== 'number' || !Number.isInteger(fd)) throw new TypeError(`ring.cancel(): "fd" must be a file descriptor (an integer) or fixed(slot), got ${describeValue(fd)}`);
      if (fd < 0 || fd > 0x7fffffff) throw new RangeError(`ring.cancel(): "fd" must be in [0, 2147483647], got ${fd}`);
      spec.flags |= CancelFlags.FD;
      spec.fd = fd;
    }
  }
  if (t.op !== undefined) {
    const o = t.op;
    const desc = typeof o === 'string' ? opByName(o) : typeof o === 'number' && Number.isInteger(o) ? opByCode(o) : undefined;
    if (typeof o !== 'string' && (typeof o !== 'number' || !Number.isInteger(o)))
      throw new TypeError(`ring.cancel(): "op" must be an op name ('read') or an opcode number, got ${describeValue(o)}`);
    if (!desc) throw new RangeError(`ring.cancel(): "op" ${describeValue(o)} is not an operation of the opcode table`);
    spec.flags |= CancelFlags.OP;
    spec.opcode = desc.code;
  }
  if (t.userData !== undefined) {
    const u = t.userData;
    if (typeof u === 'bigint') {
      if (u < 0n || u > 2n ** 64n - 1n) throw new RangeError(`ring.cancel(): "userData" as a bigint must be in [0, 2^64 - 1], got ${describeValue(u)}`);
    } else if (typeof u !== 'number' || !Number.isInteger(u)) {
      throw new TypeError(`ring.cancel(): "userData" must be a non-negative integer or bigint, got ${describeValue(u)}`);
    } else if (u < 0 || !Number.isSafeInteger(u)) {
      throw new RangeError(`ring.cancel(): "userData" as a number must be in [0, 2^53 - 1] (use a bigint beyond), got ${describeValue(u)}`);
    }
    spec.userData = u;
    // user_data is matched by default; with fd or op it is matched only with USERDATA (6.6)
    if (spec.flags & (CancelFlags.FD | CancelFlags.OP)) spec.flags |= CancelFlags.USERDATA;
  }
  return spec;
}

/** Does request `p` name file `fd` (a FixedFile slot when `fixed`, else a process fd), as a cancel by fd matches? */
const onFile = (p: Pending, fd: number, fixed: boolean): boolean => p.sqe.fd === fd && ((p.sqe.flags & SqeFlags.FIXED_FILE) !== 0) === fixed;

/** A cancel of one request that the kernel refused: ENOENT found nothing (0), EALREADY found it running (1: signalled, it completes on its own). */
function oneFound(e: unknown): number {
  if (e instanceof RingError && e.code === 'ENOENT') return 0;
  if (e instanceof RingError && e.code === 'EALREADY') return 1;
  throw e;
}

/** Cancels `ud` by its user_data: 1 if the kernel found it (running or not), 0 if it had completed. */
function cancelOne(ring: Ring, ud: bigint): Promise<number> {
  return ring.run<number>(builders.asyncCancel(ud)).then(() => 1, oneFound);
}

/**
 * The cancel goes ahead of the JS backlog (an ASYNC_CANCEL names requests: OpDesc.namesRequest):
 * queued behind the requests it cancels, it would wait for room only it could make. Requests still in the JS backlog (more than
 * the in-flight limit were made) are not the kernel's to find: those `match` picks are taken out
 * and reject with ECANCELED, all of them with ALL/ANY, else one when the kernel found none.
 */
function cancelWith(ring: Ring, sqe: Sqe, many: boolean, match: (p: Pending) => boolean): Promise<number> {
  const r = ringInternals(ring);
  if (many) {
    const queued = r.cancelQueued(match, Infinity);
    return ring.run<number>(sqe).then((n) => n + queued);
  }
  return ring.run<number>(sqe).then(
    () => 1,
    (e: unknown) => oneFound(e) || r.cancelQueued(match, 1),
  );
}

/** ring.cancel({ op, fd?, userData? }): matched against ringflow's own requests (see the file comment). */
function cancelByOp(ring: Ring, spec: CancelSpec): Promise<number> {
  const all = (spec.flags & CancelFlags.ALL) !== 0;
  const byFd = (spec.flags & CancelFlags.FD) !== 0;
  const fixedFd = (spec.flags & CancelFlags.FD_FIXED) !== 0;
  const ud = spec.flags & CancelFlags.USERDATA ? BigInt.asUintN(64, BigInt(spec.userData)) : undefined;
  const opAndFile = (p: Pending): boolean => p.sqe.opcode === spec.opcode && (!byFd || onFile(p, spec.fd, fixedFd));
  const picked = ringInternals(ring).selectRequests((p) => opAndFile(p) && (ud === undefined || (p.slot === Number(ud & 0xffffffffn) && p.gen === Number(ud >> 32n))), all ? Infinity : 1);
  // requests still in the JS backlog have no user_data yet (a userData criterion names none of them)
  const queued = (p: Pending): boolean => ud === undefined && opAndFile(p);
  const inBacklog = all || picked.length === 0 ? ringInternals(ring).cancelQueued(queued, all ? Infinity : 1) : 0;
  return Promise.all(picked.map((u) => cancelOne(ring, u))).then((found) => found.reduce((a, b) => a + b, inBacklog));
}

Ring.prototype.cancel = function (this: Ring, target: CancelTarget, options?: CancelOptions): Promise<number> {
  const spec = cancelSpec(target, options, arguments.length);
  if (spec.flags & CancelFlags.OP) return cancelByOp(this, spec);
  const sqe = builders.asyncCancel(spec.userData, { cancelFlags: spec.flags });
  sqe.fd = spec.fd; // cancel.c reads sqe->fd with CANCEL_FD
  const many = (spec.flags & (CancelFlags.ALL | CancelFlags.ANY)) !== 0;
  // with ALL or ANY the kernel answers the count (and its errors are errors); with neither, 0 for the one it found
  const fixedFd = (spec.flags & CancelFlags.FD_FIXED) !== 0;
  const match =
    spec.flags & CancelFlags.ANY
      ? () => true
      : spec.flags & CancelFlags.FD && !(spec.flags & CancelFlags.USERDATA)
        ? (p: Pending) => onFile(p, spec.fd, fixedFd)
        : () => false; // (a user_data names no request of the backlog)
  ringInternals(this).assertOpen();
  return cancelWith(this, sqe, many, match);
};
