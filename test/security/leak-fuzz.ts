// A differential check of the verifier's address rules: random programs mix addresses (stack,
// context, map values, lookup results) with numbers in every instruction form; those the verifier
// accepts run twice, with the stack, the run memory and the maps at other addresses (fresh maps
// and buffers, the second run from deeper in the JS stack). Whatever a run shows (status, r0,
// instructions run, the run memory and the map values after it) must not change: anything that
// does depends on where memory is, i.e. an address reached it. Not compared, as the verifier does
// not govern them: faultAddress (an address by definition) and r0 of a run that did not end with
// exit (what r0 held when a fault or the budget stopped it; see docs/security.md).
import { assemble, verifyProgram, Program, ProgramError, ArrayMap, HashMap, MapType, type MapInfo, type RunResult } from '../../src/programs/index.js';

/** What a leakFuzz run saw. */
export interface LeakFuzzStats {
  cases: number;
  accepted: number;
  refused: number;
  /** One text per program whose observable results depended on addresses. */
  differences: string[];
}

const MAPS: MapInfo[] = [
  { type: MapType.Array, keySize: 4, valueSize: 16, maxEntries: 2 },
  { type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 },
];
const MEM_LEN = 64;

function rng(seed: number): { int(n: number): number; pick<T>(a: readonly T[]): T; chance(p: number): boolean } {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
  return { int: (n) => next() % n, pick: (a) => a[next() % a.length]!, chance: (p) => next() / 0x100000000 < p };
}

const ALU = ['add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'mov'];
const JCC = ['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsge', 'jslt', 'jsle', 'jset'];
const SIZES = ['b', 'h', 'w', 'dw'] as const;
const BYTES = { b: 1, h: 2, w: 4, dw: 8 } as const;

/** One random program as assembler lines (forward jumps only: every run ends). */
function generate(r: ReturnType<typeof rng>): string {
  const out: string[] = ['mov %r6, %r1', `mov %r7, %r10\nadd %r7, -${8 * (1 + r.int(8))}`, 'lddw %r8, map_value_by_idx(0)+0', 'mov %r9, 3', 'mov %r0, 1'];
  for (let i = 1; i <= 5; i++) out.push(`mov %r${i}, ${r.pick([0, 1, 8, -1, 0x1000])}`);
  const reg = (): number => (r.chance(0.85) ? r.pick([0, 1, 2, 3, 4, 5, 9]) : r.pick([6, 7, 8, 10]));
  const dreg = (): number => r.int(10);
  const base = (size: number): string => {
    switch (r.int(4)) {
      case 0: return `%r10-${size * (1 + r.int(64 / size))}`;
      case 1: return `%r7${r.pick(['+0', '+8', '-8'])}`;
      case 2: return `%r8+${r.pick([0, 8])}`;
      default: return `%r6+${size * r.int(MEM_LEN / size)}`;
    }
  };
  const n = 4 + r.int(20);
  for (let k = 0; k < n; k++) {
    const left = n - k;
    switch (r.int(14)) {
      case 0:
      case 1: {
        const op = r.pick(ALU) + (r.chance(0.2) ? '32' : '');
        out.push(r.chance(0.5) ? `${op} %r${dreg()}, %r${reg()}` : `${op} %r${dreg()}, ${r.pick([0, 1, 8, -8, 12, 0xfff, 63])}`);
        break;
      }
      case 2:
        out.push(r.chance(0.5) ? `mov %r${dreg()}, %r10` : `mov %r${dreg()}, %r${reg()}`);
        break;
      case 3:
        out.push(r.pick([`neg %r${dreg()}`, `be64 %r${dreg()}`, `le32 %r${dreg()}`, `movsx3264 %r${dreg()}, %r${reg()}`, `movsx832 %r${dreg()}, %r${reg()}`]));
        break;
      case 4:
      case 5: {
        const sz = r.pick(SIZES);
        out.push(`ldx${sz} %r${dreg()}, [${base(BYTES[sz])}]`);
        break;
      }
      case 6:
      case 7: {
        const sz = r.chance(0.6) ? 'dw' : r.pick(SIZES);
        out.push(r.chance(0.3) ? `st${sz} [${base(BYTES[sz])}], ${r.pick([0, 7, -1])}` : `stx${sz} [${base(BYTES[sz])}], %r${reg()}`);
        break;
      }
      case 8: {
        const w = r.chance(0.5) ? '' : '32';
        out.push(`${r.chance(0.3) ? 'mov %r0, %r9\n' : ''}lock ${r.pick(['add', 'fetch add', 'xchg', 'cmpxchg', 'or'])}${w} [${base(w ? 4 : 8)}], %r${dreg()}`);
        break;
      }
      case 9:
      case 10:
        if (left > 2) {
          const j = r.pick(JCC) + (r.chance(0.2) ? '32' : '');
          out.push(r.chance(0.5) ? `${j} %r${reg()}, ${r.pick([0, 0, 1, 8, 0x1000])}, +${1 + r.int(2)}` : `${j} %r${reg()}, %r${reg()}, +${1 + r.int(2)}`);
        }
        break;
      case 11:
        out.push(`stw [%r10-4], ${r.int(3)}\nlddw %r1, map_by_idx(${r.int(2)})\nmov %r2, %r10\nadd %r2, -4\ncall 1\n${r.chance(0.7) ? 'jeq %r0, 0, +1\n' : ''}mov %r${r.pick([6, 7, 8, 9])}, %r0`);
        for (let i = 1; i <= 5; i++) out.push(`mov %r${i}, ${i}`);
        break;
      case 12:
        out.push(`stw [%r10-4], ${r.int(3)}\nstxdw [%r10-16], %r${reg()}\nlddw %r1, map_by_idx(${r.int(2)})\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 0\ncall 2`);
        for (let i = 1; i <= 5; i++) out.push(`mov %r${i}, ${i}`);
        break;
      default:
        out.push('call 8');
        for (let i = 1; i <= 5; i++) out.push(`mov %r${i}, ${r.pick([0, 2, 16])}`);
    }
  }
  if (r.chance(0.5)) out.push(`mov %r0, %r${reg()}`);
  out.push('exit');
  return out.join('\n');
}

/** What one run shows JS. */
function observe(src: Uint8Array, jit: boolean, deep: number): string {
  const a = new ArrayMap({ valueSize: 16, maxEntries: 2 });
  a.set(0, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16));
  const h = new HashMap({ keySize: 4, valueSize: 8, maxEntries: 4 });
  h.set(Uint8Array.of(1, 0, 0, 0), Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1));
  const p = new Program(src, { maps: [a, h], jit, unreachable: 'note' });
  const mem = Uint8Array.from({ length: MEM_LEN }, (_, i) => (i * 37) & 0xff);
  const at = (d: number): RunResult => (d > 0 ? at(d - 1) : p.run(mem, { budget: 100000 }));
  const r = at(deep);
  const hash = [...h.entries()].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`).sort();
  return JSON.stringify({ status: r.status, r0: r.status === 'ok' ? String(r.r0) : '-', insns: r.insns, pc: r.faultPc, mem: Buffer.from(mem).toString('hex'), a: [0, 1].map((i) => Buffer.from(a.get(i)).toString('hex')), hash });
}

/** Generates `count` programs; runs those the verifier accepts twice, at other addresses, and compares. */
export function leakFuzz(count: number, seed: number, reasons?: Map<string, number>): LeakFuzzStats {
  const stats: LeakFuzzStats = { cases: 0, accepted: 0, refused: 0, differences: [] };
  const r = rng(seed);
  for (let i = 0; i < count; i++) {
    stats.cases++;
    const text = generate(r);
    let bytes: Uint8Array;
    try {
      bytes = assemble(text);
      verifyProgram(bytes, { maps: MAPS, unreachable: 'note' });
    } catch (e) {
      if (!(e instanceof ProgramError)) throw e;
      stats.refused++;
      const why = e.message.replace(/^verifier: insn \d+: /, '').replace(/\(.*$/, '');
      reasons?.set(why, (reasons.get(why) ?? 0) + 1);
      continue;
    }
    stats.accepted++;
    const jit = r.chance(0.5);
    const one = observe(bytes, jit, 0);
    const two = observe(bytes, jit, 300);
    if (one !== two) stats.differences.push(`case ${i} (${jit ? 'JIT' : 'interpreter'}): results depend on addresses\n${text}\n${one}\n${two}`);
  }
  return stats;
}
