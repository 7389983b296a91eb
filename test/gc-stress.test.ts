/** Buffers stay alive: 100k reads with forced GC between batches, every byte verified. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openSync, closeSync } from 'node:fs';
import { ringFor, tempFile, pattern, repeats } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('100 000 reads (a fifth under TCG) under forced GC: buffers only reachable through the ring, every byte verified', async (t) => {
  const FILE = 1 << 20;
  const data = pattern(FILE);
  const f = tempFile(data);
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const ring = ringFor(t);
  const TOTAL = repeats(100_000);
  const BATCH = 2_000;
  let verified = 0;
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % (FILE - 512));
  for (let done = 0; done < TOTAL; done += BATCH) {
    const ps: Promise<void>[] = [];
    for (let i = 0; i < BATCH; i++) {
      const pos = rnd();
      const len = 1 + (i % 512);
      // a fresh buffer per read, not referenced by this code after the call: only the ring keeps it alive
      ps.push(
        ring.read(fd, new Uint8Array(len), pos).then((n) => {
          assert.equal(n, len);
        }),
      );
      if (i % 500 === 0) gc();
    }
    gc();
    await Promise.all(ps);
    verified += BATCH;
  }
  assert.equal(verified, TOTAL);
  // byte-exact verification on retained buffers, interleaved with GC
  for (let round = 0; round < 20; round++) {
    const bufs = Array.from({ length: 500 }, () => Buffer.alloc(4096));
    const poss = bufs.map(() => rnd() & ~7);
    const ps = bufs.map((b, i) => ring.read(fd, b, poss[i]));
    gc();
    const ns = await Promise.all(ps);
    bufs.forEach((b, i) => {
      assert.equal(ns[i], Math.min(4096, FILE - poss[i]));
      assert.ok(b.subarray(0, ns[i]).equals(data.subarray(poss[i], poss[i] + ns[i])), `read ${i} at ${poss[i]} matches the file`);
    });
  }
});

test('the kernel writes into a buffer dropped by its caller; contents arrive intact after GC', async (t) => {
  const f = tempFile(pattern(65536));
  t.after(f.cleanup);
  const fd = openSync(f.path, 'r');
  t.after(() => closeSync(fd));
  const ring = ringFor(t);
  const results = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => {
      const b = Buffer.alloc(64);
      const p = ring.read(fd, b, i * 64).then(() => b);
      return p;
    }).map((p, i) => {
      if (i % 100 === 0) gc();
      return p;
    }),
  );
  const data = pattern(65536);
  results.forEach((b, i) => assert.ok(b.equals(data.subarray(i * 64, i * 64 + 64))));
});
