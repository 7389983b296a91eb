/** What the attacks on programs' multishot requests share (test/security/multishot-attack.test.ts,
 *  test/security/park-attack.test.ts): test/programs/ring/attack_multi_flood.c run on a socket, its
 *  gate commands and its log. */
import type { TestContext } from 'node:test';
import { closeSync, fstatSync } from 'node:fs';
import { ringFor, requireOp } from '../helpers.js';
import { compileRing, mapView } from '../ring-programs-util.js';
import { loadObject } from '../../src/programs/index.js';
import { listener, acceptedPair, Client, eventually, ringGroup } from '../net-programs-util.js';
import type { BufferGroup, Ring } from '../../src/index.js';

export const F_BUFFER = 1;
export const F_MORE = 2;
export const F_BUF_MORE = 16;
export const E = { EINVAL: -22, EACCES: -13, ENOBUFS: -105, ECANCELED: -125 } as const;
export const KIND = { RECV: 0, ACCEPT: 1, BUNDLE: 2, TIMEOUT: 4 } as const;
/** Gate user_data: what the program does next (attack_multi_flood.c). */
export const CMD = { END: 1, CANCEL: 2, READ: 3, EMIT: 4, CLOSE: 6 } as const;

export const isOpen = (fd: number): boolean => { try { fstatSync(fd); return true; } catch { return false; } };
export const parkedNow = (ring: Ring): number => ring.stats().parkedCqes ?? 0;
export const dropped = (ring: Ring): number => ring.stats().droppedCqes ?? 0;

export function setup(t: TestContext): Ring | undefined {
  const ring = ringFor(t);
  return requireOp(t, ring, 'socket') ? ring : undefined;
}


/** A ring and a connected pair whose ring-side fd programs may name (and, with `g`, a granted group). */
export async function pair(t: TestContext, g?: { count: number; size: number; incremental?: boolean }) {
  const ring = setup(t);
  const group_ = ring && g ? ringGroup(t, ring, g) : undefined;
  if (!ring || (g && !group_)) return undefined;
  const l = await listener(ring);
  t.after(() => closeSync(l.fd));
  const { fd, client } = await acceptedPair(ring, l);
  t.after(() => { client.socket.destroy(); closeSync(fd); });
  ring.allowFd(fd);
  if (group_) ring.allowBufferGroup(group_);
  return { ring, g: group_!, l, fd, client };
}

/** Writes messages from..to-1, each once `done(i)` says the engine has its CQE. */
export async function feed(client: Client, from: number, to: number, done: (i: number) => boolean): Promise<void> {
  for (let i = from; i < to; i++) {
    client.socket.write(msg(i));
    await eventually(() => done(i), 5000, `the CQE of message ${i}`);
  }
}

export type Opts = { kind: number; n: number; cqSize: number; rounds?: number; group?: BufferGroup; ts?: bigint };

/** Runs attack_multi_flood.c on `fd`; its args (u32/u64 at byte offsets) and log, and its gate. */
export function attack(ring: Ring, jit: boolean, fd: number, o: Opts) {
  const obj = loadObject(compileRing('attack_multi_flood.c'), { jit });
  const idx = ring.registerProgram(obj.program('attack_multi_flood'));
  const cq = ring.createCq(o.cqSize);
  const gate = ring.createCq(64);
  const a = mapView(obj, 'args');
  a.setInt32(0, fd, true);
  for (const [at, v] of [[4, cq], [8, gate], [12, o.group?.id ?? 0], [16, o.kind], [20, o.n], [24, o.rounds ?? 1]]) a.setUint32(at!, v!, true);
  a.setBigUint64(120, o.ts ?? 0n, true);
  const run = ring.runProgram(idx);
  run.catch(() => undefined); // a ring closed under it rejects it (EAGAIN)
  const u64 = (at: number): number => Number(a.getBigInt64(at, true));
  return {
    cq, gate, run, a, u64,
    done: () => a.getUint32(28, true),
    armed: () => a.getUint32(108, true) === 1,
    entries: (from = 0, to = u64(32)) =>
      Array.from({ length: to - from }, (_, i) => {
        const e = mapView(obj, 'entries', (from + i) & 1023);
        return { res: e.getInt32(0, true), flags: e.getUint32(4, true), ud: e.getBigUint64(8, true), head: e.getBigUint64(16, true) };
      }),
    cmd: (ud: number) => ring.nop({ cq: gate, userData: ud }),
    /** CMD.READ until the program has read `n` CQEs in all. */
    read: async (n: number, what = `${n} CQEs read`) => {
      await ring.nop({ cq: gate, userData: CMD.READ });
      await eventually(() => u64(32) >= n, 8000, what);
    },
  };
}

/** A program SQE (64 bytes): opcode, flags, ioprio, fd, then `set` for the rest. */
export function sqe(op: number, flags: number, ioprio: number, fd: number, set?: (v: DataView) => void): Uint8Array {
  const s = new Uint8Array(64);
  const v = new DataView(s.buffer);
  s[0] = op;
  s[1] = flags;
  v.setUint16(2, ioprio, true);
  v.setInt32(4, fd, true);
  set?.(v);
  return s;
}

export function msg(i: number): Buffer {
  const m = Buffer.alloc(16);
  m.writeBigUInt64LE(BigInt(0x1000 + i), 0);
  return m;
}
