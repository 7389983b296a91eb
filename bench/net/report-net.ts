/**
 * The networking tables of the bench report: one per echo mode × message size (servers as rows,
 * connection counts as columns), one for HTTP, one for the zero-copy slot. Every figure is given
 * twice: per second, and per CPU-second of the server; ratios are against the baseline server of
 * the protocol (node:net, node:http).
 */
import { isSkip } from '../drivers.js';
import { fmtOps, type CellResult, type SuiteResult } from '../suite.js';
import { echoKey, httpKey, netPlan, STREAM_WINDOW, ZC_KEY } from './cells.js';
import type { NetResult } from './echo.js';
import { placement, SERVERS } from './servers.js';

/** The same shape as report.ts's tables. */
export interface NetTable {
  title: string;
  head: string[];
  rows: string[][];
  notes: string[];
}

const label = (id: string) => SERVERS.find((s) => s.id === id)?.label ?? id;
const baselineOf = (protocol: 'echo' | 'http') => SERVERS.find((s) => s.protocol === protocol && s.baseline)!.id;
const ok = (r: CellResult | undefined) => (r && !isSkip(r) ? (r as NetResult) : undefined);

function times(x: number | undefined, base: number | undefined): string {
  return x !== undefined && base ? ` (${(x / base).toFixed(2)}×)` : '';
}

/** "msg/s" and "per CPU-s" cells of one result against the baseline result. */
function pair(r: CellResult | undefined, base: CellResult | undefined, isBase: boolean): [string, string] {
  if (!r) return ['—', '—'];
  if (isSkip(r)) return ['skipped', 'skipped'];
  const x = r as NetResult & { runs?: number[] };
  const b = ok(base);
  const spread = x.runs && x.runs.length > 1 ? ` [${fmtOps(Math.min(...x.runs))}–${fmtOps(Math.max(...x.runs))}]` : '';
  const rate = `${fmtOps(x.opsPerSec)}${isBase ? '' : times(x.opsPerSec, b?.opsPerSec)}${spread}`;
  const cpu =
    x.perServerCpuSecond !== undefined
      ? `${fmtOps(x.perServerCpuSecond)}${isBase ? '' : times(x.perServerCpuSecond, b?.perServerCpuSecond)}, ${Math.round((x.serverCpuUtil ?? 0) * 100)} %`
      : 'n/a';
  return [rate, cpu];
}

export function netTables(s: SuiteResult): NetTable[] {
  const plan = netPlan(s.options);
  const R = s.results;
  const out: NetTable[] = [];
  const where = placement().note;
  const skipNotes = (keys: string[]) => {
    const seen = new Map<string, string>();
    for (const k of keys) {
      const r = R.get(k);
      if (r && isSkip(r)) seen.set(`${label(k.split(':').pop()!)}: ${r.skipped}`, '');
    }
    return [...seen.keys()].map((n) => `skipped: ${n}`);
  };
  const cellNote = `${plan.seconds} s per cell after ${plan.warmup} s warm-up, a fresh server process per cell`;

  if (plan.echo) {
    const e = plan.echo;
    const base = baselineOf('echo');
    for (const mode of e.modes)
      for (const size of e.sizes) {
        const keys: string[] = [];
        const rows = e.servers.map((id) => [
          label(id),
          ...e.connections.flatMap((c) => {
            keys.push(echoKey(mode, size, c, id));
            return pair(R.get(echoKey(mode, size, c, id)), R.get(echoKey(mode, size, c, base)), id === base);
          }),
        ]);
        out.push({
          title: `TCP echo over loopback, ${mode === 'pingpong' ? 'ping-pong' : `streaming (window ${STREAM_WINDOW})`}, ${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} messages: messages/s and messages per server CPU-second`,
          head: ['server', ...e.connections.flatMap((c) => [`${c} conn${c > 1 ? 's' : ''}: msg/s`, `msg/server CPU-s, CPU`])],
          rows,
          notes: [
            `Load: bench/c/echo_client.c (C, epoll, one thread; every echoed byte checked). ${mode === 'pingpong' ? 'Ping-pong: each connection sends one message and waits for its whole echo.' : `Streaming: each connection keeps up to ${STREAM_WINDOW} messages in flight.`} ${where}; ${cellNote}.`,
            `msg/server CPU-s = messages ÷ the server's utime+stime (all its threads, /proc/<pid>/stat) over the measured window; CPU = that time ÷ the window (100 % = one core). (×) = ÷ ${label(base)} in the same run.`,
            ...skipNotes(keys),
          ],
        });
      }
  }
  if (plan.http) {
    const h = plan.http;
    const base = baselineOf('http');
    const keys: string[] = [];
    const rows = h.servers.map((id) => [
      label(id),
      ...h.connections.flatMap((c) => {
        keys.push(httpKey(c, id));
        return pair(R.get(httpKey(c, id)), R.get(httpKey(c, base)), id === base);
      }),
    ]);
    out.push({
      title: 'HTTP/1.1 keep-alive "hello world" over loopback: requests/s and requests per server CPU-second',
      head: ['server', ...h.connections.flatMap((c) => [`${c} conn${c > 1 ? 's' : ''}: req/s`, 'req/server CPU-s, CPU'])],
      rows,
      notes: [
        `Load: autocannon (Node, fetched from npm into the bench cache) in its own process, no pipelining, a warm-up run then the measured run. ${where}; ${cellNote}.`,
        `req/server CPU-s = 2xx responses ÷ the server's utime+stime over the measured run. (×) = ÷ ${label(base)} in the same run.`,
        ...skipNotes(keys),
      ],
    });
  }
  if (plan.zc) {
    const r = R.get(ZC_KEY);
    const x = ok(r);
    out.push({
      title: 'Zero-copy send against copying send',
      head: ['trial', 'result'],
      rows: [['send_zc vs send crossover', r ? (x ? `${fmtOps(x.opsPerSec)} ${x.note ?? ''}`.trim() : `skipped: ${(r as { skipped: string }).skipped}`) : '—']],
      notes: [],
    });
  }
  return out;
}

/** The history line's networking part: echo ping-pong 64 B at 100 connections, per server CPU-second against node:net. */
export function netHeadline(s: SuiteResult): string {
  const key = (id: string) => echoKey('pingpong', 64, 100, id);
  const base = ok(s.results.get(key(baselineOf('echo'))));
  if (!base?.perServerCpuSecond) return '';
  const parts = SERVERS.filter((x) => x.protocol === 'echo' && !x.baseline).map((x) => {
    const r = ok(s.results.get(key(x.id)));
    return `${x.label} ${r?.perServerCpuSecond ? `${(r.perServerCpuSecond / base.perServerCpuSecond!).toFixed(2)}×` : '–'}`;
  });
  return `; echo ping-pong 64 B x100 per server CPU-s vs node:net: ${parts.join(', ')}`;
}
