/**
 * Argument checks of the Ring's own methods (the builders and promise methods check theirs in
 * src/ops/build.ts). Each throws ringflow's TypeError/RangeError naming the argument and what is
 * accepted, before the method changes any state.
 */
import { types } from 'node:util';
import { describeValue } from '../errors.js';
import { Features } from './abi.js';
import { refusalOf } from './memory.js';

/** Methods without parameters refuse arguments (`ring.ref(false)` must not quietly ref). */
export function checkNoArgs(method: string, count: number): void {
  if (count !== 0) throw new TypeError(`ring.${method}() takes no arguments, got ${count}`);
}

function optionsObject(method: string, options: unknown): Record<string, unknown> | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options) || options instanceof AbortSignal)
    throw new TypeError(`ring.${method}(): "options" must be an object, got ${describeValue(options)}${options instanceof AbortSignal ? ' (pass { signal })' : ''}`);
  const o = options as Record<string, unknown>;
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw new TypeError(`ring.${method}(): "signal" must be an AbortSignal, got ${describeValue(o.signal)}`);
  return o;
}

/**
 * ring.run(sqe, options): `options` may be the same object the builder took (the promise methods
 * pass it on), so only its type and `signal` are checked here; the builder checked the rest.
 */
export function checkRunOptions(options: unknown, argCount: number): void {
  if (argCount > 2) throw new TypeError(`ring.run() takes sqe, options; got ${argCount} arguments`);
  optionsObject('run', options);
}

/** ring.supports(op): an op name, an IORING_OP constant, or an opcode number in [0, 255]. */
export function checkOpArg(op: unknown, argCount: number): void {
  if (argCount !== 1 && argCount !== 2) throw new TypeError(`ring.supports() takes op and optionally { flag }, got ${argCount} arguments`);
  if (typeof op === 'string') return;
  if (typeof op !== 'number' || !Number.isInteger(op))
    throw new TypeError(`ring.supports(): "op" must be an op name ('read'), an IORING_OP constant ('READ') or an opcode number, got ${describeValue(op)}`);
  if (op < 0 || op > 0xff) throw new RangeError(`ring.supports(): "op" as an opcode number must be in [0, 255], got ${describeValue(op)}`);
}

/** ring.hasFeature(name): a key of Features. */
export function checkFeatureName(name: unknown, argCount: number): void {
  if (argCount !== 1) throw new TypeError(`ring.hasFeature() takes one argument (name), got ${argCount}`);
  if (typeof name !== 'string' || !Object.hasOwn(Features, name))
    throw new RangeError(`ring.hasFeature(): "name" must be one of ${Object.keys(Features).join(', ')} (IORING_FEAT_*), got ${describeValue(name)}`);
}

/** ring.register(opcode, arg, nr): io_uring_register(2) passthrough arguments. */
export function checkRegisterArgs(opcode: unknown, arg: unknown, nr: unknown, argCount: number): void {
  if (argCount !== 3) throw new TypeError(`ring.register() takes opcode, arg, nr; got ${argCount} arguments`);
  if (typeof opcode !== 'number' || !Number.isInteger(opcode)) throw new TypeError(`ring.register(): "opcode" must be an integer (RegisterOp.*), got ${describeValue(opcode)}`);
  if (opcode < 0 || opcode > 0xff) throw new RangeError(`ring.register(): "opcode" must be in [0, 255] (RegisterOp.*), got ${describeValue(opcode)}`);
  if (arg !== null) {
    if (!ArrayBuffer.isView(arg) && !types.isArrayBuffer(arg))
      throw new TypeError(`ring.register(): "arg" must be a Buffer, TypedArray, DataView, ArrayBuffer or null, got ${describeValue(arg)}`);
    const why = refusalOf(ArrayBuffer.isView(arg) ? arg.buffer : arg);
    if (why) throw new TypeError(`ring.register(): "arg" ${why}`);
  }
  if (typeof nr !== 'number' || !Number.isInteger(nr)) throw new TypeError(`ring.register(): "nr" must be an integer, got ${describeValue(nr)}`);
  if (nr < 0 || nr > 0xffffffff) throw new RangeError(`ring.register(): "nr" must be in [0, 4294967295], got ${describeValue(nr)}`);
}
