/** Kernel feature probes (src/ring/kernel-probe.ts): every dated flag of the opcode table is asked
 *  of the running kernel, and the answer agrees with what a real Ring request with that flag does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { RingError } from '../src/index.js';
import { OPS } from '../src/ops/table.js';
import { buildSqe } from '../src/ops/build.js';
import { probeOpFlags, opFlagSupported } from '../src/ring/kernel-probe.js';
import { ringFor } from './helpers.js';

test('every dated flag is answered true, false or "cannot ask" with a reason; flags with a probe are answered', () => {
  const all = probeOpFlags();
  const dated = OPS.flatMap((o) => Object.keys(o.flagSince ?? {}).map((f) => `${o.name}.${f}`));
  assert.deepEqual(all.map((p) => `${p.op}.${p.flag}`), dated);
  for (const p of all) {
    const d = OPS.find((o) => o.name === p.op)!.flagSince![p.flag]!;
    assert.match(p.since, /^\d+\.\d+$/);
    if (d.probe) assert.equal(typeof p.supported, 'boolean', `${p.op}.${p.flag} has a probe, so the kernel is asked (${p.why ?? ''})`);
    else assert.equal(p.supported, null, `${p.op}.${p.flag}: ${d.noProbe}`);
    if (p.supported !== true) assert.ok(p.why, `${p.op}.${p.flag} says why`);
    assert.equal(opFlagSupported(OPS.find((o) => o.name === p.op)!, p.flag), p.supported, 'the cached answer is the same');
  }
});

test('the probe agrees with a real ring: a flag it finds works, a flag it lacks is refused with a hint naming it', async (t) => {
  const ring = ringFor(t);
  for (const op of OPS)
    for (const [flag, d] of Object.entries(op.flagSince ?? {})) {
      if (!d.probe || !ring.supports(op.name)) continue;
      const sqe = buildSqe(op, d.probe.args);
      // (a probe posts one CQE: timeout MULTISHOT's probe fires once, its count 1)
      sqe.multishot = false;
      if (d.probe.set?.fd !== undefined) sqe.fd = d.probe.set.fd;
      if (d.probe.set?.len !== undefined) sqe.len = d.probe.set.len;
      const fd = d.probe.file !== undefined ? openSync(d.probe.file, 'r+') : -1;
      if (fd >= 0) sqe.fd = fd;
      const on = d.probe.ring ? ringFor(t, { entries: 2, ...d.probe.ring }) : ring; // nop's CQE32: a CQE32 ring
      const got = await on.run(sqe).then((v) => ({ ok: v }), (e: unknown) => ({ err: e }));
      if (fd >= 0) closeSync(fd);
      const has = ring.supports(op.name, { flag });
      const refusedCodes = ['EINVAL', 'EOPNOTSUPP'];
      if (has) {
        if ('err' in got) assert.ok(got.err instanceof RingError && !refusedCodes.includes(got.err.code) && !/lacks/.test(got.err.hint ?? ''), `${op.name}.${flag}: found, so not refused (${String(got.err)})`);
        if (op.name === 'nop' && flag === 'INJECT_RESULT') assert.deepEqual(got, { ok: 7 });
      } else if ('err' in got && got.err instanceof RingError && refusedCodes.includes(got.err.code)) {
        // the hint names every dated flag of the request the kernel lacks (FIXED_FILE's probe sets FILE too)
        assert.match(got.err.hint ?? '', /^this kernel lacks /);
        assert.match(got.err.hint ?? '', new RegExp(`${op.name}'s ${flag} flag \\(Linux ${d.since.replace('.', '\\.')}\\+\\)`));
        assert.match(got.err.hint ?? '', new RegExp(`ring\\.supports\\('${op.name}', \\{ flag: '[A-Z0-9_]+' \\}\\) is false`));
      } else {
        // an old kernel that ignores the flag: the request does not give what the flag promises
        assert.ok(d.probe.expect !== undefined, `${op.name}.${flag}: without an expected res, absent means refused`);
        assert.notDeepEqual(got, { ok: d.probe.expect }, `${op.name}.${flag}: the probe says absent, so the request is not answered as with the flag`);
      }
    }
});

test('ring.supports(op, { flag }): undated flags follow the op; bad queries are TypeError/RangeError naming what is accepted', (t) => {
  const ring = ringFor(t);
  assert.equal(ring.supports('timeout', { flag: 'ABS' }), true, 'ABS is as old as TIMEOUT');
  assert.equal(ring.supports('nop', {}), true, 'no flag: the op alone');
  assert.equal(ring.supports('write', { flag: 'ATOMIC' }), false, 'a flag that cannot be asked on a ringflow ring is not claimed');
  assert.throws(() => ring.supports('nop', { flag: 'NOPE' }), (e: any) => e instanceof RangeError && /INJECT_RESULT/.test(e.message));
  assert.throws(() => ring.supports('nop', { flag: 1 } as any), TypeError);
  assert.throws(() => ring.supports('nop', null as any), TypeError);
  assert.throws(() => ring.supports('nop', { flags: 'INJECT_RESULT' } as any), /takes "flag"/);
  assert.throws(() => ring.supports('noSuchOp', { flag: 'X' }), RangeError);
  assert.equal(ring.supports(0, { flag: 'INJECT_RESULT' }), ring.supports('nop', { flag: 'INJECT_RESULT' }), 'by opcode number too');
  assert.throws(() => (ring.supports as any)('nop', {}, 1), TypeError);
});
