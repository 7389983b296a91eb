// Issue #9, item 5 — bounded work. A program that queues copies of itself meets a cap instead of
// growing memory without bound, and program work is bounded per turn of the event loop, so
// timers, I/O and JS requests keep running and close() ends it. docs/security.md, "Work".
// (How helpers are charged by the work they do: test/security/budget.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ringFor, fifo, CPU_TIME_SCALE } from '../helpers.js';
import { ENGINES, noEngine, ringProgram, selfQueuingProgram, submitAsm } from './asm-programs.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const { name, jit } of ENGINES) {
  test(`a program that queues two copies of itself per run: capped, the loop stays responsive, close() ends it (${name})`, { skip: noEngine, timeout: 30_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = ringFor(t, { cqs: [4] });
    const bomb = ring.registerProgram(selfQueuingProgram(jit)); // program 0 submits program 0, twice
    assert.equal(bomb, 0);
    const rss0 = process.memoryUsage().rss;
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    assert.equal(await ring.runProgram(bomb), 0);
    const t0 = Date.now();
    let nops = 0;
    // 1.5 s, longer where the CPU is emulated until the bomb has met the cap
    while (Date.now() - t0 < 1500 || (Date.now() - t0 < 1500 * CPU_TIME_SCALE && !ring.stats().programSqesRejected)) {
      assert.equal(await ring.nop(), 0); // JS requests keep completing
      nops++;
      await tick(10); // and timers keep firing
    }
    delay.disable();
    const st = ring.stats();
    const grownMiB = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.ok(st.programRuns! > 10_000, `the bomb ran (${st.programRuns} runs)`);
    assert.ok(st.programSqesRejected! > 0, 'submissions past the cap were refused (-EBUSY)');
    assert.ok(grownMiB < 200, `RSS grew ${grownMiB.toFixed(0)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s (the cap bounds it)`);
    assert.ok(nops > 20, `${nops} JS round trips meanwhile`);
    // the loop got control back because the engine yielded (work per turn is bounded); how long a
    // turn takes in wall time depends on the machine and its load, so it is reported, not asserted
    // (bench/stall.ts measures it: docs/benchmarks.md)
    assert.ok(st.passYields! > 0, `the engine yielded to the event loop (${st.passYields} times)`);
    t.diagnostic(`longest event-loop stall ${(delay.max / 1e6).toFixed(1)} ms`);
    const c0 = Date.now();
    await ring.close();
    assert.ok(Date.now() - c0 < 5000 * CPU_TIME_SCALE, 'close() ended the program work');
  });

  test(`many long runs queued at once: a loop turn runs about one budget of instructions, then yields (${name})`, { skip: noEngine, timeout: 30_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = ringFor(t, { cqs: [4], programBudget: 200_000 });
    // ~150k instructions per run
    const spin = ring.registerProgram(ringProgram(`mov %r1, 0
      loop:
      add %r1, 1
      jlt %r1, 50000, loop
      mov %r0, 0
      exit`, jit));
    // a self-rescheduling setImmediate counts the loop turns that ran while the programs did
    let turns = 0;
    let running = true;
    const spinTurns = () => {
      turns++;
      if (running) setImmediate(spinTurns);
    };
    setImmediate(spinTurns);
    const runs = await Promise.all(Array.from({ length: 200 }, () => ring.runProgram(spin)));
    running = false;
    assert.deepEqual(runs, Array(200).fill(0));
    const st = ring.stats();
    // 200 runs × ~150k instructions with a 200k budget per turn: about 2 runs per turn
    assert.ok(st.passYields! >= 50, `turns yielded with programs left to run (${st.passYields})`);
    assert.ok(turns >= 50, `the event loop turned ${turns} times while the 200 runs ran`);
  });
}

for (const { name, jit } of ENGINES) {
  test(`programs' submission-time copies are capped in bytes: 1024-entry READVs parked on a FIFO meet -EBUSY, RSS stays bounded (${name})`, { skip: noEngine, timeout: 60_000 * CPU_TIME_SCALE }, async (t) => {
    const fd = fifo(t).fd; // nobody writes: every READV stays in the kernel
    const ring = ringFor(t, { cqs: [1024] });
    ring.allowFd(fd);
    const data = ring.registerRegion(1024);
    const iov = ring.registerRegion(1024 * 16, { writable: false });
    for (let i = 0; i < 1024; i++) {
      iov.bytes.writeBigUInt64LE(BigInt(data.address + i), i * 16);
      iov.bytes.writeBigUInt64LE(1n, i * 16 + 8);
    }
    // each READV copies its 16 KiB iovec array into engine memory until its CQE
    const p = ring.registerProgram(ringProgram(`mov %r6, %r1
      mov %r7, 0
      loop:
      ${submitAsm({ opcode: 1, fd, addr: BigInt(iov.address), len: 1024, off: -1n, userData: 0xbeefn, cq: 1 })}
      add %r7, 1
      jlt %r7, 1000, loop
      mov %r0, 0
      exit`, jit));
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 6; i++) await ring.runProgram(p);
    const st = ring.stats();
    const refused = ring.cq(1).drain().filter((c) => c.res === -16).length; // -EBUSY
    const grownMiB = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.ok(st.programSqes! >= 3500 && st.programSqes! <= 4200, `${st.programSqes} READVs accepted (64 MiB / 16 KiB = 4096)`);
    assert.ok(st.programSqesRejected! >= 1500, `${st.programSqesRejected} refused past the byte budget`);
    assert.ok(refused > 0 && refused === ring.cq(1).size, `the refusals are -EBUSY CQEs (${refused} fit in CQ 1)`);
    assert.ok(grownMiB < 160, `RSS grew ${grownMiB.toFixed(0)} MiB`);
    await ring.close(); // cancels the parked reads, waits for them
  });
}
