/**
 * Socket ABI constants for the socket and buffer opcodes, written by us from the kernel's uapi
 * (x86-64 values): include/linux/socket.h (AF_*, MSG_*, SOL_*), include/linux/net.h (SOCK_*),
 * include/uapi/asm-generic/socket.h (SO_*), include/uapi/linux/io_uring.h (IORING_RECVSEND_*,
 * IORING_ACCEPT_*, SOCKET_URING_OP_*; Linux 6.18). Each io_uring value carries its first kernel.
 */

/** Address families (include/linux/socket.h). */
export const AF = { UNSPEC: 0, UNIX: 1, INET: 2, INET6: 10 } as const;

/** Socket types (include/linux/net.h enum sock_type) and the type flags socket(2)/accept4(2) take. */
export const SOCK = {
  STREAM: 1, DGRAM: 2, RAW: 3, RDM: 4, SEQPACKET: 5, PACKET: 10,
  /** O_NONBLOCK (x86-64 0o4000). */
  NONBLOCK: 0o4000,
  /** O_CLOEXEC (0o2000000). */
  CLOEXEC: 0o2000000,
} as const;
/** SOCK_TYPE_MASK: the type bits of socket(2)'s `type` (the rest are flags). */
export const SOCK_TYPE_MASK = 0xf;

/** IP protocols (include/uapi/linux/in.h). */
export const IPPROTO = { IP: 0, TCP: 6, UDP: 17, IPV6: 41, RAW: 255 } as const;

/**
 * MSG_* flags of send(2)/recv(2) (include/linux/socket.h, 6.18). io_uring passes them to the
 * socket layer as they are (SEND/SENDMSG add MSG_NOSIGNAL); the socket layer ignores bits it does
 * not know, so the kernel refuses none of them.
 */
export const MSG = {
  OOB: 0x1, PEEK: 0x2, DONTROUTE: 0x4, CTRUNC: 0x8, PROBE: 0x10, TRUNC: 0x20, DONTWAIT: 0x40,
  EOR: 0x80, WAITALL: 0x100, FIN: 0x200, SYN: 0x400, CONFIRM: 0x800, RST: 0x1000, ERRQUEUE: 0x2000,
  NOSIGNAL: 0x4000, MORE: 0x8000, WAITFORONE: 0x10000, BATCH: 0x40000,
  SOCK_DEVMEM: 0x2000000, ZEROCOPY: 0x4000000, SPLICE_PAGES: 0x8000000, FASTOPEN: 0x20000000,
  CMSG_CLOEXEC: 0x40000000, CMSG_COMPAT: 0x80000000,
} as const;

/** shutdown(2) `how` (include/linux/net.h). */
export const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;

/** Socket option levels (include/linux/socket.h). */
export const SOL = { SOCKET: 1, IP: 0, TCP: 6, UDP: 17, IPV6: 41 } as const;

/** SOL_SOCKET options (include/uapi/asm-generic/socket.h, x86-64). */
export const SO = {
  DEBUG: 1, REUSEADDR: 2, TYPE: 3, ERROR: 4, DONTROUTE: 5, BROADCAST: 6, SNDBUF: 7, RCVBUF: 8,
  KEEPALIVE: 9, OOBINLINE: 10, NO_CHECK: 11, PRIORITY: 12, LINGER: 13, BSDCOMPAT: 14, REUSEPORT: 15,
  RCVLOWAT: 18, SNDLOWAT: 19, ACCEPTCONN: 30, PEEK_OFF: 42, BUSY_POLL: 46, INCOMING_CPU: 49,
  PROTOCOL: 38, DOMAIN: 39, ZEROCOPY: 60,
} as const;

/** TCP options (include/uapi/linux/tcp.h). */
export const TCP = { NODELAY: 1, MAXSEG: 2, CORK: 3, KEEPIDLE: 4, KEEPINTVL: 5, KEEPCNT: 6, QUICKACK: 12 } as const;

/**
 * send/recv modifiers in sqe->ioprio (include/uapi/linux/io_uring.h): POLL_FIRST 5.19, RECV_MULTISHOT
 * 6.0, FIXED_BUF 6.0, SEND_ZC_REPORT_USAGE 6.2, BUNDLE 6.10, SEND_VECTORIZED 6.17.
 */
export const RECVSEND = { POLL_FIRST: 1, RECV_MULTISHOT: 2, FIXED_BUF: 4, SEND_ZC_REPORT_USAGE: 8, BUNDLE: 16, SEND_VECTORIZED: 32 } as const;

/** accept modifiers in sqe->ioprio: MULTISHOT 5.19, DONTWAIT and POLL_FIRST 6.10. */
export const ACCEPT = { MULTISHOT: 1, DONTWAIT: 2, POLL_FIRST: 4 } as const;

/** IORING_NOTIF_USAGE_ZC_COPIED (6.2): in a zero-copy notification's res, the data was copied. */
export const NOTIF_USAGE_ZC_COPIED = 0x80000000;

/**
 * Socket commands of IORING_OP_URING_CMD in sqe->cmd_op (include/uapi/linux/io_uring.h enum
 * io_uring_socket_op; io_uring/cmd_net.c io_uring_cmd_sock): SIOCINQ, SIOCOUTQ, GETSOCKOPT,
 * SETSOCKOPT 6.7; TX_TIMESTAMP 6.17 (needs a CQE32 ring: not driven here).
 */
export const SOCKET_URING_OP = { SIOCINQ: 0, SIOCOUTQ: 1, GETSOCKOPT: 2, SETSOCKOPT: 3, TX_TIMESTAMP: 4 } as const;

/** sizeof(struct sockaddr_storage): the largest address the kernel copies (move_addr_to_kernel). */
export const SOCKADDR_STORAGE = 128;
/** sizeof(struct msghdr) as userspace lays it out on 64-bit (struct user_msghdr). */
export const MSGHDR_SIZE = 56;
/** struct io_uring_recvmsg_out (multishot recvmsg's header in each buffer): 4 × u32. */
export const RECVMSG_OUT_SIZE = 16;
/** MAX_BIDS_PER_BGID (io_uring/kbuf.c): buffers a legacy group holds, and ids per group. */
export const MAX_BIDS_PER_BGID = 1 << 16;
