// The 2021 prototype's own example programs, compiled from their original sources with only the
// include line changed (issue 10 item 3): when a git snapshot of isilence/liburing is on this
// machine (RINGFLOW_PROTOTYPE_REPO, default /work/.mirror/isilence+liburing/repo) and clang is
// installed, examples/bpf/uring.bpf.c of branches ebpf_v2 and bpf_v3 is read with `git show`
// into a temporary directory (never into the project: its licence is not ours), its includes are
// swapped for ringflow's, and the result runs the scenarios of the examples' host program
// (test/prototype-scenarios.ts) under the JIT and the interpreter. The examples' own
// `#include "uring.h"` stays; ringflow's equivalent (test/programs/prototype/uring.h) answers it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadObject } from '../src/programs/index.js';
import { skipReason, root } from './ring-programs-util.js';
import { ENGINES } from './security/asm-programs.js';
import { scenarioTest, scenarioCounting, scenarioPingpong, scenarioWriteFile } from './prototype-scenarios.js';

const repo = process.env['RINGFLOW_PROTOTYPE_REPO'] ?? '/work/.mirror/isilence+liburing/repo';

/** The one change each tree's source gets: its include lines, replaced by ringflow's header. */
const TREES = [
  { branch: 'ebpf_v2', from: '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_core_read.h>\n', to: '#include <ringflow/prototype.h>\n' },
  { branch: 'bpf_v3', from: '#include "liburing_bpf.h"\n', to: '#include <ringflow/liburing_bpf.h>\n' },
] as const;

function git(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return { ok: r.status === 0, out: r.stdout };
}

const skip: string | false =
  skipReason ||
  (!existsSync(repo)
    ? `no snapshot of the prototype's liburing fork at ${repo} (set RINGFLOW_PROTOTYPE_REPO to a clone of github.com/isilence/liburing)`
    : !TREES.every((t) => git(['cat-file', '-e', `${t.branch}:examples/bpf/uring.bpf.c`]).ok)
      ? `${repo} lacks examples/bpf/uring.bpf.c on branch ebpf_v2 or bpf_v3`
      : false);

const work = skip ? '' : mkdtempSync(join(tmpdir(), 'rf-prototype-src-'));
const objects = new Map<string, Uint8Array>();

/** The original source with only its include lines changed, compiled (once per tree). */
function compiled(tree: (typeof TREES)[number]): Uint8Array {
  const hit = objects.get(tree.branch);
  if (hit) return hit;
  const src = git(['show', `${tree.branch}:examples/bpf/uring.bpf.c`]);
  assert.ok(src.ok, `git show ${tree.branch}:examples/bpf/uring.bpf.c`);
  assert.ok(src.out.startsWith(tree.from), `the ${tree.branch} source starts with its include lines`);
  const changed = tree.to + src.out.slice(tree.from.length);
  const dir = mkdtempSync(join(work, `${tree.branch}-`));
  writeFileSync(join(dir, 'uring.bpf.c'), changed);
  copyFileSync(join(root, 'test', 'programs', 'prototype', 'uring.h'), join(dir, 'uring.h'));
  const o = join(dir, 'uring.bpf.o');
  const r = spawnSync('clang', ['-g', '-O2', '-target', 'bpf', '-I', join(root, 'include'), '-c', join(dir, 'uring.bpf.c'), '-o', o], { encoding: 'utf8' });
  assert.equal(r.status, 0, `clang (${tree.branch}): ${r.stderr}`);
  const elf = readFileSync(o);
  objects.set(tree.branch, elf);
  return elf;
}

for (const tree of TREES) {
  for (const e of ENGINES) {
    const load = () => loadObject(compiled(tree), { jit: e.jit });
    const name = `${tree.branch} original source, ${e.name}`;
    test(`${name}: compiles with only its include changed; its four programs load with the helpers they call`, { skip }, () => {
      const obj = load();
      assert.deepEqual(obj.programs.map((p) => p.name), ['test', 'counting', 'pingpong', 'write_file']);
      for (const p of obj.programs) assert.equal(p.kind, 'iouring.s', `${p.name}: submit and copy helpers allowed in its section`);
    });
    test(`${name}: test`, { skip }, (t) => scenarioTest(t, load()));
    test(`${name}: counting`, { skip }, (t) => scenarioCounting(t, load()));
    test(`${name}: pingpong`, { skip }, (t) => scenarioPingpong(t, load()));
    test(`${name}: write_file`, { skip }, (t) => scenarioWriteFile(t, load()));
  }
}
