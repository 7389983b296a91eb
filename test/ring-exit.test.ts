/** The process exits on its own when nothing is in flight; in-flight requests keep it alive; unref() opts out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CPU_TIME_SCALE } from './helpers.js';

const index = new URL('../src/index.js', import.meta.url).href;
function run(body: string): { code: number | null; out: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { Ring } from '${index}';\n${body}`], { encoding: 'utf8', timeout: 10_000 * CPU_TIME_SCALE });
  return { code: r.status, out: r.stdout + r.stderr, ms: Date.now() - t0 };
}

test('an idle open ring does not keep the process alive', () => {
  const r = run(`const ring = new Ring(); await ring.nop(); console.log('done');`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /done/);
  assert.ok(r.ms < 5000 * CPU_TIME_SCALE, `exited after ${r.ms} ms`);
});

test('an in-flight request keeps the process alive until its CQE', () => {
  const r = run(`const ring = new Ring(); ring.timeout(300).then((v) => console.log('fired', v));`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /fired true/);
  assert.ok(r.ms >= 300, `exited after ${r.ms} ms`);
});

test('ring.unref(): in-flight requests do not keep the process alive', () => {
  const r = run(`const ring = new Ring().unref(); ring.timeout(${5000 * CPU_TIME_SCALE}).then(() => console.log('fired'));`);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /fired/);
  assert.ok(r.ms < 4000 * CPU_TIME_SCALE, `exited after ${r.ms} ms (before the timeout)`);
});

test("a ring's async resource says whether it holds the event loop (hasRef, as Jest's --detectOpenHandles reads it), and exists only while the ring is busy", () => {
  // async_hooks see the resource the ring's callbacks run in: none while the ring is idle (an idle
  // ring's async context would keep alive what the context current at its making reached: under
  // Jest, each test file's vm context); one per busy spell, destroyed when the ring goes idle or closes
  const r = run(`
    import { createHook } from 'node:async_hooks';
    const seen = [];
    const destroyed = new Set();
    createHook({
      init(id, type, _t, resource) { if (type === 'ringflow:ring') seen.push({ id, resource }); },
      destroy(id) { destroyed.add(id); },
    }).enable();
    const turn = () => new Promise((r) => setImmediate(r));
    const ring = new Ring();
    const out = [seen.length];
    const ac = new AbortController();
    const t = ring.timeout(60_000, { signal: ac.signal });
    await ring.nop(); // the timeout has gone in
    const [{ id, resource }] = seen;
    out.push(seen.length, typeof resource.hasRef, resource.hasRef());
    ring.unref();
    out.push(resource.hasRef());
    ring.ref();
    out.push(resource.hasRef());
    ac.abort();
    await t.catch(() => {});
    await turn(); await turn();
    out.push(resource.hasRef(), destroyed.has(id)); // idle: destroyed
    await ring.nop();
    out.push(seen.length, seen[1].id !== id); // a new busy spell, a new one
    await ring.close();
    await turn();
    out.push(seen.length, destroyed.has(seen[1].id), seen[1].resource.hasRef(), Object.values(resource).some((v) => v === ring)); // (it must not keep a dropped Ring alive)
    console.log('states', out.join(' '));`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /states 0 1 function true false true false true 2 true 2 true false false/);
});

test('careless caller: close() from a completion\'s continuation, 50 busy spells and a ring dropped without close(): every async context the rings make is destroyed exactly once, none is left', () => {
  // (the context of a ring closed inside a callback made with it is destroyed after that callback)
  const r = run(`
    import { createHook } from 'node:async_hooks';
    const inits = new Set(), destroyed = new Map();
    createHook({
      init(id, type) { if (type === 'ringflow:ring') inits.add(id); },
      destroy(id) { if (inits.has(id)) destroyed.set(id, (destroyed.get(id) ?? 0) + 1); },
    }).enable();
    const turn = () => new Promise((r) => setImmediate(r));
    const a = new Ring();
    await a.nop().then(() => a.close()); // close() while the callback of its own completion runs
    const b = new Ring();
    for (let i = 0; i < 50; i++) { await b.nop(); await turn(); await turn(); }
    await b.close();
    await (async () => { const c = new Ring(); await c.nop(); })(); // dropped without close()
    for (let i = 0; i < 5; i++) await turn();
    const twice = [...destroyed.values()].filter((n) => n !== 1).length;
    console.log('contexts', inits.size >= 52, inits.size === destroyed.size, twice);`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /contexts true true 0/);
});
