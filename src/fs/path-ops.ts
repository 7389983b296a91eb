/**
 * The ring-backed functions of ringflow/fs taking paths, bound to a ring getter (the thread's
 * default ring, or the one given to createFs()).
 *
 * Arguments are checked with Node's rules (args.ts). When a check fails, the call is handed to
 * node:fs/promises with the caller's own arguments: node then throws its error for them (or, on a
 * Node line more lenient than the check, does the call), so invalid input is answered exactly as
 * node:fs/promises answers it on the running line. Nothing has been done to the file system at
 * that point.
 */
import * as nodeFsp from 'node:fs/promises';
import type { Ring } from '../ring/ring.js';
import { AT_SYMLINK_NOFOLLOW } from '../ring/abi.js';
import { nodeError, checkAborted, errnoError } from './errors.js';
import { readFileErrorNamesPath, statTakesSignal, statTakesThrowIfNoEntry } from './line-probes.js';
import { validatedPath, flagsOf, modeOf, optionsOf, validateObject, validateAbortSignal, validateBoolean, type FsOptions } from './args.js';
import { FileHandle } from './file-handle.js';
import { callOnClosedHandle } from './closed-handle.js';
import { statsFromStatx, statsFromStatxBytes } from './stats.js';
import { cachedStatxBytes } from './cached-stat.js';
import { writeAllFd, writeData, thenClose, openFd } from './read-write-file.js';
import { readWholeFile, writeWholeFile } from './fast/index.js';
import { RingError } from '../errors.js';
import { binding } from '../native.js';
import { TurnBudget } from '../ring/jobs.js';

/** The turn budget of stats answered from the kernel's caches (one per thread: the module is loaded per thread). */
const cachedTurn = new TurnBudget();

type AnyFn = (...args: never[]) => unknown;
const node = nodeFsp as unknown as Record<string, AnyFn>;
const STATX_ALL = 0xfff;

/** Hands an invalid call to node:fs/promises (see the file comment). */
function viaNode(name: string, args: unknown[]): Promise<never> {
  return (node[name] as unknown as (...a: unknown[]) => Promise<never>)(...args);
}

/** A handle another library made (node's own FileHandle): node:fs/promises serves it. */
const isForeignHandle = (v: unknown): boolean =>
  v !== null && typeof v === 'object' && !(v instanceof FileHandle) && typeof (v as { fd?: unknown }).fd === 'number' && typeof (v as { readFile?: unknown }).readFile === 'function';

/** readFile's errors as node:fs/promises gives them (`p`: the path as validated). */
async function readFileFailure(e: unknown, p: string | Buffer): Promise<never> {
  if (!(e instanceof RingError)) throw nodeError(e, 'open', p); // (an abort as it is; a path too long, open's ENAMETOOLONG)
  if (e.syscall === 'open') throw nodeError(e, 'open', p);
  if (e.syscall === 'read' && (await readFileErrorNamesPath())) throw errnoError(e.errno, 'read', p);
  throw nodeError(e, e.syscall);
}

export function pathOps(ringOf: () => Ring) {
  async function open(path: unknown, flags?: unknown, mode?: unknown): Promise<FileHandle> {
    let p, f, m;
    try {
      p = validatedPath(path);
      f = flagsOf(flags);
      m = modeOf(mode, 'mode', 0o666);
    } catch {
      return viaNode('open', [path, flags, mode]);
    }
    const ring = ringOf();
    return new FileHandle(ring, await openFd(ring, p, f, m));
  }

  async function statLike(name: 'stat' | 'lstat', path: unknown, options: unknown, args: unknown[]) {
    let p, o: FsOptions;
    try {
      o = (options === undefined ? {} : options) as FsOptions; // null: node's own error (reading 'bigint' of null, or 26's validateObject)
      validateObject(o, 'options');
      validateAbortSignal(o.signal, 'options.signal');
      p = validatedPath(path);
    } catch {
      return viaNode(name, args);
    }
    // options.signal and throwIfNoEntry are taken where node's stat/lstat take them (probed)
    const signal = o.signal !== undefined && (await statTakesSignal(name)) ? o.signal : undefined;
    checkAborted(signal);
    // from the kernel's caches on this thread when it can answer without blocking (cached-stat.ts)
    const cached = cachedStatxBytes(p, name === 'lstat');
    if (cached !== undefined) {
      const stats = statsFromStatxBytes(cached, o.bigint === true);
      // answered on this thread with no wait: a loop of `await stat()` still lets timers and I/O run
      // (node's stat always leaves for its thread pool), as one of ring requests does (jobs.ts)
      if (cachedTurn.charge()) await cachedTurn.nextTurn();
      return stats;
    }
    try {
      const x = await ringOf().statx(p, { statxFlags: name === 'lstat' ? AT_SYMLINK_NOFOLLOW : 0, mask: STATX_ALL, signal });
      return statsFromStatx(x, o.bigint === true);
    } catch (e) {
      const err = nodeError(e, name, p);
      const noEntry = (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR';
      if (name === 'stat' && o.throwIfNoEntry === false && noEntry && (await statTakesThrowIfNoEntry())) return undefined;
      throw err;
    }
  }
  const stat = (path: unknown, options?: unknown) => statLike('stat', path, options, [path, options]);
  const lstat = (path: unknown, options?: unknown) => statLike('lstat', path, options, [path, options]);

  /** rename/link: two paths checked by node's rules, one ring request, node's error naming both. */
  async function twoPaths(name: 'rename' | 'link', from: unknown, to: unknown, fromName: string, run: (ring: Ring, a: string | Buffer, b: string | Buffer) => Promise<unknown>): Promise<void> {
    let a, b;
    try {
      a = validatedPath(from, fromName);
      b = validatedPath(to, 'newPath');
    } catch {
      return viaNode(name, [from, to]);
    }
    try {
      await run(ringOf(), a, b);
    } catch (e) {
      throw nodeError(e, name, a, b); // (a builder's refusal too: a path too long is ENAMETOOLONG)
    }
  }
  const rename = (oldPath: unknown, newPath: unknown) => twoPaths('rename', oldPath, newPath, 'oldPath', (r, a, b) => r.renameat(a, b));
  const link = (existingPath: unknown, newPath: unknown) => twoPaths('link', existingPath, newPath, 'existingPath', (r, a, b) => r.linkat(a, b));

  async function symlink(target: unknown, path: unknown, type?: unknown): Promise<void> {
    let t, p;
    try {
      if (!['dir', 'file', 'junction', null, undefined].includes(type as string)) throw new Error('type');
      t = validatedPath(target, 'target');
      p = validatedPath(path);
    } catch {
      return viaNode('symlink', [target, path, type]);
    }
    try {
      await ringOf().symlinkat(t, p);
    } catch (e) {
      throw nodeError(e, 'symlink', t, p); // (a builder's refusal too: a path too long is ENAMETOOLONG)
    }
  }

  async function unlink(path: unknown): Promise<void> {
    let p;
    try {
      p = validatedPath(path);
    } catch {
      return viaNode('unlink', [path]);
    }
    try {
      await ringOf().unlinkat(p);
    } catch (e) {
      throw nodeError(e, 'unlink', p); // (a builder's refusal too: a path too long is ENAMETOOLONG)
    }
  }

  async function rmdir(path: unknown, options?: unknown): Promise<void> {
    let p;
    try {
      if (options !== undefined) throw new Error('options'); // recursive (deprecated) and its retries: node's
      p = validatedPath(path);
    } catch {
      return viaNode('rmdir', [path, options]);
    }
    try {
      await ringOf().unlinkat(p, { removeDir: true });
    } catch (e) {
      throw nodeError(e, 'rmdir', p); // (a builder's refusal too: a path too long is ENAMETOOLONG)
    }
  }

  async function mkdir(path: unknown, options?: unknown): Promise<string | undefined> {
    let p, m;
    try {
      // node's defaults apply to undefined only: { recursive: null } is refused by validateBoolean
      const { recursive = false, mode = 0o777 } = (typeof options === 'number' || typeof options === 'string' ? { mode: options } : options || {}) as FsOptions;
      if (validateBoolean(recursive, 'options.recursive')) throw new Error('recursive'); // composed by node
      p = validatedPath(path);
      m = modeOf(mode, 'mode', 0o777);
    } catch {
      return viaNode('mkdir', [path, options]);
    }
    try {
      await ringOf().mkdirat(p, m);
    } catch (e) {
      throw nodeError(e, 'mkdir', p); // (a builder's refusal too: a path too long is ENAMETOOLONG)
    }
    return undefined;
  }

  async function truncate(path: unknown, len: unknown = 0): Promise<void> {
    const fh = await open(path, 'r+');
    let error: unknown;
    try {
      await fh.truncate(len as number);
    } catch (e) {
      error = e;
    }
    try {
      await fh.close();
    } catch (e) {
      error ??= e;
    }
    if (error !== undefined) throw error;
  }

  /**
   * Not an async function: the call's promise is readWholeFile's, which maps its own errors
   * (`fail`), so a Buffer result resolves one promise, not two (each resolve with a Buffer looks
   * `then` up its prototype chain), with no await between two async functions.
   */
  function readFile(path: unknown, options?: unknown): Promise<string | Buffer> {
    try {
      if (isForeignHandle(path)) return viaNode('readFile', [path, options]);
      // (instanceof on a string path looks FileHandle[Symbol.hasInstance] up: a path is not an object)
      const handle = typeof path === 'object' && path instanceof FileHandle;
      if (handle && path.fd === -1) return callOnClosedHandle('readFile', [options]);
      let o: FsOptions, p, flags;
      try {
        o = optionsOf(options, { flag: 'r' });
        if (handle) return path.readFile(o);
        p = validatedPath(path);
        flags = flagsOf(o.flag || 'r');
      } catch (e) {
        if (handle) throw e;
        return viaNode('readFile', [path, options]);
      }
      checkAborted(o.signal);
      const ring = ringOf();
      // fs-fast: open + read + read in one submission on a direct descriptor (src/fs/fast/read-file.ts)
      // decoded inside for an encoding Buffer knows; any other is node's toString() of the bytes (its error, or '' for an empty file)
      const encoding = o.encoding;
      const known = typeof encoding === 'string' && Buffer.isEncoding(encoding);
      const target = p;
      return readWholeFile(ring, p, {
        flags,
        signal: o.signal,
        encoding: known ? (encoding as BufferEncoding) : null,
        decode: encoding && !known ? (b) => b.toString(encoding as BufferEncoding) : undefined,
        fail: (e) => readFileFailure(e, target),
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async function writeFile(path: unknown, data: unknown, options?: unknown, defaultFlag = 'w'): Promise<void> {
    const name = defaultFlag === 'a' ? 'appendFile' : 'writeFile';
    if (isForeignHandle(path)) return viaNode(name, [path, data, options]);
    if (path instanceof FileHandle && path.fd === -1) return callOnClosedHandle(name, [data, options]);
    let o: FsOptions, bytes, p, flags, mode;
    try {
      o = optionsOf(options, { encoding: 'utf8', mode: 0o666, flag: defaultFlag, flush: false });
      if (o.flush !== undefined) validateBoolean(o.flush, 'options.flush');
      modeOf(o.mode, 'mode', 0o666);
      bytes = writeData(data, o.encoding);
      if (!(path instanceof FileHandle)) {
        p = validatedPath(path);
        flags = flagsOf(o.flag || defaultFlag);
        mode = modeOf(o.mode, 'mode', 0o666);
      }
    } catch {
      return viaNode(name, [path, data, options]);
    }
    if (path instanceof FileHandle) return path[defaultFlag === 'a' ? 'appendFile' : 'writeFile'](data, o);
    checkAborted(o.signal);
    const ring = ringOf();
    const flush = o.flush === true;
    if (!flush && ArrayBuffer.isView(bytes)) {
      // fs-fast: open + write + close in one submission on a direct descriptor (src/fs/fast/write-file.ts)
      try {
        return await writeWholeFile(ring, p!, bytes, { flags: flags!, mode: mode!, signal: o.signal });
      } catch (e) {
        if (!(e instanceof RingError)) throw nodeError(e, 'open', p); // (an abort as it is; a path too long, open's ENAMETOOLONG)
        throw e.syscall === 'open' ? nodeError(e, 'open', p) : nodeError(e, e.syscall);
      }
    }
    const fd = await openFd(ring, p!, flags!, mode!);
    binding.fdOwn(fd); // (this thread's until its close is written: closed at its end if it ends first)
    return thenClose(ring, fd, writeAllFd(ring, fd, bytes, o).then(() => (flush ? ring.fsync(fd).catch((e: unknown) => Promise.reject(nodeError(e, 'fsync'))) : undefined)));
  }
  const appendFile = (path: unknown, data: unknown, options?: unknown) => writeFile(path, data, options, 'a');

  return { open, stat, lstat, rename, link, symlink, unlink, rmdir, mkdir, truncate, readFile, writeFile: (p: unknown, d: unknown, o?: unknown) => writeFile(p, d, o), appendFile };
}
