/* A program that reads a registered buffer and decides the next request from its bytes:
 * command byte 'W' -> WRITE(fd, data, len, 0); 'R' -> READ(fd, data, len, 0); anything else ->
 * emits { DECIDE_TAG, -EINVAL } to CQ 0. When the request completes (CQ 1) its res is written
 * back into the command buffer at byte 4 (bpf_copy_to_user) and emitted to CQ 0.
 * The command byte is read with a direct load; the 4-byte length at offset 8 with
 * bpf_copy_from_user. Command buffer layout: u8 cmd; u8 pad[3]; s32 res (out); u32 len. */
#include <ringflow/bpf.h>

#define CQ 1
#define DECIDE_TAG 0xDEu

struct args {
  __u64 cmd;  /* command buffer (writable registered region) */
  __u64 data; /* data buffer (registered region; writable for 'R') */
  __s32 fd;
  __u32 _pad;
};

RF_ARRAY_MAP(args, struct args, 1);

/* [0] runs, [1] the opcode submitted, [2] 164's return */
RF_ARRAY_MAP(seen, __u64, 3);

static __always_inline void put(__u32 k, __u64 v) {
  __u64 *p = bpf_map_lookup_elem(&seen, &k);
  if (p)
    *p = v;
}

SEC("iouring.s/decide")
int decide(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0, runs_key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  __u64 *runs = bpf_map_lookup_elem(&seen, &runs_key);
  struct io_uring_sqe sqe;
  struct io_uring_cqe cqe;
  __u32 len = 0;
  __u8 op;
  if (!a || !runs)
    return 0;
  *runs += 1;
  if (iouring_reap_cqe(ctx, CQ, &cqe, sizeof(cqe)) == 0) {
    __s32 res = cqe.res;
    bpf_copy_to_user((void *)(a->cmd + 4), &res, sizeof(res));
    iouring_emit_cqe(ctx, 0, DECIDE_TAG, res, 0);
    return 0;
  }
  /* first run: decide from the buffer's bytes */
  __u8 cmd = *(volatile __u8 *)a->cmd; /* direct load from registered memory */
  if (bpf_copy_from_user(&len, sizeof(len), (void *)(a->cmd + 8)) != 0) {
    iouring_emit_cqe(ctx, 0, DECIDE_TAG, -RF_EFAULT, 0);
    return 0;
  }
  if (cmd == 'W')
    op = IORING_OP_WRITE;
  else if (cmd == 'R')
    op = IORING_OP_READ;
  else {
    iouring_emit_cqe(ctx, 0, DECIDE_TAG, -RF_EINVAL, 0);
    return 0;
  }
  rf_prep_rw(&sqe, op, a->fd, a->data, len, 0);
  sqe.user_data = cmd;
  sqe.cq_idx = CQ;
  put(1, op);
  put(2, iouring_queue_sqe(ctx, &sqe, sizeof(sqe)));
  /* accepted or rejected (error CQE), the answer arrives on CQ 1 */
  ctx->wait_idx = CQ;
  ctx->wait_nr = 1;
  return 0;
}
