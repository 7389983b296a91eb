/**
 * Attacks on the engine's park (docs/security.md, "Multi-CQE requests"), after its review: a hostile
 * program cancelling its own multishot request once the kernel has ended it and its last CQE waits
 * in the park (the request is no longer the kernel's: the cancel finds nothing, the CQEs arrive
 * once), and a careless caller closing the ring from a completion callback while accepted fds wait
 * in the park and reading the CQ during and after the close. The dropped-ring case is in
 * test/security/gc.test.ts. Program: test/programs/ring/attack_multi_flood.c. JIT and interpreter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { skipReason } from '../ring-programs-util.js';
import { MODES, listener, Client, eventually, openFds } from '../net-programs-util.js';
import { F_MORE, E, KIND, CMD, isOpen, parkedNow, setup, attack } from './multishot-util.js';

const ENOENT = -2;

for (const { jit, name } of MODES) {
  test(`a program cancelling its multishot ACCEPT after the kernel ended it, with its last CQE parked: -ENOENT, and the parked CQEs arrive once, in order (${name})`, { skip: skipReason }, async (t) => {
    const ring = setup(t);
    if (!ring) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    ring.allowFd(l.fd);
    const p0 = parkedNow(ring);
    const p = attack(ring, jit, l.fd, { kind: KIND.ACCEPT, n: 1, cqSize: 1 });
    p.a.setUint32(72, 1, true); // close the fds it reads
    await eventually(p.armed, 5000, 'armed');
    const clients: Client[] = [];
    t.after(() => { for (const c of clients) c.socket.destroy(); });
    for (let i = 0; i < 3; i++) {
      clients.push(await Client.connect(l.port));
      await eventually(() => ring.cq(p.cq).ready + parkedNow(ring) - p0 === i + 1, 5000, `connection ${i} accepted`);
    }
    await p.cmd(CMD.CANCEL);
    await eventually(() => p.u64(88) === 1 && ring.cq(p.cq).parked === 3, 5000, 'the cancel done, the request\'s last CQE parked');
    assert.equal(p.u64(128), 0, 'the first cancel found the request in the kernel');
    await p.cmd(CMD.CANCEL); // the kernel has ended it: it waits in the park, nobody's to cancel
    await eventually(() => p.u64(88) === 2, 5000, 'the second cancel done');
    assert.equal(p.u64(128), ENOENT, 'the second cancel finds nothing');
    assert.equal(ring.cq(p.cq).parked, 3, 'the parked CQEs are untouched');
    await p.read(4);
    await new Promise((r) => setTimeout(r, 50));
    const log = p.entries();
    assert.equal(log.length, 4, 'each CQE once');
    for (const e of log.slice(0, 3)) {
      assert.ok(e.res >= 0, 'an accepted fd');
      assert.equal(e.flags & F_MORE, F_MORE);
    }
    assert.equal(log[3]!.res, E.ECANCELED, 'then the request\'s end');
    assert.equal(log[3]!.flags & F_MORE, 0);
    await Promise.all(clients.map((c) => c.untilEnd())); // the program closed what it accepted
    await p.cmd(CMD.END);
    assert.equal(await p.run, 0);
  });

  test(`ring.close() from a completion callback while accepted fds wait in the park, the CQ read during and after the close: no crash, every accepted fd closed, JS's listener open (${name})`, { skip: skipReason }, async (t) => {
    const ring = setup(t);
    if (!ring) return;
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    ring.allowFd(l.fd);
    const base = openFds();
    const p0 = parkedNow(ring);
    const p = attack(ring, jit, l.fd, { kind: KIND.ACCEPT, n: 1, cqSize: 1 });
    await eventually(p.armed, 5000, 'armed');
    const q = ring.cq(p.cq);
    const clients: Client[] = [];
    t.after(() => { for (const c of clients) c.socket.destroy(); });
    for (let i = 0; i < 4; i++) {
      clients.push(await Client.connect(l.port));
      await eventually(() => q.ready + parkedNow(ring) - p0 === i + 1, 5000, `connection ${i} accepted`);
    }
    assert.equal(q.parked, 3);
    let closing: Promise<void> | undefined;
    let during: { res: number }[] = [];
    await ring.nop().then(() => {
      closing = ring.close();
      during = q.drain(); // reading lets the next parked CQE in, on a ring that is closing
    });
    await closing;
    await p.run.catch(() => undefined);
    const after = q.drain(); // the CQ's memory outlives the ring; letting parked CQEs in is a no-op now
    assert.equal(during.length, 1);
    assert.ok(during[0]!.res >= 0, 'an accepted fd');
    assert.ok(after.length <= 1);
    await Promise.all(clients.map((c) => c.untilEnd())); // the engine closed every fd the program owned
    assert.ok(isOpen(l.fd), 'JS\'s listening socket is JS\'s: still open');
    for (const c of clients) c.socket.destroy();
    await eventually(() => openFds() <= base, 2000, 'no accepted fd left open');
  });
}
