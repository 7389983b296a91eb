/**
 * The networking part of `ringflow bench`: which cells run (one plan, also read by the report)
 * and the cells themselves. Groups: `net` (TCP echo, and the zero-copy slot) and `http`.
 *
 *   full:  echo ping-pong and streaming × 64 B and 4 KiB × 1, 100 and 1000 connections × every
 *          echo server; HTTP at 1 and 100 connections × every HTTP server; Bun and autocannon are
 *          fetched from npm into the bench cache when missing.
 *   quick: echo ping-pong, 64 B, 100 connections, ≤ 1 s per cell; nothing is fetched (Bun runs
 *          only if it is already there).
 */
import type { Outcome } from '../drivers.js';
import { runEcho, type EchoMode } from './echo.js';
import { runHttp } from './http.js';
import { SERVERS } from './servers.js';
import { fetchAllowed } from './tools.js';
import { runZc } from './zc.js';

export interface NetPlan {
  echo?: { servers: string[]; modes: EchoMode[]; sizes: number[]; connections: number[]; window: number };
  http?: { servers: string[]; connections: number[] };
  zc: boolean;
  seconds: number;
  warmup: number;
  fetch: boolean;
}

/** What the suite options say about networking (a subset of SuiteOptions). */
export interface NetOptions {
  quick: boolean;
  seconds: number;
  warmup: number;
  groups: Set<string>;
}

/** Messages in flight per connection in the streaming trials. */
export const STREAM_WINDOW = 16;

export function netPlan(o: NetOptions): NetPlan {
  const ids = (p: 'echo' | 'http') => SERVERS.filter((s) => s.protocol === p).map((s) => s.id);
  return {
    echo: o.groups.has('net')
      ? o.quick
        ? { servers: ids('echo'), modes: ['pingpong'], sizes: [64], connections: [100], window: STREAM_WINDOW }
        : { servers: ids('echo'), modes: ['pingpong', 'stream'], sizes: [64, 4096], connections: [1, 100, 1000], window: STREAM_WINDOW }
      : undefined,
    http: o.groups.has('http') ? { servers: ids('http'), connections: o.quick ? [100] : [1, 100] } : undefined,
    zc: o.groups.has('net'),
    seconds: o.quick ? Math.min(o.seconds, 1) : o.seconds,
    warmup: o.quick ? Math.min(o.warmup, 0.3) : o.warmup,
    fetch: !o.quick && fetchAllowed(),
  };
}

export const echoKey = (mode: EchoMode, size: number, conns: number, server: string) => `net:echo:${mode}:${size}:${conns}:${server}`;
export const httpKey = (conns: number, server: string) => `net:http:${conns}:${server}`;
export const ZC_KEY = 'net:zc';

const label = (id: string) => SERVERS.find((s) => s.id === id)?.label ?? id;
const sizeLabel = (n: number) => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);

export function netCells(o: NetOptions): { key: string; title: string; run: () => Promise<Outcome> }[] {
  const p = netPlan(o);
  const t = { seconds: p.seconds, warmup: p.warmup, fetch: p.fetch };
  const cells: { key: string; title: string; run: () => Promise<Outcome> }[] = [];
  if (p.echo)
    for (const mode of p.echo.modes)
      for (const size of p.echo.sizes)
        for (const connections of p.echo.connections)
          for (const server of p.echo.servers)
            cells.push({
              key: echoKey(mode, size, connections, server),
              title: `echo ${mode === 'pingpong' ? 'ping-pong' : 'streaming'} ${sizeLabel(size)} x${connections} ${label(server)}`,
              run: () => runEcho({ server, mode, size, connections, window: p.echo!.window, ...t }),
            });
  if (p.http)
    for (const connections of p.http.connections)
      for (const server of p.http.servers)
        cells.push({ key: httpKey(connections, server), title: `HTTP x${connections} ${label(server)}`, run: () => runHttp({ server, connections, ...t }) });
  if (p.zc) cells.push({ key: ZC_KEY, title: 'zero-copy send crossover', run: () => runZc(t) });
  return cells;
}
