/**
 * ringflow's minimal keep-alive HTTP/1.1 responder (examples/http-responder.ts): multishot accept,
 * multishot recv into provided buffers, one send per batch of answers. Contract: serve-cli.ts.
 */
import { Ring, TcpServer } from '../../src/index.js';
import { serveHttpServer } from '../../examples/http-responder.js';
import { BACKLOG, portArg, ready } from './serve-cli.js';

const ring = new Ring({ entries: 1024 });
const server = await TcpServer.listen(ring, { port: portArg(), backlog: BACKLOG });
ready(server.address()!.port);
process.on('SIGTERM', () => process.exit(0));
await serveHttpServer(server);
