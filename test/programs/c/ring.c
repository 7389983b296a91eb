/* Prototype-style completion program (liburing ebpf_v2 examples, includes swapped for
 * ringflow/bpf.h): reaps a CQE from CQ 1, queues a NOP whose completion goes to CQ 1, posts a
 * CQE to the main CQ and waits for one more completion. */
#include <ringflow/bpf.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} state SEC(".maps");

SEC("iouring.s/pingpong")
int pingpong(struct io_uring_bpf_ctx *ctx) {
  struct io_uring_cqe cqe;
  struct io_uring_sqe sqe;
  __u32 key = 0;
  __u64 *left = bpf_map_lookup_elem(&state, &key);
  if (!left)
    return 0;
  if (iouring_reap_cqe(ctx, 1, &cqe, sizeof(cqe)) == 0 && *left) {
    __builtin_memset(&sqe, 0, sizeof(sqe));
    sqe.opcode = IORING_OP_NOP;
    sqe.user_data = cqe.user_data + 1;
    sqe.cq_idx = 1;
    iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
    *left -= 1;
    ctx->wait_idx = 1;
    ctx->wait_nr = 1;
  } else {
    iouring_emit_cqe(ctx, 0, ctx->user_data, 0, 0);
  }
  return 0;
}

SEC("iouring/emit")
int emit(struct io_uring_bpf_ctx *ctx) {
  iouring_emit_cqe(ctx, 0, ctx->user_data, 42, 0);
  return 0;
}
