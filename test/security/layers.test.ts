// Issue 9 item 13 (the ring's part), native layers: the ring core (native/ring.h, ring_core.c)
// is plain C below everything else: it includes no Node-API, no libuv and nothing of the layers
// above it, holds no global state, and a standalone C program sets up a ring, submits NOPs and
// reaps them through it (native/test/ring_core_test.c, under ASan/UBSan when available).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const native = join(root, 'native');
const cc = process.env.CC ?? 'cc';
const haveCc = spawnSync(cc, ['--version']).status === 0;
const noCc = haveCc ? false : `no C compiler (${cc}) to build the core without Node`;

/** Every file a native source includes with "…" (transitively, within native/). */
function includes(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^\s*#\s*include\s*([<"])([^>"]+)[>"]/gm)) {
    if (m[1] === '<') {
      seen.add(`<${m[2]}>`);
      continue;
    }
    const next = join(dirname(file), m[2]!);
    if (existsSync(next)) includes(next, seen);
  }
  return seen;
}

test('the ring core includes no Node-API, no libuv and nothing from the layers above it', () => {
  for (const f of ['ring.h', 'ring_core.c']) {
    const inc = [...includes(join(native, f))].map((p) => (p.startsWith('<') ? p : p.slice(native.length + 1)));
    const above = inc.filter((p) => /node_api|js_native_api|<uv\.h>|common\.h|engine|napi|bpf\//.test(p));
    assert.deepEqual(above, [], `${f} reaches ${above.join(', ')}`);
  }
});

test('the ring core holds no global state (no writable data symbols in its object)', { skip: noCc }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-core-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'ring_core.o');
  const c = spawnSync(cc, ['-std=gnu11', '-O2', '-D_GNU_SOURCE', '-c', join(native, 'ring_core.c'), '-o', out], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  const nm = spawnSync('nm', [out], { encoding: 'utf8' });
  if (nm.status !== 0) return; // binutils absent: the compile above still proved it builds alone
  const writable = nm.stdout.split('\n').filter((l) => /^\S*\s+[BbDdCSsVv]\s/.test(l));
  assert.deepEqual(writable, [], 'writable data in ring_core.o');
});

test('a standalone C program drives a ring through the core API: setup, NOP, reap, eventfd, close', { skip: noCc }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-core-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'ring_core_test');
  const b = spawnSync('bash', [join(root, 'scripts', 'build-core-test.sh'), bin], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  const r = spawnSync(bin, { encoding: 'utf8', timeout: 20_000 });
  if (r.status === 77) return; // io_uring disabled here: the program says why
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^ok {3}plain: CQE user_data 0x1234abcd res 0$/m);
  assert.match(r.stdout, /^PASSED: 0 failure\(s\)$/m);
  assert.doesNotMatch(r.stdout, /^FAIL/m);
});
