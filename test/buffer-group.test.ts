/**
 * Provided buffers (BufferGroup, src/buffers/): each kind the kernel offers (legacy, ring,
 * incremental), reads from a FIFO that select their buffer, ids that round-trip, ENOBUFS and
 * the refill hook, ownership (double release, use after release, a CQE naming a buffer the
 * kernel does not hold), incremental pieces, recv bundles over a socket, sizes refused, closing
 * with requests in flight, a worker with its own group.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Worker, MessageChannel } from 'node:worker_threads';
import { ringFor, fifo, tempDir } from './helpers.js';
import {
  Ring, Sqe, opByName, CqeFlags, Features, RegisterOp, RingError, RingClosedError,
  BufferGroup, BufferStateError, BufferGroupEmptyError, ProvidedBuffer, type BufferGroupKind,
} from '../src/index.js';

const KINDS: { name: string; options: { kind?: 'legacy' | 'ring'; incremental?: boolean }; want: BufferGroupKind }[] = [
  { name: 'legacy', options: { kind: 'legacy' }, want: 'legacy' },
  { name: 'ring', options: { kind: 'ring' }, want: 'ring' },
  { name: 'incremental', options: { incremental: true }, want: 'incremental' },
];

/** A group of the kind asked, or a skip saying what the kernel gave instead. */
function groupOf(t: TestContext, ring: Ring, want: BufferGroupKind, options: object, count: number, size: number): BufferGroup | undefined {
  const g = ring.bufferGroup({ count, size, ...options });
  if (g.kind !== want) {
    void g.close();
    t.skip(`this kernel gave a '${g.kind}' group where '${want}' was asked (ring-mapped needs 5.19, incremental 6.12)`);
    return undefined;
  }
  return g;
}

/** A read of the FIFO selecting its buffer from `group` (len 0: up to the buffer's size). */
function readSelect(ring: Ring, fd: number, group: BufferGroup, len = 0): Promise<ProvidedBuffer | null> {
  const s = new Sqe(opByName('read')!);
  s.fd = fd;
  s.len = len;
  s.setOff(-1);
  return ring.run(group.select(s));
}

for (const k of KINDS) {
  test(`${k.name}: ids round-trip over 300 reads, each view exactly the bytes written; available and outstanding add up`, async (t) => {
    const ring = ringFor(t);
    const pipe = fifo(t);
    const g = groupOf(t, ring, k.want, k.options, 8, 32);
    if (!g) return;
    await g.ready;
    assert.equal(g.available, 8);
    const seen = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const msg = `m${i}:`.padEnd(1 + (i % 31), '.');
      const p = readSelect(ring, pipe.fd, g);
      pipe.write(msg);
      const got: ProvidedBuffer[] = [];
      let text = '';
      // an incremental group may split a message; the others return it whole
      for (let b = await p; ; b = await readSelect(ring, pipe.fd, g)) {
        assert.ok(b);
        got.push(b);
        text += b.bytes.toString();
        if (text.length >= msg.length) break;
      }
      assert.equal(text, msg);
      assert.equal(g.outstanding, got.length);
      for (const b of got) {
        seen.set(b.id, (seen.get(b.id) ?? 0) + 1);
        b.release();
      }
    }
    assert.equal(g.outstanding, 0);
    assert.equal(g.available, 8, 'every buffer is back with the kernel');
    if (k.want !== 'incremental') assert.deepEqual([...seen.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7], 'every id was handed out and came back');
    await g.close();
  });

  test(`${k.name}: an empty group fails with ENOBUFS; refilled() resolves when a buffer is released, and the request succeeds then`, async (t) => {
    const ring = ringFor(t);
    const pipe = fifo(t);
    const g = groupOf(t, ring, k.want, k.options, 2, 16);
    if (!g) return;
    pipe.write('0123456789abcdef0123456789abcdef');
    const a = (await readSelect(ring, pipe.fd, g))!;
    const b = (await readSelect(ring, pipe.fd, g))!;
    assert.equal(g.available, 0);
    pipe.write('more');
    await assert.rejects(readSelect(ring, pipe.fd, g), (e: RingError) => e instanceof RingError && e.code === 'ENOBUFS' && /provided-buffer group/.test(e.hint!));
    assert.throws(() => g.take(-105, 0), (e: Error) => e instanceof BufferGroupEmptyError && e instanceof RingError && e.code === 'ENOBUFS' && e.group === g.id && /2 of its buffers are held by JS/.test(e.hint!));
    let refills = 0;
    const off = g.onRefill(() => refills++);
    const refilled = g.refilled();
    const early = await Promise.race([refilled.then(() => 'refilled'), new Promise((r) => setTimeout(() => r('waiting'), 30))]);
    assert.equal(early, 'waiting');
    a.release();
    await refilled;
    assert.equal(refills, 1);
    off();
    const c = (await readSelect(ring, pipe.fd, g))!;
    assert.equal(c.bytes.toString(), 'more');
    assert.equal(c.id, a.id);
    b.release();
    c.release();
    assert.equal(refills, 1, 'unsubscribed');
    await g.close();
    await assert.rejects(g.refilled(), RingClosedError);
  });

  test(`${k.name}: release twice is refused, a released buffer reads nothing, using releases; a CQE naming a buffer JS holds is refused`, async (t) => {
    const ring = ringFor(t);
    const pipe = fifo(t);
    const g = groupOf(t, ring, k.want, k.options, 4, 64);
    if (!g) return;
    pipe.write('hello');
    const b = (await readSelect(ring, pipe.fd, g))!;
    const kept = b.bytes;
    assert.equal(kept.toString(), 'hello');
    // (an incremental group's piece leaves the rest of its buffer with the kernel, which may name it again)
    if (k.want === 'incremental') assert.equal(b.more, true);
    else assert.throws(() => g.take(5, CqeFlags.BUFFER | (b.id << 16)), (e: BufferStateError) => e.code === 'ERR_BUFFER_NOT_KERNELS' && /JS holds/.test(e.message));
    assert.throws(() => g.take(5, CqeFlags.BUFFER | (9 << 16)), (e: BufferStateError) => e.code === 'ERR_BUFFER_NOT_KERNELS' && /does not exist/.test(e.message));
    assert.throws(() => g.take(5, 0), (e: BufferStateError) => e.code === 'ERR_BUFFER_NOT_KERNELS');
    assert.equal(g.take(0, 0), null, 'a CQE with no buffer (EOF) hands out nothing');
    b.release();
    assert.equal(kept.length, 0, 'the view is detached: nothing to read');
    assert.equal(kept[0], undefined);
    assert.throws(() => b.bytes, (e: BufferStateError) => e.code === 'ERR_BUFFER_RELEASED');
    assert.throws(() => b.release(), (e: BufferStateError) => e.code === 'ERR_BUFFER_RELEASED');
    assert.equal(g.outstanding, 0);
    assert.equal(g.available, 4, 'released once, counted once (an incremental buffer never left the kernel)');
    pipe.write('scoped');
    {
      using s = (await readSelect(ring, pipe.fd, g))!;
      assert.equal(s.bytes.toString(), 'scoped');
      assert.equal(g.outstanding, 1);
    }
    assert.equal(g.outstanding, 0, 'using released it');
    await g.close();
  });

  test(`${k.name}: close() with a request in flight selecting from the group: it fails ENOBUFS, buffers JS holds stay readable`, async (t) => {
    const ring = ringFor(t);
    const pipe = fifo(t);
    const g = groupOf(t, ring, k.want, k.options, 2, 32);
    if (!g) return;
    pipe.write('held');
    const held = (await readSelect(ring, pipe.fd, g))!;
    const waiting = readSelect(ring, pipe.fd, g);
    await new Promise((r) => setTimeout(r, 20));
    await g.close();
    assert.equal(g.closed, true);
    assert.throws(() => readSelect(ring, pipe.fd, g), /closed/);
    pipe.write('late');
    // a ring group is unregistered: the read finds no buffer. A legacy read selected its buffer when
    // it started (before REMOVE_BUFFERS), so it may complete into it: handed out as usual.
    const late = await waiting.catch((e: RingError) => e);
    if (late instanceof RingError) assert.equal(late.code, 'ENOBUFS');
    else {
      assert.equal(k.want, 'legacy', 'only a legacy request keeps a buffer across close()');
      assert.equal(late!.bytes.toString(), 'late');
      late!.release();
    }
    assert.equal(g.available, 0);
    assert.equal(held.bytes.toString(), 'held', 'a buffer JS holds outlives the group');
    held.release(); // after close: only the view goes
    assert.equal(held.released, true);
    const again = ring.bufferGroup({ count: 1, size: 8, id: g.id, ...k.options });
    assert.equal(again.id, g.id, 'the id is free again');
    await again.close();
  });
}

test('ring.close() with a read in flight selecting from a group: the read is rejected, the group reports closed', async () => {
  const ring = new Ring({ entries: 8 });
  const { dir, cleanup } = tempDir();
  try {
    const g = ring.bufferGroup({ count: 2, size: 16 });
    const { execFileSync } = await import('node:child_process');
    const { openSync, closeSync } = await import('node:fs');
    execFileSync('mkfifo', [`${dir}/f`]);
    const fd = openSync(`${dir}/f`, 'r+');
    const waiting = readSelect(ring, fd, g);
    await new Promise((r) => setTimeout(r, 20));
    await ring.close();
    await assert.rejects(waiting, RingClosedError);
    assert.equal(g.closed, true);
    await g.close();
    closeSync(fd);
  } finally {
    cleanup();
  }
});

test('incremental: several CQEs per buffer with IORING_CQE_F_BUF_MORE, offsets continuing; the buffer returns only when the kernel is done and every piece is released', async (t) => {
  const ring = ringFor(t);
  const pipe = fifo(t);
  const g = groupOf(t, ring, 'incremental', { incremental: true }, 2, 256);
  if (!g) return;
  const pieces: ProvidedBuffer[] = [];
  for (let i = 0; i < 5; i++) {
    const p = readSelect(ring, pipe.fd, g);
    pipe.write(String(i).repeat(50));
    pieces.push((await p)!);
  }
  assert.deepEqual(pieces.map((p) => [p.id, p.offset, p.length, p.more]), [0, 50, 100, 150, 200].map((o) => [0, o, 50, true]));
  assert.deepEqual(pieces.map((p) => p.bytes.toString()), ['0', '1', '2', '3', '4'].map((c) => c.repeat(50)));
  for (const p of pieces) p.release();
  assert.equal(g.available, 2, 'the kernel still owns buffer 0: releasing its pieces gives nothing back yet');
  const p = readSelect(ring, pipe.fd, g);
  pipe.write('end!!!');
  const last = (await p)!;
  assert.deepEqual([last.id, last.offset, last.length, last.more], [0, 250, 6, false], 'the CQE without BUF_MORE ends buffer 0');
  assert.equal(g.available, 1);
  last.release();
  assert.equal(g.available, 2, 'buffer 0 is back once the kernel is done and every piece is released');
  await g.close();
});

/** A connected stream socket pair over a unix socket; `fd` is the accepted end, which node never reads (pauseOnConnect). */
async function socketPair(t: TestContext): Promise<{ fd: number; peer: net.Socket }> {
  const { dir, cleanup } = tempDir();
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(`${dir}/s`, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const peer = net.connect(`${dir}/s`);
  const sock = await accepted;
  t.after(() => {
    peer.destroy();
    sock.destroy();
    server.close();
    cleanup();
  });
  return { fd: (sock as unknown as { _handle: { fd: number } })._handle.fd, peer };
}

/** RECV (27) with IORING_RECVSEND_BUNDLE in ioprio, selecting from `group` (raw until the recv builder lands). */
function recvBundle(ring: Ring, fd: number, group: BufferGroup): Promise<ProvidedBuffer[]> {
  const s = new Sqe(opByName('recv')!);
  s.fd = fd;
  s.ioprio = 1 << 4;
  return ring.run(group.select(s));
}

for (const k of KINDS) {
  test(`${k.name}: a recv bundle covers consecutive buffers; takeBundle returns them in order, exactly the bytes sent`, async (t) => {
    const ring = ringFor(t);
    if (!ring.hasFeature('RECVSEND_BUNDLE')) return t.skip('this kernel lacks IORING_FEAT_RECVSEND_BUNDLE (6.10)');
    assert.ok(Features.RECVSEND_BUNDLE);
    const g = groupOf(t, ring, k.want, k.options, 8, 64);
    if (!g) return;
    await g.ready;
    const { fd, peer } = await socketPair(t);
    const sent = Buffer.from(Array.from({ length: 1000 }, (_, i) => 33 + (i % 90)));
    let received = '';
    for (let off = 0; off < sent.length; ) {
      const chunk = sent.subarray(off, off + 300);
      off += chunk.length;
      peer.write(chunk);
      let got = 0;
      while (got < chunk.length) {
        const parts = await recvBundle(ring, fd, g);
        assert.ok(parts.length >= 1);
        for (const [i, p] of parts.entries()) {
          if (i < parts.length - 1 && k.want !== 'incremental') assert.equal(p.length, 64, 'every buffer but the last is full');
          received += p.bytes.toString('latin1');
          got += p.length;
        }
        for (const p of parts) p.release();
      }
    }
    assert.equal(received, sent.toString('latin1'));
    assert.equal(g.outstanding, 0);
    assert.equal(g.available, 8);
    await g.close();
  });
}

test('sizes and ids the kernel would refuse: RangeError before the kernel; an id registered outside the group: RingError EEXIST with a hint', async (t) => {
  const ring = ringFor(t);
  assert.throws(() => ring.bufferGroup({ count: 0, size: 16 }), /"count" must be in \[1, 32768\]/);
  assert.throws(() => ring.bufferGroup({ count: 32769, size: 16 }), RangeError);
  assert.throws(() => ring.bufferGroup({ count: 4, size: 0 }), /"size" must be in \[1, /);
  assert.throws(() => ring.bufferGroup({ count: 4, size: 16, id: 65536 }), RangeError);
  assert.throws(() => ring.bufferGroup({ count: 4, size: 16, kind: 'legacy', incremental: true }), /legacy groups cannot be incremental/);
  assert.throws(() => ring.bufferGroup({ count: 4, size: 16, bogus: 1 } as never), /"bogus" is not an option/);
  const a = ring.bufferGroup({ count: 5, size: 16, id: 3 });
  assert.equal(a.available, 5, 'a count that is not a power of two is fine (the ring rounds up)');
  assert.throws(() => ring.bufferGroup({ count: 4, size: 16, id: 3 }), /group id 3 is in use/);
  const b = ring.bufferGroup({ count: 1, size: 16 });
  assert.equal(b.id, 0, 'the lowest free id');
  await a.close();
  await b.close();
  // a read selecting from a group no one made: the kernel says ENOBUFS
  const pipe = fifo(t);
  pipe.write('x');
  const s = new Sqe(opByName('read')!);
  s.fd = pipe.fd;
  s.setOff(-1);
  await assert.rejects(ring.run(s.selectBuffer(4242)), (e: RingError) => e.code === 'ENOBUFS');
  assert.throws(() => s.selectBuffer(70000), RangeError);
});

test('an id registered behind the group\'s back (a raw PBUF_RING): RingError EEXIST with a hint naming the id', (t) => {
  const ring = ringFor(t);
  // a kernel-allocated ring (IOU_PBUF_RING_MMAP, 6.4) for group 9, registered by hand
  const reg = Buffer.alloc(40);
  reg.writeUInt32LE(1, 8);
  reg.writeUInt16LE(9, 12);
  reg.writeUInt16LE(1, 14);
  try {
    ring.register(RegisterOp.REGISTER_PBUF_RING, reg, 1);
  } catch (e) {
    return t.skip(`the kernel refuses a raw IOU_PBUF_RING_MMAP ring (${(e as RingError).code}; 6.4+)`);
  }
  assert.throws(() => ring.bufferGroup({ count: 2, size: 16, id: 9, kind: 'ring' }), (e: RingError) => e.code === 'EEXIST' && /group id 9 is registered on this ring already/.test(e.hint!));
  const unreg = Buffer.alloc(40);
  unreg.writeUInt16LE(9, 12);
  ring.register(RegisterOp.UNREGISTER_PBUF_RING, unreg, 1);
  const g = ring.bufferGroup({ count: 2, size: 16, id: 9, kind: 'ring' });
  assert.equal(g.id, 9);
  void g.close();
});

test('transfer attacks on a provided buffer: transfer lists copy or refuse, transfer() moves only the view; the group stays sound', async (t) => {
  const ring = ringFor(t);
  const pipe = fifo(t);
  const g = ring.bufferGroup({ count: 1, size: 64 });
  pipe.write('secret');
  const b = (await readSelect(ring, pipe.fd, g))!;
  const ab = b.bytes.buffer as ArrayBuffer & { transfer?: () => ArrayBuffer; resizable?: boolean };
  assert.notEqual(ab.resizable, true);
  const { port1 } = new MessageChannel();
  try {
    port1.postMessage(ab, [ab]);
  } catch (e) {
    assert.match(String((e as Error).message), /transfer|clone/i);
  }
  port1.close();
  if (typeof ab.transfer === 'function') {
    try {
      ab.transfer();
    } catch (e) {
      assert.ok(e instanceof TypeError);
    }
  }
  b.release(); // the group takes it back whatever happened to the view
  pipe.write('next');
  const c = (await readSelect(ring, pipe.fd, g))!;
  assert.deepEqual([c.id, c.bytes.toString()], [0, 'next']);
  c.release();
  await g.close();
});

test('a worker thread with its own ring and group: ids round-trip there, nothing crosses threads', async (t) => {
  const pipe = fifo(t);
  const index = new URL('../src/index.js', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { openSync, writeSync, closeSync } = require('node:fs');
    (async () => {
      const { Ring, Sqe, opByName } = await import(${JSON.stringify(index)});
      const ring = new Ring({ entries: 8 });
      const g = ring.bufferGroup({ count: 4, size: 32 });
      const fd = openSync(workerData.path, 'r+');
      const ids = [];
      for (let i = 0; i < 20; i++) {
        writeSync(fd, 'w' + i);
        const s = new Sqe(opByName('read')); s.fd = fd; s.setOff(-1);
        const b = await ring.run(g.select(s));
        ids.push([b.id, b.bytes.toString()]);
        b.release();
      }
      await g.close();
      await ring.close();
      closeSync(fd);
      parentPort.postMessage({ kind: g.kind, ids, available: g.available });
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  const w = new Worker(code, { eval: true, workerData: { path: pipe.path } });
  const msg = (await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  })) as { error?: string; kind: string; ids: [number, string][] };
  await w.terminate();
  assert.equal(msg.error, undefined);
  assert.equal(msg.ids.length, 20);
  assert.deepEqual(msg.ids.map(([, s]) => s), Array.from({ length: 20 }, (_, i) => 'w' + i));
  assert.deepEqual([...new Set(msg.ids.map(([id]) => id))].sort(), [0, 1, 2, 3].slice(0, new Set(msg.ids.map(([id]) => id)).size));
  // this thread's groups are untouched by the worker's (same id 0 on another ring)
  const ring = ringFor(t);
  const g = ring.bufferGroup({ count: 1, size: 8 });
  assert.equal(g.id, 0);
  await g.close();
});
