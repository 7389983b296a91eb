// Another ring's msg_ring SEND_FD can put a file into a slot of this ring's registered file table:
// the kernel installs it over whatever the slot holds. A slot JS granted to completion programs
// (ring.allowFd(fixed(i))) must not start naming a file nobody gave them (docs/security.md,
// "Messages from other rings"). ringflow senders put files into such a ring only into slots the
// kernel picks (free ones) with a CQE; a raw sender that names a granted slot makes the engine take
// the grant back when it sees the message's CQE. The guard is asked when a message is built and again
// when it is submitted (an Sqe built before the grant, run after it). Every case runs under the JIT
// and the interpreter.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempDir, requireOp } from '../helpers.js';
import { ENGINES, noEngine } from './asm-programs.js';
import { Submitter, makeRegion, sqeBytes } from './util.js';
import { fixed, op } from '../../src/index.js';

const READ = 22;
const FIXED_FILE = 1;
const EBADF = 9;

function twoFiles(t: TestContext): { pubFd: number; secretFd: number } {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, 'public'), 'public data');
  writeFileSync(join(dir, 'secret'), 'SECRET DATA');
  const pubFd = openSync(join(dir, 'public'), 'r');
  const secretFd = openSync(join(dir, 'secret'), 'r');
  t.after(() => {
    closeSync(pubFd);
    closeSync(secretFd);
  });
  return { pubFd, secretFd };
}

for (const { name, jit } of ENGINES) {
  test(`a ring whose programs hold slots: ringflow senders may not name a slot (or skip the CQE); 'auto' goes to a free slot, the grant stays (${name})`, { skip: noEngine }, async (t) => {
    const target = ringFor(t, { cqs: [16] });
    if (!requireOp(t, target, 'msgRing')) return;
    const f = twoFiles(t);
    const sender = ringFor(t);
    target.files.register([f.pubFd, null, null, null]);
    const handle = target.handle(); // made before the grant: it learns of it through its shared state
    target.allowFd(fixed(0));
    sender.files.register([f.secretFd]);
    await assert.rejects(async () => sender.sendFile(handle, fixed(0), 0), { name: 'RangeError', message: /only into a slot the kernel picks/ });
    await assert.rejects(async () => sender.sendFile(handle, fixed(0), 'auto', { skipCqe: true }), { name: 'RangeError', message: /no skipCqe/ });
    assert.throws(() => op.msgRing(target.handle(), { file: 0, slot: 0 }), { name: 'RangeError', message: /a named slot would replace a file a program was given/ });
    // a slot the kernel picks is a free one: the granted slot keeps its file
    const it = target.messages();
    const slot = await sender.sendFile(handle, fixed(0), 'auto');
    assert.notEqual(slot, 0);
    const m = (await it.next()).value!;
    assert.equal(m.type, 'file');
    await it.return!();
    const sub = new Submitter(target, { jit });
    const buf = makeRegion(target, 64);
    assert.deepEqual(await sub.submit(sqeBytes(READ, { fd: 0, addr: buf.base, len: 32, off: 0n }, FIXED_FILE)), { accepted: true, res: 11 });
    assert.equal(Buffer.from(buf.bytes.subarray(0, 11)).toString(), 'public data', 'slot 0 still names the file programs were given');
    assert.deepEqual(await sub.submit(sqeBytes(READ, { fd: slot, addr: buf.base, len: 32, off: 0n }, FIXED_FILE)), { accepted: false, res: -EBADF }, 'the received slot was never granted');
  });

  test(`a raw sender (the ring's fd, no handle) names a granted slot: the engine takes the grant back at the message's CQE (${name})`, { skip: noEngine }, async (t) => {
    const target = ringFor(t, { cqs: [16] });
    if (!requireOp(t, target, 'msgRing')) return;
    const f = twoFiles(t);
    const sender = ringFor(t);
    target.files.register([f.pubFd, null]);
    target.allowFd(fixed(0));
    sender.files.register([f.secretFd]);
    const sub = new Submitter(target, { jit });
    const buf = makeRegion(target, 64);
    const read0 = () => sub.submit(sqeBytes(READ, { fd: 0, addr: buf.base, len: 32, off: 0n }, FIXED_FILE));
    assert.deepEqual(await read0(), { accepted: true, res: 11 });
    const it = target.messages();
    // a raw fd target carries no handle state: the kernel replaces slot 0's file
    await sender.msgRing(target.fd, { file: 0, slot: 0 });
    const m = (await it.next()).value!;
    await it.return!();
    assert.deepEqual(m, { type: 'file', file: fixed(0) });
    const after = await read0();
    assert.deepEqual(after, { accepted: false, res: -EBADF }, 'the grant of slot 0 was taken back: programs never read the file another ring put there');
    assert.equal(Buffer.from(buf.bytes.subarray(0, 11)).toString(), 'public data', 'and nothing of the new file reached the region');
  });

  test(`a file message built before the grant and submitted after it cannot put a file into a granted slot (${name})`, { skip: noEngine }, async (t) => {
    const target = ringFor(t, { cqs: [16] });
    if (!requireOp(t, target, 'msgRing')) return;
    const f = twoFiles(t);
    const sender = ringFor(t);
    target.files.register([f.pubFd, null]);
    sender.files.register([f.secretFd]);
    const handle = target.handle();
    const early = op.msgRing(handle, { file: 0, slot: 0, skipCqe: true }); // no grant yet: accepted
    target.allowFd(fixed(0));
    const sub = new Submitter(target, { jit });
    const buf = makeRegion(target, 64);
    const read0 = () => sub.submit(sqeBytes(READ, { fd: 0, addr: buf.base, len: 32, off: 0n }, FIXED_FILE));
    assert.deepEqual(await read0(), { accepted: true, res: 11 });
    let refused = false;
    try {
      await sender.run(early);
    } catch (e) {
      refused = e instanceof RangeError;
    }
    buf.bytes.fill(0);
    const after = await read0();
    const text = Buffer.from(buf.bytes.subarray(0, 11)).toString();
    assert.equal(refused, true, 'the prebuilt message is refused at submission (RangeError) now that the target guards its slots');
    assert.deepEqual(after, { accepted: true, res: 11 });
    assert.equal(text, 'public data', 'the granted slot still names the file programs were given');
  });
}
