/**
 * ABI constants of the waiting opcodes (poll, epoll, futex, waitid), written by us from the
 * kernel's uapi headers (x86-64 values, Linux 6.18): include/uapi/linux/io_uring.h (IORING_POLL_*),
 * include/uapi/linux/eventpoll.h (EPOLL*), include/uapi/asm-generic/poll.h (POLL*),
 * include/uapi/linux/futex.h (FUTEX2_*, struct futex_waitv), include/uapi/linux/wait.h (P_*, W*),
 * include/uapi/asm-generic/siginfo.h (CLD_*, the SIGCHLD layout of siginfo_t). Each io_uring value
 * carries its first kernel.
 */

/** IORING_POLL_* in POLL_ADD / POLL_REMOVE's `len` (io_uring.h; 5.13, ADD_LEVEL 5.19). */
export const POLL_FLAGS = {
  /** Multishot poll: a CQE with F_MORE for every event. */
  ADD_MULTI: 1 << 0,
  /** POLL_REMOVE: update the events of the poll found. */
  UPDATE_EVENTS: 1 << 1,
  /** POLL_REMOVE: update the user_data of the poll found (its later CQEs carry `off`). */
  UPDATE_USER_DATA: 1 << 2,
  /** Level-triggered poll (5.19). 6.0 refuses it again at prep (io_poll_add_prep: -EINVAL, measured on 6.18.44). */
  ADD_LEVEL: 1 << 3,
} as const;

/**
 * Poll events (include/uapi/asm-generic/poll.h and eventpoll.h; on x86-64 POLL* = EPOLL* for
 * these bits). poll32_events of POLL_ADD, the events of struct epoll_event, and the revents mask a
 * poll resolves.
 */
export const POLL = {
  IN: 0x001, PRI: 0x002, OUT: 0x004, ERR: 0x008, HUP: 0x010, NVAL: 0x020,
  RDNORM: 0x040, RDBAND: 0x080, WRNORM: 0x100, WRBAND: 0x200, MSG: 0x400, RDHUP: 0x2000,
} as const;
/** Names a poll/epoll event mask can be given with (builder arguments), and their bits. */
export const POLL_EVENT_NAMES: Readonly<Record<string, number>> = {
  in: POLL.IN, pri: POLL.PRI, out: POLL.OUT, err: POLL.ERR, hup: POLL.HUP, rdhup: POLL.RDHUP,
  rdnorm: POLL.RDNORM, rdband: POLL.RDBAND, wrnorm: POLL.WRNORM, wrband: POLL.WRBAND, msg: POLL.MSG,
};

/** epoll-only event bits (include/uapi/linux/eventpoll.h). */
export const EPOLL = {
  ...POLL,
  EXCLUSIVE: 1 << 28, WAKEUP: 1 << 29, ONESHOT: 1 << 30, ET: 0x80000000,
} as const;
/** epoll_ctl(2) operations (eventpoll.h). */
export const EPOLL_CTL = { ADD: 1, DEL: 2, MOD: 3 } as const;
/** struct epoll_event is packed on x86-64: events u32 @0, data u64 @4. */
export const EPOLL_EVENT_SIZE = 12;
/** EP_MAX_EVENTS (fs/eventpoll.c): INT_MAX / sizeof(struct epoll_event). */
export const EPOLL_MAX_EVENTS = Math.floor(0x7fffffff / EPOLL_EVENT_SIZE);

/**
 * FUTEX2_* flags (include/uapi/linux/futex.h, 6.7): the futex's size, NUMA, private. The kernel
 * implements 32-bit futexes only (futex_flags_valid, 6.18: other sizes are -EINVAL).
 */
export const FUTEX2 = { SIZE_U8: 0x00, SIZE_U16: 0x01, SIZE_U32: 0x02, SIZE_U64: 0x03, NUMA: 0x04, MPOL: 0x08, PRIVATE: 128 } as const;
/** FUTEX_BITSET_MATCH_ANY: a wait or wake mask that matches every waiter. */
export const FUTEX_BITSET_MATCH_ANY = 0xffffffff;
/** FUTEX_WAITV_MAX: the most futexes one FUTEX_WAITV waits on. */
export const FUTEX_WAITV_MAX = 128;
/** struct futex_waitv: val u64 @0, uaddr u64 @8, flags u32 @16, __reserved u32 @20. */
export const FUTEX_WAITV_SIZE = 24;

/** waitid(2) id types (include/uapi/linux/wait.h). */
export const P = { ALL: 0, PID: 1, PGID: 2, PIDFD: 3 } as const;
/** waitid(2) options (include/uapi/linux/wait.h). */
export const W = { NOHANG: 0x1, STOPPED: 0x2, EXITED: 0x4, CONTINUED: 0x8, NOWAIT: 0x01000000 } as const;
/** si_code of SIGCHLD (include/uapi/asm-generic/siginfo.h). */
export const CLD = { EXITED: 1, KILLED: 2, DUMPED: 3, TRAPPED: 4, STOPPED: 5, CONTINUED: 6 } as const;
/** siginfo_t (128 bytes): si_signo @0, si_errno @4, si_code @8; for SIGCHLD si_pid @16, si_uid @20, si_status @24. */
export const SIGINFO = { size: 128, signo: 0, errno: 4, code: 8, pid: 16, uid: 20, status: 24 } as const;
