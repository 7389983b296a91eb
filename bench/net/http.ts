/**
 * One HTTP cell: a fresh keep-alive "hello world" server (servers.ts) and autocannon in its own
 * Node process on the other core (http-load.ts). Requests/s and requests per server CPU-second.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Outcome } from '../drivers.js';
import { runJson } from './child.js';
import type { NetResult } from './echo.js';
import type { HttpLoadArgs } from './http-load.js';
import { placement, serverById, serverCommand, withServer } from './servers.js';
import { autocannonModule, AUTOCANNON_VERSION, onPath } from './tools.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface HttpArgs {
  server: string;
  connections: number;
  seconds: number;
  warmup: number;
  fetch: boolean;
}

export async function runHttp(a: HttpArgs): Promise<Outcome> {
  const spec = serverById(a.server);
  if (!spec || spec.protocol !== 'http') throw new RangeError(`runHttp: server must name an HTTP server of bench/net/servers.ts, got "${a.server}"`);
  const ac = autocannonModule(a.fetch);
  if ('skipped' in ac) return ac;
  const cmd = serverCommand(spec, a.fetch);
  if ('skipped' in cmd) return cmd;
  const r = await withServer(cmd.argv, (s) => {
    const args: HttpLoadArgs = { autocannon: ac.path, url: `http://127.0.0.1:${s.port}/`, connections: a.connections, seconds: a.seconds, warmup: a.warmup, serverPid: s.pid };
    return runLoad(args, (a.warmup + a.seconds) * 1000 + 60_000);
  });
  if ('skipped' in r) return r;
  return { ...r, note: `${spec.label}${cmd.version ? ` ${cmd.version}` : ''}; autocannon ${AUTOCANNON_VERSION}, ${a.connections} keep-alive connections` };
}

/** http-load.js in a fresh node, pinned to the client core like the echo client. */
function runLoad(args: HttpLoadArgs, timeoutMs: number): Promise<NetResult> {
  const cpu = placement().clientCpu;
  const taskset = onPath('taskset');
  const pin = cpu >= 0 && taskset ? [taskset, '-c', String(cpu)] : [];
  return runJson<NetResult>([...pin, process.execPath, join(here, 'http-load.js'), JSON.stringify(args)], timeoutMs, 'http-load (autocannon)');
}
