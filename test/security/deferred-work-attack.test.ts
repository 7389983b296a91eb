// Deferred completion work left for later (Linux 6.13+ runs at most 20 items per io_uring_enter;
// ringflow comes back for the rest by signalling its own eventfd: native/ring_core.c,
// rf_ring_rearm), attacked. A hostile program that floods the ring with io-wq requests carrying
// JS's user_data makes the leftover path carry its CQEs and JS's at once: every program CQE reaches
// the program's CQ, once, and no JS request settles from one. A careless caller closes the ring
// from a completion callback while leftover work waits, aborts readFiles whose reads run on io-wq,
// or lends a buffer as the very first thing its process does (the untransferable mark is loaded
// lazily now). docs/security.md, "Deferred work left for later". Program attacks run under the JIT
// and the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempDir, pattern, gcChild, CPU_TIME_SCALE } from '../helpers.js';
import { op, fixed, RingClosedError, RingError, type Ring } from '../../src/index.js';
import { readWholeFile, FIRST_READ } from '../../src/fs/fast/index.js';
import { readWholeFileCounters } from '../../src/fs/fast/read-file.js';
import { ENGINES, noEngine, ringProgram, submitAsm } from './asm-programs.js';

const NOP = 0;
const IOSQE_ASYNC = 16;
const within = <T>(ring: Ring, p: Promise<T>, ms = 10_000 * CPU_TIME_SCALE): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not settled after ${ms} ms: ${JSON.stringify(ring.stats())}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
};

/** 64 open → read → read chains whose open and first read go to io-wq (the leftover work's source), on slots 0..63. */
function asyncChains(ring: Ring, files: string[], buffers: Buffer[]): Promise<unknown>[] {
  return Array.from({ length: 64 }, (_, k) =>
    Promise.all(ring.chain([op.openat(files[k % files.length], 0, 0, { direct: k }).link().async(), op.read(fixed(k), buffers[k], -1).hardlink().async(), op.read(fixed(k), new Uint8Array(1), -1)])),
  );
}

function smallFiles(t: { after(fn: () => void): void }, n: number, size = 1024): string[] {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  return Array.from({ length: n }, (_, i) => {
    const p = join(dir, `f${i}`);
    writeFileSync(p, pattern(size, i));
    return p;
  });
}

for (const { name, jit } of ENGINES) {
  test(`a program flooding io-wq with NOPs under JS's user_data while JS's chains wait as leftover work: each CQE reaches its own owner, once (${name})`, { skip: noEngine }, async (t) => {
    const files = smallFiles(t, 8);
    const ring = ringFor(t, { cqs: [512], entries: 256 });
    ring.files.register(new Array(64).fill(-1));
    for (let round = 0; round < 3; round++) {
      // the user_data JS's promise requests use: generation over slot
      const forged: bigint[] = [];
      for (let gen = 1n; gen <= 3n; gen++) for (let slot = 0n; slot < 64n; slot++) forged.push((gen << 32n) | slot);
      let code = 'mov %r6, %r1\n';
      for (const ud of forged) code += submitAsm({ opcode: NOP, flags: IOSQE_ASYNC, userData: ud, cq: 1 }) + '\n';
      code += 'mov %r0, 0\nexit';
      const buffers = Array.from({ length: 64 }, () => Buffer.alloc(2048));
      let settles = 0;
      const js = asyncChains(ring, files, buffers).map((p) => p.then((v) => (settles++, v)));
      const nops = Array.from({ length: 64 }, () => ring.run<number>(op.nop().async()).then((v) => (settles++, v)));
      assert.equal(await within(ring, ring.runProgram(ring.registerProgram(ringProgram(code, jit)))), 0);
      const chains = (await within(ring, Promise.all(js))) as [unknown, number, number][];
      assert.deepEqual(await within(ring, Promise.all(nops)), new Array(64).fill(0), "JS's NOPs settle with their own result");
      for (let k = 0; k < 64; k++) {
        assert.deepEqual(chains[k]!.slice(1), [1024, 0], `chain ${k}: its own read, not a program's NOP result`);
        assert.deepEqual(buffers[k]!.subarray(0, 1024), pattern(1024, k % files.length));
      }
      assert.equal(settles, 128, 'every JS request settled once');
      const deadline = Date.now() + 5000 * CPU_TIME_SCALE;
      while (ring.cq(1).ready < forged.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      const got = ring.cq(1).drain();
      assert.equal(got.length, forged.length, 'every program NOP completed into its CQ');
      assert.deepEqual(new Set(got.map((c) => c.userData)), new Set(forged), 'each once, under the user_data it gave');
      assert.ok(got.every((c) => c.res === 0));
      for (let k = 0; k < 64; k++) await ring.closeFd(fixed(k));
    }
    assert.equal(ring.pending, 0);
  });
}

test('careless caller: close() from a completion callback while io-wq work is left for later: close() resolves, every request settles once', async (t) => {
  const files = smallFiles(t, 8);
  for (let round = 0; round < 5; round++) {
    const ring = ringFor(t, { entries: 256 });
    ring.files.register(new Array(64).fill(-1));
    let closing: Promise<void> | undefined;
    const outcomes: string[] = [];
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => outcomes.push('ok'),
        (e: unknown) => outcomes.push(e instanceof RingClosedError ? 'closed' : e instanceof RingError ? (e.code ?? 'ring') : String(e)),
      );
    const first = ring.run(op.nop().async()).then(() => {
      closing = ring.close(); // from a completion, while the chains' work waits in the kernel
    });
    const all = [...asyncChains(ring, files, Array.from({ length: 64 }, () => Buffer.alloc(2048))), ...Array.from({ length: 64 }, () => ring.run(op.nop().async()))].map(settle);
    await within(ring, first);
    assert.ok(closing);
    await within(ring, closing);
    await within(ring, Promise.all(all));
    assert.equal(outcomes.length, 128, 'every request settled, once');
    assert.ok(outcomes.every((o) => ['ok', 'closed', 'ECANCELED'].includes(o)), outcomes.join());
    assert.equal(ring.pending, 0);
  }
});

test('careless caller: readFiles aborted while their first reads run on io-wq: each one rejects with AbortError or returns the file, and the next ones read right', async (t) => {
  const files = smallFiles(t, 64, FIRST_READ);
  const ring = ringFor(t);
  for (const p of files.slice(0, 4)) await readWholeFile(ring, p); // large files: the fresh-buffer path
  const before = readWholeFileCounters.asyncFirstReads;
  for (let round = 0; round < 4; round++) {
    const ac = new AbortController();
    const calls = files.map((p) => readWholeFile(ring, p, { signal: ac.signal }));
    setTimeout(() => ac.abort(), round); // 0-3 ms in: some reads done, some on io-wq
    const got = await within(ring, Promise.allSettled(calls));
    for (let i = 0; i < got.length; i++) {
      const g = got[i]!;
      if (g.status === 'fulfilled') assert.deepEqual(g.value, pattern(FIRST_READ, i));
      else assert.equal((g.reason as Error).name, 'AbortError');
    }
    assert.equal(readWholeFileCounters.inFlight, 0);
  }
  assert.ok(readWholeFileCounters.asyncFirstReads > before, 'the io-wq path ran');
  const again = await within(ring, Promise.all(files.map((p) => readWholeFile(ring, p))));
  again.forEach((b, i) => assert.deepEqual(b, pattern(FIRST_READ, i), 'slots and scratch buffers all back, every byte right'));
});

test('careless caller: the first buffer a fresh process lends is untransferable and a resizable one is refused (the mark loads lazily)', () => {
  const index = new URL('../../src/index.js', import.meta.url).href;
  const r = gcChild(`
    import { Ring } from '${index}';
    const { openSync } = await import('node:fs');
    const ring = new Ring();
    const fd = openSync('/dev/zero', 'r');
    const buf = new Uint8Array(64).fill(9);
    const read = ring.read(fd, buf, 0);
    let transfer;
    try { structuredClone(buf.buffer, { transfer: [buf.buffer] }); transfer = 'cloned'; } catch (e) { transfer = e.name; }
    const n = await read;
    let resizable;
    try { await ring.read(fd, new Uint8Array(new ArrayBuffer(64, { maxByteLength: 128 })), 0); resizable = 'lent'; } catch (e) { resizable = e.name; }
    await ring.close();
    console.log('RESULT ' + JSON.stringify({ transfer, n, length: buf.buffer.byteLength, zeroed: buf.every((b) => b === 0), resizable }));
  `);
  assert.equal(r.code, 0, r.out);
  assert.ok(['DataCloneError', 'cloned'].includes(r.result.transfer as string), r.out);
  assert.deepEqual({ n: r.result.n, length: r.result.length, zeroed: r.result.zeroed, resizable: r.result.resizable }, { n: 64, length: 64, zeroed: true, resizable: 'TypeError' });
});
