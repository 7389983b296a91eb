/**
 * Native eBPF engine (native/bpf): raw-byte programs through the binding contract.
 * The encoder below is local on purpose: these tests do not depend on the assembler.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { bpf, RunStatus, CreateReject, MapType, MapFlags, HelperSet } from '../src/programs/binding.js';
import type { MapHandle, ProgHandle } from '../src/programs/binding.js';

// ---- tiny encoder ---------------------------------------------------------------------------

type Insn = Uint8Array;
function I(code: number, dst = 0, src = 0, off = 0, imm = 0): Insn {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (dst & 0xf) | ((src & 0xf) << 4);
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}
function P(...parts: (Insn | Insn[])[]): Uint8Array {
  const flat = parts.flat();
  const out = new Uint8Array(flat.length * 8);
  flat.forEach((b, i) => out.set(b, i * 8));
  return out;
}
const ALU = { add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, neg: 0x80, mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0 } as const;
const JOP = { jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0 } as const;
const SZ = { w: 0x00, h: 0x08, b: 0x10, dw: 0x18 } as const;
type Sz = keyof typeof SZ;
const alu64 = (op: number, dst: number, imm: number, off = 0) => I(0x07 | op, dst, 0, off, imm);
const alu64r = (op: number, dst: number, src: number, off = 0) => I(0x0f | op, dst, src, off, 0);
const alu32 = (op: number, dst: number, imm: number, off = 0) => I(0x04 | op, dst, 0, off, imm);
const alu32r = (op: number, dst: number, src: number, off = 0) => I(0x0c | op, dst, src, off, 0);
const mov = (dst: number, imm: number) => alu64(ALU.mov, dst, imm);
const movr = (dst: number, src: number) => alu64r(ALU.mov, dst, src);
const exit = () => I(0x95);
const ja = (off: number) => I(0x05, 0, 0, off);
const gotol = (imm: number) => I(0x06, 0, 0, 0, imm);
const jmp = (op: number, dst: number, imm: number, off: number) => I(0x05 | op, dst, 0, off, imm);
const jmpr = (op: number, dst: number, src: number, off: number) => I(0x0d | op, dst, src, off);
const jmp32 = (op: number, dst: number, imm: number, off: number) => I(0x06 | op, dst, 0, off, imm);
const jmp32r = (op: number, dst: number, src: number, off: number) => I(0x0e | op, dst, src, off);
const call = (id: number) => I(0x85, 0, 0, 0, id);
const callLocal = (rel: number) => I(0x85, 0, 1, 0, rel);
const ldx = (sz: Sz, dst: number, src: number, off: number) => I(0x61 | SZ[sz], dst, src, off);
const ldxs = (sz: Sz, dst: number, src: number, off: number) => I(0x81 | SZ[sz], dst, src, off);
const st = (sz: Sz, dst: number, off: number, imm: number) => I(0x62 | SZ[sz], dst, 0, off, imm);
const stx = (sz: Sz, dst: number, src: number, off: number) => I(0x63 | SZ[sz], dst, src, off);
const atomic = (sz: 'w' | 'dw', dst: number, src: number, off: number, op: number) => I(0xc3 | SZ[sz], dst, src, off, op);
function lddw(dst: number, v: bigint | number, src = 0, imm2?: number): Insn[] {
  const x = BigInt.asUintN(64, BigInt(v));
  if (src !== 0) return [I(0x18, dst, src, 0, Number(v)), I(0, 0, 0, 0, imm2 ?? 0)];
  return [I(0x18, dst, 0, 0, Number(BigInt.asIntN(32, x))), I(0, 0, 0, 0, Number(BigInt.asIntN(32, x >> 32n)))];
}

// ---- running ------------------------------------------------------------------------------

interface Res { status: number; r0: bigint; insns: bigint; pc: bigint; addr: bigint }
function create(code: Uint8Array, maps: MapHandle[] = [], set: number = HelperSet.Standard): ProgHandle {
  const out = new Int32Array(1);
  const p = bpf.bpfProgCreate(code, maps, set, out);
  if (typeof p === 'number') throw new Error(`create rejected ${p} at pc ${out[0]}`);
  return p;
}
function exec(p: ProgHandle, mem: Uint8Array | null = null, budget = 1e6): Res {
  const out = new BigUint64Array(4);
  const status = bpf.bpfProgRun(p, mem, budget, out);
  return { status, r0: out[0], insns: out[1], pc: out[2], addr: out[3] };
}
function run(code: Uint8Array, opts: { mem?: Uint8Array; maps?: MapHandle[]; set?: number; budget?: number } = {}): Res {
  return exec(create(code, opts.maps ?? [], opts.set ?? HelperSet.Standard), opts.mem ?? null, opts.budget ?? 1e6);
}
function r0of(code: Uint8Array, opts?: Parameters<typeof run>[1]): bigint {
  const r = run(code, opts);
  assert.equal(r.status, RunStatus.Ok, `status ${r.status} pc ${r.pc} addr ${r.addr}`);
  return r.r0;
}
function reject(code: Uint8Array, maps: MapHandle[] = [], set: number = HelperSet.Standard): { code: number; pc: number } {
  const out = new Int32Array(1);
  const p = bpf.bpfProgCreate(code, maps, set, out);
  assert.equal(typeof p, 'number', 'expected a rejection');
  return { code: -(p as number), pc: out[0] };
}
function newMap(type: number, k: number, v: number, n: number, flags = 0): MapHandle {
  const m = bpf.bpfMapCreate(type, k, v, n, flags);
  if (typeof m === 'number') throw new Error(`map create ${m}`);
  return m;
}
/** Host address of mem's first byte as the program sees it (r1). */
function addrOf(mem: Uint8Array): bigint {
  return r0of(P(movr(0, 1), exit()), { mem });
}

// ---- reference model ----------------------------------------------------------------------

const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint) => BigInt.asUintN(64, x);
const s64 = (x: bigint) => BigInt.asIntN(64, x);
const u32 = (x: bigint) => BigInt.asUintN(32, x);
const s32 = (x: bigint) => BigInt.asIntN(32, x);

type AluName = 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod' | 'or' | 'and' | 'xor' | 'lsh' | 'rsh' | 'arsh' | 'mov';
function ref(op: AluName, a: bigint, b: bigint, w: 32 | 64): bigint {
  const U = w === 64 ? u64 : u32;
  const S = w === 64 ? s64 : s32;
  const mask = BigInt(w - 1);
  a = U(a);
  b = U(b);
  switch (op) {
    case 'add': return U(a + b);
    case 'sub': return U(a - b);
    case 'mul': return U(a * b);
    case 'div': return b === 0n ? 0n : a / b;
    case 'sdiv': return b === 0n ? 0n : U(S(a) / S(b));
    case 'mod': return b === 0n ? a : a % b;
    case 'smod': return b === 0n ? a : U(S(a) % S(b));
    case 'or': return a | b;
    case 'and': return a & b;
    case 'xor': return a ^ b;
    case 'lsh': return U(a << (b & mask));
    case 'rsh': return a >> (b & mask);
    case 'arsh': return U(S(a) >> (b & mask));
    case 'mov': return b;
  }
}
function opcodeOf(op: AluName): { code: number; off: number } {
  if (op === 'sdiv') return { code: ALU.div, off: 1 };
  if (op === 'smod') return { code: ALU.mod, off: 1 };
  return { code: ALU[op], off: 0 };
}

// ---- ALU ----------------------------------------------------------------------------------

test('ALU64/ALU32: every binary op, K and X forms, against a BigInt reference (incl. /0, %0, INT_MIN/-1, shifts >= width)', () => {
  const as = [0n, 1n, 7n, 0xffffffffn, 0x80000000n, 0x7fffffffffffffffn, 0x8000000000000000n, M64, 0x123456789abcdef0n, u64(-5n), 0xffffffff80000000n];
  const bs = [0, 1, -1, 3, 31, 32, 33, 63, 64, 65, -7, 0x7fffffff, -0x80000000];
  const bx = [...bs.map((b) => u64(BigInt(b))), 0x100000003n, 0x8000000000000000n, 0xffffffff00000000n];
  const ops: AluName[] = ['add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'mov'];
  let checked = 0;
  for (const op of ops) {
    const { code, off } = opcodeOf(op);
    for (const a of as) {
      for (const b of bs) {
        const k64 = r0of(P(lddw(0, a), alu64(code, 0, b, off), exit()));
        assert.equal(k64, ref(op, a, u64(BigInt(b)), 64), `${op}64 K ${a} ${b}`);
        const k32 = r0of(P(lddw(0, a), alu32(code, 0, b, off), exit()));
        assert.equal(k32, ref(op, a, u32(BigInt(b)), 32), `${op}32 K ${a} ${b}`);
        checked += 2;
      }
      for (const b of bx) {
        const x64 = r0of(P(lddw(0, a), lddw(3, b), alu64r(code, 0, 3, off), exit()));
        assert.equal(x64, ref(op, a, b, 64), `${op}64 X ${a} ${b}`);
        const x32 = r0of(P(lddw(0, a), lddw(3, b), alu32r(code, 0, 3, off), exit()));
        assert.equal(x32, ref(op, a, b, 32), `${op}32 X ${a} ${b}`);
        checked += 2;
      }
    }
  }
  assert.ok(checked > 7000);
});

test('ALU: neg, movsx 8/16/32, byte swaps (le/be 16/32/64, bswap)', () => {
  const v = 0x0123456789abcdefn;
  const neg = (x: bigint, w: 32 | 64) => r0of(P(lddw(0, x), (w === 64 ? alu64 : alu32)(ALU.neg, 0, 0), exit()));
  assert.equal(neg(5n, 64), u64(-5n));
  assert.equal(neg(0x8000000000000000n, 64), 0x8000000000000000n);
  assert.equal(neg(0xffffffff00000005n, 32), 0xfffffffbn);
  const movsx = (x: bigint, w: 32 | 64, bits: number) => r0of(P(lddw(1, x), (w === 64 ? alu64r : alu32r)(ALU.mov, 0, 1, bits), exit()));
  assert.equal(movsx(0x180n, 64, 8), u64(-128n));
  assert.equal(movsx(0x17fn, 64, 8), 0x7fn);
  assert.equal(movsx(0x18000n, 64, 16), u64(-32768n));
  assert.equal(movsx(0x80000000n, 64, 32), 0xffffffff80000000n);
  assert.equal(movsx(0xffn, 32, 8), 0xffffffffn);
  assert.equal(movsx(0xffffffff00008000n, 32, 16), 0xffff8000n);
  const end = (cls: number, src: number, imm: number) => r0of(P(lddw(0, v), I(cls | 0xd0 | src, 0, 0, 0, imm), exit()));
  assert.equal(end(0x04, 0, 16), 0xcdefn); // le16: truncate
  assert.equal(end(0x04, 0, 32), 0x89abcdefn);
  assert.equal(end(0x04, 0, 64), v);
  assert.equal(end(0x04, 0x08, 16), 0xefcdn); // be16
  assert.equal(end(0x04, 0x08, 32), 0xefcdab89n);
  assert.equal(end(0x04, 0x08, 64), 0xefcdab8967452301n);
  assert.equal(end(0x07, 0, 16), 0xefcdn); // ALU64 bswap16
  assert.equal(end(0x07, 0, 32), 0xefcdab89n);
  assert.equal(end(0x07, 0, 64), 0xefcdab8967452301n);
  // ALU32 mov zero-extends; ALU64 mov imm sign-extends
  assert.equal(r0of(P(lddw(0, M64), alu32(ALU.mov, 0, -1), exit())), 0xffffffffn);
  assert.equal(r0of(P(mov(0, -1), exit())), M64);
  assert.equal(r0of(P(lddw(0, M64), alu32(ALU.add, 0, 0), exit())), 0xffffffffn);
});

// ---- jumps --------------------------------------------------------------------------------

test('JMP/JMP32: every condition, K and X, signed and unsigned', () => {
  const conds: Record<keyof typeof JOP, (a: bigint, b: bigint, S: (x: bigint) => bigint) => boolean> = {
    jeq: (a, b) => a === b, jgt: (a, b) => a > b, jge: (a, b) => a >= b, jset: (a, b) => (a & b) !== 0n,
    jne: (a, b) => a !== b, jsgt: (a, b, S) => S(a) > S(b), jsge: (a, b, S) => S(a) >= S(b), jlt: (a, b) => a < b,
    jle: (a, b) => a <= b, jslt: (a, b, S) => S(a) < S(b), jsle: (a, b, S) => S(a) <= S(b),
  };
  const vals = [0n, 1n, 2n, M64, 0x80000000n, 0x7fffffffn, 0xffffffff00000001n, 0x100000000n, u64(-2n)];
  const imms = [0, 1, -1, 2, 0x7fffffff, -0x80000000];
  for (const [name, f] of Object.entries(conds)) {
    const op = JOP[name as keyof typeof JOP];
    for (const a of vals) {
      for (const b of vals) {
        const body = (j: Insn) => P(mov(0, 0), lddw(1, a), lddw(2, b), j, exit(), mov(0, 1), exit());
        assert.equal(r0of(body(jmpr(op, 1, 2, 1))), f(a, b, s64) ? 1n : 0n, `${name} X ${a} ${b}`);
        assert.equal(r0of(body(jmp32r(op, 1, 2, 1))), f(u32(a), u32(b), s32) ? 1n : 0n, `${name}32 X ${a} ${b}`);
      }
      for (const k of imms) {
        const body = (j: Insn) => P(mov(0, 0), lddw(1, a), j, exit(), mov(0, 1), exit());
        assert.equal(r0of(body(jmp(op, 1, k, 1))), f(a, u64(BigInt(k)), s64) ? 1n : 0n, `${name} K ${a} ${k}`);
        assert.equal(r0of(body(jmp32(op, 1, k, 1))), f(u32(a), u32(BigInt(k)), s32) ? 1n : 0n, `${name}32 K ${a} ${k}`);
      }
    }
  }
});

test('JA and gotol (JMP32 JA with imm offset), backward loops', () => {
  assert.equal(r0of(P(mov(0, 1), ja(1), mov(0, 2), exit())), 1n);
  assert.equal(r0of(P(mov(0, 1), gotol(1), mov(0, 2), exit())), 1n);
  // loop: r0 = sum 1..10 with a backward conditional jump
  assert.equal(r0of(P(mov(0, 0), mov(1, 10), alu64r(ALU.add, 0, 1), alu64(ALU.sub, 1, 1), jmp(JOP.jne, 1, 0, -3), exit())), 55n);
  // backward gotol
  assert.equal(r0of(P(mov(0, 0), gotol(2), alu64(ALU.add, 0, 5), exit(), alu64(ALU.add, 0, 1), gotol(-4))), 6n);
});

// ---- memory -------------------------------------------------------------------------------

test('LDX/ST/STX all sizes on mem and stack, MEMSX sign extension', () => {
  const mem = new Uint8Array(32);
  const r = run(P(st('b', 1, 0, 0x1ff), st('h', 1, 2, 0x12345), st('w', 1, 4, -2), st('dw', 1, 8, -3),
    lddw(2, 0x1122334455667788n), stx('dw', 1, 2, 16), stx('w', 1, 2, 24), stx('h', 1, 2, 28), stx('b', 1, 2, 30), exit()), { mem });
  assert.equal(r.status, RunStatus.Ok);
  const dv = new DataView(mem.buffer);
  assert.equal(mem[0], 0xff);
  assert.equal(dv.getUint16(2, true), 0x2345);
  assert.equal(dv.getInt32(4, true), -2);
  assert.equal(dv.getBigInt64(8, true), -3n);
  assert.equal(dv.getBigUint64(16, true), 0x1122334455667788n);
  assert.equal(dv.getUint32(24, true), 0x55667788);
  assert.equal(dv.getUint16(28, true), 0x7788);
  assert.equal(mem[30], 0x88);
  for (const [sz, off, want] of [['b', 0, 0xffn], ['h', 2, 0x2345n], ['w', 4, 0xfffffffen], ['dw', 8, u64(-3n)]] as const)
    assert.equal(r0of(P(ldx(sz, 0, 1, off), exit()), { mem }), want, `ldx ${sz}`);
  for (const [sz, off, want] of [['b', 0, M64], ['h', 2, 0x2345n], ['w', 4, u64(-2n)]] as const)
    assert.equal(r0of(P(ldxs(sz, 0, 1, off), exit()), { mem }), want, `ldxs ${sz}`);
  // stack: store then load through r10, fresh stack reads zero
  assert.equal(r0of(P(lddw(1, 0xdeadbeefcafen), stx('dw', 10, 1, -512), ldx('dw', 0, 10, -512), exit())), 0xdeadbeefcafen);
  assert.equal(r0of(P(ldx('dw', 0, 10, -8), exit())), 0n);
});

test('ATOMIC32/64: add/or/and/xor with and without FETCH, XCHG, CMPXCHG both outcomes', () => {
  const mem = new Uint8Array(16);
  const dv = new DataView(mem.buffer);
  const at = (sz: 'w' | 'dw', op: number, init: bigint, src: bigint, r0 = 0n) => {
    if (sz === 'dw') dv.setBigUint64(0, init, true); else dv.setUint32(0, Number(init), true);
    const out = new BigUint64Array(4);
    const p = create(P(lddw(2, src), lddw(0, r0), atomic(sz, 1, 2, 0, op), stx('dw', 1, 2, 8), exit()));
    assert.equal(bpf.bpfProgRun(p, mem, 1000, out), RunStatus.Ok);
    const memv = sz === 'dw' ? dv.getBigUint64(0, true) : BigInt(dv.getUint32(0, true));
    return { mem: memv, src: dv.getBigUint64(8, true), r0: out[0] };
  };
  assert.deepEqual(at('dw', 0x00, 5n, 7n), { mem: 12n, src: 7n, r0: 0n });
  assert.deepEqual(at('dw', 0x01, 5n, 7n), { mem: 12n, src: 5n, r0: 0n });
  assert.deepEqual(at('dw', 0x41, 0x5n, 0xan), { mem: 0xfn, src: 5n, r0: 0n });
  assert.deepEqual(at('dw', 0x51, 0xcn, 0xan), { mem: 0x8n, src: 0xcn, r0: 0n });
  assert.deepEqual(at('dw', 0xa1, 0xcn, 0xan), { mem: 0x6n, src: 0xcn, r0: 0n });
  assert.deepEqual(at('dw', 0x40, 0x5n, 0xan), { mem: 0xfn, src: 0xan, r0: 0n });
  assert.deepEqual(at('dw', 0xe1, 1n, 2n), { mem: 2n, src: 1n, r0: 0n });
  assert.deepEqual(at('dw', 0xf1, 9n, 3n, 9n), { mem: 3n, src: 3n, r0: 9n }); // match: swapped
  assert.deepEqual(at('dw', 0xf1, 9n, 3n, 8n), { mem: 9n, src: 3n, r0: 9n }); // no match: r0 = old
  // 32-bit: fetch zero-extends, upper src bits ignored
  assert.deepEqual(at('w', 0x01, 0xffffffffn, 0xffffffff00000002n), { mem: 1n, src: 0xffffffffn, r0: 0n });
  assert.deepEqual(at('w', 0xe1, 0x80000000n, 5n), { mem: 5n, src: 0x80000000n, r0: 0n });
  assert.deepEqual(at('w', 0xf1, 7n, 1n, 0xabcd00000007n), { mem: 1n, src: 1n, r0: 7n });
  assert.deepEqual(at('w', 0xf1, 7n, 1n, 6n), { mem: 7n, src: 1n, r0: 7n });
  assert.deepEqual(at('w', 0x50, 0xffn, 0x0fn), { mem: 0x0fn, src: 0x0fn, r0: 0n });
  // misaligned atomic faults
  const r = run(P(mov(2, 1), atomic('dw', 1, 2, 1, 0x00), exit()), { mem });
  assert.equal(r.status, RunStatus.MemFault);
});

// ---- calls --------------------------------------------------------------------------------

test('BPF-to-BPF calls: r6-r9 preserved, own 512-byte frame, parent frame reachable', () => {
  const code = P(
    mov(6, 7), st('dw', 10, -8, 42), callLocal(4), alu64r(ALU.add, 0, 6), ldx('dw', 1, 10, -8), alu64r(ALU.add, 0, 1), exit(),
    /* 7: */ mov(6, 100), st('dw', 10, -8, 99), mov(0, 1000), exit(),
  );
  assert.equal(r0of(code), 1049n);
  // callee reads and writes the caller's stack through a pointer
  const code2 = P(st('dw', 10, -8, 5), movr(1, 10), alu64(ALU.add, 1, -8), callLocal(2), ldx('dw', 0, 10, -8), exit(),
    /* 6: */ ldx('dw', 2, 1, 0), alu64(ALU.mul, 2, 3), stx('dw', 1, 2, 0), exit());
  assert.equal(r0of(code2), 15n);
});

test('call depth: 8 frames allowed, the 9th is RunStatus.CallDepth', () => {
  const rec = (n: number) => P(mov(1, n), callLocal(1), exit(), mov(0, 0), jmp(JOP.jeq, 1, 0, 3), alu64(ALU.sub, 1, 1), callLocal(-4), alu64(ALU.add, 0, 1), exit());
  assert.equal(r0of(rec(6)), 6n);
  const r = run(rec(7));
  assert.equal(r.status, RunStatus.CallDepth);
  assert.equal(r.pc, 6n);
  assert.equal(run(P(callLocal(0), callLocal(-1), exit())).status, RunStatus.CallDepth);
});

test('ld_imm64: plain 64-bit, map value address (src 2/6) reads and writes array storage', () => {
  assert.equal(r0of(P(lddw(0, 0xfedcba9876543210n), exit())), 0xfedcba9876543210n);
  const m = newMap(MapType.Array, 4, 16, 1);
  const mem = new DataView(bpf.bpfMapMemory(m) as ArrayBuffer);
  mem.setBigUint64(8, 77n, true);
  assert.equal(r0of(P(lddw(1, 0, 2, 8), ldx('dw', 0, 1, 0), st('dw', 1, -8, 5), exit()), { maps: [m] }), 77n);
  assert.equal(mem.getBigUint64(0, true), 5n);
  assert.equal(r0of(P(lddw(1, 0, 6, 0), ldx('dw', 0, 1, 8), exit()), { maps: [m] }), 77n);
  // the value address is exactly what map_lookup_elem returns for key 0
  assert.equal(r0of(P(lddw(6, 0, 2, 0), st('w', 10, -4, 0), lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -4), call(1), alu64r(ALU.sub, 0, 6), exit()), { maps: [m] }), 0n);
});

// ---- run statuses -------------------------------------------------------------------------

test('budget: an infinite loop stops with RunStatus.Budget and the process goes on', () => {
  const r = run(P(mov(0, 1), ja(-1), exit()), { budget: 100000 });
  assert.equal(r.status, RunStatus.Budget);
  assert.equal(r.insns, 100000n);
  const r2 = run(P(mov(0, 0), alu64(ALU.add, 0, 1), ja(-2), exit()), { budget: 1001 });
  assert.equal(r2.status, RunStatus.Budget);
  assert.equal(r2.r0, 500n);
  // exact count on a straight program; a budget of exactly its length is enough
  const straight = P(mov(0, 1), mov(0, 2), mov(0, 3), exit());
  assert.deepEqual([run(straight, { budget: 4 }).status, run(straight, { budget: 4 }).insns], [RunStatus.Ok, 4n]);
  assert.equal(run(straight, { budget: 3 }).status, RunStatus.Budget);
  assert.equal(r0of(P(mov(0, 9), exit())), 9n);
});

test('memory faults: null, below/above mem, stack underflow/overflow across frames', () => {
  const mem = new Uint8Array(64);
  const base = addrOf(mem);
  let r = run(P(mov(1, 0), ldx('dw', 0, 1, 0), exit()));
  assert.deepEqual([r.status, r.pc, r.addr], [RunStatus.MemFault, 1n, 0n]);
  r = run(P(ldx('b', 0, 1, -1), exit()), { mem });
  assert.deepEqual([r.status, r.pc, r.addr], [RunStatus.MemFault, 0n, base - 1n]);
  r = run(P(ldx('w', 0, 1, 62), exit()), { mem });
  assert.deepEqual([r.status, r.addr], [RunStatus.MemFault, base + 62n]);
  r = run(P(st('b', 1, 64, 1), exit()), { mem });
  assert.deepEqual([r.status, r.addr], [RunStatus.MemFault, base + 64n]);
  assert.equal(r0of(P(ldx('w', 0, 1, 60), exit()), { mem }), 0n);
  // stack: [r10-512, r10) only, in frame 0
  assert.equal(run(P(ldx('dw', 0, 10, 0), exit())).status, RunStatus.MemFault);
  assert.equal(run(P(ldx('b', 0, 10, -513), exit())).status, RunStatus.MemFault);
  assert.equal(run(P(st('dw', 10, -4, 1), exit())).status, RunStatus.MemFault);
  // in a callee: the parent frame is reachable, above it is not, below its own frame is not
  const sub = (insn: Insn) => P(callLocal(1), exit(), insn, exit());
  assert.equal(run(sub(ldx('dw', 0, 10, 504))).status, RunStatus.Ok);
  assert.equal(run(sub(ldx('dw', 0, 10, 1024))).status, RunStatus.MemFault);
  assert.equal(run(sub(ldx('dw', 0, 10, 1017))).status, RunStatus.MemFault);
  assert.equal(run(sub(ldx('dw', 0, 10, -520))).status, RunStatus.MemFault);
  // after returning, the callee's frame is out of reach again
  assert.equal(run(P(callLocal(2), ldx('dw', 0, 10, -520), exit(), exit())).status, RunStatus.MemFault);
});

test('memory faults: write to a RdonlyProg map, helper pointers outside regions, unterminated trace fmt', () => {
  const ro = newMap(MapType.Array, 4, 8, 2, MapFlags.RdonlyProg);
  const key = new Uint8Array(4);
  assert.equal(bpf.bpfMapUpdate(ro, key, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 0), 0);
  assert.equal(r0of(P(lddw(1, 0, 2, 0), ldx('b', 0, 1, 7), exit()), { maps: [ro] }), 8n);
  let r = run(P(lddw(1, 0, 2, 0), st('b', 1, 0, 1), exit()), { maps: [ro] });
  assert.equal(r.status, RunStatus.MemFault);
  assert.equal(r.pc, 2n);
  // atomics on read-only memory fault too
  assert.equal(run(P(lddw(1, 0, 2, 0), mov(2, 1), atomic('dw', 1, 2, 0, 0), exit()), { maps: [ro] }).status, RunStatus.MemFault);
  // map_update_elem from a program on a rdonly map: -EPERM
  assert.equal(r0of(P(st('dw', 10, -8, 0), lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -8), movr(3, 2), mov(4, 0), call(2), exit()), { maps: [ro] }), u64(-1n));
  const h = newMap(MapType.Hash, 8, 8, 4);
  r = run(P(lddw(1, 0, 1), mov(2, 0x1000), movr(3, 10), alu64(ALU.add, 3, -8), mov(4, 0), call(2), exit()), { maps: [h] });
  assert.deepEqual([r.status, r.pc, r.addr], [RunStatus.MemFault, 6n, 0x1000n]);
  r = run(P(lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -8), mov(3, 8), call(1), exit()), { maps: [h] });
  assert.equal(r.status, RunStatus.Ok);
  r = run(P(lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -4), call(1), exit()), { maps: [h] }); // key straddles the frame top
  assert.equal(r.status, RunStatus.MemFault);
  // trace_printk: fmt without NUL inside fmt_size
  r = run(P(st('w', 10, -8, 0x64636261), movr(1, 10), alu64(ALU.add, 1, -8), mov(2, 4), call(6), exit()));
  assert.equal(r.status, RunStatus.MemFault);
  const fmtAt = r.addr - 4n;
  assert.equal(fmtAt % 8n, 0n);
  // fmt_size running off the stack
  r = run(P(movr(1, 10), alu64(ALU.add, 1, -8), mov(2, 9), call(6), exit()));
  assert.equal(r.status, RunStatus.MemFault);
});

test('RunStatus.Helper: bad bpf_loop callback, bogus ringbuf record, forged map handle', () => {
  assert.equal(run(P(mov(1, 3), mov(2, 5), mov(3, 0), mov(4, 0), call(181), exit())).status, RunStatus.Helper);
  const rb = newMap(MapType.RingBuf, 0, 0, 4096);
  const r = run(P(movr(1, 10), alu64(ALU.add, 1, -8), mov(2, 0), call(132), exit()), { maps: [rb] });
  assert.deepEqual([r.status, r.pc], [RunStatus.Helper, 3n]);
  assert.equal(run(P(lddw(1, 0xb9f0ab0000000007n), movr(2, 10), call(1), exit()), { maps: [rb] }).status, RunStatus.Helper);
});

// ---- creation re-check --------------------------------------------------------------------

test('every CreateReject code, with out[0] = pc', () => {
  assert.deepEqual(reject(new Uint8Array(0)), { code: CreateReject.Empty, pc: 0 });
  const long = new Uint8Array(1_000_001 * 8);
  long[long.length - 8] = 0x95;
  assert.equal(reject(long).code, CreateReject.TooLong);
  assert.deepEqual(reject(P(mov(0, 0), I(0xff), exit())), { code: CreateReject.BadOpcode, pc: 1 });
  assert.deepEqual(reject(P(I(0x20), exit())), { code: CreateReject.BadOpcode, pc: 0 }); // legacy LD_ABS
  assert.deepEqual(reject(P(alu64r(ALU.add, 0, 1, 0), I(0x0f, 0, 1, 0, 5), exit())), { code: CreateReject.BadOpcode, pc: 1 }); // imm set on X form
  assert.deepEqual(reject(P(I(0xc3, 1, 2, 0, 0x02), exit())), { code: CreateReject.BadOpcode, pc: 0 }); // bad atomic op
  assert.deepEqual(reject(P(alu64(ALU.mov, 0, 1, 8), exit())), { code: CreateReject.BadOpcode, pc: 0 }); // movsx needs X
  assert.deepEqual(reject(P(mov(11, 1), exit())), { code: CreateReject.BadRegister, pc: 0 });
  assert.deepEqual(reject(P(mov(0, 0), ldx('w', 0, 12, 0), exit())), { code: CreateReject.BadRegister, pc: 1 });
  assert.deepEqual(reject(P(ja(5), exit())), { code: CreateReject.JumpOutOfRange, pc: 0 });
  assert.deepEqual(reject(P(jmp(JOP.jeq, 0, 0, -2), exit())), { code: CreateReject.JumpOutOfRange, pc: 0 });
  assert.deepEqual(reject(P(mov(0, 0))), { code: CreateReject.JumpOutOfRange, pc: 0 }); // falls off the end
  assert.deepEqual(reject(P(ja(1), lddw(0, 1), exit())), { code: CreateReject.JumpIntoLdImm64, pc: 0 });
  assert.deepEqual(reject(P(mov(0, 0), lddw(0, 1)[0])), { code: CreateReject.BadLdImm64, pc: 1 }); // truncated
  assert.deepEqual(reject(P(I(0x18, 0, 0, 0, 1), I(0x95), exit())), { code: CreateReject.BadLdImm64, pc: 0 }); // slot 2 opcode
  assert.deepEqual(reject(P(lddw(0, 0, 3), exit())), { code: CreateReject.BadLdImm64, pc: 0 }); // var_addr
  assert.deepEqual(reject(P(mov(0, 0), lddw(1, 0, 1), exit())), { code: CreateReject.BadMapIndex, pc: 1 });
  const arr = newMap(MapType.Array, 4, 8, 1);
  assert.deepEqual(reject(P(lddw(1, 1, 2), exit()), [arr]), { code: CreateReject.BadMapIndex, pc: 0 });
  assert.deepEqual(reject(P(lddw(1, 0, 2, 8), exit()), [arr]), { code: CreateReject.BadLdImm64, pc: 0 }); // offset >= value size
  assert.deepEqual(reject(P(callLocal(5), exit())), { code: CreateReject.BadCallTarget, pc: 0 });
  assert.deepEqual(reject(P(callLocal(1), lddw(0, 1), exit())), { code: CreateReject.BadCallTarget, pc: 0 });
  assert.deepEqual(reject(P(lddw(2, 7, 4), exit())), { code: CreateReject.BadCallTarget, pc: 0 });
  assert.deepEqual(reject(P(mov(0, 0), call(9999), exit())), { code: CreateReject.UnknownHelper, pc: 1 });
  assert.deepEqual(reject(P(call(164), exit())), { code: CreateReject.UnknownHelper, pc: 0 }); // ring ids need HelperSet.Ring
  assert.deepEqual(reject(P(call(6), exit()), [], HelperSet.Conformance), { code: CreateReject.UnknownHelper, pc: 0 });
  assert.deepEqual(reject(P(mov(10, 0), exit())), { code: CreateReject.WriteToR10, pc: 0 });
  assert.deepEqual(reject(P(ldx('dw', 10, 1, 0), exit())), { code: CreateReject.WriteToR10, pc: 0 });
  assert.deepEqual(reject(P(atomic('dw', 1, 10, 0, 0x01), exit())), { code: CreateReject.WriteToR10, pc: 0 });
  // bad arguments are -EINVAL, not exceptions
  assert.equal(bpf.bpfProgCreate(new Uint8Array(7), [], 0, new Int32Array(1)), -22);
  assert.equal(bpf.bpfProgCreate(P(exit()), [{} as MapHandle], 0, new Int32Array(1)), -22);
  assert.equal(bpf.bpfProgRun({} as ProgHandle, null, 10, new BigUint64Array(4)), -22);
  assert.equal(bpf.bpfProgRun(create(P(exit())), null, 10, new BigUint64Array(2)), -22);
  assert.equal(bpf.bpfMapLookup(create(P(exit())) as unknown as MapHandle, new Uint8Array(4), new Uint8Array(8)), -22);
});

// ---- maps from JS -------------------------------------------------------------------------

test('array map: zero-copy memory both ways, stride rounded to 8, lookup/update/next key', () => {
  const m = newMap(MapType.Array, 4, 12, 4);
  const ab = bpf.bpfMapMemory(m) as ArrayBuffer;
  assert.equal(ab.byteLength, 64);
  assert.equal(bpf.bpfMapMemory(m), ab, 'the same ArrayBuffer while it lives');
  const dv = new DataView(ab);
  dv.setUint32(2 * 16, 1234, true);
  // program: lookup key 2, add 1 to its first u32, return the old value
  const code = P(st('w', 10, -4, 2), lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -4), call(1), jmp(JOP.jne, 0, 0, 1), exit(),
    ldx('w', 1, 0, 0), alu64(ALU.add, 1, 1), stx('w', 0, 1, 0), movr(0, 1), exit());
  const p = create(code, [m]);
  assert.equal(exec(p).r0, 1235n);
  assert.equal(dv.getUint32(32, true), 1235);
  const v = new Uint8Array(12);
  assert.equal(bpf.bpfMapLookup(m, new Uint8Array([2, 0, 0, 0]), v), 0);
  assert.equal(new DataView(v.buffer).getUint32(0, true), 1235);
  assert.equal(bpf.bpfMapLookup(m, new Uint8Array([4, 0, 0, 0]), v), -2);
  v.fill(9);
  assert.equal(bpf.bpfMapUpdate(m, new Uint8Array([3, 0, 0, 0]), v, 0), 0);
  assert.equal(new Uint8Array(ab)[48 + 11], 9);
  assert.equal(new Uint8Array(ab)[48 + 12], 0, 'padding untouched');
  assert.equal(bpf.bpfMapUpdate(m, new Uint8Array([3, 0, 0, 0]), v, 1), -17);
  assert.equal(bpf.bpfMapUpdate(m, new Uint8Array([9, 0, 0, 0]), v, 0), -7);
  assert.equal(bpf.bpfMapDelete(m, new Uint8Array(4)), -22);
  const k = new Uint8Array(4);
  assert.equal(bpf.bpfMapNextKey(m, null, k), 0);
  assert.equal(k[0], 0);
  assert.equal(bpf.bpfMapNextKey(m, new Uint8Array([2, 0, 0, 0]), k), 0);
  assert.equal(k[0], 3);
  assert.equal(bpf.bpfMapNextKey(m, new Uint8Array([3, 0, 0, 0]), k), -2);
  // program-side lookup out of range returns NULL
  assert.equal(r0of(P(st('w', 10, -4, 4), lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -4), call(1), exit()), { maps: [m] }), 0n);
  assert.equal(bpf.bpfMapCreate(MapType.Array, 8, 4, 4, 0), -22);
  assert.equal(bpf.bpfMapCreate(MapType.Array, 4, 0, 4, 0), -22);
  assert.equal(bpf.bpfMapCreate(99, 4, 4, 4, 0), -22);
  assert.equal(bpf.bpfMapCreate(MapType.Array, 4, 4, 4, 1 << 20), -22);
  assert.equal(bpf.bpfMapMemory(newMap(MapType.Hash, 4, 4, 4)), -22);
});

test('hash map: CRUD with flags, full at maxEntries, iteration, program-side update/lookup/delete', () => {
  const m = newMap(MapType.Hash, 4, 8, 3);
  const key = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
  const val = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
  const out = new Uint8Array(8);
  assert.equal(bpf.bpfMapLookup(m, key(1), out), -2);
  assert.equal(bpf.bpfMapUpdate(m, key(1), val(10), 2), -2);
  assert.equal(bpf.bpfMapUpdate(m, key(1), val(10), 1), 0);
  assert.equal(bpf.bpfMapUpdate(m, key(1), val(11), 1), -17);
  assert.equal(bpf.bpfMapUpdate(m, key(1), val(12), 2), 0);
  assert.equal(bpf.bpfMapUpdate(m, key(2), val(20), 0), 0);
  assert.equal(bpf.bpfMapUpdate(m, key(3), val(30), 0), 0);
  assert.equal(bpf.bpfMapUpdate(m, key(4), val(40), 0), -7, 'full');
  assert.equal(bpf.bpfMapUpdate(m, key(3), val(31), 0), 0, 'replacing works when full');
  assert.equal(bpf.bpfMapUpdate(m, key(3), val(31), 7), -22);
  assert.equal(bpf.bpfMapLookup(m, key(1), out), 0);
  assert.equal(new BigUint64Array(out.buffer)[0], 12n);
  const seen: number[] = [];
  const k = new Uint8Array(4);
  let prev: Uint8Array | null = null;
  while (bpf.bpfMapNextKey(m, prev, k) === 0) {
    seen.push(new Uint32Array(k.slice().buffer)[0]);
    prev = k.slice();
  }
  assert.deepEqual(seen.sort(), [1, 2, 3]);
  assert.equal(bpf.bpfMapDelete(m, key(2)), 0);
  assert.equal(bpf.bpfMapDelete(m, key(2)), -2);
  assert.equal(bpf.bpfMapUpdate(m, key(4), val(40), 0), 0, 'a deleted slot is reused');
  assert.equal(bpf.bpfMapNextKey(m, key(77), k), 0, 'unknown key restarts');
  // program: update key 9 (fails: full -> -E2BIG), delete 1, update 9, lookup 9 and return *value
  const code = P(
    st('w', 10, -4, 9), st('dw', 10, -16, 99),
    lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -4), movr(3, 10), alu64(ALU.add, 3, -16), mov(4, 0), call(2), movr(6, 0),
    st('w', 10, -4, 1), lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -4), call(3), movr(7, 0),
    st('w', 10, -4, 9), lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -4), movr(3, 10), alu64(ALU.add, 3, -16), mov(4, 0), call(2),
    lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -4), call(1), jmp(JOP.jeq, 0, 0, 4),
    ldx('dw', 0, 0, 0), alu64r(ALU.add, 0, 6), alu64r(ALU.add, 0, 7), exit(), mov(0, -1), exit());
  assert.equal(r0of(code, { maps: [m] }), 99n - 7n + 0n);
  assert.equal(bpf.bpfMapLookup(m, key(1), out), -2);
  assert.equal(bpf.bpfMapLookup(m, key(9), out), 0);
  assert.equal(bpf.bpfMapCreate(MapType.Hash, 0, 8, 4, 0), -22);
  assert.equal(bpf.bpfMapCreate(MapType.Hash, 4, 8, 0, 0), -22);
});

test('ring buffer map: output/reserve/submit/discard from programs, JS reads records in order', () => {
  assert.equal(bpf.bpfMapCreate(MapType.RingBuf, 0, 0, 1000, 0), -22);
  assert.equal(bpf.bpfMapCreate(MapType.RingBuf, 0, 0, 2048, 0), -22);
  assert.equal(bpf.bpfMapCreate(MapType.RingBuf, 4, 0, 4096, 0), -22);
  const rb = newMap(MapType.RingBuf, 0, 0, 4096);
  const dst = new Uint8Array(64);
  assert.equal(bpf.bpfRingbufRead(rb, dst), 0, 'empty');
  // output 5 bytes from the stack, then reserve 3 + submit, reserve + discard, return query(AVAIL)
  const code = P(
    lddw(1, 0x0504030201n), stx('dw', 10, 1, -8),
    lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -8), mov(3, 5), mov(4, 0), call(130), movr(6, 0),
    lddw(1, 0, 1), mov(2, 3), mov(3, 0), call(131), jmp(JOP.jeq, 0, 0, 5), st('b', 0, 0, 0xaa), st('h', 0, 1, 0xccbb), movr(1, 0), mov(2, 0), call(132),
    lddw(1, 0, 1), mov(2, 16), mov(3, 0), call(131), jmp(JOP.jeq, 0, 0, 3), movr(1, 0), mov(2, 0), call(133),
    lddw(1, 0, 1), mov(2, 0), call(134), alu64r(ALU.add, 0, 6), exit());
  assert.equal(r0of(code, { maps: [rb] }), 16n + 16n + 24n);
  assert.equal(bpf.bpfRingbufRead(rb, dst), 5);
  assert.deepEqual([...dst.subarray(0, 5)], [1, 2, 3, 4, 5]);
  assert.equal(bpf.bpfRingbufRead(rb, new Uint8Array(2)), -28, 'too small: record kept');
  assert.equal(bpf.bpfRingbufRead(rb, dst), 3);
  assert.deepEqual([...dst.subarray(0, 3)], [0xaa, 0xbb, 0xcc]);
  assert.equal(bpf.bpfRingbufRead(rb, dst), 0, 'discarded record skipped');
  // fill it: 100 records of 40 bytes each (48 with header) -> only 85 fit, then -EAGAIN
  const fill = P(mov(6, 0), mov(7, 0), lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -40), mov(3, 40), mov(4, 0), call(130),
    jmp(JOP.jne, 0, 0, 1), alu64(ALU.add, 7, 1), alu64(ALU.add, 6, 1), jmp(JOP.jlt, 6, 100, -11), movr(0, 7), exit());
  for (let round = 0; round < 4; round++) {
    const ok = r0of(fill, { maps: [rb] });
    assert.ok(ok >= 84n && ok < 100n, `round ${round}: ${ok} records fit`);
    let n = 0;
    while (bpf.bpfRingbufRead(rb, dst) === 40) n++;
    assert.equal(BigInt(n), ok, 'every committed record is read back, across the wrap');
  }
  // a reservation the program forgets is discarded at exit, not left blocking the buffer
  assert.notEqual(r0of(P(lddw(1, 0, 1), mov(2, 8), mov(3, 0), call(131), exit()), { maps: [rb] }), 0n);
  assert.equal(r0of(P(lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -8), mov(3, 8), mov(4, 0), call(130), exit()), { maps: [rb] }), 0n);
  assert.equal(bpf.bpfRingbufRead(rb, dst), 8);
  // a reserved record is writable only inside its size
  assert.equal(run(P(lddw(1, 0, 1), mov(2, 8), mov(3, 0), call(131), jmp(JOP.jeq, 0, 0, 1), st('b', 0, 8, 1), exit()), { maps: [rb] }).status, RunStatus.MemFault);
  assert.equal(bpf.bpfRingbufRead(rb, dst), 0);
  assert.equal(bpf.bpfMapLookup(rb, new Uint8Array(4), dst), -22);
});

// ---- helpers ------------------------------------------------------------------------------

test('helpers: ktime (monotonic), prandom, smp id, trace_printk formats', () => {
  assert.equal(r0of(P(call(5), movr(6, 0), call(5), alu64r(ALU.sub, 0, 6), mov(1, 0), jmp(JOP.jsge, 0, 0, 1), mov(1, 1), movr(0, 1), exit())), 0n);
  assert.ok(r0of(P(call(5), exit())) > 0n);
  const rnd = new Set<bigint>();
  for (let i = 0; i < 8; i++) rnd.add(r0of(P(call(7), exit())));
  assert.ok(rnd.size > 4);
  for (const v of rnd) assert.ok(v <= 0xffffffffn);
  assert.equal(r0of(P(call(8), exit())), 0n);
  const drain = () => { const b = new Uint8Array(70000); const n = bpf.bpfTraceRead(b); return Buffer.from(b.subarray(0, n)).toString(); };
  drain();
  const fmt = (s: string, args: (bigint | number)[], extra: Insn[] = []) => {
    const bytes = Buffer.from(s + '\0');
    const mem = new Uint8Array(128);
    mem.set(bytes);
    mem.set(Buffer.from('str\0'), 100);
    const code = P(extra, ...args.map((a, i) => lddw(3 + i, a)), mov(2, bytes.length), call(6), exit());
    return r0of(code, { mem });
  };
  assert.equal(fmt('a=%d b=%u c=%x\n', [-5, -5, 255]), BigInt('a=-5 b=4294967291 c=ff\n'.length));
  assert.equal(drain(), 'a=-5 b=4294967291 c=ff\n');
  assert.equal(fmt('%i %ld %lu\n', [-1, -2, 3]), 8n);
  assert.equal(drain(), '-1 -2 3\n');
  assert.equal(fmt('%lld %llu %lx\n', [-5, -5, 0xabcdef123n]), BigInt('-5 18446744073709551611 abcdef123\n'.length));
  assert.equal(drain(), '-5 18446744073709551611 abcdef123\n');
  // %s and %p: r3 = mem + 100 (a string inside a region)
  const r = fmt('s=%s p=%p 100%%\n', [], [movr(3, 1), alu64(ALU.add, 3, 100), movr(4, 3)]);
  const text = drain();
  assert.match(text, /^s=str p=0x[0-9a-f]+ 100%\n$/);
  assert.equal(r, BigInt(text.length));
  assert.equal(fmt('%q\n', [1]), u64(-22n));
  assert.equal(fmt('%d %d %d %d\n', [1, 2, 3]), u64(-22n));
  assert.equal(drain(), '');
  // %s pointing nowhere faults
  const mem = new Uint8Array(16);
  mem.set(Buffer.from('%s\0'));
  assert.equal(run(P(mov(2, 3), mov(3, 0x10), call(6), exit()), { mem }).status, RunStatus.MemFault);
});

function resultOfWithMem(code: Uint8Array, mem: Uint8Array, set: number = HelperSet.Standard) {
  return run(code, { mem, set });
}

test('helper set Ring: embedder ids are accepted and return -ENOSYS until the ring wires them', () => {
  for (const id of [164, 165, 166, 167, 148]) assert.equal(r0of(P(call(id), exit()), { set: HelperSet.Ring }), u64(-38n));
  assert.equal(r0of(P(call(7), mov(0, 1), exit()), { set: HelperSet.Ring }), 1n);
});

test('bpf_loop: iterations, early stop, limits, budget, nested calls', () => {
  // ctx = r10-8 holds a sum; the callback adds the index; r0 = iterations << 32 | sum
  // layout: 0 st, 1 mov, 2-3 lddw (code address of pc 12: imm = 12 - 2 - 1), 4 mov, 5 add, 6 mov,
  // 7 call, 8 ldx, 9 lsh, 10 or, 11 exit, 12.. callback
  const build = (nr: number, ret: Insn[], flags = 0) => P(
    st('dw', 10, -8, 0), mov(1, nr), lddw(2, 9, 4), movr(3, 10), alu64(ALU.add, 3, -8), mov(4, flags), call(181),
    ldx('dw', 1, 10, -8), alu64(ALU.lsh, 0, 32), alu64r(ALU.or, 0, 1), exit(),
    ldx('dw', 3, 2, 0), alu64r(ALU.add, 3, 1), stx('dw', 2, 3, 0), ret, exit(),
  );
  const res = (nr: number, ret: Insn[], flags = 0) => r0of(build(nr, ret, flags));
  assert.equal(res(10, [mov(0, 0)]), (10n << 32n) | 45n);
  assert.equal(res(10, [mov(0, 0), jmp(JOP.jne, 1, 3, 1), mov(0, 1)]), (4n << 32n) | 6n, 'stops after index 3 returns 1');
  assert.equal(res(0, [mov(0, 0)]), 0n);
  assert.equal(res((1 << 23) + 1, [mov(0, 0)]) >> 32n, u64(-7n) & 0xffffffffn);
  assert.equal(res(3, [mov(0, 0)], 1) >> 32n, u64(-22n) & 0xffffffffn);
  const r = run(build(1 << 23, [mov(0, 0)]), { budget: 100000 });
  assert.equal(r.status, RunStatus.Budget, 'callback iterations count against the budget');
  // the callback frame: r6-r9 of the caller survive, caller stack reachable via ctx
  assert.equal(r0of(P(mov(6, 5), mov(1, 2), lddw(2, 6, 4), mov(3, 0), mov(4, 0), call(181), alu64r(ALU.add, 0, 6), exit(),
    /* 9 */ mov(6, 99), mov(0, 0), exit())), 7n);
});

test('helper set Conformance: gather_bytes, memfrob, no_op, sqrti, strcmp_ext, unwind', () => {
  const C = HelperSet.Conformance;
  assert.equal(r0of(P(mov(1, 1), mov(2, 2), mov(3, 3), mov(4, 4), mov(5, 5), call(0), exit()), { set: C }), 0x0102030405n);
  const mem = new Uint8Array([1, 2, 3, 42]);
  assert.equal(resultOfWithMem(P(call(1), exit()), mem, C).status, RunStatus.Ok);
  assert.deepEqual([...mem], [1 ^ 42, 2 ^ 42, 3 ^ 42, 0]);
  assert.equal(resultOfWithMem(P(mov(2, 5), call(1), exit()), mem, C).status, RunStatus.MemFault);
  assert.equal(r0of(P(mov(0, 9), call(2), exit()), { set: C }), 0n);
  assert.equal(r0of(P(mov(1, 1000001), call(3), exit()), { set: C }), 1000n);
  assert.equal(r0of(P(lddw(1, 0xfffffffffffffffn), call(3), exit()), { set: C }), 1073741823n);
  const s = new Uint8Array(Buffer.from('abc\0abd\0'));
  assert.equal(s64(r0of(P(movr(2, 1), alu64(ALU.add, 2, 4), call(4), exit()), { mem: s, set: C })), -1n);
  assert.equal(r0of(P(movr(2, 1), call(4), exit()), { mem: s, set: C }), 0n);
  const open = new Uint8Array(Buffer.from('abc'));
  assert.equal(run(P(movr(2, 1), call(4), exit()), { mem: open, set: C }).status, RunStatus.MemFault);
  // unwind: r1 == 0 ends the program with r0 = 0, otherwise returns r1
  assert.equal(r0of(P(mov(1, 0), call(5), mov(0, 7), exit()), { set: C }), 0n);
  assert.equal(r0of(P(mov(1, 3), call(5), alu64(ALU.add, 0, 7), exit()), { set: C }), 10n);
  assert.equal(r0of(P(callLocal(2), mov(0, 9), exit(), mov(1, 0), call(5), exit()), { set: C }), 0n, 'unwinds from a subprogram');
});

// ---- lifetime -----------------------------------------------------------------------------

test('GC: dropping program and map handles while an array view is alive does not crash', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  let view: Uint32Array;
  {
    let m: MapHandle | null = newMap(MapType.Array, 4, 8, 1024);
    let p: ProgHandle | null = create(P(lddw(1, 0, 2, 0), st('w', 1, 0, 77), exit()), [m]);
    assert.equal(exec(p).status, RunStatus.Ok);
    view = new Uint32Array(bpf.bpfMapMemory(m) as ArrayBuffer);
    m = null;
    p = null;
  }
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(view[0], 77);
  view[2047] = 5;
  assert.equal(view[2047], 5);
  // churn: many maps/programs/buffers created and dropped
  for (let i = 0; i < 200; i++) {
    const m = newMap(MapType.Array, 4, 64, 64);
    const buf = new Uint8Array(bpf.bpfMapMemory(m) as ArrayBuffer);
    const p = create(P(lddw(1, 0, 2, 0), st('b', 1, 0, i & 0xff), exit()), [m]);
    exec(p);
    assert.equal(buf[0], i & 0xff);
    if (i % 50 === 0) gc();
  }
  // a map whose JS handle is gone stays alive through a program that references it
  let prog: ProgHandle;
  {
    const m = newMap(MapType.Hash, 4, 8, 4);
    prog = create(P(st('w', 10, -4, 1), st('dw', 10, -16, 5), lddw(1, 0, 1), movr(2, 10), alu64(ALU.add, 2, -4), movr(3, 10), alu64(ALU.add, 3, -16), mov(4, 0), call(2), exit()), [m]);
  }
  gc();
  await new Promise((r) => setImmediate(r));
  assert.equal(exec(prog).r0, 0n);
  gc();
  assert.equal(view[0], 77);
});
