// Issue 9 item 6, rings and threads: every native ring belongs to the Node environment (main
// thread or worker) that created it; an environment ending closes its own rings and nothing
// else. Before: a worker that only imported ringflow closed every ring of the process on exit
// and the main thread's next request crashed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { readdirSync, readlinkSync } from 'node:fs';
import { Ring, Program } from '../../src/index.js';
import { binding } from '../../src/native.js';
import { engineAvailable } from '../../src/programs/index.js';
import { within } from '../ring-programs-util.js';
import { lacksFlag, tagged, tempDir, CPU_TIME_SCALE } from '../helpers.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const index = new URL('../../src/index.js', import.meta.url).href;

/** The io_uring fds open in this process (all threads; libuv's own rings too: Node 22+ gives each
 * worker's event loop one). */
function ioUringFdSet(): Set<number> {
  const out = new Set<number>();
  for (const f of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${f}`) === 'anon_inode:[io_uring]') out.add(Number(f));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}
const ioUringFds = (): number => ioUringFdSet().size;

/** Runs `code` (an ES module body) in a worker; resolves with its messages and exit code. */
function runWorker(code: string): { worker: Worker; messages: unknown[]; exit: Promise<number> } {
  const worker = new Worker(`const { Ring, Program } = await import(${JSON.stringify(index)});\nconst { parentPort } = await import('node:worker_threads');\n${code}`, { eval: true });
  const messages: unknown[] = [];
  worker.on('message', (m) => messages.push(m));
  const exit = new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
  return { worker, messages, exit };
}
const nextMessage = (w: Worker) => new Promise((resolve) => w.once('message', resolve));

/** Requests on `ring` that must all still work: NOPs, a short timeout, and a read of /proc/self/stat. */
async function exercise(ring: Ring, tag: number): Promise<void> {
  assert.equal(await tagged(ring, tag), tag);
  assert.equal(await ring.timeout(1), true);
  const batch = await Promise.all(Array.from({ length: 32 }, (_, i) => tagged(ring, i)));
  assert.deepEqual(batch, Array.from({ length: 32 }, (_, i) => i));
}

test('a worker that only imports ringflow and exits leaves the main thread\'s rings (with requests in flight) working', async () => {
  const rings = [new Ring(), new Ring({ profile: 'plain' }), new Ring({ profile: 'coop' })];
  const openBefore = binding.ringOpenCount();
  const timers = rings.map((r) => r.timeout(300));
  for (let i = 0; i < 3; i++) {
    const { exit } = runWorker('');
    assert.equal(await exit, 0);
    assert.equal(binding.ringOpenCount(), openBefore, 'the worker closed none of this thread\'s rings');
    for (const [k, r] of rings.entries()) await exercise(r, 10 * i + k);
  }
  assert.deepEqual(await within(Promise.all(timers), 2000 * CPU_TIME_SCALE, 'timeouts in flight across worker exits'), [true, true, true]);
  await Promise.all(rings.map((r) => r.close()));
});

test('several workers with rings (and program engines) exit in any order; each closes only its own rings', { skip: lacksFlag('nop', 'INJECT_RESULT') }, async (t) => {
  const main = new Ring({ cqs: engineAvailable() ? [4] : undefined });
  const mainTimer = main.timeout(500);
  const N = 4;
  // each worker opens two rings, keeps requests in flight, reports, then exits when told (its
  // rings still open: the env's teardown closes them)
  const workers = Array.from({ length: N }, (_, w) =>
    runWorker(`
      const rings = [new Ring(), new Ring(${engineAvailable() ? '{ cqs: [8] }' : ''})];
      const n = await rings[0].nop({ injectResult: ${w} });
      if (rings[1].registerProgram) {
        const idx = rings[1].registerProgram(Program.fromAssembly('mov %r0, 0\\nexit', { kind: 'iouring' }));
        await rings[1].runProgram(idx);
      }
      for (const r of rings) r.timeout(60_000).catch(() => {});
      parentPort.postMessage({ w: ${w}, n, fds: rings.map((r) => r.fd) });
      parentPort.once('message', () => process.exit(0));
    `),
  );
  t.after(() => Promise.all(workers.map((w) => w.worker.terminate())));
  const reports = (await Promise.all(workers.map((w) => nextMessage(w.worker)))) as { w: number; n: number; fds: number[] }[];
  assert.deepEqual(reports.map((r) => r.n), Array.from({ length: N }, (_, i) => i));
  const open = (fds: number[]) => fds.filter((fd) => ioUringFdSet().has(fd)).length;
  assert.equal(open(reports.flatMap((r) => r.fds)), 2 * N, 'every worker ring open');
  assert.ok(ioUringFdSet().has(main.fd));
  const order = [2, 0, 3, 1];
  for (const [k, w] of order.entries()) {
    workers[w]!.worker.postMessage('exit');
    assert.equal(await workers[w]!.exit, 0);
    const others = order.slice(k + 1).flatMap((o) => reports[o]!.fds);
    assert.deepEqual([open(reports[w]!.fds), open(others)], [0, others.length], `worker ${w}'s two rings closed, the others' still open`);
    assert.ok(ioUringFdSet().has(main.fd), 'the main thread\'s ring is open');
    await exercise(main, 100 + w);
  }
  assert.equal(await within(mainTimer, 2000 * CPU_TIME_SCALE, 'the main thread\'s timeout'), true);
  await main.close();
});

test('a worker terminated with requests in flight (reads, timeouts, a program engine) leaves the rest of the process working', async (t) => {
  const main = new Ring();
  const fdsBefore = ioUringFds();
  for (let i = 0; i < 6; i++) {
    const { worker, exit } = runWorker(`
      const ring = new Ring(${engineAvailable() ? '{ cqs: [8] }' : ''});
      const { openSync } = await import('node:fs');
      const fd = openSync('/dev/zero', 'r');
      const reads = Array.from({ length: 16 }, () => ring.read(fd, new Uint8Array(4096), 0));
      await Promise.all(reads);
      ring.timeout(60_000).catch(() => {});
      for (let k = 0; k < 8; k++) ring.read(fd, new Uint8Array(65536), 0).catch(() => {});
      parentPort.postMessage('busy');
      // keep submitting until terminated
      for (;;) await ring.nop();
    `);
    t.after(() => worker.terminate()); // (it never exits by itself: a failed assertion would leave it holding the file's process)
    assert.equal(await nextMessage(worker), 'busy');
    await new Promise((r) => setTimeout(r, 5 * i));
    assert.equal(await worker.terminate(), 1);
    assert.equal(await exit, 1);
    assert.equal(ioUringFds(), fdsBefore, 'the terminated worker\'s ring was closed by its env teardown');
    await exercise(main, i);
  }
  await main.close();
});

test('handles do not cross environments: a ring handle from a worker is refused on the main thread (and back)', { skip: lacksFlag('nop', 'INJECT_RESULT') }, async () => {
  // a Ring itself cannot be posted (it has private state); its fd number means nothing to another
  // env's handle table: the main thread's ring list only holds its own rings
  const ring = new Ring();
  const before = binding.ringOpenCount();
  const { worker, exit } = runWorker(`
    const r = new Ring();
    const { binding } = await import(${JSON.stringify(new URL('../../src/native.js', import.meta.url).href)});
    parentPort.postMessage({ count: binding.ringOpenCount(), n: await r.nop({ injectResult: 4 }) });
  `);
  assert.deepEqual(await nextMessage(worker), { count: 1, n: 4 }, 'the worker sees only its own ring');
  assert.equal(await exit, 0);
  assert.equal(binding.ringOpenCount(), before);
  // a foreign external (a program's handle) or anything else is not a ring handle: -EINVAL, no
  // dereference
  if (engineAvailable()) {
    const foreign = (Program.fromAssembly('mov %r0, 0\nexit') as unknown as { nativeHandle: unknown }).nativeHandle;
    assert.equal(binding.ringSubmit(foreign, 0, 0, 0, 0), -22);
    assert.equal(binding.ringClose(foreign), -22);
  }
  assert.equal(binding.ringSubmit({}, 0, 0, 0, 0), -22);
  assert.equal(binding.ringEnter(null, 0, 0, 0), -22);
  await exercise(ring, 1);
  await ring.close();
});

test('a worker terminated while io-wq work waits for it (IOSQE_ASYNC NOPs past 20 per enter, reads of an empty pipe blocked on io-wq) leaves the rest of the process working', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const fifo = join(dir, 'p');
  execFileSync('mkfifo', [fifo]);
  const main = new Ring();
  const fdsBefore = ioUringFds();
  for (let i = 0; i < 4; i++) {
    const { worker, exit } = runWorker(`
      const { op } = await import(${JSON.stringify(index)});
      const ring = new Ring({ entries: 256 });
      const { openSync, constants } = await import('node:fs');
      const r = openSync(${JSON.stringify(fifo)}, constants.O_RDWR); // nothing is ever written: each read blocks on io-wq
      for (let k = 0; k < 16; k++) ring.run(op.read(r, new Uint8Array(64), -1).async()).catch(() => {});
      await Promise.all(Array.from({ length: 200 }, () => ring.run(op.nop().async())));
      parentPort.postMessage('busy');
      for (;;) await Promise.all(Array.from({ length: 64 }, () => ring.run(op.nop().async())));
    `);
    t.after(() => worker.terminate()); // (never exits by itself)
    assert.equal(await nextMessage(worker), 'busy');
    await new Promise((r) => setTimeout(r, 3 * i));
    assert.equal(await worker.terminate(), 1);
    assert.equal(await exit, 1);
    assert.equal(ioUringFds(), fdsBefore, "the terminated worker's ring was closed by its env teardown, its blocked reads cancelled");
    await exercise(main, 200 + i);
  }
  await main.close();
});
