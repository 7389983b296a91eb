/**
 * The wrapper around each ringflow/fs function that takes paths (src/fs/index.ts, surface()):
 * calls that the ring would answer unlike node:fs/promises run on node:fs/promises instead.
 *
 * - A path string that is not well-formed UTF-16 (a lone surrogate): node encodes it as UTF-8 with
 *   U+FFFD in its place (another name than the string says), the ring's path encoder refuses it;
 *   so node answers, as it would have.
 * - Under Node's permission model, a call whose paths the model does not grant what it needs
 *   (src/fs/permission.ts).
 * - On the default ring's surface, every call when io_uring gives this thread no ring (a seccomp
 *   profile, io_uring_disabled, a locked-memory limit: src/fs/default-ring.ts).
 *
 * What the wrapper uses is taken when it loads (Reflect.apply, String.prototype.isWellFormed), and
 * it walks the argument list by index: code that later replaces built-ins does not change what it
 * checks. (Such code could use the Ring API, which the permission model does not reach, directly:
 * docs/security.md.)
 */
import { grantedArgs, permissionModelOn } from './permission.js';

/** Which arguments of each function are paths (the permission check's too). */
const PATH_ARGS: Readonly<Record<string, readonly number[]>> = {
  open: [0],
  stat: [0],
  lstat: [0],
  readFile: [0],
  writeFile: [0],
  appendFile: [0],
  truncate: [0],
  unlink: [0],
  rmdir: [0],
  mkdir: [0],
  rename: [0, 1],
  link: [0, 1],
  symlink: [0, 1],
};

const apply = Reflect.apply;
const slice: (a: ArrayLike<unknown>) => unknown[] = Function.prototype.call.bind(Array.prototype.slice) as never;
const wellFormed: (s: string) => boolean = Function.prototype.call.bind((String.prototype as unknown as { isWellFormed(): boolean }).isWellFormed) as never;

/**
 * `ours` (ringflow's `name`) guarded as above, with `theirs` (node's) for the calls it gives away;
 * same name and length. `ready`, for the default ring's surface: false when io_uring gave this
 * thread no ring (src/fs/default-ring.ts), and node answers every call.
 */
export function guardPathOp<F extends (...args: never[]) => unknown>(name: string, ours: F, theirs: F, ready?: () => boolean): F {
  const at = PATH_ARGS[name] ?? [];
  const guarded = function (this: unknown) {
    const args = arguments;
    for (let k = 0; k < at.length; k++) {
      const v = args[at[k]];
      if (typeof v === 'string' && !wellFormed(v)) return apply(theirs, this, args);
    }
    if (ready !== undefined && !ready()) return apply(theirs, this, args);
    if (!permissionModelOn) return apply(ours, this, args);
    const checked = slice(args);
    return grantedArgs(name, checked, at) ? apply(ours, this, checked) : apply(theirs, this, args);
  };
  Object.defineProperty(guarded, 'name', { value: ours.name });
  Object.defineProperty(guarded, 'length', { value: ours.length });
  return guarded as unknown as F;
}
