// The native side of the program policy (native/policy.c): it re-validates the serialised form
// src/ops/policy.ts produces before interpreting it; malformed forms are refused and random
// mutations never crash it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SLOT_NAMES } from '../../src/ops/sqe-fields.js';
import { programPolicy, Rule, Size, NO_SLOT } from '../../src/ops/policy.js';
import { binding } from '../../src/native.js';
import { noEngine } from '../ring-programs-util.js';

const skip = noEngine; // assembler programs only: no clang needed

test('native re-validates the serialised policy: malformed forms are refused, mutations never crash', { skip }, () => {
  const good = programPolicy().bytes;
  assert.equal(binding.policyValidate(good), 0);
  const p = programPolicy().policy;
  const opsAt = 80 + ((SLOT_NAMES.length * 2 + 7) & ~7);
  const rulesAt = opsAt + p.ops.length * 16;
  const memsAt = rulesAt + p.rules.length * 24;
  const bad = (what: string, f: (b: Uint8Array, v: DataView) => void | Uint8Array) => {
    const b = good.slice();
    const out = f(b, new DataView(b.buffer)) ?? b;
    assert.equal(binding.policyValidate(out), -22, what);
  };
  bad('truncated', (b) => b.subarray(0, b.length - 1));
  bad('longer than it says', (b) => { const c = new Uint8Array(b.length + 8); c.set(b); return c; });
  bad('magic', (_b, v) => v.setUint32(0, 0x12345678, true));
  bad('version', (_b, v) => v.setUint16(4, 1, true));
  bad('no slots', (_b, v) => v.setUint16(12, 0, true));
  bad('a slot over user_data', (b) => { b[80] = 30; b[81] = 4; });
  bad('a slot of width 3', (b) => { b[81] = 3; });
  bad('a slot past byte 64', (b) => { b[80 + 2 * 10] = 60; });
  bad('an op whose rules run past the table', (_b, v) => v.setUint16(opsAt + 6, 0xffff, true));
  bad('an unknown action', (b) => { b[opsAt + 2] = 7; });
  bad('an unknown rule kind', (b) => { b[rulesAt] = 99; });
  const multi = p.ops.findIndex((o) => o.multiSlot !== NO_SLOT);
  const single = p.ops.findIndex((o) => o.multiSlot === NO_SLOT);
  assert.ok(multi >= 0, 'an op with multishot bits (recv, accept)');
  bad('multishot bits in no slot', (_b, v) => v.setUint16(opsAt + single * 16 + 14, 2, true));
  bad('a multishot slot past the slot table', (b) => { b[opsAt + multi * 16 + 12] = SLOT_NAMES.length + 3; });
  bad('multishot bits in the IOSQE byte (a condition slot, not a field)', (b) => { b[opsAt + multi * 16 + 12] = SLOT_NAMES.length; });
  bad('a multishot slot with no bits', (_b, v) => v.setUint16(opsAt + multi * 16 + 14, 0, true));
  const memRule = p.rules.findIndex((r) => r.kind === Rule.MEM && r.slot !== NO_SLOT);
  const fdRule = p.rules.findIndex((r) => r.kind === Rule.FD);
  bad('a pointer rule naming no memory', (_b, v) => v.setBigUint64(rulesAt + memRule * 24 + 16, 999n, true));
  bad('an fd rule on an 8-byte slot', (b) => { b[rulesAt + fdRule * 24 + 1] = SLOT_NAMES.indexOf('off'); });
  const submitSlot = p.mems.findIndex((m) => m.when === 0 && m.sizeKind === Size.SLOT);
  bad('unbounded submit-time memory', (_b, v) => v.setUint32(memsAt + submitSlot * 32 + 16, 0, true));
  const path = p.mems.findIndex((m) => m.sizeKind === Size.CSTRING);
  bad('a path longer than PATH_MAX', (_b, v) => v.setUint32(memsAt + path * 32 + 8, 5000, true));
  const nested = p.mems.findIndex((m) => m.when === 1 && m.sizeKind === Size.FIELD);
  bad('memory inside a copy used at submission (never copied)', (b) => { b[memsAt + nested * 32 + 1] = 0; });
  bad('a pointer in the SQE sized by a field of an element', (_b, v) => v.setBigUint64(rulesAt + memRule * 24 + 16, BigInt(nested), true));
  bad('a duplicate opcode', (b) => { b[opsAt + 16] = b[opsAt]!; });
  const how = p.ops.findIndex((o) => o.howMem !== 0xffff);
  bad('an open action whose open_how is none of its pointers', (_b, v) => v.setUint16(opsAt + how * 16 + 8, 0, true));
  // random mutations: refused or accepted, never a crash
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const b = good.slice();
    for (let k = 0; k < 1 + (i % 4); k++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
    const r = binding.policyValidate(b);
    assert.ok(r === 0 || r === -22);
    if (r === 0) accepted++;
  }
  assert.ok(accepted < 3000);
});

