/** Opcodes about the ring itself and its requests: nop, timeouts, cancellation, the file table, msg_ring, poll, futex, waitid, epoll. */
import { type SqeUse, ZERO, IGNORED, TIMESPEC_MEM, scalar, flags, when, allBits, NOP_FLAGS, TIMEOUT_FLAGS, TIMEOUT_REMOVE_FLAGS, CANCEL_FLAGS, FIXED_FD_INSTALL_FLAGS, mem } from './sqe-fields.js';
import { type OpDesc, fd, UNUSED } from './desc.js';
import { MSG_RING_COMMANDS, MSG_RING_FLAGS } from './msg-ring-abi.js';

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
  { name: 'pollAdd', code: 6, constant: 'POLL_ADD', since: '5.1', liburing: 'io_uring_prep_poll_add', doc: 'poll(2) one fd (multishot 5.13)' },
  { name: 'pollRemove', code: 7, constant: 'POLL_REMOVE', since: '5.1', liburing: 'io_uring_prep_poll_remove', doc: 'remove or update a poll request' },
  {
    name: 'timeout', code: 11, constant: 'TIMEOUT', since: '5.4', liburing: 'io_uring_prep_timeout', result: 'timer', cancellable: true,
    params: [
      { name: 'time', kind: 'timespec', field: 'addr', positional: true, doc: 'milliseconds, { sec, nsec }, or bigint nanoseconds' },
      { name: 'count', kind: 'u32', field: 'off', optional: true, default: 0, doc: 'also complete after this many other completions (0 = pure timer)' },
      { name: 'timeoutFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_TIMEOUT_* (ABS, BOOTTIME, REALTIME, ETIME_SUCCESS, MULTISHOT)' },
    ],
    fixed: { len: 1 },
    sqe: timeoutUse(false),
    program: { flags: { opFlags: allBits(TIMEOUT_FLAGS) }, tolerate: ['fd'] },
    // a 1 ms multishot timer of one shot fires once (-ETIME); before 6.4 MULTISHOT is EINVAL
    flagSince: { MULTISHOT: { since: '6.4', probe: { args: [1, { count: 1, timeoutFlags: TIMEOUT_FLAGS.MULTISHOT }], refused: -22, expect: -62 /* ETIME */ } } },
    doc: 'A timer. The kernel completes it with -ETIME when it fires (ring.timeout() resolves true) or 0 when `count` other completions happened first (resolves false).',
  },
  {
    name: 'timeoutRemove', code: 12, constant: 'TIMEOUT_REMOVE', since: '5.5', liburing: 'io_uring_prep_timeout_remove', result: 'void',
    params: [
      { name: 'target', kind: 'userData', field: 'addr', positional: true, doc: 'user_data of the timeout to remove' },
      { name: 'timeoutFlags', kind: 'u32', field: 'opFlags', optional: true, default: 0, doc: 'IORING_TIMEOUT_UPDATE etc.' },
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
    name: 'asyncCancel', code: 14, constant: 'ASYNC_CANCEL', since: '5.5', liburing: 'io_uring_prep_cancel64', result: 'number',
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
      { name: 'time', kind: 'timespec', field: 'addr', positional: true, doc: 'milliseconds, { sec, nsec }, or bigint nanoseconds' },
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
  { name: 'epollCtl', code: 29, constant: 'EPOLL_CTL', since: '5.6', liburing: 'io_uring_prep_epoll_ctl', doc: 'epoll_ctl(2)' },
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
  { name: 'waitid', code: 50, constant: 'WAITID', since: '6.7', liburing: 'io_uring_prep_waitid', doc: 'waitid(2)' },
  { name: 'futexWait', code: 51, constant: 'FUTEX_WAIT', since: '6.7', liburing: 'io_uring_prep_futex_wait', doc: 'futex wait' },
  { name: 'futexWake', code: 52, constant: 'FUTEX_WAKE', since: '6.7', liburing: 'io_uring_prep_futex_wake', doc: 'futex wake' },
  { name: 'futexWaitv', code: 53, constant: 'FUTEX_WAITV', since: '6.7', liburing: 'io_uring_prep_futex_waitv', doc: 'futex_waitv(2)' },
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
  { name: 'epollWait', code: 59, constant: 'EPOLL_WAIT', since: '6.15', liburing: 'io_uring_prep_epoll_wait', doc: 'epoll_wait(2)' },
];
