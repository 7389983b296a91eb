/**
 * Contract between the native eBPF engine (native/bpf/*.c) and the TypeScript side (src/programs).
 * Native functions never throw: they return a handle, or a number (>= 0 ok, -errno or a status code).
 * Both sides keep to these names and meanings; extend by adding, never by changing.
 */
import { binding } from '../native.js';

/** Opaque native program (napi external). Freed by GC; holds references to its maps. */
export type ProgHandle = { readonly __brand: 'BpfProg' };
/** Opaque native map (napi external). Freed when GC'd and no program references it. */
export type MapHandle = { readonly __brand: 'BpfMap' };

/** Map types, kernel numbering (include/uapi/linux/bpf.h, enum bpf_map_type). */
export const MapType = { Hash: 1, Array: 2, RingBuf: 27 } as const;

/** Map flags we honour (kernel values). */
export const MapFlags = {
  /** BPF_F_RDONLY_PROG: programs may read but not write values (.rodata). */
  RdonlyProg: 1 << 7,
} as const;

/** Helper sets a program can be created with. */
export const HelperSet = {
  /** Kernel helper ids: map ops, ktime, prandom, trace, ringbuf, bpf_loop. */
  Standard: 0,
  /** bpf_conformance plug-in helpers (helper 5 = unwind). */
  Conformance: 1,
  /** Standard + io_uring prototype helpers (164-167, 148); wired by the ring (issue 4). */
  Ring: 2,
} as const;

/** bpfProgCreate flag or-ed into the helper set: interpret, do not compile (native/bpf/napi_bpf.c). */
export const PROG_NO_JIT = 0x100;

/** Status returned by bpfProgRun. */
export const RunStatus = {
  Ok: 0,
  /** The instruction budget ran out (live-lock protection). */
  Budget: 1,
  /** A load/store/helper pointer outside the regions the run was given. out[3] = address. */
  MemFault: 2,
  /** BPF-to-BPF call depth exceeded. */
  CallDepth: 3,
  /** An instruction the native re-check rejects at run time (should not happen after create). */
  BadInsn: 4,
  /** Unknown helper id for this helper set, or a helper refused its arguments fatally. */
  Helper: 5,
} as const;

/** Reasons bpfProgCreate rejects a program (native re-check; the TS verifier gives richer messages). */
export const CreateReject = {
  Empty: 1,
  TooLong: 2,
  BadOpcode: 3,
  BadRegister: 4,
  JumpOutOfRange: 5,
  JumpIntoLdImm64: 6,
  BadLdImm64: 7,
  BadMapIndex: 8,
  BadCallTarget: 9,
  UnknownHelper: 10,
  WriteToR10: 11,
} as const;

export interface BpfBinding {
  /** Creates a map. type: MapType; flags: MapFlags. Returns handle or -errno (-EINVAL, -E2BIG, -ENOMEM). */
  bpfMapCreate(type: number, keySize: number, valueSize: number, maxEntries: number, flags: number): MapHandle | number;
  /** Array map: its value storage as an ArrayBuffer (zero-copy; element stride = valueSize rounded up to 8). -EINVAL for other types. */
  bpfMapMemory(map: MapHandle): ArrayBuffer | number;
  /** Copies the value for key into value. 0, -ENOENT, -EINVAL. */
  bpfMapLookup(map: MapHandle, key: Uint8Array, value: Uint8Array): number;
  /** flags: 0 BPF_ANY, 1 BPF_NOEXIST, 2 BPF_EXIST. 0, -EEXIST, -ENOENT, -E2BIG (full), -EINVAL. */
  bpfMapUpdate(map: MapHandle, key: Uint8Array, value: Uint8Array, flags: number): number;
  /** 0, -ENOENT, -EINVAL (array maps cannot delete). */
  bpfMapDelete(map: MapHandle, key: Uint8Array): number;
  /** Writes the key after `key` (first key when null) into next. 0, -ENOENT at the end. */
  bpfMapNextKey(map: MapHandle, key: Uint8Array | null, next: Uint8Array): number;
  /** Ring buffer map: copies the oldest committed record into dst and consumes it.
   *  Returns its length, 0 when empty, -ENOSPC (record kept) when dst is too small. */
  bpfRingbufRead(map: MapHandle, dst: Uint8Array): number;
  /**
   * Creates a program from n*8 bytes of instructions (copied). maps[i] is what ld_imm64 with
   * src 1/5 (map) and 2/6 (map value) and imm = i refers to. The native side re-checks structure
   * (opcodes, registers, jumps, ld_imm64 pairs, map indexes, helper ids for helperSet, calls).
   * On rejection returns a negative CreateReject code and sets out[0] = pc.
   */
  bpfProgCreate(insns: Uint8Array, maps: MapHandle[], helperSet: number, out: Int32Array): ProgHandle | number;
  /**
   * Runs the program with r1 = address of mem (0 if null), r2 = mem.byteLength. mem is a writable
   * region for the run, as are the stack frames and map values. Returns a RunStatus;
   * out[0] = r0, out[1] = instructions executed, out[2] = pc of the fault, out[3] = faulting address.
   */
  /** compare: also run interpreted and report it in out[4..9] (native/bpf/napi_bpf.c ProgRun). */
  bpfProgRun(prog: ProgHandle, mem: Uint8Array | null, budget: number, out: BigUint64Array, compare?: boolean): number;
  /** Drains pending trace output (bpf_trace_printk) into dst; returns bytes written (0 if none). */
  bpfTraceRead(dst: Uint8Array): number;
}

export const bpf: BpfBinding = binding as BpfBinding;
