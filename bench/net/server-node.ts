/**
 * node:net TCP echo server, the baseline of the echo trials: `socket.on('data', (d) =>
 * socket.write(d))`, Nagle off, the idiomatic and fastest node:net echo. Contract: serve-cli.ts.
 */
import { createServer } from 'node:net';
import { BACKLOG, portArg, ready } from './serve-cli.js';

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', (d) => socket.write(d));
  socket.on('error', () => socket.destroy());
});
server.listen({ host: '127.0.0.1', port: portArg(), backlog: BACKLOG }, () => {
  const a = server.address();
  ready(typeof a === 'object' && a ? a.port : 0);
});
process.on('SIGTERM', () => process.exit(0));
