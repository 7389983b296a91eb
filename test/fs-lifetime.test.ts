/**
 * ringflow/fs's rings: a script that only uses ringflow/fs exits by itself (the default ring never
 * holds the process while idle) and still finishes a call left pending at the end of the script;
 * each worker_thread gets its own default ring; createFs({ ring }) puts every call (and its
 * FileHandles) on the ring given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ring } from '../src/index.js';
import { createFs } from '../src/fs/index.js';
import { CPU_TIME_SCALE } from './helpers.js';

const fsModule = new URL('../src/fs/index.js', import.meta.url).href;
const ringModule = new URL('../src/fs/default-ring.js', import.meta.url).href;

function run(body: string): { code: number | null; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import fs from '${fsModule}';\n${body}`], { encoding: 'utf8', timeout: 20_000 * CPU_TIME_SCALE });
  return { code: r.status, out: r.stdout + r.stderr, ms: Date.now() - t0 };
}

test('a script that only uses ringflow/fs exits by itself', () => {
  const r = run(`const s = await fs.stat('/'); const t = await fs.readFile('/etc/hostname', 'utf8'); console.log('done', s.isDirectory(), typeof t);`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /done true string/);
  assert.ok(r.ms < 10_000 * CPU_TIME_SCALE, `exited after ${r.ms} ms`);
});

test('a call pending at the end of the script completes before the process exits (as with node:fs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-fs-life-'));
  try {
    writeFileSync(join(dir, 'f'), 'payload');
    const r = run(`fs.readFile(${JSON.stringify(join(dir, 'f'))}, 'utf8').then((t) => console.log('read', t));`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /read payload/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker threads: each has its own default ring; the worker exits by itself', async () => {
  const code = `
    const { default: fs } = await import(${JSON.stringify(fsModule)});
    const { peekDefaultRing } = await import(${JSON.stringify(ringModule)});
    const { parentPort, workerData } = await import('node:worker_threads');
    await fs.writeFile(workerData.path, 'from worker ' + workerData.i);
    const fh = await fs.open(workerData.path, 'r');
    const { bytesRead, buffer } = await fh.read({ position: null });
    await fh.close();
    // all three rings alive at once before their fds are compared (an exited worker's ring fd is reused)
    const live = new Int32Array(workerData.live);
    Atomics.add(live, 0, 1);
    Atomics.notify(live, 0);
    for (let n; (n = Atomics.load(live, 0)) < 3; ) Atomics.wait(live, 0, n, 10000);
    parentPort.postMessage({ text: buffer.subarray(0, bytesRead).toString(), ringFd: peekDefaultRing().fd });
  `;
  const live = new SharedArrayBuffer(4);
  const dir = mkdtempSync(join(tmpdir(), 'rf-fs-workers-'));
  try {
    const results = await Promise.all(
      [0, 1, 2].map(
        (i) =>
          new Promise<{ text: string; ringFd: number; exit: number }>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { path: join(dir, `w${i}`), i, live } });
            let msg: { text: string; ringFd: number };
            w.on('message', (m) => (msg = m));
            w.on('error', reject);
            w.on('exit', (exit) => resolve({ ...msg, exit })); // exits on its own: nothing terminates it
          }),
      ),
    );
    results.forEach((r, i) => {
      assert.equal(r.text, `from worker ${i}`);
      assert.equal(r.exit, 0);
    });
    const fds = new Set(results.map((r) => r.ringFd));
    assert.equal(fds.size, 3, 'one ring per worker');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('createFs({ ring }): every call and its FileHandles use the ring given', async () => {
  await using ring = new Ring();
  const fs = createFs({ ring });
  const dir = await fs.mkdtemp(join(tmpdir(), 'rf-fs-explicit-'));
  try {
    const before = ring.stats().sqesSubmitted;
    await fs.writeFile(join(dir, 'a'), 'explicit');
    assert.equal(await fs.readFile(join(dir, 'a'), 'utf8'), 'explicit');
    const fh = await fs.open(join(dir, 'a'));
    assert.equal((fh as unknown as { ring: Ring }).ring, ring);
    assert.equal((await fh.stat()).size, 8);
    await fh.close();
    await fs.rename(join(dir, 'a'), join(dir, 'b'));
    await fs.unlink(join(dir, 'b'));
    assert.ok(ring.stats().sqesSubmitted - before >= 12, `${ring.stats().sqesSubmitted - before} requests on the explicit ring`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  assert.throws(() => createFs({} as never), TypeError);
});
