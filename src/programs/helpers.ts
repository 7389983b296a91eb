/**
 * The helper table: every helper a program may call, with its kernel id, argument kinds and the
 * program kinds allowed to call it. The verifier, docs and include/ringflow/bpf.h agree with it.
 */
import { HelperSet, MapType } from './binding.js';

/**
 * Program kinds. `iouring` and `iouring.s` come from the ELF section, as in the 2021 prototype:
 * SEC("iouring/...") is `iouring` (emit and reap CQEs); SEC("iouring.s/...") is `iouring.s`
 * (sleepable: also the helpers that submit SQEs and copy user memory). The bpf_v3 prototype's
 * plain SEC("iouring") had every helper, so it is `iouring.s` too (elf.ts kindOfSection). `standard`
 * has the kernel helpers only; `conformance` is the bpf_conformance plug-in.
 */
export type ProgramKind = 'standard' | 'conformance' | 'iouring' | 'iouring.s';

/** The native helper set each kind runs with. */
export const HELPER_SET: Readonly<Record<ProgramKind, number>> = {
  standard: HelperSet.Standard,
  conformance: HelperSet.Conformance,
  iouring: HelperSet.Ring,
  'iouring.s': HelperSet.Ring,
};

/**
 * Argument kinds: what the verifier requires in each argument register (verify-calls.ts). Kinds
 * the helper reads as numbers refuse addresses (kernel: "leaks addr into helper function"), and
 * memory a helper reads must not hold a spilled address: what a helper sees can reach JS.
 */
export type ArgKind =
  /** Any value, an address included: the helper never looks at it, it only hands it to program code (a callback's r2). */
  | 'opaque'
  /** A number (flags, CQ indexes, user data, user-memory addresses): never an address the program holds. */
  | 'scalar'
  /** A map reference (lddw map_by_idx/map_by_fd); `types` restricts the map type. */
  | 'map'
  /** Pointer to the map's key_size bytes (map from arg 1), which the helper reads. */
  | 'key'
  /** Pointer to the map's value_size bytes (map from arg 1), which the helper reads. */
  | 'value'
  /** Pointer to memory the helper reads, of the size in argument `sizeArg` (1-based). */
  | 'mem'
  /** Pointer to memory the helper writes (numbers only), of the size in argument `sizeArg`; see `fills`. */
  | 'uninit_mem'
  /** Size of the preceding `mem` or `uninit_mem` argument: a number. */
  | 'size'
  /** The program context (r1 at entry). */
  | 'ctx'
  /** A code address (lddw code_addr / a static function): a callback, verified as called from here. */
  | 'func'
  /** A record pointer returned by bpf_ringbuf_reserve. */
  | 'ringbuf_mem';

/** One helper argument. */
export interface HelperArg {
  readonly name: string;
  readonly kind: ArgKind;
  /** For 'mem' and 'uninit_mem': 1-based index of the argument holding its size. */
  readonly sizeArg?: number;
  /** For 'map': allowed map types. */
  readonly types?: readonly number[];
  /**
   * For 'uninit_mem': the helper writes all `size` bytes whenever it returns. Without it, bytes it
   * may leave untouched keep what they held (in a called frame, possibly what an earlier call left).
   */
  readonly fills?: boolean;
  /**
   * For variadic arguments: the argument (1-based) holding a printf-style format. This argument
   * is read, and so must be a number, only when the format has a conversion for it; when the
   * format is not known to the verifier (not constant bytes on the stack), always.
   */
  readonly formatArg?: number;
  /** For 'func': the callback is called with r1 = a number (the iteration) and r2 = this argument (1-based). */
  readonly callbackCtx?: number;
}

/** What r0 holds after the call. */
export type HelperReturn = 'scalar' | 'map_value_or_null' | 'ringbuf_mem_or_null' | 'void';

/** One helper. */
export interface HelperSpec {
  readonly id: number;
  /** Kernel / prototype name. */
  readonly name: string;
  /** Other names the same id has (prototype renames). */
  readonly aliases: readonly string[];
  /**
   * Other ids the same helper had in another numbering: the bpf_v3 prototype kernel appended its
   * helpers after those of its base kernel (docs/completion-programs.md, "Prototype compatibility").
   * A call by such an id is the same helper, for the kinds allowed to call it.
   */
  readonly altIds?: readonly number[];
  readonly args: readonly HelperArg[];
  readonly ret: HelperReturn;
  /** Program kinds allowed to call it. */
  readonly kinds: readonly ProgramKind[];
  /** C prototype for include/ringflow/bpf.h and docs. */
  readonly proto: string;
  readonly doc: string;
}

const KERNEL: ProgramKind[] = ['standard', 'iouring', 'iouring.s'];
const RING: ProgramKind[] = ['iouring', 'iouring.s'];
const SLEEPABLE: ProgramKind[] = ['iouring.s'];
const DATA_MAPS = [MapType.Hash, MapType.Array];
const RINGBUF = [MapType.RingBuf];
const a = (name: string, kind: ArgKind, extra: Partial<HelperArg> = {}): HelperArg => ({ name, kind, ...extra });

/** Every helper, by id. */
export const HELPERS: readonly HelperSpec[] = [
  { id: 1, name: 'bpf_map_lookup_elem', aliases: [], args: [a('map', 'map', { types: DATA_MAPS }), a('key', 'key')], ret: 'map_value_or_null', kinds: KERNEL, proto: 'void *(void *map, const void *key)', doc: 'Pointer to the value for key, or NULL.' },
  { id: 2, name: 'bpf_map_update_elem', aliases: [], args: [a('map', 'map', { types: DATA_MAPS }), a('key', 'key'), a('value', 'value'), a('flags', 'scalar')], ret: 'scalar', kinds: KERNEL, proto: 'long (void *map, const void *key, const void *value, __u64 flags)', doc: 'Creates or updates an element (flags BPF_ANY, BPF_NOEXIST, BPF_EXIST); 0 or -errno.' },
  { id: 3, name: 'bpf_map_delete_elem', aliases: [], args: [a('map', 'map', { types: DATA_MAPS }), a('key', 'key')], ret: 'scalar', kinds: KERNEL, proto: 'long (void *map, const void *key)', doc: 'Deletes an element (hash maps); 0 or -errno.' },
  { id: 5, name: 'bpf_ktime_get_ns', aliases: [], args: [], ret: 'scalar', kinds: KERNEL, proto: '__u64 (void)', doc: 'Monotonic time in nanoseconds.' },
  { id: 5, name: 'unwind', aliases: [], args: [a('value', 'scalar')], ret: 'scalar', kinds: ['conformance'], proto: '__u64 (__u64 value)', doc: 'bpf_conformance: ends the program with r0 = value when value is 0, else returns it.' },
  { id: 6, name: 'bpf_trace_printk', aliases: [], args: [a('fmt', 'mem', { sizeArg: 2 }), a('fmt_size', 'size'), a('arg1', 'scalar', { formatArg: 1 }), a('arg2', 'scalar', { formatArg: 1 }), a('arg3', 'scalar', { formatArg: 1 })], ret: 'scalar', kinds: KERNEL, proto: 'long (const char *fmt, __u32 fmt_size, ...)', doc: 'Formats up to three arguments (%d %i %u %x %ld %lu %lx %lld %llu %llx %p %s %c %%) into the trace buffer (read it with readTrace()).' },
  { id: 7, name: 'bpf_get_prandom_u32', aliases: [], args: [], ret: 'scalar', kinds: KERNEL, proto: '__u32 (void)', doc: 'Pseudo-random 32-bit number.' },
  { id: 8, name: 'bpf_get_smp_processor_id', aliases: [], args: [], ret: 'scalar', kinds: KERNEL, proto: '__u32 (void)', doc: 'Id of the CPU running the program.' },
  { id: 130, name: 'bpf_ringbuf_output', aliases: [], args: [a('ringbuf', 'map', { types: RINGBUF }), a('data', 'mem', { sizeArg: 3 }), a('size', 'size'), a('flags', 'scalar')], ret: 'scalar', kinds: KERNEL, proto: 'long (void *ringbuf, void *data, __u64 size, __u64 flags)', doc: 'Copies size bytes into a new ring buffer record; 0 or -errno.' },
  { id: 131, name: 'bpf_ringbuf_reserve', aliases: [], args: [a('ringbuf', 'map', { types: RINGBUF }), a('size', 'scalar'), a('flags', 'scalar')], ret: 'ringbuf_mem_or_null', kinds: KERNEL, proto: 'void *(void *ringbuf, __u64 size, __u64 flags)', doc: 'Reserves a record; NULL when full.' },
  { id: 132, name: 'bpf_ringbuf_submit', aliases: [], args: [a('data', 'ringbuf_mem'), a('flags', 'scalar')], ret: 'void', kinds: KERNEL, proto: 'void (void *data, __u64 flags)', doc: 'Commits a reserved record.' },
  { id: 133, name: 'bpf_ringbuf_discard', aliases: [], args: [a('data', 'ringbuf_mem'), a('flags', 'scalar')], ret: 'void', kinds: KERNEL, proto: 'void (void *data, __u64 flags)', doc: 'Drops a reserved record.' },
  { id: 134, name: 'bpf_ringbuf_query', aliases: [], args: [a('ringbuf', 'map', { types: RINGBUF }), a('flags', 'scalar')], ret: 'scalar', kinds: KERNEL, proto: '__u64 (void *ringbuf, __u64 flags)', doc: 'Ring buffer state (BPF_RB_AVAIL_DATA 0, BPF_RB_RING_SIZE 1, BPF_RB_CONS_POS 2, BPF_RB_PROD_POS 3).' },
  { id: 181, name: 'bpf_loop', aliases: [], args: [a('nr_loops', 'scalar'), a('callback_fn', 'func', { callbackCtx: 3 }), a('callback_ctx', 'opaque'), a('flags', 'scalar')], ret: 'scalar', kinds: KERNEL, proto: 'long (__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags)', doc: 'Calls callback_fn(index, callback_ctx) up to nr_loops (<= 1<<23) times, stopping when it returns 1; returns the number of calls.' },
  { id: 164, name: 'iouring_queue_sqe', aliases: ['bpf_io_uring_submit'], altIds: [170], args: [a('ctx', 'ctx'), a('sqe', 'mem', { sizeArg: 3 }), a('len', 'size')], ret: 'scalar', kinds: SLEEPABLE, proto: 'long (void *ctx, struct io_uring_sqe *sqe, __u32 len)', doc: 'Submits a copy of the SQE (len must be 64); 1 accepted, 0 rejected (failure CQE posted), -errno.' },
  { id: 165, name: 'iouring_emit_cqe', aliases: ['bpf_io_uring_emit_cqe'], altIds: [171], args: [a('ctx', 'ctx'), a('cq', 'scalar'), a('data', 'scalar'), a('res', 'scalar'), a('flags', 'scalar')], ret: 'scalar', kinds: RING, proto: 'long (void *ctx, __u32 cq, __u64 data, __s32 res, __u32 flags)', doc: 'Posts a CQE to CQ cq; 0, -EINVAL (bad cq), -ENOMEM (extra CQ full).' },
  { id: 166, name: 'iouring_reap_cqe', aliases: ['bpf_io_uring_reap_cqe'], altIds: [172], args: [a('ctx', 'ctx'), a('cq', 'scalar'), a('out', 'uninit_mem', { sizeArg: 4, fills: true }), a('len', 'size')], ret: 'scalar', kinds: RING, proto: 'long (void *ctx, __u32 cq, struct io_uring_cqe *out, __u32 len)', doc: 'Pops the head CQE of CQ cq into out (zeroed on error); 0, -ENOENT (empty), -EINVAL.' },
  { id: 1000, name: 'rf_io_uring_submit_cq', aliases: [], args: [a('ctx', 'ctx'), a('sqe', 'mem', { sizeArg: 3 }), a('len', 'size'), a('cq', 'scalar')], ret: 'scalar', kinds: SLEEPABLE, proto: 'long (void *ctx, struct io_uring_sqe *sqe, __u32 len, __u32 cq)', doc: 'ringflow: like 164 but the CQ is an argument and bytes 48..63 of the SQE go to the kernel untouched (for opcodes using addr3); 1 accepted, 0 rejected (failure CQE posted), -errno.' },
  { id: 1001, name: 'rf_buf_return', aliases: [], args: [a('ctx', 'ctx'), a('group', 'scalar'), a('bid', 'scalar')], ret: 'scalar', kinds: RING, proto: 'long (void *ctx, __u32 group, __u32 bid)', doc: 'ringflow: gives provided buffer bid back to granted group `group` (ring.allowBufferGroup); the engine writes the ring entry. 0, -ENOENT (group not granted), -EINVAL (no such buffer), -EPERM (programs do not hold it: the kernel\'s, JS\'s, or given back already), -EBUSY (a live program request still uses it).' },
  { id: 1002, name: 'rf_buf_read', aliases: [], args: [a('dst', 'uninit_mem', { sizeArg: 2, fills: true }), a('size', 'size'), a('group', 'scalar'), a('bid', 'scalar'), a('offset', 'scalar')], ret: 'scalar', kinds: RING, proto: 'long (void *dst, __u32 size, __u32 group, __u32 bid, __u32 offset)', doc: 'ringflow: copies size bytes from offset of provided buffer bid of granted group `group`, which programs hold (or, incremental groups, the pieces the kernel handed to programs so far). 0, or dst zeroed and -ENOENT / -EINVAL / -EPERM (not held by programs) / -EFAULT (past what they may read).' },
  { id: 167, name: 'bpf_copy_to_user', aliases: [], altIds: [169], args: [a('uptr', 'scalar'), a('src', 'mem', { sizeArg: 3 }), a('size', 'size')], ret: 'scalar', kinds: SLEEPABLE, proto: 'long (void *uptr, const void *src, __u32 size)', doc: 'Copies size bytes to user memory; 0 or -EFAULT.' },
  { id: 148, name: 'bpf_copy_from_user', aliases: [], args: [a('dst', 'uninit_mem', { sizeArg: 2, fills: true }), a('size', 'size'), a('uptr', 'scalar')], ret: 'scalar', kinds: SLEEPABLE, proto: 'long (void *dst, __u32 size, const void *uptr)', doc: 'Copies size bytes from user memory; 0 or -EFAULT (dst zeroed).' },
];

/**
 * The instructions with every helper call by an alternative id (HelperSpec.altIds) rewritten to
 * the helper's own id, for the kinds allowed to call it; other calls are left as they are (the
 * verifier names what it refuses). Returns `insns` itself when nothing changes.
 */
export function canonicalHelperIds(insns: Uint8Array, kind: ProgramKind): Uint8Array {
  let out = insns;
  const view = () => new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let pc = 0; pc + 8 <= insns.length; pc += 8) {
    // BPF_JMP | BPF_CALL with src_reg 0: a helper call by id in imm
    if (insns[pc] !== 0x85 || insns[pc + 1]! >> 4 !== 0) continue;
    const imm = new DataView(insns.buffer, insns.byteOffset + pc + 4, 4).getInt32(0, true);
    const h = HELPERS.find((x) => x.altIds?.includes(imm) && x.kinds.includes(kind));
    if (!h) continue;
    if (out === insns) out = insns.slice();
    view().setInt32(pc + 4, h.id, true);
  }
  return out;
}

/** The helper a kind may call under id, or undefined. */
export function helperFor(id: number, kind: ProgramKind): HelperSpec | undefined {
  return HELPERS.find((h) => h.id === id && h.kinds.includes(kind));
}

/** Any helper with this id (for messages naming a helper the kind may not call). */
export function helperById(id: number): HelperSpec | undefined {
  return HELPERS.find((h) => h.id === id) ?? HELPERS.find((h) => h.altIds?.includes(id));
}
