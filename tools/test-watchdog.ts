/**
 * Loaded by tools/run-tests.ts into every test file's process (`node --import`, which `node --test`
 * passes on to the processes it runs the files in): a file in which no test starts or ends for
 * RF_TEST_STALL seconds is stopped, after printing on stderr (a TAP comment in the run's output)
 * the file, the test it was in and what held its event loop. Without it a test that hangs, or a file
 * that leaves a handle open after its last test, runs until CI's time is up and says nothing of
 * where it stopped (a QEMU guest on 2026-11-28). `--test-timeout` is no substitute: Node 20 and 22
 * apply it to whole files and Node 24 and 26 never end a file whose tests all finished.
 *
 * RF_TEST_TIMES, when set, names a file to which each test file's process appends its wall time
 * (`<file>\t<ms>`), to size the stall budget from a run.
 */
import { appendFileSync } from 'node:fs';

const file = process.argv[1] ?? '';
// Only a test file's own process: NODE_TEST_CONTEXT is set for it, and also inherited by any process
// a test spawns, which is not a .test.js file and must run untouched.
if (process.env.NODE_TEST_CONTEXT !== undefined && /\.test\.[cm]?js$/.test(file)) {
  const started = Date.now();
  const stall = Number(process.env.RF_TEST_STALL ?? 300) * 1000;
  let where = '(before its first test)';
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    if (!(stall > 0)) return;
    timer = setTimeout(() => {
      const s = Math.round((Date.now() - started) / 1000);
      process.stderr.write(
        `run-tests: stopped ${file}: no test started or ended for ${stall / 1000} s, in ${where}, ${s} s after the file began; ` +
          `its event loop held by ${JSON.stringify(process.getActiveResourcesInfo())}\n`,
      );
      process.exit(1);
    }, stall);
    timer.unref();
  };
  const { beforeEach, afterEach } = await import('node:test');
  beforeEach((t) => {
    where = `test ${JSON.stringify(t.name)}`;
    arm();
  });
  afterEach((t) => {
    where = `no test (the last to end: ${JSON.stringify(t.name)})`;
    arm();
  });
  arm();
  const times = process.env.RF_TEST_TIMES;
  if (times) process.on('exit', () => appendFileSync(times, `${file}\t${Date.now() - started}\n`));
}
