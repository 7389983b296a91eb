/**
 * Zero-copy sender: streams a buffer to a peer with IORING_OP_SEND_ZC. Each send's promise
 * resolves when the kernel's notification says the buffer is free again, so the same buffer is
 * safely reused; `reportUsage` tells whether the kernel really sent from it (loopback copies).
 * Run: node dist/examples/zc-sender.js [MiB]   (sends to a local receiver it starts itself)
 */
import { fileURLToPath } from 'node:url';
import { Ring, TcpServer, TcpSocket } from '../src/index.js';

export async function sendZeroCopy(sock: TcpSocket, total: number, chunk = 256 * 1024): Promise<{ bytes: number; copied: number; sends: number }> {
  const buf = Buffer.alloc(chunk, 0x5a);
  let bytes = 0;
  let copied = 0;
  let sends = 0;
  while (bytes < total) {
    const want = Math.min(chunk, total - bytes);
    const r = await sock.ring.sendZc(sock.fd, buf.subarray(0, want), 0, { reportUsage: true });
    bytes += r.bytes;
    if (r.copied) copied++;
    sends++;
  }
  return { bytes, copied, sends };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const total = Number(process.argv[2] ?? 64) * 1024 * 1024;
  await using ring = new Ring();
  await using server = await TcpServer.listen(ring);
  const accepted = server.accept();
  await using sock = await TcpSocket.connect(ring, { port: server.address()!.port });
  await using peer = await accepted;
  const drain = (async () => {
    let n = 0;
    for await (const c of peer.chunks()) {
      n += c.bytes.length;
      c.release();
      if (n >= total) break;
    }
    return n;
  })();
  const t0 = performance.now();
  const r = await sendZeroCopy(sock, total);
  const received = await drain;
  const s = (performance.now() - t0) / 1000;
  console.log(`${r.bytes} bytes in ${r.sends} zero-copy sends (${r.copied} copied by the kernel), ${received} received, ${(r.bytes / s / 1e6).toFixed(0)} MB/s`);
}
