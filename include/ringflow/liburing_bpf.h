/* ringflow/liburing_bpf.h: for programs written for the bpf_v3 tree of the 2021 io_uring BPF
 * prototype (isilence/liburing branch bpf_v3, examples/bpf). Replace their
 *     #include "liburing_bpf.h"
 * with
 *     #include <ringflow/liburing_bpf.h>
 * and nothing else. What that header gave them (through vmlinux.h, <bpf/bpf_helpers.h> and its own
 * text), written for ringflow: the 2021 types, the bpf_v3 SQE layout (cq_idx at byte 48 after the
 * splice_fd_in/file_index union), the helpers under their bpf_v3 names, IORING_BPF_OK/WAIT, the
 * SQE flags and the io_uring_prep_* functions. docs/completion-programs.md, "Prototype
 * compatibility", says what each one does here.
 *
 *   clang -O2 -g -target bpf -I <ringflow>/include -c prog.bpf.c -o prog.o
 */
#ifndef RINGFLOW_LIBURING_BPF_H
#define RINGFLOW_LIBURING_BPF_H

#include "base.h"

/* ---- the submission queue entry (bpf_v3 layout; also ringflow's) ------------------------------- */
struct io_uring_sqe {
  RF_IO_URING_SQE_HEAD
  union {
    __u16 buf_index;
    __u16 buf_group;
  } __attribute__((packed));
  __u16 personality;
  union {
    __s32 splice_fd_in;
    __u32 file_index;
  };
  __u16 cq_idx; /* the completion queue of this request's CQE (0 = the programs' CQ 0) */
  __u16 __pad1;
  __u32 __pad2;
  __u64 __pad3;
};
_Static_assert(sizeof(struct io_uring_sqe) == 64, "io_uring_sqe is 64 bytes");
_Static_assert(__builtin_offsetof(struct io_uring_sqe, cq_idx) == 48, "cq_idx at byte 48");

/* ---- the ring helpers, bpf_v3 names ------------------------------------------------------------
 * The bpf_v3 kernel numbered them after its base kernel's helpers (170, 171, 172 and 169 for
 * bpf_copy_to_user); ringflow accepts those ids too, and declares them here under its own
 * (164-167), which are the ebpf_v2 ones. */
/* Queues a copy of the SQE (len 64) on CQ sqe->cq_idx: 1 accepted; 0 refused (an error CQE with
 * the SQE's user_data goes to that CQ); -errno. */
static long (*bpf_io_uring_submit)(void *ctx, struct io_uring_sqe *sqe, __u32 len) = (void *)164;
/* Posts { data, res, flags } to CQ cq: 0, -EINVAL (no such CQ), -ENOMEM (CQ full: dropped). */
static long (*bpf_io_uring_emit_cqe)(void *ctx, __u32 cq, __u64 data, __s32 res, __u32 flags) = (void *)165;
/* Pops the oldest CQE of CQ cq into out (len 16; zeroed on error): 0, -ENOENT (empty), -EINVAL. */
static long (*bpf_io_uring_reap_cqe)(void *ctx, __u32 cq, struct io_uring_cqe *out, __u32 len) = (void *)166;
/* Copies size bytes into a registered region: 0 or -EFAULT. */
static long (*bpf_copy_to_user)(void *user_ptr, const void *src, __u32 size) = (void *)167;

/* ---- what the bpf_v3 header defined besides ------------------------------------------------------ */
typedef size_t socklen_t;
typedef unsigned short mode_t;
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#endif
#ifndef uring_unlikely
#define uring_unlikely(cond) __builtin_expect(!!(cond), 0)
#endif
#ifndef uring_likely
#define uring_likely(cond) __builtin_expect(!!(cond), 1)
#endif
#define IORING_SETUP_IOPOLL (1U << 0)
#define IORING_SETUP_SQPOLL (1U << 1)
#define IORING_SETUP_SQ_AFF (1U << 2)
#define IORING_SETUP_CQSIZE (1U << 3)
#define IORING_SETUP_CLAMP (1U << 4)
#define IORING_SETUP_ATTACH_WQ (1U << 5)
#define IORING_SETUP_R_DISABLED (1U << 6)
#define IORING_OFF_SQ_RING 0ULL
#define IORING_OFF_CQ_RING 0x8000000ULL
#define IORING_OFF_SQES 0x10000000ULL
#define IORING_OFF_CQ_RING_EXTRA 0x1200000ULL
#define IORING_STRIDE_CQ_RING 0x0100000ULL
#define IORING_REGISTER_FILES_SKIP (-2)

/* ---- SQE preparation: liburing's io_uring_prep_* (same names and parameters) -------------------
 * Each zeroes the whole SQE (cq_idx included: CQ 0) before filling it. Pointers (buffers, paths,
 * timespecs, iovecs...) must lie in registered regions for the policy to accept the SQE. */

static __always_inline void io_uring_prep_rw(int op, struct io_uring_sqe *sqe, int fd, const void *addr, unsigned len, __u64 offset) {
  __builtin_memset(sqe, 0, sizeof(*sqe));
  sqe->opcode = (__u8)op;
  sqe->fd = fd;
  sqe->off = offset;
  sqe->addr = (unsigned long)addr;
  sqe->len = len;
}
static __always_inline void io_uring_sqe_set_data(struct io_uring_sqe *sqe, void *data) { sqe->user_data = (unsigned long)data; }
static __always_inline void *io_uring_cqe_get_data(const struct io_uring_cqe *cqe) { return (void *)(uintptr_t)cqe->user_data; }
static __always_inline void io_uring_sqe_set_flags(struct io_uring_sqe *sqe, unsigned flags) { sqe->flags = (__u8)flags; }
/* direct descriptors: slot + 1 in file_index (0 = none) */
static __always_inline void __io_uring_set_target_fixed_file(struct io_uring_sqe *sqe, unsigned int file_index) { sqe->file_index = file_index + 1; }

static __always_inline void io_uring_prep_nop(struct io_uring_sqe *sqe) { io_uring_prep_rw(IORING_OP_NOP, sqe, -1, NULL, 0, 0); }
static __always_inline void io_uring_prep_read(struct io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, __u64 offset) {
  io_uring_prep_rw(IORING_OP_READ, sqe, fd, buf, nbytes, offset);
}
static __always_inline void io_uring_prep_write(struct io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes, __u64 offset) {
  io_uring_prep_rw(IORING_OP_WRITE, sqe, fd, buf, nbytes, offset);
}
static __always_inline void io_uring_prep_readv(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs, __u64 offset) {
  io_uring_prep_rw(IORING_OP_READV, sqe, fd, iovecs, nr_vecs, offset);
}
static __always_inline void io_uring_prep_writev(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs, __u64 offset) {
  io_uring_prep_rw(IORING_OP_WRITEV, sqe, fd, iovecs, nr_vecs, offset);
}
static __always_inline void io_uring_prep_read_fixed(struct io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, __u64 offset, int buf_index) {
  io_uring_prep_rw(IORING_OP_READ_FIXED, sqe, fd, buf, nbytes, offset);
  sqe->buf_index = (__u16)buf_index;
}
static __always_inline void io_uring_prep_write_fixed(struct io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes, __u64 offset, int buf_index) {
  io_uring_prep_rw(IORING_OP_WRITE_FIXED, sqe, fd, buf, nbytes, offset);
  sqe->buf_index = (__u16)buf_index;
}
static __always_inline void io_uring_prep_fsync(struct io_uring_sqe *sqe, int fd, unsigned fsync_flags) {
  io_uring_prep_rw(IORING_OP_FSYNC, sqe, fd, NULL, 0, 0);
  sqe->fsync_flags = fsync_flags;
}
static __always_inline void io_uring_prep_sync_file_range(struct io_uring_sqe *sqe, int fd, unsigned len, __u64 offset, int flags) {
  io_uring_prep_rw(IORING_OP_SYNC_FILE_RANGE, sqe, fd, NULL, len, offset);
  sqe->sync_range_flags = (__u32)flags;
}
/* ts: a struct __kernel_timespec in a registered region; count: completions that also end it */
static __always_inline void io_uring_prep_timeout(struct io_uring_sqe *sqe, struct __kernel_timespec *ts, unsigned count, unsigned flags) {
  io_uring_prep_rw(IORING_OP_TIMEOUT, sqe, -1, ts, 1, count);
  sqe->timeout_flags = flags;
}
static __always_inline void io_uring_prep_timeout_remove(struct io_uring_sqe *sqe, __u64 user_data, unsigned flags) {
  io_uring_prep_rw(IORING_OP_TIMEOUT_REMOVE, sqe, -1, (void *)(unsigned long)user_data, 0, 0);
  sqe->timeout_flags = flags;
}
static __always_inline void io_uring_prep_timeout_update(struct io_uring_sqe *sqe, struct __kernel_timespec *ts, __u64 user_data, unsigned flags) {
  io_uring_prep_rw(IORING_OP_TIMEOUT_REMOVE, sqe, -1, (void *)(unsigned long)user_data, 0, (uintptr_t)ts);
  sqe->timeout_flags = flags | IORING_TIMEOUT_UPDATE;
}
static __always_inline void io_uring_prep_link_timeout(struct io_uring_sqe *sqe, struct __kernel_timespec *ts, unsigned flags) {
  io_uring_prep_rw(IORING_OP_LINK_TIMEOUT, sqe, -1, ts, 1, 0);
  sqe->timeout_flags = flags;
}
/* cancels the request (of this program) whose user_data is user_data */
static __always_inline void io_uring_prep_cancel(struct io_uring_sqe *sqe, void *user_data, int flags) {
  io_uring_prep_rw(IORING_OP_ASYNC_CANCEL, sqe, -1, user_data, 0, 0);
  sqe->cancel_flags = (__u32)flags;
}
static __always_inline void io_uring_prep_openat(struct io_uring_sqe *sqe, int dfd, const char *path, int flags, mode_t mode) {
  io_uring_prep_rw(IORING_OP_OPENAT, sqe, dfd, path, mode, 0);
  sqe->open_flags = (__u32)flags;
}
static __always_inline void io_uring_prep_openat_direct(struct io_uring_sqe *sqe, int dfd, const char *path, int flags, mode_t mode, unsigned file_index) {
  io_uring_prep_openat(sqe, dfd, path, flags, mode);
  __io_uring_set_target_fixed_file(sqe, file_index);
}
static __always_inline void io_uring_prep_openat2(struct io_uring_sqe *sqe, int dfd, const char *path, struct open_how *how) {
  io_uring_prep_rw(IORING_OP_OPENAT2, sqe, dfd, path, sizeof(*how), (uint64_t)(uintptr_t)how);
}
static __always_inline void io_uring_prep_openat2_direct(struct io_uring_sqe *sqe, int dfd, const char *path, struct open_how *how, unsigned file_index) {
  io_uring_prep_openat2(sqe, dfd, path, how);
  __io_uring_set_target_fixed_file(sqe, file_index);
}
static __always_inline void io_uring_prep_close(struct io_uring_sqe *sqe, int fd) { io_uring_prep_rw(IORING_OP_CLOSE, sqe, fd, NULL, 0, 0); }
static __always_inline void io_uring_prep_statx(struct io_uring_sqe *sqe, int dfd, const char *path, int flags, unsigned mask, struct statx *statxbuf) {
  io_uring_prep_rw(IORING_OP_STATX, sqe, dfd, path, mask, (__u64)(unsigned long)statxbuf);
  sqe->statx_flags = (__u32)flags;
}
static __always_inline void io_uring_prep_fadvise(struct io_uring_sqe *sqe, int fd, __u64 offset, off_t len, int advice) {
  io_uring_prep_rw(IORING_OP_FADVISE, sqe, fd, NULL, (__u32)len, offset);
  sqe->fadvise_advice = (__u32)advice;
}
static __always_inline void io_uring_prep_madvise(struct io_uring_sqe *sqe, void *addr, off_t length, int advice) {
  io_uring_prep_rw(IORING_OP_MADVISE, sqe, -1, addr, (__u32)length, 0);
  sqe->fadvise_advice = (__u32)advice;
}
static __always_inline void io_uring_prep_fallocate(struct io_uring_sqe *sqe, int fd, int mode, off_t offset, off_t len) {
  io_uring_prep_rw(IORING_OP_FALLOCATE, sqe, fd, (const void *)(unsigned long)len, (unsigned)mode, (__u64)offset);
}
static __always_inline void io_uring_prep_splice(struct io_uring_sqe *sqe, int fd_in, int64_t off_in, int fd_out, int64_t off_out, unsigned nbytes, unsigned splice_flags) {
  io_uring_prep_rw(IORING_OP_SPLICE, sqe, fd_out, NULL, nbytes, (__u64)off_out);
  sqe->splice_off_in = (__u64)off_in;
  sqe->splice_fd_in = fd_in;
  sqe->splice_flags = splice_flags;
}
static __always_inline void io_uring_prep_tee(struct io_uring_sqe *sqe, int fd_in, int fd_out, unsigned nbytes, unsigned splice_flags) {
  io_uring_prep_rw(IORING_OP_TEE, sqe, fd_out, NULL, nbytes, 0);
  sqe->splice_fd_in = fd_in;
  sqe->splice_flags = splice_flags;
}
static __always_inline void io_uring_prep_poll_add(struct io_uring_sqe *sqe, int fd, unsigned poll_mask) {
  io_uring_prep_rw(IORING_OP_POLL_ADD, sqe, fd, NULL, 0, 0);
  sqe->poll32_events = poll_mask; /* little-endian: no word swap */
}
static __always_inline void io_uring_prep_poll_multishot(struct io_uring_sqe *sqe, int fd, unsigned poll_mask) {
  io_uring_prep_poll_add(sqe, fd, poll_mask);
  sqe->len = IORING_POLL_ADD_MULTI;
}
static __always_inline void io_uring_prep_poll_remove(struct io_uring_sqe *sqe, void *user_data) {
  io_uring_prep_rw(IORING_OP_POLL_REMOVE, sqe, -1, user_data, 0, 0);
}
static __always_inline void io_uring_prep_poll_update(struct io_uring_sqe *sqe, void *old_user_data, void *new_user_data, unsigned poll_mask, unsigned flags) {
  io_uring_prep_rw(IORING_OP_POLL_REMOVE, sqe, -1, old_user_data, flags, (__u64)(uintptr_t)new_user_data);
  sqe->poll32_events = poll_mask;
}
static __always_inline void io_uring_prep_sendmsg(struct io_uring_sqe *sqe, int fd, const struct msghdr *msg, unsigned flags) {
  io_uring_prep_rw(IORING_OP_SENDMSG, sqe, fd, msg, 1, 0);
  sqe->msg_flags = flags;
}
static __always_inline void io_uring_prep_recvmsg(struct io_uring_sqe *sqe, int fd, struct msghdr *msg, unsigned flags) {
  io_uring_prep_rw(IORING_OP_RECVMSG, sqe, fd, msg, 1, 0);
  sqe->msg_flags = flags;
}
static __always_inline void io_uring_prep_send(struct io_uring_sqe *sqe, int sockfd, const void *buf, size_t len, int flags) {
  io_uring_prep_rw(IORING_OP_SEND, sqe, sockfd, buf, (__u32)len, 0);
  sqe->msg_flags = (__u32)flags;
}
static __always_inline void io_uring_prep_recv(struct io_uring_sqe *sqe, int sockfd, void *buf, size_t len, int flags) {
  io_uring_prep_rw(IORING_OP_RECV, sqe, sockfd, buf, (__u32)len, 0);
  sqe->msg_flags = (__u32)flags;
}
static __always_inline void io_uring_prep_accept(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr, socklen_t *addrlen, int flags) {
  io_uring_prep_rw(IORING_OP_ACCEPT, sqe, fd, addr, 0, (__u64)(unsigned long)addrlen);
  sqe->accept_flags = (__u32)flags;
}
static __always_inline void io_uring_prep_accept_direct(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr, socklen_t *addrlen, int flags, unsigned file_index) {
  io_uring_prep_accept(sqe, fd, addr, addrlen, flags);
  __io_uring_set_target_fixed_file(sqe, file_index);
}
static __always_inline void io_uring_prep_connect(struct io_uring_sqe *sqe, int fd, const struct sockaddr *addr, socklen_t addrlen) {
  io_uring_prep_rw(IORING_OP_CONNECT, sqe, fd, addr, 0, addrlen);
}
static __always_inline void io_uring_prep_shutdown(struct io_uring_sqe *sqe, int fd, int how) {
  io_uring_prep_rw(IORING_OP_SHUTDOWN, sqe, fd, NULL, (__u32)how, 0);
}
static __always_inline void io_uring_prep_files_update(struct io_uring_sqe *sqe, int *fds, unsigned nr_fds, int offset) {
  io_uring_prep_rw(IORING_OP_FILES_UPDATE, sqe, -1, fds, nr_fds, (__u64)offset);
}
static __always_inline void io_uring_prep_epoll_ctl(struct io_uring_sqe *sqe, int epfd, int fd, int op, struct epoll_event *ev) {
  io_uring_prep_rw(IORING_OP_EPOLL_CTL, sqe, epfd, ev, (__u32)op, (__u32)fd);
}
static __always_inline void io_uring_prep_provide_buffers(struct io_uring_sqe *sqe, void *addr, int len, int nr, int bgid, int bid) {
  io_uring_prep_rw(IORING_OP_PROVIDE_BUFFERS, sqe, nr, addr, (__u32)len, (__u64)bid);
  sqe->buf_group = (__u16)bgid;
}
static __always_inline void io_uring_prep_remove_buffers(struct io_uring_sqe *sqe, int nr, int bgid) {
  io_uring_prep_rw(IORING_OP_REMOVE_BUFFERS, sqe, nr, NULL, 0, 0);
  sqe->buf_group = (__u16)bgid;
}
static __always_inline void io_uring_prep_unlinkat(struct io_uring_sqe *sqe, int dfd, const char *path, int flags) {
  io_uring_prep_rw(IORING_OP_UNLINKAT, sqe, dfd, path, 0, 0);
  sqe->unlink_flags = (__u32)flags;
}
static __always_inline void io_uring_prep_renameat(struct io_uring_sqe *sqe, int olddfd, const char *oldpath, int newdfd, const char *newpath, int flags) {
  io_uring_prep_rw(IORING_OP_RENAMEAT, sqe, olddfd, oldpath, (__u32)newdfd, (uint64_t)(uintptr_t)newpath);
  sqe->rename_flags = (__u32)flags;
}

#endif /* RINGFLOW_LIBURING_BPF_H */
