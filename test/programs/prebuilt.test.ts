// The prebuilt completion programs (programs/<name>.bpf.c + .bpf.o, src/programs/builtin.ts):
// shipped so that the bench, the examples and the built-in programs run without a compiler. The
// objects load everywhere; where clang is present (with the major version that built them) they
// are rebuilt by scripts/build-programs.sh and must come out byte for byte the same, as Go's
// bpf2go projects check their generated objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_OBJECTS, builtinObject, builtinObjectDir, type BuiltinObjectName } from '../../src/programs/builtin.js';
import { parseObject, loadObject, engineAvailable } from '../../src/programs/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dir = join(root, 'programs');
const noEngine = engineAvailable() ? false : 'native eBPF engine not built';

/** clang's major version from its --version line ("Debian clang version 14.0.6" → 14). */
function major(versionLine: string): number | undefined {
  const m = /clang version (\d+)\./.exec(versionLine);
  return m ? Number(m[1]) : undefined;
}

const recorded = readFileSync(join(dir, 'clang-version'), 'utf8').trim();
const clang = spawnSync(process.env.CLANG ?? 'clang', ['--version'], { encoding: 'utf8' });
const local = clang.status === 0 ? clang.stdout.split('\n')[0]!.trim() : undefined;
const noRebuild: string | false =
  local === undefined
    ? 'clang not found: the committed objects cannot be rebuilt here (they are used as they are)'
    : major(local) !== major(recorded)
      ? `clang ${major(local)} here ("${local}"), the objects were built with clang ${major(recorded)} ("${recorded}", programs/clang-version): another major version may emit other bytes, so the comparison is skipped`
      : false;

test('every programs/<name>.bpf.c has its committed .bpf.o, and BUILTIN_OBJECTS names exactly those', () => {
  const files = readdirSync(dir);
  const sources = files.filter((f) => f.endsWith('.bpf.c')).map((f) => f.slice(0, -'.bpf.c'.length)).sort();
  const objects = files.filter((f) => f.endsWith('.bpf.o')).map((f) => f.slice(0, -'.bpf.o'.length)).sort();
  assert.deepEqual(objects, sources, 'one object per source');
  assert.deepEqual([...BUILTIN_OBJECTS].sort(), sources);
  assert.equal(builtinObjectDir, join(dir, '/'));
  assert.ok(major(recorded) !== undefined, `programs/clang-version names a clang version: "${recorded}"`);
});

test('the prebuilt objects parse, hold their programs and maps, and name no absolute path', () => {
  for (const name of BUILTIN_OBJECTS) {
    const elf = builtinObject(name);
    assert.ok(Buffer.from(elf).equals(readFileSync(join(dir, `${name}.bpf.o`))));
    const spec = parseObject(elf);
    assert.ok(spec.programs.some((p) => p.name === name), `${name}.bpf.o has program ${name}`);
    assert.ok(spec.maps.some((m) => m.name === 'args'), `${name}.bpf.o has its args map (BTF-defined: .BTF is kept)`);
    // file names in DWARF and .BTF.ext are relative to the repository root (scripts/build-programs.sh)
    const text = Buffer.from(elf).toString('latin1');
    assert.ok(!text.includes(root), `${name}.bpf.o contains the checkout's path ${root}`);
    const paths = [...text.matchAll(/[\x21-\x7e]+\.[ch](?=\0)/g)].map((m) => m[0]);
    assert.ok(paths.includes(`programs/${name}.bpf.c`), `${name}.bpf.o names its source relatively (${paths.join(', ')})`);
    assert.deepEqual(paths.filter((p) => p.startsWith('/')), [], `${name}.bpf.o names absolute paths`);
  }
});

test('the prebuilt objects load and verify (no compiler involved)', { skip: noEngine }, () => {
  for (const name of BUILTIN_OBJECTS) {
    const obj = loadObject(builtinObject(name));
    assert.ok(obj.program(name).insns.length > 0, name);
  }
});

test('builtinObject refuses names it does not ship, naming the ones it does', () => {
  for (const bad of ['nope', '../package', 'chain.bpf', '', 42]) {
    assert.throws(() => builtinObject(bad as BuiltinObjectName), (e: unknown) => e instanceof TypeError && /name must be one of 'chain', 'echo', 'echo_group', 'echo_multi', 'read_open', 'relay'/.test(e.message));
  }
});

test('scripts/build-programs.sh rebuilds every object byte for byte (npm run build:programs after editing a program or include/ringflow/bpf.h)', { skip: noRebuild }, (t) => {
  const out = mkdtempSync(join(tmpdir(), 'rf-prebuilt-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const r = spawnSync('bash', [join(root, 'scripts', 'build-programs.sh'), out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const stale: string[] = [];
  for (const name of BUILTIN_OBJECTS) {
    const built = readFileSync(join(out, `${name}.bpf.o`));
    if (!built.equals(readFileSync(join(dir, `${name}.bpf.o`)))) stale.push(`programs/${name}.bpf.o`);
  }
  assert.deepEqual(stale, [], `${stale.join(', ')}: not what ${local} builds from the sources now; run npm run build:programs and commit the objects`);
});
