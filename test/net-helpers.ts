/** Socket test helpers: the local port of a socket fd (from /proc, as getsockname(2) would say). */
import { readFileSync, readlinkSync } from 'node:fs';
import * as net from 'node:net';
import { TcpServer, TcpSocket, type Ring } from '../src/index.js';
import { MSG } from '../src/ops/net-abi.js';

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

/** A server with a group of `count` × `size` buffers, a client connected to it and the accepted peer (the write(chunk) tests). */
export async function groupPair(ring: Ring, count = 16, size = 4096) {
  const group = ring.bufferGroup({ count, size });
  const server = await TcpServer.listen(ring, { port: 0, group });
  const acc = server.accept();
  const client = await TcpSocket.connect(ring, { port: server.address()!.port, noDelay: true });
  const peer = await acc;
  return { group, server, client, peer };
}

/**
 * After a send that found no room (it did not finish within a short wait), makes sure there is
 * none: a slow machine (the guests under TCG, or a loaded host) may just not have finished a send
 * that had room, and a receiver collapses its queue (6.1 does, at the sender's zero-window probes)
 * and opens its window again. Sends `fill` bytes (4 KiB) with MSG_DONTWAIT until the kernel says
 * EAGAIN, and again after a pause, until two pauses in a row find no room. The bytes it sent.
 */
export async function fillRest(ring: Ring, fd: number, fill = 2): Promise<number> {
  let bytes = 0;
  for (let quiet = 0; quiet < 2; ) {
    let added = 0;
    for (;;) {
      const n = await ring.send(fd, Buffer.alloc(4096, fill), MSG.DONTWAIT).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EAGAIN') return -1;
        throw e;
      });
      if (n === -1) break;
      added += n;
    }
    bytes += added;
    quiet = added === 0 ? quiet + 1 : 0;
    await new Promise((r) => setTimeout(r, 250));
  }
  return bytes;
}

/** A TcpServer on loopback, a node:net client connected to it, and the accepted TcpSocket; all closed when the test ends. */
export async function nodeClientPair(t: { after(f: () => unknown): void }, ring: Ring): Promise<{ server: TcpServer; peer: TcpSocket; client: net.Socket }> {
  const server = await TcpServer.listen(ring, { port: 0, host: '127.0.0.1' });
  const accepted = server.accept();
  const client = net.connect(server.address()!.port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const peer = await accepted;
  t.after(async () => {
    client.destroy();
    await peer.close();
    await server.close();
  });
  return { server, peer, client };
}
