/**
 * The child of node-crash-probe.ts: runs the node side of the cases of one list from an index on,
 * writing `start <index> <name>` before each and `done` at the end (so a death names its case).
 *
 *   node dist/test/fs-diff/node-crash-probe-child.js invalidMethodCases 0 [parent dir of the temp area]
 */
import { writeSync } from 'node:fs';
import { TempArea } from './tree.js';
import { runSide, type Case } from './harness.js';
import { nodeImpl } from './impl.js';
import { invalidFunctionCases, invalidMethodCases } from './cases-invalid.js';

const LISTS: Record<string, () => Case[]> = { invalidMethodCases, invalidFunctionCases };

async function child(list: string, from: number, parent?: string): Promise<void> {
  const cases = LISTS[list]();
  const area = new TempArea(parent);
  try {
    let [root] = area.pair();
    for (let i = from; i < cases.length; i++) {
      writeSync(1, `start ${i} ${cases[i].name}\n`);
      await runSide(cases[i], nodeImpl, root, area.shared);
      if (i % 50 === 49) [root] = area.pair();
    }
  } finally {
    area.cleanup();
  }
  writeSync(1, 'done\n');
}

await child(process.argv[2], Number(process.argv[3] ?? 0), process.argv[4]);
