/**
 * The servers of the networking trials, one table, and how the harness starts and stops them.
 * Each server is its own process (contract: serve-cli.ts), pinned to its own core with `taskset`
 * when the machine has two, so the load generator on the other core never takes its CPU and the
 * server's CPU time (utime+stime from /proc/<pid>/stat, all its threads) is its alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Skip } from '../drivers.js';
import { bunBinary, cTool, onPath } from './tools.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench/net

export type Protocol = 'echo' | 'http';
/** How a server is run: a compiled file of this directory under node or bun, or a bench/c program. */
export type Runtime = { node: string } | { bun: string } | { c: string };

export interface ServerSpec {
  id: string;
  label: string;
  protocol: Protocol;
  runtime: Runtime;
  /** The server all ratios are taken against (one per protocol). */
  baseline?: boolean;
}

export const SERVERS: readonly ServerSpec[] = [
  { id: 'node', label: 'node:net', protocol: 'echo', runtime: { node: 'server-node.js' }, baseline: true },
  { id: 'bun', label: 'Bun (Bun.listen)', protocol: 'echo', runtime: { bun: 'server-bun.js' } },
  { id: 'c', label: 'C io_uring (the limit)', protocol: 'echo', runtime: { c: 'echo_uring' } },
  { id: 'ringflow-js', label: 'ringflow (JS)', protocol: 'echo', runtime: { node: 'server-ringflow-js.js' } },
  { id: 'ringflow-program', label: 'ringflow (program)', protocol: 'echo', runtime: { node: 'server-ringflow-program.js' } },
  { id: 'ringflow-program-multi', label: 'ringflow (program, multishot)', protocol: 'echo', runtime: { node: 'server-ringflow-program-multi.js' } },
  { id: 'node-http', label: 'node:http', protocol: 'http', runtime: { node: 'server-node-http.js' }, baseline: true },
  { id: 'bun-http', label: 'Bun.serve', protocol: 'http', runtime: { bun: 'server-bun-http.js' } },
  { id: 'ringflow-http', label: 'ringflow HTTP responder', protocol: 'http', runtime: { node: 'server-ringflow-http.js' } },
];

export const serverById = (id: string) => SERVERS.find((s) => s.id === id);

/** Where server and load generator run: CPU 0 and CPU 1 (taskset for the server), or unpinned. */
export interface Placement {
  serverPrefix: string[];
  clientCpu: number;
  note: string;
}

let placementMemo: Placement | undefined;
export function placement(): Placement {
  if (placementMemo) return placementMemo;
  const taskset = onPath('taskset');
  if (availableParallelism() >= 2 && taskset && process.env.RINGFLOW_BENCH_PIN !== '0')
    placementMemo = { serverPrefix: [taskset, '-c', '0'], clientCpu: 1, note: 'server pinned to CPU 0 (taskset), load generator to CPU 1' };
  else
    placementMemo = {
      serverPrefix: [],
      clientCpu: -1,
      note: `server and load generator NOT pinned (${availableParallelism() < 2 ? 'fewer than 2 CPUs' : taskset ? 'RINGFLOW_BENCH_PIN=0' : 'no taskset (util-linux) on PATH'}): they share the CPUs`,
    };
  return placementMemo;
}

/** The command line of a server (without its port), or why it cannot run here. */
export function serverCommand(spec: ServerSpec, fetch: boolean): { argv: string[]; version?: string } | Skip {
  const r = spec.runtime;
  if ('node' in r) return { argv: [process.execPath, join(here, r.node)] };
  if ('bun' in r) {
    const bun = bunBinary(fetch);
    if ('skipped' in bun) return bun;
    return { argv: [bun.exe, join(here, r.bun)], version: bun.version };
  }
  const c = cTool(r.c);
  if ('skipped' in c) return c;
  return { argv: [c.exe] };
}

export interface RunningServer {
  pid: number;
  port: number;
  child: ChildProcess;
  /** Its stderr so far (for error messages). */
  stderr(): string;
}

/**
 * Starts a server on a free port and waits for `ready <port>`; resolves a Skip when it says
 * `unavailable: <reason>` (exit 3); rejects when it dies or stays silent for `timeoutMs`.
 */
export function startServer(argv: string[], timeoutMs = 60_000): Promise<RunningServer | Skip> {
  const full = [...placement().serverPrefix, ...argv, '0'];
  return new Promise((resolve, reject) => {
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`${argv.join(' ')}: no "ready <port>" within ${timeoutMs} ms: ${err.trim()}`)));
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /^ready (\d+)$/m.exec(out);
      if (m) settle(() => resolve({ pid: child.pid!, port: Number(m[1]), child, stderr: () => err }));
    });
    child.on('error', (e) => settle(() => reject(e)));
    child.on('close', (code, signal) => {
      const u = /^unavailable: (.*)$/m.exec(out);
      if (code === 3 && u) settle(() => resolve({ skipped: u[1] }));
      else settle(() => reject(new Error(`${argv.join(' ')} exited ${signal ?? code} before it was ready: ${(err || out).trim()}`)));
    });
  });
}

/** SIGTERM, then SIGKILL after 2 s; resolves once the process is gone. */
export function stopServer(s: RunningServer): Promise<void> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
    const kill = setTimeout(() => s.child.kill('SIGKILL'), 2000);
    s.child.once('close', () => {
      clearTimeout(kill);
      resolve();
    });
    s.child.kill('SIGTERM');
  });
}

/** Runs `fn` against a fresh server; the server is stopped whatever happens. */
export async function withServer<T>(argv: string[], fn: (s: RunningServer) => Promise<T>): Promise<T | Skip> {
  const s = await startServer(argv);
  if ('skipped' in s) return s;
  try {
    return await fn(s);
  } catch (e) {
    const tail = s.stderr().trim();
    if (tail && e instanceof Error) e.message += ` (server stderr: ${tail.split('\n').slice(-3).join(' | ')})`;
    throw e;
  } finally {
    await stopServer(s);
  }
}
