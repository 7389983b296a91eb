/**
 * readFile/writeFile/appendFile of ringflow/fs given a FileHandle that is already closed.
 *
 * node:fs/promises does not go through the handle's own methods there (no 'file closed' error):
 * it works on the handle's fd, which is -1 once closed, and what that gives differs by line
 * (readFile: ERR_OUT_OF_RANGE for the fd; writeFile: Node 20 writes to fd -1 and fails EBADF, 22+
 * refuse the fd first; empty data: nothing written, resolved). So such a call is answered by
 * node:fs/promises itself, given a node FileHandle that is closed too and the caller's other
 * arguments: its options checks, abort checks and iteration of the data run as they do there.
 */
import * as nodeFsp from 'node:fs/promises';
import { probeFile } from './line-probes.js';

let closedNodeHandle: Promise<nodeFsp.FileHandle> | undefined;

/** A node:fs/promises FileHandle (on /dev/null, or what the permission model grants) that has been closed: made once per thread. */
function closedHandle(): Promise<nodeFsp.FileHandle> {
  closedNodeHandle ??= nodeFsp.open(probeFile(), 'r').then(
    async (h) => {
      await h.close();
      return h;
    },
    (e: unknown) => {
      closedNodeHandle = undefined; // (not kept: asked again next time)
      throw e;
    },
  );
  return closedNodeHandle;
}

type OnClosed = 'readFile' | 'writeFile' | 'appendFile';

/** node:fs/promises' `name` called on a closed handle with `rest` (the arguments after the handle). */
export async function callOnClosedHandle(name: OnClosed, rest: unknown[]): Promise<never> {
  const h = await closedHandle();
  return (nodeFsp[name] as (...a: unknown[]) => Promise<never>)(h, ...rest);
}
