/**
 * `ringflow info`: what this kernel offers io_uring users. Kernel release, io_uring_disabled,
 * RLIMIT_MEMLOCK, the features word, which setup flags (alone and in their valid combinations)
 * the kernel accepts and whether a ringflow Ring built with them completes a NOP, and the
 * supported opcodes from IORING_REGISTER_PROBE.
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { Ring, RingError, OPS, errnoName } from '../../src/index.js';
import { SETUP_FLAGS } from '../../src/ring/abi.js';
import { setupRing, probeOps, featureNames, setupFlagNames, kernelAcceptsSetup, type RingOptions } from '../../src/ring/setup.js';
import { binding } from '../../src/native.js';
import { probeOpFlags, type FlagProbe } from '../../src/ring/kernel-probe.js';
import { pollWakeEventfd, type PollWakeProbe } from '../../src/ring/wake-probe.js';
import { unregisterPostsTags } from '../../src/ring/tag-probe.js';

export interface FlagCheck {
  /** The combination, as IORING_SETUP_* names. */
  name: string;
  /** Kernel accepted io_uring_setup with it (true), the error code, or null when it cannot be probed alone. */
  kernel: true | string | null;
  /** A Ring built with it completed a NOP (true), the error code, or null when ringflow's Ring does not drive this flag. */
  ring: true | string | null;
  note?: string;
}

export interface Info {
  kernel: string;
  ioUringDisabled: string;
  memlock: { soft: string; hard: string };
  features: string[];
  defaultRing: { flags: string[]; sqEntries: number; cqEntries: number } | { error: string };
  /** Whether a DEFER_TASKRUN ring's eventfd is signalled for every poll-driven completion (src/ring/wake-probe.ts). */
  pollWake: PollWakeProbe;
  /** src/ring/tag-probe.ts */
  unregisterTags: boolean | null;
  setupFlags: FlagCheck[];
  ops: { name: string; code: number; constant: string; since: string }[];
  unsupported: { name: string; code: number; since: string }[];
  /** Opcode numbers the probe reports that our table does not name. */
  unknownCodes: number[];
  /** Op flags newer than 5.19 (the opcode table's flagSince), as the kernel answered their probes. */
  opFlags: FlagProbe[];
}

interface Combo {
  name: string;
  options: RingOptions;
}

/** Setup flags ringflow's Ring drives, set through its options. */
const COMBOS: Combo[] = [
  { name: '(none)', options: { profile: 'plain' } },
  { name: 'SQPOLL', options: { sqpoll: true } },
  { name: 'SQPOLL|SQ_AFF', options: { sqpoll: { cpu: 0, idle: 10 } } },
  { name: 'COOP_TASKRUN', options: { coopTaskrun: true } },
  { name: 'COOP_TASKRUN|TASKRUN_FLAG', options: { coopTaskrun: true, taskrunFlag: true } },
  { name: 'SINGLE_ISSUER', options: { singleIssuer: true } },
  { name: 'DEFER_TASKRUN|SINGLE_ISSUER', options: { deferTaskrun: true } },
  { name: 'COOP_TASKRUN|TASKRUN_FLAG|SINGLE_ISSUER', options: { profile: 'coop' } },
  { name: 'DEFER_TASKRUN|SINGLE_ISSUER|TASKRUN_FLAG', options: { deferTaskrun: true, taskrunFlag: true } },
  { name: 'SUBMIT_ALL', options: { profile: 'plain', submitAll: true } },
  { name: 'SQE128', options: { profile: 'plain', sqe128: true } },
  { name: 'CQE32', options: { profile: 'plain', cqe32: true } },
  { name: 'CQE_MIXED', options: { profile: 'plain', cqeMixed: true } },
  { name: 'SQE128|CQE_MIXED', options: { profile: 'plain', sqe128: true, cqeMixed: true } },
  { name: 'NO_SQARRAY', options: { profile: 'plain', noSqArray: true } },
  { name: 'CLAMP', options: { profile: 'plain', clamp: true, entries: 65536 } },
  { name: 'R_DISABLED', options: { profile: 'plain', disabled: true } },
  { name: 'CQSIZE', options: { profile: 'plain', cqEntries: 4096 } },
];

/** Setup flags ringflow refuses (SETUP_FLAGS, support 'unsupported'): the kernel alone is asked, with the flags each needs. */
function unsupportedFlagChecks(): FlagCheck[] {
  const bit = (name: string) => 2 ** SETUP_FLAGS.find((f) => f.name === name)!.bit;
  return SETUP_FLAGS.filter((f) => f.support === 'unsupported').map((f) => {
    const names = [...('needs' in f ? f.needs : []), f.name];
    const r = 'noProbe' in f ? null : kernelAcceptsSetup(names.reduce((m, n) => m | bit(n), 0));
    const note = `refused: ${f.why}${'noProbe' in f ? `; kernel not probed, ${f.noProbe}` : ''}`;
    return { name: names.join('|'), kernel: r === null ? null : r === 0 ? true : errnoName(r), ring: null, note };
  });
}
function code(e: unknown): string {
  if (e instanceof RingError) return e.code;
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

function kernelAccepts(o: RingOptions): true | string {
  try {
    const s = setupRing(o, 0);
    binding.closeFd(s.fd);
    return true;
  } catch (e) {
    return code(e);
  }
}

async function ringNop(o: RingOptions): Promise<true | string> {
  let ring: Ring | undefined;
  try {
    ring = new Ring(o);
    if (o.disabled) ring.enable();
    const timeout = new Promise<string>((res) => setTimeout(() => res('NOP did not complete within 1 s'), 1000).unref());
    const r = await Promise.race([ring.nop(), timeout]);
    return r === 0 ? true : typeof r === 'string' ? r : `NOP returned ${r}`;
  } catch (e) {
    return code(e);
  } finally {
    await ring?.close();
  }
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function memlock(): { soft: string; hard: string } {
  const m = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(read('/proc/self/limits') ?? '');
  const h = (v: string) => (/^\d+$/.test(v) ? `${(Number(v) / 1024).toFixed(0)} KiB` : v);
  return m ? { soft: h(m[1]), hard: h(m[2]) } : { soft: '?', hard: '?' };
}

export async function gatherInfo(): Promise<Info> {
  const disabled = read('/proc/sys/kernel/io_uring_disabled');
  const info: Info = {
    kernel: release(),
    ioUringDisabled:
      disabled === undefined ? 'unknown (no /proc/sys/kernel/io_uring_disabled; before 6.6)' : `${disabled} (${['enabled for all', 'only for io_uring_group / CAP_SYS_ADMIN', 'disabled'][Number(disabled)] ?? '?'})`,
    memlock: memlock(),
    features: [],
    defaultRing: { error: 'not created' },
    pollWake: pollWakeEventfd(),
    unregisterTags: unregisterPostsTags(),
    setupFlags: [],
    ops: [],
    unsupported: [],
    unknownCodes: [],
    opFlags: [],
  };
  let ring: Ring | undefined;
  try {
    ring = new Ring();
    info.features = featureNames(ring.features);
    info.defaultRing = { flags: setupFlagNames(ring.setupFlags), sqEntries: ring.sqEntries, cqEntries: ring.cqEntries };
    const ops = probeOps(ring.fd);
    for (const o of OPS) {
      if (ops.has(o.code)) info.ops.push({ name: o.name, code: o.code, constant: o.constant, since: o.since });
      else info.unsupported.push({ name: o.name, code: o.code, since: o.since });
    }
    const known = new Set(OPS.map((o) => o.code));
    info.unknownCodes = [...ops].filter((c) => !known.has(c)).sort((a, b) => a - b);
  } catch (e) {
    info.defaultRing = { error: code(e) };
  } finally {
    await ring?.close();
  }
  for (const c of COMBOS) {
    const kernel = kernelAccepts(c.options);
    info.setupFlags.push({ name: c.name, kernel, ring: kernel === true ? await ringNop(c.options) : null });
  }
  info.setupFlags.push(...unsupportedFlagChecks());
  info.opFlags = probeOpFlags();
  return info;
}

export function formatInfo(i: Info): string {
  const L: string[] = [];
  const kv = (k: string, v: string) => L.push(`${k.padEnd(16)}${v}`);
  kv('kernel', i.kernel);
  kv('io_uring', `kernel.io_uring_disabled = ${i.ioUringDisabled}`);
  kv('RLIMIT_MEMLOCK', `${i.memlock.soft} (soft), ${i.memlock.hard} (hard)`);
  kv('features', i.features.join(' ') || '(none)');
  if ('error' in i.defaultRing) kv('default ring', `cannot be created: ${i.defaultRing.error}`);
  else kv('default ring', `${i.defaultRing.flags.join('|')}, ${i.defaultRing.sqEntries} SQ / ${i.defaultRing.cqEntries} CQ entries`);
  const w0 = i.pollWake;
  kv(
    'poll wakeups',
    w0.signalled === true
      ? "a DEFER_TASKRUN ring's eventfd is signalled for every poll-driven completion"
      : w0.signalled === false
        ? "LOST: a DEFER_TASKRUN ring's eventfd is not signalled for poll-driven completions after the first; the default ring goes without DEFER_TASKRUN"
        : `not probed: ${w0.why}`,
  );
  kv(
    'buffer tables',
    i.unregisterTags === true
      ? "unregister posts each buffer's tag when its last request ends"
      : i.unregisterTags === false
        ? 'unregister waits in the kernel until no request holds the table, and posts no tag'
        : 'not probed: no scratch ring',
  );
  L.push('', 'setup flags (ringflow always adds CQSIZE, and NO_SQARRAY where the kernel has it)');
  const w = Math.max(...i.setupFlags.map((f) => f.name.length));
  L.push(`  ${'flags'.padEnd(w)}  ${'kernel'.padEnd(11)}  Ring + NOP`);
  for (const f of i.setupFlags) {
    const k = f.kernel === true ? 'yes' : f.kernel === null ? '?' : `no (${f.kernel})`;
    const r = f.ring === true ? 'yes' : f.ring === null ? (f.note ? `— (${f.note})` : '—') : `no (${f.ring})`;
    L.push(`  ${f.name.padEnd(w)}  ${k.padEnd(11)}  ${r}`);
  }
  L.push('', `supported opcodes: ${i.ops.length} of ${i.ops.length + i.unsupported.length} in ringflow's table (number name since)`);
  const cells = i.ops.map((o) => `${String(o.code).padStart(3)} ${o.name.padEnd(16)} ${o.since.padEnd(5)}`);
  for (let k = 0; k < cells.length; k += 3) L.push(`  ${cells.slice(k, k + 3).join('   ').trimEnd()}`);
  if (i.unsupported.length) L.push(`not supported here: ${i.unsupported.map((o) => `${o.name} (${o.code}, ${o.since})`).join(', ')}`);
  if (i.unknownCodes.length) L.push(`probe also reports opcodes ringflow does not name: ${i.unknownCodes.join(', ')}`);
  if (i.opFlags.length) {
    L.push('', 'op flags newer than 5.19 (asked with the probe request the opcode table declares)');
    const fw = Math.max(...i.opFlags.map((f) => f.op.length + f.flag.length + 1));
    for (const f of i.opFlags) {
      const a = f.supported === true ? 'yes' : f.supported === false ? 'no' : `? (${f.why})`;
      L.push(`  ${`${f.op}.${f.flag}`.padEnd(fw)}  ${f.since.padEnd(5)}  ${a}`);
    }
  }
  return L.join('\n') + '\n';
}
