/** Opcodes on registered and provided buffers: read/write (v) fixed, provide/remove buffers. */

import { type OpDesc } from './desc.js';

export const BUFFER_OPS: readonly OpDesc[] = [
  { name: 'readFixed', code: 4, constant: 'READ_FIXED', since: '5.1', liburing: 'io_uring_prep_read_fixed', doc: 'read into a registered buffer' },
  { name: 'writeFixed', code: 5, constant: 'WRITE_FIXED', since: '5.1', liburing: 'io_uring_prep_write_fixed', doc: 'write from a registered buffer' },
  { name: 'provideBuffers', code: 31, constant: 'PROVIDE_BUFFERS', since: '5.7', liburing: 'io_uring_prep_provide_buffers', doc: 'legacy provided buffers' },
  { name: 'removeBuffers', code: 32, constant: 'REMOVE_BUFFERS', since: '5.7', liburing: 'io_uring_prep_remove_buffers', doc: 'remove legacy provided buffers' },
  { name: 'readvFixed', code: 60, constant: 'READV_FIXED', since: '6.15', liburing: 'io_uring_prep_readv_fixed', doc: 'readv into registered buffers' },
  { name: 'writevFixed', code: 61, constant: 'WRITEV_FIXED', since: '6.15', liburing: 'io_uring_prep_writev_fixed', doc: 'writev from registered buffers' },
];
