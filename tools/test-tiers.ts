/**
 * Which test files the QEMU guests skip (scripts/kernel-suite.sh, `run-tests --tier=kernel`).
 *
 * The guests exist to run ringflow against the kernels users have (Debian's 6.1 and 6.12), under
 * TCG, 10-40 times slower than the host. The files below test code that never reaches the kernel:
 * the eBPF interpreter, JIT, verifier and ELF loader, the SQE encoders' bytes, the native fuzz
 * targets, the toolchain, and the CLI's and bench's output. What they test does not change with the
 * kernel, and they run on the host and on every Node line of CI (scripts/test-node-lines.sh). A
 * file that opens a ring for any of its tests does not belong here.
 */
export const HOST_ONLY: Readonly<Record<string, string>> = {
  'programs/conformance.test.js': 'eBPF instruction semantics of the interpreter and the JIT (user space)',
  'programs/jit.test.js': 'the JIT against the interpreter on generated programs (user space)',
  'programs/jit-engine.test.js': 'the JIT’s engine selection (user space)',
  'programs/fuzz.test.js': 'the loader and verifier under generated input (user space)',
  'programs/isa.test.js': 'the instruction table and assembler',
  'programs/verify.test.js': 'the verifier',
  'programs/coverage.test.js': 'the conformance corpus covers every instruction',
  'programs/prebuilt.test.js': 'the committed program objects parse, verify and rebuild byte for byte (clang)',
  'security/elf.test.js': 'the ELF loader under hostile objects (user space)',
  'security/native-fuzz.test.js': 'the native fuzz targets under ASan/UBSan (stand-alone C programs)',
  'bpf-native.test.js': 'the native VM binding’s argument checks',
  'sqe-golden.test.js': 'SQE bytes of the builders',
  'sqe-golden-files.test.js': 'SQE bytes of the file builders',
  'build-fast-path.test.js': 'the builders’ fast path against the table’s encoder (SQE bytes)',
  'abi.test.js': 'struct sizes and the opcode table against 6.18’s BTF, and the generated docs',
  'tap-summary.test.js': 'the TAP summary tool',
  'bench-fs-report.test.js': 'the fs bench’s report tables',
  'cli.test.js': 'the CLI’s usage and the bench’s tables (each bench driver runs on the kernel in bench-read/bench-net)',
  'no-clang.test.js': 'the CLI and bench without clang on PATH (environment, not kernel)',
};

/** The tiers `run-tests --tier=` accepts: `all` (the default) and `kernel` (all but HOST_ONLY). */
export const TIERS = ['all', 'kernel'] as const;
export type Tier = (typeof TIERS)[number];

/** Whether `rel` (a path under dist/test, with '/') runs in `tier`. */
export function inTier(rel: string, tier: Tier): boolean {
  return tier === 'all' || !(rel in HOST_ONLY);
}
