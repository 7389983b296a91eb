// The verifier refuses every way an address the program holds could reach JS or another party
// (issue 9, item 11), as the kernel does for unprivileged programs: r0 at exit, helper arguments
// and the memory helpers read, stores outside the program's own stack, arithmetic and
// comparisons that turn an address into a number. Each refusal asserts its exact message; each
// legitimate shape runs compiled and interpreted and returns its number; a differential run of
// generated programs checks that what the verifier accepts never depends on where memory is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assemble, verifyProgram, Program, ProgramError, ArrayMap, HashMap, RingBufMap, MapType, engineAvailable,
  type MapInfo, type ProgramKind, type RunResult,
} from '../../src/programs/index.js';
import { ringFor, CPU_TIME_SCALE, repeats } from '../helpers.js';
import { leakFuzz } from './leak-fuzz.js';

const ARRAY: MapInfo = { type: MapType.Array, keySize: 4, valueSize: 16, maxEntries: 2 };
const HASH: MapInfo = { type: MapType.Hash, keySize: 4, valueSize: 8, maxEntries: 4 };
const RINGBUF: MapInfo = { type: MapType.RingBuf, keySize: 0, valueSize: 0, maxEntries: 4096 };
const skipRun = engineAvailable() ? false : 'native eBPF engine not built';
const settle = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Refusal {
  what: string;
  src: string;
  msg: string;
  maps?: MapInfo[];
  kind?: ProgramKind;
}

const LOOKUP = 'stw [%r10-4], 0\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\ncall 1'; // r0 = value or NULL, at pc 5
const RESERVE = 'lddw %r1, map_by_idx(0)\nmov %r2, 8\nmov %r3, 0\ncall 131'; // r0 = record or NULL, at pc 4
const EMIT = (r: number, v: string): string => // emit_cqe(ctx, 1, 2, 3, 4) with r<r> = v
  `mov %r6, %r1\n${[1, 2, 3, 4, 5].map((i) => `mov %r${i}, ${i === r ? v : i === 1 ? '%r6' : i - 1}`).join('\n')}\ncall 165\nmov %r0, 0\nexit`;
const FMT_D = 'stw [%r10-8], 0x6425\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 4'; // "%d": one conversion

const REFUSALS: Refusal[] = [
  // ---- 1. r0 at the main program's exit ----
  { what: 'return a stack address', src: 'mov %r0, %r10\nexit', msg: 'verifier: insn 1: r0 leaks addr as return value (it holds a stack pointer)' },
  { what: 'return a derived stack address', src: 'mov %r0, %r10\nadd %r0, -16\nexit', msg: 'verifier: insn 2: r0 leaks addr as return value (it holds a stack pointer)' },
  { what: 'return the context', src: 'mov %r0, %r1\nexit', msg: 'verifier: insn 1: r0 leaks addr as return value (it holds the context)' },
  { what: 'return a map value address', src: 'lddw %r0, map_value_by_idx(0)+8\nexit', maps: [ARRAY], msg: 'verifier: insn 2: r0 leaks addr as return value (it holds a map value pointer)' },
  { what: 'return a map reference', src: 'lddw %r0, map_by_idx(0)\nexit', maps: [ARRAY], msg: 'verifier: insn 2: r0 leaks addr as return value (it holds a map reference)' },
  { what: 'return a code address', src: 'lddw %r0, code_addr(cb)\nexit\ncb:\nmov %r0, 0\nexit', msg: 'verifier: insn 2: r0 leaks addr as return value (it holds a code address)' },
  { what: 'return a lookup result', src: `${LOOKUP}\nexit`, maps: [ARRAY], msg: 'verifier: insn 6: r0 leaks addr as return value (it holds a map value pointer that may be NULL)' },
  { what: 'return a lookup result after its null check', src: `${LOOKUP}\njeq %r0, 0, +1\nexit\nmov %r0, 0\nexit`, maps: [ARRAY], msg: 'verifier: insn 7: r0 leaks addr as return value (it holds a map value pointer)' },
  { what: 'return a ring buffer record', src: `${RESERVE}\nexit`, maps: [RINGBUF], msg: 'verifier: insn 5: r0 leaks addr as return value (it holds a ring buffer record that may be NULL)' },
  { what: 'return an address on one path', src: 'mov %r0, 5\njeq %r2, 0, +1\nmov %r0, %r10\nexit', msg: 'verifier: insn 3: r0 leaks addr as return value (it holds a value that may be an address)' },
  { what: 'return a spilled address', src: 'stxdw [%r10-8], %r10\nldxdw %r0, [%r10-8]\nexit', msg: 'verifier: insn 2: r0 leaks addr as return value (it holds a stack pointer)' },
  { what: 'return half of a spilled address', src: 'stxdw [%r10-8], %r10\nldxw %r0, [%r10-4]\nexit', msg: 'verifier: insn 1: invalid size of register fill: [r10-4, 4 bytes] holds part of a stack pointer' },
  { what: "return an address a subprogram left", src: 'call local f\nexit\nf:\nlddw %r0, map_value_by_idx(0)+0\nexit', maps: [ARRAY], msg: 'verifier: insn 1: r0 leaks addr as return value (it holds a map value pointer)' },
  { what: 'a subprogram returns its stack address', src: 'call local f\nmov %r0, 0\nexit\nf:\nmov %r0, %r10\nexit', msg: 'verifier: insn 4: cannot return stack pointer to the caller (r0 holds a stack pointer)' },
  { what: 'a callback returns its stack address', src: 'mov %r1, 1\nlddw %r2, code_addr(cb)\nmov %r3, 0\nmov %r4, 0\ncall 181\nmov %r0, 0\nexit\ncb:\nmov %r0, %r10\nexit', msg: 'verifier: insn 9: r0 at callback return must be a number, got a stack pointer' },
  { what: 'a callback returns the map value address it was given', src: 'mov %r1, 1\nlddw %r2, code_addr(cb)\nlddw %r3, map_value_by_idx(0)+0\nmov %r4, 0\ncall 181\nmov %r0, 0\nexit\ncb:\nmov %r0, %r2\nexit', maps: [ARRAY], msg: 'verifier: insn 10: r0 at callback return must be a number, got a map value pointer' },
  { what: 'reads a register a call left unset (it may still hold an address)', src: 'mov %r1, %r10\ncall 7\nmov %r0, %r1\nexit', msg: 'verifier: insn 2: r1 is read before it is written' },
  { what: 'conformance programs read r0 only once written', src: 'add %r0, 1\nexit', kind: 'conformance', msg: 'verifier: insn 0: r0 is read before it is written' },

  // ---- 2. helper arguments that are numbers, and memory helpers read ----
  { what: 'emit_cqe user_data is an address', src: EMIT(3, '%r10'), kind: 'iouring', msg: 'verifier: insn 6: helper 165 (iouring_emit_cqe) arg3 (r3) leaks addr into helper function (it holds a stack pointer, data is a number)' },
  { what: 'emit_cqe cq is the context', src: EMIT(2, '%r6'), kind: 'iouring', msg: 'verifier: insn 6: helper 165 (iouring_emit_cqe) arg2 (r2) leaks addr into helper function (it holds the context, cq is a number)' },
  { what: 'emit_cqe res is an address', src: EMIT(4, '%r10'), kind: 'iouring', msg: 'verifier: insn 6: helper 165 (iouring_emit_cqe) arg4 (r4) leaks addr into helper function (it holds a stack pointer, res is a number)' },
  { what: 'emit_cqe flags is an address', src: EMIT(5, '%r10'), kind: 'iouring', msg: 'verifier: insn 6: helper 165 (iouring_emit_cqe) arg5 (r5) leaks addr into helper function (it holds a stack pointer, flags is a number)' },
  { what: 'reap_cqe cq is an address', src: 'mov %r6, %r1\nmov %r2, %r10\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 16\ncall 166\nmov %r0, 0\nexit', kind: 'iouring', msg: 'verifier: insn 5: helper 166 (iouring_reap_cqe) arg2 (r2) leaks addr into helper function (it holds a stack pointer, cq is a number)' },
  { what: 'map_update flags is an address', src: 'stw [%r10-4], 0\nstdw [%r10-16], 0\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -16\nmov %r4, %r10\ncall 2\nexit', maps: [HASH], msg: 'verifier: insn 9: helper 2 (bpf_map_update_elem) arg4 (r4) leaks addr into helper function (it holds a stack pointer, flags is a number)' },
  { what: 'a size is an address', src: 'lddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -8\nmov %r3, %r10\nmov %r4, 0\ncall 130\nexit', maps: [RINGBUF], msg: 'verifier: insn 6: helper 130 (bpf_ringbuf_output) arg3 (r3) leaks addr into helper function (it holds a stack pointer, size is a number)' },
  { what: 'bpf_loop nr_loops is an address', src: 'mov %r1, %r10\nlddw %r2, code_addr(cb)\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit\ncb:\nmov %r0, 1\nexit', msg: 'verifier: insn 5: helper 181 (bpf_loop) arg1 (r1) leaks addr into helper function (it holds a stack pointer, nr_loops is a number)' },
  { what: 'copy_to_user user address is an address the program holds', src: 'mov %r1, %r10\nadd %r1, -8\nmov %r2, %r10\nadd %r2, -16\nmov %r3, 8\ncall 167\nmov %r0, 0\nexit', kind: 'iouring.s', msg: 'verifier: insn 5: helper 167 (bpf_copy_to_user) arg1 (r1) leaks addr into helper function (it holds a stack pointer, uptr is a number)' },
  { what: 'unwind (conformance) of an address', src: 'mov %r1, %r10\ncall 5\nmov %r0, 0\nexit', kind: 'conformance', msg: 'verifier: insn 1: helper 5 (unwind) arg1 (r1) leaks addr into helper function (it holds a stack pointer, value is a number)' },
  { what: 'trace_printk prints an address', src: `${FMT_D}\nmov %r3, %r10\ncall 6\nexit`, msg: 'verifier: insn 5: helper 6 (bpf_trace_printk) arg3 (r3) leaks addr into helper function (it holds a stack pointer, arg1 is a number)' },
  { what: 'trace_printk with a format not known: every argument is read', src: 'ldxw %r3, [%r1+0]\nstxw [%r10-8], %r3\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 4\nmov %r3, 1\nmov %r4, 2\ncall 6\nexit', msg: 'verifier: insn 7: helper 6 (bpf_trace_printk) arg5 (r5) is not initialized' },
  { what: 'ringbuf_output of a spilled address', src: 'stxdw [%r10-8], %r10\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -8\nmov %r3, 8\nmov %r4, 0\ncall 130\nexit', maps: [RINGBUF], msg: 'verifier: insn 7: helper 130 (bpf_ringbuf_output) arg2 (r2) leaks addr into helper function: buffer [r10-8, 8 bytes] holds a stack pointer' },
  { what: 'map_update of a value holding an address', src: 'stw [%r10-4], 0\nstxdw [%r10-16], %r1\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 0\ncall 2\nexit', maps: [HASH], msg: 'verifier: insn 9: helper 2 (bpf_map_update_elem) arg3 (r3) leaks addr into helper function: value [r10-16, 8 bytes] holds the context' },
  { what: 'a map key holding an address', src: 'stxdw [%r10-8], %r10\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -8\ncall 1\nmov %r0, 0\nexit', maps: [{ ...HASH, keySize: 8 }], msg: 'verifier: insn 5: helper 1 (bpf_map_lookup_elem) arg2 (r2) leaks addr into helper function: key [r10-8, 8 bytes] holds a stack pointer' },
  { what: 'an SQE holding an address', src: 'mov %r6, %r1\nstdw [%r10-64], 0\nstdw [%r10-56], 0\nstxdw [%r10-48], %r10\nstdw [%r10-40], 0\nstdw [%r10-32], 0\nstdw [%r10-24], 0\nstdw [%r10-16], 0\nstdw [%r10-8], 0\nmov %r1, %r6\nmov %r2, %r10\nadd %r2, -64\nmov %r3, 64\ncall 164\nmov %r0, 0\nexit', kind: 'iouring.s', msg: 'verifier: insn 13: helper 164 (iouring_queue_sqe) arg2 (r2) leaks addr into helper function: buffer [r10-64, 64 bytes] holds a stack pointer' },
  { what: 'a buffer at a variable offset in a frame holding an address', src: 'stxdw [%r10-8], %r10\nldxb %r3, [%r1+0]\nmov %r2, %r10\nadd %r2, -64\nadd %r2, %r3\nlddw %r1, map_by_idx(0)\nmov %r3, 8\nmov %r4, 0\ncall 130\nexit', maps: [RINGBUF], msg: 'verifier: insn 9: helper 130 (bpf_ringbuf_output) arg2 (r2): buffer at a variable offset or of a variable size in a frame that may hold an address' },
  { what: 'a helper writes over a spilled address', src: 'mov %r6, %r1\nstxdw [%r10-16], %r10\nmov %r1, %r6\nmov %r2, 1\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 16\ncall 166\nmov %r0, 0\nexit', kind: 'iouring', msg: 'verifier: insn 7: helper 166 (iouring_reap_cqe) arg3 (r3): buffer [r10-16, 16 bytes] would overwrite a stack pointer spilled there' },
  { what: 'a buffer a subprogram never wrote (a previous call may have left an address there)', src: 'call local f\nmov %r0, 0\nexit\nf:\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -8\nmov %r3, 8\nmov %r4, 0\ncall 130\nexit', maps: [RINGBUF], msg: 'verifier: insn 9: helper 130 (bpf_ringbuf_output) arg2 (r2): buffer [r10-8, 8 bytes] is not written in this frame' },
  { what: 'a subprogram reads its stack before writing it', src: 'call local f\nexit\nf:\nldxdw %r0, [%r10-8]\nexit', msg: 'verifier: insn 2: invalid read from stack [r10-8, 8 bytes]: not written in this frame' },

  // ---- 3. stores of addresses outside the program's own stack ----
  { what: 'store an address into a map value', src: 'lddw %r1, map_value_by_idx(0)+0\nstxdw [%r1+0], %r10\nmov %r0, 0\nexit', maps: [ARRAY], msg: 'verifier: insn 2: r10 leaks addr into map (it holds a stack pointer; addresses may only be spilled to the program\'s own stack)' },
  { what: 'store an address into a looked-up value', src: `${LOOKUP}\njeq %r0, 0, +1\nstxdw [%r0+8], %r0\nmov %r0, 0\nexit`, maps: [ARRAY], msg: 'verifier: insn 7: r0 leaks addr into map (it holds a map value pointer; addresses may only be spilled to the program\'s own stack)' },
  { what: 'store an address into the context', src: 'stxdw [%r1+0], %r1\nmov %r0, 0\nexit', msg: 'verifier: insn 0: r1 leaks addr into ctx (it holds the context; addresses may only be spilled to the program\'s own stack)' },
  { what: 'store an address into a ring buffer record', src: `${RESERVE}\njeq %r0, 0, +3\nstxdw [%r0+0], %r10\nmov %r1, %r0\nmov %r2, 0\nmov %r0, 0\nexit`, maps: [RINGBUF], msg: 'verifier: insn 6: r10 leaks addr into mem (it holds a stack pointer; addresses may only be spilled to the program\'s own stack)' },
  { what: 'store an address through a number (a registered region)', src: 'ldxdw %r2, [%r1+0]\nstxdw [%r2+0], %r10\nmov %r0, 0\nexit', msg: 'verifier: insn 1: r10 leaks addr into mem (it holds a stack pointer; addresses may only be spilled to the program\'s own stack)' },
  { what: "store an address into the caller's stack", src: 'mov %r1, %r10\nadd %r1, -8\ncall local f\nmov %r0, 0\nexit\nf:\nstxdw [%r1+0], %r10\nmov %r0, 0\nexit', msg: "verifier: insn 5: r10 leaks addr into the caller's stack (it holds a stack pointer; addresses may only be spilled to the program's own stack)" },
  { what: 'store an address at a variable stack offset', src: 'ldxb %r3, [%r1+0]\nmov %r2, %r10\nadd %r2, -64\nadd %r2, %r3\nstxdw [%r2+0], %r10\nmov %r0, 0\nexit', msg: 'verifier: insn 4: r10 leaks addr into the stack at a variable offset (it holds a stack pointer; addresses may only be spilled to the program\'s own stack)' },
  { what: 'spill part of an address', src: 'stxw [%r10-8], %r10\nmov %r0, 0\nexit', msg: 'verifier: insn 0: invalid size of register spill: a stack pointer stored to [r10-8, 4 bytes] (addresses are spilled whole, to 8-byte aligned slots)' },
  { what: 'spill an address misaligned', src: 'stxdw [%r10-12], %r10\nmov %r0, 0\nexit', msg: 'verifier: insn 0: invalid size of register spill: a stack pointer stored to [r10-12, 8 bytes] (addresses are spilled whole, to 8-byte aligned slots)' },
  { what: 'overwrite part of a spilled address', src: 'stxdw [%r10-8], %r10\nstw [%r10-8], 0\nldxdw %r0, [%r10-8]\nexit', msg: 'verifier: insn 1: attempt to corrupt spilled pointer on stack: [r10-8, 4 bytes] overlaps a stack pointer' },
  { what: 'atomic add of an address', src: 'lddw %r1, map_value_by_idx(0)+0\nlock add [%r1+0], %r10\nmov %r0, 0\nexit', maps: [ARRAY], msg: 'verifier: insn 2: r10 leaks addr into mem (lock add of a stack pointer)' },
  { what: 'atomic exchange of an address', src: 'lddw %r1, map_value_by_idx(0)+0\nmov %r2, %r1\nlock xchg [%r1+0], %r2\nmov %r0, 0\nexit', maps: [ARRAY], msg: 'verifier: insn 3: r2 leaks addr into mem (lock xchg of a map value pointer)' },
  { what: 'cmpxchg whose comparand is an address', src: 'lddw %r1, map_value_by_idx(0)+0\nmov %r0, %r10\nmov %r2, 1\nlock cmpxchg [%r1+0], %r2\nmov %r0, 0\nexit', maps: [ARRAY], msg: 'verifier: insn 4: r0 leaks addr into mem (lock cmpxchg compares with a stack pointer)' },
  { what: 'atomic on a spilled address', src: 'stxdw [%r10-8], %r10\nmov %r2, 1\nlock fetch add [%r10-8], %r2\nmov %r0, %r2\nexit', msg: 'verifier: insn 2: lock fetch add on [r10-8, 8 bytes], which holds an address' },

  // ---- 4. arithmetic and comparisons on addresses ----
  { what: '32-bit ALU on an address', src: 'mov %r0, %r10\nadd32 %r0, -8\nexit', msg: 'verifier: insn 1: r0 32-bit pointer arithmetic prohibited (add32 on a stack pointer)' },
  { what: '32-bit ALU with an address operand', src: 'mov %r0, 1\nand32 %r0, %r1\nexit', msg: 'verifier: insn 1: r0 32-bit pointer arithmetic prohibited (and32 on the context)' },
  { what: 'mov32 of an address', src: 'mov32 %r0, %r10\nexit', msg: 'verifier: insn 0: r10 partial copy of pointer (mov32 of a stack pointer)' },
  { what: 'sign extension of an address', src: 'movsx3264 %r0, %r1\nexit', msg: 'verifier: insn 0: r1 sign-extension part of pointer (movsx3264 of the context)' },
  { what: 'pointer minus pointer', src: 'mov %r0, %r10\nsub %r0, %r10\nexit', msg: 'verifier: insn 1: r0 pointer -= pointer prohibited' },
  { what: 'pointer plus pointer', src: 'mov %r0, %r10\nadd %r0, %r1\nexit', msg: 'verifier: insn 1: r0 pointer += pointer prohibited' },
  { what: 'number minus pointer', src: 'mov %r0, 0\nsub %r0, %r1\nexit', msg: 'verifier: insn 1: r0 tried to subtract pointer from scalar' },
  { what: 'and on an address', src: 'mov %r0, %r10\nand %r0, 0xfff\nexit', msg: 'verifier: insn 1: r0 bitwise operator &= on pointer prohibited' },
  { what: 'xor with an address', src: 'mov %r0, 0\nxor %r0, %r10\nexit', msg: 'verifier: insn 1: r0 bitwise operator ^= on pointer prohibited' },
  { what: 'or on an address', src: 'mov %r0, %r1\nor %r0, 0\nexit', msg: 'verifier: insn 1: r0 bitwise operator |= on pointer prohibited' },
  { what: 'shift of an address', src: 'mov %r0, %r10\nrsh %r0, 12\nexit', msg: 'verifier: insn 1: r0 pointer arithmetic with >>= operator prohibited' },
  { what: 'multiplication by an address', src: 'mov %r0, 3\nmul %r0, %r10\nexit', msg: 'verifier: insn 1: r0 pointer arithmetic with *= operator prohibited' },
  { what: 'division of an address', src: 'mov %r0, %r1\ndiv %r0, 4096\nexit', msg: 'verifier: insn 1: r0 pointer arithmetic with /= operator prohibited' },
  { what: 'modulo of an address', src: 'mov %r0, %r1\nmod %r0, 4096\nexit', msg: 'verifier: insn 1: r0 pointer arithmetic with %= operator prohibited' },
  { what: 'negation of an address', src: 'mov %r0, %r10\nneg %r0\nexit', msg: 'verifier: insn 1: r0 pointer arithmetic prohibited (neg on a stack pointer)' },
  { what: 'byte swap of an address', src: 'mov %r0, %r10\nbe64 %r0\nexit', msg: 'verifier: insn 1: r0 pointer arithmetic prohibited (be64 on a stack pointer)' },
  { what: 'arithmetic on a map reference', src: 'lddw %r1, map_by_idx(0)\nadd %r1, 8\nmov %r0, 0\nexit', maps: [ARRAY], msg: 'verifier: insn 2: r1 pointer arithmetic on a map reference prohibited' },
  { what: 'arithmetic on a lookup result before its null check', src: `${LOOKUP}\nadd %r0, 8\nmov %r0, 0\nexit`, maps: [ARRAY], msg: 'verifier: insn 6: r0 pointer arithmetic on a map value pointer that may be NULL prohibited, null-check it first' },
  { what: 'ordered comparison of an address', src: 'mov %r0, 0\njgt %r10, 5, +1\nmov %r0, 1\nexit', msg: 'verifier: insn 1: r10 pointer comparison prohibited (jgt on a stack pointer; only 64-bit == 0 and != 0 are allowed)' },
  { what: 'equality of an address with a number other than 0', src: 'mov %r0, 0\njeq %r1, 4096, +1\nmov %r0, 1\nexit', msg: 'verifier: insn 1: r1 pointer comparison prohibited (jeq on the context; only 64-bit == 0 and != 0 are allowed)' },
  { what: 'jset on an address', src: 'mov %r0, 0\njset %r10, 0x800, +1\nmov %r0, 1\nexit', msg: 'verifier: insn 1: r10 pointer comparison prohibited (jset on a stack pointer; only 64-bit == 0 and != 0 are allowed)' },
  { what: '32-bit null check', src: `${LOOKUP}\njeq32 %r0, 0, +1\nmov %r0, 0\nexit`, maps: [ARRAY], msg: 'verifier: insn 6: r0 pointer comparison prohibited (jeq32 on a map value pointer that may be NULL; only 64-bit == 0 and != 0 are allowed)' },
  { what: 'a number compared with an address', src: 'mov %r0, 0\njlt %r2, %r10, +1\nmov %r0, 1\nexit', msg: 'verifier: insn 1: r10 pointer comparison prohibited (it holds a stack pointer)' },
  { what: 'two addresses of the same kind compared', src: 'lddw %r3, map_value_by_idx(0)+0\nlddw %r4, map_value_by_idx(0)+8\nmov %r0, 0\njgt %r3, %r4, +1\nmov %r0, 1\nexit', maps: [ARRAY], msg: 'verifier: insn 5: r4 pointer comparison prohibited (it holds a map value pointer)' },
  { what: 'a moved address compared with 0 (a guess of the address)', src: 'ldxdw %r2, [%r1+0]\nmov %r3, %r10\nadd %r3, %r2\nmov %r0, 0\njeq %r3, 0, +1\nmov %r0, 1\nexit', msg: 'verifier: insn 4: r3 pointer comparison prohibited (jeq 0 on a stack pointer moved by arithmetic: it would test a guess of the address)' },
  { what: 'a moved context pointer compared with 0', src: 'ldxdw %r2, [%r1+0]\nadd %r1, %r2\nmov %r0, 0\njne %r1, 0, +1\nmov %r0, 1\nexit', msg: 'verifier: insn 3: r1 pointer comparison prohibited (jne 0 on a context pointer moved by arithmetic: it would test a guess of the address)' },
  { what: 'a value that may be an address compared with 0', src: 'mov %r3, 5\njeq %r2, 0, +1\nmov %r3, %r10\nmov %r0, 0\njeq %r3, 0, +1\nmov %r0, 1\nexit', msg: 'verifier: insn 4: r3 pointer comparison prohibited (jeq 0 on a value that may be an address is no null check)' },
  { what: 'an address compared with itself', src: 'mov %r0, 0\njeq %r10, %r10, +1\nmov %r0, 1\nexit', msg: 'verifier: insn 1: r10 pointer comparison prohibited (it holds a stack pointer)' },
];

for (const c of REFUSALS) {
  test(`verifier refuses: ${c.what}`, () => {
    assert.throws(
      () => verifyProgram(assemble(c.src), { maps: c.maps ?? [], kind: c.kind ?? 'standard' }),
      (e: unknown) => {
        assert.ok(e instanceof ProgramError, `expected ProgramError, got ${e}`);
        assert.equal(e.code, 'EVERIFY');
        assert.equal(e.message, c.msg);
        assert.equal(e.pc, Number(/^verifier: insn (\d+): /.exec(e.message)![1]));
        return true;
      },
    );
  });
}

// ---- positive controls: each shape used legitimately runs and returns its number, both ways ----

interface Control {
  what: string;
  src: string;
  want: bigint;
  maps?: () => (ArrayMap | HashMap | RingBufMap)[];
  mem?: () => Uint8Array;
  kind?: ProgramKind;
}
const arrayWith = (v0: bigint): ArrayMap => {
  const m = new ArrayMap({ valueSize: 16, maxEntries: 2 });
  const b = new Uint8Array(16);
  new DataView(b.buffer).setBigUint64(0, v0, true);
  return m.set(0, b);
};
const CONTROLS: Control[] = [
  { what: 'spill and fill of a stack address, then a load through it', src: 'mov %r6, %r10\nadd %r6, -16\nstdw [%r6+0], 41\nstxdw [%r10-8], %r6\nmov %r6, 0\nldxdw %r7, [%r10-8]\nldxdw %r0, [%r7+0]\nadd %r0, 1\nexit', want: 42n },
  { what: 'a stack address kept across a helper call, with arithmetic by numbers', src: 'mov %r6, %r10\nadd %r6, -32\nldxb %r2, [%r1+0]\nadd %r6, %r2\nsub %r6, %r2\nadd %r6, 8\nstdw [%r6+0], 7\ncall 8\nldxdw %r0, [%r10-24]\nexit', want: 7n, mem: () => Uint8Array.of(5) },
  { what: 'a lookup, its null check (NULL returns 0 through r0) and a load', src: `${LOOKUP}\njne %r0, 0, +1\nexit\nldxdw %r0, [%r0+0]\nexit`, want: 99n, maps: () => [arrayWith(99n)] },
  { what: 'a lookup that finds nothing returns the NULL it checked (a number)', src: `${LOOKUP}\njeq %r0, 0, +1\nmov %r0, 5\nexit`, want: 0n, maps: () => [new HashMap({ keySize: 4, valueSize: 8, maxEntries: 4 })] },
  { what: 'a null check of a copy covers the original', src: `${LOOKUP}\nmov %r6, %r0\njeq %r6, 0, +2\nldxdw %r0, [%r0+0]\nexit\nmov %r0, %r0\nexit`, want: 3n, maps: () => [arrayWith(3n)] },
  { what: 'a non-null address compared with 0', src: 'mov %r0, 1\njne %r10, 0, +1\nmov %r0, 2\nexit', want: 1n },
  { what: 'the context compared with 0 (no run memory: r1 is NULL)', src: 'jne %r1, 0, +2\nmov %r0, 7\nexit\nldxb %r0, [%r1+0]\nexit', want: 7n },
  { what: 'the context compared with 0 (with run memory)', src: 'jne %r1, 0, +2\nmov %r0, 7\nexit\nldxb %r0, [%r1+0]\nexit', want: 9n, mem: () => Uint8Array.of(9) },
  { what: 'numbers loaded through addresses are compared, stored and returned', src: 'lddw %r6, map_value_by_idx(0)+0\nldxdw %r2, [%r6+0]\nstxdw [%r1+0], %r2\nlock add [%r6+8], %r2\nldxdw %r0, [%r6+8]\njgt %r0, 10, +1\nexit\nadd %r0, 100\nexit', want: 112n, maps: () => [arrayWith(0n).set(0, Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0))], mem: () => new Uint8Array(8) },
  { what: 'cmpxchg with numbers on a map value', src: 'lddw %r6, map_value_by_idx(0)+0\nmov %r0, 6\nmov %r2, 9\nlock cmpxchg [%r6+0], %r2\nldxdw %r3, [%r6+0]\nadd %r0, %r3\nexit', want: 15n, maps: () => [arrayWith(6n)] },
  { what: 'map update from the stack, numbers only', src: 'stw [%r10-4], 1\nstdw [%r10-16], 77\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 0\ncall 2\nmov %r6, %r0\nstw [%r10-4], 1\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -4\ncall 1\njeq %r0, 0, +2\nldxdw %r0, [%r0+0]\nadd %r0, %r6\nexit', want: 77n, maps: () => [new HashMap({ keySize: 4, valueSize: 8, maxEntries: 4 })] },
  { what: 'ring buffer output of numbers, reserve, null check, submit', src: `stdw [%r10-8], 5\nlddw %r1, map_by_idx(0)\nmov %r2, %r10\nadd %r2, -8\nmov %r3, 8\nmov %r4, 0\ncall 130\nmov %r6, %r0\n${RESERVE}\njeq %r0, 0, +5\nstdw [%r0+0], 6\nmov %r1, %r0\nmov %r2, 0\ncall 132\nmov %r0, 10\nadd %r0, %r6\nexit`, want: 10n, maps: () => [new RingBufMap({ size: 4096 })] },
  { what: 'trace_printk with one conversion (an address in an argument it does not read)', src: `${FMT_D}\nmov %r3, 42\nmov %r4, %r10\ncall 6\nexit`, want: 2n },
  { what: 'a subprogram gets a stack address, writes numbers through it, returns a number', src: 'mov %r1, %r10\nadd %r1, -8\ncall local f\nldxdw %r2, [%r10-8]\nadd %r0, %r2\nexit\nf:\nstdw [%r1+0], 30\nmov %r0, 12\nexit', want: 42n },
  { what: 'a subprogram returns a map value address the caller reads', src: 'call local f\nldxdw %r0, [%r0+0]\nexit\nf:\nlddw %r0, map_value_by_idx(0)+0\nexit', want: 8n, maps: () => [arrayWith(8n)] },
  { what: 'bpf_loop: the callback adds to the caller stack through its context', src: 'stdw [%r10-8], 0\nmov %r1, 4\nlddw %r2, code_addr(cb)\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\ncall 181\nldxdw %r0, [%r10-8]\nexit\ncb:\nldxdw %r3, [%r2+0]\nadd %r3, %r1\nstxdw [%r2+0], %r3\nmov %r0, 0\nexit', want: 6n },
  { what: 'conformance: r0 written before it is read', src: 'mov %r0, 1\nadd %r0, 1\nexit', want: 2n, kind: 'conformance' },
];

for (const c of CONTROLS) {
  test(`verifier accepts, and the program returns its number (JIT and interpreter): ${c.what}`, { skip: skipRun }, () => {
    const results: RunResult[] = [];
    for (const jit of [true, false]) {
      const p = new Program(assemble(c.src), { maps: c.maps?.() ?? [], kind: c.kind ?? 'standard', jit });
      const r = p.run(c.mem?.() ?? null);
      assert.equal(r.status, 'ok', `${c.what} (${jit ? 'JIT' : 'interpreter'}): ${r.status}`);
      assert.equal(r.r0, c.want, `${c.what} (${jit ? 'JIT' : 'interpreter'})`);
      results.push(r);
    }
    assert.equal(results[0]!.insns, results[1]!.insns);
  });
}

test('a ring program emits CQEs with numbers: user_data, res and flags reach JS (JIT and interpreter)', { skip: skipRun }, async (t) => {
  for (const jit of [true, false]) {
    const ring = ringFor(t);
    const got: { userData: bigint; res: number }[] = [];
    ring.onCompletion((c) => got.push({ userData: c.userData, res: c.res }));
    // user_data = ctx->user_data + a number loaded through the context; res = 7
    const p = Program.fromAssembly('mov %r6, %r1\nldxdw %r3, [%r6+0]\nadd %r3, 1\nmov %r1, %r6\nmov %r2, 0\nmov %r4, 7\nmov %r5, 0\ncall 165\nmov %r0, 0\nexit', { kind: 'iouring', jit });
    const idx = ring.registerProgram(p);
    assert.equal(await ring.runProgram(idx, { userData: 41n }), 0);
    await settle(20 * CPU_TIME_SCALE); // (the emitted CQE's delivery: later in a loaded TCG guest)
    assert.deepEqual(got, [{ userData: 42n, res: 7 }], jit ? 'JIT' : 'interpreter');
  }
});

test('generated programs the verifier accepts give the same results wherever the stack, the run memory and the maps are (a fifth under TCG: user space only, run whole on the host)', { skip: skipRun }, () => {
  const s = leakFuzz(repeats(3000), 20250911);
  assert.deepEqual(s.differences, [], s.differences.join('\n\n'));
  assert.ok(s.accepted > s.cases / 10, `only ${s.accepted} of ${s.cases} programs verified`);
  assert.ok(s.refused > s.cases / 10, `only ${s.refused} of ${s.cases} programs refused: the generator should also make leaks`);
});
