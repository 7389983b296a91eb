/** Opcodes about the ring itself and its requests: nop, timeouts, cancellation, the file table, msg_ring, poll, futex, waitid, epoll. */
import { type SqeUse, ZERO, IGNORED, TIMESPEC_MEM, scalar, flags, when, allBits, NOP_FLAGS, TIMEOUT_FLAGS, TIMEOUT_REMOVE_FLAGS, CANCEL_FLAGS, FIXED_FD_INSTALL_FLAGS, mem } from './sqe-fields.js';
import { type OpDesc, fd, UNUSED } from './desc.js';
import { MSG_RING_COMMANDS, MSG_RING_FLAGS } from './msg-ring-abi.js';
import { POLL_FLAGS, EPOLL_CTL, FUTEX_BITSET_MATCH_ANY, P, W } from './wait-abi.js';

/** TIMEOUT / LINK_TIMEOUT (timeout.c __io_timeout_prep). */
function timeoutUse(link: boolean): SqeUse {
  return {
    source: 'io_uring/timeout.c __io_timeout_prep (6.15+, unchanged in 6.18)',
    fields: {
      ...UNUSED,
      fd: IGNORED,
      off: link ? ZERO : scalar('completion count (with MULTISHOT: repeats)'),
      addr: TIMESPEC_MEM,
      len: { use: 'fixed', value: 1 },
      opFlags: flags(TIMEOUT_FLAGS),
      bufIndex: ZERO,
      fileIndex: ZERO,
    },
  };
}

export const CORE_OPS: readonly OpDesc[] = [
  {
    name: 'nop', code: 0, constant: 'NOP', since: '5.1', liburing: 'io_uring_prep_nop', result: 'number',
    params: [
      { name: 'nopFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_NOP_* flags; INJECT_RESULT (1) makes res = injectResult' },
      { name: 'injectResult', kind: 'i32', field: 'len', optional: true, default: 0, impliesOpFlags: 1, doc: 'result to inject with IORING_NOP_INJECT_RESULT (6.10; ring.supports(\'nop\', { flag: \'INJECT_RESULT\' }))' },
      { name: 'file', kind: 'nopFile', field: 'fd', optional: true, impliesOpFlags: NOP_FLAGS.FILE, bit: NOP_FLAGS.FIXED_FILE, doc: 'a file to look up (IORING_NOP_FILE, 6.13): a process fd, or a FixedFile slot (adds IORING_NOP_FIXED_FILE); a bad one fails with EBADF' },
      { name: 'bufIndex', kind: 'u16', field: 'bufIndex', optional: true, impliesOpFlags: NOP_FLAGS.FIXED_BUFFER, doc: 'a registered buffer to look up (IORING_NOP_FIXED_BUFFER, 6.13); an index with no buffer fails with EFAULT' },
    ],
    sqe: {
      source: 'io_uring/nop.c io_nop_prep (6.18, raspberrypi/linux @656a52a8)',
      fields: {
        ...UNUSED,
        fd: when('opFlags', NOP_FLAGS.FILE, { use: 'fd', doc: 'file to look up (NOP_FILE)' }, IGNORED),
        off: when('opFlags', NOP_FLAGS.CQE32, scalar('extra1 of the 32-byte CQE'), IGNORED),
        addr: when('opFlags', NOP_FLAGS.CQE32, scalar('extra2 of the 32-byte CQE'), IGNORED),
        len: when('opFlags', NOP_FLAGS.INJECT_RESULT, scalar('injected res'), IGNORED),
        opFlags: flags(NOP_FLAGS),
        bufIndex: when('opFlags', NOP_FLAGS.FIXED_BUFFER, scalar('registered buffer index'), IGNORED),
      },
    },
    program: { flags: { opFlags: NOP_FLAGS.INJECT_RESULT }, tolerate: ['fd'] },
    // io_uring/nop.c history: INJECT_RESULT 6.10 (before it, nop_flags other than 0 are EINVAL;
    // liburing synced it "with 6.10"); FILE, FIXED_FILE, FIXED_BUFFER 6.13 (posted 2024-10-29; the
    // res of a failed lookup was the injected result there, -EBADF/-EFAULT by 6.18, so only EINVAL
    // tells); TW 6.17 (posted 2025-06-16, after the 6.16 merge window); CQE32 6.18 (with CQE_MIXED)
    flagSince: {
      INJECT_RESULT: { since: '6.10', probe: { args: [{ injectResult: 7 }], refused: -22, expect: 7 } },
      FILE: { since: '6.13', probe: { args: [{ nopFlags: NOP_FLAGS.FILE }], set: { fd: -1 }, refused: -22 } },
      FIXED_FILE: { since: '6.13', probe: { args: [{ nopFlags: NOP_FLAGS.FILE | NOP_FLAGS.FIXED_FILE }], set: { fd: 0 }, refused: -22 } },
      FIXED_BUFFER: { since: '6.13', probe: { args: [{ nopFlags: NOP_FLAGS.FIXED_BUFFER }], refused: -22 } },
      TW: { since: '6.17', probe: { args: [{ nopFlags: NOP_FLAGS.TW | NOP_FLAGS.INJECT_RESULT, injectResult: 7 }], refused: -22, expect: 7 } },
      CQE32: { since: '6.18', probe: { args: [{ nopFlags: NOP_FLAGS.CQE32 }], ring: { cqe32: true }, refused: -22 } },
    },
    doc: 'Does nothing; completes with res 0. Measures ring overhead.',
  },
  {
    // io_uring/poll.c io_poll_add_prep (6.18): buf_index, off, addr must be 0; len = IORING_POLL_ADD_MULTI
    // (ADD_LEVEL is refused since 6.0); poll32_events in the op-flags word; res = the revents mask
    name: 'pollAdd', code: 6, constant: 'POLL_ADD', since: '5.1', liburing: 'io_uring_prep_poll_add', result: 'number', cancellable: true,
    params: [
      { ...fd, doc: 'file descriptor to poll' },
      { name: 'events', kind: 'pollMask', field: 'opFlags', positional: true, doc: "POLL.* mask or event names (['in', 'out', 'rdhup', …]); ERR and HUP are always reported" },
      { name: 'multishot', kind: 'flag', field: 'len', bit: POLL_FLAGS.ADD_MULTI, multi: true, optional: true, doc: 'IORING_POLL_ADD_MULTI (5.13): a CQE per event; builder only (ring.pollStream())' },
      { name: 'level', kind: 'flag', field: 'len', bit: POLL_FLAGS.ADD_LEVEL, optional: true, doc: 'IORING_POLL_ADD_LEVEL: level-triggered (5.19; refused again since 6.0)' },
    ],
    sqe: {
      source: 'io_uring/poll.c io_poll_add_prep (6.18)',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'file to poll' },
        off: ZERO,
        addr: ZERO,
        len: flags({ ADD_MULTI: POLL_FLAGS.ADD_MULTI }),
        opFlags: scalar('poll32_events: the events to wait for'),
        bufIndex: ZERO,
      },
      fixedFile: 'slot',
    },
    // 5.19 added ADD_LEVEL; 6.0 refused it again at prep ("disable it at prep time", io_uring/poll.c):
    // EINVAL on 6.18.44. Not a `flagSince` entry: the probe machinery reads flags from the op-flags
    // word, and POLL_ADD's are in len (test/op-poll.test.ts asks the kernel directly)
    doc: 'poll(2) one fd: resolves the revents mask (POLL.*) when it is ready. Multishot (a CQE per event): ring.pollStream().',
  },
  {
    // io_uring/poll.c io_poll_remove_prep (6.18): buf_index, splice_fd_in 0; len = UPDATE_EVENTS |
    // UPDATE_USER_DATA (| ADD_MULTI with an update); addr = the poll's user_data; off = new user_data
    name: 'pollRemove', code: 7, constant: 'POLL_REMOVE', since: '5.1', liburing: 'io_uring_prep_poll_remove', result: 'void', namesRequest: true,
    params: [
      { name: 'target', kind: 'target', field: 'addr', positional: true, doc: 'the poll: its Sqe, the promise of ring.pollAdd(), or its user_data' },
      { name: 'updateEvents', kind: 'pollUpdate', field: 'opFlags', optional: true, doc: 'IORING_POLL_UPDATE_EVENTS (5.13): re-arm the poll with these events instead of removing it' },
      { name: 'newUserData', kind: 'newUserData', field: 'off', optional: true, doc: 'IORING_POLL_UPDATE_USER_DATA (5.13): the poll posts its CQEs with this user_data from now on (raw rings only: a ringflow request keeps its own)' },
    ],
    doc: 'Removes a poll (it completes with ECANCELED), or updates its events / user_data in place; rejects ENOENT when no such poll is armed.',
  },
  {
    name: 'timeout', code: 11, constant: 'TIMEOUT', since: '5.4', liburing: 'io_uring_prep_timeout', result: 'timer', cancellable: true,
    params: [
      { name: 'time', kind: 'timerSpec', field: 'addr', positional: true, doc: 'milliseconds, { sec, nsec }, or bigint nanoseconds (ring.timeoutUpdate() can change it)' },
      { name: 'count', kind: 'u32', field: 'off', optional: true, default: 0, doc: 'also complete after this many other completions (0 = pure timer)' },
      { name: 'timeoutFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, multiBits: TIMEOUT_FLAGS.MULTISHOT, doc: 'IORING_TIMEOUT_* (ABS, BOOTTIME, REALTIME, ETIME_SUCCESS, MULTISHOT: a CQE per expiry, so ring.runMulti)' },
    ],
    fixed: { len: 1 },
    sqe: timeoutUse(false),
    program: { flags: { opFlags: allBits(TIMEOUT_FLAGS) }, tolerate: ['fd'] },
    // a 1 ms multishot timer of one shot fires once (-ETIME); before 6.4 MULTISHOT is EINVAL
    flagSince: { MULTISHOT: { since: '6.4', probe: { args: [1, { count: 1, timeoutFlags: TIMEOUT_FLAGS.MULTISHOT }], refused: -22, expect: -62 /* ETIME */ } } },
    doc: 'A timer. The kernel completes it with -ETIME when it fires (ring.timeout() resolves true) or 0 when `count` other completions happened first (resolves false).',
  },
  {
    name: 'timeoutRemove', code: 12, constant: 'TIMEOUT_REMOVE', since: '5.5', liburing: 'io_uring_prep_timeout_remove', result: 'void', namesRequest: true,
    params: [
      { name: 'target', kind: 'target', field: 'addr', positional: true, doc: 'the timeout: its Sqe (a linkTimeout too), the promise of ring.timeout(), or its user_data' },
      { name: 'timeoutFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_TIMEOUT_UPDATE etc.' },
      { name: 'time', kind: 'timerUpdate', field: 'off', optional: true, doc: 'update instead of remove: the new time (sets IORING_TIMEOUT_UPDATE, with IORING_LINK_TIMEOUT_UPDATE for a linkTimeout Sqe, unless timeoutFlags are given; a link timeout can be updated, not removed)' },
    ],
    sqe: {
      source: 'io_uring/timeout.c io_timeout_remove_prep (6.15+, unchanged in 6.18)',
      fields: {
        ...UNUSED,
        fd: IGNORED,
        // UPDATE and LINK_TIMEOUT_UPDATE both read the new timespec at addr2 (the 2021-era policy
        // knew only UPDATE: an oracle over the address space)
        off: when('opFlags', TIMEOUT_REMOVE_FLAGS.UPDATE | TIMEOUT_REMOVE_FLAGS.LINK_TIMEOUT_UPDATE, TIMESPEC_MEM, IGNORED),
        addr: { use: 'target', doc: 'user_data of the timeout' },
        len: ZERO,
        opFlags: flags(TIMEOUT_REMOVE_FLAGS),
        bufIndex: ZERO,
        fileIndex: ZERO,
      },
    },
    program: { flags: { opFlags: allBits(TIMEOUT_REMOVE_FLAGS) }, tolerate: ['fd'] },
    doc: 'Removes (or with UPDATE, re-arms) a pending timeout.',
  },
  {
    name: 'asyncCancel', code: 14, constant: 'ASYNC_CANCEL', since: '5.5', liburing: 'io_uring_prep_cancel64', result: 'number', namesRequest: true,
    params: [
      { name: 'target', kind: 'userData', field: 'addr', positional: true, doc: 'user_data of the request to cancel' },
      { name: 'cancelFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_ASYNC_CANCEL_* (ALL, FD, ANY, FD_FIXED, USERDATA, OP)' },
    ],
    sqe: {
      source: 'io_uring/cancel.c io_async_cancel_prep (6.18)',
      fields: {
        ...UNUSED,
        fd: when('opFlags', CANCEL_FLAGS.FD, { use: 'fd', doc: 'cancel requests on this file (FD_FIXED: a slot)' }, IGNORED),
        off: ZERO,
        addr: { use: 'target', doc: 'user_data of the request' },
        len: when('opFlags', CANCEL_FLAGS.OP, scalar('opcode to cancel'), IGNORED),
        opFlags: flags(CANCEL_FLAGS),
        fileIndex: ZERO,
      },
    },
    // no cancel by fd, op or any: a program cancels only requests it names
    program: { flags: { opFlags: CANCEL_FLAGS.ALL | CANCEL_FLAGS.USERDATA }, tolerate: ['fd'] },
    // io_uring/cancel.c history: FD_FIXED 6.0, USERDATA and OP 6.6; a kernel without one says EINVAL
    flagSince: {
      FD_FIXED: { since: '6.0', probe: { args: [0, { cancelFlags: CANCEL_FLAGS.FD | CANCEL_FLAGS.FD_FIXED }], refused: -22 /* else EBADF: no file table */ } },
      USERDATA: { since: '6.6', probe: { args: [0x7e57n, { cancelFlags: CANCEL_FLAGS.USERDATA }], refused: -22 /* else ENOENT */ } },
      OP: { since: '6.6', probe: { args: [0, { cancelFlags: CANCEL_FLAGS.OP }], set: { len: 0 /* IORING_OP_NOP */ }, refused: -22 /* else ENOENT */ } },
    },
    doc: 'Cancels an in-flight request by user_data; res 0 found, -ENOENT not found, -EALREADY running.',
  },
  {
    name: 'linkTimeout', code: 15, constant: 'LINK_TIMEOUT', since: '5.5', liburing: 'io_uring_prep_link_timeout', result: 'linkTimer',
    params: [
      { name: 'time', kind: 'timerSpec', field: 'addr', positional: true, doc: 'milliseconds, { sec, nsec }, or bigint nanoseconds (ring.timeoutUpdate() can change it)' },
      { name: 'timeoutFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_TIMEOUT_* flags' },
    ],
    fixed: { len: 1 },
    sqe: timeoutUse(true),
    program: { flags: { opFlags: TIMEOUT_FLAGS.ABS | TIMEOUT_FLAGS.BOOTTIME | TIMEOUT_FLAGS.REALTIME | TIMEOUT_FLAGS.ETIME_SUCCESS }, tolerate: ['fd'] },
    doc: 'Times the linked request just before it (that request must have link()); resolves true if it fired, false if the request finished first.',
  },
  {
    name: 'filesUpdate', code: 20, constant: 'FILES_UPDATE', since: '5.6', liburing: 'io_uring_prep_files_update', result: 'number',
    params: [
      { name: 'fds', kind: 'fdList', field: 'addr', positional: true, doc: 'process fds to put in the slots (registered as the ring\'s own references), null or -1 to empty one, FILES_SKIP (-2) to leave one' },
      { name: 'offset', kind: 'slotOffset', field: 'off', positional: true, optional: true, default: 0, doc: "first slot; 'auto' = free slots the kernel picks (the promise resolves their numbers)" },
    ],
    sqe: {
      source: 'io_uring/rsrc.c io_files_update_prep, io_files_update (6.18)',
      fields: {
        ...UNUSED,
        fd: IGNORED,
        off: scalar("first slot (u32), or IORING_FILE_INDEX_ALLOC: the kernel writes the slots it picked into the array"),
        addr: mem({ what: '__s32 fd array', access: 'readwrite', when: 'complete', size: { slot: 'len', times: 4 } }),
        len: scalar('number of fds (> 0)'),
        opFlags: ZERO,
        fileIndex: ZERO,
      },
      fixedFile: 'refused', // io_files_update_prep: -EINVAL
      slotEffect: 'update',
    },
    doc: 'Puts files into registered-file-table slots from the ring (IORING_REGISTER_FILES_UPDATE as a request); res = slots updated.',
  },
  {
    // io_uring/epoll.c io_epoll_ctl_prep (6.18): buf_index, splice_fd_in 0; fd = epfd (a process fd:
    // the op has no needs_file), len = op, off = fd, addr = struct epoll_event (copied at prep)
    name: 'epollCtl', code: 29, constant: 'EPOLL_CTL', since: '5.6', liburing: 'io_uring_prep_epoll_ctl', result: 'void',
    params: [
      { name: 'epfd', kind: 'fd', field: 'fd', positional: true, doc: 'the epoll instance (epollCreate())' },
      { name: 'op', kind: 'choice', field: 'len', positional: true, values: { add: EPOLL_CTL.ADD, del: EPOLL_CTL.DEL, mod: EPOLL_CTL.MOD }, doc: "'add', 'del', 'mod' (EPOLL_CTL_*)" },
      { name: 'fd', kind: 'u32', field: 'off', positional: true, doc: 'the file descriptor to add, change or remove' },
      { name: 'event', kind: 'epollEvent', field: 'addr', positional: true, doc: "{ events, data? } (data defaults to fd); null with 'del'" },
    ],
    doc: 'epoll_ctl(2) through the ring.',
  },
  {
    name: 'msgRing', code: 40, constant: 'MSG_RING', since: '5.18', liburing: 'io_uring_prep_msg_ring', result: 'number',
    params: [
      { name: 'target', kind: 'ringTarget', field: 'fd', positional: true, doc: 'the ring that gets the message: a RingHandle (ring.handle(), postMessage-able), a Ring, a FixedFile slot holding a ring, or a raw ring fd' },
      { name: 'message', kind: 'ringMessage', field: 'addr', positional: true, doc: '{ data, value?, flags? } (IORING_MSG_DATA) or { file, slot?, skipCqe? } (IORING_MSG_SEND_FD, 6.0); the target CQE\'s user_data is always in ringflow\'s message space' },
    ],
    sqe: {
      source: 'io_uring/msg_ring.c io_msg_ring_prep, io_msg_ring_data, io_msg_send_fd (6.13+, unchanged in 6.18)',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'the target ring (IOSQE_FIXED_FILE: a slot of this ring holding it); not a ring: -EBADFD' },
        off: scalar('user_data of the target CQE'),
        addr: scalar('command: IORING_MSG_DATA 0, IORING_MSG_SEND_FD 1 (else -EINVAL)'),
        len: when('addr', MSG_RING_COMMANDS.SEND_FD, ZERO, scalar('res of the target CQE')),
        opFlags: flags(MSG_RING_FLAGS),
        bufIndex: ZERO, // io_msg_ring_prep: -EINVAL
        personality: ZERO, // io_msg_ring_prep: -EINVAL
        fileIndex: when('addr', MSG_RING_COMMANDS.SEND_FD, scalar('target slot + 1, or IORING_FILE_INDEX_ALLOC'), when('opFlags', MSG_RING_FLAGS.FLAGS_PASS, scalar('flags of the target CQE'), ZERO)),
        addr3: when('addr', MSG_RING_COMMANDS.SEND_FD, scalar("source slot of this ring's file table"), ZERO),
      },
      fixedFile: 'slot',
    },
    // io_uring/msg_ring.c history: SEND_FD and CQE_SKIP 6.0 (before, a nonzero addr or flag is
    // EINVAL at prep); FLAGS_PASS 6.3. A kernel with the flag passes prep and fails the lookup of
    // fd -1 (EBADF); one without refuses the flag at prep (EINVAL).
    flagSince: {
      CQE_SKIP: { since: '6.0', probe: { args: [0, { file: 0, slot: 0, skipCqe: true }], set: { fd: -1 }, refused: -22 } },
      FLAGS_PASS: { since: '6.3', probe: { args: [0, { data: 0, flags: 0 }], set: { fd: -1 }, refused: -22 } },
    },
    doc: 'Posts a CQE to another ring (a message: data and value the sender chose) or passes it a file from this ring\'s registered table (6.0). Used between rings of different threads (docs/threads.md).',
  },
  {
    // io_uring/waitid.c io_waitid_prep (6.18): addr, buf_index, addr3, waitid_flags 0; len = idtype,
    // fd = id, file_index = options, addr2 = siginfo_t written at completion
    name: 'waitid', code: 50, constant: 'WAITID', since: '6.7', liburing: 'io_uring_prep_waitid', result: 'number', cancellable: true,
    params: [
      { name: 'idtype', kind: 'choice', field: 'len', positional: true, values: { all: P.ALL, pid: P.PID, pgid: P.PGID, pidfd: P.PIDFD }, doc: "'pid', 'pgid', 'pidfd' or 'all' (P_*)" },
      { name: 'id', kind: 'i32', field: 'fd', positional: true, optional: true, default: 0, doc: 'the pid, process group, or pidfd (ignored for all)' },
      { name: 'waitOptions', kind: 'bitmask', field: 'fileIndex', positional: true, optional: true, default: W.EXITED, values: W, doc: 'W.EXITED (default), STOPPED, CONTINUED, NOHANG, NOWAIT' },
      { name: 'info', kind: 'siginfo', field: 'off', optional: true, internal: true, doc: 'siginfo_t the kernel fills, parsed into { pid, uid, code, status }' },
    ],
    doc: 'waitid(2): resolves { pid, uid, code: CLD.*, status } when a child changes state (null with W.NOHANG and nothing to report).',
  },
  {
    // io_uring/futex.c io_futex_prep (6.18): len, futex_flags, buf_index, file_index 0; fd = FUTEX2_*,
    // addr = the word, addr2 = expected value, addr3 = mask
    name: 'futexWait', code: 51, constant: 'FUTEX_WAIT', since: '6.7', liburing: 'io_uring_prep_futex_wait', result: 'void', cancellable: true,
    params: [
      { name: 'word', kind: 'futexWord', field: 'addr', positional: true, doc: 'Int32Array / Uint32Array holding the futex word (a SharedArrayBuffer to share it with workers)' },
      { name: 'index', kind: 'futexIndex', field: 'addr', positional: true, doc: 'element index of the word' },
      { name: 'expected', kind: 'futexValue', field: 'off', positional: true, doc: 'sleep only while the word holds this value (else EAGAIN)' },
      { name: 'mask', kind: 'futexValue', field: 'addr3', optional: true, default: FUTEX_BITSET_MATCH_ANY, doc: 'wake bitset (default FUTEX_BITSET_MATCH_ANY)' },
      { name: 'shared', kind: 'futexShared', field: 'fd', optional: true, doc: 'true: a shared futex (other processes); default private (FUTEX2_PRIVATE: this process, its threads)' },
    ],
    doc: 'Waits on a futex word until futexWake (or FUTEX_WAKE from any thread of the process); rejects EAGAIN when the word is not `expected`.',
  },
  {
    name: 'futexWake', code: 52, constant: 'FUTEX_WAKE', since: '6.7', liburing: 'io_uring_prep_futex_wake', result: 'number',
    params: [
      { name: 'word', kind: 'futexWord', field: 'addr', positional: true, doc: 'Int32Array / Uint32Array holding the futex word' },
      { name: 'index', kind: 'futexIndex', field: 'addr', positional: true, doc: 'element index of the word' },
      { name: 'count', kind: 'futexCount', field: 'off', positional: true, optional: true, default: 1, doc: 'most waiters to wake (default 1)' },
      { name: 'mask', kind: 'futexValue', field: 'addr3', optional: true, default: FUTEX_BITSET_MATCH_ANY, doc: 'wake waiters whose bitset meets this mask' },
      { name: 'shared', kind: 'futexShared', field: 'fd', optional: true, doc: 'true: wake shared-futex waiters; default private' },
    ],
    doc: 'Wakes up to `count` waiters of a futex word; resolves how many it woke.',
  },
  {
    // io_uring/futex.c io_futexv_prep (6.18): fd, buf_index, file_index, addr2, futex_flags, addr3 0;
    // addr = struct futex_waitv array, len = count (1..FUTEX_WAITV_MAX)
    name: 'futexWaitv', code: 53, constant: 'FUTEX_WAITV', since: '6.7', liburing: 'io_uring_prep_futex_waitv', result: 'number', cancellable: true,
    params: [
      { name: 'waiters', kind: 'futexWaitv', field: 'addr', positional: true, doc: 'up to 128 { word, index, expected, shared? }' },
    ],
    doc: 'futex_waitv(2): waits on several futex words; resolves the index of the one woken.',
  },
  {
    name: 'fixedFdInstall', code: 54, constant: 'FIXED_FD_INSTALL', since: '6.8', liburing: 'io_uring_prep_fixed_fd_install', result: 'number',
    params: [
      { ...fd, doc: 'the FixedFile slot whose file gets a process fd (the slot keeps it too)' },
      { name: 'installFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_FIXED_FD_NO_CLOEXEC (1): the new fd without O_CLOEXEC' },
    ],
    sqe: {
      source: 'io_uring/openclose.c io_install_fixed_fd_prep (6.8+, unchanged in 6.18)',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'slot of the registered file table' },
        off: ZERO,
        addr: ZERO,
        len: ZERO,
        opFlags: flags(FIXED_FD_INSTALL_FLAGS),
        bufIndex: ZERO,
        personality: ZERO, // REQ_F_CREDS: -EPERM
        fileIndex: ZERO,
        addr3: ZERO,
      },
      fixedFile: 'required', // io_install_fixed_fd_prep: -EBADF without it
    },
    doc: 'Installs the file of a registered-file-table slot as a new process fd (O_CLOEXEC unless IORING_FIXED_FD_NO_CLOEXEC); res = the fd.',
  },
  {
    // io_uring/epoll.c io_epoll_wait_prep (6.18): off, rw_flags, buf_index, splice_fd_in 0; fd = epfd
    // (needs_file), addr = struct epoll_event array, len = maxevents; no events yet: armed on the epfd's poll
    name: 'epollWait', code: 59, constant: 'EPOLL_WAIT', since: '6.15', liburing: 'io_uring_prep_epoll_wait', result: 'number', cancellable: true,
    params: [
      { name: 'epfd', kind: 'fd', field: 'fd', positional: true, doc: 'the epoll instance' },
      { name: 'maxEvents', kind: 'epollEvents', field: 'addr', positional: true, optional: true, default: 64, doc: 'most events to return (default 64)' },
    ],
    sqe: {
      source: 'io_uring/epoll.c io_epoll_wait_prep (6.18)',
      fields: {
        ...UNUSED,
        fd: { use: 'fd', doc: 'the epoll instance' },
        off: ZERO,
        addr: mem({ what: 'struct epoll_event array', access: 'write', when: 'complete', size: { slot: 'len', times: 12 } }),
        len: scalar('maxevents'),
        opFlags: ZERO,
        bufIndex: ZERO,
        fileIndex: ZERO,
      },
      fixedFile: 'slot',
    },
    doc: 'epoll_wait(2) through the ring: resolves the ready events [{ events, data }] once there is at least one.',
  },
];
