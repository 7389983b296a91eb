/** Differential: generated invalid arguments (one bad parameter at a time, missing arguments). */
import { diffSuite } from './harness.js';
import { invalidFunctionCases, invalidMethodCases } from './cases-invalid.js';

diffSuite('fs-diff: invalid arguments to node:fs/promises functions, ringflow/fs vs node', invalidFunctionCases);
diffSuite('fs-diff: invalid arguments to FileHandle methods, ringflow/fs vs node', invalidMethodCases);
