/**
 * TcpSocket.write(data, callback): node:net's form, no promise per write (src/net/tcp.ts,
 * src/net/writer.ts). The callback gets what the promise would have settled with, once, never
 * inside the write() call; what it throws becomes an uncaught exception on a microtask, never an
 * exception in the ring's completion handling. Writes of both forms share one queue, in call order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ringFor, CPU_TIME_SCALE } from './helpers.js';
import { until } from './wait-util.js';
import { readExactly, groupPair as pair } from './net-helpers.js';
import { firstChunk, sleep } from './security/write-chunk-util.js';
import { TcpSocket, BufferStateError, RingError, type ProvidedBuffer } from '../src/index.js';


/** write(data, …, cb) → [was the callback called inside write(), the promise of its outcome (the argument it got)]. */
function viaCallback(write: (cb: (err?: unknown) => void) => unknown): [boolean, Promise<unknown[]>, unknown] {
  let inside = true;
  let calledInside = false;
  let calls = 0;
  let done!: (args: unknown[]) => void;
  const outcome = new Promise<unknown[]>((resolve) => (done = resolve));
  const returned = write((...args: unknown[]) => {
    if (inside) calledInside = true;
    calls++;
    if (calls > 1) throw new Error('callback called twice');
    done(args);
  });
  inside = false;
  return [calledInside, outcome, returned];
}

test('echo by write(chunk, callback): 2,000 messages back in order, one callback each with no argument, every chunk back in its group', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  let callbacks = 0;
  let chunks = 0;
  let inside = false;
  const failures: unknown[] = [];
  const echoed = new Promise<void>((resolve, reject) => {
    peer.chunks().listen((c) => {
      chunks++;
      inside = true;
      const r = peer.write(c as ProvidedBuffer, (...args: unknown[]) => {
        if (inside) failures.push(new Error('callback inside write()'));
        if (args.length > 0) failures.push(args);
        callbacks++;
      });
      inside = false;
      if (r !== undefined) failures.push(new Error('write(data, cb) returned something'));
    }, (err) => (err ? reject(err) : resolve()));
  });
  const msg = (i: number) => Buffer.from(`message ${i} `.padEnd(100, String.fromCharCode(97 + (i % 26))));
  for (let i = 0; i < 2000; i++) {
    await client.write(msg(i));
    if (i % 100 === 99) {
      const back = await readExactly(client, 100 * 100);
      const want = Buffer.concat(Array.from({ length: 100 }, (_, k) => msg(i - 99 + k)));
      assert.ok(back.equals(want), `messages ${i - 99}..${i} came back as sent`);
    }
  }
  await client.close();
  await echoed;
  await until(() => callbacks >= chunks, 500); // (scaled: a loaded TCG guest is slower)
  assert.deepEqual(failures, []);
  assert.equal(callbacks, chunks, 'one callback per chunk written');
  assert.equal(peer.bytesWritten, 200_000);
  assert.equal(group.outstanding, 0, 'no chunk left out of the group');
  assert.equal(group.available, 16);
  await Promise.all([peer.close(), server.close()]);
  await group.close();
});

test('callback and promise writes share one queue: 300 alternating writes of views, strings and options arrive in call order', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  const parts: Buffer[] = [];
  const settled: Promise<unknown>[] = [];
  for (let i = 0; i < 300; i++) {
    const part = Buffer.from(`<${i}>`);
    parts.push(part);
    if (i % 3 === 0) settled.push(peer.write(part));
    else if (i % 3 === 1) settled.push(viaCallback((cb) => peer.write(part.toString(), cb))[1]);
    else settled.push(viaCallback((cb) => peer.write(part, { signal: new AbortController().signal }, cb))[1]);
  }
  const outcomes = await Promise.all(settled);
  for (let i = 0; i < outcomes.length; i++) if (i % 3 !== 0) assert.deepEqual(outcomes[i], [], `write ${i}'s callback got no argument`);
  const want = Buffer.concat(parts);
  assert.ok((await readExactly(client, want.length)).equals(want));
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('write(…, callback) refused or settled at once: the callback hears later, with what the promise would have rejected with', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  // an empty write, a bad payload, an aborted signal
  for (const [what, call, check] of [
    ['empty view', (cb: (e?: unknown) => void) => peer.write(new Uint8Array(0), cb), (args: unknown[]) => assert.deepEqual(args, [])],
    ['empty string', (cb: (e?: unknown) => void) => peer.write('', cb), (args: unknown[]) => assert.deepEqual(args, [])],
    ['a number', (cb: (e?: unknown) => void) => peer.write(42 as never, cb), (args: unknown[]) => assert.ok(args[0] instanceof TypeError && /"data" must be/.test(args[0].message))],
    [
      'aborted signal',
      (cb: (e?: unknown) => void) => peer.write('x', { signal: AbortSignal.abort() }, cb),
      (args: unknown[]) => assert.equal((args[0] as Error).name, 'AbortError'),
    ],
  ] as const) {
    const [inside, outcome, returned] = viaCallback(call);
    assert.equal(inside, false, `${what}: not called inside write()`);
    assert.equal(returned, undefined, `${what}: write() returned nothing`);
    check(await outcome);
  }
  // a released chunk, and the same chunk written twice
  const got = firstChunk(peer);
  await client.write('a chunk');
  const c = await got;
  const [in1, first] = viaCallback((cb) => peer.write(c, cb));
  const [in2, second] = viaCallback((cb) => peer.write(c, cb));
  assert.equal(in1 || in2, false);
  assert.deepEqual(await first, []);
  const [again] = await second;
  assert.ok(again instanceof BufferStateError && again.code === 'ERR_BUFFER_RELEASED', 'the second write of one chunk is refused');
  assert.equal((await readExactly(client, 7)).toString(), 'a chunk');
  assert.equal(group.outstanding, 0);
  // a closed socket: a chunk written to it goes back to its group
  const got2 = firstChunk(peer);
  await client.write('to a closed one');
  const c2 = await got2;
  const other = await TcpSocket.connect(ring, { port: server.address()!.port });
  await other.close();
  const [in3, closed] = viaCallback((cb) => other.write(c2, cb));
  assert.equal(in3, false);
  const [err] = await closed;
  assert.ok(err instanceof RingError && /the socket is closed/.test(err.message));
  assert.equal(c2.released, true);
  assert.equal(group.outstanding, 0);
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('write() with a callback checks its arguments: a callback that is not a function, anything after the callback', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  assert.throws(() => peer.write('x', {}, 'later' as never), { name: 'TypeError', message: /"callback" must be a function, got/ });
  assert.throws(() => peer.write('x', (() => {}) as never, (() => {}) as never), { name: 'TypeError', message: /after a callback nothing more/ });
  // neither queued anything
  await peer.write('ok');
  assert.equal((await readExactly(client, 2)).toString(), 'ok');
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('close() with callback writes queued behind a send that waits: each callback hears "the socket is closed" once, chunks back in the group', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  peer.zeroCopyThreshold = Infinity;
  const got = firstChunk(peer);
  await client.write('held');
  const c = await got;
  const first = viaCallback((cb) => peer.write(Buffer.alloc(64 << 20, 1), cb))[1]; // the client reads nothing: this send waits
  await sleep(50);
  const queued = [viaCallback((cb) => peer.write(c, cb))[1], ...Array.from({ length: 1000 }, () => viaCallback((cb) => peer.write('x', cb))[1])];
  assert.equal(group.outstanding, 1);
  await peer.close();
  const all = await Promise.all([first, ...queued]);
  assert.ok(
    all.every(([e]) => e instanceof RingError && /the socket is closed/.test(e.message)),
    'every write heard the socket closed',
  );
  assert.equal(group.outstanding, 0, 'the queued chunk is back');
  await Promise.all([client.close(), server.close()]);
  await group.close();
});

test('a callback that throws: an uncaught exception on a microtask, and the ring and the socket go on (child process)', () => {
  const index = new URL('../src/index.js', import.meta.url).href;
  const code = `
    import { Ring, TcpServer, TcpSocket } from ${JSON.stringify(index)};
    const seen = [];
    process.on('uncaughtException', (e) => seen.push(e.message));
    const ring = new Ring({ entries: 64 });
    const server = await TcpServer.listen(ring, { port: 0 });
    const acc = server.accept();
    const client = await TcpSocket.connect(ring, { port: server.address().port });
    const peer = await acc;
    let inside = true;
    peer.write('first', () => { if (inside) seen.push('inside'); throw new Error('boom from a write callback'); });
    inside = false;
    await new Promise((resolve) => peer.write('second', (err) => { seen.push(err === undefined ? 'second ok' : 'second failed'); resolve(); }));
    const b = Buffer.alloc(11);
    let got = 0;
    while (got < 11) got += await client.read(b.subarray(got));
    await new Promise((r) => setTimeout(r, 10));
    seen.push(b.toString());
    await Promise.all([client.close(), peer.close(), server.close()]);
    await ring.close();
    console.log(JSON.stringify(seen));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 * CPU_TIME_SCALE });
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), ['boom from a write callback', 'second ok', 'firstsecond']);
});

test('a callback that writes again: 500 writes each made from the previous one\'s callback, with others queued, arrive once each and in order', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  const sent: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    let i = 0;
    const next = (err?: unknown): void => {
      if (err !== undefined) return reject(err as Error);
      if (i === 500) return resolve();
      const m = `[${i++}]`;
      sent.push(m);
      peer.write(m, next);
      // and one more queued behind it from here, half the time (written from inside the callback)
      if (i % 2 === 0) {
        const extra = `(${i})`;
        sent.push(extra);
        peer.write(extra, (e) => e !== undefined && reject(e as Error));
      }
    };
    next();
  });
  await done;
  const want = sent.join('');
  assert.equal((await readExactly(client, want.length)).toString(), want, 'every write once, in call order');
  await Promise.all([client.close(), peer.close(), server.close()]);
  await group.close();
});

test('close() of the socket and of the ring from inside a write callback: every other write hears once, no crash, chunks back', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  const got = firstChunk(peer);
  await client.write('chunk');
  const c = await got;
  const heard: unknown[][] = [];
  let closing: Promise<void> | undefined;
  peer.write('first', () => {
    closing = peer.close();
  });
  for (let i = 0; i < 20; i++) peer.write(i === 10 ? (c as never) : 'x', (...args) => heard.push(args));
  await until(() => closing !== undefined && heard.length >= 20, 1000);
  await closing;
  assert.equal(heard.length, 20, 'each queued write heard once');
  assert.ok(heard.every((a) => a.length === 0 || (a[0] instanceof RingError && /the socket is closed/.test((a[0] as Error).message))), `sent, or refused as closed: ${heard.map((a) => String(a[0])).join('; ')}`);
  assert.equal(group.outstanding, 0, 'the chunk is back');

  // the ring itself, from a callback
  const ring2 = ringFor(t);
  const p2 = await pair(ring2);
  const after: unknown[][] = [];
  let ringClosing: Promise<void> | undefined;
  p2.peer.write('a', () => {
    ringClosing = ring2.close();
  });
  for (let i = 0; i < 10; i++) p2.peer.write('b', (...args) => after.push(args));
  await until(() => ringClosing !== undefined && after.length >= 10, 1000);
  await ringClosing;
  assert.equal(after.length, 10, 'every write after it heard once');
  assert.equal(ring2.closed, true);
  await Promise.all([client.close(), server.close()]);
  await group.close();
});

test('a callback write aborted while it waits for its turn: AbortError after abort() returned, its chunk back at once', async (t) => {
  const ring = ringFor(t);
  const { group, server, client, peer } = await pair(ring);
  peer.zeroCopyThreshold = Infinity;
  const got = firstChunk(peer);
  await client.write('waiting chunk');
  const c = await got;
  const ahead = viaCallback((cb) => peer.write(Buffer.alloc(32 << 20, 1), cb))[1]; // the client reads nothing: this waits
  await sleep(20);
  const ac = new AbortController();
  let insideAbort = false;
  let calledInside = false;
  const [, aborted] = viaCallback((cb) =>
    peer.write(c, { signal: ac.signal }, (...args) => {
      if (insideAbort) calledInside = true;
      cb(...args);
    }),
  );
  assert.equal(group.outstanding, 1);
  insideAbort = true;
  ac.abort();
  insideAbort = false;
  const [err] = await aborted;
  assert.equal(calledInside, false, 'not called inside abort()');
  assert.equal((err as Error).name, 'AbortError');
  assert.equal(group.outstanding, 0, 'back in the group: its send never started');
  await client.close();
  await peer.close();
  const [aheadErr] = await ahead;
  assert.ok(aheadErr === undefined || aheadErr instanceof RingError);
  await server.close();
  await group.close();
});
