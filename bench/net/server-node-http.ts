/**
 * node:http keep-alive "hello world" responder, the baseline of the HTTP trials. Contract: serve-cli.ts.
 */
import { createServer } from 'node:http';
import { BACKLOG, HELLO, portArg, ready } from './serve-cli.js';

const body = Buffer.from(HELLO);
const server = createServer({ noDelay: true, keepAlive: true }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen({ host: '127.0.0.1', port: portArg(), backlog: BACKLOG }, () => {
  const a = server.address();
  ready(typeof a === 'object' && a ? a.port : 0);
});
process.on('SIGTERM', () => process.exit(0));
