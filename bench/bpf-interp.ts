/**
 * Interpreter speed: a loop-heavy program (10M iterations of a few ALU ops, a stack
 * store/load and a conditional backward jump), run a few times after a warm-up.
 * Prints one JSON line: {"nsPerInsn":…, "insns":…, "runs":…} (insns per run).
 * Usage: node dist/bench/bpf-interp.js [iterations] [runs]
 */
import { bpf, HelperSet, RunStatus } from '../src/programs/binding.js';
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

const err = new Int32Array(1);
const prog = bpf.bpfProgCreate(code, [], HelperSet.Standard, err);
if (typeof prog === 'number') throw new Error(`bpfProgCreate: ${prog} at pc ${err[0]}`);

const out = new BigUint64Array(4);
const budget = 1e12;
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
console.log(JSON.stringify({ nsPerInsn: Number(best.toFixed(3)), insns: count, runs }));
