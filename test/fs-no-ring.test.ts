/**
 * ringflow/fs where io_uring gives the thread no ring: its calls run on node:fs/promises (one
 * warning), instead of every call throwing. The failure is a real one: a child without
 * CAP_IPC_LOCK under a locked-memory limit of 0, where 6.14+ charges ring memory to that limit and
 * io_uring_setup fails with ENOMEM (as one default ring per test file under Jest ran into). Earlier
 * kernels do not charge it: the child then says so and the test skips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CPU_TIME_SCALE, tempDir } from './helpers.js';

const fsUrl = new URL('../src/fs/index.js', import.meta.url).href;
const indexUrl = new URL('../src/index.js', import.meta.url).href;

test('without a ring (io_uring_setup refused) ringflow/fs answers as node:fs/promises, with one warning', (t) => {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv') || !existsSync('/usr/bin/prlimit'))
    return t.skip('needs root, setpriv and prlimit to take CAP_IPC_LOCK away under a locked-memory limit');
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const script = `
    import fs, { createFs } from ${JSON.stringify(fsUrl)};
    import nodeFs from 'node:fs/promises';
    import { Ring } from ${JSON.stringify(indexUrl)};
    try { new Ring().close(); console.log('SKIP this kernel gave a ring under a locked-memory limit of 0 (it charges ring memory to RLIMIT_MEMLOCK from 6.14)'); process.exit(0); }
    catch (e) { if (e.code !== 'ENOMEM') throw e; }
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.code));
    const outcome = async (f, i) => {
      const p = ${JSON.stringify(dir)} + '/f' + i;
      const steps = [
        () => f.writeFile(p, 'data ' + i),
        () => f.readFile(p, 'utf8'),
        () => f.stat(p).then((s) => s.size),
        () => f.open(p, 'r+').then(async (h) => { const r = await h.read(Buffer.alloc(4), 0, 4, 0); await h.write('D'); await h.close(); return r.bytesRead; }),
        () => f.readFile(p, 'utf8'),
        () => f.rename(p, p + 'x'),
        () => f.readFile(p, 'utf8'),
        () => f.unlink(p + 'x'),
        () => f.mkdir(p + 'd').then(() => f.rmdir(p + 'd')),
      ];
      const out = [];
      for (const s of steps) out.push(await s().then((v) => ({ ok: v === undefined ? null : v }), (e) => ({ code: e.code, message: e.message.replace(p, '<p>') })));
      return out;
    };
    const ours = await outcome(fs, 1), theirs = await outcome(nodeFs, 2);
    await new Promise((r) => setImmediate(r));
    console.log('RESULT ' + JSON.stringify({ ours, theirs, warnings }));`;
  const r = spawnSync('/usr/bin/prlimit', ['--memlock=0:0', '/usr/bin/setpriv', '--inh-caps=-ipc_lock', '--bounding-set=-ipc_lock', process.execPath, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000 * CPU_TIME_SCALE,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const skip = /^SKIP (.*)$/m.exec(r.stdout);
  if (skip) return t.skip(skip[1]);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, r.stdout + r.stderr);
  const { ours, theirs, warnings } = JSON.parse(line.slice('RESULT '.length)) as { ours: unknown[]; theirs: unknown[]; warnings: string[] };
  const norm = (o: unknown[]) => JSON.parse(JSON.stringify(o).replaceAll('data 1', 'data N').replaceAll('data 2', 'data N').replaceAll('Data 1', 'Data N').replaceAll('Data 2', 'Data N')) as unknown[];
  assert.deepEqual(norm(ours), norm(theirs), 'ringflow/fs answered as node:fs/promises');
  assert.equal((ours[1] as { ok: string }).ok, 'data 1');
  assert.deepEqual(warnings, ['RINGFLOW_FS_NO_RING'], 'said once');
});
