/**
 * The longest event-loop stall completion programs can cause under a budget (docs/security.md,
 * "Work"): 64 program requests that each run until the instruction budget stops them are queued
 * at once, and the event loop's longest delay is measured (perf_hooks.monitorEventLoopDelay, 1 ms
 * resolution) while they run, for three kinds of program work, compiled and interpreted:
 *  - alu:   a tight ALU/stack loop (the instruction budget alone)
 *  - array: bpf_map_update_elem on an 8-byte array value (the cheapest charged helper per unit of
 *           budget, which measured as the worst in-cache case)
 *  - copy:  bpf_copy_from_user of 4 KiB from a region (charged by bytes)
 * Prints one JSON line: { budget, cases: [{ work, engine, maxStallMs, runs, turns }] }.
 * Usage: node dist/bench/stall.js [budget=1000000]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Ring } from '../src/index.js';
import { Program, ArrayMap } from '../src/programs/index.js';

const budget = Number(process.argv[2] ?? 1_000_000);

const WORK: Record<string, { text: (regionAddr: number) => string; maps?: () => ArrayMap[] }> = {
  alu: { text: () => 'mov %r1, 0\nloop:\nadd %r1, 1\nstxdw [%r10-8], %r1\nja loop' },
  array: {
    text: () => `stw [%r10-4], 0\nstdw [%r10-16], 7\nloop:\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 0\ncall 2\nja loop`,
    maps: () => [new ArrayMap({ valueSize: 8, maxEntries: 1 })],
  },
  copy: {
    text: () => `mov %r6, %r1\nldxdw %r7, [%r6+0]\nloop:\nmov %r1, %r10\nadd %r1, -512\nmov %r2, 512\nmov %r3, %r7\ncall 148\nja loop`,
  },
};

async function trial(work: string, jit: boolean): Promise<{ work: string; engine: string; maxStallMs: number; runs: number; turns: number }> {
  const ring = new Ring({ cqs: [4], programBudget: budget });
  try {
    const w = WORK[work]!;
    const region = ring.registerRegion(4096);
    const p = Program.fromAssembly(w.text(region.address), { kind: 'iouring.s', jit, maps: w.maps?.() ?? [] });
    const idx = ring.registerProgram(p);
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    setImmediate(tick);
    const runs = 64;
    const settled = await Promise.allSettled(Array.from({ length: runs }, () => ring.runProgram(idx, { userData: region.address })));
    running = false;
    h.disable();
    const stopped = settled.filter((s) => s.status === 'rejected' && /ELOOP/.test(String(s.reason))).length;
    if (stopped !== runs) throw new Error(`${work}: ${stopped}/${runs} runs ended by the budget`);
    return { work, engine: jit ? 'jit' : 'interpreter', maxStallMs: Math.round((h.max / 1e6) * 100) / 100, runs, turns };
  } finally {
    await ring.close();
  }
}

const cases = [];
for (const work of Object.keys(WORK)) for (const jit of [true, false]) cases.push(await trial(work, jit));
console.log(JSON.stringify({ budget, cases }));
