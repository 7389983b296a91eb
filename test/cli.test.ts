/**
 * The `ringflow` command (tools/cli.ts): info, a tiny end-to-end bench, and usage errors.
 * Ring-dependent tests skip with the reason when io_uring cannot be set up here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ring } from '../src/index.js';
import { lacksFlag } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/test
const cli = join(here, '..', 'tools', 'cli.js');
const docs = join(here, '..', '..', 'docs', 'benchmarks.md');

function run(args: string[], timeout = 60_000) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let noRing: string | undefined;
try {
  await new Ring().close();
} catch (e) {
  noRing = `io_uring unavailable: ${(e as Error).message}`;
}

test('ringflow info prints the kernel, features, setup flags and supported ops', { skip: noRing }, () => {
  const r = run(['info']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`kernel\\s+${release().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(r.stdout, /features\s+.*NODROP/);
  assert.match(r.stdout, /DEFER_TASKRUN\|SINGLE_ISSUER\s+yes/);
  assert.match(r.stdout, /supported opcodes: \d+ of \d+/);
  assert.match(r.stdout, /\b0 nop\s+5\.1\b/);
  assert.match(r.stdout, /\b22 read\s+5\.6\b/);
});

test('ringflow info --json is machine-readable', { skip: noRing }, () => {
  const r = run(['info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { kernel: string; ops: { name: string; code: number; since: string }[]; setupFlags: { name: string; kernel: unknown }[] };
  assert.equal(j.kernel, release());
  assert.deepEqual(
    j.ops.find((o) => o.name === 'nop'),
    { name: 'nop', code: 0, constant: 'NOP', since: '5.1' },
  );
  assert.ok(j.setupFlags.some((f) => f.name === 'SQPOLL'));
});

// a few seconds natively; minutes in an emulated guest (scripts/kernel-suite.sh runs QEMU/TCG)
test('ringflow bench --quick runs end to end and prints the tables', { skip: noRing, timeout: 600_000 }, () => {
  const before = existsSync(docs) ? statSync(docs).mtimeMs : undefined;
  const r = run(['bench', '--quick', '--no-write', '--seconds', '0.2', '--warmup', '0.05', '--size', '16'], 600_000);
  assert.equal(r.code, 0, r.stderr);
  // one read table per file system, labelled with it and with how ringflow's reads completed
  assert.match(r.stdout, /4 KiB random reads, tmpfs \((?:io-wq|inline)\): 16 MiB file in \/dev\/shm, IOPS/);
  assert.match(r.stdout, /4 KiB random reads, (?:[\w/]+, page cache \((?:io-wq|inline)\): 16 MiB file in \S+, IOPS|disk: not measured)/);
  assert.match(r.stdout, /^QD\s+node:fs\/promises\s+Bun\s+ringflow\s+fio io_uring\s+fio psync\s+ringflow ÷ fs\s+ringflow ÷ Bun\s+ringflow ÷ fio/m);
  // rates: "1.2 k", "3.4 M", or plain counts below 1000 (an emulated guest is that slow); Bun: a rate or a skip (--quick fetches nothing)
  const rate = String.raw`[\d.]+(?: [kM])?`;
  const row = (qd: number) => new RegExp(String.raw`^${qd}\s+${rate}\s+(?:${rate}|skipped)\s+${rate}\s+(?:${rate}|skipped)\s+(?:${rate}|skipped|—)\s+[\d.]+×`, 'm');
  assert.match(r.stdout, row(1));
  assert.match(r.stdout, row(64));
  assert.match(r.stdout, /io-wq worker threads in ringflow's process when its window closed: QD1: \d+, QD64: \d+/);
  assert.match(r.stdout, new RegExp(String.raw`ringflow batched \(256 nops, then await all\)\s+${rate}\s`));
  assert.match(r.stderr, /\[\d+\/\d+\] NOP C raw ring/); // one progress line per cell when not a TTY
  assert.match(r.stdout, /TCP echo over loopback, ping-pong, 64 B messages/); // the quick networking subset (bench/net/)
  assert.match(r.stdout, new RegExp(String.raw`^node:net\s+${rate}\s+${rate}, \d+ %$`, 'm'));
  assert.match(r.stdout, /Dependent chains/);
  // ringflow/fs's startup, fresh processes: the package's bundle and dist/src beside node:fs/promises, each a time in ms
  assert.match(r.stdout, /Startup: a fresh process imports the module and reads one 1 KiB file/);
  assert.match(r.stdout, /^ringflow\/fs \(the package export, bundled\)\s+[\d.]+\s+[\d.]+\s+[+-][\d.]+$/m);
  assert.match(r.stdout, /^node:fs\/promises\s+[\d.]+\s+[\d.]+\s+—$/m);
  const noInject = lacksFlag('nop', 'INJECT_RESULT');
  if (noInject) {
    // NOP chains inject each step's result: the kernel's probe says it cannot, and the table says so
    assert.match(r.stdout, /skipped: this kernel lacks IORING_NOP_INJECT_RESULT \(Linux 6\.10\+\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /FAILED/);
  } else {
    assert.match(r.stdout, /64 NOPs, the same/);
    assert.match(r.stdout, new RegExp(String.raw`^\s+program\s+${rate}\s+[\d.]+\s+[\d.]+×`, 'm'));
  }
  assert.equal(existsSync(docs) ? statSync(docs).mtimeMs : undefined, before, '--no-write must leave docs/benchmarks.md alone');
});

test('ringflow bench --only read --fs disk reads the page-cached disk file alone', { skip: noRing, timeout: 120_000 }, () => {
  const r = run(['bench', '--only', 'read', '--fs', 'disk', '--qd', '1', '--no-profiles', '--no-write', '--seconds', '0.1', '--warmup', '0', '--size', '4'], 120_000);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /random reads, tmpfs/, 'no tmpfs table'); // (a 'not measured' reason may name a tmpfs dir)
  assert.match(r.stdout, /4 KiB random reads, (?:[\w/]+, page cache \((?:io-wq|inline)\): 4 MiB file in \S+, IOPS|disk: not measured)/);
  if (!/disk: not measured/.test(r.stdout)) assert.match(r.stderr, /\] read disk \([\w/]+\) QD1 fio psync: /);
  assert.doesNotMatch(r.stdout + r.stderr, /FAILED|NOP|chain/);
});

test('bad arguments print the usage and exit 2', () => {
  for (const args of [[], ['frobnicate'], ['bench', '--frobnicate'], ['bench', '--seconds', 'abc'], ['bench', '--only', 'disk'], ['bench', '--fs', 'floppy'], ['info', 'extra'], ['bench', '--write', '--no-write']]) {
    const r = run(args);
    assert.equal(r.code, 2, `ringflow ${args.join(' ')} → ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /usage: ringflow <command>/);
    assert.equal(r.stdout, '');
  }
});

test('ringflow help exits 0 with the usage on stdout', () => {
  const r = run(['help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /usage: ringflow <command>/);
});
