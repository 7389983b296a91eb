/** Struct sizes, the opcode table's integrity and ABI values. No kernel needed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPS, opByName, opByCode, SetupFlags, SqeFlags } from '../src/index.js';
import { SQE_SIZE, CQE_SIZE, PARAMS_SIZE, Sqe as SqeOff, Params, Statx } from '../src/ring/abi.js';
import { OP_LAST } from '../src/ops/table.js';

test('struct sizes are pinned (SQE 64, CQE 16, params 120, statx 256)', () => {
  assert.equal(SQE_SIZE, 64);
  assert.equal(CQE_SIZE, 16);
  assert.equal(PARAMS_SIZE, 120);
  assert.equal(Statx.size, 256);
  assert.equal(Params.sq_off, 40);
  assert.equal(Params.cq_off, 80);
  assert.equal(SqeOff.user_data, 32);
  assert.equal(SqeOff.cq_idx, 48, 'the 2021 BPF prototype puts cq_idx at byte 48');
});

test('opcode table: every 6.18 opcode once, numbered 0..62 in order, unique names', () => {
  assert.equal(OPS.length, OP_LAST);
  OPS.forEach((o, i) => assert.equal(o.code, i, `${o.name} should be opcode ${i}`));
  assert.equal(new Set(OPS.map((o) => o.name)).size, OPS.length);
  assert.equal(new Set(OPS.map((o) => o.constant)).size, OPS.length);
  for (const o of OPS) {
    assert.match(o.since, /^\d+\.\d+$/, `${o.name} has a kernel version`);
    assert.ok(o.doc.length > 0, `${o.name} is documented`);
  }
});

test('opcode table: spot values from the 6.18 BTF', () => {
  const expect: Record<string, number> = {
    NOP: 0, READV: 1, TIMEOUT: 11, ASYNC_CANCEL: 14, LINK_TIMEOUT: 15, OPENAT: 18, CLOSE: 19, STATX: 21,
    READ: 22, WRITE: 23, MSG_RING: 40, SEND_ZC: 47, READ_MULTISHOT: 49, FIXED_FD_INSTALL: 54, RECV_ZC: 58, PIPE: 62,
  };
  for (const [c, v] of Object.entries(expect)) assert.equal(opByName(c)?.code, v, c);
  assert.equal(opByCode(22)?.name, 'read');
  assert.equal(opByName('nope'), undefined);
});

test('first operations have builders', () => {
  for (const n of ['nop', 'read', 'write', 'readv', 'writev', 'fsync', 'openat', 'close', 'statx', 'timeout', 'asyncCancel', 'linkTimeout', 'timeoutRemove'])
    assert.ok(opByName(n)?.params, `${n} has a builder`);
});

test('flag values', () => {
  assert.equal(SetupFlags.DEFER_TASKRUN, 1 << 13);
  assert.equal(SetupFlags.NO_SQARRAY, 1 << 16);
  assert.equal(SetupFlags.CQE_MIXED, 1 << 18);
  assert.equal(SqeFlags.CQE_SKIP_SUCCESS, 0x40);
});

test('docs/operations.md is generated from the table and up to date', async () => {
  const { renderOpDocs } = await import('../tools/gen-op-docs.js');
  const { readFileSync } = await import('node:fs');
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  assert.equal(doc, renderOpDocs(), 'run: node dist/tools/gen-op-docs.js');
});
