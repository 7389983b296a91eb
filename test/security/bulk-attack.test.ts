// Completions in bulk (src/ring/bulk.ts), attacked. A hostile program cannot end, feed or cancel a
// JS bulk request: its cancels name user_data that is not its own (the engine finds nothing), and the
// CQEs it posts under BULK_TAG user_data go to the programs' CQs, never through the bulk queue. A
// careless caller cannot move the memory of a pushed read away (the buffer is untransferable while
// the kernel may write it). docs/security.md, "Completions in bulk". Programs under JIT and interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, CPU_TIME_SCALE } from '../helpers.js';
import { op, BulkCompletions } from '../../src/index.js';
import { BULK_TAG } from '../../src/ring/completion.js';
import { ENGINES, noEngine, ringProgram, submitAsm, emitAsm } from './asm-programs.js';

const ASYNC_CANCEL = 14;

for (const { name, jit } of ENGINES) {
  test(`a program can neither cancel nor complete a JS bulk request: its cancels find nothing, its forged CQEs reach no bulk slot (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [256] });
    const bulk = ring.bulk({ depth: 16 });
    for (let tag = 0; tag < 4; tag++) assert.equal(bulk.push(op.timeout(60_000), tag), true);
    bulk.submit();
    // every bulk user_data of slots 0..15, generations 0..1: cancel it, and post a CQE under it
    let code = 'mov %r6, %r1\n';
    let n = 0;
    for (let slot = 0n; slot < 16n; slot++)
      for (let gen = 0n; gen < 2n; gen++) {
        const target = (BigInt(BULK_TAG) << 32n) | (gen << 16n) | slot;
        code += submitAsm({ opcode: ASYNC_CANCEL, fd: 0, addr: target, userData: BigInt(n++), cq: 1 }) + '\n';
        code += emitAsm(0, target, 0) + '\n';
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
    assert.equal(seenByJs.length, n, "the forged CQEs went to the programs' CQ 0 (onCompletion)");
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
