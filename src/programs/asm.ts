/**
 * Assembler for the bpf_conformance text syntax, driven by the ISA table (isa.ts).
 *
 * ```
 * mov %r0, 1            ldxw %r0, [%r1+4]        stxdw [%r10-8], %r1
 * jeq %r1, 0, +3        jeq %r1, %r2, label      lddw %r0, 0x1122334455667788
 * call 1                call local func          exit
 * lock add [%r1+0], %r2 lock fetch add32 [%r1], %r2   lock cmpxchg [%r1+8], %r3
 * lddw %r1, map_by_idx(0)   lddw %r1, map_value_by_idx(2)+16   lddw %r2, code_addr(+5)
 * .insn 0x07, 1, 0, 0, 5    (raw slot: opcode, dst, src, off, imm)
 * ```
 * Registers may be written `%r3` or `r3`; r11-r15 are accepted so negative tests can be written.
 * Comments start with `#`, `;` or `//`. Labels are `name:`; the first `exit` is also label `exit`.
 */
import { BY_MNEMONIC, type Insn, type InsnSpec, encodeAll } from './isa.js';
import { ProgramError } from './errors.js';

/** Assembler options. */
export interface AssembleOptions {
  /** Map names, so `map_by_fd(name)` / `map_by_idx(name)` resolve to their index. */
  maps?: readonly string[];
}

type Operand =
  | { k: 'reg'; r: number }
  | { k: 'mem'; r: number; off: number }
  | { k: 'num'; v: bigint }
  | { k: 'target'; rel?: number; label?: string }
  | { k: 'pseudo'; fn: string; arg: string; add: bigint };

const REG = /^%?r(1[0-5]|[0-9])$/;
const NUM = /^[+-]?(0x[0-9a-f]+|[0-9]+)$/i;

function parseNum(s: string): bigint | undefined {
  if (!NUM.test(s)) return undefined;
  const neg = s.startsWith('-');
  const body = s.replace(/^[+-]/, '');
  const v = BigInt(body);
  return neg ? -v : v;
}

function splitOperands(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '[' || ch === '(') depth++;
    if (ch === ']' || ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function parseOperand(s: string, fail: (m: string) => never): Operand {
  const t = s.replace(/\s+/g, '');
  const reg = REG.exec(t);
  if (reg) return { k: 'reg', r: Number(reg[1]) };
  if (t.startsWith('[')) {
    const m = /^\[%?r(1[0-5]|[0-9])(?:([+-])(0x[0-9a-f]+|[0-9]+))?\]$/i.exec(t);
    if (!m) fail(`bad memory operand ${s}`);
    const off = m[3] ? Number(BigInt(m[3])) * (m[2] === '-' ? -1 : 1) : 0;
    if (off < -32768 || off > 65535) fail(`offset ${off} does not fit in 16 bits`);
    return { k: 'mem', r: Number(m[1]), off: (off << 16) >> 16 };
  }
  const pseudo = /^([a-z_]+)\(([^)]*)\)(?:([+-])(0x[0-9a-f]+|[0-9]+))?$/i.exec(t);
  if (pseudo) {
    const add = pseudo[4] ? BigInt(pseudo[4]) * (pseudo[3] === '-' ? -1n : 1n) : 0n;
    return { k: 'pseudo', fn: pseudo[1]!, arg: pseudo[2]!, add };
  }
  if (/^[+-]/.test(t) && NUM.test(t)) {
    // "+3" / "-2" are jump offsets where a target is expected, numbers otherwise; keep both.
    return { k: 'num', v: parseNum(t)! };
  }
  const n = parseNum(t);
  if (n !== undefined) return { k: 'num', v: n };
  if (/^[A-Za-z_.$][\w.$]*$/.test(t)) return { k: 'target', label: t };
  fail(`bad operand ${s}`);
}

function imm32(v: bigint, fail: (m: string) => never): number {
  if (v < -0x80000000n || v > 0xffffffffn) fail(`immediate ${v} does not fit in 32 bits`);
  return Number(BigInt.asIntN(32, v));
}

interface Pending {
  insn: Insn;
  line: number;
  /** Label to resolve into off (jumps) or imm (calls, gotol, code_addr). */
  label?: string;
  field?: 'off' | 'imm';
}

/**
 * Assembles text into instruction bytes (8 per slot).
 * @throws ProgramError code 'EASM', pc = 1-based source line, message `asm: line N: ...`.
 */
export function assemble(text: string, options: AssembleOptions = {}): Uint8Array {
  const out: Pending[] = [];
  const labels = new Map<string, number>();
  let firstExit: number | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const fail = (m: string): never => {
      throw new ProgramError('EASM', lineNo, `asm: line ${lineNo}: ${m}`);
    };
    let line = raw.replace(/(#|;|\/\/).*$/, '').trim();
    for (let m = /^([A-Za-z_.$][\w.$]*):\s*/.exec(line); m; m = /^([A-Za-z_.$][\w.$]*):\s*/.exec(line)) {
      if (labels.has(m[1]!)) fail(`duplicate label ${m[1]}`);
      labels.set(m[1]!, out.length);
      line = line.slice(m[0].length);
    }
    if (!line) return;
    const sp = line.search(/\s/);
    let mnemonic = (sp < 0 ? line : line.slice(0, sp)).toLowerCase();
    let rest = sp < 0 ? '' : line.slice(sp).trim();
    if (mnemonic === '.insn') {
      const f = splitOperands(rest).map((s) => parseNum(s));
      if (f.length !== 5 || f.some((v) => v === undefined)) fail('.insn takes 5 numbers: opcode, dst, src, off, imm');
      const [op, d, s, o, i] = f as bigint[];
      out.push({ line: lineNo, insn: { opcode: Number(op! & 0xffn), dst: Number(d! & 0xfn), src: Number(s! & 0xfn), off: Number(BigInt.asIntN(16, o!)), imm: Number(BigInt.asIntN(32, i!)) } });
      return;
    }
    if (mnemonic === 'lock') {
      const words = rest.split(/\s+/);
      const parts = ['lock'];
      if (words[0]?.toLowerCase() === 'fetch') parts.push(words.shift()!.toLowerCase());
      parts.push((words.shift() ?? '').toLowerCase());
      mnemonic = parts.join(' ');
      rest = words.join(' ');
    }
    if (mnemonic === 'call') {
      const w = rest.split(/\s+/);
      if (w[0] === 'local') {
        mnemonic = 'call local';
        rest = w.slice(1).join(' ');
      } else if (w[0] === 'helper') rest = w.slice(1).join(' ');
    }
    if (mnemonic === 'bswap16' || mnemonic === 'bswap32' || mnemonic === 'bswap64') mnemonic = 'swap' + mnemonic.slice(5);
    const specs = BY_MNEMONIC.get(mnemonic) ?? fail(`unknown mnemonic ${mnemonic}`);
    const ops = splitOperands(rest).map((s) => parseOperand(s, fail));
    const pend: Pending = { line: lineNo, insn: { opcode: 0, dst: 0, src: 0, off: 0, imm: 0 } };
    const pick = (shape: InsnSpec['shape']): InsnSpec => specs.find((s) => s.shape === shape) ?? fail(`${mnemonic} has no ${shape} form`);
    const want = (n: number): void => {
      if (ops.length !== n) fail(`${mnemonic} takes ${n} operand${n === 1 ? '' : 's'} (got ${ops.length})`);
    };
    const reg = (o: Operand | undefined, what: string): number => (o?.k === 'reg' ? o.r : fail(`${mnemonic}: ${what} must be a register`));
    const mem = (o: Operand | undefined): { r: number; off: number } => (o?.k === 'mem' ? o : fail(`${mnemonic}: expected a memory operand [%rN+off]`));
    const num = (o: Operand | undefined, what: string): bigint => (o?.k === 'num' ? o.v : fail(`${mnemonic}: ${what} must be a number`));
    const target = (o: Operand | undefined, field: 'off' | 'imm'): number => {
      if (o?.k === 'num') {
        if (field === 'off' && (o.v < -32768n || o.v > 32767n)) fail(`jump offset ${o.v} does not fit in 16 bits`);
        return field === 'off' ? Number(o.v) : imm32(o.v, fail);
      }
      if (o?.k === 'target') {
        pend.label = o.label;
        pend.field = field;
        return 0;
      }
      return fail(`${mnemonic}: expected a jump target (+N, -N or a label)`);
    };
    const first = specs[0]!;
    let spec: InsnSpec;
    const x = pend.insn;
    switch (first.shape) {
      case 'alu-k':
      case 'alu-x':
        want(2);
        spec = ops[1]!.k === 'reg' ? pick('alu-x') : pick('alu-k');
        x.dst = reg(ops[0], 'destination');
        if (spec.shape === 'alu-x') x.src = reg(ops[1], 'source');
        else x.imm = imm32(num(ops[1], 'immediate'), fail);
        break;
      case 'unary':
        want(1);
        spec = first;
        x.dst = reg(ops[0], 'destination');
        break;
      case 'lddw': {
        want(2);
        spec = first;
        x.dst = reg(ops[0], 'destination');
        const o = ops[1]!;
        let v: bigint = 0n;
        if (o.k === 'num') {
          if (o.v < -(1n << 63n) || o.v >= 1n << 64n) fail(`immediate ${o.v} does not fit in 64 bits`);
          v = BigInt.asUintN(64, o.v);
        } else if (o.k === 'pseudo') {
          const kinds: Record<string, number> = { map_by_fd: 1, map_value_by_fd: 2, map_val_by_fd: 2, code_addr: 4, map_by_idx: 5, map_value_by_idx: 6, map_val_by_idx: 6 };
          const src = kinds[o.fn.toLowerCase()] ?? fail(`unknown lddw pseudo source ${o.fn}()`);
          x.src = src;
          if (src === 4) {
            const t = parseOperand(o.arg, fail);
            x.imm = target(t.k === 'target' ? t : t, 'imm');
            v = BigInt.asUintN(32, BigInt(x.imm));
          } else {
            const byName = options.maps?.indexOf(o.arg) ?? -1;
            const idx = byName >= 0 ? BigInt(byName) : parseNum(o.arg) ?? fail(`unknown map ${o.arg}`);
            if ((src === 1 || src === 5) && o.add !== 0n) fail('a map reference takes no offset');
            v = (BigInt.asUintN(32, o.add) << 32n) | BigInt.asUintN(32, idx);
          }
        } else fail('lddw: expected a number or a pseudo source such as map_by_idx(0)');
        if (x.src !== 4) x.imm = Number(BigInt.asIntN(32, v));
        const hi: Insn = { opcode: 0, dst: 0, src: 0, off: 0, imm: Number(BigInt.asIntN(32, v >> 32n)) };
        x.opcode = spec.opcode;
        out.push(pend, { insn: hi, line: lineNo });
        return;
      }
      case 'ldx': {
        want(2);
        spec = first;
        x.dst = reg(ops[0], 'destination');
        const m = mem(ops[1]);
        x.src = m.r;
        x.off = m.off;
        break;
      }
      case 'st':
      case 'stx':
      case 'atomic': {
        want(2);
        spec = first;
        const m = mem(ops[0]);
        x.dst = m.r;
        x.off = m.off;
        if (spec.shape === 'st') x.imm = imm32(num(ops[1], 'immediate'), fail);
        else x.src = reg(ops[1], 'source');
        break;
      }
      case 'ja':
        want(1);
        spec = first;
        x.off = target(ops[0], 'off');
        break;
      case 'gotol':
        want(1);
        spec = first;
        x.imm = target(ops[0], 'imm');
        break;
      case 'jcc-k':
      case 'jcc-x':
        want(3);
        spec = ops[1]!.k === 'reg' ? pick('jcc-x') : pick('jcc-k');
        x.dst = reg(ops[0], 'first operand');
        if (spec.shape === 'jcc-x') x.src = reg(ops[1], 'second operand');
        else x.imm = imm32(num(ops[1], 'immediate'), fail);
        x.off = target(ops[2], 'off');
        break;
      case 'call':
        want(1);
        spec = first;
        x.imm = imm32(num(ops[0], 'helper id'), fail);
        break;
      case 'call-local':
        want(1);
        spec = first;
        x.imm = target(ops[0], 'imm');
        break;
      case 'exit':
        want(0);
        spec = first;
        if (firstExit === undefined) firstExit = out.length;
        break;
    }
    x.opcode = spec.opcode;
    for (const f of ['dst', 'src', 'off', 'imm'] as const) if (spec.fixed[f] !== undefined && f !== 'dst' && f !== 'src') x[f] = spec.fixed[f]!;
    if (spec.fixed.src !== undefined) x.src = spec.fixed.src;
    out.push(pend);
  });
  if (firstExit !== undefined && !labels.has('exit')) labels.set('exit', firstExit);
  out.forEach((p, pc) => {
    if (p.label === undefined) return;
    const t = labels.get(p.label);
    if (t === undefined) throw new ProgramError('EASM', p.line, `asm: line ${p.line}: unknown label ${p.label}`);
    const rel = t - pc - 1;
    if (p.field === 'off') {
      if (rel < -32768 || rel > 32767) throw new ProgramError('EASM', p.line, `asm: line ${p.line}: label ${p.label} is out of 16-bit jump range`);
      p.insn.off = rel;
    } else p.insn.imm = rel;
  });
  return encodeAll(out.map((p) => p.insn));
}
