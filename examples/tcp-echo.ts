/**
 * TCP echo server on the ring: one multishot accept for all connections, one multishot recv per
 * connection into the ring's provided buffers, each chunk sent back from the buffer the kernel
 * filled, then released to the group.
 * Run: node dist/examples/tcp-echo.js [port]   (default: any free port; prints it)
 */
import { fileURLToPath } from 'node:url';
import { Ring, TcpServer, type TcpSocket } from '../src/index.js';

export async function echo(sock: TcpSocket): Promise<void> {
  try {
    for await (const chunk of sock.chunks()) {
      await sock.write(chunk); // sent from the buffer the kernel filled; back to the group when sent
    }
  } catch {
    // a peer that resets ends its own connection
  } finally {
    await sock.close();
  }
}

/** Serves until the server is closed; resolves then. */
export async function serveEcho(server: TcpServer): Promise<void> {
  for await (const sock of server) void echo(sock);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ring = new Ring();
  const server = await TcpServer.listen(ring, { port: Number(process.argv[2] ?? 0) });
  console.log(`echo server on port ${server.address()!.port}`);
  process.on('SIGINT', () => void server.close().then(() => ring.close()));
  await serveEcho(server);
}
