/**
 * The program policy — what a completion program may submit — derived from the opcode table's
 * declaration (`sqe` and `program` of each entry, src/ops/sqe-fields.ts), and serialised for the
 * native engine (native/engine_policy.c interprets it; it re-validates the structure first).
 *
 * An SQE a program submits passes, in this order (the first failure is its CQE's res):
 *   1. the op has a permit                                   else -EINVAL
 *   2. its IOSQE_* bits are permitted                        else -EINVAL
 *   3. bytes 48..63 are 0 unless it came through helper 1000 else -EINVAL
 *   4. each slot's rule, in SQE order: must-be-zero / fixed value / unknown or unpermitted flag
 *      bits -EINVAL; required flag bits -EACCES; fd not allowed -EBADF (with IOSQE_FIXED_FILE, on
 *      ops whose declaration says `fixedFile: 'slot'`: a registered-file-table slot JS did not
 *      allow with ring.allowFd(fixed(i)) -EBADF); dirfd not a grant -EACCES;
 *      program index not registered -EINVAL; a buffer group (IOSQE_BUFFER_SELECT) JS did not
 *      grant with ring.allowBufferGroup() -EACCES
 *   5. each pointer: its size (out of range -EINVAL, more than ringflow copies -E2BIG), its bytes
 *      inside one registered region with the access the kernel needs, or inside one buffer of a
 *      granted group that programs own now (pinned until the request ends) (-EFAULT; a path longer than
 *      PATH_MAX -ENAMETOOLONG; a non-empty path where only "" is permitted -EACCES); what the
 *      kernel reads at submission is copied into engine memory and the SQE points there
 *   6. fields inside copied structs and arrays (reserved -EINVAL, extensible tail -E2BIG, their own
 *      pointers -EFAULT), checked on the copy
 *   7. OPENAT/OPENAT2: the open flags the grant permits (-EPERM), then rewritten as OPENAT2 with
 *      struct open_how { flags | O_CLOEXEC, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
 *      RESOLVE_NO_XDEV | what the program asked } built in engine memory.
 */
import { OPS, PROGRAM_REQUEST, opByName, type OpDesc } from './table.js';
import {
  SLOT_NAMES, POLICY_SLOTS, slotLayout, IOSQE, OPEN_FLAGS, RESOLVE_FLAGS, allBits,
  type SqeSlot, type CondSlot, type FieldUse, type MemUse, type ProgramPermit,
} from './sqe-fields.js';

/** Rule kinds (native/policy.h RF_RULE_*). */
/** RF_RULE_FD's arg bit: with IOSQE_FIXED_FILE the fd field is a registered-file-table slot. */
export const FD_SLOT = 1;
export const Rule = { ANY: 0, ZERO: 1, EQ: 2, MASK: 3, REQUIRE: 4, FD: 5, GRANT: 6, FD_OR_GRANT: 7, PROGRAM: 8, MEM: 9, ZERO_TAIL: 10, GROUP: 11 } as const;
export type RuleKind = (typeof Rule)[keyof typeof Rule];
/** Mem size kinds and flags (native/policy.h). */
export const Size = { BYTES: 0, SLOT: 1, FIELD: 2, CSTRING: 3 } as const;
export const MEM_EMPTY = 1;
export const NO_SLOT = 0xff;
export const NO_MEM = 0xffff;

export interface CompiledRule {
  kind: RuleKind;
  /** Slot index (SLOT_NAMES) for a rule on the SQE; NO_SLOT for a field of copied memory. */
  slot: number;
  /** Byte offset and width inside an element of copied memory (sub-rules). */
  at: number;
  width: number;
  /** Applies only when (slot value & condBits) != 0 (condNeg: == 0). */
  condSlot: number;
  condNeg: boolean;
  condBits: bigint;
  /** EQ value, MASK permitted bits, REQUIRE bits, MEM index. */
  arg: bigint;
}
export interface CompiledMem {
  what: string;
  access: 1 | 2 | 3; // read, write, both
  when: 0 | 1; // submit (copied), complete (stays in a region)
  sizeKind: (typeof Size)[keyof typeof Size];
  sizeSlot: number; // SLOT: slot index; FIELD: width
  sizeAt: number; // FIELD: offset in the element
  sizeValue: number; // BYTES: bytes; SLOT: multiplier; CSTRING: max bytes with the NUL
  min: number;
  max: number; // 0: none
  stride: number;
  firstSub: number;
  nsub: number;
  flags: number;
}
export interface CompiledOp {
  code: number;
  name: string;
  sqeFlags: number;
  action: 0 | 1; // 1: open beneath the grant (OPENAT2)
  effect: 0 | 1 | 2; // res is a new fd / the fd slot is closed
  firstRule: number;
  nrules: number;
  howMem: number;
  openFlagsSlot: number;
  openModeSlot: number;
  /** A request is multishot (more than one CQE: the engine parks its CQEs when their CQ is full
   *  instead of dropping them) when (slot & multiBits) != 0: the `multi` flag options of the op's
   *  parameters that the permit allows, on ops whose every CQE hands over a buffer the kernel
   *  picked from a group or a new fd. NO_SLOT / 0: never (its CQEs drop with a full CQ). */
  multiSlot: number;
  multiBits: number;
}
/** The file capability model: what a grant permits an open to ask for. */
export interface OpenCapability {
  openat2: number;
  readFlags: bigint;
  writeFlags: bigint;
  forcedFlags: bigint;
  requiredResolve: bigint;
  allowedResolve: bigint;
  modeMask: bigint;
  createFlags: bigint;
}
export interface CompiledPolicy {
  ops: CompiledOp[];
  rules: CompiledRule[];
  mems: CompiledMem[];
  cap: OpenCapability;
}

/** IOSQE bits a program may set unless its op says otherwise. Also: FIXED_FILE only on ops whose
 *  `fd` field then names a slot of the registered file table (`sqe.fixedFile: 'slot'`), checked
 *  against the slots JS allowed; BUFFER_SELECT only on ops whose declaration makes buf_group a
 *  group the kernel fills ('bufGroup', access 'write'), checked against the groups JS granted. */
export const PROGRAM_SQE_FLAGS = IOSQE.IO_LINK | IOSQE.IO_HARDLINK | IOSQE.IO_DRAIN | IOSQE.ASYNC | IOSQE.CQE_SKIP_SUCCESS;

const O = OPEN_FLAGS;
/** Open flags a read-only grant permits (O_RDONLY is 0): nothing that writes, creates, or escapes
 *  the checks (O_PATH, O_TMPFILE), no O_NOATIME, no FASYNC. */
const READ_FLAGS = O.LARGEFILE | O.NONBLOCK | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC | O.NOCTTY | O.DIRECT;
/** A writable grant adds writing, creating, truncating and appending. */
const WRITE_FLAGS = READ_FLAGS | O.WRONLY | O.RDWR | O.CREAT | O.TRUNC | O.APPEND | O.EXCL | O.DSYNC | O.__O_SYNC;
const REQUIRED_RESOLVE = RESOLVE_FLAGS.BENEATH | RESOLVE_FLAGS.NO_MAGICLINKS | RESOLVE_FLAGS.NO_XDEV;

export const OPEN_CAPABILITY: OpenCapability = {
  openat2: opByName('openat2')!.code,
  readFlags: BigInt(READ_FLAGS),
  writeFlags: BigInt(WRITE_FLAGS),
  forcedFlags: BigInt(O.CLOEXEC),
  requiredResolve: BigInt(REQUIRED_RESOLVE),
  // a program may only narrow resolution further (not RESOLVE_IN_ROOT, which excludes BENEATH)
  allowedResolve: BigInt(REQUIRED_RESOLVE | RESOLVE_FLAGS.NO_SYMLINKS | RESOLVE_FLAGS.CACHED),
  // no set-uid, set-gid or sticky files
  modeMask: 0o777n,
  createFlags: BigInt(O.CREAT | O.__O_TMPFILE),
};

const slotIndex = (s: CondSlot): number => POLICY_SLOTS.indexOf(s);

class Compiler {
  rules: CompiledRule[] = [];
  mems: CompiledMem[] = [];

  constructor(readonly op: Pick<OpDesc, 'name' | 'code' | 'program' | 'sqe' | 'params'>) {}

  fail(msg: string): never {
    throw new Error(`policy: ${this.op.name}: ${msg}`);
  }

  rule(kind: RuleKind, slot: number, arg: bigint | number, cond?: { slot: number; neg: boolean; bits: number }, at = 0, width = 0): CompiledRule {
    return { kind, slot, at, width, condSlot: cond?.slot ?? NO_SLOT, condNeg: cond?.neg ?? false, condBits: BigInt(cond?.bits ?? 0), arg: BigInt(arg) };
  }

  /** Rules for one SQE slot (top level). */
  slotRules(slot: SqeSlot, use: FieldUse, permit: ProgramPermit, cond?: { slot: number; neg: boolean; bits: number }): CompiledRule[] {
    const i = slotIndex(slot);
    if (slot === 'personality' || permit.zero?.includes(slot)) return [this.rule(Rule.ZERO, i, 0, cond)];
    switch (use.use) {
      case 'zero':
        return [this.rule(Rule.ZERO, i, 0, cond)];
      case 'ignored':
        return permit.tolerate?.includes(slot) ? [] : [this.rule(Rule.ZERO, i, 0, cond)];
      case 'fixed':
        return [this.rule(Rule.EQ, i, use.value, cond)];
      case 'scalar':
      case 'target':
        return [];
      case 'flags': {
        const known = allBits(use.bits);
        const allowed = permit.flags?.[slot] ?? 0;
        if ((allowed & ~known) !== 0) this.fail(`permits ${slot} bits 0x${(allowed & ~known).toString(16)} the kernel does not know`);
        const out = [this.rule(Rule.MASK, i, allowed >>> 0, cond)];
        if (slot === 'opFlags' && permit.requireOpFlags) out.push(this.rule(Rule.REQUIRE, i, permit.requireOpFlags, cond));
        return out;
      }
      case 'fd':
        // the `fd` field is the one IOSQE_FIXED_FILE turns into a slot (io_init_req reads sqe->fd)
        return [this.rule(Rule.FD, i, slot === 'fd' && this.op.sqe?.fixedFile === 'slot' ? FD_SLOT : 0, cond)];
      case 'dirfd':
        if (!permit.dirfd) this.fail(`${slot} is a dirfd but the permit says nothing of grants`);
        return [this.rule(permit.dirfd === 'grant' ? Rule.GRANT : Rule.FD_OR_GRANT, i, 0, cond)];
      case 'program':
        return [this.rule(Rule.PROGRAM, i, 0, cond)];
      case 'bufGroup':
        // a group the kernel fills a buffer of: one JS granted (the buffer is then the program's);
        // never one it sends from (the kernel would pick a buffer the program does not own)
        if (slot !== 'bufIndex') this.fail(`${slot}: a buffer group lives in buf_group`);
        if (!cond || POLICY_SLOTS[cond.slot] !== 'sqeFlags' || cond.bits !== IOSQE.BUFFER_SELECT) this.fail('a buffer group applies under IOSQE_BUFFER_SELECT');
        return [this.rule(use.access === 'write' && !cond.neg ? Rule.GROUP : Rule.ZERO, i, 0, cond)];
      case 'mem':
        return [this.rule(Rule.MEM, i, this.mem(use.mem, permit, true), cond)];
      case 'when': {
        if (cond) this.fail(`${slot}: nested conditions are not supported`);
        const c = { slot: slotIndex(use.slot), bits: use.bits };
        return [...this.slotRules(slot, use.then, permit, { ...c, neg: false }), ...this.slotRules(slot, use.else, permit, { ...c, neg: true })];
      }
    }
  }

  /** Compiles memory a pointer names; returns its index. */
  mem(m: MemUse, permit: ProgramPermit, top: boolean): number {
    const c: CompiledMem = {
      what: m.what, access: m.access === 'read' ? 1 : m.access === 'write' ? 2 : 3, when: m.when === 'submit' ? 0 : 1,
      sizeKind: Size.BYTES, sizeSlot: 0, sizeAt: 0, sizeValue: 0, min: 0, max: 0, stride: 0, firstSub: 0, nsub: 0, flags: 0,
    };
    const s = m.size;
    if ('bytes' in s) Object.assign(c, { sizeKind: Size.BYTES, sizeValue: s.bytes });
    else if ('slot' in s) Object.assign(c, { sizeKind: Size.SLOT, sizeSlot: slotIndex(s.slot), sizeValue: s.times, min: s.min ?? 0, max: s.max ?? 0 });
    else if ('field' in s) Object.assign(c, { sizeKind: Size.FIELD, sizeSlot: s.width, sizeAt: s.field });
    else Object.assign(c, { sizeKind: Size.CSTRING, sizeValue: s.cstring, flags: permit.path === 'empty' ? MEM_EMPTY : 0 });
    if (!top && (m.when !== 'complete' || m.layout || c.sizeKind === Size.SLOT)) this.fail(`${m.what}: memory inside copied memory must be used at completion, with a constant or field size`);
    if (m.when === 'submit' && c.sizeKind === Size.SLOT && !c.max) this.fail(`${m.what}: submit-time memory needs a size bound`);
    if (m.when === 'complete' && m.layout) this.fail(`${m.what}: a layout needs submit-time memory (copied before its fields are checked)`);
    const index = this.mems.length;
    this.mems.push(c);
    if (m.layout) {
      const subs: CompiledRule[] = [];
      for (const f of m.layout.fields) {
        const u = f.use;
        if (u.use === 'zero') subs.push(this.rule(Rule.ZERO, NO_SLOT, 0, undefined, f.at, f.width));
        else if (u.use === 'flags') subs.push(this.rule(Rule.MASK, NO_SLOT, allBits(u.bits), undefined, f.at, f.width));
        else if (u.use === 'mem') subs.push(this.rule(Rule.MEM, NO_SLOT, this.mem(u.mem, permit, false), undefined, f.at, f.width));
        else if (u.use !== 'scalar' && u.use !== 'ignored') this.fail(`${m.what}.${f.name}: ${u.use} inside memory is not supported`);
      }
      if (m.layout.tailZero !== undefined) subs.push(this.rule(Rule.ZERO_TAIL, NO_SLOT, 0, undefined, m.layout.tailZero, 0));
      c.stride = m.layout.stride;
      c.firstSub = this.rules.length;
      c.nsub = subs.length;
      this.rules.push(...subs);
    }
    return index;
  }
}

/** Which permitted flag bits make a request post more than one CQE: the op's `multi` flag options
 *  (multishot, bundles) whose bits the permit allows, all in one SQE slot. */
function multishot(cc: Compiler, op: Pick<OpDesc, 'params'>, permit: ProgramPermit): { multiSlot: number; multiBits: number } {
  let slot: SqeSlot | undefined;
  let bits = 0;
  for (const p of op.params ?? []) {
    if (!p.multi || p.kind !== 'flag' || p.bit === undefined || !p.field) continue;
    const field = p.field as SqeSlot;
    if (((permit.flags?.[field] ?? 0) & p.bit) === 0) continue;
    if (slot !== undefined && slot !== field) cc.fail(`multishot bits in two slots (${slot}, ${field})`);
    slot = field;
    bits |= p.bit;
  }
  if (bits > 0xffff) cc.fail(`multishot bits 0x${bits.toString(16)} do not fit 16 bits`);
  return slot === undefined ? { multiSlot: NO_SLOT, multiBits: 0 } : { multiSlot: slotIndex(slot), multiBits: bits };
}

/** Derives the program policy from the opcode table. */
export function compilePolicy(ops: readonly Pick<OpDesc, 'name' | 'code' | 'sqe' | 'program' | 'params'>[] = [...OPS, PROGRAM_REQUEST]): CompiledPolicy {
  const out: CompiledPolicy = { ops: [], rules: [], mems: [], cap: OPEN_CAPABILITY };
  for (const op of ops) {
    const permit = op.program;
    if (!permit) continue;
    const cc = new Compiler(op);
    const sqe = op.sqe;
    if (!sqe) throw new Error(`policy: ${op.name}: a program permit needs the kernel declaration (sqe)`);
    cc.rules = out.rules;
    cc.mems = out.mems;
    const top: CompiledRule[] = [];
    for (const slot of SLOT_NAMES) top.push(...cc.slotRules(slot, sqe.fields[slot], permit));
    const c: CompiledOp = {
      code: op.code, name: op.name,
      sqeFlags: permit.sqeFlags ?? PROGRAM_SQE_FLAGS | (sqe.fixedFile === 'slot' ? IOSQE.FIXED_FILE : 0) | (top.some((r) => r.kind === Rule.GROUP) ? IOSQE.BUFFER_SELECT : 0),
      action: permit.open ? 1 : 0,
      effect: sqe.fdEffect === 'opens' ? 1 : sqe.fdEffect === 'closes' ? 2 : 0,
      firstRule: out.rules.length, nrules: top.length, howMem: NO_MEM, openFlagsSlot: NO_SLOT, openModeSlot: NO_SLOT,
      // parked only where each CQE hands something over: a buffer of a group the kernel fills, or
      // a new fd (a multishot timeout's or poll's CQEs hold nothing: they drop with a full CQ)
      ...(top.some((r) => r.kind === Rule.GROUP) || sqe.fdEffect === 'opens' ? multishot(cc, op, permit) : { multiSlot: NO_SLOT, multiBits: 0 }),
    };
    out.rules.push(...top);
    const open = permit.open;
    if (open && 'how' in open) {
      const r = top.find((x) => x.kind === Rule.MEM && x.slot === slotIndex(open.how));
      if (!r) throw new Error(`policy: ${op.name}: open.how: ${open.how} holds no pointer`);
      c.howMem = Number(r.arg);
    } else if (open) {
      c.openFlagsSlot = slotIndex(open.flags);
      c.openModeSlot = slotIndex(open.mode);
    }
    if (out.ops.some((o) => o.code === op.code)) cc.fail('declared twice');
    out.ops.push(c);
  }
  return out;
}

// ------------------------------------------------------------------ serialised form (native/policy.h)

export const POLICY_MAGIC = 0x4c504652; // 'RFPL'
export const POLICY_VERSION = 2;
export const HEADER_SIZE = 80;
export const OP_SIZE = 16;
export const RULE_SIZE = 24;
export const MEM_SIZE = 32;

/** The bytes native/engine_policy.c loads: header, slot table, ops, rules, mems (little-endian). */
export function serialisePolicy(p: CompiledPolicy): Uint8Array {
  const nslots = POLICY_SLOTS.length;
  const slotBytes = (nslots * 2 + 7) & ~7;
  const total = HEADER_SIZE + slotBytes + p.ops.length * OP_SIZE + p.rules.length * RULE_SIZE + p.mems.length * MEM_SIZE;
  const buf = new Uint8Array(total);
  const v = new DataView(buf.buffer);
  v.setUint32(0, POLICY_MAGIC, true);
  v.setUint16(4, POLICY_VERSION, true);
  v.setUint16(6, HEADER_SIZE, true);
  v.setUint32(8, total, true);
  v.setUint16(12, nslots, true);
  v.setUint16(14, p.ops.length, true);
  v.setUint16(16, p.rules.length, true);
  v.setUint16(18, p.mems.length, true);
  v.setUint8(20, p.cap.openat2);
  const cap = [p.cap.readFlags, p.cap.writeFlags, p.cap.forcedFlags, p.cap.requiredResolve, p.cap.allowedResolve, p.cap.modeMask, p.cap.createFlags];
  cap.forEach((x, i) => v.setBigUint64(24 + i * 8, x, true));
  let o = HEADER_SIZE;
  for (const s of POLICY_SLOTS) {
    v.setUint8(o++, slotLayout(s).offset);
    v.setUint8(o++, slotLayout(s).width);
  }
  o = HEADER_SIZE + slotBytes;
  for (const op of p.ops) {
    v.setUint8(o, op.code);
    v.setUint8(o + 1, op.sqeFlags);
    v.setUint8(o + 2, op.action);
    v.setUint8(o + 3, op.effect);
    v.setUint16(o + 4, op.firstRule, true);
    v.setUint16(o + 6, op.nrules, true);
    v.setUint16(o + 8, op.howMem, true);
    v.setUint8(o + 10, op.openFlagsSlot);
    v.setUint8(o + 11, op.openModeSlot);
    v.setUint8(o + 12, op.multiSlot);
    v.setUint16(o + 14, op.multiBits, true);
    o += OP_SIZE;
  }
  for (const r of p.rules) {
    v.setUint8(o, r.kind);
    v.setUint8(o + 1, r.slot);
    v.setUint8(o + 2, r.condSlot);
    v.setUint8(o + 3, r.condNeg ? 1 : 0);
    v.setUint16(o + 4, r.at, true);
    v.setUint8(o + 6, r.width);
    v.setBigUint64(o + 8, r.condBits, true);
    v.setBigUint64(o + 16, BigInt.asUintN(64, r.arg), true);
    o += RULE_SIZE;
  }
  for (const m of p.mems) {
    v.setUint8(o, m.access);
    v.setUint8(o + 1, m.when);
    v.setUint8(o + 2, m.sizeKind);
    v.setUint8(o + 3, m.sizeSlot);
    v.setUint8(o + 4, m.flags);
    v.setUint16(o + 6, m.sizeAt, true);
    v.setUint32(o + 8, m.sizeValue, true);
    v.setUint32(o + 12, m.min, true);
    v.setUint32(o + 16, m.max, true);
    v.setUint32(o + 20, m.stride, true);
    v.setUint16(o + 24, m.firstSub, true);
    v.setUint16(o + 26, m.nsub, true);
    o += MEM_SIZE;
  }
  return buf;
}

let cached: { policy: CompiledPolicy; bytes: Uint8Array } | undefined;
/** The program policy of this ringflow build, compiled once per process. */
export function programPolicy(): { policy: CompiledPolicy; bytes: Uint8Array } {
  if (!cached) {
    const policy = compilePolicy();
    cached = { policy, bytes: serialisePolicy(policy) };
  }
  return cached;
}
