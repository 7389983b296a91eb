// Attacks on this session's ownership changes (docs/security.md, "Readers, the file position and
// buffer tables"):
//  - a TcpSocket's kept chunks (src/net/socket-reader.ts: what a closed chunks() stream had not
//    handed out waits for the socket's next reader) and a read() waiting for the old recv to end;
//  - a FileHandle's queue of operations at the file position (FileHandle.atFilePosition) and the
//    read-ahead that moves the position by lseek (the addon's fdSeek);
//  - registered buffers released on the unregister's return where the kernel quiesces
//    (src/ring/tag-probe.ts), and by the tag CQE elsewhere.
// A hostile program (JIT and interpreter) cancels every request JS could have and forges a CQE
// under each user_data, resource tags (user_data high word 0xfffffffe) included; a careless caller
// closes from a callback, detaches the buffer it passed, and closes a handle under queued reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { writeFileSync, writeSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempDir, gcChild } from '../helpers.js';
import { Worker } from 'node:worker_threads';
import { TcpServer } from '../../src/index.js';
import ringFs, { createFs } from '../../src/fs/index.js';
import { RESOURCE_TAG } from '../../src/ring/completion.js';
import { ENGINES, noEngine, cancelAndForge, attackTargets } from './asm-programs.js';
import { nodeClientPair } from '../net-helpers.js';
import { until, settledWithin } from '../wait-util.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


const pattern = (n: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + (i >> 9)) & 0xff;
  return b;
};

/** Every resource tag low word a young ring may have used, as user_data. */
const tagTargets = (): bigint[] => Array.from({ length: 64 }, (_, i) => (BigInt(RESOURCE_TAG) << 32n) | BigInt(i + 1));

for (const { name, jit } of ENGINES) {
  test(`a program that cancels and forges under every JS request and resource tag while a closed chunks() stream's bytes wait for the next reader: the next read()s get every byte, in order (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const { peer, client } = await nodeClientPair(t, ring);
    const data = pattern(150_000);
    client.write(data);
    const got: Buffer[] = [];
    for await (const c of peer.chunks({ highWater: 4 })) {
      got.push(Buffer.from(c.bytes));
      c.release();
      break; // the rest, queued or still coming, is kept for the next reader
    }
    const firstRead = Buffer.alloc(10);
    const waiting = peer.read(firstRead); // waits for the old recv to be out of the kernel
    await cancelAndForge(ring, [...attackTargets(ring), ...tagTargets()], jit);
    const n0 = await waiting;
    assert.ok(n0 > 0 && n0 <= 10);
    const head = got[0]!;
    assert.ok(head.equals(data.subarray(0, head.length)), 'the chunk the stream handed out');
    const rest: Buffer[] = [firstRead.subarray(0, n0)];
    let total = head.length + n0;
    while (total < data.length) {
      const b = Buffer.alloc(4096);
      const n = await peer.read(b);
      assert.ok(n > 0, 'no EOF before every byte');
      rest.push(b.subarray(0, n));
      total += n;
    }
    assert.ok(Buffer.concat(rest).equals(data.subarray(head.length)), 'every kept and later byte once, in order');
    assert.equal(peer.bytesRead, data.length);
  });

  test(`a program that cancels and forges under every JS request as a chunks() stream is left in the tick its recv was armed behind kept chunks, with bytes waiting in the socket: the kept chunks stay ahead of the new bytes (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const { peer, client } = await nodeClientPair(t, ring);
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    const a = peer.chunks({ highWater: 16 });
    await sleep(20);
    for (const ch of 'abcd') {
      writeSync(fd, ch.repeat(100)); // one CQE each
      await sleep(20);
    }
    const first = (await a.next()).value!;
    const got = [Buffer.from(first.bytes)];
    first.release();
    a.close(); // b, c, d kept
    await sleep(20);
    writeSync(fd, 'e'.repeat(100)); // waits in the socket
    await sleep(20);
    let attack: Promise<void> | undefined;
    for await (const c of peer.chunks()) {
      got.push(Buffer.from(c.bytes));
      c.release();
      // the new recv is queued: the program aims at it (and every other JS request) as the break cancels it
      attack = cancelAndForge(ring, [...attackTargets(ring), ...tagTargets()], jit);
      break;
    }
    await attack;
    while (got.reduce((n, b) => n + b.length, 0) < 500) {
      const b = Buffer.alloc(1000);
      const n = await peer.read(b);
      assert.ok(n > 0, 'no EOF before every byte');
      got.push(b.subarray(0, n));
    }
    assert.equal(Buffer.concat(got).toString(), 'abcde'.replace(/./g, (ch) => ch.repeat(100)), 'every byte once, in order');
    assert.equal(peer.bytesRead, 500);
  });

  test(`a program that forges resource-tag CQEs cannot release a registered buffer: in the table it stays registered and unreleased; unregistered, it is released by the kernel's word alone (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const [kept, dropped] = ring.buffers.register([4096, 4096]);
    let keptReleased = false;
    void kept!.released.then(() => (keptReleased = true));
    await cancelAndForge(ring, tagTargets(), jit);
    await sleep(20);
    assert.equal(kept!.registered, true);
    assert.equal(keptReleased, false, 'a forged tag CQE went to the programs\' CQ 0, not to the tag handler');
    kept!.bytes[0] = 7; // still JS's to use
    ring.buffers.update(1, [null]);
    await cancelAndForge(ring, tagTargets(), jit);
    await ring.nop();
    // (settledWithin: 2 s × CPU_TIME_SCALE, a loaded TCG guest is slower)
    assert.equal(await settledWithin(dropped!.released.then(() => 'released'), 2000), 'released', 'the replaced buffer: by its own tag CQE');
    assert.equal(keptReleased, false);
    ring.buffers.unregister();
    assert.equal(await settledWithin(kept!.released.then(() => 'released'), 2000), 'released');
  });

  test(`a program that cancels and forges under every JS request while two streams and fh.read(null) calls share one handle's file position: every byte read once, the position where node would leave it (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const path = join(dir, 'f');
    const data = pattern(600_000);
    writeFileSync(path, data);
    const fs = createFs({ ring });
    const fh = await fs.open(path);
    t.after(() => fh.close().catch(() => {}));
    const streams = [fh.createReadStream({ autoClose: false, highWaterMark: 32768 }), fh.createReadStream({ autoClose: false, highWaterMark: 16384 })];
    const reads = (async () => {
      let n = 0;
      for (let i = 0; i < 10; i++) n += (await fh.read(Buffer.alloc(5000), 0, 5000, null)).bytesRead;
      return n;
    })();
    const attack = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(1);
        await cancelAndForge(ring, attackTargets(ring), jit);
      }
    })();
    const byStream = await Promise.all(streams.map(async (s) => {
      let n = 0;
      for await (const c of s) n += (c as Buffer).length;
      return n;
    }));
    const byReads = await reads;
    await attack;
    assert.equal(byStream[0]! + byStream[1]! + byReads, data.length, 'together they read the file once');
    const tail = await fh.read(Buffer.alloc(1), 0, 1, null);
    assert.equal(tail.bytesRead, 0, 'the position is at the end');
    for (const s of streams) s.destroy();
    await fh.close();
  });
}

for (const { name, jit } of ENGINES) {
  test(`a program that cancels and forges ECANCELED under every JS request while FileHandles close: each close ends by the kernel's word, no fd is closed twice (the files that take the numbers stay open), and a ring closed after loses nothing (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    writeFileSync(a, 'first');
    writeFileSync(b, 'second');
    const fs = createFs({ ring });
    for (let round = 0; round < 3; round++) {
      const handles = await Promise.all(Array.from({ length: 8 }, () => fs.open(a)));
      const numbers = handles.map((h) => h.fd);
      const closes = handles.map((h) => h.close());
      // (a forged CQE with res -ECANCELED under a close's user_data, taken for the kernel's, would
      // make ringflow/fs close that number again by close(2): src/ring/close-fd.ts, neverRan)
      const attack = cancelAndForge(ring, attackTargets(ring), jit, 0, -125);
      await Promise.all(closes);
      const others = numbers.map(() => openSync(b, 'r')); // the numbers just freed
      await attack;
      await ring.nop();
      await sleep(20); // (what a late CQE would set off has run by now)
      for (const fd of others) {
        const got = Buffer.alloc(6);
        assert.equal(readSync(fd, got, 0, 6, 0), 6, `round ${round}: fd ${fd} still open`);
        assert.equal(got.toString(), 'second');
        closeSync(fd);
      }
    }
  });
}

test('careless caller: close() from inside a chunks() listen callback while chunks are kept: a read() after it rejects closed, every kept buffer goes home', async (t) => {
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 16, size: 4096 });
  const server = await TcpServer.listen(ring, { port: 0, host: '127.0.0.1', group });
  t.after(() => server.close());
  const accepted = server.accept();
  const client = net.connect(server.address()!.port, '127.0.0.1');
  t.after(() => client.destroy());
  await new Promise((r) => client.once('connect', r));
  const peer = await accepted;
  client.write(pattern(40_000));
  const first = peer.chunks({ highWater: 4 });
  const c = (await first.next()).value!;
  c.release();
  first.close(); // the rest is kept
  await sleep(20);
  const closed = new Promise<void>((resolve) => {
    const s2 = peer.chunks();
    s2.listen((chunk) => {
      chunk.release();
      void peer.close().then(resolve); // close() from the callback, with kept chunks still queued behind it
    });
  });
  await closed;
  await assert.rejects(peer.read(Buffer.alloc(8)), { code: 'EBADF', message: /the socket is closed/ });
  await until(() => group.outstanding === 0, 1000, 10); // (scaled: a loaded TCG guest is slower)
  assert.equal(group.outstanding, 0, 'every kept chunk went back to its group');
});

test('careless caller: the buffer passed to read() is transferred away while the read waits behind a closed stream: the read rejects, the kept bytes go to the next read whole', async (t) => {
  const ring = ringFor(t);
  const { peer, client } = await nodeClientPair(t, ring);
  const data = pattern(30_000);
  client.write(data);
  const s = peer.chunks({ highWater: 4 });
  const c = (await s.next()).value!;
  const head = Buffer.from(c.bytes);
  c.release();
  s.close();
  const ab = new ArrayBuffer(64);
  const doomed = peer.read(new Uint8Array(ab));
  structuredClone(ab, { transfer: [ab] }); // detached while the read waits for the old recv
  const outcome = await doomed.then((n) => `resolved ${n}`, (e: Error) => `rejected ${e.name}`);
  assert.match(outcome, /^rejected (TypeError|RangeError|RingError)$|^resolved 0$/, 'a detached buffer takes nothing');
  const rest: Buffer[] = [];
  let total = head.length;
  while (total < data.length) {
    const b = Buffer.alloc(8192);
    const n = await peer.read(b);
    assert.ok(n > 0);
    rest.push(b.subarray(0, n));
    total += n;
  }
  assert.ok(Buffer.concat([head, ...rest]).equals(data), 'no byte lost to the detached read');
});

test('careless caller: a FileHandle closed with reads at the file position queued: each settles once, and no lseek reaches the file that takes its fd number', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  writeFileSync(a, pattern(300_000));
  writeFileSync(b, 'second file');
  for (let round = 0; round < 20; round++) {
    const fh = await ringFs.open(a);
    const s = fh.createReadStream({ autoClose: false, highWaterMark: 4096 });
    s.on('data', () => {});
    s.on('error', () => {});
    const queued = [fh.read(Buffer.alloc(100), 0, 100, null), fh.readFile(), fh.read(Buffer.alloc(100), 0, 100, null)].map((p) => p.then(() => 'ok', (e: NodeJS.ErrnoException) => e.code));
    const closing = fh.close();
    const other = await ringFs.open(b); // may take the fd number as soon as the close ran
    const outcomes = await Promise.all(queued);
    await closing;
    s.destroy();
    for (const o of outcomes) assert.ok(o === 'ok' || o === 'EBADF', `round ${round}: ${o}`);
    const r = await other.read(Buffer.alloc(6), 0, 6, null);
    assert.equal(r.buffer.toString(), 'second', `round ${round}: the other file read from its start`);
    await other.close();
  }
});

const index = new URL('../../src/index.js', import.meta.url).href;
const fsIndex = new URL('../../src/fs/index.js', import.meta.url).href;

/** A socket with chunks kept for its next reader and a read() waiting behind the old recv, and a FileHandle with reads queued at the file position and a stream: the module body both tests below run. */
const leftBusy = `
  const { Ring, TcpServer } = await import('${index}');
  const fs = (await import('${fsIndex}')).default;
  const net = await import('node:net');
  const { writeFileSync } = await import('node:fs');
  const ring = new Ring();
  const server = await TcpServer.listen(ring, { port: 0, host: '127.0.0.1' });
  const accepted = server.accept();
  const client = net.connect(server.address().port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const peer = await accepted;
  client.write(Buffer.alloc(100000, 3));
  const s = peer.chunks({ highWater: 4 });
  (await s.next()).value.release();
  s.close();
  void peer.read(Buffer.alloc(10)).catch(() => {});
  const path = process.env.RF_FILE;
  writeFileSync(path, Buffer.alloc(200000, 4));
  const fh = await fs.open(path);
  fh.createReadStream({ autoClose: false }).on('data', () => {}).on('error', () => {});
  for (let i = 0; i < 4; i++) void fh.read(Buffer.alloc(100), 0, 100, null).catch(() => {});
`;

test('careless caller: a worker exits with chunks kept on a socket, a read() waiting behind the old recv, and reads queued at a handle\'s file position: it exits, and this thread goes on', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  process.env.RF_FILE = join(dir, 'w');
  const w = new Worker(`${leftBusy}\n(await import('node:worker_threads')).parentPort.postMessage('busy'); process.exit(0);`, { eval: true });
  t.after(() => w.terminate()); // (a worker that did not exit would hold the file's process)
  const exit = new Promise<number>((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
  // (30 s × CPU_TIME_SCALE, its timer cleared: a bare sleep(30_000) kept the file's loop up to 30 s past the test)
  assert.equal(await settledWithin(exit, 30_000), 0, 'the worker exited by itself');
  const ring = ringFor(t);
  assert.equal(await ring.nop(), 0, 'rings of this thread still work');
});

test('careless caller: a ring dropped without close() with chunks kept on its socket and reads queued at a handle\'s file position: no crash, the process exits', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const r = gcChild(`${leftBusy}
    let warned = 0;
    process.on('warning', (w) => { if (w.code === 'RINGFLOW_RING_GC') warned++; });
    client.destroy();
    for (let i = 0; i < 20; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
    console.log('RESULT ' + JSON.stringify({ ok: true }));
    process.exit(0);`, { RF_FILE: join(dir, 'g') });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.result, { ok: true });
});
