/**
 * Kernel feature probes for what is newer than 5.19 (the baseline of the tables; README names 6.1,
 * the oldest kernel tested, as the minimum), beyond the opcode
 * probe (IORING_REGISTER_PROBE) and the features word: per-op flags. Each flag's probe is declared
 * in the opcode table (`flagSince` of src/ops/table.ts): a request using the flag, run here on a
 * private scratch ring (2 entries, no task-run flags) and waited for synchronously; the kernel
 * lacks the flag when it refuses the request with the declared res (or, where one is declared,
 * does not answer with the expected res). Answers are cached for the environment (the
 * running kernel does not change under a process). `ring.supports(op, { flag })`, `ringflow info`,
 * the tests' skip guards and the hint of a request the kernel refused read them.
 */
import { openSync, closeSync } from 'node:fs';
import { binding } from '../native.js';
import { EnterFlags, SetupFlags } from './abi.js';
import { setupRing, ringOffsets, probeOps } from './setup.js';
import { OPS, opByName, type OpDesc, type FlagSince } from '../ops/table.js';
import { buildSqe } from '../ops/build.js';
import type { Sqe } from '../ops/sqe.js';
import { describeValue } from '../errors.js';

/** What the kernel answered for one declared flag. */
export interface FlagProbe {
  /** Op name ('nop'). */
  op: string;
  /** Flag name in the op's flag space ('INJECT_RESULT'). */
  flag: string;
  /** First mainline kernel with it (the table's `since`). */
  since: string;
  /** true / false: the kernel has it or not; null: it could not be asked (see `why`). */
  supported: boolean | null;
  why?: string;
}

const EINTR = 4;
const answers = new Map<string, boolean | null>();
let scratchError: string | undefined;
let scratchOps: Set<number> | undefined;

/** The bits of an op's flag word, by kernel name (its `sqe` declaration). */
function flagBits(op: OpDesc): Readonly<Record<string, number>> {
  const u = op.sqe?.fields.opFlags;
  return u && u.use === 'flags' ? u.bits : {};
}

/** A private scratch ring, mapped: its fd, native handle, SQ/CQ memory, SQEs and setup flags. */
export interface ScratchRing {
  fd: number;
  handle: unknown;
  sqRing: ArrayBuffer;
  cqRing: ArrayBuffer;
  sqes: ArrayBuffer;
  flags: number;
  off: ReturnType<typeof ringOffsets>;
}

/**
 * Runs `fn` on a fresh scratch ring (2 entries, no task-run flags; closed after), or returns a
 * string saying why none could be made (ENOMEM where ring memory counts against RLIMIT_MEMLOCK,
 * EPERM where io_uring is disabled). The kernel probes here and in tag-probe.ts ask on one.
 */
export function withScratchRing<T>(fn: (r: ScratchRing) => T, ring: { cqe32?: boolean } = {}): T | string {
  let s;
  try {
    s = setupRing({ entries: 2, profile: 'plain', ...ring }, 0);
  } catch (e) {
    return `no scratch ring: ${(e as Error).message}`;
  }
  const mapped = binding.ringMap(s.fd, s.params) as number | [unknown, ArrayBuffer, ArrayBuffer, ArrayBuffer];
  if (typeof mapped === 'number') {
    binding.closeFd(s.fd);
    return `no scratch ring: mmap failed (${mapped})`;
  }
  const [handle, sqRing, cqRing, sqes] = mapped;
  try {
    return fn({ fd: s.fd, handle, sqRing, cqRing, sqes, flags: s.flags, off: ringOffsets(s.params) });
  } finally {
    binding.ringClose(handle);
  }
}

/** Runs one request on a fresh scratch ring and waits for its CQE: its res, or why it could not (withScratchRing). */
function runOnScratchRing(sqe: Sqe, ring: { cqe32?: boolean } = {}): number | string {
  return withScratchRing(({ handle, sqRing, cqRing, sqes, flags, off }) => {
    const sq32 = new Uint32Array(sqRing);
    const cq32 = new Uint32Array(cqRing);
    const tail = sq32[off.sqTail >> 2];
    const slot = tail & sq32[off.sqMask >> 2];
    if (!(flags & SetupFlags.NO_SQARRAY)) sq32[(off.sqArray >> 2) + slot] = slot;
    sqe.encode(new Uint32Array(sqes), slot * 16, 1, 0);
    let r = binding.ringSubmit(handle, (tail + 1) >>> 0, 1, 1, EnterFlags.GETEVENTS) as number;
    const head = cq32[off.cqHead >> 2];
    while (cq32[off.cqTail >> 2] === head) {
      if (r < 0 && r !== -EINTR) return `io_uring_enter failed (${r})`;
      r = binding.ringEnter(handle, 0, 1, EnterFlags.GETEVENTS) as number;
    }
    const cqeWords = flags & SetupFlags.CQE32 ? 8 : 4;
    const res = new Int32Array(cqRing)[(off.cqes >> 2) + (head & cq32[off.cqMask >> 2]) * cqeWords + 2];
    cq32[off.cqHead >> 2] = (head + 1) >>> 0;
    return res;
  }, ring);
}

/** The opcodes the kernel supports, asked once on a scratch ring (undefined: no ring could be made). */
function kernelOps(): Set<number> | undefined {
  if (scratchOps || scratchError) return scratchOps;
  try {
    const s = setupRing({ entries: 2, profile: 'plain' }, 0);
    try {
      scratchOps = probeOps(s.fd);
    } finally {
      binding.closeFd(s.fd);
    }
  } catch (e) {
    scratchError = `no scratch ring: ${(e as Error).message}`;
  }
  return scratchOps;
}

function ask(op: OpDesc, d: FlagSince): { supported: boolean | null; why?: string } {
  if (!d.probe) return { supported: null, why: d.noProbe ?? 'no probe declared' };
  const ops = kernelOps();
  if (!ops) return { supported: null, why: scratchError };
  if (!ops.has(op.code)) return { supported: false, why: `the kernel lacks ${op.name} itself` };
  const sqe = buildSqe(op, d.probe.args);
  if (d.probe.set?.fd !== undefined) sqe.fd = d.probe.set.fd;
  if (d.probe.set?.len !== undefined) sqe.len = d.probe.set.len;
  let fd = -1;
  try {
    if (d.probe.file !== undefined) sqe.fd = fd = openSync(d.probe.file, 'r+');
    const res = runOnScratchRing(sqe, d.probe.ring);
    if (typeof res === 'string') return { supported: null, why: res };
    const { expect, refused } = d.probe;
    if (expect !== undefined ? res === expect : res !== refused) return { supported: true };
    return { supported: false, why: res === refused ? `the kernel refused the probe request (res ${res})` : `the probe request got res ${res}, not ${expect}` };
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Does the kernel have flag `flag` of op `op`? null when it cannot be asked. Flags the table does
 *  not date (as old as the op, or older than 5.19) are true when the op is supported. */
export function opFlagSupported(op: OpDesc, flag: string): boolean | null {
  const d = op.flagSince?.[flag];
  if (!d) {
    const ops = kernelOps();
    return ops ? ops.has(op.code) : null;
  }
  const key = `${op.name}.${flag}`;
  if (!answers.has(key)) answers.set(key, ask(op, d).supported);
  return answers.get(key)!;
}

/** Every dated flag of the opcode table and the kernel's answer (for `ringflow info` and tests). */
export function probeOpFlags(): FlagProbe[] {
  const out: FlagProbe[] = [];
  for (const op of OPS)
    for (const [flag, d] of Object.entries(op.flagSince ?? {})) {
      const a = ask(op, d);
      answers.set(`${op.name}.${flag}`, a.supported);
      out.push({ op: op.name, flag, since: d.since, supported: a.supported, ...(a.why !== undefined && a.supported !== true ? { why: a.why } : {}) });
    }
  return out;
}

/** Dated flags set in a request's flag word that the kernel lacks, with the version that has them
 *  (for the hint of a request the kernel refused). Only runs probes when a dated flag is set. */
export function lackingFlags(sqe: Sqe): { flag: string; since: string }[] {
  const dated = sqe.op.flagSince;
  if (!dated) return [];
  const bits = flagBits(sqe.op);
  const out: { flag: string; since: string }[] = [];
  for (const [flag, d] of Object.entries(dated))
    if (bits[flag] !== undefined && sqe.opFlags & bits[flag] && opFlagSupported(sqe.op, flag) === false) out.push({ flag, since: d.since });
  return out;
}

/** `ring.supports(op, { flag })`: checks the options and resolves the op. */
export function checkFlagQuery(op: string | number, options: unknown): { desc: OpDesc; flag: string } | undefined {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new TypeError(`ring.supports(): "options" must be an object such as { flag: 'INJECT_RESULT' }, got ${describeValue(options)}`);
  for (const k of Object.keys(options)) if (k !== 'flag') throw new TypeError(`ring.supports(): "options" takes "flag", got "${k}"`);
  const flag = (options as { flag?: unknown }).flag;
  const desc = typeof op === 'number' ? OPS.find((o) => o.code === op) : opByName(op);
  if (flag === undefined) return undefined;
  if (typeof flag !== 'string') throw new TypeError(`ring.supports(): "flag" must be a flag name such as 'INJECT_RESULT', got ${describeValue(flag)}`);
  if (!desc) throw new RangeError(`ring.supports(): ${describeValue(op)} is not an op ringflow knows, so it has no flag names`);
  const bits = flagBits(desc);
  if (!Object.hasOwn(bits, flag))
    throw new RangeError(`ring.supports(): ${desc.name} has no flag "${flag}"; its flags are ${Object.keys(bits).join(', ') || '(none)'}`);
  return { desc, flag };
}
