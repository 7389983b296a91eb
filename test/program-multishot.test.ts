/**
 * Multishot requests in completion programs (docs/completion-programs.md, "Multishot requests"):
 * the echo server on one multishot ACCEPT and a multishot RECV per connection
 * (programs/echo_multi.bpf.c: serveEchoFromGroup(..., { multishot: true })), streams through fewer
 * buffers than data in flight (the RECV ends with -ENOBUFS and is armed again), and the engine's
 * park: a multishot request's CQEs that find their CQ full wait, in order, and are never dropped
 * (test/programs/ring/multi_park.c). JIT and interpreter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync } from 'node:fs';
import { ringFor, requireOp } from './helpers.js';
import { noEngine, skipReason, compileRing, mapView } from './ring-programs-util.js';
import { loadObject } from '../src/programs/index.js';
import { MODES, listener, acceptedPair, Client, bytes, eventually, openFds, ringGroup } from './net-programs-util.js';
import { serveEchoFromGroup, type BufferGroup, type Ring } from '../src/index.js';

type T = import('node:test').TestContext;

function setupRing(t: T): Ring | undefined {
  const ring = ringFor(t);
  return requireOp(t, ring, 'socket') ? ring : undefined;
}


const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

const F_BUFFER = 1;
const F_MORE = 2;

for (const { jit, name } of MODES) {
  test(`multishot echo: 3000 messages over 12 connections; the program submits one SEND per message and nothing per RECV (${name})`, { skip: noEngine }, async (t) => {
    const ring = setupRing(t);
    if (!ring) return;
    const group = ringGroup(t, ring, { count: 32, size: 2048 });
    if (!group) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const before = ring.stats().programSqes ?? 0;
    const server = serveEchoFromGroup(ring, l.fd, { group, maxConnections: 16, multishot: true, jit });
    assert.equal(server.multishot, true);
    const clients = await Promise.all(Array.from({ length: 12 }, () => Client.connect(l.port)));
    const w0 = ring.stats().wakeups;
    const PER = 250;
    let sent = 0;
    await Promise.all(clients.map(async (c, k) => {
      let total = 0;
      const expect: Buffer[] = [];
      for (let i = 0; i < PER; i++) {
        const m = bytes(1 + ((i * 53 + k) % 1500), k * 7919 + i);
        expect.push(m);
        total += m.length;
        await c.echo(m, total);
      }
      sent += total;
      assert.ok(c.received.equals(Buffer.concat(expect)), `connection ${k}: every byte back, in order`);
    }));
    const s = server.stats();
    assert.equal(s.bytes, sent);
    assert.equal(s.accepted, 12);
    assert.equal(s.returnErrors, 0);
    assert.equal(s.returned, s.messages, 'one buffer given back per RECV CQE with data');
    const sqes = (ring.stats().programSqes ?? 0) - before;
    // single-shot needs a RECV and a SEND per message; here: SENDs (short ones add one each), the
    // ACCEPT and one RECV per connection, RECVs armed again after -ENOBUFS
    assert.ok(sqes <= s.messages + s.shortSends + 1 + 12 + 2 * s.noBuffers + 4, `${sqes} SQEs for ${s.messages} messages`);
    assert.ok(ring.stats().wakeups - w0 <= (clients.length * PER) / 100, 'no JS wakeup per message');
    assert.equal(ring.stats().droppedCqes, 0);
    assert.equal(group.programs.owned, 0, 'no buffer held between messages');
    for (const c of clients) c.socket.end();
    await eventually(() => server.stats().active === 0 && server.stats().closed === 12, 5000, 'every connection closed after its EOF');
    for (const c of clients) await c.untilEnd();
    await server.close();
    assert.equal(group.programs.granted, false);
    assert.equal(group.available, 32, 'every buffer is the kernel\'s again');
    await group.close();
  });

  test(`multishot echo streams 1 MiB each way on 3 connections through 4 buffers: -ENOBUFS ends the RECV, it is armed again, every byte in order (${name})`, { skip: noEngine }, async (t) => {
    const ring = setupRing(t);
    if (!ring) return;
    const group = ringGroup(t, ring, { count: 4, size: 4096 });
    if (!group) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const server = serveEchoFromGroup(ring, l.fd, { group, maxConnections: 8, multishot: true, jit });
    const clients = await Promise.all(Array.from({ length: 3 }, () => Client.connect(l.port)));
    const N = 1 << 20;
    const data = clients.map((_, k) => bytes(N, 100 + k));
    for (const [k, c] of clients.entries()) for (let o = 0; o < N; o += 65536) c.socket.write(data[k]!.subarray(o, o + 65536));
    await Promise.all(clients.map((c) => c.until(N, 30_000)));
    for (const [k, c] of clients.entries()) assert.ok(c.received.equals(data[k]!), `connection ${k}: the stream back in order`);
    const s = server.stats();
    assert.equal(s.bytes, 3 * N);
    assert.equal(s.errors, 0, String(s.lastError));
    assert.equal(s.returnErrors, 0);
    assert.equal(ring.stats().droppedCqes, 0);
    t.diagnostic(`RECV CQEs with data ${s.messages}, -ENOBUFS ${s.noBuffers}, short sends ${s.shortSends}`);
    // a peer that resets mid-stream: that connection ends with the error, the others go on
    clients[0]!.socket.resetAndDestroy();
    clients[1]!.socket.write(bytes(1000, 7));
    await clients[1]!.until(N + 1000);
    await eventually(() => server.stats().closed === 1, 5000, 'the reset connection closed');
    for (const c of clients.slice(1)) c.socket.end();
    await eventually(() => server.stats().active === 0);
    await server.close();
    assert.equal(group.programs.owned, 0);
    assert.equal(group.available, 4);
    await group.close();
  });

  test(`close() while multishot RECVs are armed and data is queued: every request cancelled, every connection and buffer let go (${name})`, { skip: noEngine }, async (t) => {
    const ring = setupRing(t);
    if (!ring) return;
    const group = ringGroup(t, ring, { count: 8, size: 1024 });
    if (!group) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const fds = openFds();
    const server = serveEchoFromGroup(ring, l.fd, { group, maxConnections: 8, multishot: true, jit });
    const clients = await Promise.all(Array.from({ length: 6 }, () => Client.connect(l.port)));
    await Promise.all(clients.map((c, k) => c.echo(bytes(100, k), 100)));
    clients[0]!.socket.write(bytes(300_000, 9)); // still streaming when close() comes
    await server.close();
    await Promise.all(clients.map((c) => c.untilEnd()));
    assert.equal(server.stats().active, 0);
    assert.equal(group.programs.owned, 0);
    assert.equal(group.programs.granted, false);
    await eventually(() => openFds() <= fds + 6, 2000, 'the server closed every connection (the clients\' sockets are the 6 left)');
    for (const c of clients) c.socket.destroy();
    await group.close();
  });
}

test('serveEchoFromGroup(): a multishot option that is not a boolean is a TypeError naming it, and nothing is left granted or registered', { skip: noEngine }, async (t) => {
  const ring = setupRing(t);
  if (!ring) return;
  const group = ringGroup(t, ring, { count: 4, size: 64 });
  if (!group) return;
  const l = await listener(ring);
  t.after(() => closeSync(l.fd));
  for (const bad of ['yes', 1, null]) {
    assert.throws(() => serveEchoFromGroup(ring, l.fd, { group, multishot: bad as unknown as boolean }), (e: unknown) => e instanceof TypeError && /option "multishot" must be a boolean/.test((e as Error).message));
  }
  assert.equal(group.programs.granted, false, 'the group was not granted');
  const server = serveEchoFromGroup(ring, l.fd, { group, multishot: true });
  const c = await Client.connect(l.port);
  await c.echo(bytes(100, 1), 100);
  c.socket.destroy();
  await server.close();
  await group.close();
});

/** multi_park.c: its request's CQEs go to `cq`, which only a gate CQE on `gate` makes it read. */
async function parked(_t: T, ring: Ring, jit: boolean, fd: number, opts: { group?: BufferGroup; accept?: boolean; cqSize: number; single?: boolean; skip?: boolean; fill?: boolean }) {
  const obj = loadObject(compileRing('multi_park.c'), { jit });
  const idx = ring.registerProgram(obj.program('multi_park'));
  const cq = ring.createCq(opts.cqSize);
  const gate = ring.createCq(16);
  const a = mapView(obj, 'args');
  a.setInt32(0, fd, true);
  a.setUint32(4, cq, true);
  a.setUint32(8, gate, true);
  a.setUint32(12, opts.group?.id ?? 0, true);
  a.setUint32(16, opts.accept ? 1 : 0, true);
  a.setUint32(48, opts.single ? 1 : 0, true);
  a.setUint32(52, opts.skip ? 1 : 0, true);
  // a CQ already full when the request's CQE comes (JS's NOPs naming it post there too)
  if (opts.fill) for (let i = 0; i < opts.cqSize; i++) await ring.nop({ cq, userData: 99 });
  const run = ring.runProgram(idx);
  const logged = (): number => Number(a.getBigUint64(24, true));
  const entries = (): { res: number; flags: number; head: bigint }[] =>
    Array.from({ length: logged() }, (_, i) => {
      const e = mapView(obj, 'entries', i);
      return { res: e.getInt32(0, true), flags: e.getUint32(4, true), head: e.getBigUint64(8, true) };
    });
  return {
    cq, run, logged, entries,
    returned: () => Number(a.getBigUint64(32, true)),
    returnErrors: () => Number(a.getBigUint64(40, true)),
    gate: (userData: number) => ring.nop({ cq: gate, userData }),
  };
}

for (const { jit, name } of MODES) {
  test(`a multishot RECV's CQEs beyond a full CQ of 4 wait in the engine, in order, never dropped; the last one (EOF) after them (${name})`, { skip: skipReason }, async (t) => {
    const ring = setupRing(t);
    if (!ring) return;
    const group = ringGroup(t, ring, { count: 64, size: 64 });
    if (!group) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const { fd, client } = await acceptedPair(ring, l);
    t.after(() => closeSync(fd));
    ring.allowFd(fd);
    ring.allowBufferGroup(group);
    const p = await parked(t, ring, jit, fd, { group, cqSize: 4 });
    const st0 = ring.stats();
    const M = 40;
    for (let i = 0; i < M; i++) {
      const m = Buffer.alloc(16);
      m.writeBigUInt64LE(BigInt(1000 + i), 0);
      client.socket.write(m);
      // one receive per message: wait until the kernel's CQE for it reached the engine
      await eventually(() => group.programs.owned === i + 1, 5000, `the CQE of message ${i}`);
    }
    const st = ring.stats();
    assert.equal(ring.cq(p.cq).ready, 4, 'the CQ is full');
    assert.equal((st.parkedCqes ?? 0) - (st0.parkedCqes ?? 0), M - 4, 'the rest wait in the engine');
    assert.equal(st.droppedCqes, 0, 'nothing dropped');
    assert.equal(p.logged(), 0, 'the program has read nothing yet');
    client.socket.end(); // the request's last CQE (res 0), behind the parked ones
    await eventually(() => (ring.stats().parkedCqes ?? 0) - (st0.parkedCqes ?? 0) === M - 3, 5000, 'the EOF CQE parked too');
    await p.gate(0);
    await eventually(() => p.logged() === M + 1, 5000, 'the program read all of them');
    const log = p.entries();
    for (let i = 0; i < M; i++) {
      assert.equal(log[i]!.res, 16, `CQE ${i}`);
      assert.equal(log[i]!.flags & (F_BUFFER | F_MORE), F_BUFFER | F_MORE, `CQE ${i} names a buffer and more to come`);
      assert.equal(log[i]!.head, BigInt(1000 + i), `CQE ${i} in order`);
    }
    assert.equal(log[M]!.res, 0, 'the last CQE: the peer closed');
    assert.equal(log[M]!.flags & F_MORE, 0, 'and it ends the request');
    assert.equal(p.returned(), M);
    assert.equal(p.returnErrors(), 0);
    assert.equal(group.programs.owned, 0);
    assert.equal(ring.stats().droppedCqes, 0);
    await p.gate(1);
    assert.equal(await p.run, 0);
    ring.allowBufferGroup(group, false);
    await group.close();
  });

  test(`a multishot ACCEPT's fds beyond a full CQ wait in the engine (each the programs'), then its cancel's last CQE (${name})`, { skip: skipReason }, async (t) => {
    const ring = setupRing(t);
    if (!ring) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    ring.allowFd(l.fd);
    const p = await parked(t, ring, jit, l.fd, { accept: true, cqSize: 2 });
    const st0 = ring.stats();
    const clients: Client[] = [];
    for (let i = 0; i < 10; i++) {
      clients.push(await Client.connect(l.port));
      await eventually(() => ring.cq(p.cq).ready + (ring.stats().parkedCqes ?? 0) - (st0.parkedCqes ?? 0) === i + 1, 5000, `connection ${i} accepted`);
    }
    assert.equal((ring.stats().parkedCqes ?? 0) - (st0.parkedCqes ?? 0), 8);
    await p.gate(2); // cancel: the request's last CQE comes after the 10 fds
    // (it may complete after the cancel's own CQE woke the program: poke it until it has read it)
    for (let i = 0; i < 200 && p.logged() < 11; i++) {
      await new Promise((r) => setTimeout(r, 10));
      await p.gate(0);
    }
    assert.equal(p.logged(), 11, 'the program read all of them');
    const log = p.entries();
    const fds = log.slice(0, 10).map((e) => e.res);
    for (const [i, e] of log.slice(0, 10).entries()) {
      assert.ok(e.res >= 0, `accept ${i}: an fd`);
      assert.equal(e.flags & F_MORE, F_MORE);
    }
    assert.equal(new Set(fds).size, 10);
    assert.equal(log[10]!.res, -125, 'the last CQE: -ECANCELED');
    assert.equal(log[10]!.flags & F_MORE, 0);
    await eventually(() => fds.every((fd) => !isOpen(fd)), 2000, 'the program closed what it accepted');
    for (const c of clients) c.socket.destroy();
    await p.gate(1);
    assert.equal(await p.run, 0);
  });
}

for (const { jit, name } of MODES) {
  test(`what a program's CQE hands over when nobody will read it goes back: a dropped ACCEPT's fd and a skipped one's are closed, a dropped RECV's buffer returns to the group (${name})`, { skip: skipReason }, async (t) => {
    const ring = setupRing(t);
    if (!ring) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    ring.allowFd(l.fd);
    for (const how of [{ fill: true }, { skip: true }]) {
      const fds = openFds();
      const d0: number = ring.stats().droppedCqes ?? 0;
      const p = await parked(t, ring, jit, l.fd, { accept: true, single: true, cqSize: 1, ...how });
      const c = await Client.connect(l.port);
      await c.untilEnd(); // the engine closed the accepted fd: the client sees EOF
      assert.ok(openFds() <= fds + 1, `no fd kept: ${openFds()} open, ${fds} before (+1: the client's socket)`);
      assert.equal((ring.stats().droppedCqes ?? 0) - d0, how.fill ? 1 : 0, 'a dropped CQE is counted, a skipped one is not');
      c.socket.destroy();
      await p.gate(1);
      assert.equal(await p.run, 0);
      assert.equal(p.logged(), how.fill ? 1 : 0, how.fill ? 'the program read only what filled its CQ' : 'nothing to read');
    }
    const group = ringGroup(t, ring, { count: 4, size: 64 });
    if (!group) return;
    const { fd, client } = await acceptedPair(ring, l);
    t.after(() => closeSync(fd));
    ring.allowFd(fd);
    ring.allowBufferGroup(group);
    const p = await parked(t, ring, jit, fd, { group, single: true, cqSize: 1, fill: true });
    const d0 = ring.stats().droppedCqes ?? 0;
    client.socket.write(Buffer.alloc(32, 1));
    await eventually(() => (ring.stats().droppedCqes ?? 0) > d0, 5000, 'the RECV\'s CQE dropped');
    assert.equal(group.programs.owned, 0, 'the buffer it named is not the programs\'');
    assert.equal(group.available, 4, 'it went back to the kernel');
    await p.gate(1);
    assert.equal(await p.run, 0);
    ring.allowBufferGroup(group, false);
    await group.close();
    client.socket.destroy();
  });

  test(`fds of ACCEPT CQEs still waiting in the engine when the ring closes are closed with it; JS cannot take a program's fd over or away (${name})`, { skip: skipReason }, async (t) => {
    const ring = setupRing(t);
    if (!ring) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    ring.allowFd(l.fd);
    const fds = openFds();
    const p = await parked(t, ring, jit, l.fd, { accept: true, cqSize: 1 });
    const clients: Client[] = [];
    for (let i = 0; i < 6; i++) clients.push(await Client.connect(l.port));
    await eventually(() => (ring.stats().parkedCqes ?? 0) === 5, 5000, '5 accepted fds waiting');
    // JS reads the first one itself (the next moves in): the fd stays the programs' — JS can neither
    // take it over nor take it away (either would leave it open for good)
    const first = ring.cq(p.cq).shift()!;
    assert.ok(first.res >= 0 && isOpen(first.res));
    assert.equal(ring.cq(p.cq).ready, 1, 'the next parked one moved in');
    assert.equal(ring.cq(p.cq).parked, 4);
    const theirs = (e: unknown) => (e as { code?: string }).code === 'EBUSY' && /completion programs opened or accepted/.test(String((e as Error).message));
    assert.throws(() => ring.allowFd(first.res), theirs, 'allowFd of a program\'s fd');
    assert.throws(() => ring.allowFd(first.res, false), theirs, 'allowFd(fd, false) of a program\'s fd');
    await ring.close();
    await p.run.catch(() => undefined);
    // each client sees its server side go (EOF): the accepted fds are closed, the one in the CQ too
    await Promise.all(clients.map((c) => c.untilEnd()));
    for (const c of clients) c.socket.destroy();
    await eventually(() => openFds() <= fds, 2000, 'no accepted fd left open');
  });
}
