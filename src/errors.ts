/**
 * RingError: the one error class for kernel failures. Native code hands back -errno; this file
 * turns it into { code, errno, syscall, op } with a hint that says what to do about it.
 */
import { constants as osConstants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** errno number → symbolic name ("ENOENT"); "E<n>" when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

/** Numeric errno for a name, e.g. errno('ECANCELED') → 125. */
export function errno(name: keyof typeof osConstants.errno): number {
  return osConstants.errno[name];
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
  ENXIO: 'no such device or address',
  E2BIG: 'argument list too long',
  ENAMETOOLONG: 'file name too long',
};

function hintFor(code: string, syscall: string, op?: string): string | undefined {
  switch (code) {
    case 'ENOMEM':
      if (syscall === 'io_uring_setup' || syscall === 'io_uring_register')
        return 'io_uring ring memory and registered buffers count against RLIMIT_MEMLOCK on 6.x kernels: raise it (ulimit -l, LimitMEMLOCK= in systemd, --ulimit memlock in docker) or use fewer/smaller rings';
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
    case 'EBADF':
      return 'the file descriptor is not open (closed already, or never valid)';
    case 'ECANCELED':
      return op ? `the ${op} request was cancelled (a linked request failed, an AbortSignal fired, or the ring closed)` : undefined;
    case 'ETIME':
      return 'the timeout expired';
    case 'EEXIST':
      if (syscall === 'io_uring_enter') return 'SINGLE_ISSUER ring used from a thread other than its creator';
      return undefined;
    case 'EBUSY':
    case 'EAGAIN':
      if (syscall === 'io_uring_enter') return 'the completion queue is full; ringflow retries after reaping';
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
    const e = Math.abs(negErrno);
    const code = errnoName(e);
    const what = options.op ? `${options.op}` : syscall;
    const hint = hintFor(code, syscall, options.op);
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
  constructor(what = 'ring') {
    super(`${what} is closed`);
    this.name = 'RingClosedError';
  }
}
