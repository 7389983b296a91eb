/** Socket opcodes: socket, bind, listen, accept, connect, send/recv (and msg, zero-copy), shutdown, uring_cmd. */

import { type OpDesc } from './desc.js';

export const NET_OPS: readonly OpDesc[] = [
  { name: 'sendmsg', code: 9, constant: 'SENDMSG', since: '5.3', liburing: 'io_uring_prep_sendmsg', doc: 'sendmsg(2)' },
  { name: 'recvmsg', code: 10, constant: 'RECVMSG', since: '5.3', liburing: 'io_uring_prep_recvmsg', doc: 'recvmsg(2) (multishot 6.0)' },
  { name: 'accept', code: 13, constant: 'ACCEPT', since: '5.5', liburing: 'io_uring_prep_accept', doc: 'accept4(2) (direct 5.15, multishot 5.19)' },
  { name: 'connect', code: 16, constant: 'CONNECT', since: '5.5', liburing: 'io_uring_prep_connect', doc: 'connect(2)' },
  { name: 'send', code: 26, constant: 'SEND', since: '5.6', liburing: 'io_uring_prep_send', doc: 'send(2) (provided buffers/bundles 6.10)' },
  { name: 'recv', code: 27, constant: 'RECV', since: '5.6', liburing: 'io_uring_prep_recv', doc: 'recv(2) (multishot 6.0, bundles 6.10)' },
  { name: 'shutdown', code: 34, constant: 'SHUTDOWN', since: '5.11', liburing: 'io_uring_prep_shutdown', doc: 'shutdown(2)' },
  { name: 'socket', code: 45, constant: 'SOCKET', since: '5.19', liburing: 'io_uring_prep_socket', doc: 'socket(2) (direct 5.19)' },
  { name: 'uringCmd', code: 46, constant: 'URING_CMD', since: '5.19', liburing: 'io_uring_prep_cmd', doc: 'passthrough command (socket commands ≈6.7)' },
  { name: 'sendZc', code: 47, constant: 'SEND_ZC', since: '6.0', liburing: 'io_uring_prep_send_zc', doc: 'zero-copy send; buffer released on the NOTIF CQE' },
  { name: 'sendmsgZc', code: 48, constant: 'SENDMSG_ZC', since: '6.1', liburing: 'io_uring_prep_sendmsg_zc', doc: 'zero-copy sendmsg' },
  { name: 'bind', code: 56, constant: 'BIND', since: '6.11', liburing: 'io_uring_prep_bind', doc: 'bind(2)' },
  { name: 'listen', code: 57, constant: 'LISTEN', since: '6.11', liburing: 'io_uring_prep_listen', doc: 'listen(2)' },
  { name: 'recvZc', code: 58, constant: 'RECV_ZC', since: '6.15', liburing: 'io_uring_prep_recv_zc', doc: 'zero-copy receive (zcrx; needs NIC support)' },
];
