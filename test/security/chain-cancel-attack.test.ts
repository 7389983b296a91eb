// Attack on what this session's ring fixes rest on (src/ring/completion.ts #chainProgress, the
// cancel that goes ahead of the JS backlog): a hostile program cancels everything it can name —
// CANCEL_ANY, CANCEL_FD on JS's fd, guessed JS user_data, engine tags — while JS has a skipSuccess()
// step guarded by a link timeout and reads in flight; then more reads than the in-flight limit. A
// program's cancel must not end a JS request, nor make a skipSuccess() step resolve; JS's own
// ring.cancel() then ends every read exactly once, and a careless close() from its callback
// finishes. docs/security.md, "Completions". JIT and interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { op } from '../../src/index.js';
import { ringFor, fifo, CPU_TIME_SCALE } from '../helpers.js';
import { ENGINES, noEngine, ringProgram, submitAsm } from './asm-programs.js';
import { OP, within } from './attack-asm.js';

const CANCEL = { ALL: 1, FD: 2, ANY: 4 } as const; // IORING_ASYNC_CANCEL_* (include/uapi/linux/io_uring.h)
const TAG_HI = 0xa5a5a5a5n << 32n; // the engine's request tags (native/engine_internal.h)
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (e: unknown): string => (e as { code?: string }).code ?? String(e);

for (const { name, jit } of ENGINES) {
  test(`a program cancelling whatever it can name ends no JS request and resolves no skipSuccess() step; ring.cancel() ahead of the backlog ends each read once; close() from its callback finishes (${name})`, { skip: noEngine, timeout: 30_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = ringFor(t, { cqs: [256], entries: 8 });
    t.after(() => ring.unref()); // a close() that hangs must not keep the test process alive
    const { fd } = fifo(t); // empty: reads wait
    let settledEarly = 0;
    const read = () =>
      ring.read(fd, Buffer.alloc(8)).then(
        () => 'read',
        (e) => code(e),
      ).finally(() => settledEarly++);
    // the chain and reads in flight, room left for the program's own request (a program run is a
    // request too: with the in-flight limit reached it would wait in the backlog)
    const chain = ring.chain([op.read(fd, Buffer.alloc(8)).skipSuccess(), op.linkTimeout(150), op.nop()], { link: true });
    const chainOutcome = Promise.allSettled(chain);
    const reads = Array.from({ length: ring.cqEntries - 8 }, read);
    await tick(10);
    // the program: every cancel it can name, into its own CQ
    let body = 'mov %r6, %r1\n';
    let n = 0;
    const cancel = (addr: bigint, opFlags: number, cfd = 0) => (body += submitAsm({ opcode: OP.ASYNC_CANCEL, fd: cfd, addr, opFlags, userData: BigInt(n++), cq: 1 }) + '\n');
    cancel(0n, CANCEL.ANY);
    cancel(0n, CANCEL.FD | CANCEL.ALL, fd);
    for (let i = 0n; i < 16n; i++) {
      cancel((1n << 32n) | i, CANCEL.ALL); // JS user_data: generation 1, slot i
      cancel(TAG_HI | i, 0);
    }
    body += 'mov %r0, 0\nexit';
    assert.equal(await ring.runProgram(ring.registerProgram(ringProgram(body, jit))), 0);
    await tick(30);
    assert.equal(settledEarly, 0, "the program's cancels ended none of JS's reads");
    // the skipSuccess() step ends by its own timer, never as a success
    const [s0, s1, s2] = await chainOutcome;
    assert.equal(s0.status, 'rejected', 'the skipSuccess() read did not succeed');
    assert.equal(code((s0 as PromiseRejectedResult).reason), 'ECANCELED');
    assert.deepEqual(s1, { status: 'fulfilled', value: true }, 'its link timeout fired');
    assert.equal(code((s2 as PromiseRejectedResult).reason), 'ECANCELED');
    assert.equal(settledEarly, 0);
    // more reads than the in-flight limit: some wait in the JS backlog
    reads.push(...Array.from({ length: 16 }, read));
    await tick(10);
    // JS's own cancel: ahead of the backlog, every read once; close() from its callback
    let closing: Promise<void> | undefined;
    const found = await ring.cancel({ fd }, { all: true }).then((k) => {
      closing = ring.close();
      return k;
    });
    assert.equal(found, reads.length);
    const outcomes = await Promise.all(reads);
    for (const o of outcomes) assert.ok(o === 'ECANCELED' || o === 'EINTR', o);
    assert.equal(settledEarly, reads.length, 'each read settled exactly once');
    assert.ok((await within(closing!, 3000)).settled, 'close() from the cancel callback finished');
    assert.equal(ring.pending, 0);
  });
}
