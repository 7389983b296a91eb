/**
 * An abort reaches every request of a chain, also one still waiting behind the head of its link
 * when the cancel looks for it. On 6.1 the cancel of such a request finds nothing (-ENOENT); it
 * starts once the head ends, and a hard-linked read of an empty FIFO then waited forever (seen
 * as a hang of ringflow/fs's readFile on a FIFO, aborted: the third case here hung on 6.1.0-56
 * before the ring asked again; the first two did not). The ring asks again until it ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fifo, ringFor, CPU_TIME_SCALE } from './helpers.js';
import { op, fixed } from '../src/index.js';

for (const head of ['a read of the empty FIFO', 'a 30 s timeout', 'ringflow/fs readFile: open into a slot, read it'] as const)
test(`abort of a chain (head: ${head}) whose hard-linked read of an empty FIFO would wait forever once it starts: every step settles`, async (t) => {
  const ring = ringFor(t);
  const f = fifo(t);
  for (let round = 0; round < 5; round++) {
    const ac = new AbortController();
    let ps: Promise<unknown>[];
    if (head === 'ringflow/fs readFile: open into a slot, read it') {
      // readWholeFile's chain: openat(direct) ─link→ read(slot) ─hardlink→ read(slot, 1 byte)
      if (ring.files.size === 0) ring.files.register({ sparse: 4 });
      const slot = fixed(round % 4);
      ps = ring.chain([op.openat(f.path, 0, 0, { direct: round % 4 }).link(), op.read(slot, new Uint8Array(64), -1).hardlink(), op.read(slot, new Uint8Array(1), -1)], { signal: ac.signal });
    } else {
      const first = head === 'a 30 s timeout' ? op.timeout(30_000) : op.read(f.fd, new Uint8Array(64), -1);
      ps = ring.chain([first.hardlink(), op.read(f.fd, new Uint8Array(1), -1)], { signal: ac.signal });
    }
    setTimeout(() => ac.abort(), 10 + round * 5);
    const rs = await Promise.allSettled(ps.slice(-2));
    await Promise.allSettled(ps);
    if (ring.files.size > 0) await ring.closeFd(fixed(round % 4)).catch(() => {});
    for (const r of rs) {
      assert.equal(r.status, 'rejected', `round ${round}`);
      assert.equal(((r as PromiseRejectedResult).reason as Error).name, 'AbortError');
    }
    // the cancel requests themselves settle too
    for (let i = 0; i < 200 * CPU_TIME_SCALE && ring.pending > 0; i++) await new Promise((r) => setTimeout(r, 5)); // (× CPU_TIME_SCALE: a TCG guest)
    assert.equal(ring.pending, 0, `round ${round}: nothing left in flight`);
  }
  // the FIFO is intact: what is written now is read whole
  f.write('abc');
  assert.equal(await ring.read(f.fd, new Uint8Array(8), -1), 3);
});
