/* ringflow/base.h: what every ringflow program header shares (no system headers: -target bpf
 * has no libc). Include one of:
 *   <ringflow/bpf.h>          ringflow's header (everything below, helpers under both prototype
 *                             names, io_uring_prep_* and the rf_* conveniences);
 *   <ringflow/liburing_bpf.h> in place of the bpf_v3 prototype's "liburing_bpf.h";
 *   <ringflow/prototype.h>    in place of the ebpf_v2 prototype's "vmlinux.h" + <bpf/bpf_helpers.h>
 *                             + <bpf/bpf_core_read.h> (its programs declare the ring helpers and
 *                             their prep functions themselves).
 * This file declares: basic and libc-like types, SEC() and attributes, maps, the kernel helpers,
 * the program context, CQE, timespec, SQE flag bits, opcodes and the constants programs use. The
 * SQE layout differs between the prototype's two trees, so each header above brings its own.
 * docs/completion-programs.md ("Prototype compatibility") says what comes from where.
 */
#ifndef RINGFLOW_BASE_H
#define RINGFLOW_BASE_H

/* ---- basic types ---------------------------------------------------------------------------- */
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
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;
/* the libc/kernel types the prototype's programs use, as clang's own <stdint.h>/<stddef.h> spell
 * them (so including those too is harmless) */
typedef __SIZE_TYPE__ size_t;
typedef long ssize_t;
typedef long off_t;
typedef long long loff_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef __INTPTR_TYPE__ intptr_t;
typedef __INT8_TYPE__ int8_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef unsigned short umode_t;
typedef int __kernel_rwf_t;
#ifndef NULL
#define NULL ((void *)0)
#endif

/* ---- sections and attributes (as libbpf's bpf_helpers.h) ------------------------------------ */
#define SEC(name) __attribute__((section(name), used))
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
/* A BTF-defined array map in one line: RF_ARRAY_MAP(name, value_type, entries) (key: __u32). */
#define RF_ARRAY_MAP(name, vtype, entries)                                                        \
  struct {                                                                                      \
    __uint(type, BPF_MAP_TYPE_ARRAY);                                                           \
    __uint(max_entries, entries);                                                               \
    __type(key, __u32);                                                                         \
    __type(value, vtype);                                                                       \
  } name SEC(".maps")

/* ---- maps ------------------------------------------------------------------------------------ */
enum bpf_map_type {
  BPF_MAP_TYPE_UNSPEC = 0,
  BPF_MAP_TYPE_HASH = 1,
  BPF_MAP_TYPE_ARRAY = 2,
  BPF_MAP_TYPE_RINGBUF = 27,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };
enum { BPF_F_NO_PREALLOC = 1U << 0, BPF_F_RDONLY_PROG = 1U << 7, BPF_F_MMAPABLE = 1U << 10 };
enum { BPF_RB_AVAIL_DATA = 0, BPF_RB_RING_SIZE = 1, BPF_RB_CONS_POS = 2, BPF_RB_PROD_POS = 3 };

/* Legacy map definition, SEC("maps") (libbpf's struct bpf_map_def). */
struct bpf_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
};

/* ---- kernel helpers (ids of include/uapi/linux/bpf.h) ------------------------------------------ */
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
static long (*bpf_copy_from_user)(void *dst, __u32 size, const void *user_ptr) = (void *)148;
static long (*bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)181;

/* bpf_printk("fmt", args...): format kept on the stack, as libbpf's macro does. */
#define bpf_printk(fmt, ...)                                       \
  ({                                                               \
    char ____fmt[] = fmt;                                          \
    bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);     \
  })

/* ---- io_uring: the 2021 prototype's program ABI ---------------------------------------------- */

/* The program context: zeroed before each run but for user_data. Set wait_nr/wait_idx and return
 * IORING_BPF_WAIT (or 0, as ebpf_v2 programs do) to run again once CQ wait_idx holds wait_nr CQEs. */
struct io_uring_bpf_ctx {
  __u64 user_data; /* user_data of the program request */
  __u32 wait_nr;   /* out: run again when CQ[wait_idx] has >= wait_nr CQEs */
  __u32 wait_idx;  /* out: which CQ to wait on */
};

/* What a program returns (bpf_v3 names): OK ends the request (with res 0) unless wait_nr is set;
 * WAIT waits as ctx asks. Any other value fails the request with -EINVAL. */
enum { IORING_BPF_OK = 0, IORING_BPF_WAIT = 1 };

struct io_uring_cqe {
  __u64 user_data;
  __s32 res;
  __u32 flags;
};
_Static_assert(sizeof(struct io_uring_cqe) == 16, "io_uring_cqe is 16 bytes");

/* Timespec of IORING_OP_TIMEOUT / LINK_TIMEOUT (must lie in a registered region). */
struct __kernel_timespec {
  __s64 tv_sec;
  __s64 tv_nsec;
};

/* Types some io_uring_prep_* take a pointer to (opaque to programs; what they point at must lie
 * in a registered region). */
struct iovec {
  void *iov_base;
  size_t iov_len;
};
struct open_how {
  __u64 flags;
  __u64 mode;
  __u64 resolve;
};
struct sockaddr;
struct msghdr;
struct statx;
struct epoll_event;

/* SQE flag bits (sqe->flags; enum of the uapi header). Programs may set IO_DRAIN, IO_LINK,
 * IO_HARDLINK, ASYNC, CQE_SKIP_SUCCESS, and FIXED_FILE for registered files the ring allows. */
enum {
  IOSQE_FIXED_FILE_BIT,
  IOSQE_IO_DRAIN_BIT,
  IOSQE_IO_LINK_BIT,
  IOSQE_IO_HARDLINK_BIT,
  IOSQE_ASYNC_BIT,
  IOSQE_BUFFER_SELECT_BIT,
  IOSQE_CQE_SKIP_SUCCESS_BIT,
};
/* Spelled as liburing spells them, token for token, so a program that defines one of them itself
 * (the prototype's examples define IOSQE_FIXED_FILE) redefines it identically. */
#define IOSQE_FIXED_FILE	(1U << IOSQE_FIXED_FILE_BIT)
#define IOSQE_IO_DRAIN		(1U << IOSQE_IO_DRAIN_BIT)
#define IOSQE_IO_LINK		(1U << IOSQE_IO_LINK_BIT)
#define IOSQE_IO_HARDLINK	(1U << IOSQE_IO_HARDLINK_BIT)
#define IOSQE_ASYNC		(1U << IOSQE_ASYNC_BIT)
#define IOSQE_BUFFER_SELECT	(1U << IOSQE_BUFFER_SELECT_BIT)
#define IOSQE_CQE_SKIP_SUCCESS	(1U << IOSQE_CQE_SKIP_SUCCESS_BIT)

/* io_uring opcodes (enum io_uring_op, Linux 6.18 numbering; 0..36 are the 2021 ones). The ops a
 * program may submit are listed in docs/completion-programs.md; test/prototype-headers.test.ts
 * checks these values against the opcode table (src/ops/table.ts). */
enum io_uring_op {
  IORING_OP_NOP = 0,
  IORING_OP_READV = 1,
  IORING_OP_WRITEV = 2,
  IORING_OP_FSYNC = 3,
  IORING_OP_READ_FIXED = 4,
  IORING_OP_WRITE_FIXED = 5,
  IORING_OP_POLL_ADD = 6,
  IORING_OP_POLL_REMOVE = 7,
  IORING_OP_SYNC_FILE_RANGE = 8,
  IORING_OP_SENDMSG = 9,
  IORING_OP_RECVMSG = 10,
  IORING_OP_TIMEOUT = 11,
  IORING_OP_TIMEOUT_REMOVE = 12,
  IORING_OP_ACCEPT = 13,
  IORING_OP_ASYNC_CANCEL = 14,
  IORING_OP_LINK_TIMEOUT = 15,
  IORING_OP_CONNECT = 16,
  IORING_OP_FALLOCATE = 17,
  IORING_OP_OPENAT = 18,
  IORING_OP_CLOSE = 19,
  IORING_OP_FILES_UPDATE = 20,
  IORING_OP_STATX = 21,
  IORING_OP_READ = 22,
  IORING_OP_WRITE = 23,
  IORING_OP_FADVISE = 24,
  IORING_OP_MADVISE = 25,
  IORING_OP_SEND = 26,
  IORING_OP_RECV = 27,
  IORING_OP_OPENAT2 = 28,
  IORING_OP_EPOLL_CTL = 29,
  IORING_OP_SPLICE = 30,
  IORING_OP_PROVIDE_BUFFERS = 31,
  IORING_OP_REMOVE_BUFFERS = 32,
  IORING_OP_TEE = 33,
  IORING_OP_SHUTDOWN = 34,
  IORING_OP_RENAMEAT = 35,
  IORING_OP_UNLINKAT = 36,
  IORING_OP_MKDIRAT = 37,
  IORING_OP_SYMLINKAT = 38,
  IORING_OP_LINKAT = 39,
  IORING_OP_MSG_RING = 40,
  IORING_OP_FSETXATTR = 41,
  IORING_OP_SETXATTR = 42,
  IORING_OP_FGETXATTR = 43,
  IORING_OP_GETXATTR = 44,
  IORING_OP_SOCKET = 45,
  IORING_OP_URING_CMD = 46,
  IORING_OP_SEND_ZC = 47,
  IORING_OP_SENDMSG_ZC = 48,
  IORING_OP_READ_MULTISHOT = 49,
  IORING_OP_WAITID = 50,
  IORING_OP_FUTEX_WAIT = 51,
  IORING_OP_FUTEX_WAKE = 52,
  IORING_OP_FUTEX_WAITV = 53,
  IORING_OP_FIXED_FD_INSTALL = 54,
  IORING_OP_FTRUNCATE = 55,
  IORING_OP_BIND = 56,
  IORING_OP_LISTEN = 57,
  IORING_OP_RECV_ZC = 58,
  IORING_OP_EPOLL_WAIT = 59,
  IORING_OP_READV_FIXED = 60,
  IORING_OP_WRITEV_FIXED = 61,
  IORING_OP_PIPE = 62,
  /* A program request (ringflow's value; the prototype's 37 is IORING_OP_MKDIRAT since 5.15):
   * sqe->off = program index, addr/len/ioprio/rw_flags 0, cq_idx = the CQ of its own CQE. */
  IORING_OP_BPF = 0xA0,
};

/* fsync_flags, timeout_flags, CQE flags */
#define IORING_FSYNC_DATASYNC	(1U << 0)
#define IORING_TIMEOUT_ABS		(1U << 0)
#define IORING_TIMEOUT_UPDATE		(1U << 1)
#define IORING_TIMEOUT_BOOTTIME		(1U << 2)
#define IORING_TIMEOUT_REALTIME		(1U << 3)
#define IORING_LINK_TIMEOUT_UPDATE	(1U << 4)
#define IORING_TIMEOUT_ETIME_SUCCESS	(1U << 5)
#define IORING_TIMEOUT_CLOCK_MASK	(IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME)
#define IORING_TIMEOUT_UPDATE_MASK	(IORING_TIMEOUT_UPDATE | IORING_LINK_TIMEOUT_UPDATE)
#define IORING_CQE_F_BUFFER		(1U << 0)
#define IORING_CQE_F_MORE		(1U << 1)
#define SPLICE_F_FD_IN_FIXED	(1U << 31)
#define IORING_POLL_ADD_MULTI	(1U << 0)
#define IORING_POLL_UPDATE_EVENTS	(1U << 1)
#define IORING_POLL_UPDATE_USER_DATA	(1U << 2)

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

/* Bytes 0..39 of struct io_uring_sqe, the same in every layout (the 2021 trees differ only in
 * bytes 40..63: ringflow/prototype.h and ringflow/liburing_bpf.h). */
#define RF_IO_URING_SQE_HEAD \
  __u8 opcode;  /* IORING_OP_* */                           \
  __u8 flags;   /* IOSQE_* */                               \
  __u16 ioprio;                                             \
  __s32 fd;                                                 \
  union {                                                   \
    __u64 off;                                              \
    __u64 addr2;                                            \
  };                                                        \
  union {                                                   \
    __u64 addr;                                             \
    __u64 splice_off_in;                                    \
  };                                                        \
  __u32 len;                                                \
  union {                                                   \
    __kernel_rwf_t rw_flags;                                \
    __u32 fsync_flags;                                      \
    __u16 poll_events;                                      \
    __u32 poll32_events;                                    \
    __u32 sync_range_flags;                                 \
    __u32 msg_flags;                                        \
    __u32 timeout_flags;                                    \
    __u32 accept_flags;                                     \
    __u32 cancel_flags;                                     \
    __u32 open_flags;                                       \
    __u32 statx_flags;                                      \
    __u32 fadvise_advice;                                   \
    __u32 splice_flags;                                     \
    __u32 rename_flags;                                     \
    __u32 unlink_flags;                                     \
    __u32 hardlink_flags;                                   \
  };                                                        \
  __u64 user_data;

#endif /* RINGFLOW_BASE_H */
