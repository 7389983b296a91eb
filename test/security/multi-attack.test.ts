// Issue #11 — requests with several CQEs and the memory they hold, attacked. A hostile program
// cannot cancel, feed or end a JS multishot request (its user_data is JS's: the program's cancels
// find nothing, its posted CQEs reach only program CQs); a careless caller who drops a ring with
// provided-buffer groups and registered buffers, or lets a worker exit with sockets, groups and
// multishot streams open, loses nothing and crashes nothing. docs/security.md, "Multi-CQE requests".
// Program attacks run under the JIT and the interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { readlinkSync, closeSync } from 'node:fs';
import { ringFor, gcChild } from '../helpers.js';
import { TcpServer, TcpSocket, RingError } from '../../src/index.js';
import { ENGINES, noEngine, cancelAndForge } from './asm-programs.js';

const MORE = 2;
const index = new URL('../../src/index.js', import.meta.url).href;

for (const { name, jit } of ENGINES) {
  test(`a program can neither cancel nor feed a JS multishot accept: its cancels find nothing, its CQEs go to program CQs (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [256] });
    const server = await TcpServer.listen(ring);
    const port = server.address()!.port;
    const accepted: TcpSocket[] = [];
    const stream = server.connections();
    const taking = (async () => {
      for await (const s of stream) accepted.push(s);
    })();
    await TcpSocket.connect(ring, { port }).then((c) => c.close());
    while (accepted.length < 1) await new Promise((r) => setTimeout(r, 2));
    // every user_data JS could be using (slot 0..15 × generation 1..4): cancel it, and post a CQE
    // with F_MORE under it to CQ 0 (the programs' own CQ 0, never JS's)
    const targets: bigint[] = [];
    for (let slot = 0n; slot < 16n; slot++) for (let gen = 1n; gen <= 4n; gen++) targets.push((gen << 32n) | slot);
    await cancelAndForge(ring, targets, jit, MORE);
    // the multishot accept is still armed and still JS's: a new connection is accepted, once
    await TcpSocket.connect(ring, { port }).then((c) => c.close());
    while (accepted.length < 2) await new Promise((r) => setTimeout(r, 2));
    assert.equal(accepted.length, 2);
    assert.equal(stream.rearms, 0, 'never cancelled, never re-armed');
    await Promise.all(accepted.map((s) => s.close()));
    await server.close();
    await taking;
  });
}

/** Runs `body` in a child with --expose-gc (test/helpers.ts, gcChild). */
const child = (body: string) => gcChild(`import { Ring, TcpServer, TcpSocket } from '${index}';\n${body}`);

test('rings dropped without close() with buffer groups, registered buffers and a received chunk held: collected, no crash', () => {
  const r = child(`
    const warned = [];
    process.on('warning', (w) => { if (w.code === 'RINGFLOW_RING_GC') warned.push(w.message); });
    let kept;
    for (let i = 0; i < 20; i++) {
      const ring = new Ring();
      ring.buffers.register([65536, 4096]);
      const group = ring.bufferGroup({ count: 16, size: 4096 });
      const server = await TcpServer.listen(ring);
      const acc = server.accept();
      const c = await TcpSocket.connect(ring, { port: server.address().port });
      const s = await acc;
      await c.write('dropped');
      const chunks = s.chunks();
      const { value } = await chunks.next();
      chunks.close();          // its request ends: the ring goes idle
      if (i === 0) kept = value; // a chunk JS still holds when its ring is gone
      await Promise.all([c.close(), s.close(), server.close()]);
      void group;
    }
    for (let i = 0; i < 8; i++) { gc(); await new Promise((r) => setImmediate(r)); await new Promise((r) => setTimeout(r, 5)); }
    console.log('RESULT ' + JSON.stringify({ warned: warned.length, kept: Buffer.from(kept.bytes).toString() }));
  `);
  assert.equal(r.code, 0, r.out);
  assert.ok((r.result.warned as number) >= 15, `dropped rings collected and warned about: ${r.result.warned} of 20 (GC takes most, not always the last)`);
  assert.equal(r.result.kept, 'dropped', 'a chunk held past its ring still reads its bytes (the memory is reference counted)');
});

test('a worker that exits with a listening server, a multishot recv, a buffer group and registered buffers open: no crash, its socket fds closed, the main ring unaffected', async (t) => {
  const ring = ringFor(t);
  const server = await TcpServer.listen(ring);
  const port = server.address()!.port;
  const acc = server.accept();
  const w = new Worker(
    `import('${index}').then(async ({ Ring, TcpServer, TcpSocket, UdpSocket }) => {
      const { parentPort, workerData } = await import('node:worker_threads');
      const { readlinkSync } = await import('node:fs');
      const ring = new Ring();
      ring.buffers.register([65536]);
      const own = await TcpServer.listen(ring);
      const c = await TcpSocket.connect(ring, { port: workerData });
      const u = await UdpSocket.bind(ring);
      const chunks = c.chunks();
      chunks.next();             // a multishot recv in flight when the worker goes
      void own.connections().next();
      const fds = [own.fd, c.fd, u.fd].map((fd) => ({ fd, file: readlinkSync('/proc/self/fd/' + fd) }));
      parentPort.postMessage({ fds, port: own.address().port });
    });`,
    { eval: true, workerData: port },
  );
  const info = await new Promise<{ fds: { fd: number; file: string }[]; port: number }>((res, rej) => {
    w.once('message', res);
    w.once('error', rej);
  });
  const s = await acc;
  const code = await w.terminate();
  assert.equal(typeof code, 'number');
  // the worker's environment cleanup closed the fds its sockets owned: no fd and no connection left
  for (const { fd, file } of info.fds) {
    let now: string | null = null;
    try {
      now = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {}
    assert.notEqual(now, file, `fd ${fd} (${file}) of the worker's socket is closed`);
  }
  const eof = Buffer.alloc(8);
  assert.equal(await s.read(eof), 0, "the peer of the worker's connection sees it closed");
  await assert.rejects(TcpSocket.connect(ring, { port: info.port }), (e: unknown) => e instanceof RingError && e.code === 'ECONNREFUSED', "the worker's listening port is free");
  // the worker's ring went with it (its requests ended by the ring's teardown); this ring goes on
  const acc2 = server.accept();
  const c2 = await TcpSocket.connect(ring, { port });
  const s2 = await acc2;
  await c2.write('still');
  const got = Buffer.alloc(5);
  assert.equal(await s2.read(got), 5);
  assert.equal(got.toString(), 'still');
  await Promise.all([c2.close(), s2.close(), s.close()]);
  await server.close();
});

test("a socket's fd closed behind its back and reused by another file: the worker's teardown leaves that file open", async () => {
  const w = new Worker(
    `import('${index}').then(async ({ Ring, UdpSocket }) => {
      const { parentPort } = await import('node:worker_threads');
      const { closeSync, openSync, readlinkSync } = await import('node:fs');
      const ring = new Ring();
      const u = await UdpSocket.bind(ring);
      const fd = u.fd;
      closeSync(fd);                                  // the user closes the socket's fd directly
      const other = openSync('/dev/null', 'r');       // the lowest free number: the same one
      parentPort.postMessage({ fd, other, file: readlinkSync('/proc/self/fd/' + other) });
      setInterval(() => {}, 1000);                    // alive until terminate()
    });`,
    // Node closes the fds a worker opened with fs.open*() when it exits (trackUnmanagedFds): off,
    // so that only ringflow's teardown could close the file
    { eval: true, trackUnmanagedFds: false },
  );
  const r = await new Promise<{ fd: number; other: number; file: string }>((res, rej) => {
    w.once('message', res);
    w.once('error', rej);
  });
  await w.terminate();
  assert.equal(r.other, r.fd, 'the file took the socket\'s old number (the case this guards)');
  try {
    assert.equal(readlinkSync(`/proc/self/fd/${r.other}`), '/dev/null', 'the file that took the number is still open after the teardown');
  } finally {
    closeSync(r.other);
  }
});
