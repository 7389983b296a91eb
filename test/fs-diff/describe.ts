/**
 * Canonical descriptions of what an fs call produced, so the two sides can be compared with
 * assert.deepStrictEqual: the tree root in every string/Buffer replaced by '<root>', Buffers and
 * strings kept apart, Stats/Dirent/FileHandle/Error reduced to the fields that must match.
 */
import { Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { CPU_TIME_SCALE } from '../helpers.js';

export interface DescribeOptions {
  /** The side's tree root (replaced by '<root>'). */
  root: string;
  /** Objects passed in by the case, by label: a result that *is* one of them says so. */
  refs: Map<object, string>;
  /**
   * True when both sides read the very same file (outside the two trees): Stats are compared
   * whole (ino, times). Otherwise ino and times are compared by type and consistency only.
   */
  exactStats: boolean;
  /** How long a call may stay unsettled before it is 'still pending' (PENDING_MS when absent). */
  pendingMs?: number;
}

const rootForms = new Map<string, [string, string][]>();

/**
 * The root replaced by '<root>' in `s`: as text, hex-encoded (`encoding: 'hex'` results) and as
 * the comma-separated bytes String(Uint8Array) gives (node's cp() message for a Uint8Array path).
 */
export function normalise(s: string, root: string): string {
  if (!root) return s;
  let forms = rootForms.get(root);
  if (!forms) {
    const b = Buffer.from(root);
    forms = [[root, '<root>'], [b.toString('hex'), '<root-hex>'], [Array.from(b).join(','), '<root-bytes>']];
    rootForms.set(root, forms);
  }
  for (const [form, mark] of forms) if (s.includes(form)) s = s.split(form).join(mark);
  return s;
}

const STAT_TIMES = ['atime', 'mtime', 'ctime', 'birthtime'] as const;
const PREDICATES = ['isFile', 'isDirectory', 'isSymbolicLink', 'isFIFO', 'isSocket', 'isBlockDevice', 'isCharacterDevice'] as const;

function className(v: object): string {
  const proto = Object.getPrototypeOf(v);
  if (proto === null) return 'null-prototype';
  return proto.constructor?.name ?? 'anonymous';
}

const BUILTIN_ERRORS: [string, Function][] = [
  ['Error', Error], ['TypeError', TypeError], ['RangeError', RangeError], ['SyntaxError', SyntaxError],
  ['ReferenceError', ReferenceError], ['URIError', URIError], ['EvalError', EvalError], ['AggregateError', AggregateError],
  ['DOMException', DOMException],
];

/**
 * The built-in error classes `e` is an instance of. Node's own validation errors are instances
 * of internal subclasses (NodeError, one or more levels deep, not reachable by user code); what
 * code can observe and test is `instanceof TypeError` etc. and the class name, compared here.
 */
function errorKinds(e: object): string[] {
  return BUILTIN_ERRORS.filter(([, C]) => e instanceof C).map(([n]) => n);
}

/** Bytes as latin1 text (root normalised); beyond 256 bytes: length, sha1 and the first 64. */
function bytesText(view: ArrayBufferView | ArrayBuffer, root: string): string {
  const u8 = view instanceof ArrayBuffer ? new Uint8Array(view) : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const text = normalise(Buffer.from(u8).toString('latin1'), root);
  if (text.length <= 256) return text;
  return `${text.length} bytes, sha1 ${createHash('sha1').update(text, 'latin1').digest('hex')}, starting ${JSON.stringify(text.slice(0, 64))}`;
}

function isStats(v: any): boolean {
  return v instanceof Stats || (typeof v === 'object' && v !== null && typeof v.isFile === 'function' && 'ino' in v && 'mode' in v);
}

function isStatFs(v: any): boolean {
  return typeof v === 'object' && v !== null && 'bavail' in v && 'bfree' in v && 'bsize' in v;
}

function isDirent(v: any): boolean {
  return typeof v === 'object' && v !== null && typeof v.isFile === 'function' && 'name' in v && !('ino' in v);
}

function isFileHandle(v: any): boolean {
  return typeof v === 'object' && v !== null && 'fd' in v && typeof v.close === 'function' && typeof v.read === 'function' && typeof v.stat === 'function';
}

function isDir(v: any): boolean {
  return typeof v === 'object' && v !== null && typeof v.read === 'function' && typeof v.close === 'function' && 'path' in v && !('fd' in v);
}

export function describeStats(st: any, o: DescribeOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { class: className(st), keys: Object.keys(st).sort() };
  for (const p of PREDICATES) out[p] = typeof st[p] === 'function' ? st[p]() : `missing ${p}()`;
  const bigint = typeof st.ino === 'bigint';
  for (const k of ['dev', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'blksize', 'size', 'blocks']) out[k] = st[k];
  const treeDependent = !o.exactStats;
  out.ino = treeDependent ? typeof st.ino : st.ino;
  for (const t of STAT_TIMES) {
    const ms = st[`${t}Ms`];
    const date = st[t];
    const ns = st[`${t}Ns`];
    const dateOk = date instanceof Date && !Number.isNaN(date.getTime());
    out[`${t}Ms`] = treeDependent ? typeof ms : ms;
    out[t] = treeDependent ? (dateOk ? 'Date' : `not a Date: ${String(date)}`) : dateOk ? date.getTime() : String(date);
    // Self-consistency that holds on each side whatever the file: the Date is the ms value.
    out[`${t}:Date=ms`] = dateOk && date.getTime() === Math.floor(Number(ms)) ? true : dateOk && Math.abs(date.getTime() - Number(ms)) < 1;
    if (bigint) {
      out[`${t}Ns`] = treeDependent ? typeof ns : ns;
      out[`${t}:ms=ns/1e6`] = typeof ns === 'bigint' && typeof ms === 'bigint' && ms === ns / 1000000n;
    }
  }
  return out;
}

function describeDirent(d: any, o: DescribeOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { class: className(d), keys: Object.keys(d).sort() };
  for (const k of Object.keys(d)) out[k] = describe(d[k], o);
  for (const p of PREDICATES) out[p] = typeof d[p] === 'function' ? d[p]() : `missing ${p}()`;
  return out;
}

/** An error reduced to what code may test: class, name, message, code, errno, syscall, path, dest. */
export function describeError(e: any, o: DescribeOptions): Record<string, unknown> {
  if (typeof e !== 'object' || e === null) return { thrownNonObject: describe(e, o) };
  const out: Record<string, unknown> = {
    class: className(e),
    instanceOf: errorKinds(e),
    name: e.name,
    message: typeof e.message === 'string' ? normalise(e.message, o.root) : e.message,
    keys: Object.keys(e).sort(),
  };
  for (const k of ['code', 'errno', 'syscall', 'path', 'dest', 'info']) if (k in e) out[k] = describe(e[k], o);
  if ('cause' in e) out.cause = e.cause instanceof Error ? { name: e.cause.name, message: e.cause.message } : describe(e.cause, o);
  return out;
}

/** The canonical description of any value a call returned (see the module comment). */
export function describe(v: unknown, o: DescribeOptions, depth = 0): unknown {
  if (depth > 8) return '<too deep>';
  if (v === null || v === undefined) return v;
  switch (typeof v) {
    case 'string':
      return normalise(v, o.root);
    case 'number':
    case 'bigint':
    case 'boolean':
      return v;
    case 'symbol':
      return { symbol: v.description };
    case 'function':
      return { function: (v as Function).name };
  }
  const obj = v as any;
  const ref = o.refs.get(obj);
  const wrap = (d: unknown) => (ref ? { ref, value: d } : d);
  if (Buffer.isBuffer(obj)) return wrap({ Buffer: bytesText(obj, o.root) });
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return wrap({ [className(obj)]: bytesText(obj as ArrayBufferView, o.root) });
  if (obj instanceof Error) return wrap({ error: describeError(obj, o) });
  if (obj instanceof Date) return wrap({ Date: obj.getTime() });
  if (obj instanceof URL) return wrap({ URL: normalise(obj.href, o.root) });
  if (isStats(obj)) return wrap(describeStats(obj, o));
  if (isStatFs(obj)) {
    // Free blocks and inodes move with everything else writing to the disk between the two calls.
    const d = describe({ ...obj }, o, depth + 1) as Record<string, unknown>;
    for (const k of ['bfree', 'bavail', 'ffree']) d[k] = typeof obj[k];
    return wrap({ '<class>': className(obj), ...d });
  }
  if (isDirent(obj)) return wrap(describeDirent(obj, o));
  if (isFileHandle(obj)) return wrap({ FileHandle: className(obj), fd: typeof obj.fd });
  if (isDir(obj)) return wrap({ Dir: className(obj), path: describe(obj.path, o, depth + 1) });
  if (Array.isArray(obj)) return wrap(obj.map((x) => describe(x, o, depth + 1)));
  if (typeof obj.then === 'function') return wrap({ thenable: className(obj) });
  const out: Record<string, unknown> = {};
  const cls = className(obj);
  // Objects of other classes (streams, readline interfaces) by class only: their internals differ.
  if (cls !== 'Object' && cls !== 'null-prototype') return wrap({ '<class>': cls });
  if (cls !== 'Object') out['<class>'] = cls;
  for (const k of Object.keys(obj)) out[k] = describe(obj[k], o, depth + 1);
  return wrap(out);
}

/** How a call ended. */
export type Outcome =
  | { how: 'threw synchronously'; error: unknown }
  | { how: 'rejected'; error: unknown }
  | { how: 'resolved'; value: unknown }
  | { how: 'returned a non-promise'; value: unknown }
  | { how: 'still pending'; after: string };

/**
 * How long a call may stay unsettled before its outcome is 'still pending' (a hang on that side):
 * 1 s, times CPU_TIME_SCALE under an emulated CPU (QEMU's TCG: node allocating a 4 GiB stream
 * buffer there took longer than 1 s while ringflow's side had settled).
 */
export const PENDING_MS = 1000 * CPU_TIME_SCALE;

/** Calls `fn` and records how it ended, without throwing. */
export async function capture(fn: () => unknown, o: DescribeOptions): Promise<Outcome> {
  let r: unknown;
  try {
    r = fn();
  } catch (e) {
    return { how: 'threw synchronously', error: describeError(e, o) };
  }
  if (!(r instanceof Promise) && !(r && typeof (r as any).then === 'function')) {
    return { how: 'returned a non-promise', value: describe(r, o) };
  }
  let timer: NodeJS.Timeout | undefined;
  const ms = o.pendingMs ?? PENDING_MS;
  const pending = new Promise<'pending'>((res) => (timer = setTimeout(() => res('pending'), ms)));
  try {
    const v = await Promise.race([r, pending]);
    if (v === 'pending') return { how: 'still pending', after: `${ms} ms` };
    return { how: 'resolved', value: describe(v, o) };
  } catch (e) {
    return { how: 'rejected', error: describeError(e, o) };
  } finally {
    clearTimeout(timer);
  }
}
