// Helper charge calibration and worst-case run time (native/bpf/helpers.c, RF_BPF_CHARGE_BYTES):
// programs that loop on one helper (or on loads that miss the cache) until the budget stops
// them, timed compiled and interpreted. What they show: ns per instruction of budget (helper
// charges included), the helper's cost per call and what it is charged per call.
//   node dist/tools/charge-bench.js [--budget N] [--only NAME]
import { assemble, ArrayMap, HashMap, RingBufMap, RunStatus, HelperSet, type BpfMap } from '../src/programs/index.js';
import { bpf, PROG_NO_JIT, type ProgHandle } from '../src/programs/binding.js';

/** One scenario: a loop whose iteration makes one helper call (r7 counts iterations into mem[0]). */
export interface ChargeScenario {
  name: string;
  /** What the call does (for the report). */
  what: string;
  /** Instructions per iteration without the helper's charge. */
  loop: number;
  /** Assembler text: the setup, then `loop:`, the body; r8 = mem, r7 = iterations. */
  text: string;
  maps: () => BpfMap[];
  set?: number;
  /** Run memory (at least 8 bytes: the counter). */
  memBytes?: number;
  /** Fills the run memory before the run. */
  fill?: (mem: Uint8Array) => void;
}

const MiB = 1024 * 1024;
/** The loop's tail: count the iteration, store it, jump back. */
const TAIL = 'add %r7, 1\nstxdw [%r8], %r7\nja loop';
const HEAD = 'mov %r8, %r1\nmov %r7, 0\n';

const arrays = (size: number, n = 2) => (): BpfMap[] => Array.from({ length: n }, () => new ArrayMap({ valueSize: size, maxEntries: 1 }));

function update(size: number): ChargeScenario {
  return {
    name: `array-update-${size}`,
    what: `bpf_map_update_elem, array value of ${size} bytes copied from another map's value`,
    loop: 9,
    maps: arrays(size),
    text: `${HEAD}stw [%r10-4], 0\nlddw %r6, map_value_by_idx(1)\nloop:\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r6\nmov %r4, 0\ncall 2\n${TAIL}`,
  };
}

/** Hash map ops on a map of `entries` keys of keySize bytes, all present; lookups of key i % entries. */
function hash(op: 'lookup' | 'update' | 'delete', keySize: number, entries: number): ChargeScenario {
  const id = op === 'lookup' ? 1 : op === 'update' ? 2 : 3;
  return {
    name: `hash-${op}-k${keySize}-n${entries}`,
    what: `bpf_map_${op}_elem, hash map of ${entries} entries, ${keySize}-byte keys`,
    loop: op === 'update' ? 11 : 9,
    maps: () => {
      const m = new HashMap({ keySize, valueSize: 8, maxEntries: entries });
      const k = new Uint8Array(keySize), v = new Uint8Array(8), dv = new DataView(k.buffer);
      for (let i = 0; i < entries; i++) {
        dv.setUint32(0, i, true);
        if (bpf.bpfMapUpdate(m.handle, k, v, 0) !== 0) throw new Error('hash fill');
      }
      return [m];
    },
    memBytes: 8 + Math.max(keySize, 8),
    // key at mem+8: its first word is i % entries (a key present; delete: absent after the first pass)
    text: `${HEAD}mov %r6, %r8\nadd %r6, 8\nloop:\nmov %r1, %r7\nmod %r1, ${entries}\nstxw [%r6], %r1\nlddw %r1, map_by_idx(0)\nmov %r2, %r6\n${op === 'update' ? 'mov %r3, %r6\nmov %r4, 0\n' : ''}call ${id}\n${TAIL}`,
  };
}

function simple(name: string, id: number, what: string, set: number = HelperSet.Standard): ChargeScenario {
  return { name, what, loop: 4, maps: () => [], set, text: `${HEAD}loop:\ncall ${id}\n${TAIL}` };
}

/** Conformance memfrob over n bytes of the run memory. */
function memfrob(n: number): ChargeScenario {
  return {
    name: `memfrob-${n}`, what: `conformance memfrob of ${n} bytes`, loop: 7, maps: () => [], set: HelperSet.Conformance, memBytes: 8 + n,
    text: `${HEAD}loop:\nmov %r1, %r8\nadd %r1, 8\nmov %r2, ${n}\ncall 1\n${TAIL}`,
  };
}

/** Conformance strcmp of two equal strings of n bytes (run memory). */
function strcmp(n: number): ChargeScenario {
  return {
    name: `strcmp-${n}`, what: `conformance strcmp of equal ${n}-byte strings`, loop: 8, maps: () => [], set: HelperSet.Conformance,
    memBytes: 8 + 2 * (n + 1),
    fill: (m) => { m.fill(0x61, 8, 8 + n); m[8 + n] = 0; m.fill(0x61, 9 + n, 9 + 2 * n); m[9 + 2 * n] = 0; },
    text: `${HEAD}loop:\nmov %r1, %r8\nadd %r1, 8\nmov %r2, %r1\nadd %r2, ${n + 1}\ncall 4\n${TAIL}`,
  };
}

/** bpf_trace_printk: fmt (NUL-terminated, padded with literal text to n bytes) in the run memory; %s arguments point to 1000 'a's. */
function trace(fmt: string, args: string, n = fmt.length + 1): ChargeScenario {
  return {
    name: `trace-${fmt.replace(/%/g, 'p').replace(/[^a-z]/g, '')}-${n}`, what: `bpf_trace_printk("${fmt.replace(/\n/g, '\\n')}"${n > fmt.length + 1 ? ` + ${n - fmt.length - 1} literal bytes` : ''})`, loop: 7 + args.split('\n').filter(Boolean).length, maps: () => [],
    memBytes: 8 + n + 1001,
    fill: (m) => { m.fill(0x62, 8, 8 + n - 1); m.set(Buffer.from(fmt), 8); m[8 + n - 1] = 0; m.fill(0x61, 8 + n, 8 + n + 1000); m[8 + n + 1000] = 0; },
    text: `${HEAD}loop:\nmov %r1, %r8\nadd %r1, 8\nmov %r2, ${n}\n${args.replace(/STR/g, `${n}`)}call 6\n${TAIL}`,
  };
}

/** bpf_ringbuf_output of n bytes of the run memory into a ring of `ring` bytes (drained between runs). */
function ringbufOutput(n: number, ring: number): ChargeScenario {
  return {
    name: `ringbuf-output-${n}`, what: `bpf_ringbuf_output of ${n} bytes`, loop: 9, maps: () => [new RingBufMap({ size: ring })], memBytes: 8 + n,
    text: `${HEAD}loop:\nlddw %r1, map_by_idx(0)\nmov %r2, %r8\nadd %r2, 8\nmov %r3, ${n}\nmov %r4, 0\ncall 130\n${TAIL}`,
  };
}

/** No helper: loads at pseudo-random offsets of a large array map value (cache and TLB misses). */
function missLoads(size: number): ChargeScenario {
  // r6 = value base, r1 = xorshift state; per iteration: 3 shifts/xors pairs, a mask, an add, a load
  return {
    name: `miss-loads-${size / MiB}MiB`, what: `no helper: a load at a random offset of a ${size / MiB} MiB array value per iteration`, loop: 13,
    maps: arrays(size, 1),
    text: `${HEAD}lddw %r6, map_value_by_idx(0)\nmov %r1, 12345\nloop:\nmov %r2, %r1\nlsh %r2, 13\nxor %r1, %r2\nmov %r2, %r1\nrsh %r2, 7\nxor %r1, %r2\nmov %r2, %r1\nand %r2, ${size - 8}\nadd %r2, %r6\nldxdw %r3, [%r2]\nadd %r7, 1\nstxdw [%r8], %r7\nja loop`,
  };
}

/** Dependent loads through a random cycle in a large array value (each load's address is the last load's value). */
function chaseLoads(size: number): ChargeScenario {
  return {
    name: `chase-loads-${size / MiB}MiB`, what: `no helper: dependent loads along a random cycle over a ${size / MiB} MiB array value`, loop: 3,
    maps: () => {
      const m = new ArrayMap({ valueSize: size, maxEntries: 1 });
      const words = size / 8, w = new BigUint64Array(m.memory.buffer, m.memory.byteOffset, words);
      // a random cyclic permutation of slots spread by 4 KiB pages (Sattolo's algorithm)
      const n = Math.min(words, 1 << 20), stride = Math.floor(words / n), p = new Uint32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      let s = 0x9e3779b9;
      for (let i = n - 1; i > 0; i--) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; const j = (s >>> 0) % i; const t = p[i]!; p[i] = p[j]!; p[j] = t; }
      for (let i = 0; i < n; i++) w[p[i]! * stride] = BigInt(p[(i + 1) % n]! * stride * 8);
      return [m];
    },
    text: `${HEAD}lddw %r6, map_value_by_idx(0)\nmov %r1, 0\nloop:\nadd %r1, %r6\nldxdw %r1, [%r1]\nja loop`,
  };
}

/** bpf_loop of nr iterations of a callback that only returns 0 (interpreted: the JIT leaves bpf_loop out). */
function bpfLoop(nr: number): ChargeScenario {
  return {
    name: `bpf-loop-${nr}`, what: `bpf_loop of ${nr} iterations, callback: r0 = 0; exit`, loop: 8 + 2 * nr, maps: () => [],
    text: `${HEAD}loop:\nmov %r1, ${nr}\nlddw %r2, code_addr(cb)\nmov %r3, 0\nmov %r4, 0\ncall 181\n${TAIL}\ncb:\nmov %r0, 0\nexit`,
  };
}

/**
 * The scenarios: every built-in helper that does work, at sizes that show fixed and per-byte
 * costs, and loads that miss the cache. 'test' keeps the memory small enough for the test suite
 * (64 MiB values, 64 Ki-entry hash maps); 'full' is what the report's figures come from.
 */
export function chargeScenarios(size: 'test' | 'full' = 'full'): ChargeScenario[] {
  const big = size === 'full' ? 512 * MiB : 64 * MiB;
  const many = size === 'full' ? 1 << 20 : 1 << 16;
  const ring = size === 'full' ? 256 * MiB : 16 * MiB;
  return [
    { name: 'plain', what: 'no helper: an add and a jump', loop: 2, maps: () => [], text: `${HEAD}loop:\nadd %r7, 1\nja loop` },
    simple('cpu', 8, 'bpf_get_smp_processor_id (the call alone)'),
    simple('ktime', 5, 'bpf_ktime_get_ns'),
    simple('prandom', 7, 'bpf_get_prandom_u32'),
    simple('sqrti', 3, 'conformance sqrti', HelperSet.Conformance),
    bpfLoop(1), bpfLoop(1000),
    update(8), update(4096), update(256 * 1024), update(32 * MiB),
    hash('lookup', 4, 16), hash('lookup', 512, 16), hash('lookup', 4, many), hash('update', 4, many), hash('update', 512, 4096), hash('delete', 4, many),
    ringbufOutput(64, ring), ringbufOutput(64 * 1024, ring),
    trace('x\n', ''), trace('%d %d %d\n', 'mov %r3, -1\nmov %r4, -1\nmov %r5, -1\n'), trace('%s %s %s\n', 'mov %r3, %r1\nadd %r3, STR\nmov %r4, %r3\nmov %r5, %r3\n'),
    trace('%llx ', 'mov %r3, -1\n', 64 * 1024), trace('x', '', 64 * 1024),
    memfrob(4096), memfrob(4 * MiB), strcmp(4096), strcmp(4 * MiB),
    missLoads(big), chaseLoads(big),
  ];
}

/** Scenarios whose cost is memory latency (cache and TLB misses), not the work charged. */
export const MEMORY_BOUND = /^(miss|chase)-|^hash-.*-n(65536|1048576)$/;

/** What one scenario measured, compiled or interpreted. */
export interface ChargeResult {
  name: string;
  jit: boolean;
  /** CPU time of the run (best of the repetitions). */
  ms: number;
  /** Instructions of budget used (the budget: every scenario ends with a budget stop). */
  insns: number;
  /** Helper calls (iterations). */
  calls: number;
  /** ns per instruction of budget. */
  nsPerInsn: number;
  /** ns per iteration, and what an iteration was charged beyond its instructions. */
  nsPerCall: number;
  chargePerCall: number;
}

/** Creates a scenario's program (native check only: the loops run until the budget ends them). */
export function scenarioProgram(s: ChargeScenario, jit: boolean): { h: ProgHandle; maps: BpfMap[] } {
  const maps = s.maps();
  const bytes = assemble(s.text);
  const out = new Int32Array(2);
  const h = bpf.bpfProgCreate(bytes, maps.map((m) => m.handle), (s.set ?? HelperSet.Standard) | (jit ? 0 : PROG_NO_JIT), out);
  if (typeof h === 'number') throw new Error(`${s.name}: rejected (${h}) at insn ${out[0]}`);
  return { h, maps };
}

/** Runs a scenario once with a budget; the best of `reps` runs. */
export function measure(s: ChargeScenario, jit: boolean, budget: number, reps = 3): ChargeResult {
  const { h, maps } = scenarioProgram(s, jit);
  const mem = new Uint8Array(s.memBytes ?? 8);
  const out = new BigUint64Array(4);
  let best = Infinity, calls = 0, insns = 0;
  for (let r = 0; r < reps; r++) {
    s.fill?.(mem);
    mem.fill(0, 0, 8);
    for (const m of maps) if (m instanceof RingBufMap) while (m.read());
    if (s.name.startsWith('trace')) { const b = new Uint8Array(65536); while (bpf.bpfTraceRead(b) > 0); }
    // CPU time of the process (this machine is shared: wall time counts other processes' turns)
    const c0 = process.cpuUsage();
    const st = bpf.bpfProgRun(h, mem, budget, out, false);
    const c1 = process.cpuUsage(c0);
    const ns = (c1.user + c1.system) * 1000;
    if (st !== RunStatus.Budget) throw new Error(`${s.name}: status ${st}, expected a budget stop`);
    calls = Number(new DataView(mem.buffer).getBigUint64(0, true));
    insns = Number(out[1]);
    best = Math.min(best, ns);
  }
  const iters = s.name.startsWith('chase') ? insns / 3 : calls;
  return {
    name: s.name, jit, ms: best / 1e6, insns, calls: iters, nsPerInsn: best / insns,
    nsPerCall: iters ? best / iters : NaN, chargePerCall: iters ? insns / iters - s.loop : NaN,
  };
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (k: string): string | undefined => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
  const budget = Number(opt('--budget') ?? 1_000_000);
  const only = opt('--only');
  console.log(`budget ${budget}: ns per instruction of budget, compiled / interpreted; ns per call and its charge (instructions beyond the loop's)`);
  for (const s of chargeScenarios()) {
    if (only && !s.name.includes(only)) continue;
    const r = [true, false].map((jit) => measure(s, jit, budget));
    const [c, i] = r as [ChargeResult, ChargeResult];
    console.log(`${s.name.padEnd(28)} ${c.nsPerInsn.toFixed(2).padStart(7)} / ${i.nsPerInsn.toFixed(2).padStart(7)} ns/insn  ${i.nsPerCall.toFixed(1).padStart(10)} ns/call  charge ${i.chargePerCall.toFixed(1).padStart(9)}  max ${Math.max(c.ms, i.ms).toFixed(2)} ms  ${s.what}`);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) main();
