/** Socket opcodes against the kernel: TCP over loopback, UDP with addresses (v4, v6), unix sockets, socket commands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { ringFor, requireOp } from './helpers.js';
import { boundSocket } from '../src/net/addr.js';
import { localPort } from './net-helpers.js';
import { FixedFile, RingError, SOL, SO, MSG, SOCK, type Ring } from '../src/index.js';

/** A TCP listener on 127.0.0.1 (or ::1) at a kernel-chosen port, through the ring. */
/** A listening socket: bind/listen through the ring where it has them (6.11), the syscalls before (the first test checks the ops). */
async function listener(ring: Ring, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<{ fd: number; port: number }> {
  const fd = await boundSocket(ring, 'listener()', 'stream', family === 'ipv4' ? '127.0.0.1' : '::1', family, 0, { backlog: 16 });
  return { fd, port: localPort(fd) };
}

function needBindListen(t: import('node:test').TestContext, ring: Ring): boolean {
  return requireOp(t, ring, 'socket') && requireOp(t, ring, 'bind') && requireOp(t, ring, 'listen');
}

test('TCP over loopback: socket, bind to port 0, listen, connect, accept (peer address), send, recv, shutdown, close', async (t) => {
  const ring = ringFor(t);
  if (!needBindListen(t, ring)) return;
  for (const op of ['accept', 'connect', 'send', 'recv', 'shutdown', 'close']) if (!requireOp(t, ring, op)) return;
  const l = await listener(ring);
  t.after(() => closeSync(l.fd));
  assert.ok(l.port > 0, 'the kernel picked a port');
  assert.equal(await ring.getsockopt(l.fd, SOL.SOCKET, SO.ACCEPTCONN), 1, 'listening');
  const c = await ring.socket('ipv4', 'stream');
  t.after(() => closeSync(c));
  const [accepted] = await Promise.all([ring.accept(l.fd), ring.connect(c, { address: '127.0.0.1', port: l.port })]);
  const s = accepted.fd; // closed below through the ring
  assert.ok(s > 2);
  assert.deepEqual(accepted.address, { family: 'ipv4', address: '127.0.0.1', port: localPort(c) }, 'accept resolves the peer address');
  assert.equal(await ring.send(c, Buffer.from('hello ring')), 10);
  const buf = Buffer.alloc(64);
  assert.equal(await ring.recv(s, buf), 10);
  assert.equal(buf.toString('utf8', 0, 10), 'hello ring');
  // a window of the buffer, MSG_WAITALL across two sends
  const got = ring.recv(s, buf, MSG.WAITALL, { offset: 4, length: 6 });
  await ring.send(c, Buffer.from('abc'));
  await ring.send(c, Buffer.from('defXYZ'), 0, { length: 3 });
  assert.equal(await got, 6);
  assert.equal(buf.toString('utf8', 4, 10), 'abcdef');
  assert.equal(await ring.siocinq(s), 0, 'nothing unread');
  await ring.send(c, Buffer.from('pending'));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await ring.siocinq(s), 7, 'SIOCINQ: bytes queued to read');
  assert.equal(await ring.recv(s, buf), 7);
  assert.equal(typeof (await ring.siocoutq(c)), 'number');
  await ring.shutdown(c, 'write');
  assert.equal(await ring.recv(s, buf), 0, 'EOF after the peer shut down writing');
  await ring.closeFd(s);
  await assert.rejects(ring.send(c, Buffer.from('x')), (e: unknown) => e instanceof RingError && (e.code === 'EPIPE' || e.code === 'ECONNRESET'), 'sending to a closed peer');
});

test('accept and socket into the registered file table (direct): FixedFile results', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'socket')) return;
  ring.files.register({ sparse: 4 });
  const l = await listener(ring);
  t.after(() => closeSync(l.fd));
  const c = await ring.socket('ipv4', 'stream', 0, { direct: 'auto' });
  assert.ok(c instanceof FixedFile);
  const [a] = await Promise.all([ring.accept(l.fd, { direct: 2 }), ring.connect(c, { address: '127.0.0.1', port: l.port })]);
  assert.ok(a.fd instanceof FixedFile);
  assert.equal(a.fd.index, 2);
  assert.equal(a.address?.family, 'ipv4');
  assert.equal(await ring.send(c, Buffer.from('direct')), 6);
  const b = Buffer.alloc(16);
  assert.equal(await ring.recv(a.fd, b), 6);
  assert.equal(b.toString('utf8', 0, 6), 'direct');
  await ring.closeFd(a.fd);
  await ring.closeFd(c);
});

test('TCP over IPv6 loopback', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'socket')) return;
  let l;
  try {
    l = await listener(ring, 'ipv6');
  } catch (e) {
    if (e instanceof RingError && (e.code === 'EADDRNOTAVAIL' || e.code === 'EAFNOSUPPORT')) return t.skip(`no IPv6 loopback here (${e.code})`);
    throw e;
  }
  t.after(() => closeSync(l.fd));
  const c = await ring.socket('ipv6', 'stream');
  t.after(() => closeSync(c));
  const [a] = await Promise.all([ring.accept(l.fd), ring.connect(c, { address: '::1', port: l.port })]);
  t.after(() => closeSync(a.fd));
  assert.deepEqual(a.address, { family: 'ipv6', address: '::1', port: localPort(c), flowinfo: 0, scopeId: 0 });
});

test('UDP sendmsg/recvmsg with addresses (IPv4 and IPv6), sendto via send({ to })', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'socket') || !requireOp(t, ring, 'bind') || !requireOp(t, ring, 'sendmsg') || !requireOp(t, ring, 'recvmsg')) return;
  for (const [family, address] of [['ipv4', '127.0.0.1'], ['ipv6', '::1']] as const) {
    const a = await ring.socket(family, 'dgram');
    const b = await ring.socket(family, 'dgram');
    t.after(() => { closeSync(a); closeSync(b); });
    try {
      await ring.bind(a, { family, address, port: 0 });
    } catch (e) {
      if (family === 'ipv6' && e instanceof RingError && e.code === 'EADDRNOTAVAIL') { t.diagnostic('no IPv6 loopback: v6 skipped'); continue; }
      throw e;
    }
    await ring.bind(b, { address, port: 0 }); // node:net style: the family from the address
    const pa = localPort(a), pb = localPort(b);
    const n = await ring.sendmsg(a, { buffers: [Buffer.from('dat'), Buffer.from('agram')], address: { family, address, port: pb } });
    assert.equal(n, 8);
    const into = [Buffer.alloc(4), Buffer.alloc(16)];
    const r = await ring.recvmsg(b, { buffers: into });
    assert.equal(r.bytes, 8);
    assert.equal(Buffer.concat(into).toString('utf8', 0, 8), 'datagram');
    assert.equal(r.address?.family, family);
    assert.equal((r.address as { port: number }).port, pa, `${family}: the sender's port`);
    assert.equal((r.address as { address: string }).address, address);
    assert.equal(r.flags & MSG.TRUNC, 0);
    // truncation is reported in flags
    await ring.send(b, Buffer.from('0123456789'), 0, { to: { family, address, port: pa } });
    const small = await ring.recvmsg(a, { buffers: [Buffer.alloc(4)], address: false }, MSG.TRUNC);
    assert.equal(small.bytes, 10, 'MSG_TRUNC: the real length');
    assert.ok(small.flags & MSG.TRUNC);
    assert.equal(small.address, null, 'no address area asked for');
  }
});

test('zero-copy sends against the kernel: sendZc over TCP and sendmsgZc of a datagram with its address; bytes at the notification, usage reported', async (t) => {
  const ring = ringFor(t);
  if (!needBindListen(t, ring) || !requireOp(t, ring, 'sendZc') || !requireOp(t, ring, 'sendmsgZc')) return;
  const l = await listener(ring);
  t.after(() => closeSync(l.fd));
  const c = await ring.socket('ipv4', 'stream');
  t.after(() => closeSync(c));
  const [accepted] = await Promise.all([ring.accept(l.fd), ring.connect(c, { address: '127.0.0.1', port: l.port })]);
  t.after(() => closeSync(accepted.fd));
  const data = Buffer.alloc(100_000, 7);
  const reading = (async () => {
    const into = Buffer.alloc(data.length);
    let got = 0;
    while (got < data.length) got += await ring.recv(accepted.fd, into, 0, { offset: got, length: into.length - got });
    return into;
  })();
  let sent = 0;
  while (sent < data.length) sent += await ring.sendZc(c, data.subarray(sent));
  assert.equal(sent, data.length);
  assert.deepEqual(await reading, data, 'every byte arrived');
  const usage = await ring.sendZc(c, Buffer.from('usage'), 0, { reportUsage: true });
  assert.equal(usage.bytes, 5);
  assert.equal(typeof usage.copied, 'boolean', 'the notification says whether the kernel copied (loopback: it does)');
  assert.equal(await ring.recv(accepted.fd, Buffer.alloc(8)), 5);
  // a datagram: sendmsgZc with the destination address, the receiver sees the sender's port
  const a = await ring.socket('ipv4', 'dgram');
  const b = await ring.socket('ipv4', 'dgram');
  t.after(() => { closeSync(a); closeSync(b); });
  await ring.bind(a, { address: '127.0.0.1', port: 0 });
  await ring.bind(b, { address: '127.0.0.1', port: 0 });
  const n = await ring.sendmsgZc(a, { buffers: [Buffer.from('zero'), Buffer.from('-copy')], address: { address: '127.0.0.1', port: localPort(b) } });
  assert.equal(n, 9);
  const into = Buffer.alloc(16);
  const r = await ring.recvmsg(b, { buffers: [into] });
  assert.equal(into.toString('utf8', 0, r.bytes), 'zero-copy');
  assert.equal((r.address as { port: number }).port, localPort(a));
  const u = await ring.sendmsgZc(a, { buffers: [Buffer.from('u')], address: { address: '127.0.0.1', port: localPort(b) } }, 0, { reportUsage: true });
  assert.equal(u.bytes, 1);
  assert.equal(typeof u.copied, 'boolean');
  // a refused send still settles once, after its notification: an unconnected TCP socket
  const lone = await ring.socket('ipv4', 'stream');
  t.after(() => closeSync(lone));
  await assert.rejects(ring.sendZc(lone, Buffer.from('x')), (e: unknown) => e instanceof RingError && (e.code === 'EPIPE' || e.code === 'ENOTCONN'));
});

test('unix sockets: stream over a path and the abstract namespace, datagrams with the sender path', async (t) => {
  const ring = ringFor(t);
  if (!needBindListen(t, ring)) return;
  const name = `\0ringflow-test-${process.pid}-${Date.now()}`;
  const l = await ring.socket('unix', 'stream');
  t.after(() => closeSync(l));
  await ring.bind(l, { family: 'unix', address: name });
  await ring.listen(l);
  const c = await ring.socket('unix', 'stream');
  t.after(() => closeSync(c));
  const [a] = await Promise.all([ring.accept(l), ring.connect(c, { family: 'unix', address: name })]);
  t.after(() => closeSync(a.fd));
  assert.deepEqual(a.address, { family: 'unix', address: '' }, 'an unbound client is unnamed');
  await ring.send(a.fd, Buffer.from('over unix'));
  const b = Buffer.alloc(32);
  assert.equal(await ring.recv(c, b), 9);
  // datagrams on paths
  const dir = `/tmp/ringflow-unix-${process.pid}-${Date.now()}`;
  const { mkdirSync, rmSync } = await import('node:fs');
  mkdirSync(dir);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const x = await ring.socket('unix', 'dgram');
  const y = await ring.socket('unix', 'dgram');
  t.after(() => { closeSync(x); closeSync(y); });
  await ring.bind(x, { path: `${dir}/x` });
  await ring.bind(y, { path: `${dir}/y` });
  assert.equal(await ring.sendmsg(x, { buffers: [Buffer.from('ping')], address: { path: `${dir}/y` } }), 4);
  const r = await ring.recvmsg(y, { buffers: [Buffer.alloc(8)] });
  assert.deepEqual(r.address, { family: 'unix', address: `${dir}/x` });
});

test('socket commands: getsockopt / setsockopt (SOL_SOCKET ints and bytes), SIOCINQ / SIOCOUTQ through uringCmd', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'socket') || !requireOp(t, ring, 'uringCmd')) return;
  const fd = await ring.socket('ipv4', 'stream', 0);
  t.after(() => closeSync(fd));
  let rcv: number;
  try {
    rcv = await ring.getsockopt(fd, SOL.SOCKET, SO.TYPE);
  } catch (e) {
    if (e instanceof RingError && e.code === 'EOPNOTSUPP') return t.skip('this kernel has no socket uring_cmd (6.7)');
    throw e;
  }
  assert.equal(rcv, SOCK.STREAM);
  assert.equal(await ring.getsockopt(fd, SOL.SOCKET, SO.DOMAIN), 2);
  await ring.setsockopt(fd, SOL.SOCKET, SO.KEEPALIVE, 1);
  assert.equal(await ring.getsockopt(fd, SOL.SOCKET, SO.KEEPALIVE), 1);
  await ring.setsockopt(fd, SOL.SOCKET, SO.RCVBUF, 65536);
  const raw = Buffer.alloc(8);
  const len = await ring.uringCmd(fd, 'getsockopt', { level: SOL.SOCKET, optname: SO.RCVBUF, optval: raw });
  assert.equal(len, 4, 'getsockopt resolves the option length');
  assert.equal(raw.readInt32LE(0), 131072, 'the kernel doubles SO_RCVBUF');
  // getsockopt is SOL_SOCKET only on 6.18; setsockopt takes any level
  await assert.rejects(ring.getsockopt(fd, 6, 1), (e: unknown) => e instanceof RingError && e.code === 'EOPNOTSUPP');
  await ring.setsockopt(fd, 6 /* IPPROTO_TCP */, 1 /* TCP_NODELAY */, 1);
  assert.equal(await ring.siocinq(fd), 0);
  assert.equal(await ring.siocoutq(fd), 0);
});

test('bad input: wrong family, oversize address, bad port, negative fd, multishot in a promise method: TypeError/RangeError naming the argument', async (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.bind(3, { family: 'ipx' as 'ipv4', address: '1.2.3.4', port: 1 }), { name: 'RangeError', message: /^bind\(\): "address"\.family must be 'ipv4', 'ipv6' or 'unix'/ });
  assert.throws(() => ring.connect(3, { family: 'ipv4', address: '::1', port: 1 }), { name: 'RangeError', message: /^connect\(\): "address"\.address must be an IPv4 address/ });
  assert.throws(() => ring.connect(3, Buffer.alloc(200)), { name: 'RangeError', message: /^connect\(\): "address" as raw bytes must be a struct sockaddr of 2 to 128 bytes/ });
  assert.throws(() => ring.bind(3, { path: 'p'.repeat(120) }), { name: 'RangeError', message: /^bind\(\): "address": a unix path must be at most 107 bytes/ });
  assert.throws(() => ring.connect(3, { address: '127.0.0.1', port: 65536 }), { name: 'RangeError', message: /^connect\(\): "address"\.port must be in \[0, 65535\]/ });
  assert.throws(() => ring.connect(3, { address: '127.0.0.1', port: '80' as unknown as number }), { name: 'TypeError', message: /^connect\(\): "address"\.port must be an integer/ });
  assert.throws(() => ring.send(-1, Buffer.alloc(1)), { name: 'RangeError', message: /^send\(\): "fd" must be in \[0, 2147483647\]/ });
  assert.throws(() => ring.socket('ipx' as 'ipv4', 'stream'), { name: 'RangeError', message: /^socket\(\): "domain" must be one of 'ipv4', 'ipv6', 'unix'/ });
  assert.throws(() => ring.socket('ipv4', SOCK.STREAM | SOCK.CLOEXEC, 0, { direct: 0 }), { name: 'RangeError', message: /^socket\(\): "type": SOCK_CLOEXEC cannot be combined with "direct"/ });
  assert.throws(() => ring.shutdown(3, 'sideways' as 'read'), { name: 'RangeError', message: /^shutdown\(\): "how" must be one of 'read', 'write', 'both'/ });
  assert.throws(() => ring.recv(3, null), { name: 'TypeError', message: /^recv\(\): "buffer" must be a buffer \(null only with "bufferGroup"/ });
  assert.throws(() => ring.recv(3, Buffer.alloc(1), 0, { multishot: true }), { name: 'TypeError', message: /^recv\(\): "multishot" needs "bufferGroup" too/ });
  assert.throws(() => ring.recv(3, null, 0, { bufferGroup: 1, multishot: true }), { name: 'TypeError', message: /^ring\.recv\(\): multishot and bundle requests post more than one completion/ });
  assert.throws(() => ring.accept(3, { multishot: true }), { name: 'TypeError', message: /^ring\.accept\(\): multishot/ });
  assert.throws(() => ring.uringCmd(3, 'getsockopt', { level: 1 }), { name: 'TypeError', message: /^uringCmd\(\): "optname" is required with cmd 'getsockopt'/ });
  assert.equal(typeof ring.sendZc, 'function', 'zero-copy send has a promise method, settled at its notification (test/net-examples.test.ts)');
  assert.equal(ring.pending, 0);
  // a closed-socket case reaches the kernel and fails there
  const fd = await ring.socket('ipv4', 'stream');
  closeSync(fd);
  await assert.rejects(ring.send(fd, Buffer.from('x')), (e: unknown) => e instanceof RingError && e.code === 'EBADF');
});
