/**
 * Turns a SuiteResult into tables: plain text for the terminal, Markdown for docs/benchmarks.md.
 * Ratios: ringflow ÷ node:fs/promises, ÷ Bun and % of fio for reads on each file system (report-read.ts); % of the C raw-ring loop for
 * NOPs. docs/benchmarks.md keeps hand-written sections; `--write` replaces only the block between
 * the "latest" markers and adds a line to the history block.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { isSkip, repoRoot } from './drivers.js';
import { PROFILES, type Profile, type SuiteResult } from './suite.js';
import { ios, ok, rate, ratio, type Row, type Table } from './report-format.js';
import { readHeadline, readTables } from './report-read.js';
import { readKey } from './read-cells.js';
import { netHeadline, netTables } from './net/report-net.js';
import { fsHeadline, fsTables } from './report-fs.js';

export interface Machine {
  date: string;
  kernel: string;
  node: string;
  cpu: string;
  cores: number;
}

export function machine(at: Date = new Date()): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux /proc */
  }
  return { date: at.toISOString().replace(/\.\d+Z$/, 'Z'), kernel: release(), node: process.version, cpu, cores: cpus().length };
}

export function tables(s: SuiteResult): Table[] {
  const R = s.results;
  const out: Table[] = [];
  const skipNotes = new Set<string>();
  for (const [k, r] of R) if (isSkip(r) && !k.startsWith('net:') && !k.startsWith('read:') && !k.startsWith('fs:')) skipNotes.add(r.skipped); // read, net and fs tables note their own

  if (s.options.groups.has('read')) out.push(...readTables(s));
  if (s.options.groups.has('nop')) {
    const o = s.options;
    const limit = R.get(`nop:c:${o.nopBatch}`);
    const rows: Row[] = [];
    const add = (label: string, key: string) => {
      const r = R.get(key);
      if (r) rows.push([label, rate(r), key === `nop:c:${o.nopBatch}` ? '100 %' : ratio(r, limit, true), ios(r)]);
    };
    add(`ringflow per-op (${o.nopQd} loops of await ring.nop())`, 'nop:perop:fast');
    add(`ringflow batched (${o.nopBatch} nops, then await all)`, 'nop:batched:fast');
    add(`ringflow bulk (ring.bulk(): ${o.nopBatch} pushes, one wait, take())`, 'nop:bulk:fast');
    add(`C raw ring, batch 1`, 'nop:c:1');
    add(`C raw ring, batch ${o.nopQd}`, `nop:c:${o.nopQd}`);
    add(`C raw ring, batch ${o.nopBatch} (the limit)`, `nop:c:${o.nopBatch}`);
    out.push({
      title: 'NOP round trips, ops/s',
      head: ['driver', 'ops/s', `% of C batch ${o.nopBatch}`, 'IOS/call'],
      rows,
      notes: ['C loop: bench/c/nop_loop.c (raw syscalls, no liburing), same setup flags as profile fast, -O2 (built with the addon by `npm install`, else by `cc -O2`).'],
    });
  }
  if (s.options.groups.has('chain')) {
    const rows: Row[] = [];
    const tags: [string, string][] = [
      ['nop', '8 NOPs, injected result picks the next (engine overhead only)'],
      ['nop64', '64 NOPs, the same'],
      ['tmpfs', '8 8-byte READs, file on tmpfs (each read goes through io-wq)'],
      ['disk', '8 8-byte READs, page-cached file in the temp dir (inline)'],
    ];
    for (const [tag, label] of tags) {
      const base = R.get(`chain:${tag}:awaited`);
      if (!base) continue;
      for (const d of ['awaited', 'linked', 'program']) {
        const r = R.get(`chain:${tag}:${d}`);
        const x = ok(r) as (Record<string, number> & { opsPerSec: number }) | undefined;
        rows.push([d === 'awaited' ? label : '', d, rate(r), x ? (x.wakeupsPerChain ?? 0).toFixed(2) : '–', d === 'awaited' ? '1.00×' : ratio(r, base)]);
      }
    }
    out.push({
      title: 'Dependent chains (each step needs the previous result), ops/s',
      head: ['workload', 'driver', 'ops/s', 'JS wakeups/chain', 'vs awaited'],
      rows,
      notes: [
        'awaited: `await` each step in JS; linked: IOSQE_IO_LINK chain with the steps precomputed (links carry no data); program: a completion program (programs/chain.bpf.c) does the whole chain next to the ring, JS wakes once per chain.',
      ],
    });
  }
  if (s.options.profiles) {
    const rows: Row[] = [];
    const prof = (label: string, key: (p: string) => string) => {
      const cells = PROFILES.map((p) => R.get(key(p)));
      if (cells.every((c) => c === undefined)) return;
      const best = Math.max(...cells.map((c) => ok(c)?.opsPerSec ?? 0));
      rows.push([
        label,
        ...cells.map((c) => {
          const x = ok(c);
          if (!x) return rate(c);
          return `${rate(c)} [${ios(c)}]${x.opsPerSec === best ? ' *' : ''}`;
        }),
      ]);
    };
    if (s.options.groups.has('read')) for (const f of s.files) if (!f.skipped) prof(`read QD64 ${f.fsType} (ringflow)`, (p) => readKey(f.kind, 64, 'ringflow', p as Profile));
    if (s.options.groups.has('nop')) {
      prof(`NOP per-op x${s.options.nopQd}`, (p) => `nop:perop:${p}`);
      prof(`NOP batched ${s.options.nopBatch}`, (p) => `nop:batched:${p}`);
      prof(`C raw ring batch ${s.options.nopBatch}`, (p) => (p === 'fast' ? `nop:c:${s.options.nopBatch}` : `nop:c:${s.options.nopBatch}:${p}`));
    }
    if (rows.length) out.push({
      title: 'Setup-flag profiles, ops/s [IOS/call] (* = best)',
      head: ['trial', 'fast (SINGLE_ISSUER|DEFER_TASKRUN|TASKRUN_FLAG)', 'coop (COOP_TASKRUN|TASKRUN_FLAG|SINGLE_ISSUER)', 'plain'],
      rows,
      notes: [],
    });
  }
  if (skipNotes.size) out[out.length - 1]?.notes.push(...[...skipNotes].map((n) => `skipped: ${n}`));
  out.push(...netTables(s));
  if (s.options.groups.has('fs')) out.push(...fsTables(s));
  return out;
}

function widthOf(s: string): number {
  return [...s].length;
}

export function textReport(s: SuiteResult): string {
  const m = machine(s.startedAt);
  const o = s.options;
  const lines = [
    `ringflow bench${o.quick ? ' --quick' : ''}: ${m.date}, Linux ${m.kernel}, Node ${m.node}, ${m.cpu} (${m.cores} cores)`,
    `${o.seconds} s per cell after ${o.warmup} s warm-up, each cell in a fresh process${o.repeat > 1 ? `, median of ${o.repeat} runs (range)` : ''}` +
      `${o.quick ? '; quick subset' : ''}`,
    '',
  ];
  for (const t of tables(s)) {
    lines.push(t.title);
    const w = t.head.map((h, i) => Math.max(widthOf(h), ...t.rows.map((r) => widthOf(r[i] ?? ''))));
    const fmt = (r: Row) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
    lines.push(fmt(t.head), w.map((x) => '-'.repeat(x)).join('  '));
    for (const r of t.rows) lines.push(fmt(r));
    for (const n of t.notes) lines.push(`  ${n}`);
    lines.push('');
  }
  return lines.join('\n');
}

export function markdownReport(s: SuiteResult): string {
  const m = machine(s.startedAt);
  const o = s.options;
  const lines = [
    `Measured ${m.date} by \`ringflow bench${o.quick ? ' --quick' : ''}${o.repeat > 1 ? ` --repeat ${o.repeat}` : ''}\`.`,
    '',
    `| machine | |`,
    `|---|---|`,
    `| date | ${m.date} |`,
    `| kernel | ${m.kernel} |`,
    `| Node | ${m.node} |`,
    `| CPU | ${m.cpu} (${m.cores} cores) |`,
    `| fio | ${s.fio ?? 'not installed'} |`,
    `| cell | ${o.seconds} s after ${o.warmup} s warm-up, fresh process${o.repeat > 1 ? `, median of ${o.repeat} interleaved runs (min–max in brackets)` : ''} |`,
    '',
  ];
  for (const t of tables(s)) {
    lines.push(`#### ${t.title}`, '', `| ${t.head.join(' | ')} |`, `|${t.head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const r of t.rows) lines.push(`| ${r.join(' | ')} |`);
    lines.push('');
    for (const n of t.notes) lines.push(`- ${n}`);
    if (t.notes.length) lines.push('');
  }
  return lines.join('\n');
}

const LATEST = ['<!-- bench:latest:begin (generated by `ringflow bench`; edits inside are replaced) -->', '<!-- bench:latest:end -->'];
const HISTORY = ['<!-- bench:history:begin -->', '<!-- bench:history:end -->'];

export const docsPath = () => join(repoRoot, 'docs', 'benchmarks.md');

/** One history line: date, kernel, the headline numbers. */
function historyLine(s: SuiteResult): string {
  const m = machine(s.startedAt);
  const R = s.results;
  const reads = readHeadline(s);
  const nop = ratio(R.get('nop:batched:fast'), R.get(`nop:c:${s.options.nopBatch}`), true);
  const bulk = ratio(R.get('nop:bulk:fast'), R.get(`nop:c:${s.options.nopBatch}`), true);
  return `- ${m.date}, Linux ${m.kernel}, Node ${m.node}, ${m.cpu}${s.options.quick ? ', quick' : ''}: ${reads ? `${reads}; ` : ''}NOP batched ${nop} (bulk ${bulk}) of the C loop${netHeadline(s)}${fsHeadline(s)}`;
}

function replaceBlock(doc: string, [b, e]: string[], body: string, append: boolean): string {
  const i = doc.indexOf(b);
  const j = doc.indexOf(e);
  if (i < 0 || j < i) return `${doc.trimEnd()}\n\n${b}\n${body}\n${e}\n`;
  const old = doc.slice(i + b.length, j).trim();
  const inner = append && old ? `${old}\n${body}` : body;
  return `${doc.slice(0, i + b.length)}\n${inner}\n${doc.slice(j)}`;
}

/** Updates docs/benchmarks.md: replaces the latest-results block, appends a history line. */
export function writeDocs(s: SuiteResult, path = docsPath()): string {
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n\nResults of `ringflow bench` (bench/).\n\n## Latest results\n';
  doc = replaceBlock(doc, LATEST, markdownReport(s), false);
  doc = replaceBlock(doc, HISTORY, historyLine(s), true);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, doc);
  return path;
}
