/* A timer that ticks N times through IORING_OP_TIMEOUT without waking JS (prototype example
 * `counting`). Each run reaps the previous tick (-ETIME) from CQ 1, counts it in `ticks`, and
 * arms the next 1 ms timeout with the modern helper (rf_io_uring_submit_cq, CQ as argument);
 * after N ticks it emits { TICK_TAG, ticks } to CQ 0 and the request completes. */
#include <ringflow/bpf.h>

#define CQ 1
#define TICK_TAG 0x71C4u

struct args {
  __u64 ts; /* struct __kernel_timespec inside a registered region */
  __u32 n;
  __u32 _pad;
};

RF_ARRAY_MAP(args, struct args, 1);

/* [0] ticks seen (CQEs with -ETIME), [1] runs, [2] CQEs with another res, [3] timeouts armed */
RF_ARRAY_MAP(ticks, __u64, 4);

static __always_inline __u64 *slot(__u32 k) {
  return bpf_map_lookup_elem(&ticks, &k);
}

SEC("iouring.s/timer")
int timer(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  __u64 *seen = slot(0), *runs = slot(1), *other = slot(2), *armed = slot(3);
  struct io_uring_sqe sqe;
  struct io_uring_cqe cqe;
  if (!a || !seen || !runs || !other || !armed)
    return 0;
  *runs += 1;
  while (iouring_reap_cqe(ctx, CQ, &cqe, sizeof(cqe)) == 0) {
    if (cqe.res == -RF_ETIME)
      *seen += 1;
    else
      *other += 1;
  }
  if (*seen >= a->n || *other) {
    iouring_emit_cqe(ctx, 0, TICK_TAG, (__s32)*seen, 0);
    return 0;
  }
  rf_prep_timeout(&sqe, a->ts, 0, 0);
  sqe.user_data = *armed;
  if (rf_io_uring_submit_cq(ctx, &sqe, sizeof(sqe), CQ) < 0) {
    iouring_emit_cqe(ctx, 0, TICK_TAG, -RF_EINVAL, 0);
    return 0;
  }
  *armed += 1;
  ctx->wait_idx = CQ;
  ctx->wait_nr = 1;
  return 0;
}
