/**
 * ringflow TCP echo as a completion program (programs/echo.bpf.c through src/net/programs.ts): the
 * program accepts connections itself and loops recv → send per connection on the ring, without
 * waking JavaScript per message. Contract: serve-cli.ts.
 */
import { Ring, TcpServer, serveEcho } from '../../src/index.js';
import { BACKLOG, portArg, ready } from './serve-cli.js';

const ring = new Ring();
const server = await TcpServer.listen(ring, { port: portArg(), backlog: BACKLOG });
const echo = serveEcho(ring, server, { maxConnections: 4096, bufferSize: 16384 });
ready(server.address()!.port);
process.once('SIGTERM', () => void echo.close().then(() => ring.close()).then(() => process.exit(0)));
