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
import './buffers/install.js'; // installs ring.buffers (registered buffers) and ring.bufferGroup() (provided buffers)
export { RegisteredBuffers, RegisteredBuffer, MAX_REGISTERED_BUFFERS, MAX_REGISTERED_BUFFER_SIZE, type BufferEntry, type FixedSpan } from './ring/registered-buffers.js';
export { BufferGroup, MAX_GROUP_BUFFERS, MAX_BUFFER_SIZE, type BufferGroupKind, type BufferGroupOptions } from './buffers/buffer-group.js';
export { ProvidedBuffer, BufferStateError, BufferGroupEmptyError } from './buffers/provided-buffer.js';
export { OP_BPF, type ProgramStats, type Region } from './ring/programs.js';
export { CompletionQueue, type Cqe } from './ring/cq.js';
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
