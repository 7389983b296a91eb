/**
 * THE instruction table: every opcode of RFC 9669 (eBPF ISA, CPU v4) that ringflow accepts, once.
 * The assembler, disassembler, verifier, docs (tools/gen-isa-docs.ts) and tests are all driven
 * from {@link ISA}. Legacy packet-access instructions (LD ABS/IND) and callx are not accepted.
 *
 * Encoding (RFC 9669 §3): `opcode:8 | src:4 dst:4 | offset:16 | imm:32`, little-endian; the wide
 * `lddw` takes two slots (second slot: opcode 0, registers 0, offset 0, imm = upper 32 bits).
 */

/** Instruction classes (RFC 9669 §3.1). */
export const Cls = { LD: 0, LDX: 1, ST: 2, STX: 3, ALU: 4, JMP: 5, JMP32: 6, ALU64: 7 } as const;

/** Operand shapes: decide the assembler syntax and which fields carry operands. */
export type Shape =
  | 'alu-k' //   mov %rD, imm
  | 'alu-x' //   mov %rD, %rS
  | 'unary' //   neg %rD / be16 %rD
  | 'lddw' //    lddw %rD, imm64 | map_by_idx(N) ...
  | 'ldx' //     ldxw %rD, [%rS+off]
  | 'st' //      stw [%rD+off], imm
  | 'stx' //     stxw [%rD+off], %rS
  | 'atomic' //  lock add [%rD+off], %rS
  | 'ja' //      ja +off
  | 'gotol' //   gotol +imm
  | 'jcc-k' //   jeq %rD, imm, +off
  | 'jcc-x' //   jeq %rD, %rS, +off
  | 'call' //    call imm
  | 'call-local' // call local +imm
  | 'exit'; //   exit

/** Instruction fields. */
export type Field = 'dst' | 'src' | 'off' | 'imm';

/** RFC 9669 conformance groups (§2.4). */
export type Group = 'base32' | 'base64' | 'atomic32' | 'atomic64' | 'divmul32' | 'divmul64';

/** One accepted encoding. */
export interface InsnSpec {
  /** The opcode byte. */
  readonly opcode: number;
  /** Assembler mnemonic (bpf_conformance syntax). */
  readonly mnemonic: string;
  /** Class (low 3 bits of the opcode). */
  readonly cls: number;
  /** Operand shape. */
  readonly shape: Shape;
  /** Fields that must hold exactly this value (discriminators and reserved fields). */
  readonly fixed: Readonly<Partial<Record<Field, number>>>;
  /** Memory access size in bytes (loads, stores, atomics). */
  readonly size?: 1 | 2 | 4 | 8;
  /** True when the instruction writes dst (so dst may not be r10). */
  readonly writesDst: boolean;
  /** Semantics in RFC notation, for docs. */
  readonly semantics: string;
  /** Conformance group. */
  readonly group: Group;
}

type Def = Omit<InsnSpec, 'cls' | 'writesDst'> & { writesDst?: boolean };
const defs: Def[] = [];
const add = (d: Def): void => void defs.push(d);

// ---- ALU / ALU64 -------------------------------------------------------------------------
const ALU_OPS: [code: number, name: string, sem: string, off?: number, group?: 'div'][] = [
  [0x00, 'add', 'dst += src'],
  [0x10, 'sub', 'dst -= src'],
  [0x20, 'mul', 'dst *= src', 0, 'div'],
  [0x30, 'div', 'dst = (src != 0) ? (dst / src) : 0 (unsigned)', 0, 'div'],
  [0x30, 'sdiv', 'dst = (src != 0) ? (dst s/ src) : 0 (signed)', 1, 'div'],
  [0x40, 'or', 'dst |= src'],
  [0x50, 'and', 'dst &= src'],
  [0x60, 'lsh', 'dst <<= (src & mask)'],
  [0x70, 'rsh', 'dst >>= (src & mask) (logical)'],
  [0x90, 'mod', 'dst = (src != 0) ? (dst % src) : dst (unsigned)', 0, 'div'],
  [0x90, 'smod', 'dst = (src != 0) ? (dst s% src) : dst (signed)', 1, 'div'],
  [0xa0, 'xor', 'dst ^= src'],
  [0xb0, 'mov', 'dst = src'],
  [0xc0, 'arsh', 'dst s>>= (src & mask) (arithmetic)'],
];
for (const [is64, cls, sfx] of [[false, Cls.ALU, '32'], [true, Cls.ALU64, '']] as const) {
  const base: Group = is64 ? 'base64' : 'base32';
  const dm: Group = is64 ? 'divmul64' : 'divmul32';
  const w = is64 ? '' : ' (32-bit, upper half zeroed)';
  for (const [code, name, sem, off = 0, g] of ALU_OPS) {
    const group = g ? dm : base;
    add({ opcode: code | 0x00 | cls, mnemonic: name + sfx, shape: 'alu-k', fixed: { src: 0, off }, semantics: sem.replace('src', 'imm') + w, group });
    add({ opcode: code | 0x08 | cls, mnemonic: name + sfx, shape: 'alu-x', fixed: { imm: 0, off }, semantics: sem + w, group });
  }
  add({ opcode: 0x80 | cls, mnemonic: 'neg' + sfx, shape: 'unary', fixed: { src: 0, off: 0, imm: 0 }, semantics: 'dst = -dst' + w, group: base });
  // MOVSX (CPU v4): sign-extending moves, register source only, offset = source width in bits.
  const widths = is64 ? [8, 16, 32] : [8, 16];
  for (const bits of widths)
    add({
      opcode: 0xbc | (is64 ? 0x03 : 0),
      mnemonic: `movsx${bits}${is64 ? '64' : '32'}`,
      shape: 'alu-x',
      fixed: { imm: 0, off: bits },
      semantics: `dst = (s${bits})src sign-extended to ${is64 ? 64 : 32} bits` + w,
      group: base,
    });
}
// Byte swaps: ALU class END (to LE: source bit 0, to BE: source bit 1); ALU64 class BSWAP (v4).
for (const bits of [16, 32, 64]) {
  add({ opcode: 0xd4, mnemonic: `le${bits}`, shape: 'unary', fixed: { src: 0, off: 0, imm: bits }, semantics: `dst = htole${bits}(dst) (truncates to ${bits} bits)`, group: 'base32' });
  add({ opcode: 0xdc, mnemonic: `be${bits}`, shape: 'unary', fixed: { src: 0, off: 0, imm: bits }, semantics: `dst = htobe${bits}(dst) (truncates to ${bits} bits)`, group: 'base32' });
  add({ opcode: 0xd7, mnemonic: `swap${bits}`, shape: 'unary', fixed: { src: 0, off: 0, imm: bits }, semantics: `dst = bswap${bits}(dst) (unconditional)`, group: 'base64' });
}

// ---- loads and stores --------------------------------------------------------------------
const SIZES: [bits: number, sz: 1 | 2 | 4 | 8, name: string][] = [
  [0x00, 4, 'w'],
  [0x08, 2, 'h'],
  [0x10, 1, 'b'],
  [0x18, 8, 'dw'],
];
add({ opcode: 0x18, mnemonic: 'lddw', shape: 'lddw', fixed: { off: 0 }, semantics: 'dst = imm64 (src 0), map (src 1/5), map value address (src 2/6), code address (src 4); two slots', group: 'base64' });
for (const [bits, size, n] of SIZES) {
  add({ opcode: 0x61 | bits, mnemonic: `ldx${n}`, shape: 'ldx', size, fixed: { imm: 0 }, semantics: `dst = *(u${size * 8} *)(src + off)`, group: size === 8 ? 'base64' : 'base32' });
  add({ opcode: 0x62 | bits, mnemonic: `st${n}`, shape: 'st', size, fixed: { src: 0 }, writesDst: false, semantics: `*(u${size * 8} *)(dst + off) = imm`, group: size === 8 ? 'base64' : 'base32' });
  add({ opcode: 0x63 | bits, mnemonic: `stx${n}`, shape: 'stx', size, fixed: { imm: 0 }, writesDst: false, semantics: `*(u${size * 8} *)(dst + off) = src`, group: size === 8 ? 'base64' : 'base32' });
  if (size !== 8)
    add({ opcode: 0x81 | bits, mnemonic: `ldxs${n}`, shape: 'ldx', size, fixed: { imm: 0 }, semantics: `dst = *(s${size * 8} *)(src + off) sign-extended to 64 bits`, group: 'base32' });
}
// Atomics (STX class, ATOMIC mode 0xc0, sizes W and DW); imm selects the operation.
const ATOMIC_OPS: [imm: number, name: string, sem: string][] = [
  [0x00, 'add', '*(dst + off) += src'],
  [0x01, 'fetch add', 'src = atomic_fetch_add(dst + off, src)'],
  [0x40, 'or', '*(dst + off) |= src'],
  [0x41, 'fetch or', 'src = atomic_fetch_or(dst + off, src)'],
  [0x50, 'and', '*(dst + off) &= src'],
  [0x51, 'fetch and', 'src = atomic_fetch_and(dst + off, src)'],
  [0xa0, 'xor', '*(dst + off) ^= src'],
  [0xa1, 'fetch xor', 'src = atomic_fetch_xor(dst + off, src)'],
  [0xe1, 'xchg', 'src = xchg(dst + off, src)'],
  [0xf1, 'cmpxchg', 'r0 = cmpxchg(dst + off, r0, src)'],
];
for (const [opcode, size] of [[0xc3, 4], [0xdb, 8]] as const)
  for (const [imm, name, sem] of ATOMIC_OPS)
    add({
      opcode,
      mnemonic: `lock ${name}${size === 4 ? '32' : ''}`,
      shape: 'atomic',
      size,
      fixed: { imm },
      writesDst: false,
      semantics: `${sem} (${size * 8}-bit, atomic)`,
      group: size === 4 ? 'atomic32' : 'atomic64',
    });

// ---- jumps -------------------------------------------------------------------------------
const JMP_OPS: [code: number, name: string, cond: string][] = [
  [0x10, 'jeq', 'dst == src'],
  [0x20, 'jgt', 'dst > src (unsigned)'],
  [0x30, 'jge', 'dst >= src (unsigned)'],
  [0x40, 'jset', 'dst & src'],
  [0x50, 'jne', 'dst != src'],
  [0x60, 'jsgt', 'dst > src (signed)'],
  [0x70, 'jsge', 'dst >= src (signed)'],
  [0xa0, 'jlt', 'dst < src (unsigned)'],
  [0xb0, 'jle', 'dst <= src (unsigned)'],
  [0xc0, 'jslt', 'dst < src (signed)'],
  [0xd0, 'jsle', 'dst <= src (signed)'],
];
add({ opcode: 0x05, mnemonic: 'ja', shape: 'ja', fixed: { dst: 0, src: 0, imm: 0 }, writesDst: false, semantics: 'pc += off', group: 'base32' });
add({ opcode: 0x06, mnemonic: 'gotol', shape: 'gotol', fixed: { dst: 0, src: 0, off: 0 }, writesDst: false, semantics: 'pc += imm (32-bit jump offset)', group: 'base32' });
for (const [is64, cls, sfx] of [[true, Cls.JMP, ''], [false, Cls.JMP32, '32']] as const)
  for (const [code, name, cond] of JMP_OPS) {
    const c = is64 ? cond : cond.replace(/dst/g, '(u32)dst').replace(/src/, '(u32)src');
    add({ opcode: code | cls, mnemonic: name + sfx, shape: 'jcc-k', fixed: { src: 0 }, writesDst: false, semantics: `if ${c.replace('src', 'imm')}: pc += off`, group: 'base32' });
    add({ opcode: code | 0x08 | cls, mnemonic: name + sfx, shape: 'jcc-x', fixed: { imm: 0 }, writesDst: false, semantics: `if ${c}: pc += off`, group: 'base32' });
  }
add({ opcode: 0x85, mnemonic: 'call', shape: 'call', fixed: { dst: 0, src: 0, off: 0 }, writesDst: false, semantics: 'r0 = helper[imm](r1..r5); r1-r5 clobbered', group: 'base32' });
add({ opcode: 0x85, mnemonic: 'call local', shape: 'call-local', fixed: { dst: 0, src: 1, off: 0 }, writesDst: false, semantics: 'call the subprogram at pc + imm + 1 (new frame, r6-r9 and stack preserved)', group: 'base32' });
add({ opcode: 0x95, mnemonic: 'exit', shape: 'exit', fixed: { dst: 0, src: 0, off: 0, imm: 0 }, writesDst: false, semantics: 'return r0 to the caller (or end the program)', group: 'base32' });

/** Every accepted encoding, in opcode order. */
export const ISA: readonly InsnSpec[] = defs
  .map((d) => Object.freeze({ ...d, cls: d.opcode & 7, writesDst: d.writesDst ?? true }))
  .sort((a, b) => a.opcode - b.opcode);

/** Specs by opcode byte (several specs share an opcode and differ in a fixed field). */
export const BY_OPCODE: ReadonlyMap<number, readonly InsnSpec[]> = (() => {
  const m = new Map<number, InsnSpec[]>();
  for (const s of ISA) (m.get(s.opcode) ?? m.set(s.opcode, []).get(s.opcode)!).push(s);
  return m;
})();

/** Specs by mnemonic plus shape (e.g. 'add' has alu-k and alu-x). */
export const BY_MNEMONIC: ReadonlyMap<string, readonly InsnSpec[]> = (() => {
  const m = new Map<string, InsnSpec[]>();
  for (const s of ISA) (m.get(s.mnemonic) ?? m.set(s.mnemonic, []).get(s.mnemonic)!).push(s);
  return m;
})();

/** The field that tells apart specs sharing an opcode, if any. */
export const DISCRIMINATOR: Readonly<Partial<Record<Shape, Field>>> = {
  'alu-k': 'off',
  'alu-x': 'off',
  unary: 'imm',
  atomic: 'imm',
  call: 'src',
  'call-local': 'src',
};

/** A decoded instruction slot. */
export interface Insn {
  opcode: number;
  dst: number;
  src: number;
  /** Signed 16-bit. */
  off: number;
  /** Signed 32-bit. */
  imm: number;
}

/** Byte size of one instruction slot. */
export const INSN_SIZE = 8;
/** Stack bytes per frame. */
export const STACK_SIZE = 512;
/** Maximum frames on the BPF-to-BPF call stack (main program included). */
export const MAX_CALL_FRAMES = 8;
/** Maximum program length in instruction slots. */
export const MAX_INSNS = 65536;

/** Decodes slot i of a byte buffer (length must cover it). */
export function decodeInsn(bytes: Uint8Array, i: number): Insn {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + i * 8, 8);
  const regs = dv.getUint8(1);
  return { opcode: dv.getUint8(0), dst: regs & 0xf, src: regs >> 4, off: dv.getInt16(2, true), imm: dv.getInt32(4, true) };
}

/** Decodes a whole buffer (length must be a multiple of 8). */
export function decodeAll(bytes: Uint8Array): Insn[] {
  const n = Math.floor(bytes.length / 8);
  const out: Insn[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = decodeInsn(bytes, i);
  return out;
}

/** Encodes instructions into bytes. Fields are truncated to their widths. */
export function encodeAll(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const dv = new DataView(out.buffer);
  insns.forEach((x, i) => {
    dv.setUint8(i * 8, x.opcode & 0xff);
    dv.setUint8(i * 8 + 1, ((x.src & 0xf) << 4) | (x.dst & 0xf));
    dv.setInt16(i * 8 + 2, (x.off << 16) >> 16, true);
    dv.setInt32(i * 8 + 4, x.imm | 0, true);
  });
  return out;
}

/** Finds the spec an instruction matches, or a reason it matches none. */
export function lookupSpec(x: Insn): InsnSpec | { error: string } {
  const specs = BY_OPCODE.get(x.opcode);
  if (!specs) return { error: `unknown opcode 0x${x.opcode.toString(16).padStart(2, '0')}` };
  const disc = DISCRIMINATOR[specs[0]!.shape];
  let spec = specs[0]!;
  if (disc && specs.length > 1) {
    const hit = specs.find((s) => s.fixed[disc] === x[disc]);
    if (!hit)
      return {
        error: `invalid ${disc} ${x[disc]} for opcode 0x${x.opcode.toString(16).padStart(2, '0')} (${specs[0]!.mnemonic}; expected ${specs.map((s) => s.fixed[disc]).join(', ')})`,
      };
    spec = hit;
  } else if (disc && spec.fixed[disc] !== undefined && spec.fixed[disc] !== x[disc]) {
    return { error: `invalid ${disc} ${x[disc]} for ${spec.mnemonic} (expected ${spec.fixed[disc]})` };
  }
  for (const f of ['dst', 'src', 'off', 'imm'] as const) {
    const want = spec.fixed[f];
    if (want !== undefined && x[f] !== want) return { error: `${spec.mnemonic}: reserved field ${f} must be ${want} (got ${x[f]})` };
  }
  return spec;
}

/** True for jumps/calls whose target is pc + off + 1 or pc + imm + 1. */
export function branchTarget(spec: InsnSpec, x: Insn, pc: number): number | undefined {
  switch (spec.shape) {
    case 'ja':
    case 'jcc-k':
    case 'jcc-x':
      return pc + x.off + 1;
    case 'gotol':
    case 'call-local':
      return pc + x.imm + 1;
    default:
      return undefined;
  }
}
