/**
 * Ring setup: options → struct io_uring_params, the io_uring_setup call, the mmaps, and the
 * probe of supported opcodes. Defaults were chosen by measurement (docs/benchmarks.md,
 * "Choosing the default setup flags").
 */
import { binding } from '../native.js';
import { RingError, describeValue } from '../errors.js';
import { Params, SqOff, CqOff, SetupFlags, SETUP_FLAGS, KNOWN_SETUP_FLAGS, Features, RegisterOp, Probe, PROBE_OP_SUPPORTED, PARAMS_SIZE } from './abi.js';
import { ProgramEngine } from './programs.js';
import { checkAttachWq, SQPOLL_ATTACH_HINT } from './attach-wq.js';

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
  /** IORING_SETUP_DEFER_TASKRUN (6.1; implies singleIssuer, and ringflow adds taskrunFlag). */
  deferTaskrun?: boolean;
  /** IORING_SETUP_SUBMIT_ALL (5.18): keep submitting a batch past a failed SQE. */
  submitAll?: boolean;
  /** IORING_SETUP_NO_SQARRAY (6.6). Default: on where supported. */
  noSqArray?: boolean;
  /** IORING_SETUP_ATTACH_WQ: share the async worker pool (and SQPOLL thread) of another ring. */
  attachWq?: { fd: number } | number;
  /** IORING_SETUP_R_DISABLED: create disabled; call ring.enable() before use (5.10). */
  disabled?: boolean;
  /**
   * IORING_SETUP_SQE128 (5.19): 128-byte SQEs, whose bytes 48..127 are an 80-byte uring_cmd area
   * (op.uringCmdRaw). No completion programs or extra CQs on such a ring (the engine writes 64-byte SQEs).
   */
  sqe128?: boolean;
  /**
   * IORING_SETUP_CQE32 (5.19): 32-byte CQEs with two extra u64s (ring.runBig() resolves them).
   * Not with cqeMixed; no completion programs or extra CQs (the engine reads 16-byte CQEs).
   */
  cqe32?: boolean;
  /**
   * IORING_SETUP_CQE_MIXED (6.18): 16-byte CQEs, and 32-byte ones (IORING_CQE_F_32, two slots) from
   * requests that post them (nop's CQE32 flag, uring_cmd, recvZc). Not with cqe32; no completion programs.
   */
  cqeMixed?: boolean;
  /** Extra raw IORING_SETUP_* bits, OR'd in as given. Unknown bits and flags SETUP_FLAGS (abi.ts) marks unsupported are a RangeError. */
  flags?: number;
  /**
   * The default flag set: 'fast' (SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG; COOP_TASKRUN | TASKRUN_FLAG before
   * 6.1), 'coop' (COOP_TASKRUN | TASKRUN_FLAG | SINGLE_ISSUER) or 'plain' (none). Explicit
   * task-run options replace the profile. docs/benchmarks.md has the measurements behind 'fast'.
   */
  profile?: Profile;
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
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`ring option "${name}" must be an integer, got ${describeValue(v)}`);
  if (v < min || v > max) throw new RangeError(`ring option "${name}" must be in [${min}, ${max}], got ${describeValue(v)}`);
  return v;
}

/** The default setup-flag sets (RingOptions.profile). */
export const PROFILES = {
  fast: SetupFlags.SINGLE_ISSUER | SetupFlags.DEFER_TASKRUN | SetupFlags.TASKRUN_FLAG,
  coop: SetupFlags.COOP_TASKRUN | SetupFlags.TASKRUN_FLAG | SetupFlags.SINGLE_ISSUER,
  plain: 0,
} as const;
export type Profile = keyof typeof PROFILES;

function bool(name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new TypeError(`ring option "${name}" must be a boolean, got ${describeValue(v)}`);
}

function objectWithKeys(name: string, v: unknown, keys: readonly string[]): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`ring option "${name}" must be an object, got ${describeValue(v)}`);
  for (const k of Object.keys(v))
    if (!keys.includes(k)) throw new TypeError(`ring option "${name}" takes ${keys.map((x) => `"${x}"`).join(', ')}, got "${k}"`);
  return v as Record<string, unknown>;
}

/** Checks raw IORING_SETUP_* bits against SETUP_FLAGS: unknown bits and flags ringflow cannot drive are RangeErrors. */
export function checkSetupFlags(name: string, flags: number): void {
  const unknown = (flags & ~KNOWN_SETUP_FLAGS) >>> 0;
  if (unknown)
    throw new RangeError(`ring option "${name}" has unknown IORING_SETUP_* bits 0x${unknown.toString(16)}; known flags: ${SETUP_FLAGS.map((f) => f.name).join(', ')}`);
  for (const f of SETUP_FLAGS)
    if (f.support === 'unsupported' && flags & (2 ** f.bit)) throw new RangeError(`ring option "${name}" includes SetupFlags.${f.name}, which ringflow does not support yet: ${f.why}`);
}

/**
 * Every Ring option and its check (keys of RingOptions, no more, no less). Checks run before
 * io_uring_setup, so a bad option creates nothing; ranges the kernel decides (cqEntries against
 * entries, flag combinations) are left to it and come back as RingError EINVAL.
 */
const RING_OPTIONS = {
  entries: (v, o) => void u32opt('entries', v, 1, 32768 * (o.clamp ? 1 << 16 : 1)),
  cqEntries: (v) => void u32opt('cqEntries', v, 1, 0xffffffff),
  clamp: (v) => bool('clamp', v),
  sqpoll: (v) => {
    if (typeof v === 'boolean') return;
    const sq = objectWithKeys('sqpoll', v, ['idle', 'cpu']);
    if (sq.idle !== undefined) u32opt('sqpoll.idle', sq.idle, 0, 0xffffffff);
    if (sq.cpu !== undefined) u32opt('sqpoll.cpu', sq.cpu, 0, 4095);
  },
  coopTaskrun: (v) => bool('coopTaskrun', v),
  taskrunFlag: (v) => bool('taskrunFlag', v),
  singleIssuer: (v) => bool('singleIssuer', v),
  deferTaskrun: (v) => bool('deferTaskrun', v),
  submitAll: (v) => bool('submitAll', v),
  noSqArray: (v) => bool('noSqArray', v),
  attachWq: (v) => {
    if (typeof v === 'number') return void u32opt('attachWq', v, 0, 0x7fffffff);
    if (v === null || typeof v !== 'object') throw new TypeError(`ring option "attachWq" must be a ring fd or an object with its fd (a Ring), got ${describeValue(v)}`);
    u32opt('attachWq.fd', (v as { fd?: unknown }).fd, 0, 0x7fffffff);
  },
  disabled: (v) => bool('disabled', v),
  sqe128: (v) => bool('sqe128', v),
  cqe32: (v) => bool('cqe32', v),
  cqeMixed: (v) => bool('cqeMixed', v),
  flags: (v) => checkSetupFlags('flags', u32opt('flags', v, 0, 0xffffffff)),
  profile: (v) => {
    if (typeof v !== 'string' || !Object.hasOwn(PROFILES, v))
      throw new RangeError(`ring option "profile" must be one of ${Object.keys(PROFILES).map((k) => `"${k}"`).join(', ')}, got ${describeValue(v)}`);
  },
  eventfd: (v) => bool('eventfd', v),
  maxInflight: (v) => void u32opt('maxInflight', v, 1, 0xffffffff),
  cqs: (v, o) => {
    if (!Array.isArray(v)) throw new TypeError(`ring option "cqs" must be an array of completion-queue sizes, got ${describeValue(v)}`);
    const big = bigEntryFlagNames(o);
    if (big.length) throw new RangeError(`ring option "cqs" needs the completion-program engine, which a ring with ${big.join(' and ')} cannot have: ${BIG_ENTRY_ENGINE_WHY}`);
    if (v.length > 1024) throw new RangeError(`ring option "cqs" must hold at most 1024 sizes, got ${v.length}`);
    for (const size of v) ProgramEngine.checkCqSize(size);
  },
  programBudget: (v) => void u32opt('programBudget', v, 1, Number.MAX_SAFE_INTEGER),
  autoSubmit: (v) => bool('autoSubmit', v),
} satisfies Record<keyof RingOptions, (v: unknown, o: RingOptions) => void>;

/** The option keys a Ring accepts. */
export const RING_OPTION_KEYS: readonly string[] = Object.keys(RING_OPTIONS);

/**
 * Validates `new Ring(options)` before anything is created: an object of known keys, each of the
 * right type and range, no setup flag ringflow cannot drive. Returns the profile and its flags.
 */
export function checkRingOptions(options: unknown, argCount = 1): { profile: Profile; profileFlags: number } {
  if (argCount > 1) throw new TypeError(`new Ring() takes one argument (options), got ${argCount}`);
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new TypeError(`ring options must be an object, got ${describeValue(options)}`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!Object.hasOwn(RING_OPTIONS, k)) throw new TypeError(`"${k}" is not a ring option; ring options are ${RING_OPTION_KEYS.join(', ')}`);
  for (const [k, check] of Object.entries(RING_OPTIONS) as [keyof RingOptions, (v: unknown, o: RingOptions) => void][]) {
    const v = o[k];
    if (v !== undefined) check(v, o as RingOptions);
  }
  const profile = (o.profile as Profile | undefined) ?? 'fast';
  return { profile, profileFlags: PROFILES[profile] };
}

/** Setup flags that change the size of SQ or CQ entries. */
export const BIG_ENTRY_FLAGS = SetupFlags.SQE128 | SetupFlags.CQE32 | SetupFlags.CQE_MIXED;

/** Why a big-entry ring has no completion-program engine (the `cqs` option, programs, the `cq` option). */
export const BIG_ENTRY_ENGINE_WHY =
  'the engine (native/engine.c) reads 16-byte CQEs and writes 64-byte SQEs; use a ring without sqe128, cqe32 and cqeMixed for programs and extra CQs';

/** Refuses the completion-program engine on a big-entry ring (programs, ring.createCq(), the `cq` option). */
export function refuseEngineOnBigRing(setupFlags: number): void {
  if (!(setupFlags & BIG_ENTRY_FLAGS)) return;
  const names = setupFlagNames(setupFlags & BIG_ENTRY_FLAGS).join(' and ');
  throw new RangeError(`completion programs and extra completion queues need the program engine, which this ring (set up with ${names}) cannot have: ${BIG_ENTRY_ENGINE_WHY}`);
}

/** The big-entry flags options ask for (the options, or raw `flags`), by IORING_SETUP_* name. */
function bigEntryFlagNames(o: RingOptions): string[] {
  const raw = typeof o.flags === 'number' ? o.flags : 0;
  const out: string[] = [];
  if (o.sqe128 || raw & SetupFlags.SQE128) out.push('SQE128');
  if (o.cqe32 || raw & SetupFlags.CQE32) out.push('CQE32');
  if (o.cqeMixed || raw & SetupFlags.CQE_MIXED) out.push('CQE_MIXED');
  return out;
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
  if (o.sqe128) f |= SetupFlags.SQE128;
  if (o.cqe32) f |= SetupFlags.CQE32;
  if (o.cqeMixed) f |= SetupFlags.CQE_MIXED;
  if (o.flags !== undefined) f |= u32opt('flags', o.flags, 0, 0xffffffff);
  // DEFER_TASKRUN always comes with TASKRUN_FLAG: the flag is how ringflow learns that deferred
  // completion work is left after an enter (6.13+ runs at most 20 items per enter and does not
  // signal the eventfd again for the rest: native/ring_core.c, rf_ring_rearm)
  if (f & SetupFlags.DEFER_TASKRUN) f |= SetupFlags.TASKRUN_FLAG;
  return f >>> 0;
}

/** Calls io_uring_setup; retries once without NO_SQARRAY on kernels before 6.6. */
export function setupRing(o: RingOptions, profileFlags: number): SetupResult {
  checkRingOptions(o);
  checkSetupFlags('profile', profileFlags);
  const entries = u32opt('entries', o.entries ?? 256, 1, 32768 * (o.clamp ? 1 << 16 : 1));
  const cq = o.cqEntries ?? entries * 4;
  u32opt('cqEntries', cq, 1, 0xffffffff);
  let flags = setupFlags(o, profileFlags) | SetupFlags.CQSIZE;
  const wantNoSqArray = o.noSqArray ?? true;
  if (wantNoSqArray) flags |= SetupFlags.NO_SQARRAY;
  const wqFd = o.attachWq === undefined ? undefined : typeof o.attachWq === 'number' ? o.attachWq : o.attachWq.fd;
  if (wqFd !== undefined) checkAttachWq(wqFd); // src/ring/attach-wq.ts
  const attempt = (fl: number) => {
    const p = Buffer.alloc(PARAMS_SIZE);
    p.writeUInt32LE(cq, Params.cq_entries);
    p.writeUInt32LE(fl >>> 0, Params.flags);
    if (typeof o.sqpoll === 'object') {
      if (o.sqpoll.cpu !== undefined) p.writeUInt32LE(u32opt('sqpoll.cpu', o.sqpoll.cpu, 0, 4095), Params.sq_thread_cpu);
      if (o.sqpoll.idle !== undefined) p.writeUInt32LE(u32opt('sqpoll.idle', o.sqpoll.idle, 0, 0xffffffff), Params.sq_thread_idle);
    }
    if (wqFd !== undefined) p.writeUInt32LE(u32opt('attachWq', wqFd, 0, 0x7fffffff), Params.wq_fd);
    const fd = binding.ringSetup(entries, p) as number;
    return { fd, p };
  };
  let { fd, p } = attempt(flags);
  if (fd === -22 /* EINVAL */ && (flags & SetupFlags.NO_SQARRAY) && o.noSqArray === undefined) {
    // NO_SQARRAY is 6.6+: retry without it (Zig std's "retry without the newer flag" habit).
    flags &= ~SetupFlags.NO_SQARRAY;
    ({ fd, p } = attempt(flags));
  }
  if (fd < 0) {
    const detail = `entries=${entries} cq=${cq} flags=0x${flags.toString(16)}`;
    // an SQPOLL ring shares the SQ thread of the ring it attaches to, which must be an SQPOLL ring (EINVAL)
    const sqpollAttach = fd === -22 && (flags & SetupFlags.SQPOLL) !== 0 && (flags & SetupFlags.ATTACH_WQ) !== 0;
    throw new RingError(fd, 'io_uring_setup', sqpollAttach ? { detail: `${detail} wq_fd=${wqFd ?? 0}`, hint: SQPOLL_ATTACH_HINT } : { detail });
  }
  return {
    fd,
    flags: p.readUInt32LE(Params.flags),
    features: p.readUInt32LE(Params.features),
    sqEntries: p.readUInt32LE(Params.sq_entries),
    cqEntries: p.readUInt32LE(Params.cq_entries),
    params: p,
  };
}

/**
 * Asks the kernel whether it accepts io_uring_setup with exactly these flags (8 entries), whatever
 * ringflow supports: 0 or -errno. For `ringflow info`; the ring is closed at once.
 */
export function kernelAcceptsSetup(flags: number): number {
  const p = Buffer.alloc(PARAMS_SIZE);
  p.writeUInt32LE(flags >>> 0, Params.flags);
  const fd = binding.ringSetup(8, p) as number;
  if (fd < 0) return fd;
  binding.closeFd(fd);
  return 0;
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
