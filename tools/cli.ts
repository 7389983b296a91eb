#!/usr/bin/env node
/**
 * The `ringflow` command.
 *   ringflow info [--json]                 what this kernel offers (tools/cli/info.ts)
 *   ringflow bench [options]               the benchmark suite (bench/), table on stdout
 * Exit status: 0 done, 1 failure, 2 bad arguments (usage on stderr).
 */
import { parseArgs } from 'node:util';

const USAGE = `usage: ringflow <command> [options]

commands:
  info [--json]           kernel, io_uring features, accepted setup flags, supported opcodes
  bench [options]         benchmark suite: ringflow beside node:fs/promises, Bun, fio, C loops,
                          node:net and node:http (networking: bench/net/)
  help                    this text

bench options:
  --quick                 subset (reads at QD 1 and 64 on both file systems, NOP trials, TCP echo
                          ping-pong 64 B x100, ringflow/fs at 64 in flight), ~1 s per cell; fetches nothing
  --write / --no-write    update docs/benchmarks.md (default: write for a full run, not for --quick)
  --seconds <s>           measured seconds per cell (default 2.5, quick 1)
  --warmup <s>            warm-up seconds per cell (default 0.5, quick 0.3)
  --repeat <n>            runs per cell, interleaved; the median is reported (default 1)
  --size <MiB>            size of each read file (default 256)
  --qd <list>             read queue depths, e.g. 1,16,64,256
  --fs <tmpfs|disk|both>  file systems of the read trial (default both): tmpfs is /dev/shm (reads
                          go through io-wq), disk a page-cached file in the temp dir (ext4 and
                          the like: reads complete inline)
  --only <group>          run one trial group: read, nop, chain, net (TCP echo), http, fs (ringflow/fs
                          against node:fs/promises and Bun: readFile, stat, FileHandle random reads)
  --profiles / --no-profiles
                          also measure setup profiles coop and plain (default: full run only)
  --json                  print the results as JSON instead of the table
  --markdown              print the tables as Markdown (as docs/benchmarks.md has them)

environment: RINGFLOW_BUN=<path> (a bun binary), RINGFLOW_BENCH_FETCH=0 (never fetch Bun or
autocannon from npm), RINGFLOW_BENCH_CACHE=<dir> (default ~/.cache/ringflow-bench),
RINGFLOW_BENCH_PIN=0 (do not pin servers and load generators to CPUs),
RINGFLOW_BENCH_DISK_DIR=<dir> (where the disk read file goes; default the temp dir, else the
bench cache, whichever is not tmpfs)
`;

class UsageError extends Error {}

function usage(msg?: string): never {
  throw new UsageError(msg ?? '');
}

function num(name: string, v: string | undefined, min: number, max: number, int = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) usage(`--${name} must be ${int ? 'an integer' : 'a number'} in [${min}, ${max}], got "${v}"`);
  return n;
}

async function info(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    usage((e as Error).message);
  }
  const { gatherInfo, formatInfo } = await import('./cli/info.js');
  const i = await gatherInfo();
  process.stdout.write(values.json ? JSON.stringify(i, null, 2) + '\n' : formatInfo(i));
  return 'error' in i.defaultRing ? 1 : 0;
}

async function bench(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        write: { type: 'boolean' },
        'no-write': { type: 'boolean' },
        seconds: { type: 'string' },
        warmup: { type: 'string' },
        repeat: { type: 'string' },
        size: { type: 'string' },
        qd: { type: 'string' },
        only: { type: 'string' },
        fs: { type: 'string' },
        profiles: { type: 'boolean' },
        'no-profiles': { type: 'boolean' },
        json: { type: 'boolean' },
        markdown: { type: 'boolean' },
      },
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.write && values['no-write']) usage('--write and --no-write together');
  if (values.profiles && values['no-profiles']) usage('--profiles and --no-profiles together');
  if (values.json && values.markdown) usage('--json and --markdown together');
  let suite: typeof import('../bench/suite.js');
  let report: typeof import('../bench/report.js');
  try {
    suite = await import('../bench/suite.js');
    report = await import('../bench/report.js');
  } catch (e) {
    process.stderr.write(`ringflow bench: the benchmark harness (dist/bench) is not available: ${(e as Error).message}\n`);
    return 1;
  }
  const quick = values.quick === true;
  const o = suite.defaultOptions(quick);
  o.seconds = num('seconds', values.seconds, 0.05, 600) ?? o.seconds;
  o.warmup = num('warmup', values.warmup, 0, 60) ?? o.warmup;
  o.repeat = num('repeat', values.repeat, 1, 50, true) ?? o.repeat;
  o.sizeMiB = num('size', values.size, 1, 16384, true) ?? o.sizeMiB;
  if (values.qd !== undefined) {
    const qds = values.qd.split(',').map((q) => num('qd', q.trim(), 1, 4096, true)!);
    o.qds = [...new Set(qds)];
  }
  if (values.only !== undefined) {
    const g = suite.GROUPS.find((x) => x === values.only);
    if (!g) usage(`--only must be one of ${suite.GROUPS.map((x) => `"${x}"`).join(', ')}, got "${values.only}"`);
    o.groups = new Set([g]);
  }
  if (values.fs !== undefined) {
    const kinds = { tmpfs: ['tmpfs'], disk: ['disk'], both: ['tmpfs', 'disk'] } as const;
    if (!Object.hasOwn(kinds, values.fs)) usage(`--fs must be one of "tmpfs", "disk", "both", got "${values.fs}"`);
    o.fs = [...kinds[values.fs as keyof typeof kinds]];
  }
  if (values.profiles) o.profiles = true;
  if (values['no-profiles']) o.profiles = false;
  if (o.profiles && o.groups.has('read') && !o.qds.includes(64)) o.qds.push(64); // the profile table compares QD64
  const write = values['no-write'] ? false : values.write ? true : !quick;
  if (quick) process.stderr.write(`bench --quick: reads at QD ${o.qds.join(', ')} (${o.fs.join(', ')}), the NOP trials, TCP echo ping-pong and ringflow/fs at 64 in flight, ${o.seconds} s per cell (full suite: ringflow bench)\n`);

  const res = await suite.runSuite(o);
  if (values.json) {
    const results = Object.fromEntries(res.results);
    process.stdout.write(JSON.stringify({ machine: report.machine(res.startedAt), options: { ...o, groups: [...o.groups] }, files: res.files, results }, null, 2) + '\n');
  } else if (values.markdown) process.stdout.write(report.markdownReport(res));
  else process.stdout.write(report.textReport(res));
  if (write) process.stderr.write(`bench: results written to ${report.writeDocs(res)}\n`);
  const failed = [...res.results.values()].some((r) => 'skipped' in r && r.skipped.startsWith('failed'));
  return failed ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'info':
      return info(rest);
    case 'bench':
      return bench(rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    case undefined:
      usage('missing command');
    default:
      usage(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message ? `ringflow: ${e.message}\n` : ''}${USAGE}`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`ringflow: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
