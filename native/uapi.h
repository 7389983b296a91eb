/* io_uring ABI pieces the native side needs, written by us from the kernel's documented uapi
 * (include/uapi/linux/io_uring.h), values as of Linux 6.18 (verified against the running
 * 6.18.44 kernel's BTF; see shared/reference/io_uring-6.18.md). The TypeScript side has its own
 * complete copy in src/ring/abi.ts; this file holds only what C touches. We do not include
 * <linux/io_uring.h>: the system header here is from 6.1. */
#ifndef RINGFLOW_UAPI_H
#define RINGFLOW_UAPI_H

#include <stdint.h>

/* syscall numbers, x86_64 and aarch64 share these (5.1) */
#define RF_NR_io_uring_setup 425
#define RF_NR_io_uring_enter 426
#define RF_NR_io_uring_register 427

/* struct io_sqring_offsets (40 bytes, 5.1; user_addr 6.5) */
struct rf_sqring_offsets {
  uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
  uint64_t user_addr;
};
/* struct io_cqring_offsets (40 bytes, 5.1; flags 5.8; user_addr 6.5) */
struct rf_cqring_offsets {
  uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
  uint64_t user_addr;
};
/* struct io_uring_params (120 bytes, 5.1) */
struct rf_params {
  uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd;
  uint32_t resv[3];
  struct rf_sqring_offsets sq_off;
  struct rf_cqring_offsets cq_off;
};
_Static_assert(sizeof(struct rf_params) == 120, "io_uring_params is 120 bytes");

/* mmap offsets (5.1) */
#define RF_OFF_SQ_RING 0ULL
#define RF_OFF_CQ_RING 0x8000000ULL
#define RF_OFF_SQES 0x10000000ULL

/* setup flags used natively */
#define RF_SETUP_SQPOLL (1U << 1)        /* 5.1 */
#define RF_SETUP_SQE128 (1U << 10)       /* 5.19 */
#define RF_SETUP_CQE32 (1U << 11)        /* 5.19 */
#define RF_SETUP_SINGLE_ISSUER (1U << 12) /* 6.0 */
#define RF_SETUP_DEFER_TASKRUN (1U << 13) /* 6.1 */
#define RF_SETUP_NO_SQARRAY (1U << 16)   /* 6.6 */
#define RF_SETUP_CQE_MIXED (1U << 18)    /* 6.18: 16-byte CQE slots, IORING_CQE_F_32 entries take two */

/* features */
#define RF_FEAT_SINGLE_MMAP (1U << 0) /* 5.4 */

/* enter flags */
#define RF_ENTER_GETEVENTS (1U << 0) /* 5.1 */
#define RF_ENTER_SQ_WAKEUP (1U << 1) /* 5.1 */
#define RF_ENTER_REGISTERED_RING (1U << 4) /* 5.18: fd is an index into the task's registered rings */

/* SQ ring flags */
#define RF_SQ_NEED_WAKEUP (1U << 0) /* 5.1 */
#define RF_SQ_CQ_OVERFLOW (1U << 1) /* 5.5 */
#define RF_SQ_TASKRUN (1U << 2)     /* 5.19 */

#define RF_SETUP_TASKRUN_FLAG (1U << 9) /* 5.19 */
/* CQ ring flags */
#define RF_CQ_EVENTFD_DISABLED (1U << 0) /* 5.8 */

/* register opcodes used natively */
#define RF_REGISTER_EVENTFD 4   /* 5.2 */
#define RF_REGISTER_RING_FDS 20  /* 5.18 */
#define RF_UNREGISTER_RING_FDS 21 /* 5.18 */

/* struct io_uring_rsrc_update (16 bytes, 5.13): offset (-1: any free slot), resv, data (the fd) */
struct rf_rsrc_update { uint32_t offset, resv; uint64_t data; };
_Static_assert(sizeof(struct rf_rsrc_update) == 16, "io_uring_rsrc_update is 16 bytes");

/* what the env's teardown reads in an SQE JS never submitted (ring_napi.c close_unsubmitted):
 * IORING_OP_CLOSE (5.6), IOSQE_FIXED_FILE (5.1); the opcode is byte 0, flags byte 1, fd bytes
 * 4-7, file_index bytes 44-47 (5.15) */
#define RF_OP_CLOSE 19
#define RF_SQE_FIXED_FILE (1U << 0)

#define RF_SQE_SIZE 64
#define RF_CQE_SIZE 16

#endif
