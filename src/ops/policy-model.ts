/**
 * A TypeScript model of the program policy's verdict (src/ops/policy.ts): the same compiled
 * rules the native engine interprets, evaluated here over a description of the engine's state.
 * The differential fuzzer (tools/fuzz-policy.ts) and test/security/policy.test.ts compare it
 * with native/engine_policy.c; it is not used on the submission path.
 */
import { POLICY_SLOTS, slotLayout } from './sqe-fields.js';
import { Rule, Size, MEM_EMPTY, NO_SLOT, NO_MEM, FD_SLOT, type CompiledPolicy, type CompiledRule, type CompiledMem } from './policy.js';

/** What the engine holds, as the model sees it. */
export interface PolicyState {
  /** Registered regions: [base, base + length), writable or not. */
  regions: { base: bigint; length: bigint; writable: boolean }[];
  /** fds a program may name → the fd the kernel gets (the engine's own dup, or itself). */
  fds: Map<number, number>;
  /** Granted directories: the dirfd programs use → writable grant. */
  grants: Map<number, boolean>;
  /** Registered program indexes. */
  programs: Set<number>;
  /** Registered-file-table slots programs may name with IOSQE_FIXED_FILE (absent: none). */
  slots?: Set<number>;
  /** Buffer groups programs may select from (ring.allowBufferGroup; absent: none). */
  groups?: Set<number>;
  /** Buffers of granted groups that programs own now: what the kernel uses while a request runs
   *  may lie in one of them too (writable: the kernel may write there). */
  owned?: { base: bigint; length: bigint; writable: boolean }[];
  /** Reads `n` bytes of process memory at `addr` (the model never reads outside a region). */
  read(addr: bigint, n: number): Uint8Array;
}

/** A copy the engine makes: the SQE slot or struct field that pointed to it now points to a copy. */
export interface ModelCopy {
  /** Where the pointer sits: SQE slot name, or 'how' for the open_how ringflow builds. */
  slot: string;
  bytes: Uint8Array;
}
export interface ModelVerdict {
  /** 0 accepted, else -errno. */
  res: number;
  /** The SQE as the kernel gets it (pointer slots still holding the program's values where copied). */
  sqe: Uint8Array;
  copies: ModelCopy[];
}

const E = { EPERM: 1, EBADF: 9, EACCES: 13, EFAULT: 14, EINVAL: 22, E2BIG: 7, ENAMETOOLONG: 36 } as const;

function rd(b: Uint8Array, off: number, width: number): bigint {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]!);
  return v;
}
function wr(b: Uint8Array, off: number, width: number, v: bigint): void {
  for (let i = 0; i < width; i++) b[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}
const slotAt = (i: number) => slotLayout(POLICY_SLOTS[i]!);
const slotVal = (sqe: Uint8Array, i: number) => rd(sqe, slotAt(i).offset, slotAt(i).width);
const s32 = (v: bigint) => Number(BigInt.asIntN(32, v));

/** Is [addr, addr + n) inside one region with the access? (n = 0: no memory is touched.) */
export function inRegion(st: PolicyState, addr: bigint, n: bigint, access: number): boolean {
  if (n === 0n) return true;
  return st.regions.some((g) => addr >= g.base && n <= g.length && addr - g.base <= g.length - n && (!(access & 2) || g.writable));
}
function span(st: PolicyState, addr: bigint): bigint {
  for (const g of st.regions) if (addr >= g.base && addr - g.base < g.length) return g.length - (addr - g.base);
  return 0n;
}

class Verdict extends Error {
  constructor(readonly res: number) {
    super(`policy verdict ${res}`);
  }
}
const refuse = (errno: number): never => {
  throw new Verdict(-errno);
};

function active(r: CompiledRule, sqe: Uint8Array): boolean {
  if (r.condSlot === NO_SLOT) return true;
  const hit = (slotVal(sqe, r.condSlot) & r.condBits) !== 0n;
  return hit !== r.condNeg;
}

/** Size in bytes of the memory `m` names, or a refusal. */
function memSize(m: CompiledMem, sqe: Uint8Array, elem: Uint8Array | undefined, elemOff: number, addr: bigint, st: PolicyState): bigint {
  switch (m.sizeKind) {
    case Size.BYTES:
      return BigInt(m.sizeValue);
    case Size.SLOT: {
      const n = slotVal(sqe, m.sizeSlot);
      if (n < BigInt(m.min)) refuse(E.EINVAL);
      if (m.max && n > BigInt(m.max)) refuse(E.E2BIG);
      return n * BigInt(m.sizeValue);
    }
    case Size.FIELD:
      return rd(elem!, elemOff + m.sizeAt, m.sizeSlot);
    default: {
      // a path: up to its NUL, inside its region, at most sizeValue bytes with the NUL
      const room = span(st, addr);
      if (room === 0n) refuse(E.EFAULT);
      const lim = room < BigInt(m.sizeValue) ? Number(room) : m.sizeValue;
      const bytes = st.read(addr, lim);
      const n = bytes.indexOf(0);
      if (n < 0) refuse(lim === m.sizeValue && room > BigInt(lim) ? E.ENAMETOOLONG : E.EFAULT);
      if (m.flags & MEM_EMPTY && n !== 0) refuse(E.EACCES);
      return BigInt(n + 1);
    }
  }
}

function checkSubs(p: CompiledPolicy, m: CompiledMem, bytes: Uint8Array, st: PolicyState): void {
  const stride = m.stride || bytes.length;
  for (let e = 0; stride && e + stride <= bytes.length; e += stride) {
    for (let k = 0; k < m.nsub; k++) {
      const r = p.rules[m.firstSub + k]!;
      if (r.kind === Rule.ZERO_TAIL) {
        for (let i = e + r.at; i < e + stride; i++) if (bytes[i]) refuse(E.E2BIG);
        continue;
      }
      if (r.at + r.width > stride) continue; // a field past a short element: the native check skips it the same way
      const v = rd(bytes, e + r.at, r.width);
      if (r.kind === Rule.ZERO && v !== 0n) refuse(E.EINVAL);
      if (r.kind === Rule.MASK && (v & ~r.arg) !== 0n) refuse(E.EINVAL);
      if (r.kind === Rule.MEM) {
        const sub = p.mems[Number(r.arg)]!;
        const n = memSize(sub, new Uint8Array(64), bytes, e, v, st);
        if (!inRegion(st, v, n, sub.access)) refuse(E.EFAULT);
      }
    }
  }
}

/** The verdict the engine gives an SQE a program submits (`modern`: through helper 1000). */
export function modelCheck(p: CompiledPolicy, input: Uint8Array, st: PolicyState, modern: boolean): ModelVerdict {
  const sqe = input.slice(0, 64);
  const copies: ModelCopy[] = [];
  try {
    const op = p.ops.find((o) => o.code === sqe[0]);
    if (!op) refuse(E.EINVAL);
    if (sqe[1]! & ~op!.sqeFlags) refuse(E.EINVAL);
    if (!modern && (rd(sqe, 48, 8) | rd(sqe, 56, 8)) !== 0n) refuse(E.EINVAL);
    const rules = p.rules.slice(op!.firstRule, op!.firstRule + op!.nrules).filter((r) => active(r, sqe));
    const fdOut = new Map<number, number>();
    let grant: boolean | undefined;
    for (const r of rules) {
      const v = slotVal(sqe, r.slot);
      switch (r.kind) {
        case Rule.ZERO:
          if (v !== 0n) refuse(E.EINVAL);
          break;
        case Rule.EQ:
          if (v !== r.arg) refuse(E.EINVAL);
          break;
        case Rule.MASK:
          if ((v & ~r.arg) !== 0n) refuse(E.EINVAL);
          break;
        case Rule.REQUIRE:
          if ((v & r.arg) !== r.arg) refuse(E.EACCES);
          break;
        case Rule.FD: {
          if (r.arg & BigInt(FD_SLOT) && sqe[1]! & 1) {
            if (!st.slots?.has(s32(v))) refuse(E.EBADF);
            break;
          }
          const to = st.fds.get(s32(v));
          if (to === undefined) refuse(E.EBADF);
          fdOut.set(r.slot, to!);
          break;
        }
        case Rule.GRANT:
          grant = st.grants.get(s32(v));
          if (grant === undefined) refuse(E.EACCES);
          break;
        case Rule.FD_OR_GRANT: {
          const to = st.fds.get(s32(v));
          if (to !== undefined) fdOut.set(r.slot, to);
          else if (!st.grants.has(s32(v))) refuse(E.EBADF);
          break;
        }
        case Rule.PROGRAM:
          if (v > 0xffffffffn || !st.programs.has(Number(v))) refuse(E.EINVAL);
          break;
        case Rule.GROUP:
          if (!st.groups?.has(Number(v))) refuse(E.EACCES);
          break;
      }
    }
    const copied = new Map<number, Uint8Array>(); // mem index → copy
    for (const r of rules) {
      if (r.kind !== Rule.MEM) continue;
      const m = p.mems[Number(r.arg)]!;
      const addr = slotVal(sqe, r.slot);
      const n = memSize(m, sqe, undefined, 0, addr, st);
      const inOwned = () => m.when === 1 && (st.owned ?? []).some((g) => addr >= g.base && n <= g.length && addr - g.base <= g.length - n && (!(m.access & 2) || g.writable));
      if (!inRegion(st, addr, n, m.access) && !inOwned()) refuse(E.EFAULT);
      if (m.when === 0) {
        const bytes = n ? st.read(addr, Number(n)) : new Uint8Array(0);
        copied.set(Number(r.arg), bytes);
        copies.push({ slot: POLICY_SLOTS[r.slot]!, bytes });
      }
    }
    for (const [i, bytes] of copied) checkSubs(p, p.mems[i]!, bytes, st);
    for (const [slot, fd] of fdOut) wr(sqe, slotAt(slot).offset, 4, BigInt.asUintN(32, BigInt(fd)));
    if (op!.action === 1) openBeneath(p, op!.howMem, op!.openFlagsSlot, op!.openModeSlot, grant!, sqe, copied, copies);
    return { res: 0, sqe, copies };
  } catch (e) {
    if (e instanceof Verdict) return { res: e.res, sqe, copies: [] };
    throw e;
  }
}

/** OPENAT/OPENAT2 beneath a grant: the flags the grant permits, then an OPENAT2 SQE with a fresh open_how. */
function openBeneath(p: CompiledPolicy, howMem: number, flagsSlot: number, modeSlot: number, write: boolean, sqe: Uint8Array, copied: Map<number, Uint8Array>, copies: ModelCopy[]): void {
  const cap = p.cap;
  let flags: bigint, mode: bigint, resolve: bigint;
  if (howMem !== NO_MEM) {
    const how = copied.get(howMem)!;
    [flags, mode, resolve] = [rd(how, 0, 8), rd(how, 8, 8), rd(how, 16, 8)];
  } else {
    [flags, mode, resolve] = [slotVal(sqe, flagsSlot), slotVal(sqe, modeSlot), 0n];
  }
  const permitted = write ? cap.writeFlags : cap.readFlags;
  if (flags & ~permitted) refuse(E.EPERM);
  if (resolve & ~cap.allowedResolve) refuse(E.EPERM);
  if (flags & cap.createFlags) {
    if (mode & ~cap.modeMask) refuse(E.EPERM);
  } else mode = 0n;
  const how = new Uint8Array(24);
  wr(how, 0, 8, flags | cap.forcedFlags);
  wr(how, 8, 8, mode);
  wr(how, 16, 8, resolve | cap.requiredResolve);
  sqe[0] = cap.openat2;
  wr(sqe, 24, 4, 24n); // len = sizeof(struct open_how)
  wr(sqe, 28, 4, 0n); // open_flags: unused by OPENAT2
  copies.push({ slot: 'how', bytes: how });
}
