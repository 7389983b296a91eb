/**
 * Summary of a `node --test` TAP file (scripts/kernel-suite.sh): the counts, the skip reasons with how
 * many tests each skipped, and every failure with its first error line (last, where a log cut in the
 * middle keeps it). Exits 1 when a test failed or was cancelled, or the file has no totals.
 *   usage: node dist/tools/tap-summary.js <suite.tap>
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TapSummary {
  counts: Record<string, number>;
  failures: { name: string; error: string }[];
  skips: Map<string, string[]>;
}

export function summarizeTap(text: string): TapSummary {
  const lines = text.split('\n');
  const counts: Record<string, number> = {};
  const failures: { name: string; error: string }[] = [];
  const skips = new Map<string, string[]>();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const total = /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\S+)/.exec(l);
    if (total) counts[total[1]!] = Number(total[2]);
    const skip = /^\s*ok \d+ - (.*?) # SKIP ?(.*)$/.exec(l);
    if (skip) {
      const reason = skip[2] || '(no reason given)';
      skips.set(reason, [...(skips.get(reason) ?? []), skip[1]!]);
      continue;
    }
    const fail = /^\s*not ok \d+ - (.*)$/.exec(l);
    if (!fail) continue;
    let error = '';
    for (let j = i + 1; j < Math.min(i + 60, lines.length); j++) {
      const t = lines[j]!.trim();
      if (t === '...') break;
      if (!t.startsWith('error:')) continue;
      const v = t.slice('error:'.length).trim();
      if (/^[|>]-?$/.test(v)) {
        // a block: its first few non-empty lines (an assertion message and the code it quotes)
        const indent = (lines[j + 1] ?? '').search(/\S/);
        const block: string[] = [];
        for (let k = j + 1; k < lines.length && block.length < 3; k++) {
          const b = lines[k]!;
          if (b.trim() && b.search(/\S/) < indent) break;
          if (b.trim()) block.push(b.trim());
        }
        error = block.join(' ');
      } else error = v.replace(/^['"]|['"]$/g, '');
      break;
    }
    failures.push({ name: fail[1]!, error });
  }
  return { counts, failures, skips };
}

export function formatTapSummary(s: TapSummary): string {
  const c = s.counts;
  const out = [`tests ${c.tests ?? '?'}: pass ${c.pass ?? '?'}, fail ${c.fail ?? '?'}, skipped ${c.skipped ?? '?'}, cancelled ${c.cancelled ?? '?'} (${((c.duration_ms ?? 0) / 1000).toFixed(0)} s)`];
  for (const [reason, names] of s.skips) out.push(`SKIP  ${names.length} × ${reason}${names.length <= 3 ? `  [${names.join('; ').slice(0, 200)}]` : ''}`);
  // Failures last, and the counts once more after them: a log cut in its middle (CI keeps the head
  // and the tail) still shows what failed.
  for (const f of s.failures) out.push(`FAIL  ${f.name}${f.error ? `  -- ${f.error.slice(0, 240)}` : ''}`);
  if (s.failures.length || (c.cancelled ?? 0) > 0) out.push(out[0]!);
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tap-summary <suite.tap>');
    process.exit(2);
  }
  const s = summarizeTap(readFileSync(file, 'utf8'));
  console.log(formatTapSummary(s));
  const bad = s.counts.tests === undefined || (s.counts.fail ?? 0) > 0 || (s.counts.cancelled ?? 0) > 0;
  process.exit(bad ? 1 : 0);
}
