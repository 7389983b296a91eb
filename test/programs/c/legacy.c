/* Legacy maps only (no BTF needed): compiles with plain clang -O2 -target bpf -c. */
#include <ringflow/bpf.h>

struct bpf_map_def SEC("maps") hits = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 1,
};

SEC("iouring/count")
int count(struct io_uring_bpf_ctx *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&hits, &k);
  if (v)
    *v += ctx->user_data;
  return 0;
}
