/** Writes docs/operations.md from the opcode table (src/ops/table.ts). Run: node dist/tools/gen-op-docs.js */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OPS } from '../src/ops/table.js';

export function renderOpDocs(): string {
  const lines = [
    '# Operations',
    '',
    'Generated from `src/ops/table.ts` by `tools/gen-op-docs.ts`; do not edit by hand.',
    'Every io_uring opcode of Linux 6.18. Builders (`op.<name>(…)` → `Sqe`) and promise methods',
    '(`ring.<name>(…)`; `ring.closeFd` for close) exist for the rows with parameters, except linkTimeout, which only',
    'makes sense inside `ring.chain()`. `ring.supports(name)` asks the running kernel.',
    '',
    '| # | name | IORING_OP_ | since | liburing | parameters | result | description |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const o of OPS) {
    const params = o.params
      ? o.params
          .filter((p) => p.name !== 'out')
          .map((p) => (p.positional ? (p.optional ? `[${p.name}]` : p.name) : `{${p.name}}`))
          .join(', ')
      : '— (not yet)';
    lines.push(`| ${o.code} | \`${o.name}\` | ${o.constant} | ${o.since} | ${o.liburing ?? ''} | ${params} | ${o.result ?? ''} | ${o.doc.replace(/\|/g, '\\|')} |`);
  }
  lines.push(
    '',
    '## Op flags newer than the op',
    '',
    'Flags (of the op-flags word) that arrived after Linux 5.19, from the table\'s `flagSince`. `ring.supports(op, { flag })`',
    'asks the running kernel with the probe request each declares; `ringflow info` lists the answers. A request',
    'using a flag the kernel lacks fails with EINVAL (EOPNOTSUPP for RWF_*), and its hint names the flag.',
    '',
    '| op | flag | since | how it is probed |',
    '|---|---|---|---|',
  );
  for (const o of OPS)
    for (const [flag, d] of Object.entries(o.flagSince ?? {}))
      lines.push(`| \`${o.name}\` | ${flag} | ${d.since} | ${d.probe ? `a request with it${d.probe.file ? ` on ${d.probe.file}` : ''}${d.probe.expect !== undefined ? ` gets res ${d.probe.expect}` : ` is not refused (res ${d.probe.refused})`}` : `not probed: ${d.noProbe}`} |`);
  lines.push('', '## Parameters', '');
  for (const o of OPS.filter((x) => x.params)) {
    lines.push(`### ${o.name}`, '', o.doc, '');
    for (const p of o.params!) if (p.name !== 'out') lines.push(`- \`${p.name}\` (${p.kind} → sqe.${p.field}${p.default !== undefined ? `, default ${p.default}` : ''}): ${p.doc}`);
    lines.push('');
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = fileURLToPath(new URL('../../docs/operations.md', import.meta.url));
  writeFileSync(out, renderOpDocs());
  console.log(`wrote ${out}`);
}
