/**
 * Differential: generated invalid arguments (one bad parameter at a time, missing arguments).
 *
 * Every case runs on the host and on each Node line. In the QEMU guests (TCG, 10-40 times slower,
 * where these two suites took 2 to 3 minutes) a third of them run, every third case in order, so
 * each function and method still meets bad arguments there: argument checks are the same code on
 * every kernel, and what the kernel answers for calls that pass them is the rest's to show.
 */
import { diffSuite, type Case } from './harness.js';
import { invalidFunctionCases, invalidMethodCases } from './cases-invalid.js';
import { CPU_TIME_SCALE } from '../helpers.js';

const sample = (cases: () => Case[]) => (): Case[] => (CPU_TIME_SCALE > 1 ? cases().filter((_, i) => i % 3 === 0) : cases());

diffSuite('fs-diff: invalid arguments to node:fs/promises functions, ringflow/fs vs node (a third under TCG)', sample(invalidFunctionCases));
diffSuite('fs-diff: invalid arguments to FileHandle methods, ringflow/fs vs node (a third under TCG)', sample(invalidMethodCases));
