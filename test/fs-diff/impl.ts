/**
 * The two implementations the differential suite compares: node:fs/promises (the reference) and
 * the one under test, ringflow/fs (dist/src/fs/index.js) unless RF_FS_DIFF_IMPL=node asks for
 * node-vs-node (a run that checks the harness itself: it must find no difference).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as nodeFsNamespace from 'node:fs/promises';

/** A module with the node:fs/promises surface (namespace object or default export). */
export type FsModule = Record<string, any>;

export interface Impl {
  /** 'node' or 'ringflow' (the label in reports). */
  name: string;
  /** The namespace object (`import * as fs`). */
  ns: FsModule;
  /** Its default export. */
  fs: FsModule;
}

export const nodeImpl: Impl = { name: 'node', ns: nodeFsNamespace, fs: (nodeFsNamespace as FsModule).default };

const ringflowEntry = new URL('../../src/fs/index.js', import.meta.url);

/**
 * The implementation under test. With RF_FS_DIFF_IMPL=node, or when dist/src/fs/index.js is not
 * built yet, node:fs/promises itself (`reason` says why), so the harness runs node-vs-node.
 */
export async function loadImplUnderTest(): Promise<{ impl: Impl; reason?: string }> {
  if (process.env.RF_FS_DIFF_IMPL === 'node') {
    return { impl: { ...nodeImpl, name: 'node(RF_FS_DIFF_IMPL)' }, reason: 'RF_FS_DIFF_IMPL=node: node-vs-node run' };
  }
  if (!existsSync(fileURLToPath(ringflowEntry))) {
    return { impl: { ...nodeImpl, name: 'node(no ringflow/fs)' }, reason: `${fileURLToPath(ringflowEntry)} is not built: node-vs-node run` };
  }
  const ns = (await import(ringflowEntry.href)) as FsModule;
  return { impl: { name: 'ringflow', ns, fs: ns.default ?? ns } };
}
