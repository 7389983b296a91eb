/**
 * Generated invalid-argument cases: each function's and FileHandle method's signature as a list of
 * parameters of a kind (path, flags, mode, encoding, position, ...), each kind with its bad values
 * (wrong types, out-of-range numbers, bad flags/encodings, NUL bytes, non-file URLs, pre-aborted
 * signals). A case is the call with one parameter replaced by one bad value, the others valid;
 * plus the call with trailing arguments left out.
 */
import { spawnSync } from 'node:child_process';
import type { Case, SideCtx } from './harness.js';
import { nodeKillingCases } from './node-crash-probe.js';
import { settleMkdtemp, maskMkdtempSuffix } from './mkdtemp-shape.js';
import { CPU_TIME_SCALE } from '../helpers.js';

let opendirProbe: boolean | undefined;
/** Probe (in a child process): does node's opendir reject a bad bufferSize, or crash the process? */
function nodeRejectsBadOpendirBufferSize(): boolean {
  opendirProbe ??= spawnSync(process.execPath, ['-e', "require('node:fs/promises').opendir('/', { bufferSize: 0 }).then(() => process.exit(2), () => process.exit(3))"]).status === 3;
  return opendirProbe;
}

type Make = (c: SideCtx) => unknown;
type Bad = [label: string, make: Make];

const K = <T>(v: T): Make => () => v;

/** Bad values by parameter kind (built per side: objects are never shared between the sides). */
const BAD: Record<string, Bad[]> = {
  path: [
    ['undefined', K(undefined)], ['null', K(null)], ['123', K(123)], ['true', K(true)], ['{}', () => ({})], ['[]', () => []],
    ['1n', K(1n)], ['Symbol', () => Symbol('s')], ["''", K('')], ['NUL in string', (c) => c.p('fi\0le.txt')],
    ['NUL in Buffer', (c) => Buffer.from(c.p('fi\0le.txt'))], ['http URL', () => new URL('http://example.com/x')],
    ['file URL with host', () => new URL('file://remotehost/x')], ['file URL with %2F', (c) => new URL(c.u('dir').href + '%2Fa.txt')],
    ['URL string', (c) => c.u('file.txt').href], ['Uint8Array path', (c) => new Uint8Array(Buffer.from(c.p('file.txt')))],
    ['function', () => () => 1],
  ],
  flags: [
    ["'rx'", K('rx')], ["'z'", K('z')], ["''", K('')], ["'R'", K('R')], ["'r++'", K('r++')], ['1.5', K(1.5)], ['-1', K(-1)],
    ['2**32', K(2 ** 32)], ['NaN', K(NaN)], ['{}', () => ({})], ['true', K(true)], ['1n', K(1n)],
  ],
  mode: [
    ['-1', K(-1)], ['2**32', K(2 ** 32)], ['1.5', K(1.5)], ["'999'", K('999')], ["'abc'", K('abc')], ["'0o777'", K('0o777')],
    ["''", K('')], ['NaN', K(NaN)], ['{}', () => ({})], ['true', K(true)], ['1n', K(1n)], ['Infinity', K(Infinity)],
  ],
  encoding: [["'bogus'", K('bogus')], ['123', K(123)], ['{}', () => ({})], ['true', K(true)], ["'UTF8'", K('UTF8')], ["''", K('')]],
  options: [['123', K(123)], ['true', K(true)], ["'bogus'", K('bogus')], ['Symbol', () => Symbol('o')], ['function', () => () => 1]],
  bool: [["'yes'", K('yes')], ['1', K(1)], ['{}', () => ({})], ['null', K(null)]],
  position: [
    ['-2', K(-2)], ['1.5', K(1.5)], ['2**53', K(2 ** 53)], ['2n**63n', K(2n ** 63n)], ['-2n', K(-2n)], ["'x'", K('x')],
    ['{}', () => ({})], ['NaN', K(NaN)], ['Infinity', K(Infinity)], ['true', K(true)],
  ],
  length: [['-1', K(-1)], ['1.5', K(1.5)], ['17', K(17)], ['2**31', K(2 ** 31)], ["'x'", K('x')], ['NaN', K(NaN)], ['1n', K(1n)]],
  offset: [['-1', K(-1)], ['1.5', K(1.5)], ['17', K(17)], ["'x'", K('x')], ['NaN', K(NaN)], ['1n', K(1n)]],
  buffer: [["'str'", K('str')], ['123', K(123)], ['{}', () => ({})], ['null', K(null)], ['[1,2]', () => [1, 2]], ['ArrayBuffer', () => new ArrayBuffer(8)], ['undefined', K(undefined)]],
  buffers: [["'str'", K('str')], ['[\'str\']', () => ['str']], ['{}', () => ({})], ['null', K(null)], ['[1]', () => [1]], ['[ArrayBuffer]', () => [new ArrayBuffer(4)]]],
  data: [['123', K(123)], ['{}', () => ({})], ['null', K(null)], ['undefined', K(undefined)], ['Symbol', () => Symbol('d')], ['true', K(true)], ['[1,2]', () => [1, 2]], ['ArrayBuffer', () => new ArrayBuffer(4)]],
  signal: [['{}', () => ({})], ["'x'", K('x')], ['1', K(1)], ['aborted', () => AbortSignal.abort()], ['aborted with reason', () => AbortSignal.abort('reason')]],
  id: [['-2', K(-2)], ['2**32', K(2 ** 32)], ['1.5', K(1.5)], ["'x'", K('x')], ['null', K(null)], ['undefined', K(undefined)], ['NaN', K(NaN)], ['1n', K(1n)]],
  time: [["'x'", K('x')], ['{}', () => ({})], ['null', K(null)], ['undefined', K(undefined)], ['Invalid Date', () => new Date(NaN)], ['true', K(true)], ['1n', K(1n)], ["'12abc'", K('12abc')]],
  len: [['-1', K(-1)], ['1.5', K(1.5)], ["'x'", K('x')], ['2**53', K(2 ** 53)], ['NaN', K(NaN)], ['1n', K(1n)], ['null', K(null)], ['{}', () => ({})]],
  copyMode: [['-1', K(-1)], ['8', K(8)], ['1.5', K(1.5)], ["'x'", K('x')], ['2**32', K(2 ** 32)]],
  accessMode: [['-1', K(-1)], ['8', K(8)], ['1.5', K(1.5)], ["'x'", K('x')], ['{}', () => ({})]],
  symlinkType: [["'bogus'", K('bogus')], ['1', K(1)], ['{}', () => ({})]],
  count: [['-1', K(-1)], ['1.5', K(1.5)], ["'x'", K('x')], ['2**32', K(2 ** 32)], ['NaN', K(NaN)], ['0', K(0)]],
  fn: [["'x'", K('x')], ['{}', () => ({})], ['1', K(1)]],
};

interface Param {
  name: string;
  kind: string;
  valid: Make;
  /** An options object: each field varied on its own (kind of each field). */
  fields?: Record<string, string>;
}

const path = (rel: string, name = 'path'): Param => ({ name, kind: 'path', valid: (c) => c.p(rel) });
const of = (name: string, kind: string, v: unknown): Param => ({ name, kind, valid: typeof v === 'function' ? (v as Make) : K(v) });
const opts = (fields: Record<string, string>, valid: Make = () => ({})): Param => ({ name: 'options', kind: 'options', valid, fields });

/** node:fs/promises functions: parameters with a valid value each. */
const FUNCTIONS: Record<string, Param[]> = {
  access: [path('file.txt'), of('mode', 'accessMode', 0)],
  appendFile: [path('new'), of('data', 'data', 'x'), opts({ encoding: 'encoding', mode: 'mode', flag: 'flags', flush: 'bool' })],
  chmod: [path('file.txt'), of('mode', 'mode', 0o644)],
  chown: [path('file.txt'), of('uid', 'id', 0), of('gid', 'id', 0)],
  copyFile: [path('file.txt', 'src'), path('copy', 'dest'), of('mode', 'copyMode', 0)],
  cp: [path('dir', 'src'), path('copy', 'dest'), opts({ recursive: 'bool', force: 'bool', errorOnExist: 'bool', filter: 'fn', mode: 'copyMode', dereference: 'bool', preserveTimestamps: 'bool', verbatimSymlinks: 'bool' }, () => ({ recursive: true }))],
  lchown: [path('link-file'), of('uid', 'id', 0), of('gid', 'id', 0)],
  link: [path('file.txt', 'existingPath'), path('hard', 'newPath')],
  lstat: [path('link-file'), opts({ bigint: 'bool' })],
  lutimes: [path('link-file'), of('atime', 'time', 1e9), of('mtime', 'time', 1e9)],
  mkdir: [path('newdir'), opts({ recursive: 'bool', mode: 'mode' })],
  mkdtemp: [of('prefix', 'path', (c: SideCtx) => c.p('missing/t')), opts({ encoding: 'encoding' })],
  open: [path('file.txt'), of('flags', 'flags', 'r'), of('mode', 'mode', 0o666)],
  opendir: [path('dir'), opts({ encoding: 'encoding', bufferSize: 'count', recursive: 'bool' })],
  readFile: [path('file.txt'), opts({ encoding: 'encoding', flag: 'flags', signal: 'signal' })],
  readdir: [path('dir'), opts({ encoding: 'encoding', withFileTypes: 'bool', recursive: 'bool' })],
  readlink: [path('link-file'), opts({ encoding: 'encoding' })],
  realpath: [path('link-file'), opts({ encoding: 'encoding' })],
  rename: [path('file.txt', 'oldPath'), path('renamed', 'newPath')],
  rm: [path('dir'), opts({ recursive: 'bool', force: 'bool', maxRetries: 'count', retryDelay: 'count' }, () => ({ recursive: true }))],
  rmdir: [path('emptydir'), opts({ recursive: 'bool', maxRetries: 'count', retryDelay: 'count' })],
  stat: [path('file.txt'), opts({ bigint: 'bool' })],
  statfs: [path('file.txt'), opts({ bigint: 'bool' })],
  symlink: [of('target', 'path', 'file.txt'), path('sl'), of('type', 'symlinkType', null)],
  truncate: [path('file.txt'), of('len', 'len', 3)],
  unlink: [path('file.txt')],
  utimes: [path('file.txt'), of('atime', 'time', 1e9), of('mtime', 'time', 1e9)],
  watch: [path('dir', 'filename'), opts({ persistent: 'bool', recursive: 'bool', encoding: 'encoding', signal: 'signal' }, () => ({ signal: AbortSignal.timeout(30 * CPU_TIME_SCALE) }))],
  writeFile: [path('new'), of('data', 'data', 'x'), opts({ encoding: 'encoding', mode: 'mode', flag: 'flags', flush: 'bool', signal: 'signal' })],
};

const buf16 = () => Buffer.alloc(16);
/** FileHandle methods (the handle is file.txt opened 'r+'). */
const METHODS: Record<string, Param[]> = {
  read: [of('buffer', 'buffer', buf16), of('offset', 'offset', 0), of('length', 'length', 4), of('position', 'position', 0)],
  'read(options)': [opts({ buffer: 'buffer', offset: 'offset', length: 'length', position: 'position' }, () => ({ buffer: buf16() }))],
  'read(buffer, options)': [of('buffer', 'buffer', buf16), opts({ offset: 'offset', length: 'length', position: 'position' })],
  readv: [of('buffers', 'buffers', () => [buf16()]), of('position', 'position', 0)],
  write: [of('buffer', 'data', () => Buffer.from('abcd')), of('offset', 'offset', 0), of('length', 'length', 4), of('position', 'position', 0)],
  'write(buffer, options)': [of('buffer', 'data', () => Buffer.from('abcd')), opts({ offset: 'offset', length: 'length', position: 'position' })],
  'write(string)': [of('string', 'data', 'abcd'), of('position', 'position', 0), of('encoding', 'encoding', 'utf8')],
  writev: [of('buffers', 'buffers', () => [Buffer.from('ab')]), of('position', 'position', 0)],
  truncate: [of('len', 'len', 2)],
  chmod: [of('mode', 'mode', 0o600)],
  chown: [of('uid', 'id', 0), of('gid', 'id', 0)],
  utimes: [of('atime', 'time', 1e9), of('mtime', 'time', 1e9)],
  readFile: [opts({ encoding: 'encoding', signal: 'signal' })],
  writeFile: [of('data', 'data', 'x'), opts({ encoding: 'encoding', signal: 'signal' })],
  appendFile: [of('data', 'data', 'x'), opts({ encoding: 'encoding', signal: 'signal' })],
  stat: [opts({ bigint: 'bool' })],
  createReadStream: [opts({ start: 'position', end: 'position', encoding: 'encoding', highWaterMark: 'count' })],
  readLines: [opts({ start: 'position', end: 'position', encoding: 'encoding' })],
};

/** Variants of one signature: [label, argument builders]. */
function variants(params: Param[]): [string, Make[]][] {
  const valid = params.map((p) => p.valid);
  const out: [string, Make[]][] = [];
  params.forEach((p, i) => {
    const withArg = (m: Make): Make[] => valid.map((v, j) => (j === i ? m : v));
    for (const [label, make] of BAD[p.kind] ?? []) out.push([`${p.name}=${label}`, withArg(make)]);
    for (const [field, kind] of Object.entries(p.fields ?? {})) {
      for (const [label, make] of BAD[kind]) {
        out.push([`${p.name}.${field}=${label}`, withArg((c) => ({ ...(p.valid(c) as object), [field]: make(c) }))]);
      }
    }
  });
  for (let n = 0; n < params.length; n++) out.push([`only ${n} argument(s)`, valid.slice(0, n)]);
  return out;
}

/** Drives what a call returned far enough to see its error: iterators and streams included. */
async function settle(r: unknown): Promise<unknown> {
  const x = r as any;
  if (x && typeof x.next === 'function' && typeof x[Symbol.asyncIterator] === 'function') {
    // watch(): an async iterator; a valid watcher is ended by its timeout signal or by return().
    const first = await Promise.race([x.next(), new Promise((res) => setTimeout(() => res('still waiting'), 100 * CPU_TIME_SCALE))]);
    await x.return?.();
    return first;
  }
  if (x && typeof x.on === 'function' && (typeof x.read === 'function' || typeof x.setPrompt === 'function')) {
    // A stream (createReadStream) or a readline Interface (readLines): collect or take its error.
    return new Promise((res, rej) => {
      const chunks: unknown[] = [];
      x.on('error', rej);
      if (typeof x.setPrompt === 'function') {
        x.on('line', (l: string) => chunks.push(l));
        x.on('close', () => res(chunks));
      } else {
        x.on('data', (d: unknown) => chunks.push(d));
        x.on('end', () => res(chunks));
      }
    });
  }
  return r;
}

/**
 * Calls that node:fs/promises never settles, seen on Node 20-26 (ringflow/fs falls back to node's
 * own code for both functions): each would wait PENDING_MS on each side, 40 s under TCG.
 */
const NEVER_SETTLE: Record<string, string> = {
  'opendir options=function': 'opendir(path, fn): the function where the options go leaves the promise unsettled',
  'watch only 1 argument(s)': "watch(path) with no signal: no change comes, and the iterator's return() waits for the pending next()",
};

export function invalidFunctionCases(): Case[] {
  const cases: Case[] = [];
  for (const [fn, params] of Object.entries(FUNCTIONS)) {
    for (const [label, makers] of variants(params)) {
      cases.push({
        name: `${fn} ${label}`,
        neverSettles: NEVER_SETTLE[`${fn} ${label}`],
        // A synchronous throw stays one (capture sees it before any await).
        run: (fs, c) => {
          const args = makers.map((m) => m(c));
          const r = fs[fn](...args);
          if (fn === 'watch') return settle(r);
          if (fn === 'open') return c.track(r); // a handle opened by an accepted call gets closed
          if (fn === 'mkdtemp') return (r as Promise<unknown>).then((v) => settleMkdtemp(c, v, typeof args[1] === 'string' ? args[1] : (args[1] as any)?.encoding));
          return r;
        },
        project: fn === 'mkdtemp' ? maskMkdtempSuffix : undefined,
        skipUnless: (node) => {
          if (typeof node[fn] !== 'function') return `node:fs/promises has no ${fn}() on this line`;
          if (fn === 'opendir' && label.startsWith('options.bufferSize=') && !nodeRejectsBadOpendirBufferSize()) {
            return 'node:fs/promises.opendir on this line throws a bad bufferSize from a callback (uncaught, kills the process) instead of rejecting';
          }
          return undefined;
        },
      });
    }
  }
  return cases;
}

export function invalidMethodCases(): Case[] {
  const cases: Case[] = [];
  for (const [key, params] of Object.entries(METHODS)) {
    const method = key.replace(/\(.*$/, '');
    for (const [label, makers] of variants(params)) {
      cases.push({
        name: `fh.${key} ${label}`,
        skipUnless: () => {
          const death = nodeKillingCases('invalidMethodCases').get(`fh.${key} ${label}`);
          return death && `node:fs/promises itself kills the process with this call on this line (${death})`;
        },
        run: async (fs, c) => {
          const h = await c.track(fs.open(c.p('file.txt'), 'r+'));
          const args = makers.map((m) => m(c));
          // The method's own outcome (sync throw / rejection / value) and the file afterwards.
          return [await c.step(() => { const r = h[method](...args); return method.startsWith('create') || method === 'readLines' ? settle(r) : r; })];
        },
      });
    }
  }
  return cases;
}
