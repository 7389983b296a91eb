/**
 * The opcode catalogue: one entry per io_uring opcode of Linux 6.18 (values from the running
 * kernel's BTF, `enum io_uring_op`). An entry with `params` has a builder; the builders
 * (src/ops/build.ts), the Ring's promise methods, the docs table (tools/gen-op-docs.ts) and the
 * golden-byte tests (test/sqe-golden.test.ts) are all derived from this table. The entries live in
 * one file per group (ops-core, ops-files, ops-net, ops-buffers; their shape in desc.ts).
 */
import type { OpDesc } from './desc.js';
import { ZERO, IGNORED } from './sqe-fields.js';
import { CORE_OPS } from './ops-core.js';
import { FILE_OPS } from './ops-files.js';
import { PATH_OPS } from './ops-paths.js';
import { NET_OPS } from './ops-net.js';
import { BUFFER_OPS } from './ops-buffers.js';

export type { SqeField, ParamKind, ParamDesc, FlagSince, OpDesc } from './desc.js';

/** All io_uring opcodes of Linux 6.18, in opcode order. */
export const OPS: readonly OpDesc[] = [...CORE_OPS, ...FILE_OPS, ...PATH_OPS, ...NET_OPS, ...BUFFER_OPS].sort((a, b) => a.code - b.code);

/** IORING_OP_LAST on 6.18. */
export const OP_LAST = 63;

const byName = new Map(OPS.map((o) => [o.name, o]));
const byCode = new Map(OPS.map((o) => [o.code, o]));

/** Looks up an op by name ('read') or IORING_OP constant ('READ'). */
export function opByName(name: string): OpDesc | undefined {
  return byName.get(name) ?? OPS.find((o) => o.constant === name);
}
export function opByCode(code: number): OpDesc | undefined {
  return byCode.get(code);
}

/**
 * ringflow's program request (IORING_OP_BPF = 0xA0, docs/completion-programs.md) as a program
 * submits it: the engine runs it, the kernel never sees it (a linked one becomes a NOP).
 */
export const PROGRAM_REQUEST: Pick<OpDesc, 'name' | 'code' | 'constant' | 'sqe' | 'program'> = {
  name: 'program', code: 0xa0, constant: 'BPF',
  sqe: {
    source: 'ringflow engine (native/engine.c prepare_one)',
    fields: {
      ioprio: ZERO, fd: IGNORED, off: { use: 'program' }, addr: ZERO, len: ZERO, opFlags: ZERO, bufIndex: ZERO,
      personality: ZERO, fileIndex: ZERO, addr3: ZERO, attrTypeMask: ZERO,
    },
  },
  program: { tolerate: ['fd'] },
};

// every opcode of 6.18 exactly once: a group file that loses or repeats one fails at load
for (let i = 0; i < OP_LAST; i++)
  if (OPS[i]?.code !== i) throw new Error(`opcode table: opcode ${i} is ${OPS[i] ? `followed by ${OPS[i].code}` : 'missing'} (src/ops/ops-*.ts)`);
