// Issue 9 item 7, rings and GC: a Ring dropped without close() is collected while idle and its
// fds are closed (with one process warning naming the fd, as Node does for a FileHandle); a ring
// with requests in flight (JS requests, or requests a completion program submitted) stays alive
// until they settle. Each case runs in a child process with --expose-gc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { skipReason, compileRing } from '../ring-programs-util.js';
import { lacksFlag, CPU_TIME_SCALE, gcChild, tempDir } from '../helpers.js';

/** The in-flight timeout of the dropped-ring test: the GC rounds before it must end first (longer under CPU emulation). */
const TIMER_MS = 400 * CPU_TIME_SCALE;

const index = new URL('../../src/index.js', import.meta.url).href;
const programs = new URL('../../src/programs/index.js', import.meta.url).href;

/** Helpers every child script starts with: fd counting, GC rounds that let finalizers and
 *  FinalizationRegistry callbacks run, and a warning collector. */
const prelude = `
import { readdirSync, readlinkSync } from 'node:fs';
import { Ring } from '${index}';
const fds = () => readdirSync('/proc/self/fd').length;
const uringFds = () => readdirSync('/proc/self/fd').filter((f) => { try { return readlinkSync('/proc/self/fd/' + f) === 'anon_inode:[io_uring]'; } catch { return false; } });
// libuv's own rings (Node 22+ keeps one per event loop) are there before any Ring: not counted
const libuvRings = new Set(uringFds());
const ringFds = () => uringFds().filter((f) => !libuvRings.has(f)).length;
const warned = [];
process.on('warning', (w) => { if (w.code === 'RINGFLOW_RING_GC') warned.push(w.message); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function collect(rounds = 6) {
  for (let i = 0; i < rounds; i++) { gc(); await new Promise((r) => setImmediate(r)); await sleep(5); }
}
const out = (o) => console.log('RESULT ' + JSON.stringify(o));
`;

const child = (body: string, env: Record<string, string> = {}) => gcChild(prelude + body, env);

test('300 dropped idle rings are collected: io_uring fds return to the baseline, one warning per ring naming its fd', { skip: lacksFlag('nop', 'INJECT_RESULT') }, () => {
  const r = child(`
    const base = fds();
    const ringFdNumbers = [];
    async function dropOne() {
      const ring = new Ring({ entries: 4 });
      ringFdNumbers.push(ring.fd);
      if ((await ring.nop({ injectResult: 5 })) !== 5) throw new Error('nop');
    }
    for (let i = 0; i < 300; i++) await dropOne();
    const peak = fds();
    await collect();
    const warnedFds = warned.map((m) => Number(/fd (\\d+)/.exec(m)[1])).sort((a, b) => a - b);
    out({ base, peak, after: fds(), ioUring: ringFds(), warnings: warned.length,
          namesTheirFds: JSON.stringify(warnedFds) === JSON.stringify([...ringFdNumbers].sort((a, b) => a - b)),
          sample: warned[0] });
  `);
  assert.equal(r.code, 0, r.out);
  const o = r.result;
  assert.ok((o.peak as number) >= (o.base as number) + 300, `300 rings open at the peak (${o.base} -> ${o.peak})`);
  assert.equal(o.after, o.base, `fds back to the baseline after GC (${o.base} -> ${o.peak} -> ${o.after})`);
  assert.equal(o.ioUring, 0, 'no io_uring fd left open');
  assert.equal(o.warnings, 300, 'one warning per collected ring');
  assert.equal(o.namesTheirFds, true, 'the warnings name exactly the dropped rings\' fds');
  assert.match(o.sample as string, /^ringflow: closing io_uring fd \d+ on garbage collection/);
});

test('a closed ring is never warned about; a ring dropped mid-close finishes closing first', () => {
  const r = child(`
    async function closed() { const ring = new Ring(); await ring.nop(); await ring.close(); }
    for (let i = 0; i < 20; i++) await closed();
    let done = false;
    (() => { const ring = new Ring(); ring.timeout(100).catch(() => {}); ring.close().then(() => { done = true; }); })();
    await collect();
    await sleep(50);
    await collect();
    out({ warnings: warned.length, done, ioUring: ringFds() });
  `);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.result, { warnings: 0, done: true, ioUring: 0 });
});

test('a dropped ring with a timeout in flight is not collected: the timeout resolves, the process waits for it', () => {
  const r = child(`
    const t0 = Date.now();
    // nothing but the in-flight timeout keeps this process alive once the script ends: if the
    // ring were collected, the promise would never settle and no RESULT would be printed
    (() => {
      const ring = new Ring();
      ring.timeout(${TIMER_MS}).then(async (v) => {
        const ms = Date.now() - t0;
        await collect();
        out({ during, fired: v, firedOnTime: ms >= ${TIMER_MS}, after: { ioUring: ringFds(), warnings: warned.length } });
      });
    })();
    await collect();
    const during = { ioUring: ringFds(), warnings: warned.length };
  `);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.result, {
    during: { ioUring: 1, warnings: 0 },
    fired: true,
    firedOnTime: true,
    after: { ioUring: 0, warnings: 1 },
  });
  assert.ok(r.ms >= TIMER_MS, `the process lived until the timeout fired (${r.ms} ms)`);
});

test('a dropped ring with many reads in flight keeps their buffers: every read completes under GC', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const r = child(`
    import('node:fs').then(async ({ openSync, writeFileSync }) => {
      const dir = ${JSON.stringify(dir)};
      writeFileSync(dir + '/f', Buffer.alloc(65536, 7));
      const fd = openSync(dir + '/f', 'r');
      const results = [];
      (() => {
        const ring = new Ring({ entries: 64 });
        for (let i = 0; i < 64; i++) {
          const buf = new Uint8Array(1024);
          ring.read(fd, buf, i * 1024).then((n) => results.push(n === 1024 && buf.every((b) => b === 7)));
        }
      })();
      for (let i = 0; i < 20 && results.length < 64; i++) await collect(1);
      while (results.length < 64) await sleep(5);
      await collect();
      out({ ok: results.filter(Boolean).length, ioUring: ringFds(), warnings: warned.length });
    });
  `);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.result, { ok: 64, ioUring: 0, warnings: 1 });
});

test('a dropped ring with a burst of io-wq work left for later (IOSQE_ASYNC chains past 20 items per enter): every request completes, then the ring is collected', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const r = child(`
    const { op, fixed } = await import('${index}');
    const { openSync, writeFileSync } = await import('node:fs');
    const dir = ${JSON.stringify(dir)};
    writeFileSync(dir + '/f', Buffer.alloc(1024, 7));
    const results = [];
    (() => {
      const ring = new Ring({ entries: 256 });
      ring.files.register(new Array(64).fill(-1));
      for (let k = 0; k < 64; k++) {
        const buf = new Uint8Array(1024);
        Promise.all(ring.chain([op.openat(dir + '/f', 0, 0, { direct: k }).link().async(), op.read(fixed(k), buf, -1).hardlink().async(), op.nop().async()]))
          .then(([, n]) => results.push(n === 1024 && buf.every((b) => b === 7)), () => results.push(false));
      }
    })();
    for (let i = 0; i < 20 && results.length < 64; i++) await collect(1);
    while (results.length < 64) await sleep(5);
    await collect();
    out({ ok: results.filter(Boolean).length, ioUring: ringFds(), warnings: warned.length });
  `);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(r.result, { ok: 64, ioUring: 0, warnings: 1 });
});

const FIRE_AND_FORGET = `
#include <ringflow/bpf.h>
/* Arms one TIMEOUT on CQ 1 and finishes without waiting for it: the program's request stays in
 * the kernel after the JS request that ran the program has settled. */
struct args { __u64 ts; };
RF_ARRAY_MAP(args, struct args, 1);
SEC("iouring.s/arm")
int arm(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct io_uring_sqe sqe;
  if (!a) return 0;
  rf_prep_timeout(&sqe, a->ts, 0, 0);
  sqe.user_data = 0x77;
  return rf_io_uring_submit_cq(ctx, &sqe, sizeof(sqe), 1) < 0;
}
`;

for (const jit of [true, false]) {
  test(`a dropped ring whose program left a request in the kernel lives until it completes (${jit ? 'JIT' : 'interpreter'})`, { skip: skipReason }, async (t) => {
    const { writeFileSync } = await import('node:fs');
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    writeFileSync(join(dir, 'arm.c'), FIRE_AND_FORGET);
    const elfPath = join(dir, 'arm.o');
    writeFileSync(elfPath, compileRing('arm.c', dir));
    const r = child(
      `
      import('node:fs').then(async ({ readFileSync }) => {
        const { loadObject } = await import('${programs}');
        const obj = loadObject(readFileSync(${JSON.stringify(elfPath)}));
        const prog = obj.program('arm');
        let ran, cq1;
        await (async () => {
          const ring = new Ring({ cqs: [4] });
          const ts = new BigInt64Array([${Math.max(2, CPU_TIME_SCALE / 2)}n, 0n]); // 2 s (10 s under TCG): the GC rounds below end before it fires, also on a loaded or emulated machine
          const region = ring.registerRegion(ts, { writable: false });
          obj.maps.get('args').view(0).setBigUint64(0, BigInt(region.address), true);
          const idx = ring.registerProgram(prog);
          ran = await ring.runProgram(idx);
          cq1 = ring.cq(1);
        })();
        const t0 = Date.now();
        await collect();
        const during = { ioUring: ringFds(), warnings: warned.length, cq1: cq1.ready };
        // the timer keeps this process alive while the program's TIMEOUT is in the kernel
        while (cq1.ready === 0 && Date.now() - t0 < ${8000 * CPU_TIME_SCALE}) { await sleep(20); gc(); }
        const fired = cq1.drain();
        await collect();
        out({ ran, jitBytes: prog.jitBytes > 0, during, fired: fired.map((c) => [Number(c.userData), c.res]), after: { ioUring: ringFds(), warnings: warned.length } });
      });
    `,
      { RINGFLOW_JIT: jit ? '1' : '0' },
    );
    assert.equal(r.code, 0, r.out);
    const o = r.result;
    assert.equal(o.ran, 0);
    if (process.arch === 'x64') assert.equal(o.jitBytes, jit, jit ? 'compiled by the JIT' : 'interpreted');
    assert.deepEqual(o.during, { ioUring: 1, warnings: 0, cq1: 0 }, 'the ring stayed open while its program\'s TIMEOUT was in the kernel');
    assert.deepEqual(o.fired, [[0x77, -62]], 'the TIMEOUT fired (-ETIME) into CQ 1 of the dropped ring');
    assert.deepEqual(o.after, { ioUring: 0, warnings: 1 }, 'then the idle ring was collected');
  });
}

for (const jit of [true, false]) {
  test(`a dropped ring whose program ended with its multishot ACCEPT's last CQE and fds waiting in the park is collected, and the engine closes those fds (${jit ? 'JIT' : 'interpreter'})`, { skip: skipReason }, async (t) => {
    const { writeFileSync } = await import('node:fs');
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const elfPath = join(dir, 'attack.o');
    writeFileSync(elfPath, compileRing('attack_multi_flood.c'));
    const r = child(
      `
      const { TcpServer } = await import('${index}');
      const { loadObject } = await import('${programs}');
      const net = await import('node:net');
      const { readFileSync } = await import('node:fs');
      const ended = [];
      let parked, ran;
      await (async () => {
        const ring = new Ring();
        const server = await TcpServer.listen(ring, { port: 0, host: '127.0.0.1' });
        ring.allowFd(server.fd);
        const obj = loadObject(readFileSync(${JSON.stringify(elfPath)}));
        const idx = ring.registerProgram(obj.program('attack_multi_flood'));
        const cq = ring.createCq(1), gate = ring.createCq(64);
        const a = obj.maps.get('args').view(0);
        a.setInt32(0, server.fd, true);
        for (const [at, v] of [[4, cq], [8, gate], [16, 1 /* multishot ACCEPT */], [20, 1], [24, 1]]) a.setUint32(at, v, true);
        const run = ring.runProgram(idx);
        while (a.getUint32(108, true) !== 1) await sleep(5);
        for (let i = 0; i < 3; i++) {
          const s = net.connect(server.address().port, '127.0.0.1');
          s.resume();
          s.on('error', () => {});
          ended.push(new Promise((r) => s.once('end', () => r(1))));
          while (ring.cq(cq).ready + ring.cq(cq).parked !== i + 1) await sleep(5);
        }
        await ring.nop({ cq: gate, userData: 2 }); // cancel: the ACCEPT's last CQE parks behind its fds
        while (ring.cq(cq).parked !== 3) await sleep(5);
        await ring.nop({ cq: gate, userData: 1 }); // the program ends without reading its CQ
        ran = await run;
        parked = ring.cq(cq).parked;
      })();
      await collect();
      let timer;
      const ends = await Promise.race([Promise.all(ended), new Promise((r) => (timer = setTimeout(() => r([]), ${5000 * CPU_TIME_SCALE})))]);
      clearTimeout(timer); // (left running, it kept this process alive 5 s, 100 s under TCG)
      out({ ran, parked, ioUring: ringFds(), warnings: warned.length, ended: ends.length });
    `,
      { RINGFLOW_JIT: jit ? '1' : '0' },
    );
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(r.result, { ran: 0, parked: 3, ioUring: 0, warnings: 1, ended: 3 }, 'a request whose last CQE waits in a park holds no ring alive; the fds waiting are closed with it');
  });
}

test('a dropped ring is collected while async_hooks code keeps its async resource: the resource (hasRef) holds no path back to the Ring', () => {
  // a careless (or tool-like: Jest's open-handle check) init hook that keeps every resource it sees, strongly
  const r = child(`
    const { createHook } = await import('node:async_hooks');
    const kept = [];
    createHook({ init(_id, type, _t, resource) { if (type === 'ringflow:ring') kept.push(resource); } }).enable();
    async function dropOne() { const ring = new Ring({ entries: 4 }); await ring.nop(); }
    for (let i = 0; i < 20; i++) await dropOne();
    await sleep(20); // (the last ring lets go of itself at the event loop's check phase)
    await collect(10);
    out({ kept: kept.length, refs: kept.filter((x) => x.hasRef()).length, open: ringFds(), warned: warned.length });`);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.result.kept, 20);
  assert.equal(r.result.refs, 0, 'a dropped idle ring does not say it holds the loop');
  assert.equal(r.result.open, 0, 'every dropped ring was collected and closed, its resource still held');
  assert.equal(r.result.warned, 20);
});
