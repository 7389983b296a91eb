/* ringflow test program: array map, hash map, globals (.data/.rodata/.bss), a subprogram
 * call, a bounded loop, bpf_loop and trace_printk. Run with r1 = 16-byte input:
 *   u32 n; u32 seed; u64 out (written by the program). */
#include <ringflow/bpf.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} squares SEC(".maps");

struct bpf_map_def SEC("maps") legacy = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = 4,
    .value_size = 8,
    .max_entries = 2,
};

const volatile __u64 multiplier = 3;  /* .rodata */
__u64 runs = 100;                      /* .data */
__u64 last_sum;                        /* .bss */

struct input {
  __u32 n;
  __u32 seed;
  __u64 out;
};

static __noinline __u64 square(__u64 x) {
  return x * x;
}

struct loop_ctx {
  __u64 acc;
};

static long add_index(__u32 index, void *data) {
  struct loop_ctx *c = data;
  c->acc += index;
  return 0;
}

SEC("iouring/features")
int features(struct input *in) {
  __u32 n = in->n;
  if (n > 16)
    n = 16;
  __u64 sum = 0;
  for (__u32 i = 0; i < 16; i++) {
    if (i >= n)
      break;
    __u64 sq = square(i);
    sum += sq;
    __u32 key = i;
    bpf_map_update_elem(&squares, &key, &sq, BPF_ANY);
  }
  struct loop_ctx lc = {0};
  bpf_loop(n, add_index, &lc, 0);
  __u32 k0 = 0;
  __u64 *c = bpf_map_lookup_elem(&counters, &k0);
  if (c)
    __sync_fetch_and_add(c, 1);
  __u64 *l = bpf_map_lookup_elem(&legacy, &k0);
  if (l)
    *l = lc.acc;
  runs++;
  last_sum = sum;
  bpf_printk("sum %llu acc %llu", sum, lc.acc);
  in->out = sum * multiplier;
  return (int)(sum + lc.acc);
}
