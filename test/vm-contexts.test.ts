/**
 * ringflow loaded once per vm context, as Jest loads it once per test file (and Vitest's vm pools):
 * each copy evaluated in a fresh context that shares the process's ArrayBuffer, Buffer and process,
 * as jest-environment-node's sandbox does. A copy whose context is dropped must be collected with
 * everything it made, its default ring included, whatever the other copies did: neither the async
 * context a ring's callbacks run in (native/ring_napi.c, make_actx) nor the transfer() guard
 * shared by the copies (src/ring/memory.ts, guardTransfer; Node 22) may hold one. Found with Jest
 * 30 on 2026-11-28: 300 test files left 300 default rings and their contexts (~1.7 MB each).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { gcChild } from './helpers.js';

const pkgDir = fileURLToPath(new URL('../pkg/', import.meta.url));

test('copies of ringflow in 12 vm contexts (as Jest makes one per test file): each context is collected when dropped, its default ring closed; a buffer one copy lent is refused by transfer() whichever copy guards it', () => {
  const r = gcChild(`
    import vm from 'node:vm';
    import { readFileSync, readdirSync, readlinkSync, writeFileSync, rmSync } from 'node:fs';
    import { createRequire } from 'node:module';
    import { AsyncLocalStorage } from 'node:async_hooks';
    const pkgDir = ${JSON.stringify(pkgDir)};
    const nodeRequire = createRequire(pkgDir);
    // both CommonJS entries and the chunk they share, each compiled in the context and required from
    // one registry per context, as Jest's module registry per test file does
    function loadInto(context) {
      const modules = new Map();
      const load = (file) => {
        if (modules.has(file)) return modules.get(file).exports;
        const module = { exports: {} };
        modules.set(file, module);
        const fn = vm.compileFunction(readFileSync(file, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { parsingContext: context, filename: file });
        fn(module.exports, (spec) => (spec.startsWith('./') ? load(pkgDir + spec.slice(2)) : nodeRequire(spec)), module, file, pkgDir);
        return module.exports;
      };
      return { fs: load(pkgDir + 'fs.cjs'), ringflow: load(pkgDir + 'ringflow.cjs') };
    }
    const ioUring = () => readdirSync('/proc/self/fd').filter((f) => { try { return readlinkSync('/proc/self/fd/' + f) === 'anon_inode:[io_uring]'; } catch { return false; } }).length;
    const file = '/dev/shm/ringflow-vm-' + process.pid;
    writeFileSync(file, 'x'.repeat(4096));
    const shared = { ArrayBuffer, Buffer, process, console, URL, AbortController, AbortSignal, TextEncoder, TextDecoder,
      setTimeout, clearTimeout, setImmediate, clearImmediate, setInterval, clearInterval, queueMicrotask, performance, structuredClone };
    const before = ioUring();
    const collected = new Set();
    const registry = new FinalizationRegistry((i) => collected.add(i));
    const refusals = [];
    async function copy(i, lent, als) {
      const context = vm.createContext({ ...shared });
      als.getStore().context = context;
      const { fs: { default: fs }, ringflow: { Ring } } = loadInto(context);
      // the default ring (ringflow/fs), and a buffer lent to the kernel by a ring of this copy
      await fs.readFile(file);
      const ring = new Ring({ entries: 8 });
      const buf = new ArrayBuffer(4096);
      const fh = await fs.open(file);
      await ring.read(fh.fd, new Uint8Array(buf), 0);
      await fh.close();
      lent.push(buf);
      await ring.close();
      registry.register(context, i);
    }
    const lent = [];
    // each copy runs inside an AsyncLocalStorage store that reaches its context, as a test
    // framework's per-test state may (what a ring's async context captures with it, Node 24+)
    const als = new AsyncLocalStorage();
    for (let i = 0; i < 12; i++) await als.run({ i }, () => copy(i, lent, als));
    const during = ioUring();
    // transfer() of a buffer a copy lent: refused where the runtime's own transfer() would detach it
    // (a guard), or by the runtime itself (Node 24+), or there is no transfer() (Node 20)
    for (const b of [lent[0], lent[11]]) {
      try { if (typeof b.transfer === 'function') { b.transfer(); refusals.push('moved'); } else refusals.push('no transfer()'); }
      catch (e) { refusals.push(e instanceof TypeError ? 'refused' : String(e)); }
    }
    lent.length = 0;
    for (let i = 0; i < 30 && collected.size < 12; i++) { gc(); await new Promise((r) => setTimeout(r, 20)); }
    for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setTimeout(r, 20)); }
    rmSync(file);
    console.log('RESULT ' + JSON.stringify({ collected: collected.size, during: during - before, after: ioUring() - before, refusals: [...new Set(refusals)] }));
  `);
  assert.equal(r.code, 0, r.out);
  const res = r.result as { collected: number; during: number; after: number; refusals: string[] };
  assert.ok(res.during >= 1, `default rings open while their copies live (${res.during})`);
  assert.equal(res.collected, 12, `every dropped context collected: ${JSON.stringify(res)}`);
  assert.equal(res.after, 0, `no ring left open: ${JSON.stringify(res)}`);
  assert.ok(res.refusals.length === 1 && ['refused', 'no transfer()'].includes(res.refusals[0]), `a lent buffer is not moved: ${JSON.stringify(res.refusals)}`);
});
