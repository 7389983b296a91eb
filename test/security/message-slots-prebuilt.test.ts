// The handle guard of file messages (src/ops/build-msg.ts, HANDLE_PROGRAM_SLOTS) is asked when the
// Sqe is built and again when it is submitted (Sqe.submitCheck, called by every submission path). An
// Sqe built for a handle before the target's programs were granted slots and submitted after would
// name a slot with skipCqe: the kernel would replace the granted file and post no CQE, so the
// engine's revocation (reap_kernel) would never see it. Runs under the JIT and the interpreter.
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
    assert.equal(refused, true, 'the prebuilt message is refused at submission (RangeError) now that the target guards its slots');
    assert.deepEqual(after, { accepted: true, res: 11 });
    assert.equal(text, 'public data', 'the granted slot still names the file programs were given');
  });
}
