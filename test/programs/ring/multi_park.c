/* A multishot RECV whose CQ nobody reads until JS says so (test/program-multishot.test.ts).
 *
 * First run: arms one multishot RECV on args.fd (buffer selection from group args.group) or, with
 * args.accept, one multishot ACCEPT on it, with its CQEs going to CQ args.cq. Then the program waits
 * on CQ args.gate_cq, not on args.cq (args.single: a single-shot one; args.skip: with
 * IOSQE_CQE_SKIP_SUCCESS): while JS posts nothing there, args.cq fills and the engine
 * has to hold what the kernel goes on producing. Each gate CQE: reap everything on args.cq, log each
 * CQE in order (res, flags, the first 8 bytes of its buffer), give the buffer back (an accepted fd is
 * logged and closed). A gate CQE with user_data 1 ends the program; user_data 2 cancels the multishot request.
 */
#include <ringflow/bpf.h>
#include <ringflow/buffers.h>

#define LOG 512
#define RECV_MULTISHOT (1u << 1)
#define ACCEPT_MULTISHOT (1u << 0)

struct args {
  __s32 fd;
  __u32 cq;
  __u32 gate_cq;
  __u32 group;
  __u32 accept;
  __u32 armed;
  __u64 logged;
  __u64 returned;
  __u64 return_errors;
  __u32 single; /* a single-shot request instead */
  __u32 skip;   /* with IOSQE_CQE_SKIP_SUCCESS */
};

struct entry {
  __s32 res;
  __u32 flags;
  __u64 head; /* first bytes of the buffer (0 without one) */
};

RF_ARRAY_MAP(args, struct args, 1);
RF_ARRAY_MAP(entries, struct entry, LOG);

SEC("iouring.s/multi_park")
int multi_park(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct io_uring_sqe sqe;
  struct io_uring_cqe cqe;
  if (!a)
    return IORING_BPF_OK;
  if (!a->armed) {
    a->armed = 1;
    if (a->accept) {
      rf_prep_rw(&sqe, IORING_OP_ACCEPT, a->fd, 0, 0, 0);
      sqe.ioprio = a->single ? 0 : ACCEPT_MULTISHOT;
    } else {
      rf_prep_rw(&sqe, IORING_OP_RECV, a->fd, 0, 0, 0);
      sqe.flags = IOSQE_BUFFER_SELECT;
      sqe.buf_group = (__u16)a->group;
      sqe.ioprio = a->single ? 0 : RECV_MULTISHOT;
    }
    if (a->skip)
      sqe.flags |= IOSQE_CQE_SKIP_SUCCESS;
    sqe.user_data = 7;
    sqe.cq_idx = (__u16)a->cq;
    iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
  } else {
    int end = 0;
    for (int i = 0; i < 64; i++) {
      if (iouring_reap_cqe(ctx, a->gate_cq, &cqe, sizeof(cqe)) != 0)
        break;
      if (cqe.user_data == 2) {
        rf_prep_rw(&sqe, IORING_OP_ASYNC_CANCEL, -1, 7, 0, 0);
        sqe.user_data = 8;
        sqe.cq_idx = (__u16)a->gate_cq;
        iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
      }
      if (cqe.user_data == 1)
        end = 1;
    }
    for (int i = 0; i < 4096; i++) {
      if (iouring_reap_cqe(ctx, a->cq, &cqe, sizeof(cqe)) != 0)
        break;
      __u32 k = (__u32)a->logged & (LOG - 1);
      struct entry *e = bpf_map_lookup_elem(&entries, &k);
      __u64 head = 0;
      if (cqe.flags & IORING_CQE_F_BUFFER) {
        __u32 bid = cqe.flags >> RF_CQE_BUFFER_SHIFT;
        if (cqe.res >= 8)
          rf_buf_read(&head, 8, a->group, bid, 0);
        if (rf_buf_return(ctx, a->group, bid) == 0)
          a->returned++;
        else
          a->return_errors++;
      }
      if (a->accept && cqe.res >= 0) { /* the programs' fd: closed here (its CQE on the gate CQ) */
        rf_prep_close(&sqe, cqe.res);
        sqe.user_data = 9;
        sqe.cq_idx = (__u16)a->gate_cq;
        iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
      }
      if (e) {
        e->res = cqe.res;
        e->flags = cqe.flags;
        e->head = head;
      }
      a->logged++;
    }
    if (end)
      return IORING_BPF_OK;
  }
  ctx->wait_idx = a->gate_cq;
  ctx->wait_nr = 1;
  return IORING_BPF_WAIT;
}
