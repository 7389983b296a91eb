/**
 * ringflow TCP echo server in JS on ringflow's sockets API: one multishot accept, a multishot
 * recv per connection from the ring's provided-buffer group in callback mode (listen(): no
 * promise and no iterator step per message), each chunk handed to write(chunk, callback): sent
 * back from the buffer the kernel filled (no copy, no JS view of it) and back in the group when
 * the send is done; node:net's callback form, so no promise per message either. Writes of a
 * connection go out in order (one send in flight). Contract: serve-cli.ts.
 */
import { Ring, TcpServer, type TcpSocket, type RecvChunk } from '../../src/index.js';
import { BACKLOG, portArg, ready } from './serve-cli.js';

const ring = new Ring({ entries: 1024 });
const server = await TcpServer.listen(ring, { port: portArg(), backlog: BACKLOG });

function echo(sock: TcpSocket): void {
  sock.setNoDelay(true);
  const close = (): void => void sock.close();
  // a peer that resets ends its own connection only
  const written = (err?: unknown): void => {
    if (err !== undefined) close();
  };
  sock.chunks().listen((chunk: RecvChunk) => sock.write(chunk, written), close);
}

ready(server.address()!.port);
process.on('SIGTERM', () => process.exit(0));
server.connections().listen(echo);
