/**
 * Ring setup: options → struct io_uring_params, the io_uring_setup call, the mmaps, and the
 * probe of supported opcodes. Defaults were chosen by measurement (docs/benchmarks.md,
 * "Choosing the default setup flags").
 */
import { binding } from '../native.js';
import { RingError } from '../errors.js';
import { Params, SqOff, CqOff, SetupFlags, Features, RegisterOp, Probe, PROBE_OP_SUPPORTED, PARAMS_SIZE } from './abi.js';

export interface RingOptions {
  /** SQ entries (rounded up to a power of two by the kernel; 1..32768). Default 256. */
  entries?: number;
  /** CQ entries (IORING_SETUP_CQSIZE). Default 4 × entries. */
  cqEntries?: number;
  /** IORING_SETUP_CLAMP: clamp sizes to the kernel maximum instead of failing. */
  clamp?: boolean;
  /** IORING_SETUP_SQPOLL: a kernel thread polls the SQ. idle in ms (0 = kernel default 1 s), cpu pins it (SQ_AFF). */
  sqpoll?: boolean | { idle?: number; cpu?: number };
  /** IORING_SETUP_COOP_TASKRUN (5.19). */
  coopTaskrun?: boolean;
  /** IORING_SETUP_TASKRUN_FLAG (5.19; needs coopTaskrun or deferTaskrun). */
  taskrunFlag?: boolean;
  /** IORING_SETUP_SINGLE_ISSUER (6.0). */
  singleIssuer?: boolean;
  /** IORING_SETUP_DEFER_TASKRUN (6.1; implies singleIssuer). */
  deferTaskrun?: boolean;
  /** IORING_SETUP_SUBMIT_ALL (5.18): keep submitting a batch past a failed SQE. */
  submitAll?: boolean;
  /** IORING_SETUP_NO_SQARRAY (6.6). Default: on where supported. */
  noSqArray?: boolean;
  /** IORING_SETUP_ATTACH_WQ: share the async worker pool (and SQPOLL thread) of another ring. */
  attachWq?: { fd: number } | number;
  /** IORING_SETUP_R_DISABLED: create disabled; call ring.enable() before use (5.10). */
  disabled?: boolean;
  /** Extra raw IORING_SETUP_* bits, OR'd in as given. */
  flags?: number;
  /**
   * The default flag set: 'fast' (SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG; COOP_TASKRUN | TASKRUN_FLAG before
   * 6.1), 'coop' (COOP_TASKRUN | TASKRUN_FLAG | SINGLE_ISSUER) or 'plain' (none). Explicit
   * task-run options replace the profile. docs/benchmarks.md has the measurements behind 'fast'.
   */
  profile?: 'fast' | 'coop' | 'plain';
  /** Watch a registered eventfd instead of the ring fd (automatic with DEFER_TASKRUN). */
  eventfd?: boolean;
  /**
   * Most requests in flight at once (default: the CQ size, so the CQ cannot overflow). Higher values
   * rely on IORING_FEAT_NODROP: the kernel keeps CQEs that did not fit and ringflow flushes them.
   */
  maxInflight?: number;
  /** Extra completion queues (sizes; indexes 1..n) for completion programs; enables the program engine. */
  cqs?: number[];
  /** Instruction budget of one completion-program run (default 1 000 000). */
  programBudget?: number;
  /** Submit automatically at the end of the current tick (default true). false: call ring.submit(). */
  autoSubmit?: boolean;
}

export interface SetupResult {
  fd: number;
  flags: number;
  features: number;
  sqEntries: number;
  cqEntries: number;
  params: Buffer;
}

function u32opt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`ring option "${name}" must be an integer, got ${typeof v}`);
  if (v < min || v > max) throw new RangeError(`ring option "${name}" must be in [${min}, ${max}], got ${v}`);
  return v;
}

/** Computes IORING_SETUP_* flags from options (pure; exported for tests and `ringflow info`). */
export function setupFlags(o: RingOptions, profileFlags: number): number {
  let f = 0;
  const explicitTaskrun =
    o.coopTaskrun !== undefined || o.taskrunFlag !== undefined || o.singleIssuer !== undefined || o.deferTaskrun !== undefined;
  if (!o.sqpoll && !explicitTaskrun) f |= profileFlags;
  if (o.coopTaskrun) f |= SetupFlags.COOP_TASKRUN;
  if (o.taskrunFlag) f |= SetupFlags.TASKRUN_FLAG;
  if (o.singleIssuer) f |= SetupFlags.SINGLE_ISSUER;
  if (o.deferTaskrun) f |= SetupFlags.DEFER_TASKRUN | SetupFlags.SINGLE_ISSUER;
  if (o.sqpoll) {
    f |= SetupFlags.SQPOLL;
    if (typeof o.sqpoll === 'object' && o.sqpoll.cpu !== undefined) f |= SetupFlags.SQ_AFF;
  }
  if (o.clamp) f |= SetupFlags.CLAMP;
  if (o.submitAll) f |= SetupFlags.SUBMIT_ALL;
  if (o.attachWq !== undefined) f |= SetupFlags.ATTACH_WQ;
  if (o.disabled) f |= SetupFlags.R_DISABLED;
  if (o.flags !== undefined) f |= u32opt('flags', o.flags, 0, 0xffffffff);
  return f >>> 0;
}

/** Calls io_uring_setup; retries once without NO_SQARRAY on kernels before 6.6. */
export function setupRing(o: RingOptions, profileFlags: number): SetupResult {
  if (o === null || typeof o !== 'object') throw new TypeError('ring options must be an object');
  const entries = u32opt('entries', o.entries ?? 256, 1, 32768 * (o.clamp ? 1 << 16 : 1));
  const cq = o.cqEntries ?? entries * 4;
  u32opt('cqEntries', cq, 1, 0xffffffff);
  let flags = setupFlags(o, profileFlags) | SetupFlags.CQSIZE;
  const wantNoSqArray = o.noSqArray ?? true;
  if (wantNoSqArray) flags |= SetupFlags.NO_SQARRAY;
  const attempt = (fl: number) => {
    const p = Buffer.alloc(PARAMS_SIZE);
    p.writeUInt32LE(cq, Params.cq_entries);
    p.writeUInt32LE(fl >>> 0, Params.flags);
    if (typeof o.sqpoll === 'object') {
      if (o.sqpoll.cpu !== undefined) p.writeUInt32LE(u32opt('sqpoll.cpu', o.sqpoll.cpu, 0, 4095), Params.sq_thread_cpu);
      if (o.sqpoll.idle !== undefined) p.writeUInt32LE(u32opt('sqpoll.idle', o.sqpoll.idle, 0, 0xffffffff), Params.sq_thread_idle);
    }
    if (o.attachWq !== undefined) {
      const wq = typeof o.attachWq === 'number' ? o.attachWq : o.attachWq.fd;
      p.writeUInt32LE(u32opt('attachWq', wq, 0, 0x7fffffff), Params.wq_fd);
    }
    const fd = binding.ringSetup(entries, p) as number;
    return { fd, p };
  };
  let { fd, p } = attempt(flags);
  if (fd === -22 /* EINVAL */ && (flags & SetupFlags.NO_SQARRAY) && o.noSqArray === undefined) {
    // NO_SQARRAY is 6.6+: retry without it (Zig std's "retry without the newer flag" habit).
    flags &= ~SetupFlags.NO_SQARRAY;
    ({ fd, p } = attempt(flags));
  }
  if (fd < 0) throw new RingError(fd, 'io_uring_setup', { detail: `entries=${entries} cq=${cq} flags=0x${flags.toString(16)}` });
  return {
    fd,
    flags: p.readUInt32LE(Params.flags),
    features: p.readUInt32LE(Params.features),
    sqEntries: p.readUInt32LE(Params.sq_entries),
    cqEntries: p.readUInt32LE(Params.cq_entries),
    params: p,
  };
}

/** Offsets (bytes) into the SQ and CQ ring mappings, from the params the kernel returned. */
export function ringOffsets(p: Buffer) {
  const sq = Params.sq_off;
  const cq = Params.cq_off;
  return {
    sqHead: p.readUInt32LE(sq + SqOff.head),
    sqTail: p.readUInt32LE(sq + SqOff.tail),
    sqMask: p.readUInt32LE(sq + SqOff.ring_mask),
    sqFlags: p.readUInt32LE(sq + SqOff.flags),
    sqDropped: p.readUInt32LE(sq + SqOff.dropped),
    sqArray: p.readUInt32LE(sq + SqOff.array),
    cqHead: p.readUInt32LE(cq + CqOff.head),
    cqTail: p.readUInt32LE(cq + CqOff.tail),
    cqMask: p.readUInt32LE(cq + CqOff.ring_mask),
    cqOverflow: p.readUInt32LE(cq + CqOff.overflow),
    cqes: p.readUInt32LE(cq + CqOff.cqes),
    cqFlags: p.readUInt32LE(cq + CqOff.flags),
  };
}

/** IORING_REGISTER_PROBE → the set of supported opcode numbers. */
export function probeOps(fd: number): Set<number> {
  const n = 256;
  const buf = Buffer.alloc(Probe.ops + n * Probe.opSize);
  const r = binding.ringRegister(fd, RegisterOp.REGISTER_PROBE, buf, n) as number;
  const out = new Set<number>();
  if (r < 0) return out;
  const len = buf[Probe.ops_len];
  for (let i = 0; i < len; i++) {
    const base = Probe.ops + i * Probe.opSize;
    if (buf.readUInt16LE(base + Probe.opFlags) & PROBE_OP_SUPPORTED) out.add(buf[base]);
  }
  return out;
}

/** Names of features set in a features word. */
export function featureNames(features: number): string[] {
  return Object.entries(Features)
    .filter(([, v]) => features & v)
    .map(([k]) => k);
}
/** Names of setup flags set in a flags word. */
export function setupFlagNames(flags: number): string[] {
  return Object.entries(SetupFlags)
    .filter(([, v]) => flags & v)
    .map(([k]) => k);
}
