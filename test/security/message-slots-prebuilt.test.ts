// The handle guard of file messages (src/ops/build-msg.ts, HANDLE_PROGRAM_SLOTS) is read when the
// Sqe is built. An Sqe built for a handle before the target's programs were granted slots, and
// submitted after, names a slot with skipCqe: the kernel replaces the granted file and posts no
// CQE, so the engine's revocation (reap_kernel) never sees it either. Programs then read a file
// nobody gave them. Runs under the JIT and the interpreter.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ringFor, tempDir, requireOp } from '../helpers.js';
import { ENGINES, noEngine } from './asm-programs.js';
import { Submitter, makeRegion, sqeBytes } from './util.js';
import { fixed, op } from '../../src/index.js';

const READ = 22;
const FIXED_FILE = 1;

function twoFiles(t: TestContext): { pubFd: number; secretFd: number } {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, 'public'), 'public data');
  writeFileSync(join(dir, 'secret'), 'SECRET DATA');
  const pubFd = openSync(join(dir, 'public'), 'r');
  const secretFd = openSync(join(dir, 'secret'), 'r');
  t.after(() => {
    closeSync(pubFd);
    closeSync(secretFd);
  });
  return { pubFd, secretFd };
}

for (const { name, jit } of ENGINES) {
  test(`a file message built before the grant and submitted after it cannot put a file into a granted slot (${name})`, { skip: noEngine }, async (t) => {
    const target = ringFor(t, { cqs: [16] });
    if (!requireOp(t, target, 'msgRing')) return;
    const f = twoFiles(t);
    const sender = ringFor(t);
    target.files.register([f.pubFd, null]);
    sender.files.register([f.secretFd]);
    const handle = target.handle();
    const early = op.msgRing(handle, { file: 0, slot: 0, skipCqe: true }); // no grant yet: accepted
    target.allowFd(fixed(0));
    const sub = new Submitter(target, { jit });
    const buf = makeRegion(target, 64);
    const read0 = () => sub.submit(sqeBytes(READ, { fd: 0, addr: buf.base, len: 32, off: 0n }, FIXED_FILE));
    assert.deepEqual(await read0(), { accepted: true, res: 11 });
    let refused = false;
    try {
      await sender.run(early);
    } catch (e) {
      refused = e instanceof RangeError;
    }
    buf.bytes.fill(0);
    const after = await read0();
    const text = Buffer.from(buf.bytes.subarray(0, 11)).toString();
    assert.ok(refused || !(after.accepted && text === 'SECRET DATA'), `the program read the file the message put into its granted slot (${JSON.stringify(after)}, "${text}")`);
  });
}
