/* ringflow/bpf.h: everything a ringflow completion program needs, in one header.
 *
 *   clang -O2 -target bpf -c prog.c -o prog.o
 *
 * Programs live in sections SEC("iouring/<name>") (may call the ring helpers 165/166) or
 * SEC("iouring.s/<name>") (sleepable: also 164/1000 submit, 167/148 user copies). Subprograms go in
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
/* A BTF-defined array map in one line: RF_ARRAY_MAP(name, value_type, entries) (key: __u32). */
#define RF_ARRAY_MAP(name, vtype, entries)                                                        \
  struct {                                                                                      \
    __uint(type, BPF_MAP_TYPE_ARRAY);                                                           \
    __uint(max_entries, entries);                                                               \
    __type(key, __u32);                                                                         \
    __type(value, vtype);                                                                       \
  } name SEC(".maps")
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

/* Modern helper (ringflow): like 164 but the CQ is an argument and bytes 48..63 of the SQE
 * (addr3 and friends) go to the kernel untouched. 1 accepted, 0 rejected (error CQE posted). */
static long (*rf_io_uring_submit_cq)(void *ctx, struct io_uring_sqe *sqe, __u32 len, __u32 cq) = (void *)1000;

/* io_uring opcodes (Linux 6.18 numbering). Programs may submit NOP, READV, WRITEV, FSYNC,
 * TIMEOUT, TIMEOUT_REMOVE, LINK_TIMEOUT, ASYNC_CANCEL, OPENAT, CLOSE, STATX, READ, WRITE and
 * IORING_OP_BPF (docs/completion-programs.md); the others are listed for reference. */
enum {
  IORING_OP_NOP = 0,
  IORING_OP_READV = 1,
  IORING_OP_WRITEV = 2,
  IORING_OP_FSYNC = 3,
  IORING_OP_TIMEOUT = 11,
  IORING_OP_TIMEOUT_REMOVE = 12,
  IORING_OP_ACCEPT = 13,
  IORING_OP_ASYNC_CANCEL = 14,
  IORING_OP_LINK_TIMEOUT = 15,
  IORING_OP_OPENAT = 18,
  IORING_OP_CLOSE = 19,
  IORING_OP_STATX = 21,
  IORING_OP_READ = 22,
  IORING_OP_WRITE = 23,
  IORING_OP_SEND = 26,
  IORING_OP_RECV = 27,
};

/* A program request (ringflow's value; the prototype's 37 is IORING_OP_MKDIRAT on 6.18):
 * sqe->off = program index, addr/len/ioprio/rw_flags 0, cq_idx = the CQ of its own CQE. */
#define IORING_OP_BPF 0xA0

/* SQE flags (sqe->flags). FIXED_FILE and BUFFER_SELECT are refused in program SQEs. */
#define IOSQE_FIXED_FILE (1U << 0)
#define IOSQE_IO_DRAIN (1U << 1)
#define IOSQE_IO_LINK (1U << 2)
#define IOSQE_IO_HARDLINK (1U << 3)
#define IOSQE_ASYNC (1U << 4)
#define IOSQE_BUFFER_SELECT (1U << 5)
#define IOSQE_CQE_SKIP_SUCCESS (1U << 6)

/* fsync_flags, timeout_flags. */
#define IORING_FSYNC_DATASYNC (1U << 0)
#define IORING_TIMEOUT_ABS (1U << 0)

/* open(2) flags (x86_64 / generic values) and the *at() directory fd. */
#ifndef O_RDONLY
#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOCTTY 0400
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DSYNC 010000
#define O_DIRECT 040000
#define O_LARGEFILE 0100000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#endif
#ifndef AT_FDCWD
#define AT_FDCWD -100
#endif

/* Timespec of IORING_OP_TIMEOUT / LINK_TIMEOUT (must lie in a registered region). */
struct __kernel_timespec {
  __s64 tv_sec;
  __s64 tv_nsec;
};

/* errno values programs compare CQE results with (Linux, negated in res). */
#define RF_EPERM 1
#define RF_ENOENT 2
#define RF_EBADF 9
#define RF_EAGAIN 11
#define RF_ENOMEM 12
#define RF_EFAULT 14
#define RF_EBUSY 16
#define RF_EINVAL 22
#define RF_ETIME 62
#define RF_ECANCELED 125

/* ---- SQE preparation (liburing's io_uring_prep_* over one primitive) ----------------------- */

/* Zeroes the SQE and fills the common fields (liburing io_uring_prep_rw). */
static __always_inline void rf_prep_rw(struct io_uring_sqe *sqe, __u8 op, int fd, __u64 addr, __u32 len, __u64 off) {
  __builtin_memset(sqe, 0, sizeof(*sqe));
  sqe->opcode = op;
  sqe->fd = fd;
  sqe->addr = addr;
  sqe->len = len;
  sqe->off = off;
}
static __always_inline void rf_prep_nop(struct io_uring_sqe *sqe) {
  rf_prep_rw(sqe, IORING_OP_NOP, -1, 0, 0, 0);
}
static __always_inline void rf_prep_read(struct io_uring_sqe *sqe, int fd, __u64 buf, __u32 nbytes, __u64 offset) {
  rf_prep_rw(sqe, IORING_OP_READ, fd, buf, nbytes, offset);
}
static __always_inline void rf_prep_write(struct io_uring_sqe *sqe, int fd, __u64 buf, __u32 nbytes, __u64 offset) {
  rf_prep_rw(sqe, IORING_OP_WRITE, fd, buf, nbytes, offset);
}
static __always_inline void rf_prep_fsync(struct io_uring_sqe *sqe, int fd, __u32 fsync_flags) {
  rf_prep_rw(sqe, IORING_OP_FSYNC, fd, 0, 0, 0);
  sqe->fsync_flags = fsync_flags;
}
/* path: address of a NUL-terminated string inside a registered region. */
static __always_inline void rf_prep_openat(struct io_uring_sqe *sqe, int dfd, __u64 path, __u32 flags, __u32 mode) {
  rf_prep_rw(sqe, IORING_OP_OPENAT, dfd, path, mode, 0);
  sqe->open_flags = flags;
}
static __always_inline void rf_prep_close(struct io_uring_sqe *sqe, int fd) {
  rf_prep_rw(sqe, IORING_OP_CLOSE, fd, 0, 0, 0);
}
/* ts: address of a struct __kernel_timespec inside a registered region. */
static __always_inline void rf_prep_timeout(struct io_uring_sqe *sqe, __u64 ts, __u32 count, __u32 flags) {
  rf_prep_rw(sqe, IORING_OP_TIMEOUT, -1, ts, 1, count);
  sqe->timeout_flags = flags;
}
/* A program request: runs program `idx` of the ring's table; its own CQE goes to CQ cq. */
static __always_inline void rf_prep_bpf(struct io_uring_sqe *sqe, __u32 idx, __u16 cq) {
  rf_prep_rw(sqe, IORING_OP_BPF, -1, 0, 0, idx);
  sqe->cq_idx = cq;
}

/* ---- one step of a dependent chain ------------------------------------------------------ */

/* Queues sqe (user_data = tag) with its CQE going to CQ cq, and asks to run again once that CQE is
 * there: accepted or refused by the policy, a CQE with `tag` arrives on cq. Returns the submit
 * helper's result; below 0 (the ring is closing) nothing was queued and no wait is set. */
static __always_inline long rf_submit_and_wait(struct io_uring_bpf_ctx *ctx, struct io_uring_sqe *sqe, __u16 cq, __u64 tag) {
  sqe->user_data = tag;
  sqe->cq_idx = cq;
  long r = iouring_queue_sqe(ctx, sqe, sizeof(*sqe));
  if (r < 0)
    return r;
  ctx->wait_idx = cq;
  ctx->wait_nr = 1;
  return r;
}

#endif /* RINGFLOW_BPF_H */
