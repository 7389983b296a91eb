/**
 * Behaviours of node:fs/promises that differ between Node lines, found by asking node itself
 * (once, on the error path only) instead of reading the version number.
 */
import * as nodeFsp from 'node:fs/promises';

let readErrorHasPath: Promise<boolean> | undefined;

/** Node 26's readFile(path) names the path in a read error (EISDIR for a directory); earlier lines do not. */
export function readFileErrorNamesPath(): Promise<boolean> {
  readErrorHasPath ??= nodeFsp.readFile('/').then(
    () => false,
    (e: NodeJS.ErrnoException) => e.syscall === 'read' && e.path !== undefined,
  );
  return readErrorHasPath;
}

/**
 * FileHandle.read's position check differs by line (Node 20 takes a position it cannot use as
 * the file position, -1; 22+ reject it). For a position ringflow's check refuses, the same read
 * is asked of node's FileHandle on /dev/null: its error is thrown, or, where it accepts, the
 * read goes at the file position (-1) as there.
 */
export async function positionNodeAccepts(position: unknown, length: number, refusal: unknown): Promise<number> {
  let h: nodeFsp.FileHandle | undefined;
  try {
    h = await nodeFsp.open('/dev/null', 'r');
  } catch {
    throw refusal;
  }
  try {
    const n = Math.max(1, Math.min(length, 1 << 16));
    await h.read(Buffer.alloc(n), 0, n, position as number);
    return -1;
  } finally {
    await h.close();
  }
}
