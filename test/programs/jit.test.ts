// The JIT (native/bpf/jit.c) against the interpreter, instruction by instruction: a generated
// differential run (tools/fuzz-jit.ts fuzzJit) that must reach every kind the JIT compiles, and
// directed edge cases, each compiled, compared with the interpreter and checked for its result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayMap, Program, assemble, engineAvailable, type ProgramKind, type RunResult, type RunStatusName } from '../../src/programs/index.js';
import { fuzzJit, rawProgram, JIT_KINDS } from '../../tools/fuzz-jit.js';

const skip = !engineAvailable() ? 'native eBPF engine not built' : process.arch !== 'x64' ? `no JIT for ${process.arch}: programs are interpreted` : false;

interface Opts {
  kind?: ProgramKind;
  mem?: Uint8Array | null;
  budget?: number;
  maps?: ArrayMap[];
}

/** Compiles text, runs it compiled and interpreted; they must agree. Returns the compiled run. */
function agree(text: string, o: Opts = {}): RunResult {
  const p = Program.fromAssembly(text, { kind: o.kind ?? 'standard', maps: o.maps ?? [] });
  assert.ok(p.jitBytes > 0, `not compiled:\n${text}`);
  const { result, difference } = p.compareRuns(o.mem ?? null, { budget: o.budget ?? 100000 });
  assert.equal(difference, undefined, `JIT and interpreter differ:\n${text}`);
  return result;
}
/** r0 of a run that must end with status ok. */
function r0(text: string, o: Opts = {}): bigint {
  const r = agree(text, o);
  assert.equal(r.status, 'ok', `${text}\n${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  return r.r0;
}
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const hex = (v: bigint): string => `0x${u64(v).toString(16)}`;

test('JIT differential fuzz: 5,000 generated programs, every compiled instruction kind runs, compiled and interpreted agree', { skip }, () => {
  const s = fuzzJit(5000, 20261122); // throws with the program on the first difference
  assert.equal(s.cases, 5000);
  assert.equal(s.rejected, 0, `the generator made programs a verifier refuses:\n${s.rejects.join('\n')}`);
  assert.equal(s.compiled, 5000);
  assert.ok(s.modes.standard > 1000 && s.modes.conformance > 1000 && s.modes.raw > 1000, JSON.stringify(s.modes));
  assert.deepEqual(JIT_KINDS.filter((k) => !s.kinds[k]), [], 'kinds in no compiled program');
  assert.deepEqual(JIT_KINDS.filter((k) => !s.ran[k]), [], 'kinds never executed (traced cases)');
  for (const o of ['ok', 'budget', 'memfault', 'helper'] as const) assert.ok(s.outcomes[o] > 0, `no run ended with ${o}`);
  for (const h of ['standard:1', 'standard:2', 'standard:3', 'standard:8', ...[0, 1, 2, 3, 4, 5].map((i) => `conformance:${i}`)]) assert.ok(s.helpers[h], `helper ${h} never called`);
  assert.ok(s.runs > 10 * s.compiled, `budget sweeps: ${s.runs} runs`);
  assert.ok(s.chargedStops > 1000, `budget stops at helper calls (their charges): ${s.chargedStops}`);
});

test('JIT: division and modulo by 0 and -1, INT_MIN / -1, 32-bit forms ignore the upper half', { skip }, () => {
  const cases: [string, bigint][] = [
    ['lddw %r0, 0x8000000000000000\nsdiv %r0, -1', 0x8000000000000000n],
    ['lddw %r0, 0x8000000000000000\nsmod %r0, -1', 0n],
    ['lddw %r0, 0x8000000000000000\nmov %r3, -1\nsdiv %r0, %r3', 0x8000000000000000n],
    ['mov32 %r0, -0x80000000\nsdiv32 %r0, -1', 0x80000000n],
    ['lddw %r0, 0xffffffff80000000\nsmod32 %r0, -1', 0n],
    ['mov %r0, 7\ndiv %r0, 0', 0n],
    ['mov %r0, 7\nmod %r0, 0', 7n],
    ['mov %r0, 7\nmov %r5, 0\nsdiv %r0, %r5', 0n],
    ['mov %r0, 7\nmov %r5, 0\nsmod %r0, %r5', 7n],
    ['lddw %r0, 0xffffffff00000007\nmod32 %r0, 0', 7n],
    ['lddw %r1, 0x100000000\nmov %r0, 7\ndiv32 %r0, %r1', 0n], // the divisor's low half is 0
    ['lddw %r1, 0x100000000\nlddw %r0, 0xffffffff00000007\nmod32 %r0, %r1', 7n],
    ['mov %r0, -7\nsdiv %r0, 2', u64(-3n)],
    ['mov %r0, -7\nsmod %r0, 2', u64(-1n)],
    ['mov %r0, -7\nmov %r3, -2\nsmod32 %r0, %r3', 0xffffffffn],
    ['mov %r0, -1\ndiv %r0, -1', 1n],
    ['mov %r0, -1\ndiv32 %r0, -1', 1n],
    ['lddw %r0, 0x1234567800000010\nsdiv32 %r0, -2', 0xfffffff8n],
    ['mov %r9, 100\nmov %r0, 7\ndiv %r9, %r0\nmov %r0, %r9', 14n], // callee-saved dst, spilled source
    ['mov %r3, 100\nmov %r4, 7\nmod %r3, %r4\nmov %r0, %r3\nadd %r0, %r4', 9n],
  ];
  for (const [text, want] of cases) assert.equal(hex(r0(`${text}\nexit`)), hex(want), text);
});

test('JIT: shift counts 0, 31, 32, 63, 64 and beyond, counts in r4 (rcx)', { skip }, () => {
  const cases: [string, bigint][] = [
    ['lddw %r0, 0xffffffff80000001\nlsh32 %r0, 0', 0x80000001n], // a 0 count still clears the upper half
    ['lddw %r0, 0xffffffff80000001\nrsh32 %r0, 32', 0x80000001n], // counts are masked (& 31)
    ['lddw %r0, 0xffffffff80000001\nlsh32 %r0, 33', 2n],
    ['lddw %r0, 0xffffffff80000001\nmov %r2, 32\narsh32 %r0, %r2', 0x80000001n],
    ['lddw %r0, 0x8000000000000001\nmov %r4, 65\nrsh %r0, %r4', 0x4000000000000000n],
    ['lddw %r0, 0x8000000000000000\narsh %r0, 63', u64(-1n)],
    ['mov %r0, 5\nlsh %r0, 64', 5n],
    ['lddw %r4, 0xffffffff80000000\nmov %r0, 31\narsh32 %r4, %r0\nmov %r0, %r4', 0xffffffffn],
    ['mov %r4, 3\nlsh %r4, %r4\nmov %r0, %r4', 24n],
    ['mov %r3, 1\nmov %r4, 69\nlsh %r3, %r4\nmov %r0, %r3\nadd %r0, %r4', 32n + 69n], // r4 survives as the count
    ['mov %r0, -1\nmov %r9, 63\nrsh %r0, %r9', 1n],
  ];
  for (const [text, want] of cases) assert.equal(hex(r0(`${text}\nexit`)), hex(want), text);
});

test('JIT: sign-extending moves, byte swaps, neg, mul and 32-bit results zero-extended', { skip }, () => {
  const v = 'lddw %r0, 0x0123456789abcdef\n';
  const cases: [string, bigint][] = [
    ['mov %r1, 0x80\nmovsx832 %r0, %r1', 0xffffff80n],
    ['mov %r1, 0x80\nmovsx864 %r0, %r1', 0xffffffffffffff80n],
    ['mov %r2, 0x8000\nmovsx1632 %r0, %r2', 0xffff8000n],
    ['mov %r2, 0x8000\nmovsx1664 %r0, %r2', 0xffffffffffff8000n],
    ['mov32 %r2, -0x80000000\nmovsx3264 %r0, %r2', 0xffffffff80000000n],
    ['lddw %r2, 0xffffffffffffff7f\nmovsx832 %r0, %r2', 0x7fn],
    ['mov %r6, 0x1ff\nmovsx832 %r0, %r6', 0xffffffffn],
    ['mov %r1, 0x17f\nmovsx832 %r1, %r1\nmov %r0, %r1', 0x7fn], // sil: a byte register that needs a REX prefix
    [`${v}be16 %r0`, 0xefcdn],
    [`${v}be32 %r0`, 0xefcdab89n],
    [`${v}be64 %r0`, 0xefcdab8967452301n],
    [`${v}le16 %r0`, 0xcdefn],
    [`${v}le32 %r0`, 0x89abcdefn],
    [`${v}le64 %r0`, 0x0123456789abcdefn],
    [`${v}swap16 %r0`, 0xefcdn],
    [`${v}swap32 %r0`, 0xefcdab89n],
    [`${v}swap64 %r0`, 0xefcdab8967452301n],
    ['mov32 %r0, -0x80000000\nneg32 %r0', 0x80000000n],
    ['lddw %r0, 0x100000001\nneg32 %r0', 0xffffffffn],
    ['lddw %r0, 0x8000000000000000\nneg %r0', 0x8000000000000000n],
    ['lddw %r0, 0x1ffffffff\nmul32 %r0, 2', 0xfffffffen],
    ['mov %r0, 3\nmul %r0, -1', u64(-3n)],
    ['lddw %r0, 0x100000001\nlddw %r1, 0x100000001\nmul %r0, %r1', 0x200000001n],
    ['mov %r0, -1\nmov32 %r0, %r0', 0xffffffffn],
    ['mov32 %r0, -1', 0xffffffffn],
    ['lddw %r0, 0xffffffff00000001\nadd32 %r0, -1', 0n],
    ['mov %r0, -1\nand32 %r0, -1', 0xffffffffn],
    ['mov %r0, -1\nor32 %r0, 0', 0xffffffffn],
    ['mov %r0, -1\nmov %r3, 0\nxor32 %r0, %r3', 0xffffffffn],
    ['mov %r0, -1\nmov %r3, 1\nsub32 %r0, %r3', 0xfffffffen],
    ['mov %r0, 0\nsub %r0, -0x80000000', 0x80000000n], // the immediate sign-extends
  ];
  for (const [text, want] of cases) assert.equal(hex(r0(`${text}\nexit`)), hex(want), text);
});

test('JIT: every conditional jump, 64 and 32 bits, immediate and register, taken and not', { skip }, () => {
  const I64_MIN = -(1n << 63n);
  const values = [0n, 1n, -1n, 5n, 0x7fffffffn, -0x80000000n, 0xffffffffn, 0x100000000n, I64_MIN, -I64_MIN - 1n];
  const taken = (op: string, a: bigint, b: bigint, w: 32 | 64): boolean => {
    const [ua, ub, sa, sb] = [BigInt.asUintN(w, a), BigInt.asUintN(w, b), BigInt.asIntN(w, a), BigInt.asIntN(w, b)];
    const t: Record<string, boolean> = { jeq: ua === ub, jne: ua !== ub, jgt: ua > ub, jge: ua >= ub, jlt: ua < ub, jle: ua <= ub, jset: (ua & ub) !== 0n, jsgt: sa > sb, jsge: sa >= sb, jslt: sa < sb, jsle: sa <= sb };
    return t[op]!;
  };
  let n = 0;
  const seen = new Set<string>();
  for (const op of ['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jset', 'jsgt', 'jsge', 'jslt', 'jsle'])
    for (const w of [64, 32] as const)
      for (const a of values)
        for (const b of values) {
          const m = w === 32 ? `${op}32` : op;
          const tail = '+2\nmov %r0, 0\nexit\nmov %r0, 1\nexit';
          const want = taken(op, a, b, w) ? 1n : 0n;
          seen.add(`${m}:${want}`);
          assert.equal(r0(`lddw %r1, ${hex(a)}\nlddw %r2, ${hex(b)}\n${m} %r1, %r2, ${tail}`), want, `${m} ${hex(a)}, ${hex(b)}`);
          if (b >= -0x80000000n && b <= 0x7fffffffn) assert.equal(r0(`lddw %r1, ${hex(a)}\n${m} %r1, ${b}, ${tail}`), want, `${m} ${hex(a)}, ${b}`);
          n++;
        }
  assert.equal(seen.size, 44, 'every jump taken and not taken');
  assert.equal(n, 22 * values.length ** 2);
});

test('JIT: loads and stores at the frame edges and just outside it (checked at run time through a copy of r10)', { skip }, () => {
  assert.equal(hex(r0('stdw [%r10-512], -2\nldxdw %r0, [%r10-512]\nexit')), hex(u64(-2n)));
  assert.equal(hex(r0('stb [%r10-1], -1\nldxsb %r0, [%r10-1]\nexit')), hex(u64(-1n)));
  assert.equal(r0('stb [%r10-1], -1\nldxb %r0, [%r10-1]\nexit'), 0xffn);
  assert.equal(hex(r0('sth [%r10-2], 0x8000\nldxsh %r0, [%r10-2]\nexit')), hex(u64(-0x8000n)));
  assert.equal(hex(r0('stw [%r10-4], -0x80000000\nldxsw %r0, [%r10-4]\nexit')), hex(u64(-0x80000000n)));
  assert.equal(r0('stw [%r10-4], -0x80000000\nldxw %r0, [%r10-4]\nexit'), 0x80000000n);
  assert.equal(r0('stw [%r10-8], -1\nldxdw %r0, [%r10-8]\nexit'), 0xffffffffn, 'stw writes 4 bytes');
  assert.equal(hex(r0('stdw [%r10-8], -1\nldxdw %r0, [%r10-8]\nexit')), hex(u64(-1n)), 'stdw sign-extends its immediate');
  assert.equal(r0('sth [%r10-2], 0x1234\nldxb %r0, [%r10-2]\nexit'), 0x34n);
  assert.equal(r0('mov %r2, 0x1234\nstxb [%r10-1], %r2\nldxb %r0, [%r10-1]\nexit'), 0x34n, 'stxb from r2 (rsi: dil/sil need a REX prefix)');
  assert.equal(r0('mov %r1, 0x5678\nstxh [%r10-2], %r1\nldxh %r0, [%r10-2]\nexit'), 0x5678n);
  // r7 = r10 + r6 - r6, r6 a byte of the zeroed frame: a variable offset to the verifier (which
  // refuses bitwise ops on addresses), so the access is checked at run time
  const hidden = 'mov %r7, %r10\nldxb %r6, [%r10-1]\nadd %r7, %r6\nsub %r7, %r6';
  const at = (off: number, size = 'b'): RunResult => agree(`${hidden}\nldx${size} %r0, [%r7${off < 0 ? off : `+${off}`}]\nexit`);
  assert.equal(at(-512).status, 'ok');
  assert.equal(at(-8, 'dw').status, 'ok');
  for (const [off, size] of [[-513, 'b'], [0, 'b'], [-4, 'dw'], [-1, 'h'], [-516, 'w']] as const) {
    const r = at(off, size);
    assert.deepEqual([r.status, r.faultPc, r.insns], ['memfault', 4, 5], `ldx${size} [r10${off}]`);
  }
  const store = agree(`${hidden}\nadd %r7, -520\nmov %r0, 1\nstxdw [%r7+4], %r0\nexit`);
  assert.deepEqual([store.status, store.faultPc], ['memfault', 6], 'a store straddling the frame bottom');
});

test('JIT: the run memory at its edges, just outside, and absent (r1 = 0)', { skip }, () => {
  const mem = () => Uint8Array.from({ length: 13 }, (_, i) => i + 1);
  assert.equal(r0('ldxdw %r0, [%r1+5]\nexit', { mem: mem() }), 0x0d0c0b0a09080706n, 'the last 8 bytes');
  assert.equal(r0('ldxb %r0, [%r1+12]\nexit', { mem: mem() }), 13n);
  for (const t of ['ldxdw %r0, [%r1+6]', 'ldxb %r0, [%r1+13]', 'ldxb %r0, [%r1-1]', 'stw [%r1+10], 1', 'ldxsh %r0, [%r1+12]']) {
    const r = agree(`mov %r0, 0\n${t}\nexit`, { mem: mem() });
    assert.deepEqual([r.status, r.faultPc], ['memfault', 1], t);
  }
  const m = mem();
  assert.equal(agree('lddw %r3, 0xa1b2c3d4e5f60718\nstxw [%r1+9], %r3\nmov %r0, 0\nexit', { mem: m }).status, 'ok');
  assert.deepEqual([...m.subarray(8)], [9, 0x18, 0x07, 0xf6, 0xe5], 'the 4 bytes at the end');
  const none = agree('mov %r0, 3\nldxb %r0, [%r1+7]\nexit');
  assert.deepEqual([none.status, none.faultPc, none.faultAddress, none.r0], ['memfault', 1, 7n, 3n]);
  // pointers into the memory kept in a callee-saved register, across a helper call
  assert.equal(r0('mov %r6, %r1\nadd %r6, 4\ncall 8\nldxw %r0, [%r6+0]\nexit', { mem: mem() }), 0x08070605n);
});

test('JIT: atomics: 32-bit results zero-extended, cmpxchg both ways, misaligned addresses fault', { skip }, () => {
  assert.equal(hex(r0('stw [%r10-8], -1\nmov %r1, 1\nlock fetch add32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r1, 32\nor %r0, %r1\nexit')), hex(0xffffffff00000000n));
  assert.equal(hex(r0('stw [%r10-8], 5\nlddw %r0, 0xffffffff00000005\nmov %r1, 9\nlock cmpxchg32 [%r10-8], %r1\nldxw %r2, [%r10-8]\nlsh %r2, 32\nor %r0, %r2\nexit')), hex(0x900000005n), 'success: r0 = old, zero-extended');
  assert.equal(hex(r0('stdw [%r10-8], 7\nmov %r0, 5\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r2, 8\nor %r0, %r2\nexit')), hex(0x707n), 'failure: r0 = memory, memory kept');
  assert.equal(hex(r0('stw [%r10-8], 3\nmov %r1, -1\nlock xchg32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit')), hex(0x100000002n));
  assert.equal(r0('stdw [%r10-8], -1\nlddw %r1, 0x00ff00ff00ff00ff\nlock and [%r10-8], %r1\nmov %r2, 0x100\nlock or [%r10-8], %r2\nlock xor [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit'), 0x100n);
  assert.equal(r0('mov %r1, 2\nlock add32 [%r10-12], %r1\nlock fetch add32 [%r10-12], %r1\nmov %r0, %r1\nexit'), 2n, '4-aligned in the frame');
  const inFrame = agree('mov %r0, 1\nmov %r1, 1\nlock add [%r10-12], %r1\nexit');
  assert.deepEqual([inFrame.status, inFrame.faultPc, inFrame.r0], ['memfault', 2, 1n]);
  const viaPointer = agree('mov %r7, %r10\nldxb %r6, [%r10-1]\nadd %r7, %r6\nsub %r7, %r6\nmov %r0, 1\nlock xchg [%r7-12], %r0\nexit');
  assert.deepEqual([viaPointer.status, viaPointer.faultPc], ['memfault', 5]);
  // map values are page-aligned: misalignment is known
  const a = new ArrayMap({ valueSize: 16, maxEntries: 1 });
  const onMap = (t: string): RunResult => agree(`lddw %r6, map_value_by_idx(0)+0\nmov %r1, 3\n${t}\nldxdw %r0, [%r6+8]\nexit`, { maps: [a] });
  assert.equal(onMap('stdw [%r6+8], 4\nlock fetch add [%r6+8], %r1').r0, 7n);
  assert.deepEqual([onMap('lock add32 [%r6+6], %r1').status, onMap('lock add32 [%r6+6], %r1').faultPc], ['memfault', 3]);
  assert.deepEqual([onMap('lock add [%r6+12], %r1').status, onMap('lock add [%r6+12], %r1').faultPc], ['memfault', 3], 'aligned, but past the end');
});

test('JIT: helper calls: pointers kept across them, unwind, a helper that faults stops the run at the call', { skip }, () => {
  assert.equal(r0('mov %r6, %r10\nadd %r6, -16\nstdw [%r6+0], 41\ncall 8\nldxdw %r1, [%r6+0]\nadd %r0, %r1\nexit'), 41n);
  const a = new ArrayMap({ valueSize: 16, maxEntries: 1 });
  assert.equal(r0('lddw %r7, map_value_by_idx(0)+0\nstdw [%r7+8], 5\ncall 8\nldxdw %r0, [%r7+8]\nexit', { maps: [a] }), 5n);
  const unwound = agree('mov %r1, 0\ncall 5\nmov %r0, 7\nexit', { kind: 'conformance' });
  assert.deepEqual([unwound.status, unwound.r0, unwound.insns], ['ok', 0n, 2]);
  assert.equal(r0('mov %r1, 3\ncall 5\nadd %r0, 7\nexit', { kind: 'conformance' }), 10n);
  // map lookup with the key pointer in the run memory, which is absent: the helper faults
  const fault = agree('mov %r6, %r1\nlddw %r1, map_by_idx(0)\nmov %r2, %r6\ncall 1\nmov %r0, 0\nexit', { maps: [a] });
  assert.deepEqual([fault.status, fault.faultPc, fault.faultAddress], ['memfault', 4, 0n]);
  // past the TS verifier: conformance helpers (gather_bytes), r1-r5 read after the call keep their values
  const raw = rawProgram(assemble('mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\ncall 0\nadd %r0, %r1\nadd %r0, %r5\nexit'), 'conformance');
  assert.ok(raw.jitBytes > 0);
  const { result, difference } = raw.compare(null, 1000);
  assert.equal(difference, undefined);
  assert.equal(result.r0, 0x0102030405n + 6n);
});

test('JIT: budgets stop a loop at every instruction, counted like the interpreter', { skip }, () => {
  const loop = 'mov %r0, 0\nadd %r0, 1\njlt %r0, 1000, -2\nexit'; // 2002 instructions
  const want: [number, RunStatusName, number | undefined][] = [[1, 'budget', 1], [2, 'budget', 2], [3, 'budget', 1], [2000, 'budget', 2], [2001, 'budget', 3], [2002, 'ok', undefined], [Number.MAX_SAFE_INTEGER, 'ok', undefined]];
  for (const [budget, status, pc] of want) {
    const r = agree(loop, { budget });
    assert.deepEqual([r.status, r.faultPc, r.insns], [status, pc, Math.min(budget, 2002)], `budget ${budget}`);
  }
  const counted = 'mov %r9, 10\nmov %r0, 0\nl:\nstxdw [%r10-8], %r9\nldxdw %r1, [%r10-8]\nadd %r0, %r1\nsub %r9, 1\njne %r9, 0, l\nexit';
  assert.equal(r0(counted), 55n);
  for (let budget = 1; budget < 53; budget++) assert.equal(agree(counted, { budget }).status, 'budget'); // 53 instructions
});
