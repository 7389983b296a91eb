/**
 * A minimal keep-alive HTTP/1.1 responder on the ring: every request (GET/HEAD, no body) on a
 * connection gets "200 hello world"; requests pipelined in one chunk get their answers in one
 * send. Not a full HTTP parser: it shows the ring's request path (multishot accept, multishot
 * recv into provided buffers with callbacks, one send per batch of answers, writes in order without
 * awaiting them).
 * Run: node dist/examples/http-responder.js [port]
 */
import { fileURLToPath } from 'node:url';
import { Ring, TcpServer, type TcpSocket } from '../src/index.js';

const BODY = 'hello world';
const RESPONSE = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\nConnection: keep-alive\r\n\r\n${BODY}`);
const END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/**
 * Serves one connection with callbacks (listen(): no promise or iterator step per chunk). Writes
 * are not awaited: a TcpSocket sends them in call order, one after the other. Resolves when the
 * connection has ended and is closed.
 */
export function serveHttp(sock: TcpSocket): Promise<void> {
  return new Promise((resolve) => {
    let carry = Buffer.alloc(0);
    let closing: Promise<void> | undefined;
    const close = (): void => void (closing ??= sock.close().then(resolve, resolve));
    const written = (err?: unknown): void => {
      if (err !== undefined) close();
    };
    const chunks = sock.chunks();
    chunks.listen((chunk) => {
      // count complete request heads; keep a partial one for the next chunk
      const b = chunk.bytes;
      const data = carry.length ? Buffer.concat([carry, b]) : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      let n = 0;
      let at = 0;
      for (let i = data.indexOf(END, at); i >= 0; i = data.indexOf(END, at)) {
        n++;
        at = i + 4;
      }
      carry = at === data.length ? EMPTY : Buffer.from(data.subarray(at)); // a copy: the chunk goes back to the kernel now
      chunk.release();
      if (carry.length > 16384) return void (chunks.close(), close()); // a head that never ends
      // node:net's callback form: no promise per response
      if (n === 1) sock.write(RESPONSE, written);
      else if (n > 1) sock.write(Buffer.concat(Array.from({ length: n }, () => RESPONSE)), written);
    }, close); // the peer closed, reset, or the server is going away
  });
}

export async function serveHttpServer(server: TcpServer): Promise<void> {
  for await (const sock of server) void serveHttp(sock.setNoDelay(true));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ring = new Ring();
  const server = await TcpServer.listen(ring, { port: Number(process.argv[2] ?? 0), backlog: 4096 });
  console.log(`http on port ${server.address()!.port}`);
  process.on('SIGINT', () => void server.close().then(() => ring.close()));
  process.on('SIGTERM', () => process.exit(0));
  await serveHttpServer(server);
}
