/**
 * ringflow TCP echo as a completion program (programs/echo.bpf.c through src/net/programs.ts): the
 * program accepts connections itself and loops recv → send per connection on the ring, without
 * waking JavaScript per message. Contract: serve-cli.ts.
 */
import { Ring, TcpServer, serveEcho } from '../../src/index.js';
import { BACKLOG, portArg, ready } from './serve-cli.js';

const ring = new Ring();
const server = await TcpServer.listen(ring, { port: portArg(), backlog: BACKLOG });
// 1024 connections (the trials open at most 1000) × 64 KiB: the C server's 64 MiB of receive
// buffers (2048 × 32 KiB). One RECV per connection at a time, so its size is what one RECV can
// take: with 16 KiB, 4 KiB streaming at 100 connections moved a third fewer messages per server
// CPU-second (docs/benchmarks.md).
const echo = serveEcho(ring, server, { maxConnections: 1024, bufferSize: 65536 });
ready(server.address()!.port);
process.once('SIGTERM', () => void echo.close().then(() => ring.close()).then(() => process.exit(0)));
