/**
 * Completion programs written with ringflow's assembler for the security tests (no clang needed),
 * each created twice: compiled by the JIT and interpreted, so every attack runs against both.
 */
import assert from 'node:assert/strict';
import { Program, engineAvailable } from '../../src/programs/index.js';
import type { Ring } from '../../src/index.js';
import { ringInternals } from '../../src/ring/ring.js';
import { CPU_TIME_SCALE } from '../helpers.js';

/** Why the program tests skip (false: they run). */
export const noEngine: string | false = engineAvailable() ? false : 'native eBPF engine not built';

/** The two execution engines every program attack runs under. */
export const ENGINES = [
  { name: 'JIT', jit: true },
  { name: 'interpreter', jit: false },
] as const;

/** A ring program (kind iouring.s: every ring helper) from assembler text. */
export function ringProgram(text: string, jit: boolean): Program {
  return Program.fromAssembly(text, { kind: 'iouring.s', jit });
}

/** SQE field offsets (struct io_uring_sqe). */
export const SQE = { opcode: 0, flags: 1, fd: 4, off: 8, addr: 16, len: 24, opFlags: 28, userData: 32, cq: 48 } as const;

export interface SqeFields {
  opcode: number;
  /** IOSQE_* bits (byte 1) */
  flags?: number;
  fd?: number;
  off?: bigint;
  addr?: bigint;
  len?: number;
  opFlags?: number;
  userData?: bigint;
  /** cq_idx (byte 48, helper 164) */
  cq?: number;
}

/**
 * Assembler that builds an SQE in the frame at [r10-64, r10) and submits it with helper 164
 * (r6 must hold ctx). Clobbers r1-r5.
 */
export function submitAsm(f: SqeFields): string {
  const lines: string[] = [];
  for (let o = 0; o < 64; o += 8) lines.push(`stdw [%r10-${64 - o}], 0`);
  const at = (off: number) => `[%r10-${64 - off}]`;
  lines.push(`stb ${at(SQE.opcode)}, ${f.opcode}`);
  if (f.flags !== undefined) lines.push(`stb ${at(SQE.flags)}, ${f.flags}`);
  if (f.fd !== undefined) lines.push(`stw ${at(SQE.fd)}, ${f.fd}`);
  const u64 = (off: number, v: bigint | undefined) => {
    if (v === undefined) return;
    lines.push(`lddw %r2, ${BigInt.asIntN(64, v)}`, `stxdw ${at(off)}, %r2`);
  };
  u64(SQE.off, f.off);
  u64(SQE.addr, f.addr);
  u64(SQE.userData, f.userData);
  if (f.len !== undefined) lines.push(`stw ${at(SQE.len)}, ${f.len}`);
  if (f.opFlags !== undefined) lines.push(`stw ${at(SQE.opFlags)}, ${f.opFlags}`);
  if (f.cq !== undefined) lines.push(`sth ${at(SQE.cq)}, ${f.cq}`);
  lines.push('mov %r1, %r6', 'mov %r2, %r10', 'add %r2, -64', 'mov %r3, 64', 'call 164');
  return lines.join('\n');
}

/** IORING_OP_BPF (ringflow's value, docs/completion-programs.md). */
export const OP_BPF = 0xa0;

/** A program that queues two copies of itself (program 0, so register it first) per run: the engine always has work. */
export function selfQueuingProgram(jit: boolean): Program {
  return ringProgram(`mov %r6, %r1
    ${submitAsm({ opcode: OP_BPF, off: 0n, userData: 1n })}
    ${submitAsm({ opcode: OP_BPF, off: 0n, userData: 2n })}
    mov %r0, 0
    exit`, jit);
}

/** Assembler that emits a CQE { data, res } to CQ `cq` with helper 165 (r6 = ctx). */
export function emitAsm(cq: number, data: bigint, res: number): string {
  return [`mov %r1, %r6`, `mov %r2, ${cq}`, `lddw %r3, ${BigInt.asIntN(64, data)}`, `mov %r4, ${res}`, `mov %r5, 0`, `call 165`].join('\n');
}

const ASYNC_CANCEL = 14;

/** Every user_data JS could be using on a young ring: slots 0..31 × generations 1..4. */
export function jsUserData(): bigint[] {
  const targets: bigint[] = [];
  for (let slot = 0n; slot < 32n; slot++) for (let gen = 1n; gen <= 4n; gen++) targets.push((gen << 32n) | slot);
  return targets;
}

/** jsUserData() and, since a busy slot's generation climbs past 4, every request of `ring` in flight now and the next three generations of its slot. */
export function attackTargets(ring: Ring): bigint[] {
  const all = new Set(jsUserData());
  for (const u of ringInternals(ring).selectRequests(() => true, 32)) for (let g = 0n; g < 4n; g++) all.add(u + (g << 32n));
  return [...all];
}

/**
 * Runs a program (JIT or interpreter) on `ring` (which has an extra CQ 1) that, for each of
 * `targets`, submits an ASYNC_CANCEL naming it and emits a CQE under it with `flags` and `res` to the
 * programs' CQ 0. Asserts what isolation promises: every cancel finds nothing (-ENOENT on CQ 1)
 * and every forged CQE reaches the programs' CQ 0 (ring.onCompletion), no JS request.
 */
export async function cancelAndForge(ring: Ring, targets: readonly bigint[], jit: boolean, flags = 0, res = 0): Promise<void> {
  let code = 'mov %r6, %r1\n';
  let n = 0;
  for (const target of targets) {
    code += submitAsm({ opcode: ASYNC_CANCEL, fd: 0, addr: target, userData: BigInt(n++), cq: 1 }) + '\n';
    // helper 165 (emit): r2 cq, r3 user_data, r4 res, r5 flags
    code += emitAsm(0, target, res).replace('mov %r5, 0', `mov %r5, ${flags}`) + '\n';
  }
  code += 'mov %r0, 0\nexit';
  const seenByJs: bigint[] = [];
  ring.onCompletion((c) => seenByJs.push(c.userData));
  assert.equal(await ring.runProgram(ring.registerProgram(ringProgram(code, jit))), 0);
  const deadline = Date.now() + 2000 * CPU_TIME_SCALE;
  while (ring.cq(1).ready < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const got = ring.cq(1).drain();
  assert.equal(got.length, n);
  for (const c of got) assert.equal(c.res, -2, `cancel ${c.userData} found nothing`);
  assert.equal(seenByJs.length, n, "the forged CQEs went to the programs' CQ 0 (onCompletion), not to a JS request");
}
