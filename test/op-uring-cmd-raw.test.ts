/**
 * The raw uring_cmd and RECV_ZC against the kernel. Targets on this machine that accept a
 * uring_cmd: sockets (SOCKET_URING_OP_*, 6.7: SIOCINQ reads nothing from the area, GETSOCKOPT
 * reads optval from the area's first 8 bytes) and block devices (BLOCK_URING_CMD_DISCARD, 6.12:
 * the length from the area's first 8 bytes), here a loop device over a temp file. NVMe
 * passthrough (/dev/ng*, the one user of the whole 80-byte area) is not available here. zcrx
 * (RECV_ZC) needs a NIC with header split and a queue API driver: registration on loopback is
 * refused, and the test says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, requireOp, tempDir } from './helpers.js';
import { localPort } from './net-helpers.js';
import { boundSocket } from '../src/net/addr.js';
import { op, RingError, RegisterOp, SOL, SO, BLOCK_URING_CMD, type Ring } from '../src/index.js';
import { viewAddress } from '../src/ring/memory.js';
import { NativeBlock } from '../src/buffers/native-memory.js';

/** SOCKET_URING_OP_* (include/uapi/linux/io_uring.h, 6.7). */
const SIOCINQ = 0;
const GETSOCKOPT = 2;

/** Two UDP sockets on 127.0.0.1 with a 7-byte datagram waiting in the first. */
async function datagramWaiting(t: import('node:test').TestContext, ring: Ring): Promise<number> {
  const rx = await boundSocket(ring, 'test', 'dgram', '127.0.0.1', 'ipv4', 0, {});
  t.after(() => closeSync(rx));
  const tx = await ring.socket('ipv4', 'dgram');
  t.after(() => closeSync(tx));
  assert.equal(await ring.send(tx, Buffer.from('payload'), 0, { to: { address: '127.0.0.1', port: localPort(rx) } }), 7);
  return rx;
}

/**
 * Whether the kernel runs socket uring_cmds (SOCKET_URING_OP_*, 6.7): asks SIOCINQ of `fd` and
 * skips the test with the kernel's answer when it is EOPNOTSUPP (a socket without ->uring_cmd).
 */
async function socketCommands(t: import('node:test').TestContext, ring: Ring, fd: number): Promise<boolean> {
  try {
    await ring.uringCmdRaw(fd, SIOCINQ);
    return true;
  } catch (e) {
    if (e instanceof RingError && e.code === 'EOPNOTSUPP') {
      t.skip('this kernel has no socket uring_cmd (SOCKET_URING_OP_*, 6.7): SIOCINQ through uring_cmd is EOPNOTSUPP');
      return false;
    }
    throw e;
  }
}

for (const [name, options] of [['a 64-byte SQE ring', {}], ['an sqe128 + cqe32 ring', { sqe128: true, cqe32: true }]] as const) {
  test(`uringCmdRaw on ${name}: a socket's SIOCINQ through the raw path`, async (t) => {
    const ring = ringFor(t, { entries: 4, ...options });
    if (!requireOp(t, ring, 'uringCmd') || !requireOp(t, ring, 'socket')) return;
    const rx = await datagramWaiting(t, ring);
    if (!(await socketCommands(t, ring, rx))) return;
    assert.equal(await ring.uringCmdRaw(rx, SIOCINQ), 7, 'the next datagram is 7 bytes');
    assert.equal(await ring.run(op.uringCmdRaw(rx, SIOCINQ, new Uint8Array(16).fill(0xff))), 7, 'the socket ignores the area for SIOCINQ');
    if (options.cqe32) assert.deepEqual(await ring.runBig(op.uringCmdRaw(rx, SIOCINQ)), { res: 7, flags: 0, extra1: 0n, extra2: 0n }, 'sockets post no second result');
    assert.equal(await ring.siocinq(rx), 7, 'the socket form agrees');
    await assert.rejects(ring.uringCmdRaw(rx, 0x7fff), (e: unknown) => e instanceof RingError && e.code === 'EOPNOTSUPP', 'an unknown socket command');
    const f = tempDir();
    t.after(f.cleanup);
    writeFileSync(join(f.dir, 'x'), 'x');
    const file = openSync(join(f.dir, 'x'), 'r');
    t.after(() => closeSync(file));
    await assert.rejects(ring.uringCmdRaw(file, 0), (e: unknown) => e instanceof RingError && e.code === 'EOPNOTSUPP', 'a regular file has no ->uring_cmd');
  });
}

test('uringCmdRaw on an sqe128 ring: GETSOCKOPT reads its optval pointer from the command area, with 72 more bytes after it', async (t) => {
  const ring = ringFor(t, { entries: 2, sqe128: true });
  if (!requireOp(t, ring, 'uringCmd') || !requireOp(t, ring, 'socket')) return;
  const rx = await datagramWaiting(t, ring);
  if (!(await socketCommands(t, ring, rx))) return;
  const optval = Buffer.alloc(4, 0xaa);
  // the area: optval's address (sqe->optval, byte 48), then bytes a socket does not read
  const area = Buffer.alloc(80, 0x5a);
  area.writeBigUInt64LE(BigInt(viewAddress(optval)), 0);
  const sqe = op.uringCmdRaw(rx, GETSOCKOPT, area, { addr: (BigInt(SO.TYPE) << 32n) | BigInt(SOL.SOCKET) }).hold(optval.buffer);
  sqe.fileIndex = 4; // sqe->optlen
  assert.equal(sqe.entrySize, 128);
  // several in one submission: each is read from its own 128-byte slot of the 2-entry SQ
  const [a, b, c] = await Promise.all([ring.run(sqe), ring.nop(), ring.uringCmdRaw(rx, SIOCINQ, new Uint8Array(80).fill(1))]);
  assert.deepEqual([a, b, c], [4, 0, 7]);
  assert.equal(optval.readInt32LE(0), 2, 'SO_TYPE is SOCK_DGRAM (2)');
});

/** A loop device over a temp file of `size` bytes of 0xab, or why there is none (root, losetup). */
function loopDevice(t: import('node:test').TestContext, size: number): { dev: string; backing: string } | string {
  if (process.getuid?.() !== 0) return 'loop devices need root';
  const f = tempDir();
  t.after(f.cleanup);
  const backing = join(f.dir, 'img');
  writeFileSync(backing, Buffer.alloc(size, 0xab));
  let dev: string;
  try {
    dev = execFileSync('losetup', ['--find', '--show', backing], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  } catch (e) {
    return `losetup could not attach a loop device: ${(e as Error).message.split('\n')[0]}`;
  }
  t.after(() => execFileSync('losetup', ['--detach', dev]));
  return { dev, backing };
}

test('uringCmdRaw to a block device: BLOCK_URING_CMD_DISCARD (6.12) with its length in the command area, on 64- and 128-byte SQE rings', async (t) => {
  const probe = ringFor(t, { entries: 2 });
  if (!requireOp(t, probe, 'uringCmd')) return;
  const loop = loopDevice(t, 1 << 20);
  if (typeof loop === 'string') return t.skip(loop);
  const fd = openSync(loop.dev, 'r+');
  t.after(() => closeSync(fd));
  const discard = (start: number, length: number) => {
    const area = Buffer.alloc(8);
    area.writeBigUInt64LE(BigInt(length));
    return op.uringCmdRaw(fd, BLOCK_URING_CMD.DISCARD, area, { addr: start });
  };
  let r: number;
  try {
    r = await probe.run(discard(4096, 4096));
  } catch (e) {
    if (e instanceof RingError && (e.code === 'EOPNOTSUPP' || e.code === 'EINVAL')) return t.skip(`this kernel's block devices refuse uring_cmd discard (${e.code}; Linux 6.12+)`);
    throw e;
  }
  assert.equal(r, 0);
  // an sqe128 + cqe32 ring: two discards and a nop in one submission, each from its own 128-byte slot
  const big = ringFor(t, { entries: 4, sqe128: true, cqe32: true });
  const [a, n, b] = await Promise.all([big.runBig(discard(16384, 8192)), big.nop(), big.run(discard(65536, 4096))]);
  assert.deepEqual([a, n, b], [{ res: 0, flags: 0, extra1: 0n, extra2: 0n }, 0, 0]);
  // the kernel read start and length from the right places: exactly those ranges read as zeros now
  const dev = Buffer.alloc(1 << 17);
  assert.equal(readSync(fd, dev, 0, dev.length, 0), dev.length);
  const zeroed = (from: number, to: number) => dev.subarray(from, to).every((x) => x === 0);
  const kept = (from: number, to: number) => dev.subarray(from, to).every((x) => x === 0xab);
  assert.ok(kept(0, 4096) && zeroed(4096, 8192) && kept(8192, 16384) && zeroed(16384, 24576) && kept(24576, 65536) && zeroed(65536, 69632) && kept(69632, 1 << 17));
  const file = readFileSync(loop.backing);
  assert.ok(file.subarray(16384, 24576).every((x) => x === 0), 'the loop driver punched the hole in its backing file');
  // the driver's own checks: len must be 0, the range inside the device and aligned
  const withLen = discard(0, 4096);
  withLen.len = 1;
  await assert.rejects(probe.run(withLen), (e: unknown) => e instanceof RingError && e.code === 'EINVAL', 'sqe->len must be 0');
  await assert.rejects(probe.run(discard(100, 4096)), (e: unknown) => e instanceof RingError && e.code === 'EINVAL', 'an unaligned start');
  await assert.rejects(probe.run(discard(0, 2 << 20)), (e: unknown) => e instanceof RingError && e.code === 'EINVAL', 'past the end of the device');
});

// ------------------------------------------------------------------ zcrx (RECV_ZC)

/** struct io_uring_zcrx_ifq_reg (96 bytes), io_uring_zcrx_area_reg (48), io_uring_region_desc (64): 6.18 uapi. */
function zcrxRegistration(ifIndex: number, area: NativeBlock): { reg: Buffer; keep: Buffer[] } {
  const areaReg = Buffer.alloc(48);
  areaReg.writeBigUInt64LE(BigInt(area.address), 0); // addr (page-aligned user memory)
  areaReg.writeBigUInt64LE(BigInt(area.length), 8); // len
  const region = Buffer.alloc(64);
  region.writeBigUInt64LE(8192n, 8); // size of the refill ring region (the kernel allocates it: flags 0)
  const reg = Buffer.alloc(96);
  reg.writeUInt32LE(ifIndex, 0); // if_idx
  reg.writeUInt32LE(0, 4); // if_rxq
  reg.writeUInt32LE(64, 8); // rq_entries
  reg.writeBigUInt64LE(BigInt(viewAddress(areaReg)), 16); // area_ptr
  reg.writeBigUInt64LE(BigInt(viewAddress(region)), 24); // region_ptr
  return { reg, keep: [areaReg, region] };
}

test('recvZc: the kernel refuses a zcrx interface queue on loopback (and on a ring without 32-byte CQEs), and a RECV_ZC naming no queue', async (t) => {
  let ring: Ring;
  try {
    ring = ringFor(t, { entries: 4, deferTaskrun: true, cqe32: true });
  } catch (e) {
    if (e instanceof RingError && e.code === 'EINVAL') return t.skip('this kernel has no DEFER_TASKRUN + CQE32 ring (Linux 6.1+)');
    throw e;
  }
  if (!requireOp(t, ring, 'recvZc')) return;
  const area = new NativeBlock(1 << 16, 'zcrx area');
  t.after(() => area.release());
  const lo = Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8'));
  // the ring requirements come first: a ring of 16-byte CQEs is refused whatever the interface
  const plain = ringFor(t, { entries: 2, deferTaskrun: true });
  const p = zcrxRegistration(lo, area);
  assert.throws(() => plain.register(RegisterOp.REGISTER_ZCRX_IFQ, p.reg, 1), (e: unknown) => e instanceof RingError && (e.code === 'EINVAL' || e.code === 'EPERM'));
  // a ring that meets them: loopback has no queue API (no parent device, no page-pool memory provider)
  const z = zcrxRegistration(lo, area);
  let refused: RingError | undefined;
  try {
    ring.register(RegisterOp.REGISTER_ZCRX_IFQ, z.reg, 1);
  } catch (e) {
    assert.ok(e instanceof RingError, String(e));
    refused = e;
  }
  assert.ok(refused, 'loopback cannot host a zcrx queue');
  assert.ok(['EOPNOTSUPP', 'EPERM', 'ENODEV', 'EINVAL'].includes(refused.code), `refused with ${refused.code}`);
  t.diagnostic(`IORING_REGISTER_ZCRX_IFQ on lo: ${refused.code} (${refused.message.split('\n')[0]})`);
  // with no queue registered, RECV_ZC's prep finds no zcrx_ifq_idx 0: one CQE, -EINVAL, no F_MORE
  const rx = await boundSocket(ring, 'test', 'stream', '127.0.0.1', 'ipv4', 0, { backlog: 1 });
  t.after(() => closeSync(rx));
  const end = await new Promise<number>((resolve, reject) => {
    ring.runMulti(op.recvZc(rx, 0), { more: () => reject(new Error('no CQE with F_MORE expected')), end: (res) => resolve(res), fail: reject });
  });
  assert.equal(end, -22, 'EINVAL: no such zcrx queue');
  t.skip(`the zero-copy data path needs a NIC with header/data split, flow steering and a queue-API driver (lo refused registration with ${refused.code}); not available on this machine`);
});
