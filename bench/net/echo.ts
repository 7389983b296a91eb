/**
 * One TCP echo cell: a fresh server (servers.ts) and the C load generator (bench/c/echo_client.c)
 * on the other core. The client measures completed echoes and reads the server's CPU time at the
 * two ends of its measured window, so the result carries messages/s and messages per server
 * CPU-second over exactly the same interval.
 */
import type { Outcome } from '../drivers.js';
import type { TrialResult } from '../common.js';
import { placement, serverById, serverCommand, withServer } from './servers.js';
import { cTool } from './tools.js';
import { runJson } from './child.js';

export type EchoMode = 'pingpong' | 'stream';

/** What a networking cell reports beyond TrialResult (ops = messages or requests). */
export interface NetResult extends TrialResult {
  bytesPerSec?: number;
  /** The server's utime+stime over the measured window. */
  serverCpuSeconds?: number;
  /** serverCpuSeconds ÷ the window (1 = one core busy all the time). */
  serverCpuUtil?: number;
  /** ops ÷ serverCpuSeconds: the fair figure when the load generator saturates first. */
  perServerCpuSecond?: number;
  clientCpuSeconds?: number;
  connections?: number;
}

export interface EchoArgs {
  server: string;
  mode: EchoMode;
  /** Message size in bytes. */
  size: number;
  connections: number;
  /** Messages in flight per connection when streaming (ping-pong: 1). */
  window: number;
  seconds: number;
  warmup: number;
  /** May a missing tool (Bun) be fetched from npm? */
  fetch: boolean;
}

export async function runEcho(a: EchoArgs): Promise<Outcome> {
  const spec = serverById(a.server);
  if (!spec || spec.protocol !== 'echo') throw new RangeError(`runEcho: server must name an echo server of bench/net/servers.ts, got "${a.server}"`);
  const client = cTool('echo_client');
  if ('skipped' in client) return client;
  const cmd = serverCommand(spec, a.fetch);
  if ('skipped' in cmd) return cmd;
  const window = a.mode === 'pingpong' ? 1 : a.window;
  const r = await withServer(cmd.argv, (s) =>
    runJson<NetResult>(
      [client.exe, ...[s.port, a.connections, a.size, window, a.seconds, a.warmup, s.pid, placement().clientCpu].map(String)],
      (a.warmup + a.seconds) * 1000 + 60_000,
      'echo_client',
    ),
  );
  if ('skipped' in r) return r;
  return { ...r, note: `${spec.label}${cmd.version ? ` ${cmd.version}` : ''}; ${a.mode === 'pingpong' ? 'ping-pong' : `streaming, window ${window}`}` };
}
