/** Socket test helpers: the local port of a socket fd (from /proc, as getsockname(2) would say). */
import { readFileSync, readlinkSync } from 'node:fs';

/** The local port a bound IPv4/IPv6 TCP or UDP socket `fd` of this process has. */
export function localPort(fd: number): number {
  const link = readlinkSync(`/proc/self/fd/${fd}`);
  const m = /^socket:\[(\d+)\]$/.exec(link);
  if (!m) throw new Error(`fd ${fd} is not a socket (${link})`);
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[9] === m[1]) return parseInt(cols[1]!.split(':')[1]!, 16);
    }
  }
  throw new Error(`socket inode ${m[1]} not found in /proc/net`);
}

/** Reads exactly `n` bytes from a TcpSocket (throws at EOF before that). */
export async function readExactly(s: { read(b: Uint8Array): Promise<number> }, n: number): Promise<Buffer> {
  const b = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = await s.read(b.subarray(got));
    if (r === 0) throw new Error(`EOF after ${got} of ${n} bytes`);
    got += r;
  }
  return b;
}
