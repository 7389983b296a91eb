/**
 * Provided buffers in completion programs (ring.allowBufferGroup, src/buffers/program-groups.ts,
 * programs/echo_group.bpf.c): an echo server whose RECVs select from a granted ring-mapped group,
 * SEND straight out of the buffer the kernel picked and give it back (the engine writes the ring
 * entry), over many messages and more connections than buffers; the ownership table shared with
 * JS's BufferGroup; granting and taking back. JIT and interpreter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { ringFor, requireOp } from './helpers.js';
import { noEngine } from './ring-programs-util.js';
import { MODES, listener, Client, bytes, eventually, ringGroup } from './net-programs-util.js';
import { serveEchoFromGroup, type Ring } from '../src/index.js';

function needSockets(t: import('node:test').TestContext, ring: Ring): boolean {
  return requireOp(t, ring, 'socket'); // listeners bind and listen through the syscalls where the ring lacks the ops (before 6.11)
}

for (const { jit, name } of MODES) {
  test(`echo from a granted group: 3000 messages over 12 connections sharing 8 buffers, each given back (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    if (!needSockets(t, ring)) return;
    const group = ringGroup(t, ring, { count: 8, size: 2048 });
    if (!group) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const server = serveEchoFromGroup(ring, l.fd, { group, maxConnections: 16, jit });
    assert.equal(server.compiled, jit && process.arch === 'x64');
    assert.equal(group.programs.granted, true);
    assert.throws(() => group.select(ring.op.nop()), /granted to completion programs/, 'JS requests cannot select from a granted group');
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
    assert.ok(s.messages >= clients.length * PER, `${s.messages} RECVs with data`);
    assert.equal(s.bytes, sent);
    assert.equal(s.returnErrors, 0, 'every give-back accepted');
    assert.equal(s.returned, s.messages, 'one buffer given back per message echoed');
    assert.ok(ring.stats().wakeups - w0 <= (clients.length * PER) / 100, 'no JS wakeup per message');
    // the shared table: no buffer is the programs' between messages, all are the kernel's
    assert.equal(group.programs.owned, 0);
    assert.equal(group.programs.returned, s.returned);
    assert.equal(group.available, 8);
    for (const c of clients) c.socket.end();
    await eventually(() => server.stats().active === 0);
    await server.close();
    assert.equal(group.programs.granted, false, 'the grant ends with the program');
    group.select(ring.op.nop()); // JS may select from it again
    await group.close();
  });
}

test('allowBufferGroup: only open ring-mapped BufferGroups of this ring; ids, idempotence, bad input', { skip: noEngine }, async (t) => {
  const ring = ringFor(t);
  const other = ringFor(t);
  const g = ring.bufferGroup({ count: 2, size: 64 });
  const legacy = ring.bufferGroup({ count: 2, size: 64, kind: 'legacy' });
  await legacy.ready;
  assert.throws(() => ring.allowBufferGroup(legacy), /legacy group/);
  assert.throws(() => ring.allowBufferGroup(777), /no open BufferGroup of this ring/, 'a group id nobody made with BufferGroup (e.g. raw PROVIDE_BUFFERS) is refused');
  assert.throws(() => other.allowBufferGroup(g), /another ring/);
  assert.throws(() => ring.allowBufferGroup(-1), RangeError);
  assert.throws(() => ring.allowBufferGroup('1' as never), TypeError);
  assert.throws(() => ring.allowBufferGroup(g, 1 as never), TypeError);
  if (g.kind !== 'legacy') {
    ring.allowBufferGroup(g.id); // by id
    ring.allowBufferGroup(g); // again: nothing changes
    assert.equal(g.programs.granted, true);
    ring.allowBufferGroup(g, false);
    ring.allowBufferGroup(g, false); // not granted: nothing to take back
    assert.equal(g.programs.granted, false);
    ring.allowBufferGroup(g);
    await g.close(); // takes the grant back first (no program uses it)
    assert.equal(g.programs.granted, false);
    assert.throws(() => ring.allowBufferGroup(g), /closed/);
  }
  await legacy.close();
});
