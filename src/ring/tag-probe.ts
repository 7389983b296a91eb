/**
 * Does IORING_UNREGISTER_BUFFERS post the tags of the table it removes? A kernel fact ringflow
 * needs to know when an unregistered buffer's memory is free (src/ring/registered-buffers.ts):
 *
 *  - Linux 6.13 and later (resource nodes reworked; 6.18 here): the table's buffers are put like
 *    any other resource, and each tag's CQE comes when the last request using its buffer ends,
 *    which may be after the unregister returned.
 *  - Before (Debian's 6.1 and 6.12, tested here): the unregister quiesces: it returns only once no
 *    request holds the table, frees it, and posts no tag at all. Memory is free when it returns.
 *
 * Probed, not read off the version: once per environment, on a private scratch ring (no task-run
 * flags), one tagged 4 KiB buffer is registered and the table unregistered with nothing in flight;
 * a kernel that posts tags has the CQE in the CQ when the call returns.
 */
import { binding } from '../native.js';
import { EnterFlags, RegisterOp } from './abi.js';
import { withScratchRing } from './kernel-probe.js';
import { privateAddress } from './memory.js';

let answer: boolean | null | undefined;

/** true: tags come (at the last user's end); false: the unregister quiesced and posts none; null: no scratch ring (memlock, io_uring disabled). */
export function unregisterPostsTags(): boolean | null {
  if (answer === undefined) answer = ask();
  return answer;
}

function ask(): boolean | null {
  const r = withScratchRing(({ fd, handle, cqRing, off }) => {
    const memory = Buffer.alloc(4096); // (Buffer.alloc never hands out the shared pool: an ArrayBuffer of its own)
    const iov = Buffer.alloc(16);
    iov.writeBigUInt64LE(BigInt(privateAddress(memory.buffer) + memory.byteOffset), 0);
    iov.writeBigUInt64LE(4096n, 8);
    const tags = new BigUint64Array([0x7461_6700n]);
    const rr = Buffer.alloc(32); // struct io_uring_rsrc_register: nr, flags, resv2, data, tags
    rr.writeUInt32LE(1, 0);
    rr.writeBigUInt64LE(BigInt(privateAddress(iov.buffer) + iov.byteOffset), 16);
    rr.writeBigUInt64LE(BigInt(privateAddress(tags.buffer)), 24);
    if ((binding.ringRegister(fd, RegisterOp.REGISTER_BUFFERS2, rr, 32) as number) < 0) return null;
    if ((binding.ringRegister(fd, RegisterOp.UNREGISTER_BUFFERS, null, 0) as number) < 0) return null;
    binding.ringEnter(handle, 0, 0, EnterFlags.GETEVENTS); // (flushes what a kernel may hold back)
    const cq32 = new Uint32Array(cqRing);
    return cq32[off.cqTail >> 2] !== cq32[off.cqHead >> 2];
  });
  return typeof r === 'string' ? null : r;
}
