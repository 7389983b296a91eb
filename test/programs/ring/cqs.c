/* Emits args.n CQEs { user_data = args.base + i, res = i } to CQ args.cq and counts what 165
 * returned: out[0] accepted (0), out[1] dropped (-ENOMEM), out[2] other. Then reaps up to
 * args.reap CQEs from CQ args.reap_cq and sums their res into out[3] (count in out[4]). */
#include <ringflow/bpf.h>

struct args {
  __u64 base;
  __u32 cq;
  __u32 n;
  __u32 reap_cq;
  __u32 reap;
};

RF_ARRAY_MAP(args, struct args, 1);

RF_ARRAY_MAP(out, __s64, 5);

static __always_inline void add(__u32 k, __s64 d) {
  __s64 *p = bpf_map_lookup_elem(&out, &k);
  if (p)
    *p += d;
}

SEC("iouring/emit_n")
int emit_n(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct io_uring_cqe cqe;
  if (!a)
    return 0;
  for (__u32 i = 0; i < a->n && i < 4096; i++) {
    long r = iouring_emit_cqe(ctx, a->cq, a->base + i, (__s32)i, 0);
    add(r == 0 ? 0 : r == -RF_ENOMEM ? 1 : 2, 1);
  }
  for (__u32 i = 0; i < a->reap && i < 4096; i++) {
    if (iouring_reap_cqe(ctx, a->reap_cq, &cqe, sizeof(cqe)) != 0)
      break;
    add(3, cqe.res);
    add(4, 1);
  }
  return 0;
}
