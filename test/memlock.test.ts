/**
 * RLIMIT_MEMLOCK as an unprivileged user meets it (uid 65534, limit 0). What counts against it
 * depends on the kernel: ring memory did before 5.12 and again from 6.14 (rings moved to io_uring's
 * region allocator, which charges the creator's locked_vm), not in between (6.1 and 6.12 create a
 * ring with a limit of 0). The test asks the kernel which it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runUnprivileged, NOBODY } from './unprivileged.js';

const index = new URL('../src/index.js', import.meta.url);
const addon = new URL('../../build/Release/ringflow.node', import.meta.url);

test('RLIMIT_MEMLOCK 0, unprivileged: where ring memory counts against it, RingError ENOMEM with a hint to raise it; elsewhere the ring works', (t) => {
  const r = runUnprivileged([index, addon], `
    const { Ring } = await import(${JSON.stringify(index.href)});
    try {
      const ring = new Ring({ entries: 8 });
      const nop = await ring.nop();
      await ring.close();
      console.log(JSON.stringify({ created: true, nop }));
    } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, syscall: e.syscall, hint: e.hint })); }`);
  if ('skip' in r) return t.skip(r.skip);
  const out = r.out as { created?: boolean; nop?: number; name?: string; code?: string; syscall?: string; hint?: string };
  if (out.created) {
    assert.equal(out.nop, 0, 'the ring created under memlock 0 works');
    return t.skip('this kernel does not count ring memory against RLIMIT_MEMLOCK (a ring was created and ran a NOP with a limit of 0, as on 5.12-6.13), so the ENOMEM hint cannot be provoked here');
  }
  assert.deepEqual([out.name, out.code, out.syscall], ['RingError', 'ENOMEM', 'io_uring_setup']);
  assert.match(out.hint!, /RLIMIT_MEMLOCK/);
  assert.match(out.hint!, /ulimit -l/);
});

test('a checkout other users cannot read: the unprivileged child is skipped with the reason, not failed', (t) => {
  if (process.getuid?.() !== 0) return t.skip(`needs root to drop to uid ${NOBODY}`);
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'ringflow-private-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mod = join(dir, 'index.js');
  writeFileSync(mod, 'export const Ring = class {};\n');
  chmodSync(dir, 0o700); // like a home directory: only its owner (root) may enter
  const r = runUnprivileged([mod], `console.log(JSON.stringify({ loaded: true }))`);
  assert.ok('skip' in r, `the child must not run: ${JSON.stringify(r)}`);
  assert.match(r.skip, new RegExp(`uid ${NOBODY} cannot read ${mod.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(EACCES\\)`));
  assert.match(r.skip, /other users cannot read/);
  chmodSync(dir, 0o755);
  assert.deepEqual(runUnprivileged([mod], `console.log(JSON.stringify({ loaded: true }))`), { out: { loaded: true } }, 'readable again: the child runs');
});
