/**
 * Socket opcodes: socket, bind, listen, accept, connect, send/recv (and msg, zero-copy), shutdown,
 * uring_cmd (socket commands).
 *
 * Kernel facts (Linux 6.18): io_uring/net.c (io_shutdown_prep, io_sendmsg_prep + io_send_setup,
 * io_recvmsg_prep, io_accept_prep, io_socket_prep, io_connect_prep, io_bind_prep, io_listen_prep,
 * io_send_zc_prep), io_uring/uring_cmd.c io_uring_cmd_prep (6.18.y, RSBAC/rsbac-6.18.y) and
 * io_uring/cmd_net.c io_uring_cmd_sock (6.18-era raspberrypi/linux @46d03bd2); io_init_req reads
 * buf_group for IOSQE_BUFFER_SELECT and the personality for every op. The ioprio flag spaces and
 * the fields the preps refuse were probed on 6.18.44 (test/op-socket-sqe.test.ts).
 *
 * Programs (completion programs, docs/completion-programs.md) may submit send, recv, accept,
 * connect and shutdown on fds they were given (ring.allowFd) or accepted themselves (accept's fd
 * becomes theirs, as an openat's does); recv may select its buffer from a group JS granted
 * (ring.allowBufferGroup; the buffer is the program's from the CQE on, src/buffers/program-groups.ts).
 * Multishot recv (buffer selection only) and multishot accept are open to programs: each CQE holds
 * a buffer or an fd that only the program can let go of, so the CQEs the engine parks while their
 * CQ is full are bounded by the group and RLIMIT_NOFILE (docs/completion-programs.md). Not: socket and bind (ambient network authority: no fd
 * names what they reach), listen (set up by JS), sendmsg/recvmsg (the msghdr's iovec array is a
 * second level of memory read at submission, which the policy model cannot copy), send_zc (its
 * notification CQE), bundles, buffer selection for sends (the kernel would
 * send whatever buffer of the group it holds next, not one the program owns), sendto addresses and accept's peer address (pointers sized by memory, not by the SQE).
 */
import { IOSQE, type SqeUse, type FieldUse, ZERO, IGNORED, scalar, flags, when, mem, allBits, bufGroup } from './sqe-fields.js';
import { type OpDesc, type ParamDesc, fd, UNUSED } from './desc.js';
import { MSG, SOCK, RECVSEND, ACCEPT, SHUT, SOCKET_URING_OP, SOCKADDR_STORAGE, MSGHDR_SIZE } from './net-abi.js';

// ------------------------------------------------------------------ flag spaces

/** MSG_* bits userspace may pass (the socket layer ignores unknown ones; none is refused). */
const { CMSG_COMPAT: _compat, ...MSG_FLAGS } = MSG; // MSG_CMSG_COMPAT is the kernel's own
/** ioprio of SEND (io_uring/net.c SENDMSG_FLAGS, 6.18). */
const SEND_IOPRIO = { POLL_FIRST: RECVSEND.POLL_FIRST, BUNDLE: RECVSEND.BUNDLE, SEND_VECTORIZED: RECVSEND.SEND_VECTORIZED } as const;
/** ioprio of RECV (RECVMSG_FLAGS). */
const RECV_IOPRIO = { POLL_FIRST: RECVSEND.POLL_FIRST, RECV_MULTISHOT: RECVSEND.RECV_MULTISHOT, BUNDLE: RECVSEND.BUNDLE } as const;
/** ioprio of SEND_ZC / SENDMSG_ZC (IO_ZC_FLAGS_VALID). */
const ZC_IOPRIO = { POLL_FIRST: RECVSEND.POLL_FIRST, FIXED_BUF: RECVSEND.FIXED_BUF, SEND_ZC_REPORT_USAGE: RECVSEND.SEND_ZC_REPORT_USAGE, SEND_VECTORIZED: RECVSEND.SEND_VECTORIZED } as const;
/** accept4(2) flags (io_accept_prep accepts these two). */
const ACCEPT_FLAGS = { NONBLOCK: SOCK.NONBLOCK, CLOEXEC: SOCK.CLOEXEC } as const;
/** IORING_URING_CMD_* (uring_cmd_flags, 6.18.y header). */
const URING_CMD_FLAGS = { FIXED: 1, MULTISHOT: 2 } as const;

/** MSG_* bits a program may use: plain sends and receives (no MSG_ZEROCOPY, errqueue, splice or fastopen). */
const PROGRAM_SEND_MSG = MSG.DONTWAIT | MSG.WAITALL | MSG.NOSIGNAL | MSG.MORE | MSG.EOR | MSG.OOB | MSG.CONFIRM | MSG.DONTROUTE;
const PROGRAM_RECV_MSG = MSG.DONTWAIT | MSG.WAITALL | MSG.PEEK | MSG.TRUNC | MSG.OOB;

// ------------------------------------------------------------------ shared declarations

/** buf_index under IOSQE_BUFFER_SELECT: the provided-buffer group (io_init_req) the kernel fills a
 *  buffer of (receives) or sends one of (sends); otherwise unused. */
const RECV_GROUP: FieldUse = bufGroup('write', IGNORED);
const SEND_GROUP: FieldUse = bufGroup('read', IGNORED);
/** A struct sockaddr read while the request is prepared (move_addr_to_kernel: at most 128 bytes, else -EINVAL). */
const sockaddrIn = (lengthSlot: 'off' | 'fileIndex'): FieldUse => mem({ what: 'struct sockaddr', access: 'read', when: 'submit', size: { slot: lengthSlot, times: 1, max: SOCKADDR_STORAGE } });
const sendBuffer: FieldUse = mem({ what: 'buffer', access: 'read', when: 'complete', size: { slot: 'len', times: 1 } });
const recvBuffer: FieldUse = mem({ what: 'buffer', access: 'write', when: 'complete', size: { slot: 'len', times: 1 } });
const sendIovecs: FieldUse = mem({
  what: 'iovec array', access: 'read', when: 'submit', size: { slot: 'len', times: 16, max: 1024 },
  layout: { stride: 16, fields: [
    { name: 'iov_base', at: 0, width: 8, use: mem({ what: 'buffer', access: 'read', when: 'complete', size: { field: 8, width: 8 } }) },
    { name: 'iov_len', at: 8, width: 8, use: scalar('buffer length') },
  ] },
});
/** struct user_msghdr (56 bytes), copied at prep; the pointers inside are followed later or at prep. */
const msghdr = (into: boolean): FieldUse => mem({
  what: 'struct msghdr', access: into ? 'readwrite' : 'read', when: 'submit', size: { bytes: MSGHDR_SIZE },
  layout: { stride: 0, fields: [
    // msg_name: recvmsg writes the sender's address at completion; sendmsg copies it at prep
    { name: 'msg_name', at: 0, width: 8, use: scalar(`sockaddr pointer (${into ? 'written at completion, msg_namelen bytes' : 'read at prep'}; not expressible for programs)`) },
    { name: 'msg_namelen', at: 8, width: 4, use: scalar('address length') },
    { name: 'msg_iov', at: 16, width: 8, use: scalar('iovec array pointer, read at prep (msg_iovlen entries); its buffers used while the request runs') },
    { name: 'msg_iovlen', at: 24, width: 8, use: scalar('iovec count (UIO_MAXIOV; 0 or 1 with buffer select)') },
    { name: 'msg_control', at: 32, width: 8, use: scalar('ancillary data pointer, used while the request runs') },
    { name: 'msg_controllen', at: 40, width: 8, use: scalar('ancillary data length') },
    { name: 'msg_flags', at: 48, width: 4, use: into ? scalar('written by the kernel') : IGNORED },
  ] },
});

/** SEND / SEND_ZC: io_sendmsg_prep (or io_send_zc_prep) + io_send_setup. */
function sendUse(zc: boolean): SqeUse {
  const vectorized = zc ? ZC_IOPRIO.SEND_VECTORIZED : SEND_IOPRIO.SEND_VECTORIZED;
  return {
    source: `io_uring/net.c ${zc ? 'io_send_zc_prep' : 'io_sendmsg_prep'}, io_send_setup (6.18)`,
    fixedFile: 'slot',
    fields: {
      ...UNUSED,
      ioprio: flags(zc ? ZC_IOPRIO : SEND_IOPRIO),
      fd: { use: 'fd', doc: 'socket to send on' },
      // addr2 / addr_len: sendto's destination (copied at prep when non-zero)
      off: sockaddrIn('fileIndex'),
      addr: when('ioprio', vectorized, sendIovecs, sendBuffer),
      len: scalar('bytes to send (iovec count with SEND_VECTORIZED; with buffer select: 0 or a cap)'),
      opFlags: flags(MSG_FLAGS),
      bufIndex: zc ? when('ioprio', ZC_IOPRIO.FIXED_BUF, scalar('registered buffer index'), IGNORED) : SEND_GROUP,
      fileIndex: scalar('addr_len (u16) of the destination; __pad3 (upper 16 bits) must be 0'),
      addr3: zc ? ZERO : IGNORED,
    },
  };
}

/** RECV: io_recvmsg_prep (shared with RECVMSG). */
const recvUse: SqeUse = {
  source: 'io_uring/net.c io_recvmsg_prep (6.18)',
  fixedFile: 'slot',
  fields: {
    ...UNUSED,
    ioprio: flags(RECV_IOPRIO),
    fd: { use: 'fd', doc: 'socket to receive from' },
    off: ZERO, // addr2: -EINVAL
    // with buffer select the kernel receives into the buffer it picks (io_recv_buf_select)
    addr: when('sqeFlags', IOSQE.BUFFER_SELECT, IGNORED, recvBuffer),
    len: scalar('buffer length (with buffer select: a cap, 0 = the buffer)'),
    opFlags: flags(MSG_FLAGS),
    bufIndex: RECV_GROUP,
    fileIndex: ZERO,
  },
};

/** SENDMSG / RECVMSG / SENDMSG_ZC. */
function msgUse(op: 'sendmsg' | 'recvmsg' | 'sendmsgZc'): SqeUse {
  const recv = op === 'recvmsg';
  return {
    source: `io_uring/net.c ${op === 'sendmsgZc' ? 'io_send_zc_prep' : recv ? 'io_recvmsg_prep' : 'io_sendmsg_prep'}, io_msg_copy_hdr (6.18)`,
    fixedFile: 'slot',
    fields: {
      ...UNUSED,
      ioprio: flags(recv ? { POLL_FIRST: RECVSEND.POLL_FIRST, RECV_MULTISHOT: RECVSEND.RECV_MULTISHOT } : op === 'sendmsgZc' ? ZC_IOPRIO : { POLL_FIRST: RECVSEND.POLL_FIRST }),
      fd: { use: 'fd', doc: 'socket' },
      off: ZERO,
      addr: msghdr(recv),
      len: scalar('with buffer select: a cap on the bytes (from the one iovec otherwise)'),
      opFlags: flags(MSG_FLAGS),
      bufIndex: op === 'sendmsgZc' ? when('ioprio', ZC_IOPRIO.FIXED_BUF, scalar('registered buffer index'), IGNORED) : recv ? RECV_GROUP : SEND_GROUP,
      fileIndex: ZERO,
      addr3: op === 'sendmsgZc' ? ZERO : IGNORED,
    },
  };
}

// ------------------------------------------------------------------ parameters

const msgFlags = (doc: string): ParamDesc => ({ name: 'flags', kind: 'msgFlags', field: 'opFlags', positional: true, optional: true, default: 0, doc });
const pollFirst: ParamDesc = { name: 'pollFirst', kind: 'flag', field: 'ioprio', bit: RECVSEND.POLL_FIRST, optional: true, doc: 'IORING_RECVSEND_POLL_FIRST (5.19): wait for readiness before trying (expect no data/room yet)' };
const bufferGroup = (what: string): ParamDesc => ({ name: 'bufferGroup', kind: 'bufferGroup', field: 'bufIndex', optional: true, doc: `provided-buffer group the kernel picks the ${what} buffer from (IOSQE_BUFFER_SELECT; the buffer id is in the CQE flags' upper 16 bits); pass null as the buffer` });
const to: ParamDesc = { name: 'to', kind: 'sockaddr', field: 'off', lengthField: 'fileIndex', optional: true, doc: 'destination address (sendto(2); unconnected datagram sockets)' };
const direct: ParamDesc = {
  name: 'direct', kind: 'direct', field: 'fileIndex', optional: true,
  doc: "install into this slot of the registered file table, or 'auto' (a free one); resolves the FixedFile instead of an fd (no SOCK_CLOEXEC: the kernel refuses it for direct descriptors)",
};

export const NET_OPS: readonly OpDesc[] = [
  {
    name: 'sendmsg', code: 9, constant: 'SENDMSG', since: '5.3', liburing: 'io_uring_prep_sendmsg', result: 'number', cancellable: true,
    params: [
      fd,
      { name: 'msg', kind: 'msghdr', field: 'addr', positional: true, doc: '{ buffers, address?, control? }: data sent in order, the destination (datagrams), ancillary data' },
      msgFlags('MSG_* flags (MSG_NOSIGNAL is always added by the kernel)'),
      pollFirst,
    ],
    sqe: msgUse('sendmsg'),
    doc: 'sendmsg(2); res = bytes sent.',
  },
  {
    name: 'recvmsg', code: 10, constant: 'RECVMSG', since: '5.3', liburing: 'io_uring_prep_recvmsg', result: 'received', cancellable: true,
    params: [
      fd,
      { name: 'msg', kind: 'msghdr', field: 'addr', positional: true, doc: '{ buffers, address?: boolean (default true), control? }: buffers filled in order, ask for the sender\'s address, a control area' },
      msgFlags('MSG_* flags (MSG_PEEK, MSG_TRUNC, MSG_WAITALL, …)'),
      pollFirst,
      bufferGroup('data'),
      { name: 'multishot', kind: 'flag', field: 'ioprio', bit: RECVSEND.RECV_MULTISHOT, optional: true, requires: 'bufferGroup', multi: true, doc: 'IORING_RECV_MULTISHOT (6.0): one CQE per message, each buffer starting with struct io_uring_recvmsg_out (needs bufferGroup; ring.runMulti)' },
    ],
    sqe: msgUse('recvmsg'),
    doc: 'recvmsg(2); resolves { bytes, address, flags, controlLength } (address: the sender, for datagrams).',
  },
  {
    name: 'accept', code: 13, constant: 'ACCEPT', since: '5.5', liburing: 'io_uring_prep_accept', result: 'accepted', cancellable: true,
    params: [
      fd,
      { name: 'flags', kind: 'bitmask', field: 'opFlags', values: ACCEPT_FLAGS, optional: true, doc: 'SOCK.NONBLOCK; SOCK_CLOEXEC is always added (not with `direct`)' },
      { ...direct, excludesOpFlags: SOCK.CLOEXEC },
      { name: 'multishot', kind: 'flag', field: 'ioprio', bit: ACCEPT.MULTISHOT, optional: true, multi: true, doc: 'IORING_ACCEPT_MULTISHOT (5.19): one CQE per connection until cancelled (direct: only \'auto\'; no peer addresses; ring.runMulti)' },
      { name: 'dontWait', kind: 'flag', field: 'ioprio', bit: ACCEPT.DONTWAIT, optional: true, doc: 'IORING_ACCEPT_DONTWAIT (6.10): -EAGAIN instead of waiting when no connection is queued' },
      { name: 'pollFirst', kind: 'flag', field: 'ioprio', bit: ACCEPT.POLL_FIRST, optional: true, doc: 'IORING_ACCEPT_POLL_FIRST (6.10): wait for a connection before trying' },
      { name: 'peer', kind: 'sockaddrOut', field: 'addr', lengthField: 'off', optional: true, internal: true, doc: 'internal: the peer address area (allocated for you; none with multishot)' },
    ],
    alwaysOpFlags: SOCK.CLOEXEC,
    sqe: {
      source: 'io_uring/net.c io_accept_prep (6.18)',
      fixedFile: 'slot',
      fields: {
        ...UNUSED,
        ioprio: flags(ACCEPT),
        fd: { use: 'fd', doc: 'listening socket' },
        // followed only when addr is not 0 (do_accept → move_addr_to_user); programs pass 0 in both
        off: mem({ what: 'socklen_t', access: 'readwrite', when: 'complete', size: { bytes: 4 } }),
        addr: mem({ what: 'struct sockaddr', access: 'write', when: 'complete', size: { bytes: SOCKADDR_STORAGE } }),
        len: ZERO,
        opFlags: flags(ACCEPT_FLAGS),
        bufIndex: ZERO,
        fileIndex: scalar('direct descriptor slot + 1, or IORING_FILE_INDEX_ALLOC'),
      },
      fdEffect: 'opens',
      slotEffect: 'fileIndex',
    },
    // multishot: one CQE per connection, each fd the programs' (as a single accept's)
    program: { flags: { ioprio: ACCEPT.DONTWAIT | ACCEPT.POLL_FIRST | ACCEPT.MULTISHOT, opFlags: allBits(ACCEPT_FLAGS) }, zero: ['off', 'addr', 'fileIndex'] },
    doc: "accept4(2); resolves { fd, address } (fd: the FixedFile with `direct`); multishot: one CQE per connection.",
  },
  {
    name: 'connect', code: 16, constant: 'CONNECT', since: '5.5', liburing: 'io_uring_prep_connect', result: 'void', cancellable: true,
    params: [fd, { name: 'address', kind: 'sockaddr', field: 'addr', lengthField: 'off', positional: true, doc: 'peer address: { family, address, port }, { address, port }, { path } or struct sockaddr bytes' }],
    sqe: {
      source: 'io_uring/net.c io_connect_prep (6.18)',
      fixedFile: 'slot',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'socket to connect' },
        off: scalar('address length (addr2)'),
        addr: sockaddrIn('off'),
        len: ZERO,
        opFlags: ZERO,
        bufIndex: ZERO,
        fileIndex: ZERO,
      },
    },
    program: {},
    doc: 'connect(2).',
  },
  {
    name: 'send', code: 26, constant: 'SEND', since: '5.6', liburing: 'io_uring_prep_send', result: 'number', cancellable: true,
    params: [
      fd,
      { name: 'buffer', kind: 'dataBuffer', field: 'addr', positional: true, doc: 'data to send (null with bufferGroup)' },
      msgFlags('MSG_* flags (MSG_NOSIGNAL is always added by the kernel; MSG_WAITALL retries short sends)'),
      to,
      pollFirst,
      bufferGroup('data'),
      { name: 'bundle', kind: 'flag', field: 'ioprio', bit: RECVSEND.BUNDLE, optional: true, requires: 'bufferGroup', multi: true, doc: 'IORING_RECVSEND_BUNDLE (6.10): send several consecutive buffers of a ring group (needs bufferGroup; may post several CQEs: ring.runMulti)' },
    ],
    sqe: sendUse(false),
    program: { flags: { ioprio: RECVSEND.POLL_FIRST, opFlags: PROGRAM_SEND_MSG }, zero: ['off', 'fileIndex'] },
    doc: 'send(2) / sendto(2) with `to`; res = bytes sent.',
  },
  {
    name: 'recv', code: 27, constant: 'RECV', since: '5.6', liburing: 'io_uring_prep_recv', result: 'number', cancellable: true,
    params: [
      fd,
      { name: 'buffer', kind: 'dataBuffer', field: 'addr', positional: true, doc: 'destination (null with bufferGroup)' },
      msgFlags('MSG_* flags (MSG_PEEK, MSG_WAITALL, MSG_TRUNC, …)'),
      pollFirst,
      bufferGroup('data'),
      { name: 'multishot', kind: 'flag', field: 'ioprio', bit: RECVSEND.RECV_MULTISHOT, optional: true, requires: 'bufferGroup', multi: true, doc: 'IORING_RECV_MULTISHOT (6.0): one CQE per receive until the peer closes (needs bufferGroup, no MSG_WAITALL; ring.runMulti)' },
      { name: 'bundle', kind: 'flag', field: 'ioprio', bit: RECVSEND.BUNDLE, optional: true, requires: 'bufferGroup', multi: true, doc: 'IORING_RECVSEND_BUNDLE (6.10): fill several consecutive buffers of a ring group per CQE (needs bufferGroup)' },
    ],
    sqe: recvUse,
    // multishot: the kernel refuses it without IOSQE_BUFFER_SELECT, so every CQE names a buffer of
    // a granted group (the programs' from that CQE on); no bundles (several buffers per CQE)
    program: { flags: { ioprio: RECVSEND.POLL_FIRST | RECVSEND.RECV_MULTISHOT, opFlags: PROGRAM_RECV_MSG } },
    doc: 'recv(2) into one buffer; res = bytes received (0: the peer closed).',
  },
  {
    name: 'shutdown', code: 34, constant: 'SHUTDOWN', since: '5.11', liburing: 'io_uring_prep_shutdown', result: 'void',
    params: [fd, { name: 'how', kind: 'choice', field: 'len', positional: true, values: { read: SHUT.RD, write: SHUT.WR, both: SHUT.RDWR }, doc: "'read' (SHUT_RD 0), 'write' (SHUT_WR 1) or 'both' (SHUT_RDWR 2)" }],
    sqe: {
      source: 'io_uring/net.c io_shutdown_prep (6.18)',
      fixedFile: 'slot',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'socket to shut down' },
        off: ZERO,
        addr: ZERO,
        len: scalar('how (SHUT_RD, SHUT_WR, SHUT_RDWR)'),
        opFlags: ZERO,
        bufIndex: ZERO,
        fileIndex: ZERO,
      },
    },
    program: {},
    doc: 'shutdown(2).',
  },
  {
    name: 'socket', code: 45, constant: 'SOCKET', since: '5.19', liburing: 'io_uring_prep_socket', result: 'number',
    params: [
      { name: 'domain', kind: 'choice', field: 'fd', positional: true, values: { ipv4: 2, ipv6: 10, unix: 1 }, doc: "'ipv4' (AF_INET 2), 'ipv6' (AF_INET6 10) or 'unix' (AF_UNIX 1)" },
      { name: 'type', kind: 'sockType', field: 'off', positional: true, doc: "'stream', 'dgram', 'seqpacket', 'raw' or SOCK_* | SOCK.NONBLOCK; SOCK_CLOEXEC is added (not with `direct`)" },
      { name: 'protocol', kind: 'u32', field: 'len', positional: true, optional: true, default: 0, doc: 'IPPROTO_* (0: the default for the type)' },
      direct,
    ],
    sqe: {
      source: 'io_uring/net.c io_socket_prep (6.18)',
      fields: {
        ...UNUSED,
        fd: scalar('domain (AF_*)'),
        off: scalar('type (SOCK_*) | SOCK_NONBLOCK | SOCK_CLOEXEC'),
        addr: ZERO,
        len: scalar('protocol'),
        opFlags: ZERO,
        bufIndex: ZERO,
        fileIndex: scalar('direct descriptor slot + 1, or IORING_FILE_INDEX_ALLOC'),
      },
      fdEffect: 'opens',
      slotEffect: 'fileIndex',
    },
    doc: 'socket(2); res = the new fd (with `direct`: the FixedFile slot it filled).',
  },
  {
    name: 'uringCmd', code: 46, constant: 'URING_CMD', since: '5.19', liburing: 'io_uring_prep_cmd_sock', result: 'number',
    params: [
      fd,
      { name: 'cmd', kind: 'choice', field: 'off', positional: true, needs: { getsockopt: ['level', 'optname', 'optval'], setsockopt: ['level', 'optname', 'optval'] }, values: { siocinq: SOCKET_URING_OP.SIOCINQ, siocoutq: SOCKET_URING_OP.SIOCOUTQ, getsockopt: SOCKET_URING_OP.GETSOCKOPT, setsockopt: SOCKET_URING_OP.SETSOCKOPT }, doc: "socket command (6.7): 'siocinq' (bytes unread), 'siocoutq' (bytes unsent), 'getsockopt', 'setsockopt' (SOCKET_URING_OP_*)" },
      { name: 'level', kind: 'u32', field: 'addr', optional: true, doc: 'socket option level (SOL_SOCKET 1; getsockopt takes only SOL_SOCKET)' },
      { name: 'optname', kind: 'optname', field: 'addr', optional: true, doc: 'option name (SO_*)' },
      { name: 'optval', kind: 'optval', field: 'addr3', lengthField: 'fileIndex', optional: true, doc: 'option value: read (setsockopt) or filled (getsockopt); optlen = its length' },
    ],
    sqe: {
      source: 'io_uring/uring_cmd.c io_uring_cmd_prep (6.18.y), io_uring/cmd_net.c io_uring_cmd_sock',
      fixedFile: 'slot',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'file whose ->uring_cmd runs (a socket)' },
        off: scalar('cmd_op (low 32 bits); __pad1 (high 32 bits) must be 0'),
        addr: scalar('level (low 32 bits), optname (high 32 bits)'),
        len: IGNORED,
        opFlags: flags(URING_CMD_FLAGS),
        bufIndex: when('opFlags', URING_CMD_FLAGS.FIXED, scalar('registered buffer index'), IGNORED),
        fileIndex: scalar('optlen'),
        addr3: scalar('optval pointer (optlen bytes; read by setsockopt, written by getsockopt)'),
      },
    },
    doc: 'socket commands (6.7): SIOCINQ / SIOCOUTQ resolve a byte count, getsockopt the option length (the value is in optval), setsockopt 0.',
  },
  {
    name: 'sendZc', code: 47, constant: 'SEND_ZC', since: '6.0', liburing: 'io_uring_prep_send_zc', multiCqe: true,
    params: [
      fd,
      { name: 'buffer', kind: 'buffer', field: 'addr', positional: true, doc: 'data to send; pinned until the notification CQE (F_NOTIF), which may follow an error too' },
      msgFlags('MSG_* flags (MSG_NOSIGNAL and MSG_ZEROCOPY are added by the kernel)'),
      to,
      pollFirst,
      { name: 'reportUsage', kind: 'flag', field: 'ioprio', bit: RECVSEND.SEND_ZC_REPORT_USAGE, optional: true, doc: 'IORING_SEND_ZC_REPORT_USAGE (6.2): the notification res has IORING_NOTIF_USAGE_ZC_COPIED (bit 31) when the data was copied' },
      { name: 'bufIndex', kind: 'fixedBuffer', field: 'bufIndex', bit: RECVSEND.FIXED_BUF, optional: true, doc: 'registered buffer index (IORING_RECVSEND_FIXED_BUF): `buffer` is a view inside that registered buffer' },
    ],
    sqe: sendUse(true),
    doc: 'zero-copy send(2): a result CQE (F_MORE) then a notification CQE (F_NOTIF) when the buffer is free again; ring.sendZc() settles with the bytes sent at the notification (reportUsage: { bytes, copied }).',
  },
  {
    name: 'sendmsgZc', code: 48, constant: 'SENDMSG_ZC', since: '6.1', liburing: 'io_uring_prep_sendmsg_zc', multiCqe: true,
    params: [
      fd,
      { name: 'msg', kind: 'msghdr', field: 'addr', positional: true, doc: '{ buffers, address?, control? } (buffers pinned until the notification CQE)' },
      msgFlags('MSG_* flags'),
      pollFirst,
      { name: 'reportUsage', kind: 'flag', field: 'ioprio', bit: RECVSEND.SEND_ZC_REPORT_USAGE, optional: true, doc: 'IORING_SEND_ZC_REPORT_USAGE (6.2)' },
    ],
    sqe: msgUse('sendmsgZc'),
    doc: 'zero-copy sendmsg(2): result CQE then notification CQE; ring.sendmsgZc() settles at the notification.',
  },
  {
    name: 'bind', code: 56, constant: 'BIND', since: '6.11', liburing: 'io_uring_prep_bind', result: 'void',
    params: [fd, { name: 'address', kind: 'sockaddr', field: 'addr', lengthField: 'off', positional: true, doc: "local address (port 0: the kernel picks one); { path } or family 'unix' for unix sockets" }],
    sqe: {
      source: 'io_uring/net.c io_bind_prep (6.18)',
      fixedFile: 'slot',
      fields: { ...UNUSED, fd: { use: 'fd', doc: 'socket to bind' }, off: scalar('address length (addr2)'), addr: sockaddrIn('off'), len: ZERO, opFlags: ZERO, bufIndex: ZERO, fileIndex: ZERO },
    },
    doc: 'bind(2).',
  },
  {
    name: 'listen', code: 57, constant: 'LISTEN', since: '6.11', liburing: 'io_uring_prep_listen', result: 'void',
    params: [fd, { name: 'backlog', kind: 'i32', field: 'len', positional: true, optional: true, default: 511, doc: 'queue length (default 511, as node:net; capped by net.core.somaxconn)' }],
    sqe: {
      source: 'io_uring/net.c io_listen_prep (6.18)',
      fixedFile: 'slot',
      fields: { ...UNUSED, fd: { use: 'fd', doc: 'socket to listen on' }, off: ZERO, addr: ZERO, len: scalar('backlog'), opFlags: ZERO, bufIndex: ZERO, fileIndex: ZERO },
    },
    doc: 'listen(2).',
  },
  {
    // io_uring/net.c io_recvzc_prep (6.15+; ifq lookup by zcrx_ifq_idx since 6.15's xarray of zcrx
    // contexts): off, addr, addr3 and msg_flags must be 0; ioprio takes POLL_FIRST | RECV_MULTISHOT;
    // len ~0 is EINVAL. Every CQE of it is 32 bytes (io_uring_zcrx_cqe in big_cqe), so the ring needs
    // cqe32 or cqeMixed, and DEFER_TASKRUN; the queue comes from IORING_REGISTER_ZCRX_IFQ.
    name: 'recvZc', code: 58, constant: 'RECV_ZC', since: '6.15', liburing: 'io_uring_prep_recv_zc', cancellable: true,
    params: [
      fd,
      { name: 'ifq', kind: 'zcrxIfq', field: 'fileIndex', positional: true, doc: 'zcrx interface queue: the zcrx_id IORING_REGISTER_ZCRX_IFQ returned (sets IORING_RECV_MULTISHOT: a CQE per received chunk; ring.runMulti)' },
      { name: 'length', kind: 'u32', field: 'len', optional: true, default: 0, doc: 'bytes to receive before the request ends (0: until cancelled or the peer closes; 4294967295 is refused by the kernel)' },
      pollFirst,
    ],
    sqe: {
      source: 'io_uring/net.c io_recvzc_prep (6.15+)',
      fixedFile: 'slot',
      fields: {
        ...UNUSED,
        ioprio: flags({ POLL_FIRST: RECVSEND.POLL_FIRST, RECV_MULTISHOT: RECVSEND.RECV_MULTISHOT }),
        fd: { use: 'fd', doc: 'TCP socket whose flow the NIC steers to the zcrx queue' },
        off: ZERO,
        addr: ZERO,
        len: scalar('bytes to receive (0: no limit)'),
        opFlags: ZERO,
        fileIndex: scalar('zcrx_ifq_idx'),
        addr3: ZERO,
      },
    },
    doc: 'zero-copy receive into a zcrx area (6.15): 32-byte CQEs whose big_cqe locates the data in the area; needs a NIC with header split and flow steering (not loopback), a ring with cqe32 or cqeMixed and DEFER_TASKRUN, and IORING_REGISTER_ZCRX_IFQ.',
  },
];

