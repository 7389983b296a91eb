// Fuzzer: random and mutated programs through the verifier, then run compiled and interpreted
// (compared wherever the JIT compiles them). Invariants: no crash, no exception other than
// ProgramError, every run ends with a status, compiled and interpreted runs agree.
//   node dist/tools/fuzz.js --count 1000000 [--seed N]
// JIT differential fuzzer (fuzzJit): generated programs run compiled and interpreted must agree.
//   node dist/tools/fuzz.js --jit --count 200000 [--seed N] [--case I] [--keep-going]
import { pathToFileURL } from 'node:url';
import { assemble, verifyProgram, Program, ProgramError, ISA, engineAvailable, encodeAll, decodeAll, disassemble, type Insn } from '../src/programs/index.js';
import { rng, fuzzJit, jitCase, JIT_KINDS, type JitDifference } from './fuzz-jit.js';

const SEEDS = [
  'mov %r0, 0\nmov %r1, 10\nl:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, l\nexit',
  'stdw [%r10-8], 5\nldxdw %r0, [%r10-8]\nmov %r2, 3\nlock fetch add [%r10-8], %r2\nadd %r0, %r2\nexit',
  'mov %r6, 4\ncall local f\nadd %r0, %r6\nexit\nf:\nmov %r0, %r1\nmul %r0, 3\nexit',
  'ldxw %r0, [%r1+0]\nbe32 %r0\njsgt %r0, 5, +2\nsdiv %r0, 3\nexit\nsmod %r0, 7\nexit',
  'lddw %r0, 0x123456789\nmovsx3264 %r3, %r0\nswap64 %r3\nxor %r0, %r3\ngotol +1\nmov %r0, 0\nexit',
  'mov %r1, 3\ncall 5\nexit',
];

/** Outcome counts. */
export interface FuzzStats {
  cases: number;
  rejected: number;
  ok: number;
  budget: number;
  memfault: number;
  calldepth: number;
  badinsn: number;
  helper: number;
  createRejected: number;
  /** Cases run compiled by the JIT (and compared with the interpreter). */
  jitted: number;
}

/** Runs count cases; throws on a broken invariant (anything but ProgramError, or no status). */
export function fuzz(count: number, seed = 1): FuzzStats {
  const rand = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[rand() % a.length]!;
  const seeds = SEEDS.map((s) => decodeAll(assemble(s)));
  const engine = engineAvailable();
  const stats: FuzzStats = { cases: 0, rejected: 0, ok: 0, budget: 0, memfault: 0, calldepth: 0, badinsn: 0, helper: 0, createRejected: 0, jitted: 0 };
  const mem = new Uint8Array(64);
  const interesting = [0, 1, -1, 2, 4, 8, 16, 32, 63, 64, -8, -512, -513, 0x7fffffff, -0x80000000, 512];
  const randomInsn = (): Insn => {
    const s = pick(ISA);
    return { opcode: s.opcode, dst: rand() % 12, src: s.fixed.src ?? rand() % 12, off: s.fixed.off ?? pick(interesting), imm: s.fixed.imm ?? pick(interesting) };
  };
  for (let i = 0; i < count; i++) {
    let prog: Insn[];
    const mode = rand() % 4;
    if (mode === 0) {
      prog = Array.from({ length: 1 + (rand() % 12) }, randomInsn);
      if (rand() % 2) prog.push({ opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
    } else {
      prog = pick(seeds).map((x) => ({ ...x }));
      const n = 1 + (rand() % 3);
      for (let k = 0; k < n; k++) {
        const j = rand() % prog.length;
        const x = prog[j]!;
        switch (rand() % 8) {
          case 0: x.opcode = rand() & 0xff; break;
          case 1: x.opcode = pick(ISA).opcode; break;
          case 2: x.dst = rand() % 16; break;
          case 3: x.src = rand() % 16; break;
          case 4: x.off = pick(interesting) << 16 >> 16; break;
          case 5: x.imm = pick(interesting) | 0; break;
          case 6: prog = prog.slice(0, Math.max(1, rand() % prog.length)); break;
          case 7: prog.splice(j, 0, randomInsn()); break;
        }
      }
    }
    stats.cases++;
    const bytes = encodeAll(prog);
    const kind = rand() % 2 ? 'conformance' : 'standard';
    try {
      verifyProgram(bytes, { kind, unreachable: rand() % 2 ? 'note' : 'error' });
    } catch (e) {
      if (!(e instanceof ProgramError)) throw new Error(`fuzz case ${i}: verifier threw ${e}\n${Buffer.from(bytes).toString('hex')}`);
      stats.rejected++;
      continue;
    }
    if (!engine) continue;
    let p: Program;
    try {
      p = new Program(bytes, { kind, unreachable: 'note' });
    } catch (e) {
      if (!(e instanceof ProgramError)) throw new Error(`fuzz case ${i}: create threw ${e}`);
      stats.createRejected++;
      if (process.env.FUZZ_DEBUG) console.log(e.message, Buffer.from(bytes).toString('hex'));
      continue;
    }
    mem.fill(i & 0xff);
    // compiled and interpreted from the same start must agree on everything (native/bpf/jit.c),
    // unless the program reads the clock or the random generator (standard helpers 5 and 7)
    const chance = kind === 'standard' && prog.some((x) => x.opcode === 0x85 && x.src === 0 && (x.imm === 5 || x.imm === 7));
    const runMem = rand() % 4 ? mem : null;
    const { result: r, difference } = chance ? { result: p.run(runMem, { budget: 10000 }), difference: undefined } : p.compareRuns(runMem, { budget: 10000 });
    if (difference !== undefined) throw new Error(`fuzz case ${i}: JIT and interpreter differ (${difference})\n${p.disassemble()}`);
    if (p.jitBytes > 0) stats.jitted++;
    if (!(r.status in stats)) throw new Error(`fuzz case ${i}: run ended without a status`);
    stats[r.status]++;
  }
  return stats;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string, dflt: number): number => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const flag = (name: string): boolean => process.argv.includes(name);
  const count = arg('--count', 100000);
  const seed = arg('--seed', Date.now() & 0x7fffffff);
  const t0 = Date.now();
  const took = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  if (flag('--jit')) {
    // node dist/tools/fuzz.js --jit [--count N] [--seed S] [--case I] [--keep-going]
    const one = arg('--case', -1);
    if (one >= 0) {
      const c = jitCase(seed, one);
      console.log(`case ${one} of seed ${seed}: ${c.mode}, ${c.helpers} helpers, budget ${c.budget}, mem ${c.mem ? Buffer.from(c.mem).toString('hex') : 'null'}\n${disassemble(c.bytes, { pcs: true })}`);
    }
    const found = new Set<string>();
    const s = fuzzJit(one >= 0 ? 1 : count, seed, {
      ...(one >= 0 ? { first: one, traceEvery: 1 } : {}),
      ...(flag('--keep-going')
        ? {
            onDifference: (d: JitDifference): void => {
              const key = d.difference.replace(/-?\d+/g, 'N'); // one report per kind of difference
              if (!found.has(key) || one >= 0) console.log(`${d.message}\n`);
              found.add(key);
            },
          }
        : {}),
    });
    console.log(`fuzz --jit: ${s.cases} cases (seed ${seed}) in ${took()}: ${s.compiled} compiled, ${s.interpreted} interpreted, ${s.rejected} rejected, ${s.runs} runs compared, ${s.differences} differences`);
    console.log(`  modes    ${JSON.stringify(s.modes)}\n  outcomes ${JSON.stringify(s.outcomes)}\n  helpers  ${JSON.stringify(s.helpers)}`);
    const never = JIT_KINDS.filter((k) => !s.kinds[k]);
    const notRun = JIT_KINDS.filter((k) => !s.ran[k]);
    console.log(`  kinds    ${JIT_KINDS.length - never.length}/${JIT_KINDS.length} in compiled programs${never.length ? ` (missing ${never.join(' ')})` : ''}, ${JIT_KINDS.length - notRun.length} seen running${notRun.length ? ` (not ${notRun.join(' ')})` : ''}`);
    for (const m of s.rejects.slice(0, 3)) console.log(`  rejected: ${m}`);
  } else {
    const s = fuzz(count, seed);
    console.log(`fuzz: ${s.cases} cases (seed ${seed}) in ${took()}${engineAvailable() ? '' : ' (verifier only: native engine not built)'}`);
    for (const [k, v] of Object.entries(s)) if (k !== 'cases') console.log(`  ${k.padEnd(15)} ${v}`);
  }
}
