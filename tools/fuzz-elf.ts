// ELF/BTF loader fuzzer: mutated seed objects (test/security/fixtures) through parseObject, the
// verifier and loadObject. The only allowed outcomes of a case are a ProgramError, or a load whose
// programs then verify (or are refused with a ProgramError). Anything else is a finding printed
// with seed and case number: another exception type, a crash, an OOM (the cases run in a child
// process with a capped V8 heap), a case over the time limit, RSS past its cap, a hang.
//   node dist/tools/fuzz-elf.js --count 1000000 --seed 1 [--seconds 600] [--heap-mb 256]
//        [--time-limit-ms 2000] [--no-native]
//   node dist/tools/fuzz-elf.js --seed 1 --case 1234 [--write case.o]   (replay one case in-process)
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseObject, verifyProgram, loadObject, ProgramError, engineAvailable } from '../src/programs/index.js';
import { rng } from './fuzz-jit.js';
import { emptyStats, addStats, MAX_SHAPES, runIsolated, type ElfFuzzStats, type Finding } from './fuzz-elf-runner.js';
import { loadFixtures, put, get, SHDR, SHDR_WIDTH, SYM, SYM_WIDTH, REL, REL_WIDTH, BTF_HDR, type ElfLayout } from './elf-layout.js';

type Fixture = ReturnType<typeof loadFixtures>[number];
type Rand = () => number;

/** The case's own seed: cases are independent, so any one replays alone. */
export function caseSeed(seed: number, i: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 15;
  return h >>> 0 || 1;
}

const BIG = [0n, 1n, 7n, 8n, 0xffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 32n, 1n << 40n, (1n << 53n) - 1n, 1n << 53n, 1n << 63n, (1n << 64n) - 1n];

/** An interesting value for a field that held `orig` in a file of `len` bytes. */
function value(r: Rand, orig: number, len: number): bigint {
  const related = [orig + 1, orig - 1, orig + 8, orig - 8, orig * 2, len, len - 1, len + 1, len - orig, orig + len, 0];
  switch (r() % 3) {
    case 0:
      return BIG[r() % BIG.length]!;
    case 1:
      return BigInt(related[r() % related.length]!);
    default:
      return BigInt(r());
  }
}

const pick = <T>(r: Rand, a: readonly T[]): T => a[r() % a.length]!;

/** One mutation of b (may return a new array); returns its description. */
function mutateOnce(r: Rand, b: Uint8Array, L: ElfLayout, others: readonly Fixture[]): { b: Uint8Array; what: string } {
  const n = b.length;
  switch (r() % 15) {
    case 0: {
      const o = r() % n;
      const bit = r() % 8;
      b[o]! ^= 1 << bit;
      return { b, what: `flip byte ${o} bit ${bit}` };
    }
    case 1: {
      const o = r() % n;
      const v = pick(r, [0, 0xff, 0x7f, 0x80, 1, 8, r() & 0xff]);
      b[o] = v;
      return { b, what: `byte ${o} = ${v}` };
    }
    case 2: {
      const len = r() % 2 ? r() % n : n - 1 - (r() % Math.min(n, 256));
      return { b: b.slice(0, Math.max(0, len)), what: `truncate to ${len}` };
    }
    case 3: {
      const extra = Uint8Array.from({ length: 1 + (r() % 64) }, () => r() & 0xff);
      const c = new Uint8Array(n + extra.length);
      c.set(b);
      c.set(extra, n);
      return { b: c, what: `append ${extra.length} bytes` };
    }
    case 4: {
      const fields: [string, number, number][] = [['e_shoff', 0x28, 8], ['e_shnum', 0x3c, 2], ['e_shstrndx', 0x3e, 2], ['e_shentsize', 0x3a, 2], ['e_machine', 18, 2], ['EI_CLASS', 4, 1]];
      const [name, off, w] = pick(r, fields);
      const v = w === 2 ? BigInt(pick(r, [0, 1, L.sections.length, L.sections.length - 1, L.sections.length + 1, 0xff00, 0xfff1, 0xffff, r() & 0xffff])) : value(r, 0, n);
      put(b, off, w, v);
      return { b, what: `${name} = ${v}` };
    }
    case 5:
    case 6: {
      const s = pick(r, L.sections);
      const field = pick(r, Object.keys(SHDR) as (keyof typeof SHDR)[]);
      const small = field === 'link' || field === 'info' || field === 'type';
      const v = small && r() % 2 ? BigInt(r() % (L.sections.length + 2)) : value(r, field === 'size' ? s.size : field === 'offset' ? s.offset : 0, n);
      put(b, s.hdr + SHDR[field], SHDR_WIDTH[field], v);
      return { b, what: `section ${s.index} (${s.name}) ${field} = ${v}` };
    }
    case 7:
    case 8: {
      if (L.syms.length === 0) return { b, what: 'no symbols' };
      const s = pick(r, L.syms);
      const field = pick(r, Object.keys(SYM) as (keyof typeof SYM)[]);
      const sec = L.sections[s.shndx];
      let v: bigint;
      if (field === 'shndx') v = BigInt(pick(r, [0, 0xfff1, 0xfff2, 0xffff, L.sections.length, r() % L.sections.length]));
      else if (field === 'size' || field === 'value') v = r() % 2 && sec ? BigInt(pick(r, [sec.size, sec.size + 8, sec.size - 8, sec.size * 2, sec.size - s.value + 8, 4])) : value(r, field === 'size' ? s.size : s.value, n);
      else v = value(r, 0, n);
      put(b, s.at + SYM[field], SYM_WIDTH[field], v);
      return { b, what: `symbol ${s.index} (${s.name}) ${field} = ${v}` };
    }
    case 9: {
      const all = r() % 4 ? L.codeRels : L.rels;
      if (all.length === 0) return { b, what: 'no relocations' };
      const at = pick(r, all);
      const field = pick(r, Object.keys(REL) as (keyof typeof REL)[]);
      const v = field === 'sym' ? BigInt(pick(r, [0, L.syms.length, L.syms.length - 1, r() % Math.max(1, L.syms.length), 0xffffffff])) : field === 'type' ? BigInt(pick(r, [0, 1, 2, 3, 4, 10, 11, r()])) : value(r, get(b, at, 8), n);
      put(b, at + REL[field], REL_WIDTH[field], v);
      return { b, what: `relocation at ${at} ${field} = ${v}` };
    }
    case 10: {
      const [a, e] = pick(r, L.strtabs);
      if (e <= a) return { b, what: 'empty string table' };
      const from = a + (r() % (e - a));
      const len = r() % 2 ? e - from : 1 + (r() % 16);
      const fill = pick(r, [0x41, 0, 0xff, 0xc3]);
      b.fill(fill, from, Math.min(e, from + len));
      return { b, what: `string table ${a}..${e}: ${len} bytes at ${from} = ${fill}` };
    }
    case 11: {
      if (L.btf < 0) return { b, what: 'no BTF' };
      const field = pick(r, Object.keys(BTF_HDR) as (keyof typeof BTF_HDR)[]);
      const w = field === 'magic' ? 2 : field === 'version' || field === 'flags' ? 1 : 4;
      const v = w === 4 ? BigInt(pick(r, [0, 4, 24, 0xffffffff, 0x80000000, r() % 4096, r()])) : BigInt(r() & (w === 2 ? 0xffff : 0xff));
      put(b, L.btf + BTF_HDR[field], w, v);
      return { b, what: `BTF ${field} = ${v}` };
    }
    case 12: {
      if (L.btfTypes.length === 0) return { b, what: 'no BTF types' };
      const t = pick(r, L.btfTypes);
      const count = L.btfTypes.length;
      switch (r() % 4) {
        case 0: {
          if (t.typeRefs.length === 0) return { b, what: `BTF type ${t.id}: no type refs` };
          const at = pick(r, t.typeRefs);
          const v = pick(r, [t.id, t.id, t.id - 1, t.id + 1, 0, count, count + 1, 0xffffffff, 1 + (r() % count)]); // t.id: a cycle
          put(b, at, 4, v);
          return { b, what: `BTF type ${t.id} type ref at ${at} = ${v}` };
        }
        case 1: {
          const at = pick(r, t.nameRefs);
          const v = pick(r, [0xffffffff, 0x7fffffff, r() % 65536, 1, r()]);
          put(b, at, 4, v);
          return { b, what: `BTF type ${t.id} name ref at ${at} = ${v}` };
        }
        case 2: {
          const kind = r() % 32;
          const vlen = pick(r, [t.vlen, 0, 1, 0xffff, t.vlen + 1, r() & 0xffff]);
          put(b, t.at + 4, 4, (kind << 24) | vlen);
          return { b, what: `BTF type ${t.id} kind ${kind} vlen ${vlen}` };
        }
        default: {
          const v = pick(r, [0, 1, 0xffffffff, 0x80000000, 1 << 20, r()]);
          put(b, t.at + 8, 4, v);
          return { b, what: `BTF type ${t.id} size_or_type = ${v}` };
        }
      }
    }
    case 13: {
      // A cycle through type references: t -> u -> t (or t -> t), on the types maps are read from.
      const refs = L.btfTypes.filter((t) => t.typeRefs.length > 0 && [2, 3, 8, 9, 10, 11, 14, 18].includes(t.kind));
      if (refs.length === 0) return { b, what: 'no BTF type refs' };
      const t = pick(r, refs);
      const u = L.btfTypes.find((x) => x.id === get(b, t.typeRefs[0]!, 4));
      if (u && u.typeRefs.length > 0 && r() % 2) {
        put(b, u.typeRefs[0]!, 4, t.id);
        return { b, what: `BTF cycle: type ${t.id} -> ${u.id} -> ${t.id}` };
      }
      put(b, t.typeRefs[0]!, 4, t.id);
      return { b, what: `BTF cycle: type ${t.id} -> itself` };
    }
    default: {
      const src = r() % 3 ? b : pick(r, others).bytes;
      const len = 1 + (r() % 64);
      const from = r() % Math.max(1, src.length - len);
      const to = r() % Math.max(1, n - len);
      const chunk = src.slice(from, from + len);
      b.set(chunk.subarray(0, Math.max(0, n - to)), to);
      return { b, what: `splice ${chunk.length} bytes from ${src === b ? 'self' : 'another object'} ${from} to ${to}` };
    }
  }
}

/** Case i of a run: which fixture and which mutations. */
export function makeCase(fixtures: readonly Fixture[], seed: number, i: number): { bytes: Uint8Array; fixture: string; mutations: string[] } {
  const r = rng(caseSeed(seed, i));
  const f = pick(r, fixtures);
  let b: Uint8Array = f.bytes.slice();
  const mutations: string[] = [];
  const k = 1 + (r() % 3);
  for (let j = 0; j < k && b.length > 0; j++) {
    const m = mutateOnce(r, b, f.layout, fixtures);
    b = m.b;
    mutations.push(m.what);
  }
  return { bytes: b, fixture: f.name, mutations };
}

const allowed = (e: unknown): boolean => e instanceof ProgramError || (e instanceof Error && e.name === 'VerifierError');
const describe = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e));
const shape = (msg: string): string => msg.replace(/0x[0-9a-f]+/g, 'X').replace(/\d+/g, 'N').slice(0, 160);
/** Declared map bytes above which loadObject is skipped (the native maps would be created). */
const NATIVE_MAP_BYTES = 16 << 20;

class CaseFinding extends Error {
  constructor(readonly kind: Finding['kind'], detail: string) {
    super(detail);
  }
}

/** Runs one case's bytes; throws CaseFinding on a broken invariant. */
export function runCase(bytes: Uint8Array, stats: ElfFuzzStats, native: boolean): void {
  stats.cases++;
  const note = (e: ProgramError): void => {
    const s = shape(e.message);
    if (stats.messages[s] !== undefined || Object.keys(stats.messages).length < MAX_SHAPES) stats.messages[s] = (stats.messages[s] ?? 0) + 1;
  };
  let spec;
  try {
    spec = parseObject(bytes);
  } catch (e) {
    if (e instanceof ProgramError && e.code === 'EELF') {
      stats.elfRejected++;
      note(e);
      return;
    }
    throw new CaseFinding(e instanceof ProgramError ? 'wrong-code' : 'exception', `parseObject threw ${describe(e)}`);
  }
  stats.parsed++;
  let ok = true;
  for (const p of spec.programs) {
    try {
      verifyProgram(p.insns, { maps: spec.maps, kind: p.kind });
    } catch (e) {
      if (!allowed(e)) throw new CaseFinding('exception', `verifyProgram (${p.section}:${p.name}) threw ${describe(e)}`);
      ok = false;
    }
  }
  if (ok) stats.verified++;
  else stats.verifyRejected++;
  if (!native || spec.maps.reduce((t, m) => t + (m.keySize + m.valueSize) * m.maxEntries, 0) > NATIVE_MAP_BYTES) return;
  try {
    loadObject(bytes);
    stats.loaded++;
  } catch (e) {
    if (!allowed(e)) throw new CaseFinding('exception', `loadObject threw ${describe(e)}`);
    if (e instanceof ProgramError && e.code === 'EELF') note(e);
    stats.loadRejected++;
  }
}

/** Options of an in-process run. */
export interface FuzzElfOptions {
  seed: number;
  from?: number;
  count: number;
  native?: boolean;
  timeLimitMs?: number;
  rssLimitMb?: number;
  /** Stop after this many ms of wall time. */
  deadlineMs?: number;
  /** Called before case i (every `every` cases) with the stats since the last call. */
  onProgress?: (next: number, delta: ElfFuzzStats) => void;
  every?: number;
}

/**
 * Runs cases [from, from + count) in this process; returns stats and findings. Yields to the event
 * loop at every progress point: Node-API finalizers of the native maps and programs that loaded
 * cases created run from the loop, so a loop that never yields grows native memory without bound
 * (about 55 KB per loadObject of features.o).
 */
export async function fuzzElf(o: FuzzElfOptions): Promise<{ stats: ElfFuzzStats; findings: Finding[] }> {
  const fixtures = loadFixtures();
  const native = (o.native ?? true) && engineAvailable();
  const from = o.from ?? 0;
  const every = o.every ?? 200;
  const limit = o.timeLimitMs ?? 2000;
  const rssLimit = (o.rssLimitMb ?? 1024) * 2 ** 20;
  const total = emptyStats();
  let delta = emptyStats();
  const findings: Finding[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  const start = performance.now();
  for (let i = from; i < from + o.count; i++) {
    if ((i - from) % every === 0) {
      if (o.deadlineMs !== undefined && performance.now() - start > o.deadlineMs) break;
      await new Promise((resolve) => setImmediate(resolve));
      if ((i - from) % 2000 === 0 && i > from) {
        gc?.();
        await new Promise((resolve) => setImmediate(resolve));
        const rss = process.memoryUsage().rss;
        if (rss > rssLimit) findings.push({ seed: o.seed, case: i - 1, kind: 'memory', detail: `RSS ${(rss / 2 ** 20).toFixed(0)} MB after cases up to ${i - 1} (cap ${o.rssLimitMb ?? 1024} MB)` });
      }
      o.onProgress?.(i, delta);
      addStats(total, delta);
      delta = emptyStats();
    }
    const c = makeCase(fixtures, o.seed, i);
    const t0 = performance.now();
    try {
      runCase(c.bytes, delta, native);
    } catch (e) {
      const kind = e instanceof CaseFinding ? e.kind : 'exception';
      findings.push({ seed: o.seed, case: i, kind, detail: `${c.fixture} [${c.mutations.join('; ')}]: ${e instanceof CaseFinding ? e.message : describe(e)}` });
    }
    const ms = performance.now() - t0;
    if (ms > limit) findings.push({ seed: o.seed, case: i, kind: 'slow', detail: `${c.fixture} [${c.mutations.join('; ')}]: ${ms.toFixed(0)} ms (limit ${limit})` });
  }
  o.onProgress?.(from + total.cases + delta.cases, delta);
  addStats(total, delta);
  return { stats: total, findings };
}

const argv = process.argv.slice(2);
const arg = (name: string, def?: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};

async function main(): Promise<void> {
  const seed = Number(arg('seed', '1'));
  const native = !argv.includes('--no-native');
  if (arg('case') !== undefined) {
    const i = Number(arg('case'));
    const c = makeCase(loadFixtures(), seed, i);
    console.log(`seed ${seed} case ${i}: ${c.fixture}, ${c.bytes.length} bytes, mutations: ${c.mutations.join('; ')}`);
    const w = arg('write');
    if (w) writeFileSync(w, c.bytes);
    const s = emptyStats();
    try {
      runCase(c.bytes, s, native);
      console.log(JSON.stringify({ ...s, messages: s.messages }));
    } catch (e) {
      console.log(e instanceof CaseFinding ? `FINDING ${e.kind}: ${e.message}` : describe(e));
      process.exitCode = 1;
    }
    return;
  }
  const count = Number(arg('count', '1000000'));
  const timeLimitMs = Number(arg('time-limit-ms', '2000'));
  if (argv.includes('--child')) {
    // Child of runIsolated: progress and findings as lines on stdout (synchronous on a pipe).
    const { findings } = await fuzzElf({
      seed, count, native, timeLimitMs, from: Number(arg('from', '0')), every: Number(arg('every', '200')),
      rssLimitMb: Number(arg('rss-mb', '1024')),
      onProgress: (next, d) => process.stdout.write(`P ${next} ${JSON.stringify(d)}\n`),
      ...(arg('deadline-ms') !== undefined ? { deadlineMs: Number(arg('deadline-ms')) } : {}),
    });
    for (const f of findings) process.stdout.write(`F ${JSON.stringify(f)}\n`);
    process.stdout.write('D\n');
    return;
  }
  const seconds = arg('seconds');
  const r = await runIsolated({ seed, count, native, timeLimitMs, heapMb: Number(arg('heap-mb', '256')), ...(seconds ? { seconds: Number(seconds) } : {}), log: (s) => console.log(s) });
  const s = r.stats;
  console.log(`elf fuzz seed ${seed}: ${s.cases} cases in ${r.seconds.toFixed(1)} s: ${s.elfRejected} EELF, ${s.parsed} parsed (${s.verified} verified, ${s.verifyRejected} refused by the verifier), ${s.loaded} loaded natively, ${s.loadRejected} refused at load; ${r.restarts} child restarts`);
  const shapes = Object.entries(s.messages).sort((a, b) => b[1] - a[1]);
  console.log(`${shapes.length} distinct loader messages; most frequent:`);
  for (const [m, c] of shapes.slice(0, Number(arg('top', '40')))) console.log(`  ${String(c).padStart(8)}  ${m}`);
  console.log(r.findings.length ? `${r.findings.length} FINDINGS:` : 'no findings');
  for (const f of r.findings) console.log(`  [${f.kind}] seed ${f.seed} case ${f.case}: ${f.detail.split('\n').slice(0, 6).join('\n    ')}`);
  if (r.findings.length) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
