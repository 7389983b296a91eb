// Attack on requests that name other requests (TIMEOUT_REMOVE, POLL_REMOVE, ASYNC_CANCEL: the
// table's namesRequest) with the program engine on: a hostile program removes, updates and cancels
// whatever it can name (every JS user_data a young ring could use, raw engine tags) while JS has
// timers and a poll in flight at its in-flight limit. Nothing of JS's may end: the engine
// translates a naming request's target within its submitter's own requests, and POLL_REMOVE is
// no program's to submit. Then JS's own removes and updates, which go ahead of its backlog, reach
// their requests through the engine's tags (a poll remove found nothing before the engine
// translated it), each request settles once, and close() from a remove's callback finishes.
// docs/security.md, "Completions". JIT and interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { POLL } from '../../src/index.js';
import { ringFor, fifo, CPU_TIME_SCALE } from '../helpers.js';
import { ENGINES, noEngine, ringProgram, submitAsm, attackTargets } from './asm-programs.js';
import { within } from './attack-asm.js';

const OP = { POLL_REMOVE: 7, TIMEOUT_REMOVE: 12, ASYNC_CANCEL: 14 } as const; // include/uapi/linux/io_uring.h
const TAG_HI = 0xa5a5a5a5n << 32n; // the engine's request tags (native/engine_internal.h)
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (e: unknown): string => (e as { code?: string }).code ?? String(e);

for (const { name, jit } of ENGINES) {
  test(`a program removing, updating and cancelling whatever it can name ends no JS timer or poll; JS's removes ahead of its backlog reach theirs through the engine; close() from a remove's callback finishes (${name})`, { skip: noEngine, timeout: 30_000 * CPU_TIME_SCALE }, async (t) => {
    const ring = ringFor(t, { cqs: [1024], entries: 8 });
    t.after(() => ring.unref());
    const { fd } = fifo(t); // empty: the poll waits
    let settled = 0;
    const track = <T>(p: Promise<T>) => p.then((v) => v, code).finally(() => settled++);
    const poll = ring.pollAdd(fd, POLL.IN);
    const timers = Array.from({ length: ring.cqEntries - 2 }, () => ring.timeout(60_000)); // room for the program's own request
    const outcomes = [track(poll), ...timers.map(track)];
    await tick(10);
    let body = 'mov %r6, %r1\n';
    let n = 0;
    const targets = [...attackTargets(ring), ...Array.from({ length: 16 }, (_, i) => TAG_HI | BigInt(i))];
    for (const target of targets) {
      body += submitAsm({ opcode: OP.TIMEOUT_REMOVE, fd: 0, addr: target, userData: BigInt(n++), cq: 1 }) + '\n';
      body += submitAsm({ opcode: OP.TIMEOUT_REMOVE, fd: 0, addr: target, opFlags: 2 /* UPDATE */, userData: BigInt(n++), cq: 1 }) + '\n';
      body += submitAsm({ opcode: OP.POLL_REMOVE, fd: 0, addr: target, userData: BigInt(n++), cq: 1 }) + '\n';
      body += submitAsm({ opcode: OP.ASYNC_CANCEL, fd: 0, addr: target, userData: BigInt(n++), cq: 1 }) + '\n';
    }
    body += 'mov %r0, 0\nexit';
    assert.equal(await ring.runProgram(ring.registerProgram(ringProgram(body, jit))), 0);
    const deadline = Date.now() + 5000 * CPU_TIME_SCALE; // (a loaded TCG guest is slower)
    while (ring.cq(1).ready < n && Date.now() < deadline) await tick(2);
    const got = ring.cq(1).drain();
    assert.equal(got.length, n, 'every request of the program answered, on its own CQ');
    for (const c of got) assert.ok(c.res < 0, `program request ${c.userData} found or did something: ${c.res}`);
    await tick(20);
    assert.equal(settled, 0, "the program's requests ended none of JS's");
    // more than the in-flight limit: requests wait in JS's backlog; JS's removes go ahead of it
    const backlogged = Array.from({ length: 4 }, () => ring.timeout(60_000));
    outcomes.push(...backlogged.map(track));
    assert.equal(await within(ring.pollRemove(poll), 3000).then((w) => w.settled), true, 'the poll remove reached the poll');
    assert.equal(await outcomes[0], 'ECANCELED');
    assert.equal(await within(ring.timeoutUpdate(timers[0], 1), 3000).then((w) => w.settled), true);
    assert.equal(await outcomes[1], true, 'the updated timer fired');
    // the rest: removed one by one, close() from the first remove's callback
    let closing: Promise<void> | undefined;
    await ring.timeoutRemove(timers[1]).then(() => {
      closing = ring.close();
    });
    const all = await Promise.all(outcomes);
    assert.equal(all[2], 'ECANCELED');
    for (const o of all.slice(3)) assert.ok(o === 'ECANCELED' || o === 'ERR_RING_CLOSED', String(o));
    assert.equal(settled, outcomes.length, 'each settled exactly once');
    assert.ok((await within(closing!, 3000)).settled, "close() from the remove's callback finished");
    assert.equal(ring.pending, 0);
  });
}
