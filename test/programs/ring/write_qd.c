/* Writes a file of `nblocks` blocks from a registered buffer keeping the queue depth at QD = 4
 * (prototype example `write_file`): each run reaps what completed on CQ 1, tops the in-flight
 * writes up to 4, and waits for 1 CQE; after the last write completes it submits FSYNC, and when
 * that completes emits { DONE_TAG, bytes written or first error } to CQ 0.
 * `stats`: [0] max in flight, [1] writes submitted, [2] writes completed, [3] runs, [4] errors. */
#include <ringflow/bpf.h>

#define CQ 1
#define QD 4
#define DONE_TAG 0xD0u
#define FSYNC_TAG 0xF5F5F5F5ull

struct args {
  __u64 buf;   /* nblocks * bs bytes inside a registered region */
  __u32 bs;    /* block size */
  __u32 nblocks;
  __s32 fd;    /* allowed with ring.allowFd() */
  __u32 _pad;
};

struct state {
  __u32 next;     /* blocks submitted */
  __u32 done;     /* blocks completed */
  __u32 inflight;
  __u32 phase;    /* 0 writing, 1 fsync submitted */
  __s64 bytes;
  __s32 err;
  __u32 _pad;
};

RF_ARRAY_MAP(args, struct args, 1);

RF_ARRAY_MAP(state, struct state, 1);

RF_ARRAY_MAP(stats, __u64, 5);

static __always_inline void stat_add(__u32 k, __u64 d) {
  __u64 *v = bpf_map_lookup_elem(&stats, &k);
  if (v)
    *v += d;
}

static __always_inline void stat_max(__u32 k, __u64 x) {
  __u64 *v = bpf_map_lookup_elem(&stats, &k);
  if (v && x > *v)
    *v = x;
}

SEC("iouring.s/write_qd")
int write_qd(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct state *s = bpf_map_lookup_elem(&state, &key);
  struct io_uring_sqe sqe;
  struct io_uring_cqe cqe;
  if (!a || !s)
    return 0;
  stat_add(3, 1);
  for (int i = 0; i < QD + 1; i++) {
    if (iouring_reap_cqe(ctx, CQ, &cqe, sizeof(cqe)) != 0)
      break;
    if (cqe.user_data == FSYNC_TAG) {
      if (cqe.res < 0 && !s->err)
        s->err = cqe.res;
      iouring_emit_cqe(ctx, 0, DONE_TAG, s->err ? s->err : (__s32)s->bytes, 0);
      return 0;
    }
    s->inflight--;
    s->done++;
    stat_add(2, 1);
    if (cqe.res != (__s32)a->bs) {
      stat_add(4, 1);
      if (!s->err)
        s->err = cqe.res < 0 ? cqe.res : -RF_EAGAIN; /* short write */
    } else {
      s->bytes += cqe.res;
    }
  }
  while (s->phase == 0 && s->inflight < QD && s->next < a->nblocks && !s->err) {
    __u64 off = (__u64)s->next * a->bs;
    rf_prep_write(&sqe, a->fd, a->buf + off, a->bs, off);
    sqe.user_data = s->next;
    sqe.cq_idx = CQ;
    if (iouring_queue_sqe(ctx, &sqe, sizeof(sqe)) != 1) {
      /* rejected: its error CQE is on CQ 1 and is counted as a completed block */
      s->inflight++;
      s->next++;
      break;
    }
    s->next++;
    s->inflight++;
    stat_add(1, 1);
    stat_max(0, s->inflight);
  }
  if (s->phase == 0 && s->inflight == 0 && (s->done == a->nblocks || s->err)) {
    rf_prep_fsync(&sqe, a->fd, 0);
    sqe.user_data = FSYNC_TAG;
    sqe.cq_idx = CQ;
    iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
    s->phase = 1;
  }
  ctx->wait_idx = CQ;
  ctx->wait_nr = 1;
  return 0;
}
