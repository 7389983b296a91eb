// Attack (memory): the cap of 65,536 live program requests (MAX_PROG_REQS) bounds their number,
// not their cost. Each accepted TIMEOUT (likewise READV/WRITEV, OPENAT, STATX) carries a scratch
// buffer of 4096 + 16 KiB + 64 bytes malloc'd by the SQE policy whatever it needs (16 bytes for a
// timespec), kept until the CQE: one program run after another fills the cap with 60 s timeouts,
// and the ring holds ~1.3 GiB of address space and about 300 MiB of RSS (glibc touches a page
// per chunk), per ring. docs/security.md says a program runs "in bounded memory"; this asks that
// the bound be small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, CPU_TIME_SCALE } from '../helpers.js';
import { ENGINES, noEngine, ringProgram, submitAsm } from './asm-programs.js';
import { OP } from './attack-asm.js';

for (const { name, jit } of ENGINES) {
  test(`65,536 program timeouts in flight cost less than 64 MiB of RSS (${name})`, { skip: noEngine, timeout: 60_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = ringFor(t, { cqs: [4] });
    const ts = ring.registerRegion(16, { writable: false });
    ts.bytes.writeBigInt64LE(60n, 0);
    const p = ring.registerProgram(ringProgram(`mov %r6, %r1
      mov %r7, 0
      loop:
      ${submitAsm({ opcode: OP.TIMEOUT, addr: BigInt(ts.address), len: 1, userData: 1n, cq: 1 })}
      add %r7, 1
      jlt %r7, 4000, loop
      mov %r0, 0
      exit`, jit));
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 17; i++) await ring.runProgram(p);
    await new Promise((r) => setTimeout(r, 100));
    const st = ring.stats();
    const grownMiB = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.ok(st.programSqes! >= 65_000, `${st.programSqes} timeouts accepted`);
    assert.ok(grownMiB < 64, `RSS grew ${grownMiB.toFixed(0)} MiB for ${st.programSqes} program timeouts`);
  });
}
