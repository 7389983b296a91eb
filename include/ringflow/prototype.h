/* ringflow/prototype.h: for programs written for the ebpf_v2 tree of the 2021 io_uring BPF
 * prototype (isilence/liburing branch ebpf_v2, examples/bpf). Replace their three lines
 *     #include "vmlinux.h"
 *     #include <bpf/bpf_helpers.h>
 *     #include <bpf/bpf_core_read.h>
 * with
 *     #include <ringflow/prototype.h>
 * and nothing else. It gives what those gave such a program: the types (vmlinux.h of the
 * prototype kernel: struct io_uring_bpf_ctx, io_uring_sqe with __pad2[3] over bytes 40..63 and
 * cq_idx at byte 48, io_uring_cqe, __kernel_timespec, off_t, the IOSQE_*_BIT and IORING_OP_*
 * enums, BPF_MAP_TYPE_*), SEC(), struct bpf_map_def and the kernel helpers (bpf_map_lookup_elem,
 * bpf_copy_from_user...). It does NOT declare what those programs declare themselves: the ring
 * helpers 164-167 (iouring_queue_sqe, iouring_emit_cqe, iouring_reap_cqe, bpf_copy_to_user) and
 * the io_uring_prep_* functions. docs/completion-programs.md, "Prototype compatibility".
 */
#ifndef RINGFLOW_PROTOTYPE_H
#define RINGFLOW_PROTOTYPE_H

#include "base.h"

/* The submission queue entry as the ebpf_v2 kernel declared it: the tail (bytes 40..63) is both
 * the named fields, cq_idx included, and __pad2[3], which its programs zero as a whole. */
struct io_uring_sqe {
  RF_IO_URING_SQE_HEAD
  union {
    struct {
      union {
        __u16 buf_index;
        __u16 buf_group;
      } __attribute__((packed));
      __u16 personality;
      __s32 splice_fd_in;
      __u16 cq_idx; /* the completion queue of this request's CQE (0 = the programs' CQ 0) */
    };
    __u64 __pad2[3];
  };
};
_Static_assert(sizeof(struct io_uring_sqe) == 64, "io_uring_sqe is 64 bytes");
_Static_assert(__builtin_offsetof(struct io_uring_sqe, cq_idx) == 48, "cq_idx at byte 48");
_Static_assert(__builtin_offsetof(struct io_uring_sqe, __pad2) == 40, "__pad2 over bytes 40..63");

#endif /* RINGFLOW_PROTOTYPE_H */
