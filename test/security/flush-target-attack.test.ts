// Requests settled through runForTarget() (src/ring/callback-requests.ts: TcpSocket's sends) and
// the automatic flush that runs as a microtask on an idle ring (src/ring/submission.ts,
// FlushSchedule), attacked. A hostile program can neither cancel nor complete a target request or
// a write's send (its cancels find nothing, its CQEs go to the programs' CQ 0); a careless caller
// who closes the ring from a target's callback or right after queuing, lets a worker exit or drops
// the ring while a flush is pending loses nothing and crashes nothing. docs/security.md,
// "Callback requests and repeated cancels". Program attacks run under the JIT and the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { ringFor, gcChild, CPU_TIME_SCALE } from '../helpers.js';
import { until } from '../wait-util.js';
import { readExactly } from '../net-helpers.js';
import { op, TcpServer, TcpSocket } from '../../src/index.js';
import { runForTarget, type SettleTarget } from '../../src/ring/callback-requests.js';
import { binding } from '../../src/native.js';
import { SOL, SO } from '../../src/ops/net-abi.js';
import { ENGINES, noEngine, cancelAndForge, attackTargets } from './asm-programs.js';

const index = new URL('../../src/index.js', import.meta.url).href;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A target that records every settlement: [how, token, value or error]. */
function recorder(): SettleTarget<number> & { got: [string, number, unknown][] } {
  const got: [string, number, unknown][] = [];
  return { got, resolved: (token, value) => void got.push(['resolved', token, value]), rejected: (token, error) => void got.push(['rejected', token, error]) };
}


for (const { name, jit } of ENGINES) {
  test(`a program can neither cancel nor complete a runForTarget request (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const target = recorder();
    const ac = new AbortController();
    runForTarget(ring, op.timeout(30_000), target, 1, undefined);
    runForTarget(ring, op.timeout(30_000), target, 2, ac.signal);
    await sleep(10);
    const pending = ring.pending;
    assert.equal(pending, 2);
    await cancelAndForge(ring, attackTargets(ring), jit);
    await sleep(20);
    assert.equal(target.got.length, 0, 'neither request settled');
    assert.equal(ring.pending, pending);
    // JS's own abort and the ring's close each settle theirs, once
    ac.abort();
    await until(() => target.got.length >= 1, 500); // (scaled: a loaded TCG guest is slower)
    assert.deepEqual(target.got.map(([k, tok, e]) => [k, tok, (e as Error).name]), [['rejected', 2, 'AbortError']]);
    await ring.close();
    assert.equal(target.got.length, 2);
    assert.deepEqual(target.got[1].slice(0, 2), ['rejected', 1]);
  });

  test(`a program cannot end a TcpSocket write's send early nor settle it: the write goes whole, once (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const server = await TcpServer.listen(ring, { port: 0 });
    t.after(() => server.close());
    const acc = server.accept();
    const client = await TcpSocket.connect(ring, { port: server.address()!.port });
    const peer = await acc;
    // small fixed buffers: the write waits for the client to read
    assert.equal(binding.sockSetInt(peer.fd, SOL.SOCKET, SO.SNDBUF, 4096), 0);
    assert.equal(binding.sockSetInt(client.fd, SOL.SOCKET, SO.RCVBUF, 4096), 0);
    const data = Buffer.alloc(256 * 1024).map((_, i) => (i * 13) & 0xff);
    let settled = 0;
    const writing = peer.write(data).then(() => settled++);
    await sleep(20);
    assert.equal(settled, 0, 'the write waits for room');
    await cancelAndForge(ring, attackTargets(ring), jit); // (the write's send by its own user_data too)
    await sleep(20);
    assert.equal(settled, 0, 'no forged CQE settled the write');
    assert.deepEqual(await readExactly(client, data.length), data, 'every byte, in order');
    await writing;
    assert.equal(settled, 1);
    await Promise.all([client.close(), peer.close()]);
  });
}

test('careless caller: ring.close() from inside a runForTarget callback: the others settle once, a request made there is refused', async (t) => {
  const ring = ringFor(t);
  const others = recorder();
  runForTarget(ring, op.timeout(30_000), others, 1, undefined);
  runForTarget(ring, op.timeout(30_000), others, 2, undefined);
  let closing: Promise<void> | undefined;
  let refused: unknown;
  let calls = 0;
  await new Promise<void>((resolve) =>
    runForTarget(
      ring,
      op.nop(),
      {
        resolved: () => {
          calls++;
          closing = ring.close();
          try {
            runForTarget(ring, op.nop(), others, 3, undefined);
          } catch (e) {
            refused = e;
          }
          resolve();
        },
        rejected: () => resolve(),
      },
      0,
      undefined,
    ),
  );
  await closing;
  assert.equal(calls, 1);
  assert.equal((refused as Error)?.name, 'RingClosedError');
  assert.deepEqual(others.got.map(([k, tok]) => [k, tok]).sort((a, b) => (a[1] as number) - (b[1] as number)), [['rejected', 1], ['rejected', 2]]);
});

test('careless caller: ring.close() right after queuing on an idle ring (its flush a microtask away): each request settles once, the flush finds the ring closed', async (t) => {
  const ring = ringFor(t);
  const target = recorder();
  const p = ring.nop();
  runForTarget(ring, op.nop(), target, 7, undefined);
  const closed = ring.close();
  const outcome = await p.then(
    (v) => ['resolved', v],
    (e: Error) => ['rejected', e.name],
  );
  await closed;
  await sleep(5); // the microtask flush has run by now, on a closed ring
  assert.deepEqual(outcome, ['rejected', 'RingClosedError']);
  assert.deepEqual(target.got.map(([k, tok, e]) => [k, tok, (e as Error).name]), [['rejected', 7, 'RingClosedError']]);
  assert.equal(ring.stats().sqesSubmitted, 0, 'nothing reached the kernel');
});

test('careless caller: a worker queues requests on an idle ring and exits before their flush runs; this thread goes on', async () => {
  const w = new Worker(
    `import('${index}').then(({ Ring }) => {
      const ring = new Ring();
      for (let i = 0; i < 8; i++) ring.nop().catch(() => {});
      process.exit(0); // synchronously: the flush microtask never runs
    });`,
    { eval: true },
  );
  const exited = new Promise((r) => w.once('exit', r));
  w.once('error', (e) => assert.fail(e));
  assert.equal(await exited, 0);
});

test('careless caller: a ring dropped without close() with its first request\'s flush pending: the request completes, then the ring is collected', () => {
  const r = gcChild(`import { Ring } from '${index}';
    let warned = 0, value;
    process.on('warning', (w) => { if (w.code === 'RINGFLOW_RING_GC') warned++; });
    const p = (() => new Ring().nop())(); // the only reference to the ring is its pending flush
    gc();
    value = await p;
    for (let i = 0; i < 10 * ${CPU_TIME_SCALE} && warned === 0; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
    console.log('RESULT ' + JSON.stringify({ value, warned }));`);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.result, { value: 0, warned: 1 });
});
