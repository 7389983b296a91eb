/**
 * Ring's promise methods, derived from the opcode table (src/ops/table.ts): every op with builder
 * parameters becomes `ring.<name>(...builderArgs)` → Promise of its result, the trailing options
 * object also carrying `signal`. Installed on Ring.prototype when the package entry loads; the
 * types below are the builders' signatures with promise results.
 */
import { Ring, runBuilt, type RunOptions } from './ring.js';
import { OPS, type OpDesc } from '../ops/table.js';
import { buildSqe, builderOf, type Builders, type StatxResult } from '../ops/build.js';
import { describeValue } from '../errors.js';
import type { FixedFile } from '../ops/sqe.js';

declare module './ring.js' {
  interface Ring {
    /** IORING_OP_NOP; resolves 0 (or the injected result). */
    nop(...args: Parameters<Builders['nop']>): Promise<number>;
    /** pread(2) into one buffer; resolves the bytes read (0 at EOF). */
    read(...args: Parameters<Builders['read']>): Promise<number>;
    /** pwrite(2) from one buffer; resolves the bytes written. */
    write(...args: Parameters<Builders['write']>): Promise<number>;
    /** preadv2(2); resolves the bytes read. */
    readv(...args: Parameters<Builders['readv']>): Promise<number>;
    /** pwritev2(2); resolves the bytes written. */
    writev(...args: Parameters<Builders['writev']>): Promise<number>;
    /** fsync(2) (fsyncFlags: 1 = fdatasync). */
    fsync(...args: Parameters<Builders['fsync']>): Promise<void>;
    /** fdatasync(2) through IORING_OP_FSYNC with IORING_FSYNC_DATASYNC. */
    fdatasync(fd: Parameters<Builders['fsync']>[0], options?: RunOptions): Promise<void>;
    /** openat(2) into a slot of ring.files (`direct`: a slot, or 'auto'); resolves the FixedFile it filled. */
    openat(path: Parameters<Builders['openat']>[0], flags: number | undefined, mode: number | undefined, options: NonNullable<Parameters<Builders['openat']>[3]> & { direct: number | 'auto' }): Promise<FixedFile>;
    /** openat(2); resolves the new fd. */
    openat(...args: Parameters<Builders['openat']>): Promise<number>;
    /** IORING_OP_FILES_UPDATE with offset 'auto': resolves the slots the kernel picked. */
    filesUpdate(fds: Parameters<Builders['filesUpdate']>[0], offset: 'auto', options?: Parameters<Builders['filesUpdate']>[2]): Promise<number[]>;
    /** IORING_OP_FILES_UPDATE: resolves the number of slots updated. */
    filesUpdate(fds: Parameters<Builders['filesUpdate']>[0], offset?: number, options?: Parameters<Builders['filesUpdate']>[2]): Promise<number>;
    /** IORING_OP_FIXED_FD_INSTALL (6.8): resolves a new process fd for the slot's file (O_CLOEXEC unless installFlags 1). */
    fixedFdInstall(...args: Parameters<Builders['fixedFdInstall']>): Promise<number>;
    /** close(2) through IORING_OP_CLOSE (ring.close() closes the ring itself). */
    closeFd(...args: Parameters<Builders['close']>): Promise<void>;
    /** statx(2); resolves a typed StatxResult. */
    statx(...args: Parameters<Builders['statx']>): Promise<StatxResult>;
    /** Resolves true when the time ran out, false when `count` completions happened first. */
    timeout(...args: Parameters<Builders['timeout']>): Promise<boolean>;
    /** Removes (or updates) a pending timeout by user_data. */
    timeoutRemove(...args: Parameters<Builders['timeoutRemove']>): Promise<void>;
    /** Cancels by user_data; resolves the kernel's res (0 found; rejects ENOENT/EALREADY). */
    asyncCancel(...args: Parameters<Builders['asyncCancel']>): Promise<number>;
  }
}

/** Promise-method name of an op ('close' would collide with ring.close()). */
export const methodName = (o: OpDesc): string => (o.name === 'close' ? 'closeFd' : o.name);

/** Ops whose SQE only makes sense inside a chain get no promise method. */
const CHAIN_ONLY = new Set(['linkTimeout']);

const proto = Ring.prototype as unknown as Record<string, unknown>;
for (const o of OPS) {
  if (!o.params || CHAIN_ONLY.has(o.name)) continue;
  const options = o.params.filter((p) => p.positional).length; // index of the options argument
  const build = builderOf(o);
  proto[methodName(o)] = function (this: Ring, ...args: unknown[]) {
    const sqe = build(args);
    if (sqe.multishot) throw new TypeError(`ring.${methodName(o)}(): multishot and bundle requests post more than one completion; build them with op.${o.name}() for the multi-completion request model`);
    return runBuilt(this, sqe, args[options] as RunOptions | undefined);
  };
}
const FSYNC = OPS.find((o) => o.name === 'fsync')!;
proto.fdatasync = function (this: Ring, fd: unknown, options?: RunOptions) {
  if (arguments.length > 2) throw new TypeError(`fdatasync(): too many arguments (${arguments.length}); it takes fd, options`);
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options)))
    throw new TypeError(`fdatasync(): options must be an object, got ${describeValue(options)}`);
  if (options !== undefined && Object.hasOwn(options, 'fsyncFlags')) throw new TypeError('fdatasync(): "fsyncFlags" is not an option of fdatasync(); use fsync() to choose them');
  return this.run(buildSqe(FSYNC, [fd, { ...options, fsyncFlags: 1 }]), options);
};
