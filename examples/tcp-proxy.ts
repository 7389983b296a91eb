/**
 * TCP proxy on the ring, in JS: each accepted connection is relayed to a target; bytes flow both
 * ways from provided buffers straight into sends (no copies), and each side's end-of-stream is
 * passed on with shutdown(SHUT_WR). (examples/echo-program.ts and src/net/programs.ts relay
 * without waking JS per message.)
 * Run: node dist/examples/tcp-proxy.js <listen-port> <target-port> [target-host]
 */
import { fileURLToPath } from 'node:url';
import { Ring, TcpServer, TcpSocket } from '../src/index.js';

/** Moves what `from` receives to `to` until `from` ends; then ends `to`'s write side. */
async function pipe(from: TcpSocket, to: TcpSocket): Promise<void> {
  try {
    for await (const chunk of from.chunks()) {
      await to.write(chunk); // sent from the provided buffer, back to its group when sent
    }
    await to.end();
  } catch {
    await to.close();
  }
}

export async function proxyConnection(client: TcpSocket, target: { port: number; host?: string }): Promise<void> {
  let upstream: TcpSocket;
  try {
    upstream = await TcpSocket.connect(client.ring, target);
  } catch {
    await client.close();
    return;
  }
  await Promise.all([pipe(client, upstream), pipe(upstream, client)]);
  await Promise.all([client.close(), upstream.close()]);
}

export async function serveProxy(server: TcpServer, target: { port: number; host?: string }): Promise<void> {
  for await (const client of server) void proxyConnection(client, target);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [listenPort, targetPort, host] = process.argv.slice(2);
  const ring = new Ring();
  const server = await TcpServer.listen(ring, { port: Number(listenPort ?? 0) });
  console.log(`proxy on port ${server.address()!.port} -> ${host ?? '127.0.0.1'}:${targetPort}`);
  process.on('SIGINT', () => void server.close().then(() => ring.close()));
  await serveProxy(server, { port: Number(targetPort), host });
}
