// A socket's lone chunk send (src/net/writer.ts: SocketWriter#loneSend, one Sqe per socket
// re-pointed with Sqe.retarget() at each received chunk in turn) made with a write callback
// (TcpSocket.write(chunk, cb)), attacked by a hostile completion program while the send waits for
// room, with more callback writes queued behind it, and in a second round on the same socket; and
// a careless user who drops the ring with such writes queued. The promise (docs/security.md,
// "Callback requests and repeated cancels", "A socket's chunk sends and write callbacks"): each send
// is its own request of JS's table, so a program's ASYNC_CANCEL naming it finds nothing and a CQE
// it posts under it goes to the programs' CQ 0; the write's bytes go out whole, in call order, once;
// its callback runs exactly once, after the kernel took the last byte, never inside write(); the
// chunk goes home only then. A busy ring dropped without close() stays alive until its work
// settles (docs/guide.md): the callbacks run, then the idle ring is collected (these tests found
// that it was not when the thread's last promise request had rejected, as fillUp()'s aborted
// filler does: src/ring/settlers.ts kept that promise, whose error's unformatted stack held the
// ring; fixed by releaseSettlers()). Program attacks run under the JIT and the interpreter. Every wait is bounded (within(), × CPU_TIME_SCALE: a TCG guest is 10-40 times slower): a stall fails naming what did not settle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gcChild, ringFor, CPU_TIME_SCALE } from '../helpers.js';
import { readExactly } from '../net-helpers.js';
import type { Ring, TcpSocket, ProvidedBuffer } from '../../src/index.js';
import { ringInternals } from '../../src/ring/ring.js';
import { Sqe } from '../../src/ops/sqe.js';
import { ENGINES, noEngine, cancelAndForge, attackTargets } from './asm-programs.js';
import { within } from '../ring-programs-util.js';
import { sleep, pair, chunkOf } from './write-chunk-util.js';
import { Callbacks, unique, smallBuffers, fillUp } from './write-callback-util.js';

const index = new URL('../../src/index.js', import.meta.url).href;
const native = new URL('../../src/native.js', import.meta.url).href;
const netAbi = new URL('../../src/ops/net-abi.js', import.meta.url).href;

/** Received chunks this big never fit in the filled socket at once: the lone send waits (after a short first part, re-pointed at the rest). */
const CHUNK = 20_000;



/** user_data of the sends in flight on `s`'s fd (the writer's, and any filler's). */
const sendsOn = (ring: Ring, s: TcpSocket) => ringInternals(ring).selectRequests((p) => p.sqe.fd === s.fd && p.sqe.op.name === 'send', 8);

/** Counts Sqe.retarget() calls and the distinct Sqes re-pointed (the writers' reused lone-send requests), until the test ends. */
function watchRetarget(t: { after(f: () => void): void }) {
  const seen = { calls: 0, sqes: new Set<Sqe>() };
  const original = Sqe.prototype.retarget;
  Sqe.prototype.retarget = function (this: Sqe, ...a: Parameters<Sqe['retarget']>) {
    seen.calls++;
    seen.sqes.add(this);
    return original.apply(this, a);
  };
  t.after(() => void (Sqe.prototype.retarget = original));
  return seen;
}

for (const { name, jit } of ENGINES) {
  test(`a program can neither cancel nor complete a lone chunk send made with a callback while it waits for room: the callback once, after every byte; the chunk home only then (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const group = ring.bufferGroup({ count: 4, size: 65536 });
    const { server, client, peer } = await pair(ring, group);
    smallBuffers(peer, client);
    const retargets = watchRetarget(t);
    const data = unique(1, CHUNK);
    const c = await within(chunkOf(client, peer, data), 5000 * CPU_TIME_SCALE, 'chunkOf');
    const filled = await within(fillUp(ring, peer), 10_000 * CPU_TIME_SCALE, 'fillUp');
    assert.deepEqual(sendsOn(ring, peer), [], 'the filler ended');
    const cbs = new Callbacks();
    cbs.during(() => peer.write(c, cbs.cb('chunk')));
    await sleep(20);
    const inFlight = sendsOn(ring, peer);
    assert.equal(inFlight.length, 1, 'one lone send in flight');
    assert.ok(peer.bytesWritten < data.length, `the send waits for room (${peer.bytesWritten} of ${data.length} taken)`);
    assert.equal(retargets.sqes.size, 1, 'through the reused request');
    assert.equal(group.outstanding, 1);

    const attack = attackTargets(ring);
    assert.ok(attack.includes(inFlight[0]), 'the program names the lone send itself (its slot\'s generation is past jsUserData()\'s 4 by now)');
    await cancelAndForge(ring, attack, jit);
    await sleep(20);
    assert.equal(cbs.outcomes.size, 0, 'neither the cancels nor the forged CQEs called the callback');
    assert.deepEqual(sendsOn(ring, peer), inFlight, 'the same send is still in flight');
    assert.equal(group.outstanding, 1, 'the chunk is not home early');
    assert.equal(group.available, 3);

    const got = await within(readExactly(client, filled + data.length), 10_000 * CPU_TIME_SCALE, 'the client reads filler and chunk');
    assert.ok(got.subarray(0, filled).every((x) => x === 2), 'the filler first');
    assert.ok(got.subarray(filled).equals(data), 'then the chunk, every byte, in order');
    assert.deepEqual(await within(cbs.of('chunk'), 5000 * CPU_TIME_SCALE, 'the callback'), [], 'the callback, with no error');
    await cbs.all();
    assert.equal(peer.bytesWritten, data.length);
    assert.equal(group.outstanding, 0);
    assert.equal(group.available, 4);
    await within(Promise.all([client.close(), peer.close(), server.close()]), 5000 * CPU_TIME_SCALE, 'close');
    await group.close();
  });

  test(`a program attacking a lone chunk send with callback writes (chunks, strings) queued behind it, twice, in two rounds on one socket (the reused request re-pointed): every byte in call order, each callback once (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t, { cqs: [512] });
    const group = ring.bufferGroup({ count: 8, size: 65536 });
    const { server, client, peer } = await pair(ring, group);
    smallBuffers(peer, client);
    const retargets = watchRetarget(t);
    for (let round = 0; round < 2; round++) {
      const datas = [0, 1, 2].map((i) => unique(10 * round + i + 2, CHUNK - 1000 * i));
      const cs: ProvidedBuffer[] = [];
      for (const d of datas) cs.push(await within(chunkOf(client, peer, d), 5000 * CPU_TIME_SCALE, `round ${round}: chunkOf`));
      const filled = await within(fillUp(ring, peer), 10_000 * CPU_TIME_SCALE, `round ${round}: fillUp`);
      const callsBefore = retargets.calls;
      const cbs = new Callbacks();
      const order: Buffer[] = [Buffer.alloc(filled, 2)];
      cbs.during(() => {
        for (let i = 0; i < 3; i++) {
          order.push(datas[i]);
          peer.write(cs[i], cbs.cb(`chunk ${i}`));
          if (i === 2) break;
          const s = `<round ${round} string ${i}>`;
          order.push(Buffer.from(s));
          peer.write(s, cbs.cb(`string ${i}`));
        }
      });
      await sleep(20);
      const inFlight = sendsOn(ring, peer);
      assert.equal(inFlight.length, 1, `round ${round}: one send in flight, the rest queued`);
      assert.ok(retargets.calls > callsBefore, `round ${round}: the reused request re-pointed at this round's chunk`);
      assert.equal(group.outstanding, 3);

      const attack = attackTargets(ring);
      assert.ok(attack.includes(inFlight[0]), 'the program names the send in flight');
      await cancelAndForge(ring, attack, jit);
      await sleep(20);
      assert.equal(cbs.outcomes.size, 0, `round ${round}: no callback called by the attack`);
      assert.deepEqual(sendsOn(ring, peer), inFlight, 'the same send is still in flight');
      assert.equal(group.outstanding, 3, 'no chunk home early');

      // the client takes the filler: the chunks start to move, and the program attacks what is in flight then
      const want = Buffer.concat(order);
      const head = await within(readExactly(client, filled), 10_000 * CPU_TIME_SCALE, `round ${round}: the filler`);
      await sleep(10);
      await cancelAndForge(ring, attackTargets(ring), jit);
      await sleep(20);
      for (const [n, a] of cbs.outcomes) assert.deepEqual(a, [], `round ${round}: ${n} succeeded`);
      assert.equal(group.outstanding, 3 - [0, 1, 2].filter((i) => cbs.outcomes.has(`chunk ${i}`)).length, 'only the chunks whose callback ran are home');
      const rest = await within(readExactly(client, want.length - filled), 10_000 * CPU_TIME_SCALE, `round ${round}: the rest`);
      assert.ok(Buffer.concat([head, rest]).equals(want), `round ${round}: every write once, whole, in call order`);
      const outcomes = await cbs.all();
      assert.equal(outcomes.size, 5);
      for (const [n, a] of outcomes) assert.deepEqual(a, [], `round ${round}: ${n} succeeded`);
      assert.equal(group.outstanding, 0, `round ${round}: every chunk home`);
    }
    assert.equal(retargets.sqes.size, 1, 'one request, reused across rounds');
    assert.equal(peer.bytesWritten, 2 * (3 * CHUNK - 3000) + 2 * 2 * '<round 0 string 0>'.length);
    // nothing more went: a sentinel is the next thing the client reads
    await peer.write('|');
    assert.equal((await within(readExactly(client, 1), 5000 * CPU_TIME_SCALE, 'sentinel')).toString(), '|');
    await within(Promise.all([client.close(), peer.close(), server.close()]), 5000 * CPU_TIME_SCALE, 'close');
    await group.close();
  });
}

/**
 * A child (--expose-gc) whose ring, group, server and accepted socket live in one function only:
 * the socket is filled (fillUp: raw sends, the last one aborted), three received chunks and three
 * strings are written with callbacks behind a lone chunk send that waits, and the function returns:
 * the ring is dropped without close(). Then the client (node:net) reads (MODE=read) or resets
 * (MODE=reset). RESULT: whether the ring was kept while busy, what the client read, every callback's
 * calls, and whether the idle ring was collected (RINGFLOW_RING_GC warnings); then, after a promise
 * request on another ring, whether it was collected.
 */
const droppedRingChild = `import { Ring, TcpServer } from '${index}';
  import { binding } from '${native}';
  import { SOL, SO } from '${netAbi}';
  import { fillUp } from '${new URL('./write-callback-util.js', import.meta.url).href}';
  import net from 'node:net';
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const reset = process.env.MODE === 'reset';
  let warned = 0;
  process.on('warning', (w) => { if (w.code === 'RINGFLOW_RING_GC') warned++; });
  // A try whose sends all went out before the client read found room after all (a slow guest: the
  // receiver's queue collapsed and its window opened again); that is the setup failing, not the
  // ring: the try is dropped (its ring, idle, is collected) and made again, up to 5 times.
  let calls, client, ringRef, want, heldWhileBusy, whileBusy, tries = 0;
  for (;;) {
    tries++;
    calls = {};
    warned = 0;
    const cbs = calls;
    const cb = (name) => (...a) => void (cbs[name] ??= []).push(a.length ? String(a[0]?.message ?? a[0]) : 'ok');
    ({ client, ringRef, want } = await (async () => {
      const ring = new Ring();
      const group = ring.bufferGroup({ count: 8, size: 65536 });
      const server = await TcpServer.listen(ring, { port: 0, group });
      const acc = server.accept();
      const client = net.connect(server.address().port, '127.0.0.1');
      await new Promise((r) => client.once('connect', r));
      const peer = await acc;
      client.pause();
      binding.sockSetInt(peer.fd, SOL.SOCKET, SO.SNDBUF, 4096);
      binding.sockSetInt(client._handle.fd, SOL.SOCKET, SO.RCVBUF, 4096);
      const st = peer.chunks();
      const datas = [], chunks = [];
      for (let i = 0; i < 3; i++) {
        datas.push(Buffer.alloc(8000 + i, 65 + i));
        client.write(datas[i]);
        chunks.push((await st.next()).value);
        if (chunks[i].length !== datas[i].length) throw new Error('a chunk came in parts');
      }
      st.close();
      const expected = [Buffer.alloc(await fillUp(ring, peer), 2)];
      for (let i = 0; i < 3; i++) {
        expected.push(datas[i], Buffer.from('<' + i + '>'));
        peer.write(chunks[i], cb('chunk ' + i));
        peer.write('<' + i + '>', cb('string ' + i));
      }
      return { client, ringRef: new WeakRef(ring), want: Buffer.concat(expected) };
    })());
    for (let i = 0; i < 5; i++) { gc(); await sleep(10); }
    heldWhileBusy = warned === 0 && Object.keys(calls).length === 0;
    whileBusy = { tries, warned, calls: JSON.stringify(calls) };
    const roomAfterAll = Object.keys(calls).length === 6 && Object.values(calls).every((c) => c.length === 1 && c[0] === 'ok');
    if (!roomAfterAll || tries === 5) break;
    client.destroy();
    for (let i = 0; i < 200 * ${CPU_TIME_SCALE} && ringRef.deref() !== undefined; i++) { gc(); await sleep(10); }
    await sleep(20); // (its warning, before the next try counts)
  }
  const parts = [];
  client.on('data', (d) => void parts.push(d));
  client.on('error', () => {});
  if (reset) client.resetAndDestroy();
  else client.resume();
  const got = () => parts.reduce((n, b) => n + b.length, 0);
  for (let i = 0; i < 2000 * ${CPU_TIME_SCALE} && ((!reset && got() < want.length) || Object.keys(calls).length < 6); i++) await sleep(10); // (× CPU_TIME_SCALE: a TCG guest)
  await sleep(50); // a second call would come now
  const bytes = reset ? got() : Buffer.concat(parts).equals(want);
  for (let i = 0; i < 50 * ${CPU_TIME_SCALE} && warned === 0; i++) { gc(); await sleep(10); }
  const warnedIdle = warned;
  // another ring's promise request replaces the settle functions src/ring/settlers.ts keeps
  const other = new Ring();
  await other.nop();
  await other.close();
  for (let i = 0; i < 50 * ${CPU_TIME_SCALE} && warned === 0; i++) { gc(); await sleep(10); }
  client.destroy();
  console.log('RESULT ' + JSON.stringify({ heldWhileBusy, whileBusy, bytes, calls, warnedIdle, warnedAfterAnotherPromise: warned }));`;

for (const mode of ['read', 'reset'] as const) {
  test(`careless user: a ring dropped without close() while callback writes (chunks, strings) wait behind a lone chunk send with no room, the client then ${mode === 'read' ? 'reads' : 'resets'}: the busy ring is kept, each callback once${mode === 'read' ? '' : ' with the error'}; the idle ring is collected; the process exits`, () => {
    const r = gcChild(droppedRingChild, { MODE: mode });
    assert.equal(r.code, 0, r.out);
    const { heldWhileBusy, whileBusy, bytes, calls, warnedIdle, warnedAfterAnotherPromise } = r.result;
    assert.equal(heldWhileBusy, true, `no callback and no collection while the send waits (then: ${JSON.stringify(whileBusy)})`);
    const names = [0, 1, 2].flatMap((i) => [`chunk ${i}`, `string ${i}`]);
    if (mode === 'read') {
      assert.equal(bytes, true, 'the client read every byte, in call order');
      assert.deepEqual(calls, Object.fromEntries(names.map((n) => [n, ['ok']])), 'each callback once, with no error');
    } else {
      assert.equal(bytes, 0, 'the client reset before reading');
      const c = calls as Record<string, string[]>;
      assert.deepEqual(Object.keys(c).sort(), names.sort(), 'every callback called');
      for (const n of names) {
        assert.equal(c[n].length, 1, `${n}: once`);
        assert.match(c[n][0], /ECONNRESET|EPIPE/, `${n}: the send's error`);
      }
    }
    // docs/guide.md: an idle ring dropped without close() is collected, its fds closed, one warning
    assert.equal(warnedAfterAnotherPromise, 1, 'collected at last');
    assert.equal(warnedIdle, 1, 'collected once idle (not only after another ring made a promise request: src/ring/settlers.ts once kept the last promise, rejected with an error whose stack held the ring)');
  });
}

test('a ring dropped without close() after its last promise request rejected is collected (minimal case of the above)', () => {
  const r = gcChild(`import { Ring } from '${index}';
    let warned = 0;
    process.on('warning', (w) => { if (w.code === 'RINGFLOW_RING_GC') warned++; });
    await (async () => {
      const ring = new Ring();
      await ring.read(987654, Buffer.alloc(8), 0).catch(() => {}); // EBADF
    })();
    for (let i = 0; i < 30 * ${CPU_TIME_SCALE} && warned === 0; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
    console.log('RESULT ' + JSON.stringify({ warned }));`);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.result, { warned: 1 });
});
