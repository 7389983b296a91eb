/**
 * Bun TCP echo server (`Bun.listen`), run by the bun binary (bench/net/tools.ts finds or fetches
 * it). Bun's `socket.write` does not buffer: it returns how many bytes the kernel took, so the rest
 * is kept per socket and written on `drain`, in order. Contract: serve-cli.ts (no imports here:
 * this file runs under Bun).
 */
export {};

declare const Bun: any;
interface BunSocket {
  data: { pending: Uint8Array[] };
  write(d: Uint8Array): number;
}

function flush(s: BunSocket): void {
  const q = s.data.pending;
  while (q.length) {
    const head = q[0];
    const n = s.write(head);
    if (n < head.length) {
      q[0] = head.subarray(Math.max(n, 0));
      return;
    }
    q.shift();
  }
}

const port = Number(process.argv[2] ?? '0');
const server = Bun.listen({
  hostname: '127.0.0.1',
  port,
  socket: {
    open(s: BunSocket) {
      s.data = { pending: [] };
      (s as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
    },
    data(s: BunSocket, d: Uint8Array) {
      if (s.data.pending.length) {
        s.data.pending.push(d.slice());
        return;
      }
      const n = s.write(d);
      if (n < d.length) s.data.pending.push(d.slice(Math.max(n, 0)));
    },
    drain(s: BunSocket) {
      flush(s);
    },
    error() {},
  },
});
process.stdout.write(`ready ${server.port}\n`);
process.on('SIGTERM', () => process.exit(0));
