/* ringflow/bpf.h: everything a ringflow completion program needs, in one header.
 *
 *   clang -O2 -target bpf -c prog.c -o prog.o
 *
 * Programs live in sections SEC("iouring/<name>") (may call the ring helpers 165/166) or
 * SEC("iouring.s/<name>") (sleepable: also 164 submit, 167/148 user copies). Subprograms go in
 * .text (static __noinline functions). Maps are declared in SEC(".maps") with __uint/__type
 * (BTF-defined, libbpf style) or as a legacy struct bpf_map_def in SEC("maps"). Globals in
 * .data/.rodata/.bss become one-entry array maps (.rodata is read-only for programs).
 *
 * Compatible with the 2021 io_uring BPF prototype (liburing ebpf_v2 / bpf_v3 examples): swap
 * their includes for this header. Helper ids are the kernel's (include/uapi/linux/bpf.h) and the
 * prototype's (164-167). Helper table: src/programs/helpers.ts; guide: docs/programs.md.
 */
#ifndef RINGFLOW_BPF_H
#define RINGFLOW_BPF_H

/* ---- basic types (no system headers: -target bpf has no libc) ---------------------------- */
typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef signed short __s16;
typedef unsigned int __u32;
typedef signed int __s32;
typedef unsigned long long __u64;
typedef signed long long __s64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
#ifndef NULL
#define NULL ((void *)0)
#endif

/* ---- sections and attributes ----------------------------------------------------------- */
#define SEC(name) __attribute__((section(name), used))
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

/* ---- maps ------------------------------------------------------------------------------- */
enum {
  BPF_MAP_TYPE_HASH = 1,
  BPF_MAP_TYPE_ARRAY = 2,
  BPF_MAP_TYPE_RINGBUF = 27,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };
enum { BPF_F_RDONLY_PROG = 1U << 7 };
enum { BPF_RB_AVAIL_DATA = 0, BPF_RB_RING_SIZE = 1, BPF_RB_CONS_POS = 2, BPF_RB_PROD_POS = 3 };

/* Legacy map definition, SEC("maps"). */
struct bpf_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
};

/* ---- helpers (kernel ids) ---------------------------------------------------------------- */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;
static __u32 (*bpf_get_prandom_u32)(void) = (void *)7;
static __u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *)131;
static void (*bpf_ringbuf_submit)(void *data, __u64 flags) = (void *)132;
static void (*bpf_ringbuf_discard)(void *data, __u64 flags) = (void *)133;
static __u64 (*bpf_ringbuf_query)(void *ringbuf, __u64 flags) = (void *)134;
static long (*bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)181;
static long (*bpf_copy_from_user)(void *dst, __u32 size, const void *user_ptr) = (void *)148;

/* bpf_printk("fmt", args...): format kept on the stack, as libbpf's macro does. */
#define bpf_printk(fmt, ...)                                       \
  ({                                                               \
    char ____fmt[] = fmt;                                          \
    bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);     \
  })

/* ---- io_uring (2021 prototype ABI) --------------------------------------------------------- */

/* The program context: zeroed before each run. Set wait_nr/wait_idx to be run again once CQ
 * wait_idx holds wait_nr CQEs. */
struct io_uring_bpf_ctx {
  __u64 user_data; /* user_data of the BPF request */
  __u32 wait_nr;   /* out: re-run when CQ[wait_idx] has >= wait_nr CQEs */
  __u32 wait_idx;  /* out: which CQ to wait on */
};

/* The 64-byte submission queue entry, with the prototype's cq_idx at byte 48. */
struct io_uring_sqe {
  __u8 opcode;
  __u8 flags;
  __u16 ioprio;
  __s32 fd;
  union {
    __u64 off;
    __u64 addr2;
  };
  union {
    __u64 addr;
    __u64 splice_off_in;
  };
  __u32 len;
  union {
    __u32 rw_flags;
    __u32 fsync_flags;
    __u16 poll_events;
    __u32 poll32_events;
    __u32 sync_range_flags;
    __u32 msg_flags;
    __u32 timeout_flags;
    __u32 accept_flags;
    __u32 cancel_flags;
    __u32 open_flags;
    __u32 statx_flags;
    __u32 fadvise_advice;
    __u32 splice_flags;
    __u32 rename_flags;
    __u32 unlink_flags;
  };
  __u64 user_data;
  union {
    __u16 buf_index;
    __u16 buf_group;
  } __attribute__((packed));
  __u16 personality;
  union {
    __s32 splice_fd_in;
    __u32 file_index;
  };
  __u16 cq_idx; /* prototype: completion queue for this request (0 = main CQ) */
  __u16 __pad1;
  __u32 __pad2;
  __u64 __pad3;
};
_Static_assert(sizeof(struct io_uring_sqe) == 64, "io_uring_sqe is 64 bytes");
_Static_assert(__builtin_offsetof(struct io_uring_sqe, cq_idx) == 48, "cq_idx at byte 48");

struct io_uring_cqe {
  __u64 user_data;
  __s32 res;
  __u32 flags;
};
_Static_assert(sizeof(struct io_uring_cqe) == 16, "io_uring_cqe is 16 bytes");

/* Return values (bpf_v3 names). */
#define IORING_BPF_OK 0
#define IORING_BPF_WAIT 1

/* Prototype helpers: ebpf_v2 names and bpf_v3 names for the same ids. */
static long (*iouring_queue_sqe)(void *ctx, struct io_uring_sqe *sqe, __u32 len) = (void *)164;
static long (*iouring_emit_cqe)(void *ctx, __u32 cq, __u64 data, __s32 res, __u32 flags) = (void *)165;
static long (*iouring_reap_cqe)(void *ctx, __u32 cq, struct io_uring_cqe *cqe, __u32 len) = (void *)166;
static long (*bpf_copy_to_user)(void *user_ptr, const void *src, __u32 size) = (void *)167;
#define bpf_io_uring_submit iouring_queue_sqe
#define bpf_io_uring_emit_cqe iouring_emit_cqe
#define bpf_io_uring_reap_cqe iouring_reap_cqe

/* io_uring opcodes a program commonly builds (kernel numbering). */
enum {
  IORING_OP_NOP = 0,
  IORING_OP_READV = 1,
  IORING_OP_WRITEV = 2,
  IORING_OP_FSYNC = 3,
  IORING_OP_TIMEOUT = 11,
  IORING_OP_ACCEPT = 13,
  IORING_OP_OPENAT = 18,
  IORING_OP_CLOSE = 19,
  IORING_OP_READ = 22,
  IORING_OP_WRITE = 23,
  IORING_OP_SEND = 26,
  IORING_OP_RECV = 27,
};

#endif /* RINGFLOW_BPF_H */
