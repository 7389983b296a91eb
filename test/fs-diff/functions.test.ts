/** Differential: every function of node:fs/promises with valid and edge-case arguments. */
import { diffSuite } from './harness.js';
import { functionCases } from './cases-functions.js';

diffSuite('fs-diff: functions of node:fs/promises, ringflow/fs vs node', functionCases);
