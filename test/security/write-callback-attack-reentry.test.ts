/**
 * Attacks on write callbacks, continued (write-callback-attack.test.ts has the first part and the
 * contract): callbacks that throw under load, 1000 connections that vanish on the 256-buffer default
 * group, a worker terminated mid-stream, and callbacks of other sockets reached inside write() when
 * a full SQ makes it flush and reap (a second send of one job, ring.close() there, abort()).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { ringFor, CPU_TIME_SCALE } from '../helpers.js';
import { readExactly } from '../net-helpers.js';
import {  TcpServer, RingError, BufferGroup } from '../../src/index.js';
import { defaultGroup } from '../../src/net/recv-group.js';
import { sleep, fdCount, pair, chunkOf, readToEof } from './write-chunk-util.js';
import { Callbacks, unique, isClosedError, netFds, smallBuffers, fullSqSetup } from './write-callback-util.js';
test('callbacks that throw on every call under load (child process): one uncaught exception per write, every echo byte-exact, the ring keeps serving the other sockets', () => {
  const index = new URL('../../src/index.js', import.meta.url).href;
  const code = `
    import { Ring, TcpServer, TcpSocket } from ${JSON.stringify(index)};
    let thrown = 0, other = 0, inside = false, insideCount = 0;
    process.on('uncaughtException', (e) => { if (/boom \\d+/.test(e.message)) thrown++; else { console.error(e); process.exit(3); } });
    const ring = new Ring({ entries: 64 });
    const server = await TcpServer.listen(ring, { port: 0 });
    let writes = 0;
    server.connections().listen((sock) => {
      sock.chunks().listen((c) => {
        const n = writes++;
        inside = true;
        sock.write(c, () => { if (inside) insideCount++; throw new Error('boom ' + n); });
        inside = false;
      }, () => void sock.close());
    });
    const pattern = (tag, len) => { const b = Buffer.allocUnsafe(len); let x = tag * 2654435761 >>> 0 || 1; for (let i = 0; i < len; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x & 255; } return b; };
    const conns = 40, size = 256 << 10;
    const ok = await Promise.all(Array.from({ length: conns }, async (_, k) => {
      const c = await TcpSocket.connect(ring, { port: server.address().port });
      const data = pattern(k + 1, size);
      const back = Buffer.alloc(size);
      let got = 0;
      const reading = (async () => { while (got < size) { const n = await c.read(back.subarray(got)); if (n === 0) break; got += n; } })();
      for (let at = 0; at < size; at += 10000) await c.write(data.subarray(at, at + 10000));
      await reading;
      await c.close();
      return back.equals(data);
    }));
    // one more connection after all that: the ring still serves
    const last = await TcpSocket.connect(ring, { port: server.address().port });
    await last.write('still here');
    const b = Buffer.alloc(10);
    let n = 0;
    while (n < 10) n += await last.read(b.subarray(n));
    await last.close();
    await new Promise((r) => setTimeout(r, 50));
    console.log(JSON.stringify({ ok: ok.filter(Boolean).length, thrown, writes, insideCount, last: b.toString() }));
    await server.close();
    await ring.close();`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { ok: number; thrown: number; writes: number; insideCount: number; last: string };
  assert.equal(r.ok, 40, 'every connection got its bytes back exactly');
  assert.equal(r.last, 'still here', 'a later connection is served');
  assert.ok(r.writes > 40);
  assert.equal(r.thrown, r.writes, 'one uncaught exception per write callback');
  assert.equal(r.insideCount, 0, 'no callback inside write()');
});

test('1000 connections that connect, send and vanish (FIN, RST, or read the echo) while the server echoes with write(chunk, cb) on the 256-buffer default group: every one served or closed, every chunk home, no fd left', async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring, { port: 0, backlog: 1024 });
  const group = defaultGroup(ring) as BufferGroup;
  const fds = fdCount();
  const cbs = new Callbacks();
  let accepted = 0;
  let closedServerSide = 0;
  let writes = 0;
  let ended = 0;
  server.connections().listen((sock) => {
    accepted++;
    sock.chunks().listen(
      (c) => {
        const n = writes++;
        cbs.during(() => sock.write(c, cbs.cb(`w${n}`)));
      },
      () => {
        ended++;
        void sock.close().then(() => closedServerSide++);
      },
    );
  });
  const total = 1000;
  let verified = 0;
  let vanished = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const mode = i % 3; // 0: reads its echo (late: the group runs dry meanwhile), 1: FIN, 2: RST
      const size = 1000 + ((i * 7919) % (mode === 0 ? 200_000 : 60_000));
      const data = unique(1000 + i, size);
      const s = net.connect(server.address()!.port, '127.0.0.1');
      s.on('error', (e) => (mode === 0 ? reject(e) : undefined));
      s.once('connect', () => {
        if (mode === 0) {
          s.pause();
          const parts: Buffer[] = [];
          let got = 0;
          s.on('data', (d: Buffer) => {
            parts.push(d);
            got += d.length;
            if (got >= size) {
              const back = Buffer.concat(parts);
              if (back.equals(data)) verified++;
              else reject(new Error(`connection ${i}: echo differs`));
              s.end();
            }
          });
          s.write(data);
          setTimeout(() => s.resume(), 30 + (i % 50));
          s.once('close', () => resolve());
        } else {
          s.write(data, () => {
            vanished++;
            if (mode === 1) s.destroy();
            else s.resetAndDestroy();
          });
          s.once('close', () => resolve());
        }
      });
    });
  const batch = 125;
  for (let at = 0; at < total; at += batch) await Promise.all(Array.from({ length: Math.min(batch, total - at) }, (_, k) => one(at + k)));
  const deadline = Date.now() + 5000;
  while ((closedServerSide < total || group.outstanding > 0) && Date.now() < deadline) await sleep(10);
  assert.equal(accepted, total, 'every connection accepted');
  assert.equal(verified, Math.ceil(total / 3), 'every reader got its exact echo');
  assert.equal(vanished, total - Math.ceil(total / 3));
  assert.equal(ended, total);
  assert.equal(closedServerSide, total, 'every server socket closed');
  await cbs.all();
  for (const [name, [e]] of cbs.outcomes) if (e !== undefined) assert.ok(e instanceof RingError && /ECONNRESET|EPIPE|the socket is closed|ECANCELED/.test(e.message), `${name}: ${String(e)}`);
  assert.equal(group.outstanding, 0, 'every chunk of the default group home');
  assert.equal(group.available, 256);
  await sleep(20);
  assert.equal(fdCount(), fds, 'no fd left');
  await server.close();
});

test('a worker_thread echoing by write(chunk, cb) terminated mid-stream: its sockets and ring closed (no fd left), its peers see the end, this thread\'s ring unaffected', async (t) => {
  const index = new URL('../../src/index.js', import.meta.url).href;
  const code = `
    import { Ring, TcpServer } from ${JSON.stringify(index)};
    import { parentPort } from 'node:worker_threads';
    const ring = new Ring({ entries: 64 });
    const server = await TcpServer.listen(ring, { port: 0 });
    let cbs = 0;
    server.connections().listen((sock) => {
      sock.chunks().listen((c) => sock.write(c, () => { cbs++; }), () => void sock.close());
    });
    parentPort.postMessage(server.address().port);
    setInterval(() => parentPort.postMessage({ cbs }), 10);`;
  const ring = ringFor(t);
  const before = netFds();
  const w = new Worker(code, { eval: true, type: 'module' } as never);
  const clients: net.Socket[] = [];
  // (should an assertion fail, the worker and the pumping clients would hold the file's loop)
  t.after(async () => {
    for (const s of clients) s.destroy();
    await w.terminate();
  });
  const port = await new Promise<number>((resolve) => w.once('message', resolve));
  let progress = 0;
  w.on('message', (m: { cbs?: number }) => (progress = m.cbs ?? progress));
  let echoed = 0;
  for (let i = 0; i < 16; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('data', (d) => (echoed += d.length));
    const buf = unique(2000 + i, 16384);
    const pump = () => {
      while (!s.destroyed && s.write(buf));
    };
    s.on('connect', pump);
    s.on('drain', pump);
    clients.push(s);
  }
  const deadline = Date.now() + 3000 * CPU_TIME_SCALE; // (a loaded TCG guest echoed 3 MiB in 3 s)
  while ((echoed < 4 << 20 || progress < 50) && Date.now() < deadline) await sleep(10);
  assert.ok(echoed >= 4 << 20, `the worker echoed (${echoed} bytes)`);
  const ends = clients.map((s) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r()))));
  assert.equal(await w.terminate(), 1);
  const allEnded = await Promise.race([Promise.all(ends).then(() => true), sleep(3000 * CPU_TIME_SCALE).then(() => false)]);
  assert.ok(allEnded, "every peer saw its connection end (the worker's sockets closed)");
  await sleep(50);
  const left = netFds().filter((f) => !before.includes(f));
  assert.deepEqual(left, [], 'no socket, io_uring or eventfd fd left by the worker');
  // this thread's ring still serves
  const group = ring.bufferGroup({ count: 4, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  const d = unique(2100, 3000);
  const echoedOnce = new Promise<unknown[]>((resolve) => peer.chunks().listen((c) => peer.write(c, (...a) => resolve(a))));
  await client.write(d);
  assert.ok((await readExactly(client, d.length)).equals(d));
  assert.deepEqual(await echoedOnce, []);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

// ------------------------------------------------------------------------------------------ re-entrancy through the ring (bugs)

/**
 * Two sockets on a ring of 4 SQ entries: B's write and 3 NOPs fill the SQ, so A's next write()
 * must flush (Ring#enqueue → #flush → #reap) to find room, and that reap delivers B's completion,
 * whose callback runs then: inside A's write(), before A's writer marked its send as started.
 */
test('a callback of another socket reached inside write() (the SQ full: write() flushes and reaps) writes to this socket: each write goes out once', async (t) => {
  const { group, server, A, B, fillSq } = await fullSqSetup(t);
  const cbs = new Callbacks(); // A's callbacks, checked against A's write() calls
  const other = new Callbacks(); // B's: called inside A's write() here (B's own write() returned long ago)
  B.peer.write('b', other.cb('b', () => A.peer.write('X', { signal: new AbortController().signal }, cbs.cb('X'))));
  fillSq();
  cbs.during(() => A.peer.write('a', cbs.cb('a')));
  await Promise.all([cbs.all(), other.all()]);
  await sleep(30);
  await A.peer.close();
  const got = (await readToEof(A.client)).toString();
  assert.equal(got, 'aX', 'each write once, in call order');
  assert.equal((await readExactly(B.client, 1)).toString(), 'b');
  await Promise.all([A.client.close(), B.client.close(), B.peer.close(), server.close()]);
  await group.close();
});

test('the same with chunks: two lone sends of one socket never in flight at once (the reused request), each chunk once on the wire, every chunk home', async (t) => {
  const { group, server, A, B, fillSq } = await fullSqSetup(t);
  const da = unique(30, 1200);
  const dx = unique(31, 1300);
  const ca = await chunkOf(A.client, A.peer, da);
  const cx = await chunkOf(A.client, A.peer, dx);
  const cb = await chunkOf(B.client, B.peer, Buffer.from('b'));
  const cbs = new Callbacks();
  const other = new Callbacks();
  B.peer.write(cb, other.cb('b', () => A.peer.write(cx, { signal: new AbortController().signal }, cbs.cb('X'))));
  fillSq();
  cbs.during(() => A.peer.write(ca, cbs.cb('a')));
  const outcomes = await cbs.all();
  await other.all();
  for (const [n, a] of outcomes) assert.deepEqual(a, [], n);
  await sleep(30);
  await A.peer.close();
  const got = await readToEof(A.client);
  assert.equal(got.length, da.length + dx.length, 'as many bytes as written');
  assert.ok(got.equals(Buffer.concat([da, dx])), 'each chunk once, in call order');
  assert.equal(group.outstanding, 0);
  await Promise.all([A.client.close(), B.client.close(), B.peer.close(), server.close()]);
  await group.close();
});

test('ring.close() from a callback of another socket reached inside write(): that write and the ones behind it still hear once (not inside write()), the chunk comes home', async (t) => {
  const { ring, group, server, A, B, fillSq } = await fullSqSetup(t);
  const ca = await chunkOf(A.client, A.peer, unique(32, 1000));
  const cbs = new Callbacks();
  const other = new Callbacks();
  let closing: Promise<void> | undefined;
  B.peer.write('b', other.cb('b', () => (closing = ring.close())));
  fillSq();
  cbs.during(() => {
    A.peer.write(ca, cbs.cb('a'));
    A.peer.write('behind', cbs.cb('behind'));
  });
  const outcomes = await cbs.all(2000).finally(() => closing);
  for (const n of ['a', 'behind']) assert.ok(isClosedError(outcomes.get(n)![0]), `${n}: ${String(outcomes.get(n)![0])}`);
  assert.equal(group.outstanding, 0, 'the chunk is home');
  await Promise.all([A.client.close(), B.client.close(), server.close()]).catch(() => {});
});

test('abort() of a callback write whose send is in flight (waiting for room, or in the JS backlog): the callback hears AbortError after abort() returned', async (t) => {
  // in flight: a send waiting for room
  const ring = ringFor(t);
  const group = ring.bufferGroup({ count: 4, size: 4096 });
  const { server, client, peer } = await pair(ring, group);
  peer.zeroCopyThreshold = Infinity;
  const c = await chunkOf(client, peer, unique(33, 2000));
  smallBuffers(peer, client);
  const cbs = new Callbacks();
  const ac = new AbortController();
  peer.write(Buffer.alloc(1 << 20, 1), { signal: ac.signal }, cbs.cb('waiting'));
  peer.write(c, cbs.cb('behind'));
  await sleep(30);
  cbs.during(() => ac.abort());
  assert.deepEqual(cbs.violations, [], 'not called inside abort() (a send waiting for room)');
  assert.equal(((await cbs.of('waiting'))[0] as Error).name, 'AbortError');
  await peer.close();
  assert.ok(isClosedError((await cbs.of('behind'))[0]));

  // in the backlog: a ring that keeps 2 requests in flight, both taken by reads that wait
  const ring2 = ringFor(t, { entries: 8, maxInflight: 2 });
  const g2 = ring2.bufferGroup({ count: 4, size: 4096 });
  const p2 = await pair(ring2, g2);
  const stopReads = new AbortController();
  const reads = [p2.client.read(Buffer.alloc(10), { signal: stopReads.signal }).catch((e: unknown) => e), p2.peer.read(Buffer.alloc(10), { signal: stopReads.signal }).catch((e: unknown) => e)];
  await sleep(20);
  const ac2 = new AbortController();
  p2.peer.write('hello', { signal: ac2.signal }, cbs.cb('backlogged'));
  await sleep(20);
  cbs.during(() => ac2.abort());
  assert.deepEqual(cbs.violations, [], 'not called inside abort() (a send in the backlog)');
  assert.equal(((await cbs.of('backlogged'))[0] as Error).name, 'AbortError');
  await cbs.all();
  stopReads.abort(); // (the closes below need room in flight)
  await Promise.all(reads);
  await Promise.all([client.close(), server.close(), p2.client.close(), p2.peer.close(), p2.server.close()]);
  await Promise.all(reads);
  assert.equal(group.outstanding, 0);
  await Promise.all([group.close(), g2.close()]);
});

test('a chunk of a RecvGroup of the caller\'s own making, released by the caller while its callback write runs: the callback is still called once (child process)', () => {
  const index = new URL('../../src/index.js', import.meta.url).href;
  const code = `
    import { Ring, TcpServer, TcpSocket } from ${JSON.stringify(index)};
    const seen = [];
    process.on('uncaughtException', (e) => seen.push('uncaught: ' + e.message));
    const ring = new Ring({ entries: 64 });
    const server = await TcpServer.listen(ring, { port: 0 });
    const acc = server.accept();
    const client = await TcpSocket.connect(ring, { port: server.address().port });
    const peer = await acc;
    let released = false;
    const own = {
      id: 1,
      get bytes() { if (released) throw new Error('released'); return Buffer.from('own chunk'); },
      release() { if (released) throw new Error('released twice'); released = true; },
      [Symbol.dispose]() { if (!released) this.release(); },
    };
    let calls = 0;
    peer.write(own, (err) => { calls++; seen.push('callback ' + (err === undefined ? 'ok' : 'error')); });
    own.release(); // careless: released while the write runs
    const b = Buffer.alloc(9);
    let n = 0;
    while (n < 9) n += await client.read(b.subarray(n));
    await new Promise((r) => setTimeout(r, 50));
    seen.push(b.toString());
    await Promise.all([client.close(), peer.close(), server.close()]);
    await ring.close();
    console.log(JSON.stringify({ calls, seen }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { calls: number; seen: string[] };
  assert.ok(r.seen.includes('own chunk'), 'the bytes went out');
  assert.equal(r.calls, 1, `the callback was called once: ${JSON.stringify(r.seen)}`);
});

