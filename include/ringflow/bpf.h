/* ringflow/bpf.h: everything a ringflow completion program needs, in one header.
 *
 *   clang -O2 -g -target bpf -I <ringflow>/include -c prog.c -o prog.o
 *
 * Programs live in sections SEC("iouring/<name>") (may call the ring helpers 165/166) or
 * SEC("iouring.s/<name>") (sleepable: also 164/1000 submit, 167/148 user copies); the bpf_v3
 * prototype's plain SEC("iouring") has every helper too. A program returns IORING_BPF_OK (0) or
 * IORING_BPF_WAIT (1): see struct io_uring_bpf_ctx. Subprograms go in .text (static __noinline
 * functions). Maps are declared in SEC(".maps") with __uint/__type (BTF-defined, libbpf style) or
 * as a legacy struct bpf_map_def in SEC("maps"). Globals in .data/.rodata/.bss become one-entry
 * array maps (.rodata is read-only for programs).
 *
 * This header is <ringflow/liburing_bpf.h> (the bpf_v3 prototype's header: types, SQE, helpers
 * under their bpf_v3 names, io_uring_prep_*) plus the ebpf_v2 names of the same helpers, ringflow's
 * submit-to-a-CQ helper and the rf_* conveniences. Programs written for the prototype include
 * <ringflow/liburing_bpf.h> (bpf_v3) or <ringflow/prototype.h> (ebpf_v2) instead, since they
 * declare some of these names themselves. Helper table: src/programs/helpers.ts; guide:
 * docs/programs.md, docs/completion-programs.md.
 */
#ifndef RINGFLOW_BPF_H
#define RINGFLOW_BPF_H

#include "liburing_bpf.h"

/* The ring helpers under their ebpf_v2 names (the same ids as the bpf_v3 names). */
static long (*iouring_queue_sqe)(void *ctx, struct io_uring_sqe *sqe, __u32 len) = (void *)164;
static long (*iouring_emit_cqe)(void *ctx, __u32 cq, __u64 data, __s32 res, __u32 flags) = (void *)165;
static long (*iouring_reap_cqe)(void *ctx, __u32 cq, struct io_uring_cqe *cqe, __u32 len) = (void *)166;

/* Modern helper (ringflow): like 164 but the CQ is an argument and bytes 48..63 of the SQE
 * (addr3 and friends) go to the kernel untouched. 1 accepted, 0 rejected (error CQE posted). */
static long (*rf_io_uring_submit_cq)(void *ctx, struct io_uring_sqe *sqe, __u32 len, __u32 cq) = (void *)1000;

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
