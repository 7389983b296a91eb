/** What the connection-serving programs' JS side shares (src/net/programs.ts, src/net/program-relay.ts). */
import type { Ring } from '../ring/ring.js';
import { errnoName } from '../errors.js';
import { binding } from '../native.js';
import { SOL, SO } from '../ops/net-abi.js';
import { loadObject, type LoadedObject } from '../programs/program.js';
import { ArrayMap } from '../programs/maps.js';
import { builtinObject, type BuiltinObjectName } from '../programs/builtin.js';

/** A listening or connected socket: its fd, or an object that has one (a TcpServer or TcpSocket). */
export type SocketLike = number | { readonly fd: number };

/** The stop tag both programs know (KIND_STOP << 56). */
export const STOP_TAG = 8n << 56n;

export function fdOf(what: string, s: unknown): number {
  const fd = typeof s === 'object' && s !== null && 'fd' in s ? (s as { fd: unknown }).fd : s;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd >= 1 << 22)
    throw new TypeError(`${what} must be a socket fd (an integer in [0, 2^22)) or an object with one in "fd", got ${typeof fd === 'number' ? fd : typeof fd}`);
  return fd;
}

const peerName = Buffer.alloc(128);

/**
 * Refuses a socket (`s`, an fd or an object with one; `fd` is fdOf()'s) that is not in the state a
 * program needs: listening (`listening`: its accepts are the program's work) or connected. Checked
 * at the call (after the options), because the program could only find out at its first request
 * and would then serve nothing without a word (an accept on a file or an unlistened socket fails
 * and the program stops accepting). A TcpServer or TcpSocket that was closed is refused by its own
 * state: its fd number may name another file by now.
 */
export function checkSocket(what: string, s: unknown, fd: number, listening: boolean): void {
  const want = listening ? 'a listening socket' : 'a connected socket';
  if (typeof s === 'object' && s !== null && (('closed' in s && s.closed === true) || (listening && 'listening' in s && s.listening === false)))
    throw new TypeError(`${what}: it was closed (its fd ${fd} is not its own any more); it must be ${want}`);
  const r = binding.sockGetInt(fd, SOL.SOCKET, SO.ACCEPTCONN) as number;
  if (r < 0) {
    const name = errnoName(r);
    const why = name === 'ENOTSOCK' ? 'is not a socket' : name === 'EBADF' ? 'is not an open socket (EBADF: closed, or an O_PATH descriptor)' : `cannot be asked about (${name})`;
    throw new TypeError(`${what}: fd ${fd} ${why}; it must be ${want}`);
  }
  if (listening) {
    if (r === 0) throw new TypeError(`${what}: fd ${fd} is a socket that is not listening; call listen() on it first (or pass a listening TcpServer)`);
    return;
  }
  if (r !== 0) throw new TypeError(`${what}: fd ${fd} is a listening socket; it must be a connected one`);
  const p = binding.sockName(fd, 1, peerName) as number;
  if (p < 0) throw new TypeError(`${what}: fd ${fd} is a socket that is not connected (${errnoName(p)}); connect it first`);
}

export function intOption(where: string, o: Record<string, unknown>, name: string, dflt: number, min: number, max: number): number {
  const v = o[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`${where}: option "${name}" must be an integer in [${min}, ${max}], got ${String(v)}`);
  return v;
}

export function checkOptions(where: string, options: unknown, accepted: readonly string[]): Record<string, unknown> {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!accepted.includes(k)) throw new TypeError(`${where}: unknown option "${k}" (accepted: ${accepted.join(', ')})`);
  if (o['jit'] !== undefined && typeof o['jit'] !== 'boolean') throw new TypeError(`${where}: option "jit" must be a boolean`);
  return o;
}

/** Loads a shipped object (fresh maps) and checks that its maps have the layout this module writes. */
export function loadShipped(name: BuiltinObjectName, jit: boolean | undefined, layout: Record<string, number>): LoadedObject {
  const obj = loadObject(builtinObject(name), jit === undefined ? {} : { jit });
  for (const [map, size] of Object.entries(layout)) {
    const m = obj.maps.get(map);
    if (!(m instanceof ArrayMap) || m.valueSize !== size) throw new Error(`programs/${name}.bpf.o: map "${map}" is not the ${size}-byte array this module expects (rebuild with npm run build:programs)`);
  }
  return obj;
}

export const pow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, n)));
export const errName = (res: number): string | undefined => (res < 0 ? errnoName(-res) : undefined);

/**
 * Asks a serving program to stop (a NOP posting STOP_TAG to its CQ) and resolves when its request
 * has ended; a ring that closed under the program ended it too: that is a stop, not a failure.
 */
export function stopProgram(ring: Ring, cq: number, done: Promise<void>): Promise<void> {
  const post = ring.closed ? Promise.resolve(0) : ring.nop({ cq, userData: STOP_TAG }).catch(() => 0);
  return post.then(() => done).catch((err: unknown) => {
    if (!ring.closed) throw err;
  });
}

/** A program request serving connections on its own CQ (echo servers): stopped by close(), once. */
export abstract class ServingProgram {
  abstract readonly ring: Ring;
  abstract readonly cq: number;
  /** Settles when the program request ends. */
  abstract readonly done: Promise<void>;
  #stopping: Promise<void> | undefined;
  /**
   * Stops accepting, cancels every connection's request, closes the connections and the program's
   * dup of the listening socket (JS's listening fd stays open); resolves when the program request
   * has ended (also when the ring closed under it), rejects with the program's error otherwise.
   */
  close(): Promise<void> {
    return (this.#stopping ??= stopProgram(this.ring, this.cq, this.done));
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close().catch(() => undefined);
  }
}
