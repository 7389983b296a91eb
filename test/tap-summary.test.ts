/**
 * tools/tap-summary.ts, which CI prints after each kernel guest's run: its output is kept only in
 * part (the head and the tail), so the failures come last, followed by the counts again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTapSummary, summarizeTap } from '../tools/tap-summary.js';

const tap = [
  'TAP version 13',
  'ok 1 - fine',
  'ok 2 - skipped one # SKIP kernel probe says no',
  'not ok 3 - broken',
  '  ---',
  "  error: 'Expected values to be strictly equal'",
  '  ...',
  'not ok 4 - blocky',
  '  ---',
  '  error: |-',
  '    first line',
  '    second line',
  '  ...',
  '# tests 4',
  '# pass 1',
  '# fail 2',
  '# skipped 1',
  '# cancelled 0',
  '# duration_ms 1500',
].join('\n');

test('failures come after the skips, with their first error lines, and the counts close the summary', () => {
  const s = summarizeTap(tap);
  assert.equal(s.failures.length, 2);
  const lines = formatTapSummary(s).split('\n');
  assert.match(lines[0]!, /^tests 4: pass 1, fail 2, skipped 1, cancelled 0 \(2 s\)$/);
  assert.equal(lines[1], 'SKIP  1 × kernel probe says no  [skipped one]');
  assert.equal(lines[2], 'FAIL  broken  -- Expected values to be strictly equal');
  assert.equal(lines[3], 'FAIL  blocky  -- first line second line');
  assert.equal(lines[4], lines[0]);
  assert.equal(lines.length, 5);
});

test('a clean run ends with its skips and prints the counts once', () => {
  const clean = tap.replace(/not ok \d+ - \w+\n(?:  .*\n)*?  \.\.\.\n/g, '').replace('# fail 2', '# fail 0');
  const lines = formatTapSummary(summarizeTap(clean)).split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /fail 0/);
});
