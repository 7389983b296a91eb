/**
 * Zero-copy against copying send, by payload size, over loopback (issue 11): one TCP connection
 * on one ring, the sender keeps 4 sends in flight, the receiver drains with a multishot recv.
 * For each size: MB/s with IORING_OP_SEND and with IORING_OP_SEND_ZC (each zero-copy send settles
 * at its notification, so its buffer is reused only then), and whether the kernel copied anyway
 * (IORING_SEND_ZC_REPORT_USAGE). The result's opsPerSec is send_zc's MB/s at 64 KiB; the note
 * has every size and the crossover (the smallest size from which send_zc is faster), if any.
 */
import type { Outcome } from '../drivers.js';
import { Ring, TcpServer, TcpSocket } from '../../src/index.js';

export interface ZcArgs {
  seconds: number;
  warmup: number;
}

const SIZES = [4096, 16384, 65536, 262144, 1048576];
const DEPTH = 4;

async function measure(ring: Ring, sock: TcpSocket, size: number, zc: boolean, seconds: number): Promise<{ mbps: number; copied: boolean }> {
  const bufs = Array.from({ length: DEPTH }, () => Buffer.alloc(size, 0x33));
  let bytes = 0;
  let copied = false;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    bufs.map(async (b) => {
      while (performance.now() < end) {
        if (zc) {
          const r = await ring.sendZc(sock.fd, b, 0, { reportUsage: true });
          bytes += r.bytes;
          copied ||= r.copied;
        } else bytes += await ring.send(sock.fd, b);
      }
    }),
  );
  return { mbps: bytes / ((performance.now() - t0) / 1000) / 1e6, copied };
}

export async function runZc(a: ZcArgs): Promise<Outcome> {
  const ring = new Ring({ entries: 256 });
  try {
    if (!ring.supports('sendZc')) return { skipped: 'this kernel lacks IORING_OP_SEND_ZC (6.0)' };
    const server = await TcpServer.listen(ring);
    const accepted = server.accept();
    const sender = await TcpSocket.connect(ring, { port: server.address()!.port, noDelay: true }); // no Nagle: small sends would wait for ACKs
    const receiver = await accepted;
    // the receiver drains into one 1 MiB buffer (a plain recv loop: the receiving side is not what is measured)
    const sink = Buffer.alloc(1 << 20);
    const drain = (async () => {
      while ((await receiver.read(sink)) > 0);
    })().catch(() => {});
    const per = Math.max(0.1, a.seconds / (SIZES.length * 2));
    const rows: string[] = [];
    let crossover: number | undefined;
    let at64k = 0;
    await measure(ring, sender, 65536, true, a.warmup);
    for (const size of SIZES) {
      const copy = await measure(ring, sender, size, false, per);
      const zero = await measure(ring, sender, size, true, per);
      if (size === 65536) at64k = zero.mbps;
      if (crossover === undefined && zero.mbps > copy.mbps) crossover = size;
      rows.push(`${size / 1024} KiB: send ${copy.mbps.toFixed(0)} MB/s, send_zc ${zero.mbps.toFixed(0)} MB/s (${(zero.mbps / copy.mbps).toFixed(2)}×${zero.copied ? ', copied' : ''})`);
    }
    await sender.close();
    await receiver.close();
    await server.close();
    await drain;
    const note = `MB/s of send_zc at 64 KiB; crossover: ${crossover ? `${crossover / 1024} KiB` : 'none here'}; ${rows.join('; ')}`;
    return { opsPerSec: at64k, ops: 0, seconds: a.seconds, note };
  } finally {
    await ring.close();
  }
}
