/**
 * Disassembler: bytes to bpf_conformance text, driven by the ISA table. Output assembles back to
 * the same bytes (asm → bytes → disasm → asm is byte-identical for every table entry). Slots that
 * match no table entry are printed as `.insn opcode, dst, src, off, imm` so they round-trip too.
 */
import { decodeAll, lookupSpec, type Insn } from './isa.js';

/** Disassembler options. */
export interface DisassembleOptions {
  /** Prefix each line with its instruction index (`   12: `). Default false. */
  pcs?: boolean;
}

const r = (n: number): string => `%r${n}`;
const rel = (n: number): string => (n < 0 ? `${n}` : `+${n}`);
const mem = (reg: number, off: number): string => `[${r(reg)}${off < 0 ? off : `+${off}`}]`;
const raw = (x: Insn): string => `.insn 0x${x.opcode.toString(16).padStart(2, '0')}, ${x.dst}, ${x.src}, ${x.off}, ${x.imm}`;

/** Text of one instruction (`next` is the second lddw slot, when relevant). */
export function formatInsn(x: Insn, next?: Insn): string {
  const spec = lookupSpec(x);
  if ('error' in spec) return raw(x);
  const m = spec.mnemonic;
  switch (spec.shape) {
    case 'alu-k':
      return `${m} ${r(x.dst)}, ${x.imm}`;
    case 'alu-x':
      return `${m} ${r(x.dst)}, ${r(x.src)}`;
    case 'unary':
      return `${m} ${r(x.dst)}`;
    case 'lddw': {
      if (!next || next.opcode !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) return raw(x);
      const lo = BigInt.asUintN(32, BigInt(x.imm));
      const hi = BigInt.asUintN(32, BigInt(next.imm));
      switch (x.src) {
        case 0:
          return `${m} ${r(x.dst)}, 0x${((hi << 32n) | lo).toString(16)}`;
        case 1:
        case 5:
          if (hi !== 0n) return raw(x);
          return `${m} ${r(x.dst)}, ${x.src === 1 ? 'map_by_fd' : 'map_by_idx'}(${lo})`;
        case 2:
        case 6:
          return `${m} ${r(x.dst)}, ${x.src === 2 ? 'map_value_by_fd' : 'map_value_by_idx'}(${lo})+${hi}`;
        case 4:
          if (hi !== 0n) return raw(x);
          return `${m} ${r(x.dst)}, code_addr(${rel(x.imm)})`;
        default:
          return raw(x);
      }
    }
    case 'ldx':
      return `${m} ${r(x.dst)}, ${mem(x.src, x.off)}`;
    case 'st':
      return `${m} ${mem(x.dst, x.off)}, ${x.imm}`;
    case 'stx':
    case 'atomic':
      return `${m} ${mem(x.dst, x.off)}, ${r(x.src)}`;
    case 'ja':
      return `${m} ${rel(x.off)}`;
    case 'gotol':
      return `${m} ${rel(x.imm)}`;
    case 'jcc-k':
      return `${m} ${r(x.dst)}, ${x.imm}, ${rel(x.off)}`;
    case 'jcc-x':
      return `${m} ${r(x.dst)}, ${r(x.src)}, ${rel(x.off)}`;
    case 'call':
      return `${m} ${x.imm}`;
    case 'call-local':
      return `${m} ${rel(x.imm)}`;
    case 'exit':
      return m;
  }
}

/**
 * Disassembles instruction bytes (length a multiple of 8; a trailing partial slot is ignored)
 * into one line per instruction; lddw takes one line for its two slots.
 */
export function disassemble(bytes: Uint8Array, options: DisassembleOptions = {}): string {
  const insns = decodeAll(bytes);
  const lines: string[] = [];
  for (let pc = 0; pc < insns.length; pc++) {
    const x = insns[pc]!;
    let text: string;
    if (x.opcode === 0x18) {
      text = formatInsn(x, insns[pc + 1]);
      const wide = !text.startsWith('.insn');
      if (options.pcs) text = `${String(pc).padStart(5)}: ${text}`;
      lines.push(text);
      if (wide) pc++;
      continue;
    }
    text = formatInsn(x);
    lines.push(options.pcs ? `${String(pc).padStart(5)}: ${text}` : text);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}
