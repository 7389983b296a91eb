// Prototype compatibility (issue 10 item 3, docs/completion-programs.md "Prototype compatibility"):
// ringflow's own re-creations of the 2021 prototype's example programs, one in the style of each
// tree (test/programs/prototype/v2_style.bpf.c: ebpf_v2, <ringflow/prototype.h>;
// v3_style.bpf.c: bpf_v3, <ringflow/liburing_bpf.h>), compiled with clang and run, under the JIT
// and the interpreter, with the results the prototype's host program expects.
import { test } from 'node:test';
import { join } from 'node:path';
import { loadObject } from '../src/programs/index.js';
import { skipReason, compileRing, root } from './ring-programs-util.js';
import { ENGINES } from './security/asm-programs.js';
import { scenarioTest, scenarioCounting, scenarioPingpong, scenarioWriteFile } from './prototype-scenarios.js';

const dir = join(root, 'test', 'programs', 'prototype');
const skip = skipReason;

for (const style of ['v2_style', 'v3_style'] as const) {
  const tree = style === 'v2_style' ? 'ebpf_v2' : 'bpf_v3';
  for (const e of ENGINES) {
    const load = () => loadObject(compileRing(`${style}.bpf.c`, dir), { jit: e.jit });
    test(`${tree} style, ${e.name}: test — CQEs emitted to CQ 0 and 1 and reaped, a NOP submitted, user memory read and written, one wait then the rerun ends it`, { skip }, (t) => scenarioTest(t, load()));
    test(`${tree} style, ${e.name}: counting — 11 timeouts submitted one after another, 12 runs`, { skip }, (t) => scenarioCounting(t, load()));
    test(`${tree} style, ${e.name}: pingpong — two program requests bounce a counter between CQs 1 and 2 up to 20`, { skip }, (t) => scenarioPingpong(t, load()));
    test(`${tree} style, ${e.name}: write_file — IOSQE_FIXED_FILE, 4 in flight, 16 blocks of 16 KiB, the file content checked`, { skip }, (t) => scenarioWriteFile(t, load()));
  }
}
