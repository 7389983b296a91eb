// Runs the ELF/BTF fuzzer (tools/fuzz-elf.ts) in child processes with a capped V8 heap, so that an
// OOM, a crash or a hang is a finding with its case number instead of the end of the run: the
// child reports progress every 200 cases; when it dies, the cases since the last report are run
// again one report per case to find the one that killed it, and the run goes on after it.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Outcome counts (and the shapes of the loader's messages, digits folded). */
export interface ElfFuzzStats {
  cases: number;
  elfRejected: number;
  parsed: number;
  verified: number;
  verifyRejected: number;
  loaded: number;
  loadRejected: number;
  messages: Record<string, number>;
}

/** A broken invariant, replayable with `--seed <seed> --case <case>`. */
export interface Finding {
  seed: number;
  case: number;
  kind: 'exception' | 'wrong-code' | 'slow' | 'memory' | 'crash' | 'oom' | 'hang';
  detail: string;
}

/** Most distinct message shapes kept. */
export const MAX_SHAPES = 4000;

export const emptyStats = (): ElfFuzzStats => ({ cases: 0, elfRejected: 0, parsed: 0, verified: 0, verifyRejected: 0, loaded: 0, loadRejected: 0, messages: {} });

/** Adds the counts of d into s. */
export function addStats(s: ElfFuzzStats, d: ElfFuzzStats): void {
  for (const k of ['cases', 'elfRejected', 'parsed', 'verified', 'verifyRejected', 'loaded', 'loadRejected'] as const) s[k] += d[k];
  for (const [m, c] of Object.entries(d.messages)) if (s.messages[m] !== undefined || Object.keys(s.messages).length < MAX_SHAPES) s.messages[m] = (s.messages[m] ?? 0) + c;
}

/** Options of an isolated run. */
export interface IsolatedOptions {
  seed: number;
  count: number;
  from?: number;
  native?: boolean;
  /** Per-case time limit (a slower case is a finding). Default 2000 ms. */
  timeLimitMs?: number;
  /** --max-old-space-size of the child. Default 256. */
  heapMb?: number;
  /** RSS cap of the child, checked every 2000 cases. Default 1024. */
  rssMb?: number;
  /** Stop after this much wall time. */
  seconds?: number;
  /** No progress line for this long: the child is killed and the case is a hang. Default 30 s. */
  hangMs?: number;
  log?: (line: string) => void;
}

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'fuzz-elf.js');

interface ChildResult {
  /** The next case the child was about to run at its last report. */
  next: number;
  done: boolean;
  hung: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function runChild(o: IsolatedOptions, from: number, count: number, every: number, deadlineMs: number | undefined, stats: ElfFuzzStats, findings: Finding[]): Promise<ChildResult> {
  const args = [`--max-old-space-size=${o.heapMb ?? 256}`, '--expose-gc', SCRIPT, '--child', '--seed', String(o.seed), '--from', String(from), '--count', String(count), '--every', String(every), '--time-limit-ms', String(o.timeLimitMs ?? 2000), '--rss-mb', String(o.rssMb ?? 1024)];
  if (deadlineMs !== undefined) args.push('--deadline-ms', String(Math.max(1, Math.floor(deadlineMs))));
  if (o.native === false) args.push('--no-native');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const res: ChildResult = { next: from, done: false, hung: false, code: null, signal: null, stderr: '' };
  const hangMs = o.hangMs ?? 30000;
  let timer = setTimeout(() => ((res.hung = true), child.kill('SIGKILL')), hangMs);
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (res.stderr = (res.stderr + d).slice(-4000)));
  createInterface({ input: child.stdout }).on('line', (line) => {
    clearTimeout(timer);
    timer = setTimeout(() => ((res.hung = true), child.kill('SIGKILL')), hangMs);
    if (line.startsWith('P ')) {
      const sp = line.indexOf(' ', 2);
      res.next = Number(line.slice(2, sp));
      addStats(stats, JSON.parse(line.slice(sp + 1)) as ElfFuzzStats);
    } else if (line.startsWith('F ')) findings.push(JSON.parse(line.slice(2)) as Finding);
    else if (line === 'D') res.done = true;
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res.code = code;
      res.signal = signal;
      resolve(res);
    });
  });
}

const deathKind = (r: ChildResult): Finding['kind'] => (r.hung ? 'hang' : /heap out of memory|Reached heap limit|allocation failed/i.test(r.stderr) ? 'oom' : 'crash');
const deathDetail = (r: ChildResult): string => `child ${r.hung ? 'made no progress and was killed' : `exited with ${r.signal ?? `code ${r.code}`}`}: ${r.stderr.trim().split('\n').slice(-8).join(' | ')}`;

/** Runs cases [from, from + count) in child processes; resolves with the totals and findings. */
export async function runIsolated(o: IsolatedOptions): Promise<{ stats: ElfFuzzStats; findings: Finding[]; seconds: number; restarts: number }> {
  const t0 = Date.now();
  const end = (o.from ?? 0) + o.count;
  const deadline = o.seconds !== undefined ? t0 + o.seconds * 1000 : undefined;
  const stats = emptyStats();
  const findings: Finding[] = [];
  let next = o.from ?? 0;
  let restarts = 0;
  const every = 200;
  while (next < end && (deadline === undefined || Date.now() < deadline)) {
    const r = await runChild(o, next, end - next, every, deadline !== undefined ? deadline - Date.now() : undefined, stats, findings);
    if (r.done) {
      next = r.next;
      break;
    }
    restarts++;
    // Which case killed it: run the cases since its last report again, reporting before each.
    const again = await runChild(o, r.next, Math.min(every, end - r.next), 1, undefined, stats, findings);
    if (again.done) {
      findings.push({ seed: o.seed, case: r.next, kind: deathKind(r), detail: `between cases ${r.next} and ${r.next + every - 1} (not reproduced alone): ${deathDetail(r)}` });
      next = again.next;
    } else {
      findings.push({ seed: o.seed, case: again.next, kind: deathKind(again), detail: deathDetail(again) });
      o.log?.(`finding: case ${again.next} ${deathKind(again)}`);
      next = again.next + 1;
      stats.cases++;
    }
  }
  return { stats, findings, seconds: (Date.now() - t0) / 1000, restarts };
}
