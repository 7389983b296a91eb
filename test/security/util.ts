/**
 * Shared by the security tests and tools/fuzz-policy.ts: the one place regions are made (regions
 * are moving to engine-allocated memory with guard pages: switching is this function), SQE
 * bytes, and a program written in assembler that submits an SQE from a region through helper
 * 1000 or 164 — run compiled (JIT) or interpreted.
 */
import { Ring, RingError } from '../../src/index.js';
import { Program } from '../../src/programs/index.js';
import { SQE_SLOTS, type SqeSlot } from '../../src/ops/sqe-fields.js';

/** A region programs may touch, and its address. */
export interface TestRegion {
  bytes: Uint8Array;
  base: bigint;
  length: number;
  writable: boolean;
}

/** Makes and registers a region of `size` bytes (zeroed). Works with a ring that lends programs a
 *  JS view (the view is the region) and with one that allocates the region itself and returns a
 *  `bytes` view of it (engine-owned memory with guard pages). */
export function makeRegion(ring: Ring, size: number, writable = true): TestRegion {
  const view = new Uint8Array(new ArrayBuffer(size));
  const r = ring.registerRegion(view, { writable }) as unknown as { address: number | bigint; bytes?: unknown };
  const bytes = r.bytes instanceof Uint8Array ? r.bytes : view;
  return { bytes, base: BigInt(r.address), length: size, writable };
}

/** 64 SQE bytes: opcode, IOSQE flags, and slot values. */
export function sqeBytes(opcode: number, fields: Partial<Record<SqeSlot, number | bigint>> = {}, flags = 0, userData = 0n): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  b[0] = opcode;
  b[1] = flags;
  for (const [k, x] of Object.entries(fields) as [SqeSlot, number | bigint][]) setSlot(b, k, x);
  v.setBigUint64(32, userData, true);
  return b;
}
export function setSlot(b: Uint8Array, slot: SqeSlot, x: number | bigint): void {
  const { offset, width } = SQE_SLOTS[slot];
  let u = BigInt.asUintN(width * 8, BigInt(x));
  for (let i = 0; i < width; i++, u >>= 8n) b[offset + i] = Number(u & 0xffn);
}
export function getSlot(b: Uint8Array, slot: SqeSlot): bigint {
  const { offset, width } = SQE_SLOTS[slot];
  let u = 0n;
  for (let i = width - 1; i >= 0; i--) u = (u << 8n) | BigInt(b[offset + i]!);
  return u;
}

const E = { EBADF: 9, EACCES: 13, EFAULT: 14, EINVAL: 22 } as const;
export { E as Errno };

/**
 * A program that copies 64 SQE bytes from a region onto its stack and submits them (helper 1000
 * with CQ 1, or 164 with the CQ in bytes 48-49), storing the helper's return in the region.
 */
export class Submitter {
  readonly region: TestRegion;
  readonly index: number;
  readonly modern: boolean;
  #ring: Ring;
  #tag = 0x5ec0_0000n;

  constructor(ring: Ring, options: { jit: boolean; modern?: boolean }) {
    this.#ring = ring;
    this.region = makeRegion(ring, 128);
    const sqe = this.region.base;
    const out = this.region.base + 64n;
    const modern = (this.modern = options.modern ?? true);
    const text = [
      'mov %r6, %r1',
      'mov %r1, %r10', 'add %r1, -64', 'mov %r2, 64', `lddw %r3, ${sqe}`, 'call 148',
      'mov %r1, %r6', 'mov %r2, %r10', 'add %r2, -64', 'mov %r3, 64',
      ...(modern ? ['mov %r4, 1', 'call 1000'] : ['call 164']),
      'stxdw [%r10-72], %r0',
      `lddw %r1, ${out}`, 'mov %r2, %r10', 'add %r2, -72', 'mov %r3, 8', 'call 167',
      'mov %r0, 0', 'exit',
    ].join('\n');
    const p = Program.fromAssembly(text, { kind: 'iouring.s', jit: options.jit });
    if (options.jit && p.jitBytes === 0) throw new Error('the submitter was not compiled by the JIT');
    if (!options.jit && p.jitBytes !== 0) throw new Error('the submitter was compiled although jit: false');
    this.index = ring.registerProgram(p);
  }

  /** Submits `sqe` from the program; resolves with the res of its CQE on CQ 1 (the policy's
   *  refusal, or the kernel's result) and whether the helper accepted it. */
  async submit(sqe: Uint8Array, timeoutMs = 3000): Promise<{ accepted: boolean; res: number }> {
    const ud = ++this.#tag;
    const b = this.region.bytes;
    b.set(sqe, 0);
    new DataView(b.buffer).setBigUint64(32, ud, true);
    if (!this.modern) {
      b[48] = 1; // helper 164 reads the CQ from bytes 48-49 and zeroes them; 1000 takes it as an argument
      b[49] = 0;
    }
    const r = await this.#ring.runProgram(this.index);
    if (r !== 0) throw new RingError(r, 'program');
    const ret = new DataView(b.buffer).getBigInt64(64, true);
    const cq = this.#ring.cq(1);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const c of cq.drain()) if (c.userData === ud) return { accepted: ret === 1n, res: c.res };
      if (Date.now() > deadline) throw new Error(`no CQE for the submitted SQE (op ${sqe[0]}) within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 1));
    }
  }
}
