/**
 * Helpers of the write(chunk) attacks (write-chunk-attack*.test.ts): connected pairs, one received
 * chunk, a socket filled until a send waits (small fixed socket buffers), reads to the end.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readExactly, fillRest } from '../net-helpers.js';
import { TcpServer, TcpSocket, BufferStateError, type Ring, type ProvidedBuffer } from '../../src/index.js';
import { binding } from '../../src/native.js';
import { SOL, SO } from '../../src/ops/net-abi.js';

export type Group = ReturnType<Ring['bufferGroup']>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const isReleased = (e: unknown) => e instanceof BufferStateError && e.code === 'ERR_BUFFER_RELEASED';
export const gc = () => (globalThis as { gc?: () => void }).gc?.();
export const fdCount = () => readdirSync('/proc/self/fd').length;

export async function pair(ring: Ring, group: Group, server?: TcpServer) {
  server ??= await TcpServer.listen(ring, { port: 0, group });
  const acc = server.accept();
  const client = await TcpSocket.connect(ring, { port: server.address()!.port, noDelay: true });
  const peer = await acc;
  return { server, client, peer };
}

/** The next chunk `s` receives (its stream closed after it). */
export async function firstChunk(s: TcpSocket): Promise<ProvidedBuffer> {
  const st = s.chunks();
  const r = await st.next();
  st.close();
  assert.equal(r.done, false);
  return r.value as ProvidedBuffer;
}

/** Sends `data` from `from` and takes it on `to` as one chunk (asserts it came whole). */
export async function chunkOf(from: TcpSocket, to: TcpSocket, data: Buffer): Promise<ProvidedBuffer> {
  const got = firstChunk(to);
  await from.write(data);
  const c = await got;
  assert.equal(c.length, data.length, 'the chunk came whole');
  return c;
}

/**
 * Raw sends (not through the writer) on `fd` until one waits for room, then small ones until one
 * of those waits too (the kernel lets a later small send use room a waiting big one cannot: the
 * socket must be full to the last bytes for the next send to wait); their settled promises.
 */
export async function fillSocket(ring: Ring, peer: TcpSocket, client: TcpSocket, byte = 2): Promise<Promise<unknown>[] & { bytes: number }> {
  // small fixed buffers (no autotuning): the connection reaches its steady, full state at once
  assert.equal(binding.sockSetInt(peer.fd, SOL.SOCKET, SO.SNDBUF, 4096), 0);
  assert.equal(binding.sockSetInt(client.fd, SOL.SOCKET, SO.RCVBUF, 4096), 0);
  const fd = peer.fd;
  const sends = Object.assign([] as Promise<unknown>[], { bytes: 0 });
  for (const size of [65536, 512]) {
    for (let i = 0; ; i++) {
      if (i === 8192) throw new Error('the socket never filled');
      const p = ring.send(fd, Buffer.alloc(size, byte));
      sends.push(p.catch((e: unknown) => e));
      sends.bytes += size;
      const done = () => Promise.race([p.then(() => true, () => true), sleep(size === 512 ? 5 : 20).then(() => false)]);
      if (!(await done()) && !(await Promise.race([p.then(() => true, () => true), sleep(100).then(() => false)]))) break;
    }
  }
  sends.bytes += await fillRest(ring, fd, byte); // (the last send may only have been slow: see fillRest)
  return sends;
}

/** Cancels what waits on `peer` (fillers), closes it, and reads `client` to EOF. */
export async function drainAfterClose(ring: Ring, peer: TcpSocket, client: TcpSocket, filler: Promise<unknown>[]): Promise<Buffer> {
  await ring.cancel({ fd: peer.fd }, { all: true }).catch(() => 0);
  await Promise.all(filler);
  await peer.close();
  const parts: Buffer[] = [];
  const b = Buffer.alloc(1 << 16);
  for (;;) {
    const n = await client.read(b);
    if (n === 0) break;
    parts.push(Buffer.from(b.subarray(0, n)));
  }
  return Buffer.concat(parts);
}

/** Reads `client` to EOF. */
export async function readToEof(client: TcpSocket): Promise<Buffer> {
  const parts: Buffer[] = [];
  const b = Buffer.alloc(1 << 16);
  for (;;) {
    const n = await client.read(b);
    if (n === 0) return Buffer.concat(parts);
    parts.push(Buffer.from(b.subarray(0, n)));
  }
}

/** Reads `client` until `n` bytes came (the peer keeps writing). */
export async function readAll(client: TcpSocket, n: number): Promise<Buffer> {
  return readExactly(client, n);
}

export const countByte = (b: Buffer, v: number) => {
  let k = 0;
  for (const x of b) if (x === v) k++;
  return k;
};
