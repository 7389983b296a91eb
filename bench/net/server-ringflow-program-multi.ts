/**
 * ringflow TCP echo as a completion program on multishot requests (programs/echo_multi.bpf.c
 * through serveEchoFromGroup(..., { multishot: true })): one multishot ACCEPT, one multishot RECV
 * per connection selecting from a ring-mapped group, a SEND per received buffer, without waking
 * JavaScript per message. Contract: serve-cli.ts.
 */
import { Ring, TcpServer, serveEchoFromGroup } from '../../src/index.js';
import { BACKLOG, portArg, ready, unavailable } from './serve-cli.js';

const ring = new Ring();
const server = await TcpServer.listen(ring, { port: portArg(), backlog: BACKLOG });
// the C server's receive buffers: a ring of 256 × 64 KiB (16 MiB: warmer in the caches than 64 MiB,
// docs/benchmarks.md, twelfth session)
const group = ring.bufferGroup({ count: 256, size: 65536, kind: 'auto' });
if (group.kind === 'legacy') unavailable('no ring-mapped buffer groups on this kernel (IORING_REGISTER_PBUF_RING, 5.19), which programs select from');
const echo = serveEchoFromGroup(ring, server, { group, maxConnections: 1024, multishot: true });
ready(server.address()!.port);
process.once('SIGTERM', () => void echo.close().then(() => ring.close()).then(() => process.exit(0)));
