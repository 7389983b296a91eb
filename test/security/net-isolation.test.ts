/**
 * Attacks on program isolation with sockets (docs/security.md, docs/completion-programs.md
 * "Serving connections"): the shipped relay program, run by hand so that its map names any fd
 * number, may reach only sockets JS allowed. Fds never granted, fds JS accepted itself, a closed
 * fd number reused by a new socket, the grant after the program closed its dup, slots of the
 * registered file table, and the socket SQE shapes programs may not submit. JIT and interpreter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { ringFor, requireOp } from '../helpers.js';
import { noEngine } from '../ring-programs-util.js';
import { MODES, listener, acceptedPair, eventually, Client } from '../net-programs-util.js';
import { loadObject, builtinObject, ArrayMap, fixed, type Ring } from '../../src/index.js';

const EBADF = -9;
const EINVAL = -22;
const EFAULT = -14;

/** relay.bpf.c run on one pair whose fds JS writes into the map as it likes (no allowFd by the API). */
function rawRelay(ring: Ring, a: number, b: number, jit: boolean): { done: Promise<number>; pair: DataView } {
  const obj = loadObject(builtinObject('relay'), { jit });
  const idx = ring.registerProgram(obj.program('relay'));
  const region = ring.registerRegion(2 * 4096);
  const args = (obj.maps.get('args') as ArrayMap).view(0);
  args.setBigUint64(0, BigInt(region.address), true);
  args.setUint32(8, 4096, true);
  args.setUint32(12, 1, true);
  const cq = ring.createCq(16);
  const pair = (obj.maps.get('pairs') as ArrayMap).view(0);
  pair.setInt32(0, a, true);
  pair.setInt32(4, b, true);
  pair.setUint32(8, cq, true);
  return { done: ring.runProgram(idx, { userData: 0n }), pair };
}
const pairError = (p: DataView): number => p.getInt32(72, true);
const moved = (p: DataView): [number, number] => [Number(p.getBigUint64(40, true)), Number(p.getBigUint64(48, true))];

/** A program SQE: opcode, fd, and the fields the cases change. */
function sqe(opcode: number, fd: number, f: { flags?: number; ioprio?: number; off?: bigint; addr?: bigint; len?: number; opFlags?: number } = {}): Uint8Array {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  b[0] = opcode;
  b[1] = f.flags ?? 0;
  v.setUint16(2, f.ioprio ?? 0, true);
  v.setInt32(4, fd, true);
  v.setBigUint64(8, f.off ?? 0n, true);
  v.setBigUint64(16, f.addr ?? 0n, true);
  v.setUint32(24, f.len ?? 0, true);
  v.setUint32(28, f.opFlags ?? 0, true);
  return b;
}
const SEND = 26;
const RECV = 27;

async function pairs(t: import('node:test').TestContext, ring: Ring, n: number): Promise<Array<{ fd: number; client: Client }> | undefined> {
  if (!requireOp(t, ring, 'socket')) return undefined; // bind/listen: the syscalls before 6.11
  const l = await listener(ring);
  t.after(() => closeSync(l.fd));
  const out = [];
  for (let i = 0; i < n; i++) out.push(await acceptedPair(ring, l));
  return out;
}

for (const { jit, name } of MODES) {
  test(`a program cannot send on, or receive from, sockets JS accepted but did not allow (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    const ps = await pairs(t, ring, 2);
    if (!ps) return;
    const [A, B] = ps as [{ fd: number; client: Client }, { fd: number; client: Client }];
    t.after(() => [A, B].forEach((p) => closeSync(p.fd)));
    const rejected0 = ring.stats().programSqesRejected ?? 0;
    // neither fd allowed: every RECV is refused with EBADF and the pair ends with it
    const none = rawRelay(ring, A.fd, B.fd, jit);
    await none.done;
    assert.equal(pairError(none.pair), EBADF);
    assert.deepEqual(moved(none.pair), [0, 0]);
    assert.ok((ring.stats().programSqesRejected ?? 0) - rejected0 >= 2, 'the RECVs were refused, not submitted');
    // A allowed, B not: what arrives on A is read, but the SEND to B is refused; B's peer gets nothing
    ring.allowFd(A.fd);
    const half = rawRelay(ring, A.fd, B.fd, jit);
    A.client.socket.write('secret');
    await half.done;
    assert.equal(pairError(half.pair), EBADF);
    assert.deepEqual(moved(half.pair), [0, 0]);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(B.client.received.length, 0, 'nothing reached B');
    // the data JS's own socket gets is JS's: still readable by JS on B
    B.client.socket.write('js');
    assert.equal(await ring.recv(B.fd, Buffer.alloc(8)), 2);
  });

  test(`a closed fd number reused by a new socket: the program reaches the socket it was given, never the new one; its close ends the grant (${name})`, { skip: noEngine }, async (t) => {
    const ring = ringFor(t);
    if (!requireOp(t, ring, 'socket')) return; // bind/listen: the syscalls before 6.11
    const l = await listener(ring);
    t.after(() => closeSync(l.fd));
    const old = await acceptedPair(ring, l);
    const B = await acceptedPair(ring, l);
    t.after(() => closeSync(B.fd));
    ring.allowFd(old.fd);
    ring.allowFd(B.fd);
    const number = old.fd;
    const freshClient = await Client.connect(l.port); // its fd exists before the number is freed
    closeSync(old.fd); // JS closes its fd: the engine's dup keeps the allowed socket
    const fresh = { fd: (await ring.accept(l.fd)).fd as number, client: freshClient }; // the lowest free number: the one just closed
    t.after(() => closeSync(fresh.fd));
    if (fresh.fd !== number) {
      t.skip(`the new socket got fd ${fresh.fd}, not the reused ${number} (another fd was opened in between)`);
      return;
    }
    const r = rawRelay(ring, number, B.fd, jit);
    fresh.client.socket.write('from-the-new-socket');
    old.client.socket.write('from-the-allowed-one');
    await B.client.until(20);
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(B.client.received.toString(), 'from-the-allowed-one', 'only the socket JS allowed is relayed');
    assert.equal(await ring.recv(fresh.fd, Buffer.alloc(64)), 19, 'the new socket\'s data is untouched, JS\'s to read');
    old.client.socket.end();
    B.client.socket.end();
    await r.done;
    assert.equal(pairError(r.pair), 0, 'a clean end');
    // the program closed its dups: neither number reaches anything for programs any more
    assert.equal(ring.checkProgramSqe(sqe(SEND, number)).res, EBADF);
    assert.equal(ring.checkProgramSqe(sqe(SEND, B.fd)).res, EBADF);
    await eventually(() => old.client.ended, 2000, 'the half-close to reach the old peer');
  });
}

const nowhere0 = () => 0x10000n; // an address in no region

test('socket SQEs a program may not submit: slots not allowed, buffer select, addresses, bundles, zero-copy, msg ops, socket(), memory outside regions', { skip: noEngine }, async (t) => {
  const ring = ringFor(t);
  const ps = await pairs(t, ring, 1);
  if (!ps) return;
  const [A] = ps as [{ fd: number; client: Client }];
  t.after(() => closeSync(A.fd));
  const buf = ring.registerRegion(256);
  const ro = ring.registerRegion(256, { writable: false });
  const at = BigInt(buf.address);
  ring.allowFd(A.fd);
  assert.equal(ring.checkProgramSqe(sqe(SEND, A.fd, { addr: at, len: 16 })).res, 0, 'a plain send on an allowed fd passes');
  assert.equal(ring.checkProgramSqe(sqe(RECV, A.fd, { addr: at, len: 16 })).res, 0, 'a plain recv too');
  // the registered file table: only slots JS allowed
  ring.files.register([A.fd, A.fd]);
  assert.equal(ring.checkProgramSqe(sqe(SEND, 0, { flags: 1, addr: at, len: 16 })).res, EBADF, 'slot 0 not allowed');
  ring.allowFd(fixed(0));
  assert.equal(ring.checkProgramSqe(sqe(SEND, 0, { flags: 1, addr: at, len: 16 })).res, 0, 'slot 0 allowed');
  assert.equal(ring.checkProgramSqe(sqe(SEND, 1, { flags: 1, addr: at, len: 16 })).res, EBADF, 'slot 1 still not');
  assert.equal(ring.checkProgramSqe(sqe(13, 1, { flags: 1, opFlags: 0o2000000 })).res, EBADF, 'accept on a slot not allowed');
  // shapes refused whatever the fd
  assert.equal(ring.checkProgramSqe(sqe(RECV, A.fd, { flags: 32, len: 16 })).res, -13, 'IOSQE_BUFFER_SELECT on RECV: group 0 was not granted (ring.allowBufferGroup; test/security/program-groups.test.ts)');
  assert.equal(ring.checkProgramSqe(sqe(SEND, A.fd, { flags: 32, len: 16 })).res, EINVAL, 'IOSQE_BUFFER_SELECT on SEND: never (the kernel would send a buffer the program does not hold)');
  // multishot recv passes the policy (its memory checked as any recv's); the kernel itself refuses it
  // without IOSQE_BUFFER_SELECT (test/program-multishot.test.ts runs both)
  assert.equal(ring.checkProgramSqe(sqe(RECV, A.fd, { ioprio: 2, addr: at, len: 16 })).res, 0, 'multishot recv: the policy leaves it to the kernel');
  assert.equal(ring.checkProgramSqe(sqe(RECV, A.fd, { ioprio: 2, addr: nowhere0(), len: 16 })).res, EFAULT, 'multishot recv into memory outside the regions');
  assert.equal(ring.checkProgramSqe(sqe(RECV, A.fd, { ioprio: 16, addr: at, len: 16 })).res, EINVAL, 'recv bundle (several buffers per CQE)');
  assert.equal(ring.checkProgramSqe(sqe(SEND, A.fd, { off: at, addr: at, len: 16 })).res, EINVAL, 'sendto address');
  assert.equal(ring.checkProgramSqe(sqe(SEND, A.fd, { addr: at, len: 16, opFlags: 0x4000000 })).res, EINVAL, 'MSG_ZEROCOPY');
  assert.equal(ring.checkProgramSqe(sqe(13, A.fd, { addr: at, off: at + 128n })).res, EINVAL, 'accept with a peer address');
  assert.equal(ring.checkProgramSqe(sqe(47, A.fd, { addr: at, len: 16 })).res, EINVAL, 'send_zc');
  assert.equal(ring.checkProgramSqe(sqe(9, A.fd, { addr: at, len: 1 })).res, EINVAL, 'sendmsg');
  assert.equal(ring.checkProgramSqe(sqe(45, 2, { off: 1n })).res, EINVAL, 'socket()');
  // memory: only registered regions, writable where the kernel writes
  const nowhere = 0x10000n; // an address in no region
  assert.equal(ring.checkProgramSqe(sqe(SEND, A.fd, { addr: nowhere, len: 16 })).res, EFAULT, 'send from memory outside the regions');
  assert.equal(ring.checkProgramSqe(sqe(SEND, A.fd, { addr: at + 250n, len: 16 })).res, EFAULT, 'send running past the region');
  assert.equal(ring.checkProgramSqe(sqe(RECV, A.fd, { addr: BigInt(ro.address), len: 16 })).res, EFAULT, 'recv into a read-only region');
});
