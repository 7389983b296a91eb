/** The local or peer address of a socket fd (getsockname(2) / getpeername(2), synchronous: no request). */
import { binding } from '../native.js';
import { RingError } from '../errors.js';
import { parseSockaddr, type SockAddr } from '../ops/sockaddr.js';

/** The address socket `fd` is bound to (peer: the address it is connected to). */
export function socketAddress(fd: number, peer = false): SockAddr {
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`socketAddress(fd): fd must be a non-negative integer, got ${String(fd)}`);
  const out = new Uint8Array(128);
  const n = binding.sockName(fd, peer ? 1 : 0, out) as number;
  if (n < 0) throw new RingError(n, peer ? 'getpeername' : 'getsockname');
  const a = parseSockaddr(out, n);
  if (!a) throw new RangeError(`socketAddress(${fd}): the kernel returned no address`);
  return a;
}
