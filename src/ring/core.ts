/**
 * The Ring with what ringflow/fs calls on it, and nothing else: the promise methods derived from
 * the opcode table (methods.ts), ring.chain()/link() (chain.ts) and ring.supports()/stats()
 * (introspection.ts). ringflow/fs imports this instead of the package entry, so a program that
 * switches from node:fs/promises does not load the completion-program loader, verifier and JIT,
 * the buffer groups or the sockets (about half of the package's modules and its live heap). The
 * package entry (src/index.ts) imports the same modules, so a Ring made by either is the same
 * class and has every method once the entry is loaded.
 */
export { Ring } from './ring.js';
import './methods.js';
import './chain.js';
import './introspection.js';
