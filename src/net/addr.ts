/**
 * Socket setup shared by the TCP and UDP layers: addresses in node:net's shape, a socket bound
 * (and listening) through the ring where the kernel has the ops (IORING_OP_BIND/LISTEN, 6.11),
 * through the syscalls otherwise (native/net.c), and adopting node:net's fds.
 */
import { binding } from '../native.js';
import { RingError } from '../errors.js';
import { encodeSockaddr, parseSockaddr, type SockAddr } from '../ops/sockaddr.js';
import { AF, SOCK, SOL, SO } from '../ops/net-abi.js';
import { isIP } from 'node:net';
import { ringInternals, type Ring } from '../ring/ring.js';
import { SqeFlags } from '../ring/abi.js';
import { closeOwnedFd } from '../ring/close-fd.js';
import { closeFdNow } from '../ring/unsubmitted.js';

/**
 * A socket object (TcpSocket, TcpServer, UdpSocket) takes ownership of its process fd: registered
 * with this environment's owned-fd set (native/owned_fds.c), whose cleanup hook closes it if the
 * thread ends first (a worker that exits with a socket open leaves no fd and no connection behind).
 */
export function ownSocketFd(fd: number, owner: object): void {
  binding.fdOwn(fd);
  droppedSockets.register(owner, fd, owner);
}

/**
 * Socket objects collected without close() (nothing of theirs was in flight: a request holds its
 * socket object): their fds are closed, with a warning, as Node does for a FileHandle. A socket
 * whose peer has gone would otherwise keep its fd, and the connection, until the thread ends.
 */
const droppedSockets = new FinalizationRegistry<number>((fd) => {
  // (close() unregisters first, so the fd is still this object's: never a later socket's number)
  closeFdNow(fd);
  process.emitWarning(`ringflow: closing socket fd ${fd} on garbage collection (a TcpSocket, TcpServer or UdpSocket was dropped without close())`, {
    code: 'RINGFLOW_SOCKET_GC',
    detail: 'Call close() (or use `await using`) when done with a socket.',
  });
});

/**
 * Closes a socket object's fd once: out of the owned-fd set first (the number may be reused as soon
 * as the close runs), then through the ring (IORING_OP_CLOSE), or close(2) when the ring is closed
 * or closing. A close the kernel ran and failed (EIO, EINTR) has released the fd all the same: it is
 * not closed again (its number may already name another file).
 */
export async function closeSocketFd(ring: Ring, owner: object, fd: number, reset?: () => boolean): Promise<void> {
  droppedSockets.unregister(owner);
  if (ring.closed) {
    return void closeFdNow(abortive(fd, reset));
  }
  // requests still waiting on the socket (an accept, a recv, a send without room) hold its file:
  // closing the fd alone would leave them, the bound port and the connection there for good (and
  // the process alive). They are cancelled first (their owners then answer "the socket is closed").
  // The fd stays owned meanwhile: a thread that ends first closes it (native/owned_fds.c).
  if (waitingOn(ring, fd)) await ring.cancel({ fd }, { all: true }).catch(() => 0);
  // out of the owned set as its close is written to the SQ (src/ring/unsubmitted.ts, disownIfCloses;
  // a thread ending before the close is submitted closes it in the ring's teardown,
  // native/ring_napi.c close_unsubmitted)
  await closeUnowned(ring, abortive(fd, reset));
}

/**
 * `fd`, set to reset its connection at close (SO_LINGER 0) when `reset` says so: the kernel keeps a
 * zero-copy send's pages until the peer has the bytes, and a peer that does not read would keep
 * them, the write and the ring (whose close waits for them) for good; a reset drops them at once.
 */
function abortive(fd: number, reset: (() => boolean) | undefined): number {
  if (reset?.()) binding.sockSetLinger(fd, 1, 0);
  return fd;
}

/** Closes `fd` through the ring, by close(2) once the ring is closed or closing (the ring's close refuses it): a socket's last step, and a connect that failed (no socket object owns its fd yet). */
export async function closeUnowned(ring: Ring, fd: number): Promise<void> {
  await closeOwnedFd(ring, fd).catch(() => {}); // (a close the kernel ran and failed has released the fd all the same)
}

/** Does one of the ring's JS requests name process fd `fd` (submitted or queued)? */
function waitingOn(ring: Ring, fd: number): boolean {
  return ringInternals(ring).selectRequests((p) => p.sqe.fd === fd && (p.sqe.flags & SqeFlags.FIXED_FILE) === 0, 1).length > 0;
}

/** An address as node:net reports it (server.address(), socket.remoteAddress/remotePort). */
export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

export function toAddressInfo(a: SockAddr | null): AddressInfo | null {
  if (!a || !('port' in a)) return null;
  return { address: a.address, family: a.family === 'ipv6' ? 'IPv6' : 'IPv4', port: a.port };
}

/** Reads the local (or peer) address of a socket; null when it has none. */
export function socketName(fd: number, peer: boolean): AddressInfo | null {
  const out = Buffer.alloc(128);
  const n = binding.sockName(fd, peer ? 1 : 0, out) as number;
  if (n < 0) return null;
  return toAddressInfo(parseSockaddr(out, n));
}

export function checkPort(where: string, port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port)) throw new TypeError(`${where}: "port" must be an integer, got ${typeof port}`);
  if (port < 0 || port > 65535) throw new RangeError(`${where}: "port" must be in [0, 65535], got ${port}`);
  return port;
}

export function checkHost(where: string, host: unknown): { host: string; family: 'ipv4' | 'ipv6' } {
  if (typeof host !== 'string') throw new TypeError(`${where}: "host" must be an IP address string, got ${typeof host}`);
  const h = host === 'localhost' ? '127.0.0.1' : host;
  const v = isIP(h);
  if (v === 0) throw new TypeError(`${where}: "host" must be a numeric IPv4 or IPv6 address (or 'localhost'); ringflow does not resolve names, got ${JSON.stringify(host)}`);
  return { host: h, family: v === 6 ? 'ipv6' : 'ipv4' };
}

function check(r: number, syscall: string, detail?: string): number {
  if (r < 0) throw new RingError(r, syscall, detail ? { detail } : {});
  return r;
}

/**
 * A socket of `type` bound to host:port (and listening with `backlog` for streams), through the
 * ring where it has the ops. Closes the socket when a step fails.
 */
export async function boundSocket(
  ring: Ring,
  where: string,
  type: 'stream' | 'dgram',
  host: string,
  family: 'ipv4' | 'ipv6',
  port: number,
  opts: { backlog?: number; reuseAddr?: boolean; reusePort?: boolean },
): Promise<number> {
  const fd = check(binding.sockCreate(family === 'ipv6' ? AF.INET6 : AF.INET, type === 'stream' ? SOCK.STREAM : SOCK.DGRAM, 0) as number, 'socket');
  try {
    if (opts.reuseAddr ?? type === 'stream') check(binding.sockSetInt(fd, SOL.SOCKET, SO.REUSEADDR, 1) as number, 'setsockopt', 'SO_REUSEADDR');
    if (opts.reusePort) check(binding.sockSetInt(fd, SOL.SOCKET, SO.REUSEPORT, 1) as number, 'setsockopt', 'SO_REUSEPORT');
    const addr = { family, address: host, port };
    const at = hostPort(host, port);
    if (ring.supports('bind')) await ring.bind(fd, addr).catch((e: unknown) => Promise.reject(naming(e, at)));
    else check(binding.sockBind(fd, encodeSockaddr(() => where, addr)) as number, 'bind', at);
    if (type === 'stream') {
      const backlog = opts.backlog ?? 511;
      if (ring.supports('listen')) await ring.listen(fd, backlog).catch((e: unknown) => Promise.reject(naming(e, at)));
      else check(binding.sockListen(fd, backlog) as number, 'listen', at);
    }
    return fd;
  } catch (e) {
    binding.closeFd(fd);
    throw e;
  }
}

/** host:port as node:net's messages write it ([::1]:80 for IPv6). */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A request's RingError again, naming the address it was about (node:net's "connect ECONNREFUSED 127.0.0.1:1"); anything else as it is. */
export function naming(e: unknown, address: string, hint?: string): unknown {
  if (!(e instanceof RingError)) return e;
  return new RingError(-e.errno, e.op ? 'io_uring_enter' : e.syscall, { ...(e.op ? { op: e.op } : {}), detail: address, ...(hint ? { hint } : {}) });
}

/** A handle with an fd (node:net's Socket and Server keep theirs in `_handle.fd`). */
export function nodeFd(where: string, obj: unknown): number {
  const h = (obj as { _handle?: { fd?: unknown } } | null)?._handle;
  const fd = h?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new TypeError(`${where}: expected a connected node:net Socket or a listening node:net Server (one with an fd), got ${obj === null ? 'null' : typeof obj}`);
  return fd;
}

/** A dup of `fd` the ring owns (blocking: the ring waits by polling, not by O_NONBLOCK). */
export function adoptFd(fd: number): number {
  const dup = check(binding.dupFd(fd) as number, 'fcntl', 'F_DUPFD_CLOEXEC');
  const r = binding.setBlocking(dup, 1) as number;
  if (r < 0) {
    binding.closeFd(dup);
    check(r, 'fcntl', 'F_SETFL');
  }
  return dup;
}
