/**
 * ringflow TCP echo server in JS on ringflow's sockets API: one multishot accept, a multishot
 * recv per connection from the ring's provided-buffer group, each chunk sent back from the buffer
 * the kernel filled and then released (no copy). Contract: serve-cli.ts.
 */
import { Ring, TcpServer, type TcpSocket } from '../../src/index.js';
import { BACKLOG, portArg, ready } from './serve-cli.js';

const ring = new Ring({ entries: 1024 });
const server = await TcpServer.listen(ring, { port: portArg(), backlog: BACKLOG });

async function echo(sock: TcpSocket): Promise<void> {
  sock.setNoDelay(true);
  try {
    for await (const chunk of sock.chunks()) {
      try {
        await sock.write(chunk.bytes);
      } finally {
        chunk.release();
      }
    }
  } catch {
    // a peer that resets ends its own connection only
  } finally {
    await sock.close();
  }
}

ready(server.address()!.port);
process.on('SIGTERM', () => process.exit(0));
for await (const sock of server) void echo(sock);
