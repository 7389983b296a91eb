// Seed inputs for the native VM fuzz target (native/fuzz/vm.c; its header comment gives the
// format): programs of the JIT differential fuzzer (tools/fuzz-jit.ts jitCase, which uses the
// same maps), and a few that call the fuzz embedder's helpers (helper set 2).
//   node dist/tools/fuzz-native-seeds.js [--count N] [--out DIR]   (default 96, native/fuzz/seeds/vm)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../src/programs/index.js';
import { jitCase } from './fuzz-jit.js';

/** One fuzz input: header, region 1, region 2, instructions. */
export function vmInput(o: { set: number; budget: number; r1: Uint8Array; r2: Uint8Array; code: Uint8Array; readOnly2?: boolean; noMaps?: boolean; chargeScale?: number; seed?: number }): Uint8Array {
  if (o.r1.length > 255 || o.r2.length > 255) throw new RangeError('regions are at most 255 bytes');
  const b = Math.max(1, Math.min(65536, o.budget)) - 1;
  const scale = o.chargeScale ?? 1;
  const hdr = [o.set | (o.readOnly2 ? 4 : 0) | (o.noMaps ? 8 : 0), b & 0xff, b >> 8, o.r1.length, o.r2.length, scale & 0xff, scale >> 8, o.seed ?? 0];
  return Uint8Array.from([...hdr, ...o.r1, ...o.r2, ...o.code]);
}

const EMBEDDER = [
  // write a pattern into region 1 (167: odd ids write), read region 2 back (164), charged by r1
  'mov %r6, %r1\nmov %r7, %r2\nmov %r8, %r3\nmov %r1, 50\nmov %r2, %r6\nmov %r3, %r7\nmov %r4, 3\ncall 167\nmov %r1, 7\nmov %r2, %r8\nmov %r3, 16\ncall 164\nexit',
  // a charge larger than the budget: stops with budget at the call, the write not done
  'mov %r6, %r1\nmov %r1, 60000\nmov %r2, %r6\nmov %r3, 8\ncall 165\nmov %r0, 1\nexit',
  // a pointer outside every region: a memory fault reported by the embedder
  'mov %r1, 1\nmov %r2, %r10\nadd %r2, 8\nmov %r3, 8\ncall 148\nexit',
  // the embedder stops the run itself (id 1000, r5 = 7)
  'mov %r6, %r1\nmov %r1, 1\nmov %r2, %r6\nmov %r3, 4\nmov %r5, 7\ncall 1000\nexit',
  // a loop of charged calls until the budget ends it
  'mov %r6, %r1\nloop:\nmov %r1, 3\nmov %r2, %r6\nmov %r3, 4\ncall 166\nja loop',
];

/** Standard-set programs over the helpers fuzzJit does not call: trace_printk (fmt in region 1), ring buffer (map 6), prandom. */
const STANDARD: { text: string; r1: string }[] = [
  { text: 'mov %r6, %r1\nmov %r2, %r2\nmov %r3, -5\nmov %r4, %r6\nadd %r4, 12\nlddw %r5, 0x123456789\ncall 6\nexit', r1: '%d %s %p\n\0\0xyz\0' },
  { text: 'mov %r2, %r2\nlddw %r3, -5\nlddw %r4, 0xffffffffffffffff\nmov %r5, 255\ncall 6\nexit', r1: '%lld %llu %llx\n\0' },
  { text: 'mov %r2, %r2\nmov %r3, 7\nmov %r4, 8\ncall 6\nexit', r1: '%i%%%x %lu %q\0' },
  { text: 'mov %r2, %r2\nmov %r3, 0\ncall 6\nexit', r1: 'bad %s\n\0' },
  { text: 'mov %r6, %r1\nlddw %r1, map_by_idx(6)\nmov %r2, %r6\nmov %r3, 8\nmov %r4, 0\ncall 130\nlddw %r1, map_by_idx(6)\nmov %r2, 0\ncall 134\nexit', r1: 'ringdata' },
  { text: 'lddw %r1, map_by_idx(6)\nmov %r2, 16\nmov %r3, 0\ncall 131\njeq %r0, 0, out\nstdw [%r0+8], 7\nmov %r1, %r0\nmov %r2, 0\ncall 132\nlddw %r1, map_by_idx(6)\nmov %r2, 3\ncall 134\nout:\nexit', r1: '' },
  { text: 'lddw %r1, map_by_idx(6)\nmov %r2, 4000\nmov %r3, 0\ncall 131\njeq %r0, 0, out\nmov %r1, %r0\nmov %r2, 0\ncall 133\nout:\nexit', r1: '' },
  { text: 'mov %r6, 0\nloop:\ncall 7\nadd %r6, 1\njlt %r6, 10, loop\ncall 8\nexit', r1: '' },
];

function main(): void {
  const args = process.argv.slice(2);
  const opt = (k: string): string | undefined => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
  const count = Number(opt('--count') ?? 96);
  const out = opt('--out') ?? 'native/fuzz/seeds/vm';
  mkdirSync(out, { recursive: true });
  const r2 = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 0x80) & 0xff);
  for (let i = 0; i < count; i++) {
    const c = jitCase(7, i);
    const input = vmInput({ set: c.helpers === 'conformance' ? 1 : 0, budget: c.budget, r1: c.mem ?? new Uint8Array(0), r2, code: c.bytes, seed: i & 0xff });
    writeFileSync(join(out, `jit-${String(i).padStart(3, '0')}`), input);
  }
  STANDARD.forEach(({ text, r1 }, i) => {
    const bytes = Buffer.from(r1.replace(/\\0/g, '\0'));
    writeFileSync(join(out, `standard-${i}`), vmInput({ set: 0, budget: 3000, r1: bytes, r2, code: assemble(text) }));
  });
  EMBEDDER.forEach((text, i) => {
    const input = vmInput({ set: 2, budget: 2000, r1: new Uint8Array(32).fill(1), r2, code: assemble(text), readOnly2: i % 2 === 1 });
    writeFileSync(join(out, `embedder-${i}`), input);
  });
  console.log(`wrote ${count + STANDARD.length + EMBEDDER.length} seeds to ${out}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) main();
