/// <reference types="node" preserve="true" />
/**
 * ringflow: io_uring for TypeScript on Node.js.
 *
 * ```ts
 * import { Ring, O } from 'ringflow';
 * await using ring = new Ring();
 * const fd = await ring.openat('/etc/hostname', O.RDONLY);
 * const buf = Buffer.alloc(64);
 * const n = await ring.read(fd, buf);
 * ```
 */
export { Ring, type RingStats, type RunOptions } from './ring/ring.js';
import './ring/methods.js'; // installs ring.read(), ring.openat(), … from the opcode table
import './ring/ring-programs.js'; // installs ring.registerProgram(), allowFd(), … (completion programs)
import './ring/introspection.js'; // installs ring.supports(), hasFeature(), stats(), register(), enable()
import './ring/chain.js'; // installs ring.chain() and ring.link() (chains that say what broke)
import './ring/bulk.js'; // installs ring.bulk() (completions in bulk)
export type { ChainOptions, LinkOptions, ChainOutcome, StepOutcome, BreakReason } from './ring/chain.js';
import './ring/cancel.js'; // installs ring.cancel() (by fd, op, user_data, any; one or all)
export type { CancelTarget, CancelOptions } from './ring/cancel.js';
import './ring/methods-net.js'; // socket and buffer builder/method types; ring.getsockopt(), …
import './ring/methods-files.js'; // file and path builder/method types (splice, xattrs, renameat, pipe, …)
export type { OpenHow, SpliceOptions, PipeOptions, FadviseAdvice, MadviseAdvice } from './ring/methods-files.js';
export { SPLICE_F, FALLOC_FL, POSIX_FADV, MADV, SYNC_FILE_RANGE, RENAME, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, LINKAT_FLAGS, XATTR, XATTR_SIZE_MAX, PIPE_FLAGS, RESOLVE } from './ops/file-abi.js';
import './ring/messages.js'; // installs ring.handle(), sendMessage(), sendFile(), onMessage(), messages() (msg_ring between rings)
export type { RingHandle, RingMessage, DataMessage, FileMessage, MessageListener, MessageTarget, MessageSpec, DataMessageSpec, FileMessageSpec, SendMessageOptions, SendFileOptions, MessagesOptions } from './ring/messages.js';
export { MSG_RING_COMMANDS, MSG_RING_FLAGS, MESSAGE_TAG } from './ops/msg-ring-abi.js';
import './ring/big-entries.js'; // installs ring.runBig() (32-byte CQEs), ring.uringCmdRaw(); op.uringCmdRaw
export { URING_CMD_RAW, BLOCK_URING_CMD } from './ops/uring-cmd-raw.js';
export type { SocketDomain, SocketType, SocketCommand, Accepted, AcceptOptions, SendOptions, RecvOptions, SendZcOptions, SockoptOptions } from './ring/methods-net.js';
export { AF, SOCK, IPPROTO, MSG, SHUT, SOL, SO, TCP, RECVSEND, ACCEPT, NOTIF_USAGE_ZC_COPIED, SOCKET_URING_OP } from './ops/net-abi.js';
export { encodeSockaddr, parseSockaddr, type SockAddr, type SockAddrInput, type SockAddrIn, type SockAddrIn6, type SockAddrUn } from './ops/sockaddr.js';
export type { SendMsg, RecvMsg, Received } from './ops/msghdr.js';
import './ring/methods-wait.js'; // poll, epoll, futex, waitid, multishot read: types, ring.pollStream(), ring.timeoutUpdate(), …
export { epollCreate, type RequestTarget, type FutexWord, type FutexWaiter, type EpollEventInput, type EpollEvent, type EpollOp, type WaitIdType, type WaitidResult } from './ring/methods-wait.js';
export { PollStream, type PollEvents } from './ring/poll-stream.js';
export { POLL, POLL_FLAGS, EPOLL, EPOLL_CTL, FUTEX2, FUTEX_BITSET_MATCH_ANY, P, W, CLD } from './ops/wait-abi.js';
export { postsManyCqes, releaseProvidedBuffers } from './ops/build-net.js';
import './buffers/install.js'; // installs ring.buffers (registered buffers) and ring.bufferGroup() (provided buffers)
import './buffers/program-groups.js'; // installs ring.allowBufferGroup() (provided buffers for completion programs)
export { RegisteredBuffers, RegisteredBuffer, MAX_REGISTERED_BUFFERS, MAX_REGISTERED_BUFFER_SIZE, type BufferEntry, type FixedSpan } from './ring/registered-buffers.js';
export { BufferGroup, MAX_GROUP_BUFFERS, MAX_BUFFER_SIZE, type BufferGroupKind, type BufferGroupOptions } from './buffers/buffer-group.js';
export { ProvidedBuffer, BufferStateError, BufferGroupEmptyError } from './buffers/provided-buffer.js';
export { SendQueue, SendBuffer, SendQueueEmptyError, SendQueueFullError, type SendQueueOptions } from './buffers/send-queue.js';
export { OP_BPF, type ProgramStats, type Region } from './ring/programs.js';
export { CompletionQueue, type Cqe, type BigCompletion } from './ring/cq.js';
export type { RingOptions } from './ring/setup.js';
export { RingError, RingClosedError, errnoName } from './errors.js';
export { Sqe, FixedFile, fixed, type Fd } from './ops/sqe.js';
export { FileTable, FixedFdInstallFlags } from './ring/files.js';
export { FILES_SKIP, FILE_INDEX_ALLOC, type FdEntry } from './ops/fd-list.js';
export { op, type Builders, type StatxResult, type Timespec, type BufferLike } from './ops/build.js';
export { OPS, opByName, opByCode, type OpDesc, type FlagSince } from './ops/table.js';
export { probeOpFlags, type FlagProbe } from './ring/kernel-probe.js';
export {
  SetupFlags,
  Features,
  EnterFlags,
  SqeFlags,
  CqeFlags,
  RegisterOp,
  FsyncFlags,
  TimeoutFlags,
  CancelFlags,
  StatxMask,
  O,
  AT_FDCWD,
  AT_EMPTY_PATH,
  AT_SYMLINK_NOFOLLOW,
} from './ring/abi.js';

// Completion programs (eBPF): assembler, verifier, ELF loader, maps, programs.
export {
  assemble,
  disassemble,
  verifyProgram,
  parseObject,
  loadObject,
  loadProgram,
  Program,
  ProgramError,
  ArrayMap,
  HashMap,
  RingBufMap,
  createMap,
  readTrace,
  HELPERS,
  ISA,
  MapType,
  MapFlags,
  builtinObject,
  BUILTIN_OBJECTS,
} from './programs/index.js';
export type { ProgramKind, LoadedObject, RunResult, VerifyResult, BuiltinObjectName } from './programs/index.js';

// Networking on the ring (src/net/): TCP and UDP with node:net's names, multishot streams.
export { TcpSocket, type ConnectOptions, type WriteCallback } from './net/tcp.js';
export { TcpServer, type ListenOptions } from './net/tcp-server.js';
export { UdpSocket, type Datagram } from './net/udp.js';
export { MultishotStream, type StreamOptions, type StreamSource } from './net/stream.js';
export type { RecvGroup, RecvChunk } from './net/recv-group.js';
export type { AddressInfo } from './net/addr.js';
export { MultiRequest, type CqeSink, type ZeroCopyResult } from './ring/multi.js';
export { BulkQueue, BulkCompletions, type BulkOptions } from './ring/bulk.js';
// Programs that serve connections: echo and relay run by the shipped completion programs.
export { serveEcho, EchoServerProgram, ECHO_MAX_CONNECTIONS, RELAY_MAX_PAIRS, relay, RelayProgram, RelayPair, type ServeEchoOptions, type EchoStats, type SocketLike, type RelayOptions, type RelayPairStats } from './net/programs.js';
export { serveEchoFromGroup, EchoGroupServerProgram, type ServeEchoGroupOptions, type EchoGroupStats } from './net/program-echo-group.js';
