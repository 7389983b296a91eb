/**
 * The owned-fd rule (an fd ringflow owns stays in its thread's owned set until its close request is
 * written to the SQ: src/ring/unsubmitted.ts), attacked as a hostile program and as a careless
 * caller. A program's CLOSE of a FileHandle's fd it was allowed closes only the engine's dup: the
 * handle reads on, stays owned, and the worker's exit closes it once, leaving alone a file another
 * thread opened on the dup's freed number. ring.close() called from the first of eight FileHandle
 * closes, the other seven waiting in the JS backlog: each fd closed once, every close fulfilled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { openSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { Ring } from '../src/index.js';
import { createFs } from '../src/fs/index.js';
import { binding } from '../src/native.js';
import { fdsUnder, fileDirs } from './helpers.js';
import { ENGINES, noEngine } from './security/asm-programs.js';

const N = 8;
const files = fileDirs('rf-exit-fds-program-', N);
const fsUrl = new URL('../src/fs/index.js', import.meta.url).href;
const indexUrl = new URL('../src/index.js', import.meta.url).href;
const asmUrl = new URL('./security/asm-programs.js', import.meta.url).href;

for (const { name, jit } of ENGINES) {
  test(`hostile program: its CLOSE of a FileHandle's fd it was allowed closes only the engine's dup; the handle reads on, and the worker's exit closes its fd once, not a file this thread opened since (${name})`, { skip: noEngine }, async () => {
    const dir = files();
    const w = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { createFs } = await import(workerData.fsUrl);
        const { Ring } = await import(workerData.indexUrl);
        const { ringProgram, submitAsm } = await import(workerData.asmUrl);
        const ring = new Ring({ cqs: [8] });
        const fs = createFs({ ring });
        const h = await fs.open(workerData.dir + '/f0');
        ring.allowFd(h.fd);
        const { readdirSync, readlinkSync } = require('node:fs');
        const onF0 = () => readdirSync('/proc/self/fd').filter((n) => { try { return readlinkSync('/proc/self/fd/' + n) === workerData.dir + '/f0'; } catch { return false; } }).length;
        const before = onF0(); // the handle's fd and the engine's dup
        // IORING_OP_CLOSE (19) of the handle's fd, submitted by the program
        const p = ring.registerProgram(ringProgram('mov %r6, %r1\\n' + submitAsm({ opcode: 19, fd: h.fd, userData: 7n }) + '\\nmov %r0, 0\\nexit', workerData.jit));
        await ring.runProgram(p);
        await new Promise((r) => setTimeout(r, 50)); // the program's close has run
        const buf = Buffer.alloc(16);
        const { bytesRead } = await h.read(buf, 0, 16, 0);
        parentPort.postMessage({ fd: h.fd, text: buf.toString('utf8', 0, bytesRead), before, after: onF0() });
        parentPort.once('message', () => process.exit(0)); // the handle still open: the owned set's cleanup closes it
      })().catch((e) => { parentPort.postMessage({ error: String(e && e.stack || e) }); process.exit(1); });`,
      { eval: true, workerData: { dir, fsUrl, indexUrl, asmUrl, jit } },
    );
    const msg = (await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    })) as { fd: number; text: string; before: number; after: number; error?: string };
    assert.equal(msg.error, undefined, msg.error);
    assert.deepEqual([msg.before, msg.after], [2, 1], "the program's close ran, on the engine's dup");
    assert.equal(msg.text, 'file 0', "the handle's fd still names its file after the program's close");
    // this thread opens files now: one may take the number the engine's dup left free
    const mine = Array.from({ length: N }, () => openSync(join(dir, 'f1'), 'r'));
    try {
      const exited = new Promise((r) => w.once('exit', r));
      w.postMessage('exit');
      assert.equal(await exited, 0);
      for (const fd of mine) assert.doesNotThrow(() => fstatSync(fd), `fd ${fd}, opened here after the program's close, is still open`);
      assert.deepEqual(fdsUnder(dir).sort(), mine.map((fd) => `${fd} → ${join(dir, 'f1')}`).sort(), "the worker's handle was closed by its exit, and nothing else");
    } finally {
      for (const fd of mine) closeSync(fd);
    }
  });
}

test('careless caller: ring.close() from the first of eight FileHandle closes, the other seven waiting in the JS backlog: every close fulfilled, each fd closed once and out of the owned set', async () => {
  const dir = files();
  const ring = new Ring({ entries: 4, maxInflight: 1 });
  const fs = createFs({ ring });
  const hs = [];
  for (let i = 0; i < N; i++) hs.push(await fs.open(join(dir, `f${i}`)));
  const owned = binding.fdOwnedCount() as number;
  let closing: Promise<void> | undefined;
  const closes = hs.map((h) => h.close());
  assert.ok(ring.stats().backlogged > 0, 'precondition: closes wait in the backlog');
  void closes[0].then(() => (closing = ring.close()));
  assert.deepEqual((await Promise.allSettled(closes)).map((o) => o.status), hs.map(() => 'fulfilled'));
  assert.ok(closing, 'ring.close() was called from the first close');
  await closing;
  assert.equal(binding.fdOwnedCount(), owned - N);
  assert.deepEqual(fdsUnder(dir), []);
});
