/**
 * A valid value for every builder parameter kind of the opcode table, so that a test that varies one
 * parameter leaves only that one to decide (test/security/input-sweep.test.ts, test/build-fast-path.test.ts).
 */
import { fixed, type OpDesc } from '../src/index.js';
import type { ParamDesc, ParamKind } from '../src/ops/table.js';
import { systemPageSize } from '../src/ops/build-files.js';
import { viewAddress } from '../src/ring/memory.js';

/** One whole page of JS memory (madvise's pageRange). */
const onePage = (() => {
  const page = systemPageSize();
  const ab = new ArrayBuffer(3 * page);
  const at = (page - (viewAddress(new Uint8Array(ab)) % page)) % page;
  return new Uint8Array(ab, at, page);
})();
/** A valid value per kind (a real file for fds), so only the bad argument can be refused. */
const GOOD = (k: ParamKind, fd: number): unknown =>
  ({
    fd, dirfd: -100, u32: 0, i32: 0, u16: 0, position: 0, u64: 0, userData: 0, buffer: Buffer.alloc(8), iovecs: [Buffer.alloc(8)], path: 'no-such-file', timespec: 1, statx: undefined, direct: 0, fdList: [fd], slotOffset: 0,
    sockaddr: { address: '127.0.0.1', port: 0 }, sockaddrOut: undefined, msghdr: { buffers: [Buffer.alloc(8)] }, msgFlags: 0, flag: false, bufferGroup: 0, fixedBuffer: 0, dataBuffer: Buffer.alloc(8), fixedData: Buffer.alloc(8),
    choice: undefined, bitmask: 0, sockType: 'stream', optname: 0, bufferPool: Buffer.alloc(64), bufferCount: 1, optval: Buffer.alloc(4), poolGroup: 0,
    offset: 0, length64: 0, byteCount: 0, openHow: 0, xattrName: 'user.x', xattrValue: Buffer.alloc(1), xattrOut: 0, pipeFds: undefined, spliceFdIn: fd, pageRange: onePage,
    ringTarget: 0, ringMessage: { data: 0 },
    cmdArea: Buffer.alloc(8), zcrxIfq: 0,
    pollMask: 1, pollUpdate: 1, newUserData: 0, target: 0, timerSpec: 1, timerUpdate: 1, futexWord: new Int32Array(new SharedArrayBuffer(8)), futexIndex: 0, futexValue: 0,
    futexShared: false, futexCount: 1, futexWaitv: [{ word: new Int32Array(2), expected: 0 }], epollEvent: { events: 1 }, epollEvents: 1, siginfo: undefined, nopFile: fd, mshotGroup: 0,
  })[k];

/** A valid value for parameter `q` of `o` (`fd`: an open process fd for fd kinds); an fd parameter of an op that takes only slots gets a FixedFile. */
export const goodFor = (o: OpDesc, q: ParamDesc, fd: number): unknown => (q.kind === 'fd' && o.sqe?.fixedFile === 'required' ? fixed(0) : q.kind === 'choice' ? Object.keys(q.values!)[0] : GOOD(q.kind, fd));
