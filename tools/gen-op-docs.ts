/** Writes docs/operations.md from the opcode table (src/ops/table.ts). Run: node dist/tools/gen-op-docs.js */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OPS } from '../src/ops/table.js';

/** Hand-written notes on the socket ops (the table has the parameters). */
const SOCKETS = [
  '## Sockets',
  '',
  'The socket ops take addresses as objects and give them back the same way: `{ family: \'ipv4\' | \'ipv6\', address, port }`',
  '(ipv6 also `flowinfo`, `scopeId`; a numeric zone `fe80::1%3` works), node:net style `{ address, port }` (the family',
  'from the address) or `{ path }` for unix sockets (`{ family: \'unix\', address }` too; a leading `\\0` names the abstract',
  'namespace), or the raw bytes of a struct sockaddr (at most 128). `ring.accept()` resolves `{ fd, address }` (the',
  'peer), `ring.recvmsg()` `{ bytes, address, flags, controlLength }`. Sockets the ring creates or accepts get',
  '`SOCK_CLOEXEC` unless they go into the registered file table (`direct: slot | \'auto\'`, which resolves a `FixedFile`).',
  '',
  '```ts',
  'const l = await ring.socket(\'ipv4\', \'stream\');',
  'await ring.setsockopt(l, SOL.SOCKET, SO.REUSEADDR, 1);',
  'await ring.bind(l, { address: \'127.0.0.1\', port: 8080 });   // BIND and LISTEN are 6.11',
  'await ring.listen(l);',
  'const { fd, address } = await ring.accept(l);',
  'const n = await ring.recv(fd, buf);                           // 0: the peer closed',
  'await ring.send(fd, buf, 0, { length: n });',
  'await ring.shutdown(fd, \'write\');',
  '```',
  '',
  '- A short send or receive is not a failure for io_uring (it does not break a link) unless `MSG_WAITALL` is given;',
  '  SEND and SENDMSG always add `MSG_NOSIGNAL` (a closed peer is `EPIPE`, never SIGPIPE).',
  '- Socket options and queue sizes go through IORING_OP_URING_CMD (6.7): `ring.getsockopt(fd, level, optname)`',
  '  (SOL_SOCKET only on 6.18; an int, or into a buffer: resolves its length), `ring.setsockopt(fd, level, optname,',
  '  value)` (any level), `ring.siocinq(fd)`, `ring.siocoutq(fd)`; or `op.uringCmd(fd, \'getsockopt\', { level, optname,',
  '  optval })`.',
  '- `bufferGroup: id` lets the kernel pick the buffer from a provided-buffer group (pass `null` as the buffer;',
  '  `length` caps it); the buffer id comes in the CQE flags. `multishot` (accept, recv, recvmsg) and `bundle`',
  '  (send, recv) requests post several CQEs: promise methods refuse them; build them with `op.*` and submit them',
  '  with `ring.runMulti(sqe, sink)`, or use the socket layer\'s async iterators (docs/networking.md). `sendZc` /',
  '  `sendmsgZc` post the result, then a notification when the buffer is free again (also after an error): their',
  '  promises settle at the notification, with the bytes sent (`reportUsage`: `{ bytes, copied }`).',
  '- `readFixed` / `writeFixed` / `readvFixed` / `writevFixed` take the registered buffer index and a view inside that',
  '  buffer (the kernel checks the range: `EFAULT` outside). `provideBuffers(buffer, size, count, group, firstId)` lends',
  '  memory to the kernel beyond the request: ringflow keeps it reachable until `releaseProvidedBuffers(group)`.',
  '- Completion programs may submit `send`, `recv`, `accept`, `connect` and `shutdown` on fds they were given or',
  '  accepted (an accepted fd becomes theirs); not sendto addresses, accept\'s peer address, buffer selection,',
  '  multishot, zero-copy, `socket`/`bind`/`listen` or `sendmsg`/`recvmsg`.',
];

export function renderOpDocs(): string {
  const lines = [
    '# Operations',
    '',
    'Generated from `src/ops/table.ts` by `tools/gen-op-docs.ts`; do not edit by hand.',
    'Every io_uring opcode of Linux 6.18. Builders (`op.<name>(…)` → `Sqe`) and promise methods',
    '(`ring.<name>(…)`; `ring.closeFd` for close) exist for the rows with parameters, except linkTimeout, which only',
    'makes sense inside `ring.chain()`. The zero-copy sends post two CQEs: their promises settle at the notification.',
    'Multishot and bundle forms go through `ring.runMulti()` (docs/networking.md). `ring.supports(name)` asks the running kernel.',
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
  lines.push('', ...SOCKETS, '', '## Parameters', '');
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
