/**
 * Interpreter speed: a loop-heavy program (10M iterations of a few ALU ops, a stack
 * store/load and a conditional backward jump), run a few times after a warm-up.
 * Prints one JSON line: {"nsPerInsn":…, "insns":…, "runs":…} (insns per run).
 * Usage: node dist/bench/bpf-interp.js [iterations] [runs]
 */
import { bpf, HelperSet, RunStatus } from '../src/programs/binding.js';

function I(code: number, dst = 0, src = 0, off = 0, imm = 0): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (dst & 0xf) | ((src & 0xf) << 4);
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}

const iterations = Number(process.argv[2] ?? 10_000_000);
const runs = Number(process.argv[3] ?? 5);

const insns = [
  I(0xb7, 0, 0, 0, 0), //          r0 = 0
  I(0xb7, 1, 0, 0, 0), //          r1 = 0
  I(0xb7, 2, 0, 0, iterations), // r2 = iterations
  I(0xb7, 3, 0, 0, 0x9e37), //     r3 = 0x9e37
  // loop (pc 4):
  I(0x07, 1, 0, 0, 1), //          r1 += 1
  I(0x0f, 0, 1), //                r0 += r1
  I(0xaf, 0, 3), //                r0 ^= r3
  I(0x77, 3, 0, 0, 1), //          r3 >>= 1
  I(0x47, 3, 0, 0, 0x9e37), //     r3 |= 0x9e37
  I(0x7b, 10, 0, -8), //           *(u64 *)(r10 - 8) = r0
  I(0x79, 4, 10, -8), //           r4 = *(u64 *)(r10 - 8)
  I(0x2d, 2, 1, -8), //            if r2 > r1 goto loop
  I(0x95), //                      exit
];
const code = new Uint8Array(insns.length * 8);
insns.forEach((b, i) => code.set(b, i * 8));

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
