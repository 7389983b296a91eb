/**
 * Trial: an N-step dependent chain. Each step READs 8 bytes of a tmpfs file at an offset that the
 * previous step's data names (a random linked list of 8-byte words), so step k needs step k-1's
 * result. Drivers, one chain at a time:
 *   awaited  JS awaits each READ and computes the next offset (N wakeups per chain)
 *   linked   one ring.chain() of N IOSQE_IO_LINK'ed READs; links cannot carry data between
 *            requests, so its offsets are PRECOMPUTED by JS (it does less work than the others)
 *   program  a completion program (programs/chain.bpf.c, shipped prebuilt) does the whole chain
 *            next to the ring:
 *            JS submits one program request and wakes once, when the chain is done
 * Every chain's final offset is checked against the list walked in JS.
 *
 * Standalone: node dist/bench/chain.js [--steps 8] [--seconds 2] [--warmup 0.5]
 *   runs the three drivers in this process, prints one JSON line per driver and a table.
 * Harness: node dist/bench/chain.js '{"driver":"program","steps":8,"seconds":2,"warmup":0.5}'
 *   runs one driver and prints one TrialResult JSON line (bench/common.ts runTrial).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ring, O, op, loadObject, builtinObject, ArrayMap } from '../src/index.js';
import { Rng, Window, runTrial, statsDelta, type TrialResult } from './common.js';

export type ChainDriver = 'awaited' | 'linked' | 'program';
export const CHAIN_DRIVERS: readonly ChainDriver[] = ['awaited', 'linked', 'program'];

export interface ChainArgs {
  driver: ChainDriver;
  /** Steps per chain (default 8). */
  steps?: number;
  seconds?: number;
  warmup?: number;
  seed?: number;
  /** Words in the list file (default 8192: 64 KiB). */
  words?: number;
  /** Directory for the list file (default /dev/shm): a page-cached ext4 file completes reads inline, tmpfs goes through io-wq. */
  dir?: string;
  /** What each step is: an 8-byte READ whose data is the next offset (default), or a NOP whose
   *  injected result is the next table index (framework overhead only: no kernel work). */
  work?: 'read' | 'nop';
}

export interface ChainResult extends TrialResult {
  driver: ChainDriver;
  label: string;
  steps: number;
  chainsPerSec: number;
  wakeupsPerChain: number;
  /** io_uring_enter calls per chain (ring.stats().enterCalls). */
  enterCallsPerChain: number;
  /** Program runs per chain (program driver; stats().programRuns). */
  programRunsPerChain?: number;
  /** Enters made by the engine per chain (program driver; stats().programEnterCalls, if reported). */
  programEnterCallsPerChain?: number;
}

const LABELS: Record<ChainDriver, string> = {
  awaited: 'awaited JS (await each read)',
  linked: 'linked submission (offsets precomputed: links carry no data)',
  program: 'completion program (whole chain next to the ring)',
};

/** A random cyclic linked list: word i holds the byte offset of the next word. */
function makeList(words: number, seed: number): { file: Buffer; next: (off: number) => number } {
  const rng = new Rng(seed);
  const order = Array.from({ length: words }, (_, i) => i);
  for (let i = words - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const file = Buffer.alloc(words * 8);
  for (let i = 0; i < words; i++) file.writeBigUInt64LE(BigInt(order[(i + 1) % words]! * 8), order[i]! * 8);
  return { file, next: (off) => Number(file.readBigUInt64LE(off)) };
}

function fail(start: number, got: number, want: number): never {
  throw new Error(`chain from offset ${start} ended at ${got}, expected ${want}: driver is broken`);
}

/** Runs one driver for warmup + seconds; one chain at a time. */
export async function runChain(a: ChainArgs): Promise<ChainResult> {
  const steps = a.steps ?? 8;
  const seconds = a.seconds ?? 2;
  const warmup = a.warmup ?? 0.5;
  const words = a.words ?? 8192;
  const list = makeList(words, a.seed ?? 42);
  const dir = mkdtempSync(join(a.dir ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'rf-chain-'));
  const path = join(dir, 'list');
  writeFileSync(path, list.file);
  // starts and the expected walk (steps offsets each), computed once, outside the window
  const rng = new Rng((a.seed ?? 42) + 1);
  const walks: number[][] = Array.from({ length: 256 }, () => {
    const w: number[] = [rng.below(words) * 8];
    for (let k = 0; k < steps; k++) w.push(list.next(w[k]!));
    return w; // w[0] start, w[k] = offset read by step k
  });
  const ring = a.driver === 'program' ? new Ring({ cqs: [16] }) : new Ring();
  try {
    const fd = await ring.openat(path, O.RDONLY);
    let s0 = ring.stats();
    let s1 = s0;
    const win = new Window(warmup * 1000, seconds * 1000, () => (s0 = ring.stats()), () => (s1 = ring.stats()));
    const buf = Buffer.alloc(8);
    let i = 0;
    const work = a.work ?? 'read';
    // nop workload: table[i] = the next index, a random permutation walk like the file's list
    const table = new Uint32Array(words);
    for (let k = 0; k < words; k++) table[k] = list.next(k * 8) / 8;
    const nopWalks = walks.map((w) => {
      const v = [w[0]! / 8];
      for (let k = 0; k < steps; k++) v.push(table[v[k]!]!);
      return v;
    });
    if (work === 'nop' && a.driver === 'awaited') {
      do {
        const w = nopWalks[i++ & 255]!;
        let idx = w[0]!;
        for (let k = 0; k < steps; k++) idx = await ring.nop({ injectResult: table[idx]! });
        if (idx !== w[steps]) fail(w[0]!, idx, w[steps]!);
      } while (win.done(steps));
    } else if (work === 'nop' && a.driver === 'linked') {
      do {
        const w = nopWalks[i++ & 255]!;
        const res = await Promise.all(ring.chain(w.slice(1).map((v) => op.nop({ injectResult: v })), { link: true }));
        if (res[steps - 1] !== w[steps]) fail(w[0]!, res[steps - 1] as number, w[steps]!);
      } while (win.done(steps));
    } else if (a.driver === 'awaited') {
      do {
        const w = walks[i++ & 255]!;
        let off = w[0]!;
        for (let k = 0; k < steps; k++) {
          const n = await ring.read(fd, buf, off);
          if (n !== 8) throw new Error(`short read ${n}`);
          off = Number(buf.readBigUInt64LE(0));
        }
        if (off !== w[steps]) fail(w[0]!, off, w[steps]!);
      } while (win.done(steps));
    } else if (a.driver === 'linked') {
      const bufs = Array.from({ length: steps }, () => Buffer.alloc(8));
      do {
        const w = walks[i++ & 255]!;
        // offsets precomputed: step k reads at w[k] (which step k-1 would have returned)
        const res = await Promise.all(ring.chain(bufs.map((b, k) => op.read(fd, b, w[k]!)), { link: true }));
        if (res.some((n) => n !== 8)) throw new Error(`short read in a linked chain: ${res.join(',')}`);
        const off = Number(bufs[steps - 1]!.readBigUInt64LE(0));
        if (off !== w[steps]) fail(w[0]!, off, w[steps]!);
      } while (win.done(steps));
    } else {
      const obj = loadObject(builtinObject('chain')); // programs/chain.bpf.o: no compiler needed
      const prog = ring.registerProgram(obj.program('chain'));
      const region = ring.registerRegion(buf.byteLength);
      ring.allowFd(fd);
      const args = (obj.maps.get('args') as ArrayMap).view(0);
      const state = (obj.maps.get('state') as ArrayMap).view(0);
      args.setBigUint64(0, BigInt(region.address), true);
      args.setInt32(16, fd, true);
      args.setUint32(20, steps, true);
      if (work === 'nop') {
        const t = ring.registerRegion(table, { writable: false });
        args.setUint32(24, 1, true);
        args.setUint32(28, words, true);
        args.setBigUint64(32, BigInt(t.address), true);
      }
      do {
        const w = work === 'nop' ? nopWalks[i++ & 255]! : walks[i++ & 255]!;
        args.setBigUint64(8, BigInt(w[0]!), true);
        await ring.runProgram(prog);
        const err = state.getBigInt64(16, true);
        if (err !== 0n) throw new Error(`the chain program failed: errno ${-err}`);
        const off = Number(state.getBigUint64(8, true));
        if (off !== w[steps]) fail(w[0]!, off, w[steps]!);
      } while (win.done(steps));
    }
    const r = win.result();
    await ring.closeFd(fd);
    const d = statsDelta(s0, s1);
    const chains = r.ops / steps;
    // the engine's own counters (present once programs are enabled on the ring)
    const e0 = s0 as unknown as Record<string, number | undefined>;
    const e1 = s1 as unknown as Record<string, number | undefined>;
    const perChain = (k: string) => (e1[k] !== undefined && chains > 0 ? (e1[k]! - (e0[k] ?? 0)) / chains : undefined);
    return {
      driver: a.driver,
      label: LABELS[a.driver],
      steps,
      ...r,
      ...d,
      chainsPerSec: r.seconds > 0 ? chains / r.seconds : 0,
      wakeupsPerChain: chains > 0 ? d.wakeups / chains : 0,
      enterCallsPerChain: chains > 0 ? d.enterCalls / chains : 0,
      programRunsPerChain: perChain('programRuns'),
      programEnterCallsPerChain: perChain('programEnterCalls'),
      verified: chains,
      note: work === 'nop'
        ? `ops = NOPs with injected results (${steps} per chain, each picking the next); one chain at a time`
        : `ops = reads (${steps} per chain); one chain at a time; ${words * 8} B list in ${a.dir ?? '/dev/shm'}`,
    };
  } finally {
    await ring.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2]?.startsWith('{')) {
    // harness mode: one driver, one JSON line
    runTrial(async () => {
      const a = JSON.parse(process.argv[2]!) as ChainArgs;
      if (!CHAIN_DRIVERS.includes(a.driver)) throw new Error(`unknown chain driver ${String(a.driver)}`);
      return runChain(a);
    });
  } else {
    const wi = process.argv.indexOf('--work');
    const work = wi > 0 ? (process.argv[wi + 1] as 'read' | 'nop') : undefined;
    const di = process.argv.indexOf('--dir');
    const dir = di > 0 ? process.argv[di + 1] : undefined;
    const steps = flag('steps', 8);
    const seconds = flag('seconds', 2);
    const warmup = flag('warmup', 0.5);
    const results: ChainResult[] = [];
    for (const driver of CHAIN_DRIVERS) {
      const r = await runChain({ driver, steps, seconds, warmup, dir, work });
      results.push(r);
      process.stdout.write(JSON.stringify({ trial: 'chain', ...r }) + '\n');
    }
    const base = results.find((r) => r.driver === 'awaited')!.opsPerSec;
    const rows = results.map((r) => [r.driver, r.chainsPerSec.toFixed(0), r.opsPerSec.toFixed(0), r.wakeupsPerChain.toFixed(2), r.enterCallsPerChain.toFixed(2), `${(r.opsPerSec / base).toFixed(2)}×`]);
    const head = ['driver', 'chains/s', 'ops/s', 'wakeups/chain', 'enters/chain', 'vs awaited'];
    const width = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
    const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(width[c]!) : s.padStart(width[c]!))).join('  ');
    console.log(`\n${steps}-step dependent chain (8-byte READs, file in ${dir ?? '/dev/shm'}), ${seconds} s per driver`);
    console.log(line(head));
    for (const row of rows) console.log(line(row));
    for (const r of results) console.log(`  ${r.driver}: ${r.label}`);
  }
}
