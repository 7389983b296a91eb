/**
 * Differential fuzzer of the program policy (issue 9 item 2): random SQEs over every op a program
 * may submit and ops it may not, every flag combination and pointer-bearing field, with pointers
 * at region edges and just outside; the native verdict (native/engine_policy.c, through
 * ring.checkProgramSqe) is compared with the TypeScript model derived from the same declaration
 * (src/ops/policy-model.ts): accepted or which errno, and for accepted SQEs the rewritten SQE and
 * every copy the engine made.
 *
 *   npm run fuzz:policy                      (1,000,000 cases)
 *   node dist/tools/fuzz-policy.js --count 20000 --seed 7
 *   node dist/tools/fuzz-policy.js --emit-policy FILE   (the serialised policy, for native/fuzz/policy.c)
 */
import { mkdtempSync, openSync, writeFileSync, rmSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ring } from '../src/index.js';
import { programPolicy, Rule, Size, NO_SLOT, FD_SLOT, type CompiledPolicy, type CompiledMem, type CompiledOp } from '../src/ops/policy.js';
import { modelCheck, type PolicyState, type ModelVerdict } from '../src/ops/policy-model.js';
import { SLOT_NAMES, SQE_SLOTS, OPEN_FLAGS, allBits } from '../src/ops/sqe-fields.js';
import { makeRegion, Submitter, getSlot, type TestRegion } from '../test/security/util.js';

/** mulberry32: a small deterministic generator. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A ring with regions, allowed fds, grants and a program, and the model's view of it. */
export class PolicyFuzzEnv {
  readonly policy: CompiledPolicy = programPolicy().policy;
  readonly regions: TestRegion[] = [];
  readonly targets: TestRegion[];
  readonly state: PolicyState;
  readonly fdNames: number[] = [];
  readonly grantFds: number[] = [];
  /** Registered-file-table slots programs may name (IOSQE_FIXED_FILE); slot 2 is an empty one they may not. */
  readonly slotNames = [0, 1, 2];
  /** Buffer groups granted to programs. */
  readonly groupIds: number[] = [];
  #cleanup: (() => void)[] = [];

  constructor(readonly ring: Ring) {
    const sub = new Submitter(ring, { jit: false });
    this.regions.push(sub.region);
    // pointer targets: big and small, writable and read-only
    this.targets = [makeRegion(ring, 8192), makeRegion(ring, 4096, false), makeRegion(ring, 64), makeRegion(ring, 300, false), makeRegion(ring, 6000)];
    this.regions.push(...this.targets);
    const dir = mkdtempSync(join(tmpdir(), 'rf-fuzz-policy-'));
    this.#cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'f'), 'x');
    const fds = new Map<number, number>();
    for (let i = 0; i < 2; i++) {
      const fd = openSync(join(dir, 'f'), 'r');
      this.#cleanup.push(() => closeSync(fd));
      ring.allowFd(fd);
      this.fdNames.push(fd);
      fds.set(fd, this.#realFd(fd));
    }
    ring.files.register([this.fdNames[0]!, this.fdNames[1]!, null]);
    ring.allowFd(ring.files.slot(0));
    ring.allowFd(ring.files.slot(1));
    const grants = new Map<number, boolean>();
    for (const write of [false, true]) {
      const g = ring.allowDir(dir, { write });
      this.grantFds.push(g);
      grants.set(g, write);
    }
    // a provided-buffer group granted to programs (none where the kernel has no ring-mapped groups)
    const group = ring.bufferGroup({ count: 4, size: 256 });
    const groups = new Set<number>();
    if (group.kind !== 'legacy') {
      ring.allowBufferGroup(group);
      groups.add(group.id);
      this.groupIds.push(group.id);
    }
    const regions = this.regions.map((r) => ({ base: r.base, length: BigInt(r.length), writable: r.writable }));
    // no buffer is the programs' (none was received): pointers into the group are refused like any outside a region
    this.state = { regions, fds, grants, programs: new Set([sub.index]), slots: new Set([0, 1]), groups, owned: [], read: (a, n) => this.read(a, n) };
  }

  /** The engine's dup of an allowed fd, as a READ of it is rewritten. */
  #realFd(fd: number): number {
    const t = this.targets[0]!;
    const s = new Uint8Array(64);
    const v = new DataView(s.buffer);
    s[0] = 22;
    v.setInt32(4, fd, true);
    v.setBigUint64(16, t.base, true);
    v.setUint32(24, 1, true);
    const r = this.ring.checkProgramSqe(s);
    if (r.res !== 0) throw new Error(`READ of allowed fd ${fd} refused: ${r.res}`);
    return new DataView(r.sqe!.buffer).getInt32(4, true);
  }

  read(addr: bigint, n: number): Uint8Array {
    for (const r of this.regions) {
      if (addr >= r.base && addr + BigInt(n) <= r.base + BigInt(r.length)) {
        const o = Number(addr - r.base);
        return r.bytes.slice(o, o + n);
      }
    }
    throw new Error(`model read outside the regions: 0x${addr.toString(16)} +${n}`);
  }

  /** Writes bytes at addr if the whole range lies in a region (else nothing: the policy must refuse it anyway). */
  write(addr: bigint, bytes: Uint8Array): void {
    for (const r of this.regions) {
      if (addr >= r.base && addr + BigInt(bytes.length) <= r.base + BigInt(r.length)) {
        r.bytes.set(bytes, Number(addr - r.base));
        return;
      }
    }
  }

  close(): void {
    for (const fn of this.#cleanup.reverse()) fn();
  }
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: () => number, p: number) => r() < p;
const u64 = (r: () => number) => (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
const OPEN_ALL = BigInt(allBits(OPEN_FLAGS));
const O = OPEN_FLAGS;
/** Open flags a grant may permit, and some it never does. */
const OPEN_LIKELY = [0, O.CLOEXEC, O.WRONLY | O.CREAT, O.RDWR, O.DIRECTORY, O.NONBLOCK | O.NOFOLLOW, O.WRONLY | O.TRUNC, O.PATH, O.NOATIME];
const KERNEL_REFUSED_OPS = [4, 5, 6, 9, 10, 13, 16, 20, 24, 26, 27, 30, 31, 40, 45, 46, 49, 54, 62, 0x7f, 0xa1, 0xff];

/** Where a pointer to `size` bytes lands: inside a region, at its edges, just outside, read-only, or anywhere. */
export function placePointer(env: PolicyFuzzEnv, r: () => number, size: bigint, inside = 0.33): bigint {
  const g = pick(r, env.targets);
  const len = BigInt(g.length);
  const fit = size <= len ? len - size : 0n;
  const where = chance(r, inside) ? 'in' : pick(r, ['in', 'in', 'in', 'end', 'end', 'over', 'before', 'start', 'wild'] as const);
  switch (where) {
    case 'in':
      return g.base + BigInt(Math.floor(r() * Number(fit + 1n)));
    case 'end':
      return g.base + fit;
    case 'over':
      return g.base + fit + 1n + BigInt(Math.floor(r() * 3));
    case 'before':
      return g.base - 1n - BigInt(Math.floor(r() * 8));
    case 'start':
      return g.base;
    default:
      return pick(r, [0n, 0x1000n, 0x7fff_ffff_f000n, u64(r), env.regions[0]!.base + 64n]);
  }
}

function setSlotBytes(sqe: Uint8Array, slot: number, v: bigint): void {
  const { offset, width } = SQE_SLOTS[SLOT_NAMES[slot]!];
  let u = BigInt.asUintN(width * 8, v);
  for (let i = 0; i < width; i++, u >>= 8n) sqe[offset + i] = Number(u & 0xffn);
}
function bitsOf(mask: bigint, r: () => number): bigint {
  let v = 0n;
  for (let b = 0n; b < 64n; b++) if ((mask >> b) & 1n && chance(r, 0.5)) v |= 1n << b;
  return v;
}

/** A value for a slot, mostly one its rule accepts. */
function slotValue(env: PolicyFuzzEnv, r: () => number, kind: number, arg: bigint, width: number): bigint {
  const wild = () => pick(r, [0n, 1n, -1n, -100n, BigInt(Math.floor(r() * 64)), u64(r), 1n << BigInt(Math.floor(r() * width * 8))]);
  if (chance(r, 0.12)) return wild();
  switch (kind) {
    case Rule.ZERO: return 0n;
    case Rule.EQ: return arg;
    case Rule.MASK:
      if (arg === OPEN_ALL && chance(r, 0.6)) return BigInt(pick(r, OPEN_LIKELY));
      return chance(r, 0.85) ? bitsOf(arg, r) : bitsOf(arg, r) | (1n << BigInt(Math.floor(r() * width * 8)));
    case Rule.REQUIRE: return arg | bitsOf(arg, r);
    case Rule.FD: return BigInt(pick(r, env.fdNames));
    case Rule.GRANT: return BigInt(chance(r, 0.9) ? pick(r, env.grantFds) : pick(r, [...env.fdNames, -100]));
    case Rule.FD_OR_GRANT: return BigInt(pick(r, [...env.fdNames, ...env.grantFds]));
    case Rule.PROGRAM: return pick(r, [...env.state.programs].map(BigInt));
    case Rule.GROUP: return chance(r, 0.8) && env.groupIds.length ? BigInt(pick(r, env.groupIds)) : BigInt(Math.floor(r() * 8));
    default: return wild();
  }
}

/** Contents for memory a pointer names (paths, iovecs, structs), written where it lands. */
function fillMem(env: PolicyFuzzEnv, r: () => number, m: CompiledMem, addr: bigint, size: bigint): void {
  const p = env.policy;
  if (m.sizeKind === Size.CSTRING) {
    const kind = pick(r, ['empty', 'short', 'short', 'short', 'nonul', 'long'] as const);
    if (kind === 'empty') env.write(addr, new Uint8Array(1));
    else if (kind === 'short') env.write(addr, Buffer.from(pick(r, ['f', 'a/b', '../x', '/etc/passwd', 'f/../f']) + '\0'));
    else if (kind === 'nonul') {
      for (const g of env.regions) if (addr >= g.base && addr < g.base + BigInt(g.length)) g.bytes.fill(0x61, Number(addr - g.base));
    } else env.write(addr, Buffer.from('b'.repeat(4090 + Math.floor(r() * 10)) + '\0'));
    return;
  }
  if (!m.nsub || size > 65536n) return;
  const bytes = new Uint8Array(Number(size));
  if (chance(r, 0.3)) for (let i = 0; i < bytes.length; i++) bytes[i] = chance(r, 0.9) ? 0 : Math.floor(r() * 256);
  const dv = new DataView(bytes.buffer);
  const stride = m.stride || bytes.length;
  for (let e = 0; stride && e + stride <= bytes.length; e += stride) {
    for (let k = 0; k < m.nsub; k++) {
      const s = p.rules[m.firstSub + k]!;
      if (s.kind === Rule.ZERO_TAIL || s.at + s.width > stride) continue;
      if (s.kind === Rule.MASK && s.width === 8) {
        const open = s.arg === BigInt(allBits(OPEN_FLAGS));
        const v = open && chance(r, 0.6) ? BigInt(pick(r, OPEN_LIKELY)) : chance(r, 0.5) ? 0n : bitsOf(s.arg, r);
        dv.setBigUint64(e + s.at, chance(r, 0.95) ? v : v | (1n << BigInt(Math.floor(r() * 64))), true);
      } else if (s.kind === Rule.MEM) {
        const sub = p.mems[Number(s.arg)]!;
        let n = BigInt(sub.sizeValue);
        if (sub.sizeKind === Size.FIELD) {
          n = BigInt(pick(r, [0, 1, 8, 16, 100, 4096, 9000]));
          if (sub.sizeSlot === 8) dv.setBigUint64(e + sub.sizeAt, n, true);
          else dv.setUint32(e + sub.sizeAt, Number(n), true);
        }
        dv.setBigUint64(e + s.at, placePointer(env, r, n, 0.8), true);
      }
    }
  }
  env.write(addr, bytes);
}

/** One random SQE: an op a program may submit (mostly) or one it may not. */
export function genCase(env: PolicyFuzzEnv, r: () => number): { sqe: Uint8Array; modern: boolean } {
  const p = env.policy;
  const sqe = new Uint8Array(64);
  const modern = chance(r, 0.7);
  if (chance(r, 0.06)) {
    sqe[0] = pick(r, KERNEL_REFUSED_OPS);
    for (let i = 1; i < 64; i++) if (chance(r, 0.2)) sqe[i] = Math.floor(r() * 256);
    return { sqe, modern };
  }
  const op: CompiledOp = pick(r, p.ops);
  sqe[0] = op.code;
  sqe[1] = chance(r, 0.9) ? Number(bitsOf(BigInt(op.sqeFlags), r)) : Math.floor(r() * 256);
  const rules = p.rules.slice(op.firstRule, op.firstRule + op.nrules);
  // slots without a rule take anything; then each rule's slot gets a value (a conditional slot's last rule wins)
  for (let s = 0; s < SLOT_NAMES.length; s++) if (chance(r, 0.3)) setSlotBytes(sqe, s, u64(r));
  for (const rule of rules) {
    const w = SQE_SLOTS[SLOT_NAMES[rule.slot]!].width;
    if (rule.kind !== Rule.MEM) setSlotBytes(sqe, rule.slot, slotValue(env, r, rule.kind, rule.arg, w));
  }
  for (const rule of rules) if (rule.kind === Rule.ZERO && rule.condSlot === NO_SLOT && chance(r, 0.9)) setSlotBytes(sqe, rule.slot, 0n);
  // with IOSQE_FIXED_FILE the fd is mostly a slot of the table
  for (const rule of rules) if (rule.kind === Rule.FD && rule.arg & BigInt(FD_SLOT) && sqe[1]! & 1 && chance(r, 0.9)) setSlotBytes(sqe, rule.slot, BigInt(pick(r, env.slotNames)));
  // sizes first (len), then pointers with their contents
  for (const rule of rules) {
    if (rule.kind !== Rule.MEM) continue;
    const m = p.mems[Number(rule.arg)]!;
    let size = BigInt(m.sizeValue);
    if (m.sizeKind === Size.SLOT) {
      const n = chance(r, 0.5)
        ? BigInt(Math.max(m.min, 1 + Math.floor(r() * 4)))
        : chance(r, 0.6)
          ? BigInt(Math.max(m.min, Math.floor(r() * (m.max || 9000))))
          : BigInt(pick(r, [0, 1, m.min, m.max, m.max + 1, 0xffffffff]));
      setSlotBytes(sqe, m.sizeSlot, n);
      size = n * BigInt(m.sizeValue);
    } else if (m.sizeKind === Size.CSTRING) size = 1n;
    const addr = placePointer(env, r, size);
    setSlotBytes(sqe, rule.slot, addr);
    fillMem(env, r, m, addr, size);
  }
  if (!modern && chance(r, 0.9)) sqe.fill(0, 48, 64);
  return { sqe, modern };
}

/** Native verdict vs the model for one SQE; a description of the difference, or undefined. */
export function compareCase(env: PolicyFuzzEnv, sqe: Uint8Array, modern: boolean): { res: number; mismatch?: string } {
  const want: ModelVerdict = modelCheck(env.policy, sqe, env.state, modern);
  const got = env.ring.checkProgramSqe(sqe, { modern });
  if (got.res !== want.res) return { res: got.res, mismatch: `native ${got.res}, model ${want.res}` };
  if (got.res !== 0) return { res: got.res };
  const out = got.sqe!;
  const scratch = got.scratch!;
  const pointed = new Map<string, Uint8Array>();
  for (const c of want.copies) pointed.set(c.slot === 'how' ? 'off' : c.slot, c.bytes);
  for (const slot of SLOT_NAMES) {
    const copy = pointed.get(slot);
    const v = getSlot(out, slot);
    if (!copy) {
      if (v !== getSlot(want.sqe, slot)) return { res: 0, mismatch: `${slot}: native 0x${v.toString(16)}, model 0x${getSlot(want.sqe, slot).toString(16)}` };
      continue;
    }
    if (copy.length === 0) continue; // nothing copied: the kernel reads no bytes there
    const at = v - scratch.address;
    if (at < 0n || at + BigInt(copy.length) > BigInt(scratch.bytes.length)) return { res: 0, mismatch: `${slot} does not point into engine memory` };
    const b = scratch.bytes.subarray(Number(at), Number(at) + copy.length);
    if (!Buffer.from(b).equals(Buffer.from(copy))) return { res: 0, mismatch: `${slot}: the engine's copy differs from the model's` };
  }
  if (out[0] !== want.sqe[0] || out[1] !== want.sqe[1]) return { res: 0, mismatch: 'opcode or flags differ' };
  return { res: 0 };
}

export interface PolicyFuzzReport {
  cases: number;
  accepted: number;
  byRes: Record<string, number>;
  byOp: Record<string, number>;
  /** Accepted cases per op: each op a program may submit is accepted in some cases, refused in others. */
  acceptedByOp: Record<string, number>;
  mismatches: { seed: number; index: number; sqe: string; modern: boolean; what: string }[];
  ms: number;
}

/** Runs `count` cases on a ring (which must be fresh: the fuzzer registers regions, fds, grants). */
export function fuzzPolicy(ring: Ring, count: number, seed: number): PolicyFuzzReport {
  const env = new PolicyFuzzEnv(ring);
  const r = rng(seed);
  const report: PolicyFuzzReport = { cases: 0, accepted: 0, byRes: {}, byOp: {}, acceptedByOp: {}, mismatches: [], ms: 0 };
  const names = new Map(env.policy.ops.map((o) => [o.code, o.name]));
  const t0 = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      const { sqe, modern } = genCase(env, r);
      const c = compareCase(env, sqe, modern);
      report.cases++;
      if (c.res === 0) report.accepted++;
      report.byRes[c.res] = (report.byRes[c.res] ?? 0) + 1;
      const name = names.get(sqe[0]!) ?? 'refused op';
      report.byOp[name] = (report.byOp[name] ?? 0) + 1;
      if (c.res === 0) report.acceptedByOp[name] = (report.acceptedByOp[name] ?? 0) + 1;
      if (c.mismatch && report.mismatches.length < 20)
        report.mismatches.push({ seed, index: i, sqe: Buffer.from(sqe).toString('hex'), modern, what: c.mismatch });
    }
  } finally {
    env.close();
  }
  report.ms = Math.round(performance.now() - t0);
  return report;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, def: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const emit = process.argv.indexOf('--emit-policy');
  if (emit > 0) {
    // the serialised policy, for native harnesses (scripts/fuzz-native.sh)
    writeFileSync(process.argv[emit + 1]!, programPolicy().bytes);
    process.exit(0);
  }
  const count = arg('--count', 1_000_000);
  const seed = arg('--seed', Date.now() % 2 ** 31);
  const ring = new Ring({ cqs: [8] });
  const rep = fuzzPolicy(ring, count, seed);
  await ring.close();
  console.log(JSON.stringify({ seed, ...rep }, null, 1));
  console.log(`${rep.cases} cases in ${(rep.ms / 1000).toFixed(1)} s, ${rep.accepted} accepted, ${rep.mismatches.length} mismatches`);
  process.exitCode = rep.mismatches.length ? 1 : 0;
}
