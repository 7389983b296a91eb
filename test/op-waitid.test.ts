/**
 * IORING_OP_WAITID (6.7) against the kernel. Children that exit come from native forkChild():
 * libuv reaps only the children it spawned (waitpid(pid)), so nothing races the ring for them.
 * Stops and continues are waited for on a child_process child (libuv's waitpid asks for exits only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync, closeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { ringFor, requireOp } from './helpers.js';
import { binding } from '../src/native.js';
import { W, CLD } from '../src/index.js';

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

/** A child that exits with the status written to `exit()` (0 when the pipe is closed). */
function child(t: { after(fn: () => void): void }): { pid: number; exit(status: number): void } {
  const r = binding.forkChild() as [number, number] | number;
  if (typeof r === 'number') throw new Error(`fork failed: ${r}`);
  const [pid, fd] = r;
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  t.after(close); // the child exits 0 at EOF, and is reaped by the test or stays a zombie until the process ends
  return {
    pid,
    exit(status) {
      writeSync(fd, Buffer.from([status]));
      close();
    },
  };
}

test('waitid resolves the exit of a child: pid, code CLD_EXITED, status', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'waitid')) return;
  const c = child(t);
  let done = false;
  const p = ring.waitid('pid', c.pid, W.EXITED).then((r) => ((done = true), r));
  await tick(20);
  assert.equal(done, false, 'the child is still running');
  c.exit(42);
  const r = await p;
  assert.deepEqual(r, { pid: c.pid, uid: process.getuid!(), code: CLD.EXITED, status: 42 });
  await assert.rejects(ring.waitid('pid', c.pid), { code: 'ECHILD', op: 'waitid' }, 'reaped: no such child any more');
});

test('waitid with W.NOWAIT leaves the child waitable; W.NOHANG with nothing to report resolves null', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'waitid')) return;
  const c = child(t);
  assert.equal(await ring.waitid('pid', c.pid, W.EXITED | W.NOHANG), null, 'still running');
  const p = ring.waitid('pid', c.pid, W.EXITED | W.NOWAIT);
  await tick();
  c.exit(3);
  assert.equal((await p)!.status, 3);
  const again = await ring.waitid('pid', c.pid, W.EXITED);
  assert.deepEqual([again!.pid, again!.code, again!.status], [c.pid, CLD.EXITED, 3], 'still there to reap after NOWAIT');
});

test('waitid reports a child killed by a signal (CLD_KILLED, status = the signal)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'waitid')) return;
  const c = child(t);
  const p = ring.waitid('all', 0, W.EXITED);
  await tick();
  process.kill(c.pid, 'SIGKILL');
  const r = await p;
  assert.equal(r!.pid, c.pid);
  assert.equal(r!.code, CLD.KILLED);
  assert.equal(r!.status, 9);
});

test('waitid W.STOPPED / W.CONTINUED on a child_process child (libuv waits only for its exit)', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'waitid')) return;
  const cp = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => cp.kill('SIGKILL'));
  await new Promise((r) => cp.once('spawn', r));
  const stopped = ring.waitid('pid', cp.pid!, W.STOPPED);
  await tick();
  process.kill(cp.pid!, 'SIGSTOP');
  assert.deepEqual(await stopped, { pid: cp.pid, uid: process.getuid!(), code: CLD.STOPPED, status: 19 /* SIGSTOP */ });
  const continued = ring.waitid('pid', cp.pid!, W.CONTINUED);
  await tick();
  process.kill(cp.pid!, 'SIGCONT');
  assert.deepEqual(await continued, { pid: cp.pid, uid: process.getuid!(), code: CLD.CONTINUED, status: 18 /* SIGCONT */ });
});

test('a waitid cancelled by AbortSignal settles once; the child is still there to reap', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'waitid')) return;
  const c = child(t);
  const ac = new AbortController();
  let settled = 0;
  const p = ring.waitid('pid', c.pid, W.EXITED, { signal: ac.signal });
  p.then(() => settled++, () => settled++);
  await tick();
  ac.abort();
  await assert.rejects(p, { name: 'AbortError' });
  c.exit(1);
  const r = await ring.waitid('pid', c.pid, W.EXITED);
  assert.equal(r!.status, 1);
  assert.equal(settled, 1);
});

test('waitid refuses bad arguments naming them', (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.waitid('nope' as never), /^RangeError: waitid\(\): "idtype" must be one of 'all', 'pid', 'pgid', 'pidfd'/);
  assert.throws(() => ring.waitid('pid', 1.5), /^TypeError: waitid\(\): "id" must be an integer/);
  assert.throws(() => ring.waitid('pid', 1, 0x10), /^RangeError: waitid\(\): "waitOptions" must be a combination of NOHANG/);
  assert.equal(ring.pending, 0);
});
