// Verifier: one negative test per rule, asserting the exact message (prefix + pc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, verifyProgram, ProgramError, MapType, type MapInfo, type ProgramKind } from '../../src/programs/index.js';

const ARRAY: MapInfo = { type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 };
const HASH: MapInfo = { type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 };

interface Case {
  rule: string;
  src: string | Uint8Array;
  msg: string;
  maps?: MapInfo[];
  kind?: ProgramKind;
}

const chain = (frames: number): string => {
  let s = 'call local f1\nexit\n';
  for (let i = 1; i < frames; i++) s += `f${i}:\n${i === frames - 1 ? 'mov %r0, 0' : `call local f${i + 1}`}\nexit\n`;
  return s;
};

const CASES: Case[] = [
  { rule: 'empty program', src: new Uint8Array(0), msg: 'verifier: insn 0: empty program' },
  { rule: 'truncated slot', src: new Uint8Array(12), msg: 'verifier: insn 1: truncated instruction (4 trailing bytes)' },
  { rule: 'too long', src: new Uint8Array(8 * 65537), msg: 'verifier: insn 65536: program too long (65537 > 65536 instructions)' },
  { rule: 'unknown opcode', src: '.insn 0xff, 0, 0, 0, 0\nexit', msg: 'verifier: insn 0: unknown opcode 0xff' },
  { rule: 'legacy packet access rejected', src: '.insn 0x20, 0, 0, 0, 0\nexit', msg: 'verifier: insn 0: unknown opcode 0x20' },
  { rule: 'bad discriminator (div offset)', src: 'mov %r0, 1\n.insn 0x3f, 0, 1, 2, 0\nexit', msg: 'verifier: insn 1: invalid off 2 for opcode 0x3f (div; expected 0, 1)' },
  { rule: 'bad byte-swap width', src: 'mov %r0, 1\n.insn 0xdc, 0, 0, 0, 8\nexit', msg: 'verifier: insn 1: invalid imm 8 for opcode 0xdc (be16; expected 16, 32, 64)' },
  { rule: 'bad atomic op', src: 'mov %r0, 1\n.insn 0xdb, 10, 1, -8, 0x10\nexit', msg: 'verifier: insn 1: invalid imm 16 for opcode 0xdb (lock add; expected 0, 1, 64, 65, 80, 81, 160, 161, 225, 241)' },
  { rule: 'bad call source', src: '.insn 0x85, 0, 2, 0, 1\nexit', msg: 'verifier: insn 0: invalid src 2 for opcode 0x85 (call; expected 0, 1)' },
  { rule: 'reserved field nonzero', src: 'mov %r0, 0\n.insn 0x07, 0, 3, 0, 1\nexit', msg: 'verifier: insn 1: add: reserved field src must be 0 (got 3)' },
  { rule: 'reserved field in exit', src: 'mov %r0, 0\n.insn 0x95, 1, 0, 0, 0', msg: 'verifier: insn 1: exit: reserved field dst must be 0 (got 1)' },
  { rule: 'destination register > 10', src: 'mov %r11, 1\nexit', msg: 'verifier: insn 0: invalid destination register r11' },
  { rule: 'source register > 10', src: 'mov %r0, %r12\nexit', msg: 'verifier: insn 0: invalid source register r12' },
  { rule: 'write to r10', src: 'mov %r10, 1\nexit', msg: 'verifier: insn 0: cannot write to r10 (frame pointer is read-only)' },
  { rule: 'load into r10', src: 'ldxdw %r10, [%r1+0]\nexit', msg: 'verifier: insn 0: cannot write to r10 (frame pointer is read-only)' },
  { rule: 'atomic fetch into r10', src: 'lock fetch add [%r1+0], %r10\nexit', msg: 'verifier: insn 0: cannot write to r10 (lock fetch add fetches into its source)' },
  { rule: 'jump out of code', src: 'mov %r0, 0\nja +5\nexit', msg: 'verifier: insn 1: jump out of code to 7' },
  { rule: 'jump before start', src: 'mov %r0, 0\njeq %r0, 0, -3\nexit', msg: 'verifier: insn 1: jump out of code to -1' },
  { rule: 'gotol out of code', src: 'mov %r0, 0\ngotol +100\nexit', msg: 'verifier: insn 1: jump out of code to 102' },
  { rule: 'call out of code', src: 'call local +10\nexit', msg: 'verifier: insn 0: call out of code to 11' },
  { rule: 'jump into ld_imm64', src: 'ja +1\nlddw %r0, 1\nexit', msg: 'verifier: insn 0: jump into the middle of ld_imm64 at 2' },
  { rule: 'call into ld_imm64', src: 'call local +1\nlddw %r0, 1\nexit', msg: 'verifier: insn 0: call into the middle of ld_imm64 at 2' },
  { rule: 'incomplete ld_imm64', src: 'mov %r0, 0\n.insn 0x18, 0, 0, 0, 0', msg: 'verifier: insn 1: incomplete ld_imm64 (second slot missing)' },
  { rule: 'ld_imm64 second slot', src: '.insn 0x18, 0, 0, 0, 0\n.insn 0x07, 0, 0, 0, 0\nexit', msg: 'verifier: insn 1: ld_imm64 second slot must have opcode 0, registers 0 and offset 0' },
  { rule: 'ld_imm64 pseudo source', src: '.insn 0x18, 0, 3, 0, 0\n.insn 0, 0, 0, 0, 0\nexit', msg: 'verifier: insn 0: invalid ld_imm64 source 3 (expected 0, 1, 2, 4, 5 or 6)' },
  { rule: 'map index out of range', src: 'lddw %r1, map_by_idx(2)\nmov %r0, 0\nexit', maps: [ARRAY], msg: 'verifier: insn 0: map index 2 out of range (1 map)' },
  { rule: 'map index without maps', src: 'lddw %r1, map_by_fd(0)\nmov %r0, 0\nexit', msg: 'verifier: insn 0: map index 0 out of range (0 maps)' },
  { rule: 'map reference second slot', src: '.insn 0x18, 1, 5, 0, 0\n.insn 0, 0, 0, 0, 4\nmov %r0, 0\nexit', maps: [ARRAY], msg: 'verifier: insn 0: map reference must have 0 in its second slot (got 4)' },
  { rule: 'map value of a hash map', src: 'lddw %r1, map_value_by_idx(0)+0\nmov %r0, 0\nexit', maps: [HASH], msg: 'verifier: insn 0: map value address needs an array map (map 0 has type 1)' },
  { rule: 'map value offset', src: 'lddw %r1, map_value_by_idx(0)+8\nmov %r0, 0\nexit', maps: [ARRAY], msg: 'verifier: insn 0: map value offset 8 out of range for map 0 (value size 8)' },
  { rule: 'code address out of code', src: 'lddw %r2, code_addr(+10)\nmov %r0, 0\nexit', msg: 'verifier: insn 0: code address out of code to 11' },
  { rule: 'unknown helper', src: 'call 999\nexit', msg: 'verifier: insn 0: unknown helper 999' },
  { rule: 'ring helper in a standard program', src: 'call 165\nexit', msg: 'verifier: insn 0: helper 165 (iouring_emit_cqe) is not allowed in standard programs' },
  { rule: 'sleepable helper in iouring', src: 'call 164\nexit', kind: 'iouring', msg: 'verifier: insn 0: helper 164 (iouring_queue_sqe) is not allowed in iouring programs' },
  { rule: 'kernel helper in conformance', src: 'call 7\nexit', kind: 'conformance', msg: 'verifier: insn 0: helper 7 (bpf_get_prandom_u32) is not allowed in conformance programs' },
  { rule: 'helper map argument', src: 'mov %r1, 0\nmov %r2, %r10\nadd %r2, -4\ncall 1\nexit', msg: 'verifier: insn 3: helper 1 (bpf_map_lookup_elem) arg1 (r1) must be a map reference, got constant 0' },
  { rule: 'helper map type', src: 'lddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -8\nmov %r3, 8\nmov %r4, 0\ncall 130\nexit', maps: [ARRAY], msg: 'verifier: insn 6: helper 130 (bpf_ringbuf_output) arg1 (r1): map 0 has type 2, expected 27' },
  { rule: 'helper key pointer', src: 'lddw %r1, map_by_idx(0)\nmov %r2, 0\ncall 1\nexit', maps: [ARRAY], msg: 'verifier: insn 3: helper 1 (bpf_map_lookup_elem) arg2 (r2) must be a pointer, got constant 0' },
  { rule: 'helper key on the stack out of frame', src: 'lddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -2\ncall 1\nexit', maps: [ARRAY], msg: 'verifier: insn 4: helper 1 (bpf_map_lookup_elem) arg2 (r2): key [r10-2, 4 bytes] outside the 512-byte stack frame' },
  { rule: 'helper value on the stack out of frame', src: 'lddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -4\nmov %r4, 0\ncall 2\nexit', maps: [ARRAY], msg: 'verifier: insn 7: helper 2 (bpf_map_update_elem) arg3 (r3): value [r10-4, 8 bytes] outside the 512-byte stack frame' },
  { rule: 'helper argument not initialized', src: 'call 7\nlddw %r1, map_by_idx(0)\ncall 1\nexit', maps: [ARRAY], msg: 'verifier: insn 3: helper 1 (bpf_map_lookup_elem) arg2 (r2) is not initialized' },
  { rule: 'helper negative size', src: 'mov %r1, %r10\nadd %r1, -8\nmov %r2, -1\ncall 6\nexit', msg: 'verifier: insn 3: helper 6 (bpf_trace_printk) arg2 (r2): negative size -1' },
  { rule: 'helper buffer out of frame', src: 'mov %r1, %r10\nadd %r1, -8\nmov %r2, 16\ncall 6\nexit', msg: 'verifier: insn 3: helper 6 (bpf_trace_printk) arg1 (r1): buffer [r10-8, 16 bytes] outside the 512-byte stack frame' },
  { rule: 'helper ctx argument', src: 'mov %r1, 0\nmov %r2, 0\nmov %r3, 0\nmov %r4, 0\nmov %r5, 0\ncall 165\nexit', kind: 'iouring', msg: 'verifier: insn 5: helper 165 (iouring_emit_cqe) arg1 (r1) must be the program context (r1 at entry), got constant 0' },
  { rule: 'helper callback argument', src: 'mov %r1, 1\nmov %r2, 0\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit', msg: 'verifier: insn 4: helper 181 (bpf_loop) arg2 (r2) must be a callback (code address of a static function), got constant 0' },
  { rule: 'helper ring buffer record', src: 'mov %r1, %r10\nmov %r2, 0\ncall 132\nexit', msg: 'verifier: insn 2: helper 132 (bpf_ringbuf_submit) arg1 (r1) must be a record from bpf_ringbuf_reserve, got a stack pointer' },
  { rule: 'falls off the end', src: 'mov %r0, 0', msg: 'verifier: insn 0: falls through the end of the program (last instruction must be exit or a jump)' },
  { rule: 'conditional falls off the end', src: 'mov %r0, 0\nja +1\nexit\njeq %r0, 0, -2', msg: 'verifier: insn 3: falls through the end of the program (last instruction must be exit or a jump)' },
  { rule: 'falls into a subprogram', src: 'call local +1\nmov %r0, 0\nmov %r0, 1\nexit', msg: 'verifier: insn 1: falls through into subprogram at 2' },
  { rule: 'unreachable code', src: 'mov %r0, 0\nexit\nmov %r0, 1\nexit', msg: 'verifier: insn 2: unreachable instruction' },
  { rule: 'jump across subprograms', src: 'call local +2\nja +2\nexit\nmov %r0, 1\nexit', msg: 'verifier: insn 1: jump from subprogram at 0 into subprogram at 3' },
  { rule: 'recursion', src: 'call local +1\nexit\ncall local -1\nexit', msg: 'verifier: insn 2: recursive call: subprogram at 2 is already on the call chain 0 -> 2' },
  { rule: 'mutual recursion through a callback', src: 'call local f\nexit\nf:\nmov %r1, 1\nlddw %r2, code_addr(f)\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit', msg: 'verifier: insn 3: recursive call: subprogram at 2 is already on the call chain 0 -> 2' },
  { rule: 'call depth', src: chain(9), msg: 'verifier: insn 14: call depth 9 exceeds 8 frames (0 -> 2 -> 4 -> 6 -> 8 -> 10 -> 12 -> 14 -> 16)' },
  { rule: 'stack store below the frame', src: 'stdw [%r10-520], 1\nmov %r0, 0\nexit', msg: 'verifier: insn 0: store to [r10-520, 8 bytes] outside the 512-byte stack frame' },
  { rule: 'stack load above the frame', src: 'ldxw %r0, [%r10+0]\nexit', msg: 'verifier: insn 0: load from [r10+0, 4 bytes] outside the 512-byte stack frame' },
  { rule: 'stack through a derived pointer', src: 'mov %r2, %r10\nadd %r2, -4\nstdw [%r2+0], 1\nmov %r0, 0\nexit', msg: 'verifier: insn 2: store to [r10-4, 8 bytes] outside the 512-byte stack frame' },
  { rule: 'read before write', src: 'mov %r0, %r5\nexit', msg: 'verifier: insn 0: r5 is read before it is written' },
  { rule: 'caller-saved registers clobbered by calls', src: 'mov %r3, 1\ncall 7\nmov %r0, %r3\nexit', msg: 'verifier: insn 2: r3 is read before it is written' },
  { rule: 'exit without r0', src: 'exit', msg: 'verifier: insn 0: r0 is not set before exit' },
  { rule: 'load through a constant', src: 'mov %r1, 0\nldxw %r0, [%r1+0]\nexit', msg: 'verifier: insn 1: load through r1, which holds constant 0' },
  { rule: 'store through a map reference', src: 'lddw %r1, map_by_idx(0)\nstw [%r1+0], 1\nmov %r0, 0\nexit', maps: [ARRAY], msg: 'verifier: insn 2: store through r1, which holds a map reference' },
];

for (const c of CASES) {
  test(`verifier rejects: ${c.rule}`, () => {
    const bytes = typeof c.src === 'string' ? assemble(c.src) : c.src;
    assert.throws(
      () => verifyProgram(bytes, { maps: c.maps ?? [], kind: c.kind ?? 'standard' }),
      (e: unknown) => {
        assert.ok(e instanceof ProgramError, `expected ProgramError, got ${e}`);
        assert.equal(e.code, 'EVERIFY');
        assert.equal(e.message, c.msg);
        assert.equal(e.pc, Number(/insn (\d+)/.exec(c.msg)![1]));
        assert.match(e.message, /^verifier: insn \d+: /);
        return true;
      },
    );
  });
}

test('division and modulo by a constant zero are allowed, with a note', () => {
  const r = verifyProgram(assemble('mov %r0, 7\ndiv %r0, 0\nmod32 %r0, 0\nsdiv %r0, 0\nexit'));
  assert.deepEqual(r.notes, [
    'verifier: insn 1: div by constant zero (RFC 9669: dst becomes 0)',
    'verifier: insn 2: mod32 by constant zero (RFC 9669: dst is left unchanged)',
    'verifier: insn 3: sdiv by constant zero (RFC 9669: dst becomes 0)',
  ]);
});

test('unreachable code can be downgraded to a note', () => {
  const r = verifyProgram(assemble('mov %r0, 0\nexit\nmov %r0, 1\nexit'), { unreachable: 'note' });
  assert.deepEqual(r.notes, ['verifier: insn 2: unreachable instruction', 'verifier: insn 3: unreachable instruction']);
});

test('accepted programs: subprograms, callbacks, stack depth, call depth 8', () => {
  const r = verifyProgram(
    assemble(`
      stdw [%r10-16], 0
      mov %r1, 4
      lddw %r2, code_addr(cb)
      mov %r3, %r10
      add %r3, -16
      mov %r4, 0
      call 181
      call local f
      exit
    f:
      mov %r0, 1
      exit
    cb:
      mov %r0, 0
      exit`),
  );
  assert.deepEqual(r.subprograms, [0, 10, 12]);
  assert.deepEqual(r.stackDepth, [16, 0, 0]);
  assert.equal(r.callDepth, 2);
  assert.deepEqual(r.helpers, [181]);
  assert.equal(verifyProgram(assemble(chain(8))).callDepth, 8);
});

test('a map lookup with a stack key verifies', () => {
  const r = verifyProgram(assemble('stw [%r10-4], 0\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\ncall 1\nmov %r0, 0\nexit'), { maps: [ARRAY] });
  assert.deepEqual(r.helpers, [1]);
  assert.deepEqual(r.stackDepth, [4]);
});

test('an unreachable last instruction that falls off the end is an error even when unreachable code is only noted', () => {
  assert.throws(() => verifyProgram(assemble('mov %r0, 0\nexit\nmov %r0, 1'), { unreachable: 'note' }), {
    message: 'verifier: insn 2: falls through the end of the program (last instruction must be exit or a jump)',
  });
});
