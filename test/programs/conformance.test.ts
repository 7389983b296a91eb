// Data files (bpf_conformance format: -- asm, -- mem, -- result, -- error, -- map) run through
// the JS API (compiled by the JIT where it applies, and interpreted) and through
// tools/bpf-conformance-plugin (spawned, every file without maps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { parseDataFile, type DataFile } from './datafile.js';
import { assemble, createMap, engineAvailable, Program, ProgramError, runFailure, type BpfMap } from '../../src/programs/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dataDir = join(root, 'test', 'programs', 'data');
const plugin = join(root, 'tools', 'bpf-conformance-plugin');

export function runViaApi(d: DataFile, jit = true): { ok: boolean; out: string } {
  try {
    const maps: BpfMap[] = d.maps.map((m) => createMap(m));
    const prog = new Program(assemble(d.asm, { maps: d.maps.map((m) => m.name) }), { maps, kind: d.maps.length ? 'standard' : 'conformance', unreachable: 'note', jit });
    const r = prog.run(d.mem.length ? d.mem.slice() : null);
    const f = runFailure(r);
    return f ? { ok: false, out: f } : { ok: true, out: r.r0.toString(16) };
  } catch (e) {
    if (!(e instanceof ProgramError)) throw e;
    return { ok: false, out: e.message };
  }
}

const files = readdirSync(dataDir).filter((f) => f.endsWith('.data')).sort();
const skip = engineAvailable() ? false : 'native eBPF engine not built (binding has no bpfProgCreate)';

test('there are data files', () => assert.ok(files.length >= 25));

for (const f of files) {
  const d = parseDataFile(readFileSync(join(dataDir, f), 'utf8'));
  const check = (res: { ok: boolean; out: string }, via: string): void => {
    if (d.error !== undefined) {
      assert.equal(res.ok, false, `${f} via ${via}: expected error "${d.error}", got r0 ${res.out}`);
      assert.ok(res.out.startsWith(d.error), `${f} via ${via}: expected "${d.error}", got "${res.out}"`);
    } else {
      assert.equal(res.ok, true, `${f} via ${via}: ${res.out}`);
      assert.equal(BigInt('0x' + res.out), BigInt.asUintN(64, d.result!), `${f} via ${via}`);
    }
  };
  test(`data ${f} (API)`, { skip }, () => check(runViaApi(d), 'API'));
  test(`data ${f} (API, interpreted)`, { skip }, () => check(runViaApi(d, false), 'API, interpreted'));
  if (d.maps.length === 0)
    test(`data ${f} (plug-in)`, { skip }, () => {
      const hex = [...assemble(d.asm)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      const mem = [...d.mem].map((b) => b.toString(16).padStart(2, '0')).join('');
      const p = spawnSync(plugin, mem ? [mem] : [], { input: hex, encoding: 'utf8' });
      assert.equal(p.error, undefined);
      check({ ok: p.status === 0, out: p.stdout.trim() }, 'plug-in');
    });
}
