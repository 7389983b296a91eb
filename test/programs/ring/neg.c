/* Small programs for the negative tests: a program can't touch unregistered memory through any
 * helper or any SQE field, can't name fds it was not given, can't spin, can't wait without
 * progress. JS fills `args`; `out` records what the helpers returned:
 *   [0] submit helper's return  [1] res of the CQE that came back  [2] its user_data
 *   [3] runs                    [4] second helper's return          [5] value loaded */
#include <ringflow/bpf.h>

#define BAD_TAG 0xBADu

struct args {
  __u64 addr;  /* sqe->addr / helper pointer / direct load address */
  __u32 len;   /* sqe->len */
  __s32 fd;    /* sqe->fd */
  __u32 op;    /* sqe->opcode */
  __u32 flags; /* sqe->flags */
  __u32 cq;    /* CQ for the SQE (and for the cq program) */
  __u32 use_modern; /* submit with rf_io_uring_submit_cq (1000) instead of 164 */
  __u64 off;   /* sqe->off */
};

RF_ARRAY_MAP(args, struct args, 1);

RF_ARRAY_MAP(out, __s64, 6);

static __always_inline void put(__u32 k, __s64 v) {
  __s64 *p = bpf_map_lookup_elem(&out, &k);
  if (p)
    *p = v;
}

static __always_inline __s64 runs_inc(void) {
  __u32 k = 3;
  __s64 *p = bpf_map_lookup_elem(&out, &k);
  if (!p)
    return 0;
  *p += 1;
  return *p;
}

/* Submits the SQE described by args on CQ args.cq, then waits for its CQE there and reports
 * its res to CQ 0 as { BAD_TAG, res }. */
SEC("iouring.s/submit")
int submit(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct io_uring_sqe sqe;
  struct io_uring_cqe cqe;
  if (!a)
    return 0;
  if (runs_inc() > 1) {
    if (iouring_reap_cqe(ctx, a->cq, &cqe, sizeof(cqe)) == 0) {
      put(1, cqe.res);
      put(2, (__s64)cqe.user_data);
      iouring_emit_cqe(ctx, 0, BAD_TAG, cqe.res, 0);
    } else {
      iouring_emit_cqe(ctx, 0, BAD_TAG, -RF_ENOENT, 0);
    }
    return 0;
  }
  rf_prep_rw(&sqe, a->op, a->fd, a->addr, a->len, a->off);
  sqe.flags = a->flags;
  sqe.user_data = BAD_TAG;
  long r;
  if (a->use_modern) {
    r = rf_io_uring_submit_cq(ctx, &sqe, sizeof(sqe), a->cq);
  } else {
    sqe.cq_idx = a->cq;
    r = iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
  }
  put(0, r);
  ctx->wait_idx = a->cq;
  ctx->wait_nr = 1;
  return 0;
}

/* 164 with a len other than 64 (the helper's own -EINVAL, no SQE is queued). */
SEC("iouring.s/submit_badlen")
int submit_badlen(struct io_uring_bpf_ctx *ctx) {
  struct io_uring_sqe sqe[2];
  rf_prep_nop(&sqe[0]);
  sqe[0].cq_idx = 1;
  put(0, iouring_queue_sqe(ctx, &sqe[0], 32));
  put(4, iouring_queue_sqe(ctx, &sqe[0], 128));
  return 0;
}

/* 167 and 148 with the pointer args.addr (8 bytes). */
SEC("iouring.s/copy")
int copy(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  __u64 src = 0x1122334455667788ull, dst = 0x77;
  if (!a)
    return 0;
  put(0, bpf_copy_to_user((void *)a->addr, &src, sizeof(src)));
  put(4, bpf_copy_from_user(&dst, sizeof(dst), (void *)a->addr));
  put(5, (__s64)dst);
  return 0;
}

/* 165 and 166 on CQ args.cq, and 166 with a bad len. */
SEC("iouring/cq")
int cq(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct io_uring_cqe cqe[2];
  if (!a)
    return 0;
  put(0, iouring_emit_cqe(ctx, a->cq, 1, 0, 0));
  put(4, iouring_reap_cqe(ctx, a->cq, &cqe[0], sizeof(cqe[0])));
  put(5, iouring_reap_cqe(ctx, 0, &cqe[0], sizeof(cqe)));
  return 0;
}

/* A direct load from args.addr. */
SEC("iouring/load")
int load(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  if (!a)
    return 0;
  runs_inc();
  put(5, *(volatile __s64 *)a->addr);
  return 0;
}

/* A direct store to args.addr. */
SEC("iouring/store")
int store(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  if (!a)
    return 0;
  runs_inc();
  *(volatile __u64 *)a->addr = 0x5555555555555555ull;
  put(5, 1);
  return 0;
}

/* An infinite loop: the instruction budget stops it (ELOOP). */
SEC("iouring/spin")
int spin(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 4;
  runs_inc();
  for (;;) {
    volatile __s64 *p = bpf_map_lookup_elem(&out, &key);
    if (p)
      *p += 1;
  }
  return 0;
}

/* Waits for 1 CQE on CQ 1, which already holds one it never reaps: re-run without progress
 * until ringflow stops it (ELOOP). */
SEC("iouring/stuck")
int stuck(struct io_uring_bpf_ctx *ctx) {
  if (runs_inc() == 1)
    put(0, iouring_emit_cqe(ctx, 1, 0x57, 0, 0));
  ctx->wait_idx = 1;
  ctx->wait_nr = 1;
  return 0;
}

/* Counts its runs and finishes (link-chain tests). */
SEC("iouring/count")
int count(struct io_uring_bpf_ctx *ctx) {
  runs_inc();
  put(2, (__s64)ctx->user_data);
  return 0;
}

/* Waits on CQ args.cq for a CQE that never comes (teardown test). */
SEC("iouring/park")
int park(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  runs_inc();
  ctx->wait_idx = a ? a->cq : 1;
  ctx->wait_nr = 1;
  return 0;
}

/* Asks to wait on a CQ that does not exist (prototype: the request completes with -EINVAL). */
SEC("iouring/badwait")
int badwait(struct io_uring_bpf_ctx *ctx) {
  runs_inc();
  ctx->wait_idx = 999;
  ctx->wait_nr = 1;
  return 0;
}
