// ISA table: every entry assembles, disassembles and reassembles to identical bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ISA, BY_OPCODE, assemble, disassemble, decodeAll, lookupSpec, verifyProgram, type InsnSpec } from '../../src/programs/index.js';

/** A sample text for a table entry, with non-trivial operands. */
export function sample(s: InsnSpec): string {
  const m = s.mnemonic;
  switch (s.shape) {
    case 'alu-k':
      return `${m} %r3, -7`;
    case 'alu-x':
      return `${m} %r3, %r4`;
    case 'unary':
      return `${m} %r5`;
    case 'lddw':
      return `${m} %r6, 0x8877665544332211`;
    case 'ldx':
      return `${m} %r2, [%r1-12]`;
    case 'st':
      return `${m} [%r10-16], 300`;
    case 'stx':
    case 'atomic':
      return `${m} [%r1+8], %r7`;
    case 'ja':
      return `${m} +0`;
    case 'gotol':
      return `${m} +0`;
    case 'jcc-k':
      return `${m} %r1, -3, +0`;
    case 'jcc-x':
      return `${m} %r1, %r9, +0`;
    case 'call':
      return `${m} 7`;
    case 'call-local':
      return `${m} +0`;
    case 'exit':
      return m;
  }
}

test('the table covers RFC 9669 CPU v4 (157 encodings, unique keys)', () => {
  assert.equal(ISA.length, 157);
  const keys = new Set(ISA.map((s) => `${s.opcode}:${JSON.stringify(s.fixed)}`));
  assert.equal(keys.size, ISA.length);
  for (const s of ISA) assert.equal(s.cls, s.opcode & 7);
  for (const [op, specs] of BY_OPCODE) assert.ok(specs.every((s) => s.opcode === op));
});

for (const spec of ISA) {
  test(`round trip: ${spec.mnemonic} (${spec.shape}, 0x${spec.opcode.toString(16)})`, () => {
    const text = sample(spec);
    const bytes = assemble(text);
    const x = decodeAll(bytes)[0]!;
    assert.equal(x.opcode, spec.opcode);
    const found = lookupSpec(x);
    assert.ok(!('error' in found), JSON.stringify(found));
    assert.equal(found, spec);
    const dis = disassemble(bytes);
    assert.deepEqual(assemble(dis), bytes, `${text} -> ${dis}`);
  });
}

test('every table entry disassembles to its own mnemonic, and whole programs verify', () => {
  // r1 is a stack pointer for the loads and stores; comparisons use r7, a number (the verifier
  // refuses comparing an address but with == 0 / != 0)
  const body = ISA.filter((s) => s.shape !== 'exit' && s.shape !== 'call-local' && s.shape !== 'call').map((s) => (s.shape.startsWith('jcc') ? sample(s).replace('%r1,', '%r7,') : sample(s)));
  const text = ['mov %r0, 0', 'mov %r1, %r10', 'add %r1, -64', 'mov %r2, 0', 'mov %r3, 0', 'mov %r4, 0', 'mov %r5, 0', 'mov %r7, 0', 'mov %r9, 0', ...body, 'mov %r0, 0', 'exit'].join('\n');
  const bytes = assemble(text);
  verifyProgram(bytes, { unreachable: 'note' });
  assert.deepEqual(assemble(disassemble(bytes)), bytes);
});

test('lddw pseudo sources and raw slots round-trip', () => {
  for (const t of ['lddw %r1, map_by_fd(3)', 'lddw %r1, map_by_idx(0)', 'lddw %r1, map_value_by_idx(2)+16', 'lddw %r1, map_value_by_fd(1)+4', 'lddw %r2, code_addr(+5)', '.insn 0xff, 1, 2, -3, 4']) {
    const b = assemble(t);
    assert.deepEqual(assemble(disassemble(b)), b, t);
  }
  assert.equal(disassemble(assemble('lddw %r1, map_value_by_idx(2)+16')), 'lddw %r1, map_value_by_idx(2)+16\n');
});

test('docs/isa.md is generated from the table and up to date', async () => {
  const { isaMarkdown } = await import('../../tools/gen-isa-docs.js');
  const { readFileSync } = await import('node:fs');
  const { join, dirname } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const md = isaMarkdown();
  for (const s of ISA) assert.ok(md.includes(`| 0x${s.opcode.toString(16).padStart(2, '0')} |`));
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'isa.md');
  assert.equal(readFileSync(file, 'utf8'), md, 'run: node dist/tools/gen-isa-docs.js');
});
