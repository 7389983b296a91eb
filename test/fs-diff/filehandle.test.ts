/** Differential: open() and every FileHandle method, ringflow/fs vs node:fs/promises. */
import { diffSuite } from './harness.js';
import { fileHandleCases } from './cases-filehandle.js';

diffSuite('fs-diff: open and FileHandle methods, ringflow/fs vs node', fileHandleCases);
