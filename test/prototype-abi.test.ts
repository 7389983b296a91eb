// The prototype ABI details ringflow honours (docs/completion-programs.md, "Prototype
// compatibility"): what a program's return value means, the bpf_v3 kernel's helper ids, the helper
// set of each section kind, and the headers' opcode values. Assembler programs (no clang needed),
// run under the JIT and the interpreter, except the header checks, which compile C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Program, ProgramError, ArrayMap } from '../src/programs/index.js';
import { kindOfSection } from '../src/programs/elf.js';
import { OPS } from '../src/ops/table.js';
import { ringFor, CPU_TIME_SCALE } from './helpers.js';
import { ENGINES, noEngine } from './security/asm-programs.js';
import { skipReason, root, compileRing, rejectsWith, within } from './ring-programs-util.js';

const skip = noEngine;
const counter = () => new ArrayMap({ valueSize: 8, maxEntries: 1 });
/** Counts the program's runs in map 0 (r6 = ctx, r7 = runs so far before this one). */
const COUNT = ['mov %r6, %r1', 'stw [%r10-4], 0', 'lddw %r1, map_by_idx(0)', 'mov %r2, %r10', 'add %r2, -4', 'call 1', 'jne %r0, 0, +2', 'mov %r0, 0', 'exit', 'ldxdw %r7, [%r0+0]', 'mov %r1, %r7', 'add %r1, 1', 'stxdw [%r0+0], %r1'];
const runsOf = (m: ArrayMap) => m.view(0).getBigUint64(0, true);

for (const e of ENGINES) {
  test(`${e.name}: return IORING_BPF_WAIT (1) with wait_nr 0: the wait is satisfied at once and the program runs again`, { skip }, async (t) => {
    const ring = ringFor(t, { cqs: [8] });
    const m = counter();
    // first run: return 1 without setting wait_nr; second run: return 0
    const p = Program.fromAssembly([...COUNT, 'mov %r0, 0', 'jne %r7, 0, +1', 'mov %r0, 1', 'exit'].join('\n'), { kind: 'iouring.s', maps: [m], jit: e.jit });
    assert.equal(await within(ring.runProgram(ring.registerProgram(p)), 5000 * CPU_TIME_SCALE, 'wait 0'), 0);
    assert.equal(runsOf(m), 2n);
  });

  test(`${e.name}: return 0 with wait_nr set waits (ebpf_v2), as IORING_BPF_WAIT does (bpf_v3); OK without wait_nr ends the request`, { skip }, async (t) => {
    for (const ret of [0, 1]) {
      const ring = ringFor(t, { cqs: [8] });
      const m = counter();
      // first run: emit one CQE to CQ 1, ask for 2 there, return `ret`; second run: end with 0
      const p = Program.fromAssembly(
        [...COUNT, 'jne %r7, 0, +10', 'mov %r1, %r6', 'mov %r2, 1', 'mov %r3, 7', 'mov %r4, 0', 'mov %r5, 0', 'call 165', 'stw [%r6+8], 2', 'stw [%r6+12], 1', `mov %r0, ${ret}`, 'exit', 'mov %r0, 0', 'exit'].join('\n'),
        { kind: 'iouring.s', maps: [m], jit: e.jit },
      );
      const emit = Program.fromAssembly('mov %r2, 1\nmov %r3, 8\nmov %r4, 0\nmov %r5, 0\ncall 165\nmov %r0, 0\nexit', { kind: 'iouring', jit: e.jit });
      const done = ring.runProgram(ring.registerProgram(p));
      await new Promise((r) => setTimeout(r, 30 * CPU_TIME_SCALE)); // (its first run: later in a loaded TCG guest)
      assert.equal(runsOf(m), 1n, `return ${ret} + wait_nr 2: still waiting with one CQE on CQ 1`);
      // another program's CQE on CQ 1 completes the wait
      const other = ring.runProgram(ring.registerProgram(emit));
      assert.deepEqual(await within(Promise.all([done, other]), 5000 * CPU_TIME_SCALE, `return ${ret}`), [0, 0]);
      assert.equal(runsOf(m), 2n, 'run again once CQ 1 held 2 CQEs');
    }
  });

  test(`${e.name}: a return value other than IORING_BPF_OK and IORING_BPF_WAIT fails the request with EINVAL`, { skip }, async (t) => {
    const ring = ringFor(t);
    for (const ret of [2, -1, 0x100000000]) {
      const p = Program.fromAssembly(`lddw %r0, ${ret}\nexit`, { kind: 'iouring', jit: e.jit });
      if (ret === 0x100000000) {
        // only the low 32 bits (the int a C program returns) count: 1 << 32 is 0
        assert.equal(await ring.runProgram(ring.registerProgram(p)), 0);
        continue;
      }
      await rejectsWith(ring.runProgram(ring.registerProgram(p)), 'EINVAL');
    }
  });

  test(`${e.name}: the bpf_v3 kernel's helper ids (170 submit, 171 emit, 172 reap, 169 copy_to_user) are the same helpers as 164-167`, { skip }, async (t) => {
    const ring = ringFor(t, { cqs: [8] });
    const region = ring.registerRegion(8);
    const addr = BigInt(region.address);
    const sqe = ['stdw [%r10-64], 0', 'stdw [%r10-56], 0', 'stdw [%r10-48], 0', 'stdw [%r10-40], 0', 'stdw [%r10-32], 9', 'stdw [%r10-24], 0', 'stdw [%r10-16], 0', 'stdw [%r10-8], 0', 'stw [%r10-60], -1', 'sth [%r10-16], 1'];
    const p = Program.fromAssembly(
      [
        'mov %r6, %r1',
        ...sqe, // NOP, user_data 9, CQ 1
        'mov %r1, %r6', 'mov %r2, %r10', 'add %r2, -64', 'mov %r3, 64', 'call 170',
        'mov %r1, %r6', 'mov %r2, 1', 'mov %r3, 5', 'mov %r4, 6', 'mov %r5, 0', 'call 171',
        'mov %r1, %r6', 'mov %r2, 1', 'mov %r3, %r10', 'add %r3, -80', 'mov %r4, 16', 'call 172',
        'stdw [%r10-88], 0x55', `lddw %r1, ${addr}`, 'mov %r2, %r10', 'add %r2, -88', 'mov %r3, 8', 'call 169',
        'mov %r0, 0', 'exit',
      ].join('\n'),
      { kind: 'iouring.s', jit: e.jit },
    );
    assert.match(p.disassemble(), /call 164[\s\S]*call 165[\s\S]*call 166[\s\S]*call 167/, 'the calls are rewritten to ringflow\'s ids');
    assert.equal(await ring.runProgram(ring.registerProgram(p)), 0);
    assert.equal(region.bytes[0], 0x55, 'copy_to_user (169) wrote the region');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(ring.cq(1).drain().map((c) => [c.userData, c.res]), [[9n, 0]], 'the NOP (170) completed on CQ 1; the emitted CQE (171) was reaped (172)');
  });
}

test('section kinds: SEC("iouring/…") may emit and reap only; SEC("iouring.s/…") and the bpf_v3 SEC("iouring") may also submit and copy', { skip }, () => {
  assert.equal(kindOfSection('iouring/x'), 'iouring');
  assert.equal(kindOfSection('iouring.s/x'), 'iouring.s');
  assert.equal(kindOfSection('iouring.s/'), 'iouring.s');
  assert.equal(kindOfSection('iouring'), 'iouring.s');
  assert.equal(kindOfSection('iouringx'), 'standard');
  for (const id of [164, 170, 167, 169, 148]) {
    assert.throws(() => Program.fromAssembly(`mov %r1, 0\nmov %r2, 0\nmov %r3, 0\ncall ${id}\nmov %r0, 0\nexit`, { kind: 'iouring' }), (err: unknown) => err instanceof ProgramError && /may not be called|not allowed|iouring/.test(err.message), `helper ${id} refused in kind iouring`);
  }
  assert.throws(() => Program.fromAssembly('call 170\nmov %r0, 0\nexit', { kind: 'standard' }), ProgramError, 'bpf_v3 ids are no helpers for standard programs');
});

test('headers: the opcodes of ringflow/base.h are the opcode table\'s; IOSQE_* are spelled as liburing spells them', () => {
  const text = readFileSync(join(root, 'include', 'ringflow', 'base.h'), 'utf8');
  const enumValues = new Map([...text.matchAll(/^\s*IORING_OP_(\w+) = (0x[0-9A-Fa-f]+|\d+),/gm)].map((m) => [m[1]!, Number(m[2])]));
  for (const o of OPS) assert.equal(enumValues.get(o.constant), o.code, `IORING_OP_${o.constant}`);
  assert.equal(enumValues.get('BPF'), 0xa0);
  assert.match(text, /#define IOSQE_FIXED_FILE\t\(1U << IOSQE_FIXED_FILE_BIT\)/);
});

test('headers: <ringflow/bpf.h> and <ringflow/liburing_bpf.h> go together in one program, which may define IOSQE_FIXED_FILE itself as the examples do', { skip: skipReason }, () => {
  // compiled by the prototype tests too; here both headers in one program, which must build
  const elf = compileRing('headers.bpf.c', join(root, 'test', 'programs', 'prototype'));
  assert.ok(elf.length > 0);
});
