// Bar of issue 3: every instruction of the ISA table is exercised by a data-file test that runs
// (a file with `-- result`, so the instruction really executed and its effect was checked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { assemble, decodeAll, lookupSpec, ISA, type InsnSpec } from '../../src/programs/index.js';
import { parseDataFile } from './datafile.js';

const dataDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'programs', 'data');

test('every ISA table entry appears in a data file that runs to a checked result', () => {
  const hit = new Set<InsnSpec>();
  for (const f of readdirSync(dataDir).filter((n) => n.endsWith('.data'))) {
    const d = parseDataFile(readFileSync(join(dataDir, f), 'utf8'));
    if (d.result === undefined) continue;
    const bytes = assemble(d.asm, { maps: d.maps.map((m) => m.name) });
    for (const x of decodeAll(bytes)) {
      const s = lookupSpec(x);
      if (!('error' in s)) hit.add(s);
    }
  }
  const missing = ISA.filter((s) => !hit.has(s)).map((s) => `${s.mnemonic} (0x${s.opcode.toString(16)})`);
  assert.deepEqual(missing, [], `not exercised by any data file: ${missing.join(', ')}`);
});
