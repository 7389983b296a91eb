/* Two program requests passing a counter back and forth through each other's CQs (prototype
 * example `pingpong`, RFC v2: "BPF-to-BPF messaging via CQEs on neighbour CQs").
 *
 * The same program runs as two requests; user_data says who is who:
 *   bits 0..7 own CQ, bits 8..15 peer CQ, bit 16 = starts the game, bits 32..63 = N.
 * The starter emits 1 to the peer's CQ. Each side waits for 1 CQE on its own CQ, reaps value v,
 * and: v == STOP -> finishes; v >= N -> emits { FINAL_TAG, v } to CQ 0, sends STOP, finishes;
 * else emits v + 1 to the peer and waits again. `got[cq]` counts values received per side. */
#include <ringflow/bpf.h>

#define FINAL_TAG 0xF1u
#define STOP 0xFFFFFFFFull

/* [cq] values received by the side owning CQ cq; [8 + cq] runs of that side */
RF_ARRAY_MAP(got, __u64, 16);

static __always_inline void bump(__u32 k) {
  __u64 *v = bpf_map_lookup_elem(&got, &k);
  if (v)
    *v += 1;
}

SEC("iouring/pingpong")
int pingpong(struct io_uring_bpf_ctx *ctx) {
  __u64 ud = ctx->user_data;
  __u32 me = ud & 0xff, peer = (ud >> 8) & 0xff, n = ud >> 32;
  struct io_uring_cqe cqe;
  if (me > 7)
    return 0;
  bump(8 + me);
  if (iouring_reap_cqe(ctx, me, &cqe, sizeof(cqe)) != 0) {
    /* first run: the starter serves, the other one just waits */
    if ((ud >> 16) & 1)
      iouring_emit_cqe(ctx, peer, 1, 0, 0);
    ctx->wait_idx = me;
    ctx->wait_nr = 1;
    return 0;
  }
  if (cqe.user_data == STOP)
    return 0;
  bump(me);
  if (cqe.user_data >= n) {
    iouring_emit_cqe(ctx, 0, FINAL_TAG, (__s32)cqe.user_data, 0);
    iouring_emit_cqe(ctx, peer, STOP, 0, 0);
    return 0;
  }
  iouring_emit_cqe(ctx, peer, cqe.user_data + 1, 0, 0);
  ctx->wait_idx = me;
  ctx->wait_nr = 1;
  return 0;
}
