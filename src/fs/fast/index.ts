/**
 * ringflow/fs fast paths (used by src/fs/*.ts): whole-file reads and writes in one submission on
 * a direct descriptor, and ring-backed streams with reads issued ahead. Every function takes an
 * explicit Ring and already normalised arguments, and throws RingError with Node's syscall name.
 */
export { readWholeFile, FIRST_READ, type ReadWholeFileOptions } from './read-file.js';
export { writeWholeFile, type WriteWholeFileOptions } from './write-file.js';
export { RingReadStream, type RingReadStreamOptions } from './read-stream.js';
export { RingWriteStream, type RingWriteStreamOptions } from './write-stream.js';
export { readLines } from './read-lines.js';
export { SlotPool, DEFAULT_POOL_SLOTS, DEFAULT_OTHER_SLOTS } from './slots.js';
export { asNodeSyscall, type NodeSyscall } from './errors.js';
export type { RingFileHandle, StreamErrorMapper } from './handle.js';
