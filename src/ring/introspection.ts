/**
 * What a Ring can tell about itself and the kernel (supports, hasFeature, stats) and the raw
 * io_uring_register(2) passthrough (register, enable). Installed on Ring.prototype when the
 * package entry loads, as the program methods are (src/ring/ring-programs.ts).
 */
import { Ring, ringInternals as internals } from './ring.js';
import { Features, RegisterOp } from './abi.js';
import { probeOps } from './setup.js';
import { checkFlagQuery, opFlagSupported } from './kernel-probe.js';
import { checkNoArgs, checkOpArg, checkFeatureName, checkRegisterArgs } from './method-checks.js';
import { opByName } from '../ops/table.js';
import type { ProgramStats } from './programs.js';

export interface RingStats {
  /** io_uring_enter calls made for submission. */
  enterCalls: number;
  /** SQEs handed to the kernel. */
  sqesSubmitted: number;
  /** CQEs consumed. */
  cqesReaped: number;
  /** Times libuv woke JS for completions. */
  wakeups: number;
  /** Requests that waited in the JS backlog because the SQ or the in-flight limit was full. */
  backlogged: number;
}

declare module './ring.js' {
  interface Ring {
    /**
     * Does the kernel support this operation ('read', 'READ', or an opcode number)? (IORING_REGISTER_PROBE)
     * With `{ flag }`, one of the op's flags ('INJECT_RESULT' of nop): asked with the probe request the
     * opcode table declares (src/ring/kernel-probe.ts); false also when the kernel cannot be asked.
     */
    supports(op: string | number, options?: { flag?: string }): boolean;
    /** Has the kernel a feature (IORING_FEAT_*)? e.g. ring.hasFeature('NODROP'). */
    hasFeature(name: keyof typeof Features): boolean;
    /** Counters since the ring was created. */
    stats(): RingStats & { inflight: number; queued: number } & Partial<ProgramStats>;
    /** io_uring_register(2) passthrough for advanced users: returns the kernel's result, throws RingError. */
    register(opcode: number, arg: ArrayBufferView | null, nr: number): number;
    /** Enables a ring created with `disabled: true` (IORING_REGISTER_ENABLE_RINGS). */
    enable(): void;
  }
}

/** The opcodes each ring's kernel supports, probed once per ring. */
const probed = new WeakMap<Ring, Set<number>>();

const proto = Ring.prototype;

proto.supports = function (this: Ring, op: string | number, options?: { flag?: string }): boolean {
  checkOpArg(op, arguments.length);
  const q = arguments.length > 1 ? checkFlagQuery(op, options) : undefined;
  let ops = probed.get(this);
  if (!ops) {
    internals(this).assertOpen();
    probed.set(this, (ops = probeOps(this.fd)));
  }
  const code = typeof op === 'number' ? op : opByName(op)?.code;
  if (code === undefined || !ops.has(code)) return false;
  return q === undefined || opFlagSupported(q.desc, q.flag) === true;
};

proto.hasFeature = function (this: Ring, name: keyof typeof Features): boolean {
  checkFeatureName(name, arguments.length);
  return (this.features & Features[name]) !== 0;
};

proto.stats = function (this: Ring): RingStats & { inflight: number; queued: number } & Partial<ProgramStats> {
  checkNoArgs('stats', arguments.length);
  const r = internals(this);
  const base = { ...r.stats, inflight: r.inflight, queued: r.queued };
  if (!r.engine) return base;
  const p = r.engine.stats(Number(new BigUint64Array(r.engine.cq0, 24, 1)[0]));
  return { ...base, ...p, enterCalls: base.enterCalls - p.jsEntersSkipped + p.programEnterCalls };
};

proto.register = function (this: Ring, opcode: number, arg: ArrayBufferView | null, nr: number): number {
  checkRegisterArgs(opcode, arg, nr, arguments.length);
  const r = internals(this);
  r.assertOpen();
  r.files?.beforeRegister(opcode, arg, nr);
  return r.register(opcode, arg, nr);
};

proto.enable = function (this: Ring): void {
  checkNoArgs('enable', arguments.length);
  this.register(RegisterOp.REGISTER_ENABLE_RINGS, null, 0);
};
