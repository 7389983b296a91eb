/**
 * Issue #9 item 12, the sweep: every builder (walked from the opcode table, parameter by
 * parameter, by kind), every Ring method outside completion programs, every Sqe method, FixedFile
 * and the error helpers, given wrong types, NaN, ±Infinity, out-of-range and unsafe integers,
 * out-of-range bigints, null/undefined, extra arguments, huge arrays, NUL bytes, paths over
 * PATH_MAX and a closed ring. Each throws ringflow's own TypeError/RangeError naming the argument
 * (never a Node ERR_* or a V8 message), nothing is queued or submitted, and the ring still works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, readdirSync } from 'node:fs';
import { ringFor, tempFile, pattern } from '../helpers.js';
import { goodFor } from '../good-values.js';
import { Ring, Sqe, FixedFile, fixed, op, OPS, RingError, RingClosedError, errnoName, RegisterOp, type OpDesc } from '../../src/index.js';
import type { ParamDesc, ParamKind } from '../../src/ops/table.js';
import { methodName } from '../../src/ring/methods.js';
import { describeValue } from '../../src/errors.js';

type Thrower = () => unknown;

/** Asserts fn throws exactly TypeError or RangeError (no Node `code`) whose message matches `re`. */
function refuses(fn: Thrower, re: RegExp, label: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, `${label}: did not throw`);
  const e = thrown as Error;
  assert.ok(e.constructor === TypeError || e.constructor === RangeError, `${label}: ${e.constructor?.name}: ${e.message}`);
  assert.equal((e as { code?: unknown }).code, undefined, `${label}: Node internal error ${e.message}`);
  assert.doesNotMatch(e.message, /Cannot perform|Invalid typed array|is not a function|Cannot read properties|out of range|ERR_/, `${label}: V8/Node text: ${e.message}`);
  assert.match(e.message, re, label);
}

const rab = (): ArrayBuffer => new (ArrayBuffer as any)(8, { maxByteLength: 16 });
function detached(): Uint8Array {
  const ab = new ArrayBuffer(8);
  const v = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return v;
}

const INTEGERISH = [NaN, Infinity, -Infinity, 1.5, '1', 1n, null, {}, [], true, Symbol('s'), () => 0];
/** Bad values by parameter kind (the kinds of table.ts). `undefined` is bad only for required parameters. */
const BAD: Record<ParamKind, unknown[]> = {
  fd: [-1, 2 ** 31, 2 ** 53 + 2, { index: 1 }, ...INTEGERISH],
  dirfd: [-1, -101, 2 ** 31, fixed(1), ...INTEGERISH],
  u32: [-1, 2 ** 32, 2 ** 53 + 2, ...INTEGERISH],
  i32: [2 ** 31, -(2 ** 31) - 1, ...INTEGERISH],
  u16: [-1, 65536, ...INTEGERISH],
  position: [-2, 2 ** 53, 2 ** 60, -2n, 2n ** 63n, NaN, Infinity, 1.5, '0', {}, [], true],
  u64: [-1, 2 ** 53, -1n, 2n ** 64n, ...INTEGERISH.filter((v) => typeof v !== 'bigint')],
  userData: [-1, 2 ** 53, -1n, 2n ** 64n, ...INTEGERISH.filter((v) => typeof v !== 'bigint')],
  buffer: ['abc', 5, null, {}, [1, 2], true, detached(), new Uint8Array(rab()), rab()],
  iovecs: [Buffer.alloc(4), 'x', null, {}, [], new Array(1025).fill(Buffer.alloc(1)), new Array(1e6), [null], ['x'], [detached()], [new Uint8Array(rab())]],
  path: [42, null, {}, 'a\0b', 'x'.repeat(4096), 'x'.repeat(1e6), 'é'.repeat(2048), '\uD800', Buffer.from('a\0b'), Buffer.alloc(5000, 0x61), detached(), new Uint16Array(2)],
  timespec: [-1, NaN, Infinity, 1e300, 2 ** 53, -1n, 2n ** 63n, '1s', null, [], { sec: -1 }, { sec: 1.5 }, { sec: 2 ** 53 }, { sec: 1, nsec: 1e9 }, { sec: 1, nsec: -1 }, { sec: '1' }, { sec: 1, x: 1 }, { nsec: 5 }],
  statx: [],
  direct: [-1, 2 ** 20, 'Auto', 'x', 1.5, NaN, null, {}, 1n, fixed(0)],
  fdList: ['x', 5, null, {}, [], new Array(2 ** 20 + 1), [1.5], ['1'], [-3], [2 ** 31], [{}], [1n], { length: -1 }, { length: 1.5 }],
  slotOffset: [-1, 2 ** 20, 'x', 'AUTO', 1.5, NaN, null, {}, 1n],
  sockaddr: [null, 5, 'x', {}, [], { address: 'nope', port: 1 }, { address: '127.0.0.1' }, { address: '127.0.0.1', port: 65536 }, { address: '127.0.0.1', port: -1 }, { address: '127.0.0.1', port: 1.5 },
    { address: '127.0.0.1', port: 1, extra: 1 }, { family: 'ipx', address: '1.2.3.4', port: 1 }, { family: 'ipv4', address: '::1', port: 1 }, { family: 'ipv6', address: '1.2.3.4', port: 1 },
    { family: 'ipv6', address: 'fe80::1%eth0', port: 1 }, { family: 'unix', address: 'x'.repeat(108) }, { family: 'unix', address: 5 }, { path: 'a\0b' }, { path: 5 }, Buffer.alloc(129), Buffer.alloc(1), detached()],
  sockaddrOut: [],
  msghdr: ['x', 5, null, [], {}, { buffers: 'x' }, { buffers: [] }, { bogus: 1 }, { buffers: [null] }, { buffers: [detached()] }, { buffers: [Buffer.alloc(1)], control: 5 }, { buffers: new Array(1025).fill(Buffer.alloc(1)) }],
  msgFlags: [-1, 2 ** 32, ...INTEGERISH],
  flag: [1, 0, 'true', null, {}],
  bufferGroup: [-1, 65536, ...INTEGERISH],
  fixedBuffer: [-1, 65536, ...INTEGERISH],
  dataBuffer: ['abc', 5, null, {}, [1, 2], true, detached(), new Uint8Array(rab()), rab()],
  fixedData: ['abc', 5, null, {}, [1, 2], true, detached(), new Uint8Array(rab()), rab(), { index: 0, address: 1, length: 1, buffer: null }],
  choice: ['nope', -1, 99, 1.5, NaN, null, {}, true, 1n],
  bitmask: [-1, 0x10, 2 ** 31, ...INTEGERISH],
  sockType: ['nope', 'STREAM', -1, 0x10, 2 ** 31, 1.5, null, {}, true],
  optname: [-1, 2 ** 32, ...INTEGERISH],
  bufferPool: ['abc', 5, null, {}, Buffer.alloc(0), detached(), new Uint8Array(rab())],
  bufferCount: [0, -1, 65537, ...INTEGERISH],
  optval: ['abc', 5, null, {}, true, detached(), new Uint8Array(rab())],
  poolGroup: [-1, 65536, ...INTEGERISH],
  // file and path kinds (src/ops/build-files.ts)
  offset: [-1, 2 ** 53, -1n, 2n ** 63n, ...INTEGERISH.filter((v) => typeof v !== 'bigint')],
  length64: [-1, 2 ** 53, -1n, 2n ** 63n, ...INTEGERISH.filter((v) => typeof v !== 'bigint')],
  byteCount: [-1, 2 ** 32, ...INTEGERISH],
  openHow: [-1, 2 ** 32, 1.5, 'x', null, [], true, { bogus: 1 }, { flags: -1 }, { mode: 0o10000 }, { mode: '1' }, { resolve: 0x40 }],
  xattrName: [42, null, {}, '', 'a\0b', 'x'.repeat(256), 'é'.repeat(128), '\uD800', Buffer.alloc(0), Buffer.from('a\0b'), detached()],
  xattrValue: ['abc', 5, null, {}, true, detached(), Buffer.alloc(65537)],
  xattrOut: [-1, 65537, 1.5, NaN, 'abc', null, {}, true, detached(), new Uint8Array(rab())],
  pipeFds: [],
  spliceFdIn: [-1, 2 ** 31, { index: 1 }, ...INTEGERISH],
  pageRange: ['abc', 5, null, {}, Buffer.alloc(8), Buffer.alloc(0), detached()],
  ringTarget: [-1, 2 ** 31, NaN, Infinity, 1.5, '1', 1n, null, {}, [], true, { fd: 1 }, { fd: 1, ino: 1, state: new ArrayBuffer(4) }, { fd: -1, ino: 1, state: new SharedArrayBuffer(4) }, { handle: () => 5 }],
  ringMessage: [null, 5, 'x', [], {}, { data: -1 }, { data: 2 ** 31 }, { data: 1.5 }, { data: '1' }, { data: 0, value: 2 ** 31 }, { data: 0, value: -(2 ** 31) - 1 }, { data: 0, flags: -1 }, { data: 0, flags: 2 ** 32 },
    { data: 0, bogus: 1 }, { file: -1 }, { file: 2 ** 20 }, { file: 'x' }, { file: {} }, { file: 0, slot: -1 }, { file: 0, slot: 2 ** 20 }, { file: 0, slot: 'AUTO' }, { file: 0, skipCqe: 1 }, { file: 0, data: 0 }],
  cmdArea: ['abc', 5, null, {}, [1, 2], true, Buffer.alloc(81), detached(), new Uint8Array(rab())],
  zcrxIfq: [-1, 2 ** 32, ...INTEGERISH],
  // waiting kinds (src/ops/build-wait.ts)
  pollMask: [-(2 ** 31) - 1, 2 ** 32, ['bogus'], [1], ['in', null], ...INTEGERISH.filter((v) => !Array.isArray(v))],
  pollUpdate: [-(2 ** 31) - 1, 2 ** 32, ['bogus'], [1], ...INTEGERISH.filter((v) => !Array.isArray(v))],
  newUserData: [-1, 2 ** 53, -1n, 2n ** 64n, ...INTEGERISH.filter((v) => typeof v !== 'bigint')],
  target: [-1, 2 ** 53, -1n, 2n ** 64n, new Sqe(OPS[0]), Promise.resolve(0), ...INTEGERISH.filter((v) => typeof v !== 'bigint')],
  timerSpec: [-1, NaN, Infinity, -1n, 2n ** 63n, '1s', null, [], { sec: -1 }, { sec: 1, nsec: 1e9 }],
  timerUpdate: [-1, NaN, Infinity, -1n, '1s', null, [], { sec: 1.5 }],
  futexWord: [Buffer.alloc(4), new Uint8Array(4), new Float64Array(1), new Int16Array(2), 5, 'x', null, {}, [], new Int32Array(rab())],
  futexIndex: [-1, 2, 2 ** 32, ...INTEGERISH],
  futexValue: [2 ** 32, -(2 ** 31) - 1, ...INTEGERISH],
  futexShared: [1, 0, 'true', null, {}],
  futexCount: [-1, 2 ** 31, ...INTEGERISH],
  futexWaitv: ['x', 5, null, {}, [], new Array(129).fill({ word: new Int32Array(1), expected: 0 }), [null], [{ word: 5, expected: 0 }], [{ word: new Int32Array(1), expected: 1.5 }],
    [{ word: new Int32Array(1), expected: 0, bogus: 1 }], [{ word: new Int32Array(1), index: 1, expected: 0 }], [{ word: new Int32Array(1), expected: 0, shared: 1 }]],
  epollEvent: ['x', 5, null, [], {}, { events: 2 ** 32 }, { events: ['bogus'] }, { events: 1, data: -1 }, { events: 1, data: 1.5 }, { events: 1, data: 2n ** 64n }, { events: 1, bogus: 1 }],
  epollEvents: [0, -1, 2 ** 31, ...INTEGERISH],
  siginfo: [],
  nopFile: [-1, 2 ** 31, ...INTEGERISH],
  mshotGroup: [-1, 65536, ...INTEGERISH],
};

let fd = -1;

/** Builder arguments for `o` with `bad` in parameter `p`'s place (positional, or in the options object). */
function argsWith(o: OpDesc, p: ParamDesc | undefined, bad: unknown, extraOptions: Record<string, unknown> = {}): unknown[] {
  const positional = o.params!.filter((q) => q.positional);
  // a fixed op's bufIndex is optional only with a RegisteredBuffer; the baseline passes a plain view
  const args = positional.map((q) => (q === p ? bad : q.optional && q.kind !== 'fixedBuffer' ? undefined : goodFor(o, q, fd)));
  const opts: Record<string, unknown> = { ...extraOptions };
  if (p && !p.positional) opts[p.name] = bad;
  return [...args, opts];
}

test('sweep: every builder and promise method refuses bad arguments, parameter by parameter from the opcode table', async (t) => {
  const ring = ringFor(t);
  const f = tempFile(pattern(64));
  t.after(f.cleanup);
  fd = openSync(f.path, 'r+');
  t.after(() => closeSync(fd));
  let cases = 0;
  const both = (o: OpDesc, args: unknown[], re: RegExp, label: string) => {
    refuses(() => (op as any)[o.name](...args), re, `op.${label}`);
    const m = (ring as any)[methodName(o)];
    if (typeof m === 'function') refuses(() => m.apply(ring, args), re, `ring.${label}`);
    cases++;
  };
  for (const o of OPS) {
    if (!o.params) continue;
    assert.doesNotThrow(() => (op as any)[o.name](...argsWith(o, undefined, undefined)), `${o.name}: the baseline arguments are valid`);
    const named = (n: string) => new RegExp(`^${o.name}\\(\\): "${n}"`);
    for (const p of o.params) {
      for (const bad of [...BAD[p.kind], ...(p.optional ? [] : [undefined])]) both(o, argsWith(o, p, bad), named(p.name), `${o.name}(${p.name} = ${describeValue(bad)})`);
      if (p.kind === 'buffer')
        for (const [k, bad] of [['offset', -1], ['offset', 9], ['offset', 1.5], ['offset', '0'], ['offset', null], ['length', -1], ['length', 9], ['length', NaN], ['length', '8'], ['length', -0.5]] as const)
          both(o, argsWith(o, undefined, undefined, { [k]: bad }), named(k), `${o.name}(${k} = ${describeValue(bad)})`);
    }
    const common: [string, unknown[]][] = [
      ['personality', [-1, 65536, 1.5, '1', null, 1n]],
      ['ioprio', [-1, 65536, NaN, '1', null]],
      ['sqeFlags', [1, 32, 128, 256, -1, 1.5, '4', null]],
      ['signal', [{}, 'x', 1, null, true]],
    ];
    for (const [k, values] of common) for (const bad of values) both(o, argsWith(o, undefined, undefined, { [k]: bad }), named(k), `${o.name}(${k} = ${describeValue(bad)})`);
    both(o, argsWith(o, undefined, undefined, { bogus: 1 }), named('bogus'), `${o.name}({ bogus })`);
    const positional = o.params.filter((q) => q.positional).length;
    for (const bad of [5, 'x', true, null, [], Buffer.alloc(1), new AbortController().signal, () => 0, 1n]) {
      const args = argsWith(o, undefined, undefined);
      args[positional] = bad;
      both(o, args, new RegExp(`^${o.name}\\(\\): options must be an object`), `${o.name}(options = ${describeValue(bad)})`);
    }
    both(o, [...argsWith(o, undefined, undefined), undefined], new RegExp(`^${o.name}\\(\\): too many arguments \\(${positional + 2}\\); it takes `), `${o.name}(extra)`);
  }
  t.diagnostic(`${cases} builder cases`);
  assert.ok(cases > 500);
  assert.equal(ring.pending, 0, 'nothing queued');
  assert.equal(ring.stats().sqesSubmitted, 0, 'nothing reached the kernel');
  assert.equal(await ring.nop(), 0, 'the ring still works');
  const b = Buffer.alloc(8);
  assert.equal(await ring.read(fd, b, 0), 8);
  assert.deepEqual(b, pattern(8));
});

test('sweep: Ring methods outside completion programs', async (t) => {
  const ring = ringFor(t);
  const nop = () => op.nop();
  const cases: [string, (r: Ring) => unknown, RegExp][] = [
    ['supports()', (r) => (r.supports as any)(), /^ring\.supports\(\) takes op and optionally \{ flag \}/],
    ['supports(null)', (r) => r.supports(null as any), /"op" must be an op name/],
    ['supports({})', (r) => r.supports({} as any), /"op" must be an op name/],
    ['supports(1.5)', (r) => r.supports(1.5), /"op" must be an op name/],
    ['supports(NaN)', (r) => r.supports(NaN), /"op" must be an op name/],
    ['supports(-1)', (r) => r.supports(-1), /"op" as an opcode number must be in \[0, 255\]/],
    ['supports(256)', (r) => r.supports(256), /\[0, 255\]/],
    ['supports(5n)', (r) => r.supports(5n as any), /"op"/],
    ['supports extra', (r) => (r.supports as any)('nop', {}, 1), /takes op and optionally \{ flag \}, got 3 arguments/],
    ['supports(op, 1)', (r) => (r.supports as any)('nop', 1), /"options" must be an object such as \{ flag: 'INJECT_RESULT' \}/],
    ['supports(op, { flag: 1 })', (r) => (r.supports as any)('nop', { flag: 1 }), /"flag" must be a flag name/],
    ['supports(op, unknown flag)', (r) => r.supports('nop', { flag: 'NOPE' }), /nop has no flag "NOPE"; its flags are INJECT_RESULT/],
    ['hasFeature("BOGUS")', (r) => r.hasFeature('BOGUS' as any), /^ring\.hasFeature\(\): "name" must be one of SINGLE_MMAP, NODROP/],
    ['hasFeature(null)', (r) => r.hasFeature(null as any), /"name"/],
    ['hasFeature("toString")', (r) => r.hasFeature('toString' as any), /"name"/],
    ['hasFeature("NODROP\\0")', (r) => r.hasFeature('NODROP\0' as any), /"name"/],
    ['run({})', (r) => r.run({} as any), /^ring\.run\(\) takes an Sqe/],
    ['run(null)', (r) => r.run(null as any), /takes an Sqe/],
    ['run(sqe, 5)', (r) => r.run(nop(), 5 as any), /^ring\.run\(\): "options" must be an object/],
    ['run(sqe, signal)', (r) => r.run(nop(), new AbortController().signal as any), /pass \{ signal \}/],
    ['run(sqe, {signal: {}})', (r) => r.run(nop(), { signal: {} as any }), /^ring\.run\(\): "signal" must be an AbortSignal/],
    ['run(sqe, {}, extra)', (r) => (r.run as any)(nop(), {}, 1), /takes sqe, options; got 3/],
    ['run(skipSuccess)', (r) => r.run(nop().skipSuccess()), /skipSuccess\(\) on a lone request/],
    ['chain("x")', (r) => r.chain('x' as any), /non-empty array/],
    ['chain([])', (r) => r.chain([]), /non-empty array/],
    ['chain([{}])', (r) => r.chain([{} as any]), /takes Sqe objects/],
    ['chain(huge)', (r) => r.chain(new Array(1e6)), /do not fit in one submission/],
    ['chain(sparse)', (r) => r.chain(new Array(2)), /takes Sqe objects/],
    ['chain(sqes, {link: "yes"})', (r) => r.chain([nop(), nop()], { link: 'yes' as any }), /^ring\.chain\(\): "link" must be a boolean/],
    ['chain(sqes, {bogus})', (r) => r.chain([nop()], { bogus: 1 } as any), /^ring\.chain\(\): "bogus" is not an option of chain\(\); it accepts signal, link/],
    ['chain(sqes, 5)', (r) => r.chain([nop()], 5 as any), /"options" must be an object/],
    ['chain(sqes, {signal: 1})', (r) => r.chain([nop()], { signal: 1 as any }), /"signal" must be an AbortSignal/],
    ['chain(last skipSuccess)', (r) => r.chain([nop(), nop().skipSuccess()]), /skipSuccess\(\) on the last request/],
    ['submit(1)', (r) => (r.submit as any)(1), /^ring\.submit\(\) takes no arguments, got 1/],
    ['ref(false)', (r) => (r.ref as any)(false), /^ring\.ref\(\) takes no arguments/],
    ['unref(true)', (r) => (r.unref as any)(true), /^ring\.unref\(\) takes no arguments/],
    ['stats(1)', (r) => (r.stats as any)(1), /^ring\.stats\(\) takes no arguments/],
    ['enable(1)', (r) => (r.enable as any)(1), /^ring\.enable\(\) takes no arguments/],
    ['register("x", null, 0)', (r) => r.register('x' as any, null, 0), /^ring\.register\(\): "opcode" must be an integer/],
    ['register(-1, null, 0)', (r) => r.register(-1, null, 0), /"opcode" must be in \[0, 255\]/],
    ['register(2**53, null, 0)', (r) => r.register(2 ** 53, null, 0), /"opcode" must be in/],
    ['register(op, "x", 0)', (r) => r.register(RegisterOp.REGISTER_PROBE, 'x' as any, 0), /"arg" must be a Buffer/],
    ['register(op, undefined, 0)', (r) => r.register(RegisterOp.REGISTER_PROBE, undefined as any, 0), /"arg" must be a Buffer/],
    ['register(op, detached, 0)', (r) => r.register(RegisterOp.REGISTER_PROBE, detached(), 0), /"arg" is a detached ArrayBuffer/],
    ['register(op, resizable, 0)', (r) => r.register(RegisterOp.REGISTER_PROBE, new Uint8Array(rab()), 0), /"arg" is a resizable ArrayBuffer/],
    ['register(op, null, -1)', (r) => r.register(RegisterOp.REGISTER_PROBE, null, -1), /"nr" must be in \[0, 4294967295\]/],
    ['register(op, null, 2**32)', (r) => r.register(RegisterOp.REGISTER_PROBE, null, 2 ** 32), /"nr"/],
    ['register(op, null, NaN)', (r) => r.register(RegisterOp.REGISTER_PROBE, null, NaN), /"nr" must be an integer/],
    ['register(op, null)', (r) => (r.register as any)(RegisterOp.REGISTER_PROBE, null), /takes opcode, arg, nr; got 2/],
    ['fdatasync(fd, 5)', (r) => r.fdatasync(0, 5 as any), /^fdatasync\(\): options must be an object, got 5/],
    ['fdatasync(fd, {}, extra)', (r) => (r.fdatasync as any)(0, {}, 1), /^fdatasync\(\): too many arguments \(3\)/],
    ['fdatasync(fd, {fsyncFlags})', (r) => r.fdatasync(0, { fsyncFlags: 0 } as any), /"fsyncFlags" is not an option of fdatasync\(\)/],
    ['fdatasync(fd, {bogus})', (r) => r.fdatasync(0, { bogus: 1 } as any), /"bogus" is not an option of fsync\(\)/],
    ['fdatasync("x")', (r) => r.fdatasync('x' as any), /^fsync\(\): "fd" must be an integer/],
  ];
  const before = ring.pending;
  for (const [label, fn, re] of cases) {
    refuses(() => fn(ring), re, label);
    assert.equal(ring.pending, before, `${label}: nothing queued`);
  }
  assert.equal(ring.supports('noSuchOp'), false, 'an unknown name is still a plain false');
  assert.equal(ring.stats().sqesSubmitted, 0);
  const chained = [nop(), nop()];
  assert.throws(() => ring.chain([chained[0], chained[1].skipSuccess()], { link: true }));
  assert.equal(chained[0].flags, 0, 'a refused chain did not link its members');
  assert.equal(await ring.nop(), 0, 'the ring still works');
});

test('sweep: ring.files and allowFd(FixedFile) refuse bad arguments before touching the table', async (t) => {
  const ring = ringFor(t);
  const f = tempFile('x');
  t.after(f.cleanup);
  const fd0 = openSync(f.path, 'r');
  t.after(() => closeSync(fd0));
  const files = ring.files;
  const before: [string, () => unknown, RegExp][] = [
    ['register()', () => (files.register as any)(), /^files\.register\(\) takes one argument/],
    ['register("x")', () => files.register('x' as any), /^files\.register\(\): "fds" must be an array of fds/],
    ['register(null)', () => files.register(null as any), /"fds" must be an array/],
    ['register([])', () => files.register([]), /"fds" must hold 1 to 1048576 entries/],
    ['register([1.5])', () => files.register([1.5]), /"fds"\[0\] must be an fd \(integer\), null or -1/],
    ['register([-2])', () => files.register([-2]), /"fds"\[0\] must be an fd in \[0, 2147483647\] or -1/],
    ['register([2**31])', () => files.register([2 ** 31]), /"fds"\[0\] must be an fd in/],
    ['register({sparse: 0})', () => files.register({ sparse: 0 }), /"sparse" must be in \[1, 1048576\]/],
    ['register({sparse: 2**21})', () => files.register({ sparse: 2 ** 21 }), /"sparse" must be in \[0, 1048576\]/],
    ['register({sparse: "1"})', () => files.register({ sparse: '1' as any }), /"sparse" must be an integer/],
    ['register({sparse: 1, x: 1})', () => files.register({ sparse: 1, x: 1 } as any), /"x" is not an option; it takes \{ sparse \}/],
    ['update before register', () => files.update(0, [fd0]), /^files\.update\(\): the ring has no file table/],
    ['update(-1, fds)', () => files.update(-1, [fd0]), /^files\.update\(\): "offset" must be in \[0, 1048575\]/],
    ['update(0, [-3])', () => files.update(0, [-3]), /"fds"\[0\] must be an fd in \[0, 2147483647\], -1 \(empty\) or FILES_SKIP \(-2\)/],
    ['update(0)', () => (files.update as any)(0), /takes offset, fds; got 1/],
    ['unregister before register', () => files.unregister(), /^files\.unregister\(\): the ring has no file table/],
    ['unregister(1)', () => (files.unregister as any)(1), /takes no arguments/],
    ['allocRange(0, "1")', () => files.allocRange(0, '1' as any), /^files\.allocRange\(\): "length" must be an integer/],
    ['allocRange before register', () => files.allocRange(0, 1), /no file table/],
    ['slot before register', () => files.slot(0), /^files\.slot\(\): the ring has no file table/],
    ['slot(1.5)', () => files.slot(1.5), /"index" must be an integer/],
    ['allowFd(fixed(0)) without a table', () => ring.allowFd(fixed(0)), /^allowFd\(fixed\(0\)\): the ring's file table has 0 slots/],
    ['allowFd(fixed(0), "yes")', () => ring.allowFd(fixed(0), 'yes' as any), /allow must be a boolean/],
  ];
  for (const [label, fn, re] of before) refuses(fn, re, label);
  assert.equal(files.size, 0, 'no table was registered by a refused call');
  files.register([fd0, null]);
  const after: [string, () => unknown, RegExp][] = [
    ['update past the table', () => files.update(1, [fd0, fd0]), /slots 1\.\.2 are past the table \(2 slots\)/],
    ['allocRange past the table', () => files.allocRange(1, 2), /past the table/],
    ['slot(2)', () => files.slot(2), /"index" must be in \[0, 1\]/],
    ['allowFd(fixed(2))', () => ring.allowFd(fixed(2)), /file table has 2 slots/],
    ['allowFd(fixed(1)): a hole', () => ring.allowFd(fixed(1)), /slot 1 holds no file ringflow knows of/],
  ];
  for (const [label, fn, re] of after) refuses(fn, re, label);
  assert.equal(ring.stats().sqesSubmitted, 0);
  const b = Buffer.alloc(1);
  assert.equal(await ring.read(files.slot(0), b, 0), 1, 'the table still works');
});

test('sweep: new Ring(options) refuses before anything is created (no fd leaks)', () => {
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  const cases: [unknown[], RegExp][] = [
    [[null], /^ring options must be an object, got null/],
    [[5], /got 5/],
    [[[]], /got an array of 0/],
    [[{}, {}], /^new Ring\(\) takes one argument \(options\), got 2/],
    [[{ bogus: 1 }], /^"bogus" is not a ring option; ring options are entries, cqEntries, /],
    [[{ profile: 'fast2' }], /"profile" must be one of/],
    [[{ entries: '8' }], /^ring option "entries" must be an integer, got string "8"/],
    [[{ entries: NaN }], /"entries" must be an integer, got NaN/],
    [[{ entries: -0 }], /"entries" must be in \[1, 32768\], got -0/],
    [[{ entries: 2 ** 53 + 2 }], /"entries" must be in/],
    [[{ entries: 8n }], /"entries" must be an integer, got 8n/],
    [[{ cqEntries: -1 }], /"cqEntries"/],
    [[{ cqEntries: 2 ** 32 }], /"cqEntries"/],
    [[{ clamp: 'yes' }], /^ring option "clamp" must be a boolean, got string "yes"/],
    [[{ sqpoll: 1 }], /"sqpoll" must be an object/],
    [[{ sqpoll: { idle: -1 } }], /"sqpoll\.idle" must be in/],
    [[{ sqpoll: { cpu: 5000 } }], /"sqpoll\.cpu" must be in \[0, 4095\]/],
    [[{ attachWq: 'x' }], /"attachWq" must be a ring fd or an object with its fd/],
    [[{ attachWq: { fd: -1 } }], /"attachWq\.fd" must be in/],
    [[{ flags: -1 }], /"flags" must be in \[0, 4294967295\]/],
    [[{ flags: 1.5 }], /"flags" must be an integer/],
    [[{ flags: 1 << 19 }], /SetupFlags\.SQE_MIXED, which ringflow does not support yet/],
    [[{ sqe128: 1 }], /^ring option "sqe128" must be a boolean, got 1/],
    [[{ cqe32: 'yes' }], /^ring option "cqe32" must be a boolean/],
    [[{ cqeMixed: null }], /^ring option "cqeMixed" must be a boolean, got null/],
    [[{ cqe32: true, cqs: [4] }], /^ring option "cqs" needs the completion-program engine, which a ring with CQE32 cannot have/],
    [[{ maxInflight: 0 }], /"maxInflight" must be in \[1, /],
    [[{ programBudget: 0 }], /"programBudget" must be in \[1, /],
    [[{ programBudget: Infinity }], /"programBudget" must be an integer/],
    [[{ cqs: 'x' }], /"cqs" must be an array/],
    [[{ cqs: [3] }], /power of two/],
    [[{ cqs: new Array(1e6) }], /"cqs" must hold at most 1024 sizes/],
    [[{ autoSubmit: 1 }], /"autoSubmit" must be a boolean/],
    [[{ eventfd: null }], /"eventfd" must be a boolean, got null/],
    [[{ coopTaskrun: 'true', deferTaskrun: true }], /"coopTaskrun" must be a boolean/],
  ];
  for (const [args, re] of cases) refuses(() => new (Ring as any)(...args), re, `new Ring(${args.map((a) => JSON.stringify(a, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 40)).join(', ')})`);
  assert.equal(fds(), before, 'no ring fd created or leaked');
});

test('sweep: Sqe methods, new Sqe, FixedFile and the error helpers', () => {
  const s = () => op.nop();
  const cases: [string, Thrower, RegExp][] = [
    ['link(false)', () => (s().link as any)(false), /^link\(\) takes no arguments, got 1/],
    ['hardlink(1)', () => (s().hardlink as any)(1), /^hardlink\(\) takes no arguments/],
    ['drain(true)', () => (s().drain as any)(true), /^drain\(\) takes no arguments/],
    ['async(1)', () => (s().async as any)(1), /^async\(\) takes no arguments/],
    ['skipSuccess(false)', () => (s().skipSuccess as any)(false), /^skipSuccess\(\) takes no arguments/],
    ['setOff()', () => (s().setOff as any)(), /^setOff\(\) takes one argument, got 0/],
    ['setOff("1")', () => s().setOff('1' as any), /^setOff\(\): "off" must be an integer or bigint, got string "1"/],
    ['setOff(NaN)', () => s().setOff(NaN), /"off" must be an integer/],
    ['setOff(2**60)', () => s().setOff(2 ** 60), /^setOff\(\): "off" as a number must be in \[-\(2\^53 - 1\), 2\^53 - 1\] \(use a bigint beyond\)/],
    ['setOff(2n**64n)', () => s().setOff(2n ** 64n), /"off" as a bigint must be in \[-2\^63, 2\^64 - 1\]/],
    ['setAddr(Infinity)', () => s().setAddr(Infinity), /^setAddr\(\): "addr"/],
    ['setAddr3(-(2n**63n)-1n)', () => s().setAddr3(-(2n ** 63n) - 1n), /^setAddr3\(\): "addr3" as a bigint/],
    ['setAddr(1, 2)', () => (s().setAddr as any)(1, 2), /takes one argument, got 2/],
    ['hold(null)', () => s().hold(null as any), /^hold\(\): "value" must be an object, got null/],
    ['hold(1)', () => s().hold(1 as any), /"value" must be an object/],
    ['hold()', () => (s().hold as any)(), /^hold\(\) takes one argument, got 0/],
    ['toBytes(-1)', () => s().toBytes(-1), /^toBytes\(\): "userData" must not be negative/],
    ['toBytes("x")', () => s().toBytes('x' as any), /"userData" must be an integer or bigint/],
    ['toBytes(2n**64n)', () => s().toBytes(2n ** 64n), /"userData" as a bigint/],
    ['toBytes(1, 2)', () => (s().toBytes as any)(1, 2), /^toBytes\(\): "size" must be 64 or 128/],
    ['toBytes(1, 64, 3)', () => (s().toBytes as any)(1, 64, 3), /takes at most two arguments \(userData, size\)/],
    ['new Sqe(null)', () => new Sqe(null as any), /^new Sqe\(\): "op" must be an entry of the opcode table/],
    ['new Sqe({})', () => new Sqe({} as any), /"op" must be an entry/],
    ['new Sqe(code 300)', () => new Sqe({ ...OPS[0], code: 300 }), /"op"\.code must be an opcode in \[0, 255\]/],
    ['new Sqe(code 1.5)', () => new Sqe({ ...OPS[0], code: 1.5 }), /"op"\.code/],
    ['fixed("1")', () => fixed('1' as any), /^FixedFile\(\): "index" must be an integer, got string "1"/],
    ['fixed(-1)', () => fixed(-1), /^FixedFile\(\): "index" must be in \[0, 2147483647\], got -1/],
    ['fixed(2**31)', () => new FixedFile(2 ** 31), /"index" must be in/],
    ['fixed(NaN)', () => fixed(NaN), /"index" must be an integer, got NaN/],
    ['fixed(1n)', () => fixed(1n as any), /"index" must be an integer, got 1n/],
    ['errnoName("x")', () => errnoName('x' as any), /^errnoName\(\): "errno" must be an integer, got string "x"/],
    ['errnoName(0)', () => errnoName(0), /"errno" must be in \[-4095, -1\] or \[1, 4095\], got 0/],
    ['errnoName(1e9)', () => errnoName(1e9), /"errno" must be in/],
    ['new RingError("x")', () => new RingError('x' as any, 's'), /^new RingError\(\): "errno" must be an integer/],
    ['new RingError(-2, 5)', () => new RingError(-2, 5 as any), /^new RingError\(\): "syscall" must be a string/],
    ['new RingError(-2, "s", null)', () => new RingError(-2, 's', null as any), /"options" must be an object/],
  ];
  for (const [label, fn, re] of cases) refuses(fn, re, label);
  assert.equal(errnoName(-2), 'ENOENT');
  assert.equal(new RingError(-9, 'x').code, 'EBADF');
  const sq = op.nop().setOff(-1).setAddr(2n ** 64n - 1n).setAddr3(-(2n ** 63n));
  assert.deepEqual([sq.offLo, sq.offHi, sq.addrLo, sq.addrHi, sq.addr3Lo, sq.addr3Hi], [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0x80000000], 'the edges of the accepted ranges encode');
});

test('sweep: a closed ring refuses with RingClosedError (bad arguments are still TypeErrors first)', async () => {
  const ring = new Ring();
  await ring.close();
  const closed = (fn: Thrower, label: string) =>
    assert.throws(fn, (e: unknown) => e instanceof RingClosedError && (e as RingClosedError).code === 'ERR_RING_CLOSED', label);
  closed(() => ring.nop(), 'nop');
  closed(() => ring.read(0, Buffer.alloc(4), 0), 'read');
  closed(() => ring.run(op.nop()), 'run');
  closed(() => ring.chain([op.nop()]), 'chain');
  closed(() => ring.submit(), 'submit');
  closed(() => ring.register(RegisterOp.REGISTER_PROBE, null, 0), 'register');
  closed(() => ring.enable(), 'enable');
  closed(() => ring.supports('nop'), 'supports never probed before close');
  refuses(() => ring.read(-1, Buffer.alloc(4)), /^read\(\): "fd"/, 'bad fd on a closed ring');
  assert.equal(ring.pending, 0);
  await ring.close();
});
