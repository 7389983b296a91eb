/**
 * Helpers of the attack tests (test/security/attack-*.test.ts): an SQE builder that also sets the
 * IOSQE flags byte, on top of asm-programs.ts.
 */
import { submitAsm, type SqeFields } from './asm-programs.js';
import { CPU_TIME_SCALE } from '../helpers.js';

export const IOSQE = { FIXED: 1, DRAIN: 2, LINK: 4, HARDLINK: 8, ASYNC: 16, BUFSEL: 32, SKIP: 64 } as const;
export const OP = { NOP: 0, TIMEOUT: 11, TIMEOUT_REMOVE: 12, ASYNC_CANCEL: 14, LINK_TIMEOUT: 15, READ: 22, WRITE: 23, BPF: 0xa0 } as const;

/** submitAsm with the flags byte (byte 1) set before the submit call. */
export function submitFlagsAsm(f: SqeFields & { flags?: number }): string {
  const text = submitAsm(f);
  if (!f.flags) return text;
  // the SQE is built at [r10-64, r10): byte 1 is [r10-63]
  return text.replace('mov %r1, %r6', `stb [%r10-63], ${f.flags}\nmov %r1, %r6`);
}

/** A promise that settles within ms (× CPU_TIME_SCALE: a TCG guest is 10-40 times slower), or says it did not. */
export async function within<T>(p: Promise<T>, ms: number): Promise<{ settled: boolean; value?: T }> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<{ settled: boolean }>((r) => { timer = setTimeout(() => r({ settled: false }), ms * CPU_TIME_SCALE); });
  try {
    return await Promise.race([p.then((value) => ({ settled: true, value })), t]);
  } finally {
    clearTimeout(timer);
  }
}
