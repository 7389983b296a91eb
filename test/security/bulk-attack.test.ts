// Completions in bulk (src/ring/bulk.ts), attacked. A hostile program cannot end, feed or cancel a
// JS bulk request: its cancels name user_data that is not its own (the engine finds nothing), and the
// CQEs it posts under BULK_TAG user_data go to the programs' CQs, never through the bulk queue. A
// careless caller cannot move the memory of a pushed read away (the buffer is untransferable while
// the kernel may write it). docs/security.md, "Completions in bulk". Programs under JIT and interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor } from '../helpers.js';
import { op, BulkCompletions } from '../../src/index.js';
import { BULK_TAG } from '../../src/ring/completion.js';
import { ENGINES, noEngine, cancelAndForge } from './asm-programs.js';


for (const { name, jit } of ENGINES) {
  test(`a program can neither cancel nor complete a JS bulk request: its cancels find nothing, its forged CQEs reach no bulk slot (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [256] });
    const bulk = ring.bulk({ depth: 16 });
    for (let tag = 0; tag < 4; tag++) assert.equal(bulk.push(op.timeout(60_000), tag), true);
    bulk.submit();
    // every bulk user_data of slots 0..15, generations 0..1: cancel it, and post a CQE under it
    const targets: bigint[] = [];
    for (let slot = 0n; slot < 16n; slot++) for (let gen = 0n; gen < 2n; gen++) targets.push((BigInt(BULK_TAG) << 32n) | (gen << 16n) | slot);
    await cancelAndForge(ring, targets, jit);
    assert.equal(bulk.ready, 0, 'no bulk slot completed');
    assert.equal(bulk.inflight, 4, 'the four timers are still in flight, still JS\'s');
    assert.equal(await ring.cancel({ any: true }), 4, 'JS can end them');
    await bulk.wait(4);
    const out = new BulkCompletions(8);
    assert.equal(bulk.take(out), 4);
    assert.deepEqual([...out.res.subarray(0, 4)], [-125, -125, -125, -125]);
  });
}

test('a pushed read\'s buffer cannot be transferred away while the kernel may write it; the read lands in it', async (t) => {
  const ring = ringFor(t);
  const bulk = ring.bulk({ depth: 4 });
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync('/dev/zero', 'r');
  t.after(() => closeSync(fd));
  const buf = Buffer.alloc(64, 7);
  assert.equal(bulk.push(op.read(fd, buf, 0), 1), true);
  // a transfer list refuses it (Node 22+) or copies it (Node 20); transfer() refuses it where it exists
  try {
    structuredClone(buf.buffer, { transfer: [buf.buffer as ArrayBuffer] });
  } catch {}
  const transfer = (buf.buffer as ArrayBuffer & { transfer?: () => ArrayBuffer }).transfer;
  if (transfer) assert.throws(() => transfer.call(buf.buffer), 'ArrayBuffer.prototype.transfer refuses it');
  assert.equal(buf.buffer.byteLength, 64, 'the memory the read targets is still the buffer\'s (not detached)');
  await bulk.wait(1);
  const out = new BulkCompletions(1);
  assert.equal(bulk.take(out), 1);
  assert.equal(out.res[0], 64);
  assert.ok(buf.every((b) => b === 0), 'the read filled the buffer the caller still holds');
});
