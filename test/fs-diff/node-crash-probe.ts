/**
 * Some invalid arguments make node:fs/promises itself abort the process on some Node lines (e.g.
 * Node 20's FileHandle.read with a fractional length trips a C++ CHECK). Such a case cannot run
 * in the test process. This probe runs a case list's node side in a child process
 * (node-crash-probe-child.ts), one case after another, and learns from where a child died which
 * cases kill node; the suite skips exactly those, saying why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const childEntry = fileURLToPath(new URL('./node-crash-probe-child.js', import.meta.url));
const cache = new Map<string, Map<string, string>>();

/** Names of the cases of `list` that kill a node process, with how it died. */
export function nodeKillingCases(list: string): Map<string, string> {
  let found = cache.get(list);
  if (found) return found;
  found = new Map();
  let from = 0;
  // The children's temp areas go under one directory removed here: a child that dies cannot clean up.
  const parent = mkdtempSync(join(tmpdir(), 'rf-fs-diff-probe-'));
  try {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = spawnSync(process.execPath, [childEntry, list, String(from), parent], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const lines = r.stdout.split('\n').filter(Boolean);
    if (r.status === 0 && lines.at(-1) === 'done') break;
    const last = lines.filter((l) => l.startsWith('start ')).at(-1);
    if (!last) throw new Error(`node crash probe: the child died before any case (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(0, 500)}`);
    const [, index, name] = /^start (\d+) (.*)$/.exec(last)!;
    const how = r.signal ? `signal ${r.signal}` : `exit status ${r.status}`;
    const detail = /Assertion failed: .*|CHECK.*failed.*/.exec(r.stderr)?.[0] ?? r.stderr.trim().split('\n')[0] ?? '';
    found.set(name, `${how}${detail ? `: ${detail}` : ''}`);
    from = Number(index) + 1;
  }
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
  cache.set(list, found);
  return found;
}
