/**
 * Registered buffers (ring.buffers) through the fixed ops: readFixed/writeFixed take a
 * RegisteredBuffer or its span() and name its index themselves; readvFixed/writevFixed and
 * send_zc take the index with views of its memory (IORING_RECVSEND_FIXED_BUF).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ringFor, requireOp, exercised, tempFile, pattern } from './helpers.js';
import { O, TcpServer, TcpSocket } from '../src/index.js';

test('readFixed/writeFixed with a RegisteredBuffer, its span() and the offset/length window', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'readFixed') || !requireOp(t, ring, 'writeFixed')) return;
  const data = pattern(16384);
  const f = tempFile(data);
  t.after(f.cleanup);
  ring.buffers.register([16384, 8192]);
  const [a, b] = [ring.buffers.at(0)!, ring.buffers.at(1)!];
  const fd = await ring.openat(f.path, O.RDWR);
  assert.equal(await ring.readFixed(fd, a, 0), 16384);
  assert.ok(a.bytes.equals(data));
  assert.equal(await ring.readFixed(fd, b.span(100, 50), 1000), 50);
  assert.ok(b.bytes.subarray(100, 150).equals(data.subarray(1000, 1050)));
  assert.equal(await ring.readFixed(fd, b, 0, undefined, { offset: 4096, length: 10 }), 10);
  assert.ok(b.bytes.subarray(4096, 4106).equals(data.subarray(0, 10)));
  b.bytes.fill(0x7a, 0, 64);
  assert.equal(await ring.writeFixed(fd, b.span(0, 64), 64), 64);
  assert.equal(await ring.readFixed(fd, a.span(0, 64), 64), 64);
  assert.ok(a.bytes.subarray(0, 64).equals(Buffer.alloc(64, 0x7a)));
  // a plain view still needs its index; a wrong one is refused before the kernel
  assert.equal(await ring.readFixed(fd, a.bytes.subarray(0, 8), 0, 0), 8);
  assert.throws(() => ring.readFixed(fd, a.bytes.subarray(0, 8), 0), /"bufIndex" is required when the buffer is a plain view/);
  assert.throws(() => ring.readFixed(fd, a, 0, 1), /"bufIndex" is 1, but the buffer given is registered buffer 0/);
  assert.throws(() => ring.readFixed(fd, a, 0, undefined, { offset: 16000, length: 1000 }), /not inside registered buffer 0/);
  assert.throws(() => ring.readFixed(fd, a.span(0, 8), 0, undefined, { length: 4 }), /is a span already/);
  await ring.closeFd(fd);
});

test('readvFixed/writevFixed and send_zc from registered memory', async (t) => {
  const ring = ringFor(t);
  ring.buffers.register([65536]);
  const rb = ring.buffers.at(0)!;
  rb.bytes.fill(0x42);
  if (ring.supports('writevFixed')) {
    const f = tempFile(Buffer.alloc(0));
    t.after(f.cleanup);
    const fd = await ring.openat(f.path, O.RDWR);
    assert.equal(await ring.writevFixed(fd, [rb.bytes.subarray(0, 10), rb.bytes.subarray(100, 110)], 0, rb.index), 20);
    rb.bytes.fill(0, 0, 1000);
    assert.equal(await ring.readvFixed(fd, [rb.bytes.subarray(0, 20)], 0, rb.index), 20);
    assert.ok(rb.bytes.subarray(0, 20).equals(Buffer.alloc(20, 0x42)));
    exercised('writevFixed');
    exercised('readvFixed');
    await ring.closeFd(fd);
  } else t.diagnostic('readv/writev fixed skipped: the kernel probe says it lacks IORING_OP_READV_FIXED (6.15)');
  await using server = await TcpServer.listen(ring);
  const acc = server.accept();
  await using c = await TcpSocket.connect(ring, { port: server.address()!.port });
  await using peer = await acc;
  rb.bytes.fill(0x43, 0, 32768);
  assert.equal(await ring.sendZc(c.fd, rb.bytes.subarray(0, 32768), 0, { bufIndex: rb.index }), 32768);
  let got = 0;
  for await (const ch of peer.chunks()) {
    assert.ok(ch.bytes.every((x) => x === 0x43));
    got += ch.bytes.length;
    ch.release();
    if (got === 32768) break;
  }
});
