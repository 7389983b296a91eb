/**
 * The socket ops' kernel declarations (src/ops/ops-net.ts `sqe`) asked of the running kernel:
 * every ioprio modifier bit not declared is refused (-EINVAL), every field declared "must be 0"
 * is refused when it is not, and the declared submit-time pointers fault on a bad address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { ringFor, requireOp } from './helpers.js';
import { localPort } from './net-helpers.js';
import { Sqe, RingError, opByName, type Ring } from '../src/index.js';
import { SLOT_NAMES, SQE_SLOTS, allBits, type SqeSlot } from '../src/ops/sqe-fields.js';
import { viewAddress } from '../src/ring/memory.js';

type Fields = Partial<Record<SqeSlot, number | bigint>>;

/** Submits a raw SQE of `name`'s opcode; resolves res (or -errno). */
async function raw(ring: Ring, name: string, f: Fields): Promise<number> {
  const d = opByName(name)!;
  const s = new Sqe({ name: 'probe', code: d.code, constant: 'PROBE', since: '', result: 'number', doc: '' });
  for (const [k, v] of Object.entries(f) as [SqeSlot, number | bigint][]) {
    if (k === 'off') s.setOff(v);
    else if (k === 'addr') s.setAddr(v);
    else if (k === 'addr3') s.setAddr3(v);
    else (s as unknown as Record<string, number>)[k] = Number(BigInt.asUintN(SQE_SLOTS[k].width * 8, BigInt(v)));
  }
  try {
    const r = await ring.run(s);
    return typeof r === 'number' ? r : 0;
  } catch (e) {
    if (e instanceof RingError) return -e.errno;
    throw e;
  }
}

test('socket ops: undeclared ioprio bits and non-zero "zero" fields are refused by 6.18; declared submit-time pointers fault', async (t) => {
  const ring = ringFor(t);
  if (!requireOp(t, ring, 'bind') || !requireOp(t, ring, 'listen')) return;
  const l = await ring.socket('ipv4', 'stream');
  t.after(() => closeSync(l));
  await ring.bind(l, { address: '127.0.0.1', port: 0 });
  await ring.listen(l);
  const c = await ring.socket('ipv4', 'stream');
  t.after(() => closeSync(c));
  const [a] = await Promise.all([ring.accept(l), ring.connect(c, { address: '127.0.0.1', port: localPort(l) })]);
  t.after(() => closeSync(a.fd));
  const buf = Buffer.alloc(8);
  const sin = Buffer.alloc(16);
  sin.writeUInt16LE(2, 0);
  const A = (b: Buffer) => BigInt(viewAddress(b));
  // valid base SQEs that complete at once (sends of 1 byte; recv with MSG_DONTWAIT: -EAGAIN)
  const cases: { name: string; base: Fields; ok: (res: number) => boolean }[] = [
    { name: 'send', base: { fd: c, addr: A(buf), len: 1 }, ok: (r) => r === 1 },
    { name: 'recv', base: { fd: c, addr: A(buf), len: 8, opFlags: 0x40 }, ok: (r) => r === -11 },
    { name: 'accept', base: { fd: l, opFlags: 0o4000, ioprio: 2 /* DONTWAIT */ }, ok: (r) => r === -11 },
    { name: 'shutdown', base: { fd: a.fd, len: 0 }, ok: (r) => r === 0 },
    { name: 'listen', base: { fd: l, len: 8 }, ok: (r) => r === 0 },
  ];
  let probes = 0;
  for (const k of cases) {
    const use = opByName(k.name)!.sqe!;
    const base = await raw(ring, k.name, k.base);
    assert.ok(k.ok(base), `${k.name}: the base SQE is valid (${base})`);
    const io = use.fields.ioprio;
    if (io.use === 'flags') {
      const known = allBits(io.bits);
      for (let b = 0; b < 16; b++) {
        if (known & (1 << b)) continue;
        const res = await raw(ring, k.name, { ...k.base, ioprio: Number(k.base.ioprio ?? 0) | (1 << b) });
        assert.equal(res, -22, `${k.name}: undeclared ioprio bit ${b} → ${res}`);
        probes++;
      }
    }
    for (const slot of SLOT_NAMES) {
      if (use.fields[slot].use !== 'zero' || slot === 'attrTypeMask') continue;
      const res = await raw(ring, k.name, { ...k.base, [slot]: 1 });
      assert.equal(res, -22, `${k.name}: ${slot} is declared must-be-0; the kernel should refuse 1, got ${res}`);
      probes++;
    }
  }
  // connect's and sendto's addresses are read at prep: a bad pointer faults
  assert.equal(await raw(ring, 'connect', { fd: c, addr: 0x10n, off: 16 }), -14);
  assert.equal(await raw(ring, 'send', { fd: c, addr: A(buf), len: 1, off: 0x10n, fileIndex: 16 }), -14);
  assert.equal(await raw(ring, 'send', { fd: c, addr: A(buf), len: 1, off: A(sin), fileIndex: 129 }), -22, 'an address longer than sockaddr_storage');
  t.diagnostic(`${probes} probes of undeclared bits and must-be-0 fields`);
});
