/**
 * Opcodes on registered and provided buffers: read/write (v) fixed, provide/remove buffers, multishot read.
 *
 * Kernel facts (Linux 6.18): io_uring/rw.c (__io_prep_rw reads buf_index; io_init_rw_fixed /
 * io_import_reg_buf check that [addr, addr + len) lies inside registered buffer buf_index, else
 * -EFAULT; READV_FIXED / WRITEV_FIXED 6.15: io_rw_prep_reg_vec copies the iovec array at prep and
 * each iovec must lie inside the registered buffer), io_uring/kbuf.c io_provide_buffers_prep /
 * io_remove_buffers_prep (count in fd, at most 1 << 16; buffer ids bid..bid + count - 1 < 1 << 16).
 *
 * No program permits yet: a registered buffer index or a buffer group names memory JS registered,
 * which a program may reach only through a grant the engine does not have yet.
 */
import { type SqeUse, type FieldUse, ZERO, IGNORED, scalar, flags, RWF_FLAGS } from './sqe-fields.js';
import { type OpDesc, type ParamDesc, fd, position, rwFlags, UNUSED } from './desc.js';

/** A registered buffer index (io_uring_register BUFFERS / BUFFERS2). */
const bufIndex: ParamDesc = {
  name: 'bufIndex', kind: 'fixedBuffer', field: 'bufIndex', positional: true,
  doc: 'registered buffer index (IORING_REGISTER_BUFFERS); `buffer` must be a view inside that buffer',
};
/** READ_FIXED/WRITE_FIXED: the index may come from the buffer argument (a RegisteredBuffer or its span()). */
const bufIndexOrOwn: ParamDesc = {
  ...bufIndex, optional: true, default: -1,
  doc: 'registered buffer index; omitted (-1) when `buffer` is a RegisteredBuffer of ring.buffers or its span(), which name it',
};
const fixedData = (what: string): ParamDesc => ({
  name: 'buffer', kind: 'fixedData', field: 'addr', positional: true,
  doc: `${what}: a RegisteredBuffer (ring.buffers.at(i)), its span(offset, length), or a view inside registered buffer bufIndex`,
});

/** READ_FIXED / WRITE_FIXED / READV_FIXED / WRITEV_FIXED (rw.c __io_prep_rw, io_prep_rw_fixed, 6.18). */
function fixedUse(vectored: boolean): SqeUse {
  const inside: FieldUse = scalar('address inside registered buffer buf_index (checked against it, not followed as user memory: -EFAULT outside)');
  return {
    source: `io_uring/rw.c __io_prep_rw, ${vectored ? 'io_rw_prep_reg_vec (6.15)' : 'io_init_rw_fixed'} (6.18)`,
    fixedFile: 'slot',
    fields: {
      ...UNUSED,
      ioprio: scalar('I/O priority (ioprio_check_cap)'),
      fd: { use: 'fd', doc: 'file to read or write' },
      off: scalar('file position; -1 = current'),
      addr: vectored ? scalar('iovec array pointer (len entries, copied at prep); each iovec lies inside registered buffer buf_index') : inside,
      len: scalar(vectored ? 'iovec count' : 'byte count'),
      opFlags: flags(RWF_FLAGS),
      bufIndex: scalar('registered buffer index'),
      fileIndex: scalar('write_stream (u8 @44; block devices with write streams)'),
      addr3: IGNORED,
    },
  };
}

const count = (doc: string): ParamDesc => ({ name: 'count', kind: 'bufferCount', field: 'fd', positional: true, doc });
const group: ParamDesc = { name: 'group', kind: 'poolGroup', field: 'bufIndex', positional: true, doc: 'buffer group id (buf_group)' };

export const BUFFER_OPS: readonly OpDesc[] = [
  {
    name: 'readFixed', code: 4, constant: 'READ_FIXED', since: '5.1', liburing: 'io_uring_prep_read_fixed', result: 'number', cancellable: true, lengthOption: true,
    params: [fd, fixedData('destination'), position, bufIndexOrOwn, rwFlags],
    sqe: fixedUse(false),
    doc: 'pread(2) into a registered buffer; res = bytes read.',
  },
  {
    name: 'writeFixed', code: 5, constant: 'WRITE_FIXED', since: '5.1', liburing: 'io_uring_prep_write_fixed', result: 'number', cancellable: true, lengthOption: true,
    params: [fd, fixedData('source'), position, bufIndexOrOwn, rwFlags],
    sqe: fixedUse(false),
    doc: 'pwrite(2) from a registered buffer; res = bytes written.',
  },
  {
    name: 'provideBuffers', code: 31, constant: 'PROVIDE_BUFFERS', since: '5.7', liburing: 'io_uring_prep_provide_buffers', result: 'number',
    params: [
      { name: 'buffer', kind: 'bufferPool', field: 'addr', positional: true, doc: 'memory lent to the kernel: buffer i is bytes [i × size, (i + 1) × size); kept reachable until releaseProvidedBuffers(group)' },
      { name: 'size', kind: 'u32', field: 'len', positional: true, doc: 'bytes per buffer (> 0)' },
      count('number of buffers, 1 to 65536; count × size must fit the buffer'),
      group,
      { name: 'firstId', kind: 'u16', field: 'off', positional: true, optional: true, default: 0, doc: 'buffer id of the first buffer; ids firstId..firstId + count - 1 (< 65536)' },
    ],
    sqe: {
      source: 'io_uring/kbuf.c io_provide_buffers_prep (6.18)',
      fields: {
        ...UNUSED,
        fd: scalar('number of buffers (1 to 1 << 16)'),
        off: scalar('first buffer id'),
        addr: scalar('base address of the buffers (access_ok at prep; written by later requests that select them)'),
        len: scalar('bytes per buffer'),
        opFlags: ZERO,
        bufIndex: scalar('buffer group id'),
        fileIndex: ZERO,
      },
    },
    doc: 'Legacy provided buffers: lends `count` buffers of `size` bytes to group `group` (requests with bufferGroup pick one; the CQE flags carry its id); res = 0.',
  },
  {
    name: 'removeBuffers', code: 32, constant: 'REMOVE_BUFFERS', since: '5.7', liburing: 'io_uring_prep_remove_buffers', result: 'number',
    params: [count('number of buffers to take back, 1 to 65536'), group],
    sqe: {
      source: 'io_uring/kbuf.c io_remove_buffers_prep (6.18)',
      fields: { ...UNUSED, fd: scalar('number of buffers (1 to 1 << 16)'), off: ZERO, addr: ZERO, len: ZERO, opFlags: ZERO, bufIndex: scalar('buffer group id'), fileIndex: ZERO },
    },
    doc: 'Takes up to `count` unused buffers back from a legacy group; res = buffers removed (-ENOENT: no such group).',
  },
  {
    name: 'readvFixed', code: 60, constant: 'READV_FIXED', since: '6.15', liburing: 'io_uring_prep_readv_fixed', result: 'number', cancellable: true,
    params: [fd, { name: 'buffers', kind: 'iovecs', field: 'addr', positional: true, doc: 'views inside registered buffer bufIndex, filled in order' }, position, bufIndex, rwFlags],
    sqe: fixedUse(true),
    doc: 'preadv2(2) into registered-buffer ranges (6.15); res = bytes read.',
  },
  {
    name: 'writevFixed', code: 61, constant: 'WRITEV_FIXED', since: '6.15', liburing: 'io_uring_prep_writev_fixed', result: 'number', cancellable: true,
    params: [fd, { name: 'buffers', kind: 'iovecs', field: 'addr', positional: true, doc: 'views inside registered buffer bufIndex, written in order' }, position, bufIndex, rwFlags],
    sqe: fixedUse(true),
    doc: 'pwritev2(2) from registered-buffer ranges (6.15); res = bytes written.',
  },
  {
    // io_uring/rw.c io_read_mshot_prep (6.18): needs IOSQE_BUFFER_SELECT (else -EINVAL), addr 0;
    // pollable files only (a regular file: -EBADFD); EOF (a pipe's writers gone) ends it with res 0
    name: 'readMultishot', code: 49, constant: 'READ_MULTISHOT', since: '6.7', liburing: 'io_uring_prep_read_multishot', result: 'number', cancellable: true,
    params: [
      { ...fd, doc: 'a pollable file: pipe, FIFO, socket, eventfd, tty' },
      { name: 'group', kind: 'mshotGroup', field: 'bufIndex', positional: true, doc: 'the provided-buffer group each read takes a buffer from: a BufferGroup (ring.bufferGroup()), or its id' },
    ],
    doc: 'Multishot read: a CQE per read, each into a buffer of the group; builder only (ring.readMultishot() iterates the buffers).',
  },
];
