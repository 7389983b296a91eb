/**
 * A TCP echo server and a relay served by completion programs: after setup, JavaScript is not
 * woken per connection or per message (docs/completion-programs.md, "Serving connections").
 *
 *   node dist/examples/echo-program.js [connections] [messages]     (default 10 × 100)
 *
 * The server is programs/echo.bpf.c (shipped prebuilt): it accepts connections itself and loops
 * RECV → SEND on each. To show the relay, the clients do not connect to it directly: each goes
 * through a relay pair (programs/relay.bpf.c) from a front listener to the echo server.
 *   client ──▶ front listener ─ accept ─ [relay pair] ─ connect ──▶ echo listener ─ [echo program]
 */
import net from 'node:net';
import { closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ring, TcpServer, serveEcho, RelayProgram } from '../src/index.js'; // from 'ringflow' in your project

/** A listening TCP socket on 127.0.0.1 (port 0: any): its fd and the port the kernel picked. */
async function listen(ring: Ring): Promise<{ fd: number; port: number; server: TcpServer }> {
  const server = await TcpServer.listen(ring); // bind/listen through the ring on 6.11+, the syscalls before
  return { fd: server.fd, port: server.address()!.port, server };
}

/** Runs `connections` clients that each send `messages` lines through relay → echo; returns what it saw. */
export async function echoThroughPrograms(connections = 10, messages = 100): Promise<{ bytes: number; messages: number; wakeups: number; relayed: number }> {
  await using ring = new Ring();
  const echoL = await listen(ring);
  const frontL = await listen(ring);
  const echo = serveEcho(ring, echoL.fd, { maxConnections: connections });
  const relays = new RelayProgram(ring, { maxPairs: connections });
  // JS accepts on the front listener and connects upstream once per connection (not per message)
  const pairs = Array.from({ length: connections }, async () => {
    const { fd: a } = await ring.accept(frontL.fd);
    const b = await ring.socket('ipv4', 'stream');
    await ring.connect(b, { address: '127.0.0.1', port: echoL.port });
    const pair = relays.add(a, b);
    return pair.done.finally(() => {
      closeSync(a);
      closeSync(b);
    });
  });
  const clients = Array.from({ length: connections }, (_, k) => client(frontL.port, k, messages));
  const w0 = ring.stats().wakeups;
  const results = await Promise.all(clients);
  const wakeups = ring.stats().wakeups - w0;
  const ends = await Promise.all(pairs);
  const stats = echo.stats();
  await echo.close();
  await echoL.server.close();
  await frontL.server.close();
  return { bytes: results.reduce((a, b) => a + b, 0), messages: stats.messages, wakeups, relayed: ends.reduce((n, e) => n + e.aToB + e.bToA, 0) };
}

/** One client: sends `messages` lines one at a time, checks each echo, then ends. Resolves the bytes it got back. */
function client(port: number, k: number, messages: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    let i = 0;
    const line = (n: number): string => `client ${k} message ${n}\n`;
    s.on('connect', () => s.write(line(0)));
    s.on('data', (d) => {
      got += d;
      if (got.endsWith(line(i))) {
        if (++i === messages) s.end();
        else s.write(line(i));
      }
    });
    s.on('end', () => {
      let want = '';
      for (let n = 0; n < messages; n++) want += line(n);
      if (got === want) resolve(got.length);
      else reject(new Error(`client ${k}: echo differs (${got.length} of ${want.length} bytes)`));
    });
    s.on('error', reject);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const connections = Number(process.argv[2] ?? 10);
  const messages = Number(process.argv[3] ?? 100);
  const r = await echoThroughPrograms(connections, messages);
  console.log(`${connections} connections × ${messages} messages: ${r.bytes} bytes echoed (${r.messages} messages served by the echo program, ${r.relayed} bytes relayed), JS woke ${r.wakeups} time(s)`);
}
