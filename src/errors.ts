/**
 * RingError: the one error class for kernel failures. Native code hands back -errno; this file
 * turns it into { code, errno, syscall, op } with a hint that says what to do about it.
 */
import { constants as osConstants } from 'node:os';

/** Linux errno numbers → names (include/uapi/asm-generic/errno-base.h and errno.h; unchanged since 2.6).
 * os.constants.errno lacks Linux-only ones such as EBADFD, EBADR and ETIME. */
const LINUX_ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 7: 'E2BIG', 8: 'ENOEXEC', 9: 'EBADF', 10: 'ECHILD', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 15: 'ENOTBLK', 16: 'EBUSY', 17: 'EEXIST', 18: 'EXDEV', 19: 'ENODEV', 20: 'ENOTDIR', 21: 'EISDIR', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 25: 'ENOTTY', 26: 'ETXTBSY', 27: 'EFBIG', 28: 'ENOSPC', 29: 'ESPIPE', 30: 'EROFS', 31: 'EMLINK', 32: 'EPIPE', 33: 'EDOM', 34: 'ERANGE', 35: 'EDEADLK', 36: 'ENAMETOOLONG', 37: 'ENOLCK', 38: 'ENOSYS', 39: 'ENOTEMPTY', 40: 'ELOOP', 42: 'ENOMSG', 43: 'EIDRM', 44: 'ECHRNG', 45: 'EL2NSYNC', 46: 'EL3HLT', 47: 'EL3RST', 48: 'ELNRNG', 49: 'EUNATCH', 50: 'ENOCSI', 51: 'EL2HLT', 52: 'EBADE', 53: 'EBADR', 54: 'EXFULL', 55: 'ENOANO', 56: 'EBADRQC', 57: 'EBADSLT', 59: 'EBFONT', 60: 'ENOSTR', 61: 'ENODATA', 62: 'ETIME', 63: 'ENOSR', 64: 'ENONET', 65: 'ENOPKG', 66: 'EREMOTE', 67: 'ENOLINK', 68: 'EADV', 69: 'ESRMNT', 70: 'ECOMM', 71: 'EPROTO', 72: 'EMULTIHOP', 73: 'EDOTDOT', 74: 'EBADMSG', 75: 'EOVERFLOW', 76: 'ENOTUNIQ', 77: 'EBADFD', 78: 'EREMCHG', 79: 'ELIBACC', 80: 'ELIBBAD', 81: 'ELIBSCN', 82: 'ELIBMAX', 83: 'ELIBEXEC', 84: 'EILSEQ', 85: 'ERESTART', 86: 'ESTRPIPE', 87: 'EUSERS', 88: 'ENOTSOCK', 89: 'EDESTADDRREQ', 90: 'EMSGSIZE', 91: 'EPROTOTYPE', 92: 'ENOPROTOOPT', 93: 'EPROTONOSUPPORT', 94: 'ESOCKTNOSUPPORT', 95: 'EOPNOTSUPP', 96: 'EPFNOSUPPORT', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL', 100: 'ENETDOWN', 101: 'ENETUNREACH', 102: 'ENETRESET', 103: 'ECONNABORTED', 104: 'ECONNRESET', 105: 'ENOBUFS', 106: 'EISCONN', 107: 'ENOTCONN', 108: 'ESHUTDOWN', 109: 'ETOOMANYREFS', 110: 'ETIMEDOUT', 111: 'ECONNREFUSED', 112: 'EHOSTDOWN', 113: 'EHOSTUNREACH', 114: 'EALREADY', 115: 'EINPROGRESS', 116: 'ESTALE', 117: 'EUCLEAN', 118: 'ENOTNAM', 119: 'ENAVAIL', 120: 'EISNAM', 121: 'EREMOTEIO', 122: 'EDQUOT', 123: 'ENOMEDIUM', 124: 'EMEDIUMTYPE', 125: 'ECANCELED', 126: 'ENOKEY', 127: 'EKEYEXPIRED', 128: 'EKEYREVOKED', 129: 'EKEYREJECTED', 130: 'EOWNERDEAD', 131: 'ENOTRECOVERABLE', 132: 'ERFKILL', 133: 'EHWPOISON' };
const errnoNames = new Map<number, string>(Object.entries(LINUX_ERRNO).map(([k, v]) => [Number(k), v]));

/** How a bad argument is shown in messages: numbers, bigints and booleans as written (NaN, -0, 5n, true), strings quoted with their type, objects by class ("Uint8Array", "an array of 3"). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'string':
      return `string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)}${v.length > 20 ? ` (${v.length} characters)` : ''}`;
    case 'boolean':
      return String(v);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
  }
  let name: unknown;
  try {
    name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  } catch {
    name = undefined;
  }
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'an object';
}

function errnoArg(fn: string, errno: unknown): number {
  if (typeof errno !== 'number' || !Number.isInteger(errno)) throw new TypeError(`${fn}: "errno" must be an integer, got ${describeValue(errno)}`);
  if (errno === 0 || errno < -4095 || errno > 4095) throw new RangeError(`${fn}: "errno" must be in [-4095, -1] or [1, 4095], got ${errno}`);
  return Math.abs(errno);
}

/** errno number (positive or negative) → symbolic name ("ENOENT"); "E<n>" when unknown. */
export function errnoName(errno: number): string {
  const e = errnoArg('errnoName()', errno);
  return errnoNames.get(e) ?? `E${e}`;
}

const errnoNumbers = new Map<string, number>([...errnoNames].map(([k, v]) => [v, k]));
/** Numeric errno for a name, e.g. errno('ECANCELED') → 125. */
export function errno(name: string): number {
  if (typeof name !== 'string') throw new TypeError(`errno(): "name" must be a string such as "ENOENT", got ${describeValue(name)}`);
  const n = errnoNumbers.get(name) ?? (Object.hasOwn(osConstants.errno, name) ? (osConstants.errno as Record<string, number>)[name] : undefined);
  if (n === undefined) throw new RangeError(`errno(): "name" must be a Linux errno name such as "ENOENT", got ${describeValue(name)}`);
  return n;
}

const describe: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EINTR: 'interrupted',
  EIO: 'I/O error',
  EBADF: 'bad file descriptor',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'out of memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address',
  EBUSY: 'device or resource busy',
  EEXIST: 'file exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  ENFILE: 'file table full',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on device',
  ESPIPE: 'illegal seek',
  EPIPE: 'broken pipe',
  ENOSYS: 'function not implemented',
  EOPNOTSUPP: 'operation not supported',
  ETIME: 'timer expired',
  ECANCELED: 'operation canceled',
  EALREADY: 'operation already in progress',
  ENOBUFS: 'no buffer space available',
  EBADR: 'completions lost (CQ overflow)',
  EBADFD: 'file descriptor in bad state',
  ENXIO: 'no such device or address',
  E2BIG: 'argument list too long',
  ENAMETOOLONG: 'file name too long',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ECONNABORTED: 'connection aborted',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  ENETUNREACH: 'network is unreachable',
  EHOSTUNREACH: 'no route to host',
  ETIMEDOUT: 'timed out',
  ENOTCONN: 'socket is not connected',
  EMSGSIZE: 'message too long',
};

function hintFor(code: string, syscall: string, op?: string, fixedFile?: boolean, lacking?: readonly { flag: string; since: string }[]): string | undefined {
  if (op && lacking?.length)
    return `this kernel lacks ${lacking.map((l) => `${op}'s ${l.flag} flag (Linux ${l.since}+)`).join(' and ')}: ring.supports('${op}', { flag: '${lacking[0].flag}' }) is false`;
  switch (code) {
    case 'ENOMEM':
      if (syscall === 'io_uring_setup' || syscall === 'io_uring_register')
        return syscall === 'io_uring_setup'
          ? 'the ring memory counts against RLIMIT_MEMLOCK for users without CAP_IPC_LOCK on Linux 6.14+ (and before 5.12): raise it (ulimit -l, LimitMEMLOCK= in systemd, --ulimit memlock in docker) or use fewer/smaller rings'
          : 'registered buffers (and, on Linux 6.14+, ring memory) count against RLIMIT_MEMLOCK for users without CAP_IPC_LOCK: raise it (ulimit -l, LimitMEMLOCK= in systemd, --ulimit memlock in docker) or register less';
      return undefined;
    case 'EPERM':
      if (syscall === 'io_uring_setup')
        return 'io_uring is disabled or filtered: check /proc/sys/kernel/io_uring_disabled (1 needs CAP_SYS_ADMIN or the io_uring_group, 2 is off) and the container seccomp profile (docker blocks io_uring by default)';
      return undefined;
    case 'ENOSYS':
      return 'the kernel lacks io_uring (needs Linux 5.1+, built with CONFIG_IO_URING) or a seccomp filter blocks it';
    case 'EINVAL':
      if (syscall === 'io_uring_setup')
        return 'this kernel rejects the requested setup flags or sizes; ringflow info lists what it accepts';
      if (op) return `the kernel rejected the ${op} request's fields; check ring.supports('${op}') and the flags used`;
      return undefined;
    case 'EBADFD':
      if (syscall === 'io_uring_enter') return 'the ring was created disabled (R_DISABLED): call ring.enable() first';
      return undefined;
    case 'EBADF':
      if (fixedFile) return 'no file is registered in that FixedFile slot (the slot is empty, or beyond the registered file table)';
      return 'the file descriptor is not open (closed already, or never valid)';
    case 'ECANCELED':
      return op ? `the ${op} request was cancelled (a linked request failed, an AbortSignal fired, or the ring closed)` : undefined;
    case 'ETIME':
      return 'the timeout expired';
    case 'EEXIST':
      // a request's own EEXIST (mkdirat, XATTR_CREATE, RENAME_NOREPLACE, …) is the file system's answer
      if (syscall === 'io_uring_enter' && !op) return 'SINGLE_ISSUER ring used from a thread other than its creator';
      return undefined;
    case 'EBUSY':
    case 'EAGAIN':
      if (syscall === 'io_uring_enter' && !op) return 'the completion queue is full; ringflow retries after reaping';
      return undefined;
    case 'ENOBUFS':
      return 'the provided-buffer group is empty: return buffers to it or provide more';
    default:
      return undefined;
  }
}

export interface RingErrorOptions {
  /** Operation name (opcode table name) for request errors. */
  op?: string;
  /** Extra context, e.g. the path for openat. */
  detail?: string;
  /** The request named a registered file slot (IOSQE_FIXED_FILE), not a process fd. */
  fixedFile?: boolean;
  /** Flags of the request the kernel's probe says it lacks (src/ring/kernel-probe.ts). */
  lacking?: readonly { flag: string; since: string }[];
  /** A hint that knows more than the errno's usual one (memory the caller asked to lock, a buffer group). */
  hint?: string;
}

/**
 * A kernel failure. `errno` is positive (e.g. 2), `code` its name ("ENOENT"), `syscall` what
 * failed ("io_uring_setup", "io_uring_register", or "io_uring:read" for a request's CQE).
 */
export class RingError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly op?: string;
  readonly hint?: string;

  constructor(negErrno: number, syscall: string, options: RingErrorOptions = {}) {
    const e = errnoArg('new RingError()', negErrno);
    if (typeof syscall !== 'string') throw new TypeError(`new RingError(): "syscall" must be a string, got ${describeValue(syscall)}`);
    if (options === null || typeof options !== 'object') throw new TypeError(`new RingError(): "options" must be an object, got ${describeValue(options)}`);
    const code = errnoName(e);
    const what = options.op ? `${options.op}` : syscall;
    const hint = options.hint ?? hintFor(code, syscall, options.op, options.fixedFile, options.lacking);
    const text = describe[code] ?? 'failed';
    super(`${what}: ${code} (${text})${options.detail ? ` [${options.detail}]` : ''}${hint ? `: ${hint}` : ''}`);
    this.name = 'RingError';
    this.code = code;
    this.errno = e;
    this.syscall = options.op ? `io_uring:${options.op}` : syscall;
    if (options.op) this.op = options.op;
    if (hint) this.hint = hint;
  }
}

/** Throws RingError when r < 0, else returns r. */
export function check(r: number, syscall: string, options?: RingErrorOptions): number {
  if (r < 0) throw new RingError(r, syscall, options);
  return r;
}

/** The error a closed ring raises. */
export class RingClosedError extends Error {
  readonly code = 'ERR_RING_CLOSED';
  /**
   * Did the request reach the kernel before the ring closed? false: nothing of it happened (it was
   * refused, or taken back from the SQ by close()). true: it was in flight and close() cancelled
   * it. Then `cause` is the kernel's answer when it gave one: a RingError ECANCELED says the request
   * never ran; without one, what it did is unknown.
   */
  readonly submitted: boolean;
  constructor(what = 'ring', submitted = false, cause?: RingError) {
    super(`${String(what)} is closed`, cause === undefined ? undefined : { cause });
    this.name = 'RingClosedError';
    this.submitted = submitted;
  }
}
