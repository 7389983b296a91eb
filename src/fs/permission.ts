/**
 * Node's permission model (`node --permission --allow-fs-read=… --allow-fs-write=…`): node:fs
 * checks every path it is given against the grants, and ringflow/fs must not be a way around them.
 * Loading ringflow at all takes `--allow-addons` there, and an addon can do anything; but code that
 * switched its import from node:fs/promises expects the same seat belt, so ringflow/fs asks the
 * running Node before a path goes to the ring.
 *
 * The rule: a call goes through the ring only when Node grants every path it names the access it
 * needs, or more. stat, lstat and a read-only open or readFile need fs.read; every other call
 * needs fs.read and fs.write on each path (a superset of what node:fs asks for each, so nothing
 * goes through that node would refuse). Everything else runs on node:fs/promises itself, which
 * applies its own checks and throws its own ERR_ACCESS_DENIED: relative paths (the directory they
 * resolve against may change before the ring opens them: process.chdir() in the same tick), paths
 * given as Buffers, file descriptors as numbers, URLs that are not plain URL objects or do not
 * convert, and symlink and link (whose rules in node involve both paths in ways not worth
 * copying). A FileHandle of ringflow's was opened through this check already.
 *
 * What is checked is what goes to the ring: a URL is converted once and the ring gets that string,
 * and a `flag` option counts as read-only only as a plain value of an options object with no
 * getter at all (a getter, an inherited flag or a Proxy could answer differently when read again,
 * or change the flag while another option is read): otherwise the call needs fs.write as well, and
 * any flag is within the grant. `has` and `indexOf` are taken when this module loads
 * (process.permission.has is writable), and FileHandles are told by a brand check. The wrapper that
 * calls this is src/fs/path-guard.ts. Without the model nothing here runs.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import { FileHandle } from './file-handle.js';

interface PermissionApi {
  has(scope: string, reference?: string): boolean;
}
const model = (process as unknown as { permission?: PermissionApi }).permission;
/** String.prototype.indexOf as it was at load. */
const indexOf: (s: string, sub: string) => number = Function.prototype.call.bind(String.prototype.indexOf) as never;
const has: PermissionApi['has'] | undefined = typeof model?.has === 'function' ? model.has.bind(model) : undefined;

/** The permission model is on in this process. */
export const permissionModelOn: boolean = has !== undefined;

/** Does Node grant read access to the absolute path `p` (true without the model)? */
export function readGranted(p: string): boolean {
  return has === undefined || has('fs.read', p);
}

/** O_ACCMODE and O_RDONLY (include/uapi/asm-generic/fcntl.h). */
const O_ACCMODE = 3;
const O_RDONLY = 0;

/** Flags that only read: undefined (the default 'r'), 'r', 'rs', 'sr', or a number with O_RDONLY and no O_CREAT/O_TRUNC/O_APPEND. */
function readOnlyFlags(flags: unknown): boolean {
  if (flags === undefined || flags === null) return true;
  if (typeof flags === 'string') return flags === 'r' || flags === 'rs' || flags === 'sr';
  // O_CREAT 0o100, O_TRUNC 0o1000, O_APPEND 0o2000 (asm-generic/fcntl.h)
  return typeof flags === 'number' && (flags & O_ACCMODE) === O_RDONLY && (flags & (0o100 | 0o1000 | 0o2000)) === 0;
}

/**
 * The `flag` of readFile's options if the object holds only plain values (no getter anywhere on it:
 * one run while readFile reads `encoding` or `signal` could change `flag` after this check) and
 * `flag` is its own; else a marker that is never read-only.
 */
const UNSURE = Symbol('unsure');
function flagOption(o: unknown): unknown {
  if (o === null || typeof o !== 'object') return undefined; // absent, or an encoding string
  if (types.isProxy(o)) return UNSURE;
  for (const k of Reflect.ownKeys(o)) if (!('value' in Object.getOwnPropertyDescriptor(o, k)!)) return UNSURE;
  if (!Object.hasOwn(o, 'flag')) return 'flag' in o ? UNSURE : undefined;
  return (o as { flag?: unknown }).flag;
}

/** Whether a call to `name` only reads its paths; undefined: a call this check leaves to node:fs/promises. */
function readOnlyCall(name: string, args: ArrayLike<unknown>): boolean | undefined {
  switch (name) {
    case 'stat':
    case 'lstat':
      return true;
    case 'open':
      return readOnlyFlags(args[1]);
    case 'readFile':
      return readOnlyFlags(flagOption(args[1]));
    case 'rename':
    case 'unlink':
    case 'rmdir':
    case 'mkdir':
    case 'truncate':
    case 'writeFile':
    case 'appendFile':
      return false;
    default:
      return undefined; // symlink, link
  }
}

/**
 * What goes to the ring for a path argument Node grants what the call needs: the argument itself
 * (a string, a FileHandle of ringflow's) or the string a URL converts to; undefined when it is not
 * granted or not checked here.
 */
function granted(path: unknown, readOnly: boolean): unknown {
  if (FileHandle.isHandle(path)) return path; // opened through this check (a brand check: Symbol.hasInstance can be replaced)
  let p: string;
  if (typeof path === 'string') p = path;
  else if (path instanceof URL && Object.getPrototypeOf(path) === URL.prototype && !types.isProxy(path)) {
    try {
      p = fileURLToPath(path);
    } catch {
      return undefined;
    }
  } else return undefined;
  if (indexOf(p, '\0') !== -1 || !isAbsolute(p)) return undefined;
  const abs = resolve(p);
  return has!('fs.read', abs) && (readOnly || has!('fs.write', abs)) ? p : undefined;
}

/**
 * Under the permission model: whether Node grants every path argument of a call to `name` (the
 * arguments at `at`) what the call needs. True: `args` now holds the paths as they were checked (a
 * URL converted to its string) and the call may go to the ring; false: leave it to node:fs/promises.
 */
export function grantedArgs(name: string, args: unknown[], at: readonly number[]): boolean {
  const readOnly = readOnlyCall(name, args);
  if (readOnly === undefined) return false;
  for (let k = 0; k < at.length; k++) {
    const checked = granted(args[at[k]], readOnly);
    if (checked === undefined) return false;
    args[at[k]] = checked;
  }
  return true;
}
