// The promise methods' own path to the ring (src/ring/ring.ts runBuilt(): the checks their builder
// made are not made again) and the SQ room that promise requests and bulk requests now share
// (src/ring/submission.ts, takeRoom), attacked. A hostile program that appends SQEs of its own,
// cancels and forges CQEs under every user_data JS and the bulk queue use settles nothing of
// theirs and leaves the room count right (every request after it completes, once); a careless
// caller whose options getter closes the ring or transfers the buffer between the build and the
// submission gets an error or the bytes, never a write into memory that moved. docs/security.md,
// "The promise methods' path". Program attacks run under the JIT and the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, pattern, patternFd } from '../helpers.js';
import { op, BulkCompletions, RingClosedError } from '../../src/index.js';
import { BULK_TAG } from '../../src/ring/completion.js';
import { ENGINES, noEngine, cancelAndForge } from './asm-programs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const { name, jit } of ENGINES) {
  test(`a program cancelling and forging under every JS and bulk user_data settles nothing, and the shared SQ room stays right (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512], entries: 64 });
    let settled = 0;
    const timers = [ring.timeout(30_000), ring.timeout(30_000)].map((p) => p.then(() => settled++, () => settled++));
    const bulk = ring.bulk({ depth: 256 });
    assert.ok(bulk.push(op.timeout(30_000), 7));
    bulk.submit();
    await sleep(10);
    const targets: bigint[] = [];
    for (let slot = 0n; slot < 8n; slot++)
      for (let gen = 0n; gen < 4n; gen++) {
        targets.push(((gen + 1n) << 32n) | slot); // promise requests: generation over slot
        targets.push((BigInt(BULK_TAG) << 32n) | (gen << 16n) | slot); // bulk requests
      }
    await cancelAndForge(ring, targets, jit);
    await sleep(20);
    assert.equal(settled, 0, 'no promise request settled');
    assert.equal(bulk.ready, 0, 'no bulk completion appeared');
    // promise and bulk requests interleaved past the SQ's 64 entries, after the program's own SQEs
    const out = new BulkCompletions(256);
    const ps: Promise<number>[] = [];
    let pushed = 0;
    for (let i = 0; i < 200; i++) {
      ps.push(ring.nop());
      if (bulk.push(op.nop(), 1000 + i)) pushed++;
      else {
        bulk.submit();
        if (bulk.push(op.nop(), 1000 + i)) pushed++;
      }
    }
    bulk.submit();
    assert.deepEqual(await Promise.all(ps), new Array(200).fill(0));
    let took = 0;
    const tags = new Set<number>();
    for (let round = 0; round < 100 && took < pushed; round++) {
      if (bulk.ready === 0) await bulk.wait(1);
      const n = bulk.take(out);
      for (let i = 0; i < n; i++) {
        assert.equal(out.res[i], 0);
        tags.add(out.tag[i]);
      }
      took += n;
    }
    assert.equal(took, pushed, 'every bulk NOP completed once');
    assert.equal(tags.size, pushed);
    assert.equal(settled, 0, 'the timeouts still wait');
    await ring.close();
    await Promise.all(timers);
    assert.equal(settled, 2, 'close() settles them, once each');
  });
}

/** Options whose `signal` getter runs `act` from its second read on (the builder reads it first; the ring's path after it). */
function optionsActingLate(act: () => void): { readonly signal: undefined } {
  let reads = 0;
  return new (class {
    get signal(): undefined {
      if (++reads >= 2) act();
      return undefined;
    }
  })();
}

test('careless caller: an options getter that closes the ring between the build and the submission: RingClosedError, nothing queued', async (t) => {
  const fd = patternFd(t, 4096);
  const ring = ringFor(t);
  let closing: Promise<void> | undefined;
  const buf = Buffer.alloc(64);
  assert.throws(() => ring.read(fd, buf, 0, optionsActingLate(() => (closing ??= ring.close()))), RingClosedError);
  assert.ok(closing, 'the getter ran after the build');
  await closing;
  assert.equal(ring.pending, 0);
  assert.ok(buf.every((b) => b === 0), 'nothing was read into the buffer');
});

test('careless caller: an options getter that transfers the read buffer between the build and the submission: refused or cloned, the read lands in the buffer it named', async (t) => {
  const fd = patternFd(t, 4096);
  const ring = ringFor(t);
  const buf = new Uint8Array(64);
  let moved: string | undefined;
  const n = await ring.read(
    fd,
    buf,
    0,
    optionsActingLate(() => {
      if (moved !== undefined) return;
      try {
        structuredClone(buf.buffer, { transfer: [buf.buffer] });
        moved = 'cloned';
      } catch {
        moved = 'refused';
      }
    }),
  );
  assert.ok(moved, 'the getter ran after the build');
  assert.equal(n, 64);
  assert.equal(buf.buffer.byteLength, 64, 'the buffer lent to the kernel stayed where it was');
  assert.deepEqual(Buffer.from(buf), pattern(64));
});
