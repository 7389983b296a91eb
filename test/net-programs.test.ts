/**
 * Programs that serve connections (src/net/programs.ts, programs/echo.bpf.c, programs/relay.bpf.c)
 * against the kernel over loopback, compiled and interpreted: echo of many messages over several
 * connections with no JS wakeup per message, short sends, the connection cap, stop, a peer reset
 * that ends only its own connection, relay in both directions with a clean half-close end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { closeSync, fstatSync } from 'node:fs';
import { ringFor, requireOp } from './helpers.js';
import { noEngine } from './ring-programs-util.js';
import { MODES, listener, Client, acceptedPair, openFds, eventually, bytes } from './net-programs-util.js';
import { serveEcho, relay, RelayProgram, RelayPair, type Ring } from '../src/index.js';

function needSockets(t: import('node:test').TestContext, ring: Ring): boolean {
  return requireOp(t, ring, 'socket'); // listeners bind and listen through the syscalls where the ring lacks the ops (before 6.11)
}

/** The SQE a program would submit to accept on `fd`, for ring.checkProgramSqe(). */
function acceptSqe(fd: number): Uint8Array {
  const s = new Uint8Array(64);
  s[0] = 13; // IORING_OP_ACCEPT
  new DataView(s.buffer).setInt32(4, fd, true);
  return s;
}

for (const { jit, name } of MODES) {
  test(`echo program: 2000 messages over 20 connections, no JS wakeup per message (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    if (!needSockets(t, ring)) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const server = serveEcho(ring, l.fd, { maxConnections: 32, bufferSize: 4096, jit });
    assert.equal(server.compiled, jit && process.arch === 'x64');
    const clients = await Promise.all(Array.from({ length: 20 }, () => Client.connect(l.port)));
    const w0 = ring.stats().wakeups;
    const PER = 100;
    let sent = 0;
    await Promise.all(clients.map(async (c, k) => {
      let total = 0;
      const expect: Buffer[] = [];
      for (let i = 0; i < PER; i++) {
        const m = bytes(16 + ((i * 37 + k) % 900), k * 1000 + i);
        expect.push(m);
        total += m.length;
        await c.echo(m, total); // ping-pong: each message is its own RECV and SEND
      }
      sent += total;
      assert.ok(c.received.equals(Buffer.concat(expect)), `connection ${k}: every byte back, in order`);
    }));
    const wakeups = ring.stats().wakeups - w0;
    const messages = clients.length * PER;
    const s = server.stats();
    assert.ok(s.messages >= messages, `the program received ${s.messages} messages (≥ ${messages})`);
    assert.equal(s.bytes, sent);
    assert.ok(wakeups <= messages / 100, `JS woke ${wakeups} times for ${messages} messages`);
    assert.equal(s.accepted, 20);
    assert.equal(s.active, 20);
    for (const c of clients) c.socket.end();
    await eventually(() => server.stats().active === 0, 5000, 'the connections to close');
    assert.equal(server.stats().closed, 20);
    assert.equal(server.stats().errors, 0);
    await server.close();
    assert.equal(ring.stats().droppedCqes, 0, 'no CQE was dropped');
    assert.equal(ring.checkProgramSqe(acceptSqe(l.fd)).res, -9, 'the program closed its dup of the listener: its grant is gone (EBADF)');
  });

  test(`echo program: large writes echo byte-exact through short sends and partial receives (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    if (!needSockets(t, ring)) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const server = serveEcho(ring, l.fd, { maxConnections: 4, bufferSize: 65536, jit });
    const c = await Client.connect(l.port);
    const data = bytes(4 << 20, 3); // 4 MiB written at once, read back while it is being sent
    c.socket.write(data);
    await c.until(data.length, 30_000);
    assert.ok(c.received.equals(data));
    assert.equal(server.stats().bytes, data.length);
    c.socket.end();
    await server.close();
  });

  test(`echo program: beyond maxConnections the newest connection is closed at once; a freed slot serves again (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    if (!needSockets(t, ring)) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const server = serveEcho(ring, l.fd, { maxConnections: 2, bufferSize: 1024, jit });
    const a = await Client.connect(l.port);
    const b = await Client.connect(l.port);
    await a.echo(Buffer.from('a'), 1);
    await b.echo(Buffer.from('b'), 1);
    const c = await Client.connect(l.port); // the kernel completes the handshake; the program closes it
    await c.untilEnd();
    c.socket.write('ignored');
    assert.equal(c.received.length, 0, 'the refused connection got nothing');
    assert.equal(server.stats().refused, 1);
    a.socket.end();
    await eventually(() => server.stats().active === 1, 5000, 'a to close');
    const d = await Client.connect(l.port);
    await d.echo(Buffer.from('served'), 6);
    assert.equal(d.received.toString(), 'served');
    assert.deepEqual([server.stats().accepted, server.stats().refused, server.stats().active], [4, 1, 2]);
    await server.close();
    await Promise.all([b.untilEnd(), d.untilEnd()]);
  });

  test(`echo program: a peer that resets mid-stream ends only its connection (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    if (!needSockets(t, ring)) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const server = serveEcho(ring, l.fd, { maxConnections: 8, bufferSize: 4096, jit });
    const [x, y, z] = await Promise.all([Client.connect(l.port), Client.connect(l.port), Client.connect(l.port)]);
    await Promise.all([x!.echo(Buffer.from('x1'), 2), y!.echo(Buffer.from('y1'), 2), z!.echo(Buffer.from('z1'), 2)]);
    // y writes 2 MiB and never reads: the server's sends back fill y's window; then y resets
    y!.socket.pause();
    y!.socket.write(bytes(2 << 20, 9));
    await new Promise((r) => setTimeout(r, 50));
    y!.socket.resetAndDestroy();
    await eventually(() => server.stats().active === 2, 5000, 'the reset connection to close');
    const s = server.stats();
    assert.ok(s.errors >= 1, 'the reset was an error of that connection');
    assert.match(s.lastError ?? '', /^(ECONNRESET|EPIPE)$/);
    // the others are still served
    let tx = 2;
    let tz = 2;
    for (let i = 0; i < 50; i++) {
      const m = bytes(200, i);
      tx += m.length;
      tz += m.length;
      await Promise.all([x!.echo(m, tx), z!.echo(m, tz)]);
    }
    assert.equal(server.stats().active, 2);
    await server.close();
    await Promise.all([x!.untilEnd(), z!.untilEnd()]);
    assert.equal(server.stats().active, 0);
  });

  test(`echo program: closing the ring under it ends the request and closes the connections it held (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    if (!needSockets(t, ring)) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const before = openFds();
    const server = serveEcho(ring, l.fd, { maxConnections: 8, bufferSize: 1024, jit });
    const cs = await Promise.all([Client.connect(l.port), Client.connect(l.port)]);
    await Promise.all(cs.map((c) => c.echo(Buffer.from('hi'), 2)));
    await ring.close();
    await assert.rejects(server.done, (e: Error & { code?: string }) => e.code === 'EAGAIN' || e.name === 'RingClosedError');
    await Promise.all(cs.map((c) => c.untilEnd()));
    for (const c of cs) c.socket.destroy();
    await eventually(() => openFds() <= before + 1, 2000, 'the accepted fds to be closed'); // +1: the engine dup died with the ring
    await server.close(); // after the ring closed: resolves with the same end
  });

  test(`relay program: both directions between two TCP pairs, byte-exact, clean end on half-close (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    if (!needSockets(t, ring) || !requireOp(t, ring, 'connect')) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    // side A: a client of ours; side B: a connection to an upstream node:net server
    const upstreamSockets: net.Socket[] = [];
    const upstream = net.createServer((s) => upstreamSockets.push(s));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    t.after(() => upstream.close());
    const { fd: A, client } = await acceptedPair(ring, l);
    // (A and B are closed only at the end: a failed assertion would leave both node:net ends open, holding the loop)
    t.after(() => [client.socket, ...upstreamSockets].forEach((s) => s.destroy()));
    const B = await ring.socket('ipv4', 'stream');
    await ring.connect(B, { address: '127.0.0.1', port: (upstream.address() as net.AddressInfo).port });
    await eventually(() => upstreamSockets.length === 1, 2000, 'the upstream connection');
    const up = upstreamSockets[0]!;
    let upGot = Buffer.alloc(0);
    let upEnded = false;
    up.on('data', (d: Buffer) => (upGot = Buffer.concat([upGot, d])));
    up.on('end', () => {
      upEnded = true;
      up.end(); // the upstream closes its side once it has read everything
    });
    const relays = new RelayProgram(ring, { maxPairs: 4, bufferSize: 8192, jit });
    assert.equal(relays.compiled, jit && process.arch === 'x64');
    const pair = relays.add(A, B);
    assert.ok(pair instanceof RelayPair);
    const w0 = ring.stats().wakeups;
    const toB = bytes(1 << 20, 1);
    const toA = bytes(700_000, 2);
    client.socket.write(toB);
    up.write(toA);
    await Promise.all([eventually(() => upGot.length >= toB.length, 20_000, 'A → B'), client.until(toA.length, 20_000)]);
    const wakeups = ring.stats().wakeups - w0;
    const st = pair.stats();
    assert.ok(upGot.equals(toB), 'A → B byte-exact');
    assert.ok(client.received.equals(toA), 'B → A byte-exact');
    assert.deepEqual([st.aToB, st.bToA], [toB.length, toA.length]);
    assert.ok(wakeups <= 2 && st.messagesAToB + st.messagesBToA > 100, `JS woke ${wakeups} times for ${st.messagesAToB + st.messagesBToA} messages`);
    client.socket.end(); // A half-closes: B gets SHUT_WR, the upstream ends, B's EOF reaches A
    await client.untilEnd();
    const end = await pair.done;
    assert.ok(upEnded);
    assert.deepEqual({ ...end, messagesAToB: 0, messagesBToA: 0, shortSends: 0 }, { aToB: toB.length, bToA: toA.length, messagesAToB: 0, messagesBToA: 0, shortSends: 0, error: undefined, stopped: false });
    assert.equal(relays.active, 0);
    // the program closed its dups; JS's fds are still open and JS's to close
    assert.ok(fstatSync(A).isSocket() && fstatSync(B).isSocket());
    assert.equal(ring.checkProgramSqe(acceptSqe(A)).res, -9, 'the pair\'s grant ended with it');
    closeSync(A);
    closeSync(B);
  });

  test(`relay program: a reset on one pair ends that pair with its error, another pair keeps relaying; stop() (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    if (!needSockets(t, ring)) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    // two pairs, each between two accepted connections (client ↔ client through the program)
    const p1a = await acceptedPair(ring, l);
    const p1b = await acceptedPair(ring, l);
    const p2a = await acceptedPair(ring, l);
    const p2b = await acceptedPair(ring, l);
    t.after(() => [p1a, p1b, p2a, p2b].forEach((p) => closeSync(p.fd)));
    const one = relay(ring, p1a.fd, p1b.fd, { maxPairs: 2, bufferSize: 4096, jit });
    const two = relay(ring, p2a.fd, p2b.fd);
    assert.throws(() => relay(ring, p1a.fd, p2a.fd), /all 2 pairs are in use/);
    await p1a.client.echo(Buffer.from('one'), 0);
    await p1b.client.until(3);
    p1a.client.socket.resetAndDestroy();
    const end1 = await one.done;
    assert.match(end1.error ?? '', /^(ECONNRESET|EPIPE)$/, `pair 1 ended with ${end1.error}`);
    await p1b.client.untilEnd(); // the program shut the other side down
    for (let i = 0; i < 20; i++) {
      p2a.client.socket.write(bytes(1000, i));
      p2b.client.socket.write(bytes(500, i));
    }
    await Promise.all([p2b.client.until(20_000), p2a.client.until(10_000)]);
    assert.deepEqual([two.stats().aToB, two.stats().bToA, two.stats().error], [20_000, 10_000, undefined]);
    const end2 = await two.stop();
    assert.equal(end2.stopped, true);
    assert.equal(end2.error, undefined);
    // stop() leaves the sockets alone: still connected, JS's to use
    p2b.client.socket.write('after');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(await ring.recv(p2b.fd, Buffer.alloc(16)), 5);
  });
}

test('serveEcho and relay check their arguments', { skip: noEngine }, (t) => {
  const ring = ringFor(t);
  assert.throws(() => serveEcho(ring, -1), /serveEcho\(listen\) must be a socket fd/);
  assert.throws(() => serveEcho(ring, { fd: 'x' } as unknown as number), TypeError);
  assert.throws(() => serveEcho(ring, 3, { maxConnections: 0 }), /option "maxConnections" must be an integer in \[1, 4096\], got 0/);
  assert.throws(() => serveEcho(ring, 3, { maxConnections: 5000 }), RangeError);
  assert.throws(() => serveEcho(ring, 3, { bufferSize: 1.5 }), RangeError);
  assert.throws(() => serveEcho(ring, 3, { backlog: 3 } as never), /unknown option "backlog"/);
  assert.throws(() => serveEcho(ring, 3, { jit: 1 } as never), /"jit" must be a boolean/);
  assert.throws(() => new RelayProgram(ring, { maxPairs: 2000 }), /\[1, 1024\]/);
  assert.throws(() => relay(ring, 5, 5), /same fd/);
});
