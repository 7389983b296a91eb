/**
 * Program engine speed: a loop-heavy program (10M iterations of a few ALU ops, a stack
 * store/load and a conditional backward jump), run a few times after a warm-up, interpreted and
 * compiled by the JIT (native/bpf/jit.c), in the same process.
 * Prints one JSON line: {"nsPerInsn":…, "jitNsPerInsn":…, "insns":…, "runs":…} (insns per run;
 * jitNsPerInsn is null on hosts without the JIT).
 * Usage: node dist/bench/bpf-interp.js [iterations] [runs]
 */
import { bpf, HelperSet, RunStatus, PROG_NO_JIT, type ProgHandle } from '../src/programs/binding.js';
import { assemble } from '../src/programs/asm.js';

const iterations = Number(process.argv[2] ?? 10_000_000);
const runs = Number(process.argv[3] ?? 5);

// 8 instructions per iteration; the native API is called directly (no verifier, no JS wrapper)
const code = assemble(`
  mov %r0, 0
  mov %r1, 0
  mov %r2, ${iterations}
  mov %r3, 0x9e37
loop:
  add %r1, 1
  add %r0, %r1
  xor %r0, %r3
  rsh %r3, 1
  or %r3, 0x9e37
  stxdw [%r10-8], %r0
  ldxdw %r4, [%r10-8]
  jgt %r2, %r1, loop
  exit
`);

const create = (flags: number): { prog: ProgHandle; jitBytes: number } => {
  const out = new Int32Array(2);
  const prog = bpf.bpfProgCreate(code, [], HelperSet.Standard | flags, out);
  if (typeof prog === 'number') throw new Error(`bpfProgCreate: ${prog} at pc ${out[0]}`);
  return { prog, jitBytes: out[1]! };
};

const out = new BigUint64Array(4);
const budget = 1e12;
/** Best ns per instruction over `runs` runs after a warm-up run. */
const measure = (prog: ProgHandle): { best: number; count: number } => {
  const once = (): { ns: number; insns: number } => {
    const t0 = process.hrtime.bigint();
    const st = bpf.bpfProgRun(prog, null, budget, out);
    const ns = Number(process.hrtime.bigint() - t0);
    if (st !== RunStatus.Ok) throw new Error(`bpfProgRun status ${st}`);
    return { ns, insns: Number(out[1]) };
  };
  once(); // warm-up
  let best = Infinity;
  let count = 0;
  for (let i = 0; i < runs; i++) {
    const r = once();
    count = r.insns;
    best = Math.min(best, r.ns / r.insns);
  }
  return { best, count };
};

const interp = measure(create(PROG_NO_JIT).prog);
const compiled = create(0);
const jit = compiled.jitBytes > 0 ? measure(compiled.prog) : undefined;
if (jit && jit.count !== interp.count) throw new Error(`the JIT counted ${jit.count} instructions, the interpreter ${interp.count}`);
console.log(JSON.stringify({ nsPerInsn: Number(interp.best.toFixed(3)), jitNsPerInsn: jit ? Number(jit.best.toFixed(3)) : null, insns: interp.count, runs }));
