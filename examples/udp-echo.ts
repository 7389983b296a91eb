/**
 * UDP echo on the ring: each datagram is sent back to its sender (recvmsg with the sender's
 * address, send with a destination).
 * Run: node dist/examples/udp-echo.js [port]
 */
import { fileURLToPath } from 'node:url';
import { Ring, UdpSocket } from '../src/index.js';

export async function serveUdpEcho(sock: UdpSocket): Promise<number> {
  let n = 0;
  for await (const { data, address } of sock) {
    if (address) await sock.send(data, address.port, address.address);
    n++;
  }
  return n;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ring = new Ring();
  const sock = await UdpSocket.bind(ring, { port: Number(process.argv[2] ?? 0) });
  console.log(`udp echo on port ${sock.address()!.port}`);
  process.on('SIGINT', () => void sock.close().then(() => ring.close()));
  await serveUdpEcho(sock);
}
