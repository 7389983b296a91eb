/**
 * The networking benchmark harness (bench/net/) on tiny cells, so it cannot rot: a real server
 * process, the C load generator, CPU time from /proc, the skip protocol, the byte check, the
 * report. Each cell runs 0.2 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availableParallelism } from 'node:os';
import { runEcho, type NetResult } from '../bench/net/echo.js';
import { runJson } from '../bench/net/child.js';
import { startServer, stopServer } from '../bench/net/servers.js';
import { cTool } from '../bench/net/tools.js';
import { echoKey, netCells } from '../bench/net/cells.js';
import { defaultOptions, type SuiteResult } from '../bench/suite.js';
import { textReport } from '../bench/report.js';
import { isSkip, type Outcome } from '../bench/drivers.js';
import { CPU_TIME_SCALE } from './helpers.js';

const tiny = { seconds: 0.2, warmup: 0.05, fetch: false, window: 16 };

function assertMeasured(r: Outcome): asserts r is NetResult {
  assert.ok(!isSkip(r), `the cell was skipped: ${isSkip(r) ? r.skipped : ''}`);
  const x = r as NetResult;
  assert.ok(x.ops > 0 && x.opsPerSec > 0, `no message echoed: ${JSON.stringify(x)}`);
  assert.ok(x.seconds >= 0.2 && x.seconds < 10 * CPU_TIME_SCALE, `measured window ${x.seconds} s`); // it closes at the first loop turn after 0.2 s (later in a TCG guest)
  assert.equal(typeof x.serverCpuSeconds, 'number');
  // the server's CPU time over the window: at most the window times the CPUs it may use (+ a 10 ms tick)
  assert.ok(x.serverCpuSeconds! >= 0 && x.serverCpuSeconds! <= x.seconds * availableParallelism() + 0.02, `server CPU ${x.serverCpuSeconds} s in ${x.seconds} s`);
  assert.ok(Number.isFinite(x.perServerCpuSecond));
  assert.ok(x.bytesPerSec! > 0);
}

test('node:net echo, 1 connection, ping-pong 64 B: a rate and a per-server-CPU figure', { timeout: 60_000 * CPU_TIME_SCALE }, async () => {
  const r = await runEcho({ server: 'node', mode: 'pingpong', size: 64, connections: 1, ...tiny });
  assertMeasured(r);
  assert.equal(r.connections, 1);
  // ping-pong: 64 bytes come back per completed message (± a partial message at each end of the window)
  const bytes = r.bytesPerSec! * r.seconds;
  assert.ok(Math.abs(bytes - r.ops * 64) < 128, `${bytes} bytes for ${r.ops} messages`);
});

test('C io_uring echo, 10 connections streaming 4 KiB: every byte comes back in order', { timeout: 60_000 * CPU_TIME_SCALE }, async (t) => {
  const r = await runEcho({ server: 'c', mode: 'stream', size: 4096, connections: 10, ...tiny });
  // echo_uring says "unavailable" only when the kernel refuses its ring, buffer ring or multishot ops
  if (isSkip(r) && /io_uring|IORING|multishot|compiler/.test(r.skipped)) return t.skip(r.skipped);
  assertMeasured(r);
});

test('a server that says "unavailable: <reason>" and exits 3 is a skip with that reason', { timeout: 30_000 * CPU_TIME_SCALE }, async () => {
  const s = await startServer([process.execPath, '-e', 'console.log("unavailable: no such feature here"); process.exit(3)']);
  assert.deepEqual(s, { skipped: 'no such feature here' });
  await assert.rejects(startServer([process.execPath, '-e', 'process.exit(1)']), /exited 1 before it was ready/);
});

test('the load generator fails a server that corrupts what it echoes', { timeout: 30_000 * CPU_TIME_SCALE }, async () => {
  const client = cTool('echo_client');
  assert.ok(!('skipped' in client), 'skipped' in client ? client.skipped : '');
  const bad = `const s = require('node:net').createServer((c) => c.on('data', (d) => { d[0] ^= 1; c.write(d); }));
    s.listen(0, '127.0.0.1', () => console.log('ready ' + s.address().port));`;
  const s = await startServer([process.execPath, '-e', bad]);
  if ('skipped' in s) assert.fail(s.skipped);
  try {
    await assert.rejects(
      runJson([client.exe, String(s.port), '1', '64', '1', '0.2', '0', String(s.pid)], 20_000 * CPU_TIME_SCALE, 'echo_client'),
      /echoed bytes differ from those sent/,
    );
  } finally {
    await stopServer(s);
  }
});

test('quick plan and report: the echo table shows the measured cell and the skips with reasons', { timeout: 60_000 * CPU_TIME_SCALE }, async () => {
  const o = { ...defaultOptions(true), groups: new Set(['net'] as const) };
  const cells = netCells(o);
  assert.ok(cells.length <= 8, `quick net subset has ${cells.length} cells`);
  const key = echoKey('pingpong', 64, 100, 'node');
  assert.ok(cells.some((c) => c.key === key));
  const results = new Map<string, Outcome>();
  results.set(key, await runEcho({ server: 'node', mode: 'pingpong', size: 64, connections: 100, ...tiny }));
  results.set(echoKey('pingpong', 64, 100, 'ringflow-js'), { skipped: 'not built yet' });
  const s: SuiteResult = { options: o, startedAt: new Date(), elapsedS: 1, files: [], fio: undefined, results };
  const text = textReport(s);
  assert.match(text, /TCP echo over loopback, ping-pong, 64 B messages/);
  assert.match(text, /^node:net\s+[\d.]+(?: [kM])?\s+[\d.]+(?: [kM])?, \d+ %$/m);
  assert.match(text, /^ringflow \(JS\)\s+skipped\s+skipped$/m);
  assert.match(text, /skipped: ringflow \(JS\): not built yet/);
});
