/**
 * 10,000 races of cancellation against completion: reads into buffers on FIFOs whose data is
 * written at the moment they are aborted (AbortSignal) or cancelled (ring.cancel by fd), timers
 * aborted as they expire, and polls (through runMulti's sink) cancelled as their FIFO turns
 * readable. Each request must settle exactly once, with its result or AbortError/ECANCELED, and
 * no buffer may be let go before the kernel's CQE for it: a probe byte written into a read's FIFO
 * the moment its promise reports it cancelled must still be in the FIFO at the end of the round,
 * and the buffer untouched (a read the kernel still held would have taken it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openSync, closeSync, writeSync, readSync, constants } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempDir, requireOp, CPU_TIME_SCALE } from './helpers.js';
import { Sqe, opByName, type RingError } from '../src/index.js';
import { ringInternals } from '../src/ring/ring.js';

const RACES = 10_000;
const PER_ROUND = 32;
const SENTINEL = 0xee;
const W = 0x57; // 'W': the data a race writes
const P = 0x50; // 'P': the probe written after a cancelled read settled
const POLLIN = 0x1;
const ECANCELED = -125;

interface Fifo {
  /** Blocking end the ring reads. */
  fd: number;
  /** Non-blocking end the test writes and drains. */
  nb: number;
}

/** How the two sides of a race are scheduled relative to each other. */
const schedules: ((f: () => void) => void)[] = [(f) => f(), (f) => queueMicrotask(f), (f) => setImmediate(f), (f) => setTimeout(f, 0)];
const pick = (i: number, k: number) => schedules[(i * 7 + k * 3 + (i >> 5)) % schedules.length];

function drain(fd: number): number[] {
  const out: number[] = [];
  const b = Buffer.alloc(64);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, b, 0, b.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return out;
      throw e;
    }
    if (n === 0) return out;
    out.push(...b.subarray(0, n));
  }
}

const isAbort = (e: unknown) => e instanceof Error && e.name === 'AbortError';
const code = (e: unknown) => (e as RingError).code;

test(`${RACES} races of abort and cancel against completion: each request settles once; no buffer is let go before its CQE`, { timeout: 120_000 * CPU_TIME_SCALE }, async (t) => {
  // rounds alternate between the default ring (DEFER_TASKRUN: completions run when JS enters) and a
  // plain one (the kernel completes from its own context)
  const rings = [ringFor(t, { entries: 256 }), ringFor(t, { entries: 256, profile: 'plain' })];
  if (!requireOp(t, rings[0], 'asyncCancel')) return;
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const paths = Array.from({ length: PER_ROUND }, (_, i) => join(dir, `f${i}`));
  execFileSync('mkfifo', paths);
  const fifos: Fifo[] = paths.map((p) => ({ fd: openSync(p, 'r+'), nb: openSync(p, constants.O_RDWR | constants.O_NONBLOCK) }));
  t.after(() => {
    for (const f of fifos) {
      closeSync(f.fd);
      closeSync(f.nb);
    }
  });

  const tally = { read: 0, readAborted: 0, cancelRead: 0, cancelReadCancelled: 0, cancelFoundRunning: 0, timer: 0, timerAborted: 0, poll: 0, pollCancelled: 0 };
  const started = Date.now();
  let races = 0;
  for (let round = 0; races < RACES; round++) {
    const ring = rings[round % 2];
    const settled: Promise<void>[] = [];
    const buffers: (Buffer | undefined)[] = [];
    const problems: string[] = [];
    /** Runs f as schedule says; the round waits for it (a late write must not leak into the next round). */
    const later = (schedule: (f: () => void) => void, f: () => void) => settled.push(new Promise<void>((r) => schedule(() => (f(), r()))));
    for (let i = 0; i < PER_ROUND; i++) {
      const f = fifos[i];
      const n = round * PER_ROUND + i;
      const kind = n % 4;
      let calls = 0;
      const once = (what: string) => {
        if (++calls !== 1) problems.push(`request ${n} (${what}) settled ${calls} times`);
      };
      if (kind === 0 || kind === 1) {
        // a read into a buffer, raced by a write of one byte and an abort / ring.cancel({ fd })
        const buf = Buffer.alloc(8, SENTINEL);
        buffers[i] = buf;
        const ac = kind === 0 ? new AbortController() : undefined;
        const p = ring.read(f.fd, buf, -1, ac ? { signal: ac.signal } : undefined);
        later(pick(n, 0), () => void writeSync(f.nb, Buffer.of(W)));
        const cancelCount = new Promise<number>((resolve) =>
          pick(n, 1)(() => {
            if (ac) {
              ac.abort();
              resolve(-1);
            } else resolve(ring.cancel({ fd: f.fd }));
          }),
        );
        settled.push(
          p.then(
            (v) => {
              once('read');
              tally.read++;
              if (v !== 1 || buf[0] !== W || buf[1] !== SENTINEL) problems.push(`read ${n} resolved ${v} with ${buf.subarray(0, 2).toString('hex')}`);
              buffers[i] = undefined; // completed: the buffer holds the data, nothing to probe
            },
            (e: unknown) => {
              once('read');
              if (kind === 0 ? !isAbort(e) : code(e) !== 'ECANCELED') problems.push(`read ${n} rejected with ${String(e)}`);
              if (kind === 0) tally.readAborted++;
              else tally.cancelReadCancelled++;
              // the promise says the kernel let go: a byte written now must stay in the FIFO
              writeSync(f.nb, Buffer.of(P));
            },
          ).then(async () => {
            if (kind !== 1) return;
            tally.cancelRead++;
            // ring.cancel is submitted after the read, in order: a read it cancelled was found (1); a
            // read that completed was either done first (0) or found running on io-wq (EALREADY,
            // counted 1: signalled, it may still complete with its data; seen on 6.1 under TCG)
            const c = await cancelCount;
            const cancelled = buffers[i] !== undefined;
            if (cancelled ? c !== 1 : c !== 0 && c !== 1) problems.push(`read ${n}: cancel counted ${c}, the read was ${cancelled ? 'cancelled' : 'completed'}`);
            if (!cancelled && c === 1) tally.cancelFoundRunning++;
          }),
        );
      } else if (kind === 2) {
        // a 1 ms timer aborted as it expires
        const ac = new AbortController();
        const p = ring.timeout(1, { signal: ac.signal });
        later((g) => setTimeout(g, n % 3), () => ac.abort());
        settled.push(
          p.then(
            (fired) => {
              once('timer');
              tally.timer++;
              if (fired !== true) problems.push(`timer ${n} resolved ${String(fired)}`);
            },
            (e: unknown) => {
              once('timer');
              tally.timerAborted++;
              if (!isAbort(e)) problems.push(`timer ${n} rejected with ${String(e)}`);
            },
          ),
        );
      } else {
        // a poll (runMulti: the sink must hear exactly one end or fail) cancelled as its FIFO turns readable
        const s = new Sqe(opByName('pollAdd')!);
        s.fd = f.fd;
        s.opFlags = POLLIN;
        settled.push(
          new Promise<void>((resolve) => {
            const h = ring.runMulti(s, {
              more: () => problems.push(`poll ${n}: a single-shot poll posted F_MORE`),
              end: (res) => {
                once('poll');
                if (res === ECANCELED) tally.pollCancelled++;
                else if (res & POLLIN) tally.poll++;
                else problems.push(`poll ${n} ended with ${res}`);
                resolve();
              },
              fail: (e) => {
                once('poll');
                problems.push(`poll ${n} failed: ${String(e)}`);
                resolve();
              },
            });
            later(pick(n, 2), () => void writeSync(f.nb, Buffer.of(W)));
            later(pick(n, 3), () => h.cancel());
          }),
        );
      }
      races++;
    }
    await Promise.all(settled);
    // everything settled: the kernel holds nothing of this round once ringflow's own cancels are back
    while (ring.pending > 0) await new Promise((r) => setImmediate(r));
    const st = ring.stats();
    assert.equal(st.inflight, 0);
    assert.equal(st.sqesSubmitted, st.cqesReaped, 'every SQE submitted has had its CQE reaped');
    assert.equal(ringInternals(ring).inflight, 0);
    for (let i = 0; i < PER_ROUND; i++) {
      const left = drain(fifos[i].nb);
      const buf = buffers[i];
      if (buf === undefined) continue;
      // a cancelled read: its buffer untouched, and the probe written after it settled still in the FIFO
      if (!buf.equals(Buffer.alloc(8, SENTINEL))) problems.push(`fifo ${i}, round ${round}: a cancelled read's buffer changed: ${buf.toString('hex')}`);
      if (!left.includes(P)) problems.push(`fifo ${i}, round ${round}: the probe byte was taken (FIFO held ${Buffer.from(left).toString('hex')})`);
    }
    assert.deepEqual(problems, []);
  }
  const ms = Date.now() - started;
  t.diagnostic(`${races} races in ${ms} ms: ${JSON.stringify(tally)}`);
  assert.ok(ms < 60_000 * CPU_TIME_SCALE, `the races took ${ms} ms`);
  // both sides of each race happened: completions and cancellations of every kind
  // (under an emulated CPU the timing is too coarse for every kind of race to land: there, say so)
  for (const [k, v] of Object.entries(tally))
    if (k !== 'cancelRead' && k !== 'cancelFoundRunning') { // (found running: rare, io-wq only)
      if (CPU_TIME_SCALE === 1) assert.ok(v > 0, `${k}: ${v} (each outcome occurred)`);
      else if (v === 0) t.diagnostic(`${k}: 0 under an emulated CPU (this outcome did not occur)`);
    }
});
