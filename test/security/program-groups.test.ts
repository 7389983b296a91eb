/**
 * Attacks on provided buffers in completion programs (ring.allowBufferGroup; docs/security.md
 * "Provided-buffer groups"): selecting from a group never granted, one taken back, giving back an
 * id programs do not hold (twice, the kernel's, JS's, out of range), reading or sending from a
 * buffer programs do not hold, and taking the group away (revoke, close) while a program request
 * selected from it or still uses one of its buffers. Every case runs under the JIT and the
 * interpreter, with programs written in ringflow's assembler.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { ringFor, requireOp, CPU_TIME_SCALE } from '../helpers.js';
import { ENGINES, noEngine, ringProgram } from './asm-programs.js';
import { makeRegion, sqeBytes, type TestRegion } from './util.js';
import { listener, acceptedPair, Client, eventually } from '../net-programs-util.js';
import { RingError, BufferGroup, BufferStateError, type Ring, type ProvidedBuffer } from '../../src/index.js';
import { Sqe } from '../../src/ops/sqe.js';
import { lend } from '../../src/buffers/provided-buffer.js';
import { opByName } from '../../src/ops/table.js';

const OP = { SEND: 26, RECV: 27 } as const;
const IOSQE = { BUFFER_SELECT: 32, LINK: 4 } as const;
const E = { EPERM: -1, ENOENT: -2, EBUSY: -16, EACCES: -13, EFAULT: -14, EINVAL: -22 } as const;

/** A program that submits the SQE in its region (helper 1000, CQ 1) and a JS side that waits for its CQE. */
class Submit {
  readonly region: TestRegion;
  readonly index: number;
  #ring: Ring;
  #ud = 0x6b00_0000n;
  constructor(ring: Ring, jit: boolean) {
    this.#ring = ring;
    this.region = makeRegion(ring, 128);
    const base = this.region.base;
    this.index = ring.registerProgram(ringProgram([
      'mov %r6, %r1',
      'mov %r1, %r10', 'add %r1, -64', 'mov %r2, 64', `lddw %r3, ${base}`, 'call 148',
      'mov %r1, %r6', 'mov %r2, %r10', 'add %r2, -64', 'mov %r3, 64', 'mov %r4, 1', 'call 1000',
      'stxdw [%r10-72], %r0',
      `lddw %r1, ${base + 64n}`, 'mov %r2, %r10', 'add %r2, -72', 'mov %r3, 8', 'call 167',
      'mov %r0, 0', 'exit',
    ].join('\n'), jit));
  }
  /** Submits; `wait` false: returns once queued (the CQE is read later with cqe()). */
  async submit(sqe: Uint8Array): Promise<bigint> {
    const ud = ++this.#ud;
    this.region.bytes.set(sqe, 0);
    new DataView(this.region.bytes.buffer, this.region.bytes.byteOffset).setBigUint64(32, ud, true);
    assert.equal(await this.#ring.runProgram(this.index), 0);
    return ud;
  }
  async cqe(ud: bigint, ms = 5000): Promise<{ res: number; flags: number }> {
    const end = Date.now() + ms * CPU_TIME_SCALE; // (a loaded TCG guest is 10-40 times slower)
    for (;;) {
      for (const c of this.#ring.cq(1).drain()) if (c.userData === ud) return { res: c.res, flags: c.flags };
      if (Date.now() > end) throw new Error('no CQE');
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  async run(sqe: Uint8Array): Promise<{ res: number; flags: number }> {
    return this.cqe(await this.submit(sqe));
  }
}

/** Programs calling helper 1001 (give back) and 1002 (read 64 bytes) with arguments from a region. */
class BufferCalls {
  readonly region: TestRegion;
  #ret: number;
  #read: number;
  #ring: Ring;
  constructor(ring: Ring, jit: boolean) {
    this.#ring = ring;
    this.region = makeRegion(ring, 128);
    const b = this.region.base;
    const args = ['mov %r6, %r1', 'mov %r1, %r10', 'add %r1, -16', 'mov %r2, 16', `lddw %r3, ${b}`, 'call 148'];
    const out = (at: bigint, from: number, n: number) => [`lddw %r1, ${b + at}`, 'mov %r2, %r10', `add %r2, ${from}`, `mov %r3, ${n}`, 'call 167'];
    this.#ret = ring.registerProgram(ringProgram([
      ...args, 'mov %r1, %r6', 'ldxw %r2, [%r10-16]', 'ldxw %r3, [%r10-12]', 'call 1001', 'stxdw [%r10-88], %r0',
      ...out(16n, -88, 8), 'mov %r0, 0', 'exit',
    ].join('\n'), jit));
    this.#read = ring.registerProgram(ringProgram([
      ...args, 'ldxw %r3, [%r10-16]', 'ldxw %r4, [%r10-12]', 'ldxw %r5, [%r10-8]',
      'mov %r1, %r10', 'add %r1, -80', 'mov %r2, 64', 'call 1002', 'stxdw [%r10-88], %r0',
      ...out(16n, -88, 8), ...out(24n, -80, 64), 'mov %r0, 0', 'exit',
    ].join('\n'), jit));
  }
  #args(group: number, bid: number, offset = 0): void {
    const v = new DataView(this.region.bytes.buffer, this.region.bytes.byteOffset);
    v.setUint32(0, group >>> 0, true);
    v.setUint32(4, bid >>> 0, true);
    v.setUint32(8, offset >>> 0, true);
  }
  #res(): number {
    return Number(new DataView(this.region.bytes.buffer, this.region.bytes.byteOffset).getBigInt64(16, true));
  }
  async giveBack(group: number, bid: number): Promise<number> {
    this.#args(group, bid);
    await this.#ring.runProgram(this.#ret);
    return this.#res();
  }
  async read(group: number, bid: number, offset = 0): Promise<{ res: number; data: Buffer }> {
    this.#args(group, bid, offset);
    this.region.bytes.fill(0xee, 24, 88);
    await this.#ring.runProgram(this.#read);
    return { res: this.#res(), data: Buffer.from(this.region.bytes.subarray(24, 88)) };
  }
}

const recvSelect = (fd: number, group: number, extra: { addr?: bigint; len?: number } = {}) =>
  sqeBytes(OP.RECV, { fd, bufIndex: group, addr: extra.addr ?? 0n, len: extra.len ?? 0 }, IOSQE.BUFFER_SELECT);

interface Setup { ring: Ring; group: BufferGroup; fd: number; client: Client; sub: Submit; calls: BufferCalls }
async function setup(t: TestContext, jit: boolean, options: { count: number; size: number } = { count: 4, size: 256 }): Promise<Setup | undefined> {
  const ring = ringFor(t, { cqs: [64] });
  if (!requireOp(t, ring, 'socket')) return undefined; // bind/listen: the syscalls before 6.11
  const group = ring.bufferGroup({ ...options });
  if (group.kind === 'legacy') {
    t.skip('no ring-mapped buffer groups on this kernel (programs are granted only those)');
    await group.close();
    return undefined;
  }
  const l = await listener(ring);
  t.after(() => closeSync(l.fd));
  const { fd, client } = await acceptedPair(ring, l);
  t.after(() => {
    client.socket.destroy();
    try {
      closeSync(fd);
    } catch {
      // closed by the test
    }
  });
  ring.allowFd(fd);
  return { ring, group, fd, client, sub: new Submit(ring, jit), calls: new BufferCalls(ring, jit) };
}

/** A RECV from the granted group that brings `data`: the buffer id the CQE names. */
async function receive(s: Setup, data: string): Promise<number> {
  const ud = await s.sub.submit(recvSelect(s.fd, s.group.id));
  s.client.socket.write(data);
  const c = await s.sub.cqe(ud);
  assert.equal(c.res, data.length, 'the RECV brought the bytes');
  assert.ok(c.flags & 1, 'its CQE names a buffer (IORING_CQE_F_BUFFER)');
  return c.flags >>> 16;
}

for (const { name, jit } of ENGINES) {
  test(`selecting from a group never granted, another group, or one taken back: -EACCES; sends may not select at all (${name})`, { skip: noEngine }, async (t) => {
    const s = await setup(t, jit);
    if (!s) return;
    const { ring, group, sub, fd } = s;
    assert.equal((await sub.run(recvSelect(fd, group.id))).res, E.EACCES, 'not granted');
    assert.equal(ring.checkProgramSqe(recvSelect(fd, group.id)).res, E.EACCES);
    ring.allowBufferGroup(group);
    assert.equal(ring.checkProgramSqe(recvSelect(fd, group.id)).res, 0, 'granted');
    for (const other of [group.id + 1, 0xffff]) assert.equal((await sub.run(recvSelect(fd, other))).res, E.EACCES, `group ${other}`);
    assert.equal(ring.checkProgramSqe(recvSelect(fd, group.id, { addr: 0x1000n })).res, E.EINVAL, 'with buffer select the kernel ignores addr: it must be 0');
    assert.equal(ring.checkProgramSqe(sqeBytes(OP.SEND, { fd, bufIndex: group.id }, IOSQE.BUFFER_SELECT)).res, E.EINVAL, 'a SEND would send whatever buffer the kernel holds next');
    assert.equal(ring.checkProgramSqe(sqeBytes(OP.RECV, { fd, bufIndex: group.id, addr: 0n, len: 0, ioprio: 2 }, IOSQE.BUFFER_SELECT)).res, 0, 'multishot from a granted group (test/program-multishot.test.ts)');
    assert.equal(ring.checkProgramSqe(sqeBytes(OP.RECV, { fd, bufIndex: group.id + 1, addr: 0n, len: 0, ioprio: 2 }, IOSQE.BUFFER_SELECT)).res, E.EACCES, 'multishot from a group not granted');
    assert.equal(ring.checkProgramSqe(sqeBytes(OP.RECV, { fd, bufIndex: group.id, addr: 0n, len: 0, ioprio: 16 }, IOSQE.BUFFER_SELECT)).res, E.EINVAL, 'no bundles');
    ring.allowBufferGroup(group, false);
    assert.equal((await sub.run(recvSelect(fd, group.id))).res, E.EACCES, 'taken back');
    await group.close();
    assert.equal((await sub.run(recvSelect(fd, group.id))).res, E.EACCES, 'closed');
  });

  test(`giving back: only a buffer programs hold, once; out of range, the kernel's, JS's and other groups' ids are refused (${name})`, { skip: noEngine }, async (t) => {
    const s = await setup(t, jit);
    if (!s) return;
    const { ring, group, calls } = s;
    ring.allowBufferGroup(group);
    const bid = await receive(s, 'hello');
    assert.equal(group.programs.owned, 1);
    // JS cannot take (and so never release) a buffer programs hold
    assert.throws(() => group.take(5, (bid << 16) | 1), (e: unknown) => e instanceof BufferStateError && /completion programs hold/.test(e.message));
    const kernels = (bid + 1) % group.count;
    assert.equal(await calls.giveBack(group.id, kernels), E.EPERM, 'a buffer the kernel holds');
    for (const bad of [group.count, 0xffff, 0x10000, 0xffffffff]) assert.equal(await calls.giveBack(group.id, bad), E.EINVAL, `bid ${bad}`);
    for (const g of [group.id + 1, 0x10000, 0xffffffff]) assert.equal(await calls.giveBack(g, bid), E.ENOENT, `group ${g}`);
    const avail = group.available;
    assert.equal(await calls.giveBack(group.id, bid), 0, 'the holder gives it back');
    assert.equal(group.available, avail + 1);
    assert.equal(await calls.giveBack(group.id, bid), E.EPERM, 'twice');
    assert.equal(group.programs.owned, 0);
    assert.equal(group.programs.returned, 1);
    // a buffer JS holds: programs cannot give it back
    ring.allowBufferGroup(group, false);
    const rq = new Sqe(opByName('recv')!);
    rq.fd = s.fd;
    const got = ring.run(group.select(rq)) as Promise<ProvidedBuffer | null>;
    s.client.socket.write('js');
    const jsBuf = await got;
    assert.ok(jsBuf);
    ring.allowBufferGroup(group);
    assert.equal(await calls.giveBack(group.id, jsBuf.id), E.EPERM, 'JS holds it');
    jsBuf.release();
    // what the program gave back is handed out again, whole
    const again = await receive(s, 'x'.repeat(200));
    assert.equal((await calls.read(group.id, again)).res, 0);
    assert.equal(await calls.giveBack(group.id, again), 0);
    // taking the grant back gives back what programs still hold (they cannot reach the group any more)
    const kept = await receive(s, 'kept');
    assert.equal(group.programs.owned, 1);
    const before = group.available;
    ring.allowBufferGroup(group, false);
    assert.equal(group.programs.owned, 0);
    assert.equal(group.available, before + 1);
    assert.equal(await calls.giveBack(group.id, kept), E.ENOENT, 'no longer granted');
  });

  test(`reading and sending: only from a buffer programs hold, inside it (${name})`, { skip: noEngine }, async (t) => {
    const s = await setup(t, jit);
    if (!s) return;
    const { ring, group, calls, sub, fd } = s;
    ring.allowBufferGroup(group);
    const msg = 'the bytes the kernel put there, for the program';
    const bid = await receive(s, msg);
    const r = await calls.read(group.id, bid);
    assert.equal(r.res, 0);
    assert.equal(r.data.subarray(0, msg.length).toString(), msg);
    const other = (bid + 1) % group.count;
    const denied = await calls.read(group.id, other);
    assert.equal(denied.res, E.EPERM, 'a buffer the kernel holds');
    assert.ok(denied.data.every((x) => x === 0), 'dst zeroed');
    assert.equal((await calls.read(group.id, bid, group.size - 63)).res, E.EFAULT, 'past the end of the buffer');
    assert.equal((await calls.read(group.id, group.count)).res, E.EINVAL);
    assert.equal((await calls.read(group.id + 1, bid)).res, E.ENOENT);
    const at = (b: number, off = 0) => BigInt(group.address + b * group.size + off);
    // SEND straight from the held buffer; not from another, not across its end
    const echoed = s.client.until(msg.length);
    assert.equal((await sub.run(sqeBytes(OP.SEND, { fd, addr: at(bid), len: msg.length }))).res, msg.length);
    await echoed;
    assert.equal(s.client.received.toString(), msg);
    assert.equal((await sub.run(sqeBytes(OP.SEND, { fd, addr: at(other), len: 8 }))).res, E.EFAULT, 'a buffer the kernel holds');
    assert.equal((await sub.run(sqeBytes(OP.SEND, { fd, addr: at(bid, group.size - 4), len: 8 }))).res, E.EFAULT, 'across the end of the held buffer');
    assert.equal((await sub.run(sqeBytes(OP.RECV, { fd, addr: at(other), len: 8 }))).res, E.EFAULT, 'a plain RECV into a buffer the kernel holds');
    assert.equal(await calls.giveBack(group.id, bid), 0);
    assert.equal((await sub.run(sqeBytes(OP.SEND, { fd, addr: at(bid), len: 8 }))).res, E.EFAULT, 'given back: no longer reachable');
    assert.equal((await calls.read(group.id, bid)).res, E.EPERM);
  });

  test(`a buffer JS handed to a send (write(chunk)'s lend): programs can neither give it back, read it nor send from it; it comes home once (${name})`, { skip: noEngine }, async (t) => {
    const s = await setup(t, jit);
    if (!s) return;
    const { ring, group, calls, sub, fd } = s;
    const rq = new Sqe(opByName('recv')!);
    rq.fd = fd;
    const got = ring.run(group.select(rq)) as Promise<ProvidedBuffer | null>;
    s.client.socket.write('lent');
    const chunk = (await got)!;
    const lease = lend(chunk); // what TcpSocket.write(chunk) does while its send runs
    ring.allowBufferGroup(group);
    assert.equal(await calls.giveBack(group.id, chunk.id), E.EPERM, 'lent by JS: not the programs\' to give back');
    assert.equal((await calls.read(group.id, chunk.id)).res, E.EPERM, 'nor to read');
    assert.equal((await sub.run(sqeBytes(OP.SEND, { fd, addr: BigInt(lease.address), len: 4 }))).res, E.EFAULT, 'nor to send from');
    ring.allowBufferGroup(group, false);
    const before = group.available;
    lease.back();
    lease.back(); // a second back() does nothing
    assert.equal(group.outstanding, 0);
    assert.equal(group.available, before + 1, 'home once');
    assert.equal(chunk.released, true);
  });

  test(`the group cannot be taken away under a program request: a RECV selecting from it, a SEND from one of its buffers (${name})`, { skip: noEngine }, async (t) => {
    const s = await setup(t, jit, { count: 1, size: 16 << 20 });
    if (!s) return;
    const { ring, group, calls, sub, fd } = s;
    ring.allowBufferGroup(group);
    // a RECV waiting for data has selected from the group (the kernel picks when data arrives)
    const ud = await sub.submit(recvSelect(fd, group.id));
    assert.throws(() => ring.allowBufferGroup(group, false), (e: unknown) => e instanceof RingError && e.code === 'EBUSY');
    await assert.rejects(group.close(), (e: unknown) => e instanceof RingError && e.code === 'EBUSY');
    assert.equal(group.closed, false);
    s.client.socket.pause();
    s.client.socket.write('go');
    const c = await sub.cqe(ud);
    assert.equal(c.res, 2);
    const bid = c.flags >>> 16;
    // a 16 MiB SEND from the held buffer to a peer that does not read stays in flight: the buffer is pinned
    // MSG_WAITALL: the kernel keeps sending until all of it went (no short send ends it early)
    const sendUd = await sub.submit(sqeBytes(OP.SEND, { fd, addr: BigInt(group.address + bid * group.size), len: group.size, opFlags: 0x100 }));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await calls.giveBack(group.id, bid), E.EBUSY, 'given back while the kernel still sends from it');
    assert.throws(() => ring.allowBufferGroup(group, false), (e: unknown) => e instanceof RingError && e.code === 'EBUSY');
    await assert.rejects(group.close(), (e: unknown) => e instanceof RingError && e.code === 'EBUSY');
    s.client.socket.resume();
    const sent = await sub.cqe(sendUd, 20_000);
    assert.equal(sent.res, group.size);
    assert.equal(await calls.giveBack(group.id, bid), 0, 'the SEND ended: now it goes back');
    await group.close(); // takes the grant back first
    assert.equal(group.programs.granted, false);
    await eventually(() => s.client.bytes >= group.size);
  });
}
