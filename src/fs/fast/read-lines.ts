/**
 * filehandle.readLines(options): node:readline over the ring-backed ReadStream, as Node builds it
 * (readline.createInterface({ input: filehandle.createReadStream(options), crlfDelay: Infinity })).
 */
import { createInterface, type Interface } from 'node:readline';
import { RingReadStream, type RingReadStreamOptions } from './read-stream.js';
import type { RingFileHandle } from './handle.js';

export function readLines(handle: RingFileHandle, options?: RingReadStreamOptions): Interface {
  return createInterface({ input: new RingReadStream(handle, options), crlfDelay: Infinity });
}
