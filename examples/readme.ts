import { Ring, O, op } from '../src/index.js'; // from 'ringflow' in your project

await using ring = new Ring(); // closed (in-flight work cancelled) at the end of the scope
const fd = await ring.openat('/tmp/ringflow-demo.txt', O.CREAT | O.RDWR | O.TRUNC, 0o644);
const back = Buffer.alloc(5);

// Low-level builders: write → fsync → read linked into one chain, one io_uring_enter
await Promise.all(ring.chain([op.write(fd, Buffer.from('hello'), 0), op.fsync(fd), op.read(fd, back, 0)], { link: true }));

// Requests issued in the same tick share one io_uring_enter
const [st, n] = await Promise.all([ring.statx('/tmp/ringflow-demo.txt'), ring.read(fd, Buffer.alloc(5), 1)]);

// Cancellation through AbortSignal (IORING_OP_ASYNC_CANCEL): this timer never fires
await ring.timeout(60_000, { signal: AbortSignal.timeout(10) }).catch((e) => console.log(e.name));
await ring.closeFd(fd);
console.log(back.toString(), st.size, n, ring.stats().enterCalls);
