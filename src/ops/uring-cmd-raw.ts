/**
 * IORING_OP_URING_CMD (5.19) in its raw form: the file's own ->uring_cmd handler reads `cmd_op`
 * and a command area the driver defines (NVMe passthrough's struct nvme_uring_cmd, ublk's control
 * commands, a block device's discard). The opcode table's `uringCmd` entry (src/ops/ops-net.ts)
 * is the socket form; this is the same opcode with the raw parameters, a variant of that entry
 * (same code, SQE fields and probe name 'uringCmd'), built by the same table-driven builder.
 *
 * The command area starts at SQE byte 48: 16 bytes in a 64-byte SQE, 80 in a 128-byte one (a
 * ring set up with sqe128; checked when the request is submitted). Kernel facts (6.18):
 * io_uring/uring_cmd.c io_uring_cmd_prep (__pad1 must be 0; uring_cmd_flags FIXED 1 needs
 * buf_index, MULTISHOT 2 needs buffer select) and io_uring_cmd (IO_URING_F_SQE128/CQE32 tell the
 * driver the entry sizes); block/ioctl.c blkdev_uring_cmd (BLOCK_URING_CMD_DISCARD, 6.12: start in
 * addr, length in addr3 = the first 8 bytes of the area; ioprio, len, rw_flags, file_index must be 0).
 */
import { opByName, type OpDesc } from './table.js';
import { buildSqe, op as builders } from './build.js';
import { scalar, IGNORED } from './sqe-fields.js';
import { fd } from './desc.js';
import type { Sqe, Fd } from './sqe.js';

/** IORING_URING_CMD_FIXED (uring_cmd_flags): buf_index names a registered buffer. */
const URING_CMD_FIXED = 1;

/** Commands of block devices (include/uapi/linux/blkdev.h, 6.12): _IO(0x12, n). */
export const BLOCK_URING_CMD = { DISCARD: 0x1200 } as const;

const SOCKET_FORM = opByName('uringCmd')!;

/** The raw uring_cmd: a variant of the table's uringCmd entry with driver-defined parameters. */
export const URING_CMD_RAW: OpDesc = {
  ...SOCKET_FORM,
  name: 'uringCmdRaw',
  liburing: 'io_uring_prep_uring_cmd',
  params: [
    fd,
    { name: 'cmdOp', kind: 'u32', field: 'off', positional: true, doc: "the driver's command number (sqe->cmd_op; the 32 bits after it stay 0)" },
    { name: 'cmd', kind: 'cmdArea', field: 'addr3', positional: true, optional: true, doc: 'command area, copied into the SQE from byte 48: at most 16 bytes (64-byte SQE) or 80 (a ring with sqe128)' },
    { name: 'addr', kind: 'u64', field: 'addr', optional: true, doc: 'sqe->addr, driver-defined (a block device discard: the start offset)' },
    { name: 'bufIndex', kind: 'u16', field: 'bufIndex', optional: true, impliesOpFlags: URING_CMD_FIXED, doc: 'registered buffer index for the driver to use (IORING_URING_CMD_FIXED)' },
  ],
  sqe: {
    ...SOCKET_FORM.sqe!,
    source: 'io_uring/uring_cmd.c io_uring_cmd_prep (6.18); the fields past cmd_op are the driver\'s',
    fields: {
      ...SOCKET_FORM.sqe!.fields,
      off: scalar('cmd_op (low 32 bits); __pad1 (high 32 bits) must be 0'),
      addr: scalar('driver-defined'),
      fileIndex: IGNORED,
      addr3: scalar('command area bytes 0..7 (cmd[]; with bytes 56..63, and 64..127 in a 128-byte SQE)'),
    },
  },
  doc: 'raw uring_cmd: `cmdOp` and a command area for the file\'s driver; res (and, on a cqe32 ring, big_cqe[0] through ring.runBig()) as the driver says.',
};

declare module './build.js' {
  interface Builders {
    /** IORING_OP_URING_CMD, raw: the driver's `cmdOp` and command area (≤ 16 bytes, or ≤ 80 on a ring with sqe128). */
    uringCmdRaw(fd: Fd, cmdOp: number, cmd?: BufferLike, options?: CommonOptions & { addr?: number | bigint; bufIndex?: number }): Sqe;
  }
}

(builders as unknown as Record<string, unknown>).uringCmdRaw = (...args: unknown[]): Sqe => buildSqe(URING_CMD_RAW, args);
