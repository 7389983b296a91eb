/**
 * The HTTP load generator process: autocannon (fetched into the bench cache by tools.ts, loaded
 * from the path in the arguments) against one server, a warm-up run and then the measured run;
 * the server's CPU time is read from /proc/<pid>/stat right before and after the measured run.
 * Run by http.ts as `node dist/bench/net/http-load.js '<json>'`, pinned to the client core;
 * prints one JSON line (a NetResult).
 */
import { createRequire } from 'node:module';
import { runTrial, trialArgs } from '../common.js';
import { procCpuSeconds } from './proc-cpu.js';

export interface HttpLoadArgs {
  autocannon: string;
  url: string;
  connections: number;
  seconds: number;
  warmup: number;
  serverPid: number;
}

interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  throughput: { total: number };
}
type Autocannon = (o: object) => Promise<AutocannonResult>;

runTrial(async () => {
  const a = trialArgs<HttpLoadArgs>();
  const autocannon = createRequire(import.meta.url)(a.autocannon) as Autocannon;
  const opts = { url: a.url, connections: a.connections, pipelining: 1 };
  if (a.warmup > 0) await autocannon({ ...opts, duration: a.warmup });
  const c0 = procCpuSeconds(a.serverPid);
  const t0 = performance.now();
  const r = await autocannon({ ...opts, duration: a.seconds });
  const seconds = (performance.now() - t0) / 1000;
  const c1 = procCpuSeconds(a.serverPid);
  if (r.errors || r.timeouts || r.non2xx) throw new Error(`autocannon: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx responses`);
  const ok = r['2xx'];
  if (!(ok > 0)) throw new Error('autocannon: no 2xx response');
  const cpu = c0 !== undefined && c1 !== undefined ? c1 - c0 : undefined;
  return {
    opsPerSec: ok / seconds,
    ops: ok,
    seconds,
    bytesPerSec: r.throughput.total / seconds,
    connections: a.connections,
    ...(cpu !== undefined ? { serverCpuSeconds: cpu, serverCpuUtil: cpu / seconds, perServerCpuSecond: cpu > 0 ? ok / cpu : 0 } : {}),
  };
});
