/** examples/echo-program type-checks (compiled with the project) and runs: clients → relay program → echo program, no JS wakeup per message. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { noEngine } from './ring-programs-util.js';
import { Ring } from '../src/index.js';

const noSockets = ((): string | false => {
  const ring = new Ring();
  try {
    return ['socket', 'connect'].find((o) => !ring.supports(o)) ? 'kernel probe: socket/connect not supported' : false;
  } finally {
    void ring.close();
  }
})();

test('examples/echo-program echoes through a relay pair and the echo program, JS not woken per message', { skip: noEngine || noSockets }, async () => {
  const { echoThroughPrograms } = await import('../examples/echo-program.js');
  const r = await echoThroughPrograms(8, 150);
  let want = 0;
  for (let k = 0; k < 8; k++) for (let n = 0; n < 150; n++) want += `client ${k} message ${n}\n`.length;
  assert.equal(r.bytes, want);
  assert.equal(r.relayed, 2 * want, 'every byte went through the relay both ways');
  assert.equal(r.messages >= 1200, true, `the echo program served ${r.messages} messages`);
  assert.ok(r.wakeups < 1200 / 20, `JS woke ${r.wakeups} times for 1200 messages`);
  const script = fileURLToPath(new URL('../examples/echo-program.js', import.meta.url));
  const p = spawnSync(process.execPath, [script, '4', '50'], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /^4 connections × 50 messages: \d+ bytes echoed \(\d+ messages served by the echo program, \d+ bytes relayed\), JS woke \d+ time\(s\)\n$/);
});
