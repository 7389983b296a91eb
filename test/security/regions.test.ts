// Issue #9, item 4 — memory lifetimes. Regions are memory the engine allocates and owns (between
// guard pages, reference counted with every JS view of it): whatever JS does to region.bytes
// (transfer it away, drop it, close the ring), programs never reach freed memory and JS never
// reads unmapped memory. docs/security.md, "Memory". Run under the JIT and the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Ring, O } from '../../src/index.js';
import { ringFor, fifo } from '../helpers.js';
import { ENGINES, noEngine, ringProgram, emitAsm, submitAsm } from './asm-programs.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
};

/** A program that adds 1 to the u64 at the address its context token holds and emits the new value to CQ 1. */
function bump(): string {
  return `mov %r6, %r1
    ldxdw %r7, [%r6+0]
    ldxdw %r8, [%r7+0]
    add %r8, 1
    stxdw [%r7+0], %r8
    ${emitAsm(1, 0n, 0).replace(/lddw %r3, 0/, 'mov %r3, %r8')}
    mov %r0, 0
    exit`;
}

for (const { name, jit } of ENGINES) {
  test(`a region whose bytes JS transferred away and dropped is still the program's: no freed memory reached (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [8] });
    const region = ring.registerRegion(8);
    region.bytes.writeBigUInt64LE(41n, 0);
    const idx = ring.registerProgram(ringProgram(bump(), jit));
    // take JS's view away (ArrayBuffer.prototype.transfer detaches it where Node has it; Node 20's
    // structuredClone copies the engine's memory instead), then drop and collect the new one
    const ab = region.bytes.buffer as ArrayBuffer;
    const transfer = (ab as unknown as { transfer?: () => ArrayBuffer }).transfer;
    let moved: ArrayBuffer | undefined;
    try {
      moved = transfer ? transfer.call(ab) : structuredClone(ab, { transfer: [ab] });
    } catch {
      moved = structuredClone(ab); // a runtime that refuses to detach engine memory: a copy, same check
    }
    assert.equal(new DataView(moved).getBigUint64(0, true), 41n, 'the transferred buffer has the region\'s bytes');
    moved = undefined;
    await settle();
    // allocate in between, so freed memory would be reused
    const junk = Array.from({ length: 64 }, () => Buffer.alloc(8, 0xff));
    for (let i = 0; i < 3; i++) assert.equal(await ring.runProgram(idx, { userData: region.address }), 0);
    assert.deepEqual(ring.cq(1).drain().map((c) => c.userData), [42n, 43n, 44n], 'the program kept counting in its region');
    assert.ok(junk.every((b) => b.equals(Buffer.alloc(8, 0xff))), 'no other memory was written');
  });
}

test('region memory outlives the ring while JS holds region.bytes, and is released when both are gone', { skip: noEngine }, async () => {
  const ring = new Ring({ cqs: [4] });
  const region = ring.registerRegion(Buffer.from('still here'));
  await ring.close();
  await settle();
  assert.equal(region.bytes.toString(), 'still here', 'readable after close (the view holds its own reference)');
  // many rings with big regions, each closed and dropped: memory is returned (no leak of mappings)
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 200; i++) {
    const r = new Ring({ cqs: [4] });
    r.registerRegion(1 << 20).bytes.fill(1); // touch 1 MiB
    await r.close();
  }
  await settle();
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(grown < 100, `RSS grew ${grown.toFixed(0)} MiB after 200 × 1 MiB regions were closed and dropped`);
});

test('registerRegion copies its initial contents: a resizable or later-changed source cannot reach the region', { skip: noEngine }, async (t) => {
  const ring = ringFor(t, { cqs: [4] });
  const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;
  const src = new Resizable(16, { maxByteLength: 64 });
  new Uint8Array(src).fill(7);
  const region = ring.registerRegion(new Uint8Array(src));
  (src as unknown as { resize(n: number): void }).resize(0);
  assert.equal(region.length, 16);
  assert.ok(region.bytes.equals(Buffer.alloc(16, 7)));
});

test('registerRegion() rejects what it cannot allocate with ringflow errors', { skip: noEngine }, (t) => {
  const ring = ringFor(t, { cqs: [4] });
  assert.throws(() => ring.registerRegion(0), /registerRegion\(size\): size must be an integer in \[1, 2\^32\]/);
  assert.throws(() => ring.registerRegion(1.5), RangeError);
  assert.throws(() => ring.registerRegion(-1), RangeError);
  assert.throws(() => ring.registerRegion(2 ** 33), RangeError);
  assert.throws(() => ring.registerRegion('64' as unknown as number), /takes a size in bytes or initial contents/);
  assert.throws(() => ring.registerRegion(new Uint8Array(0)), /initial contents are empty/);
  assert.throws(() => ring.registerRegion(8, { writable: 'yes' as unknown as boolean }), /"writable" must be a boolean/);
  for (let i = 0; i < 14; i++) ring.registerRegion(8);
  assert.throws(() => ring.registerRegion(8), (e: Error & { code?: string }) => e.code === 'ENOSPC' && /at most 14 regions/.test(e.message));
});

test('a buffer the kernel is reading into cannot be transferred away: the read lands in it', async (t) => {
  const f = fifo(t);
  const ring = ringFor(t);
  const fd = await ring.openat(f.path, O.RDWR);
  const buf = Buffer.alloc(64 * 1024); // its own ArrayBuffer (not the pool)
  const read = ring.read(fd, buf, -1);
  const ab = buf.buffer as ArrayBuffer;
  // transfer() (Node 24+ itself; Node 22 through ringflow's guard) and transfer lists refuse the buffer; Node 20 has no transfer() and clones
  const transfer = (ab as unknown as { transfer?: () => ArrayBuffer }).transfer;
  if (transfer) assert.throws(() => transfer.call(ab), TypeError);
  const toFixed = (ab as unknown as { transferToFixedLength?: () => ArrayBuffer }).transferToFixedLength;
  if (toFixed) assert.throws(() => toFixed.call(ab), TypeError);
  if (transfer) assert.equal(transfer.call(new ArrayBuffer(8)).byteLength, 8, 'buffers never lent to the kernel transfer as usual');
  try {
    structuredClone(ab, { transfer: [ab] });
  } catch (e) {
    assert.equal((e as Error).name, 'DataCloneError');
  }
  await settle();
  assert.equal(buf.byteLength, 64 * 1024, 'the buffer kept its memory');
  f.write('landed');
  assert.equal(await read, 6);
  assert.equal(buf.toString('latin1', 0, 6), 'landed');
});

for (const { name, jit } of ENGINES) {
  test(`close() waits until the kernel has let go of requests programs submitted into regions (${name})`, { skip: noEngine }, async (t) => {
    const fd = fifo(t).fd; // nobody writes: the program's READ stays in the kernel
    const ring = new Ring({ cqs: [8] });
    t.after(() => ring.close()); // (its READ waits for good: a failed assertion would leave it holding the loop)
    ring.allowFd(fd);
    const region = ring.registerRegion(4096);
    const readInto = `mov %r6, %r1
      ${submitAsm({ opcode: 22, fd, addr: BigInt(region.address), len: 4096, off: -1n, userData: 0x99n, cq: 1 })}
      mov %r0, 0
      exit`;
    assert.equal(await ring.runProgram(ring.registerProgram(ringProgram(readInto, jit))), 0);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(ring.stats().programSqes, 1);
    const cq1 = ring.cq(1);
    await ring.close();
    // close() resolved only after the kernel answered the program's read (cancelled)
    assert.deepEqual(cq1.drain().map((c) => [c.userData, c.res]), [[0x99n, -125]], 'the READ was cancelled and its CQE arrived before close() resolved');
  });
}
