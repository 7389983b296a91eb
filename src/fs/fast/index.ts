/**
 * ringflow/fs fast paths (used by src/fs/*.ts): whole-file reads and writes in one submission on
 * a direct descriptor (streams read ahead in src/fs/read-ahead.ts). Every function takes an
 * explicit Ring and already normalised arguments, and throws RingError with Node's syscall name.
 */
export { readWholeFile, FIRST_READ, type ReadWholeFileOptions } from './read-file.js';
export { writeWholeFile, type WriteWholeFileOptions } from './write-file.js';
export { SlotPool, DEFAULT_POOL_SLOTS, DEFAULT_OTHER_SLOTS } from './slots.js';
export { asNodeSyscall, type NodeSyscall } from './errors.js';
