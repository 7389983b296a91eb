/* Attacks on programs' multishot requests and the engine's park (test/security/multishot-attack.test.ts).
 *
 * First run: one "round": args.n requests (user_data 1000 + i) of args.kind on args.fd, their CQEs
 * to CQ args.cq, which the program reads only when JS says so; then, while args.done < args.rounds,
 * a NOP to the gate CQ (user_data 5) runs the next round. kind 0: multishot RECV selecting from
 * args.group; 1: multishot ACCEPT; 2: RECV bundle (refused); 3: single-shot ACCEPT; 4: a multishot
 * TIMEOUT (IORING_TIMEOUT_MULTISHOT, repeating until cancelled) of the timespec at args.ts.
 * Then each run reads the gate CQ (JS's NOPs name it) and acts on each user_data:
 *   1 end   2 cancel the n requests   3 read CQ args.cq (log, give buffers back, args.close_fds:
 *   close accepted fds)   4 emit n CQEs into CQ args.cq (helper 165)   5 next round
 *   6 close args.close_fd (res in args.close_res)
 */
#include <ringflow/bpf.h>
#include <ringflow/buffers.h>

#define LOG 1024
#define MAXN 512
#define RECV_MULTISHOT (1u << 1)
#define ACCEPT_MULTISHOT (1u << 0)
#define RECVSEND_BUNDLE (1u << 4)
#define CQE_BUF_MORE (1u << 4)
#define TIMEOUT_MULTISHOT (1u << 6)

struct args {
  __s32 fd;            /* 0 */
  __u32 cq;            /* 4 */
  __u32 gate;          /* 8 */
  __u32 group;         /* 12 */
  __u32 kind;          /* 16 */
  __u32 n;             /* 20 */
  __u32 rounds;        /* 24 */
  __u32 done;          /* 28 */
  __u64 reaped;        /* 32 */
  __u64 returned;      /* 40 */
  __u64 return_errors; /* 48 */
  __u64 emitted;       /* 56 emits that returned 0 */
  __u64 emit_failed;   /* 64 */
  __u32 close_fds;     /* 72 */
  __s32 close_fd;      /* 76 */
  __s64 close_res;     /* 80 */
  __u64 cancels;       /* 88 cancel CQEs */
  __u64 submit_failed; /* 96 */
  __u32 inc_off;       /* 104 bytes of the current incremental buffer read so far */
  __u32 armed;         /* 108 */
  __u64 read_errors;   /* 112 rf_buf_read failures */
  __u64 ts;            /* 120 kind 4: address of a struct __kernel_timespec in a region */
  __s64 cancel_res;    /* 128 the res of the last cancel's CQE */
};

struct entry {
  __s32 res;
  __u32 flags;
  __u64 user_data;
  __u64 head; /* the first 8 bytes of the CQE's data (0 without a buffer) */
};

RF_ARRAY_MAP(args, struct args, 1);
RF_ARRAY_MAP(entries, struct entry, LOG);

static __always_inline void one_round(struct io_uring_bpf_ctx *ctx, struct args *a) {
  struct io_uring_sqe sqe;
  for (__u32 i = 0; i < MAXN; i++) {
    if (i >= a->n)
      break;
    if (a->kind == 4) {
      rf_prep_timeout(&sqe, a->ts, 0, TIMEOUT_MULTISHOT);
    } else if (a->kind == 1 || a->kind == 3) {
      rf_prep_rw(&sqe, IORING_OP_ACCEPT, a->fd, 0, 0, 0);
      sqe.ioprio = a->kind == 1 ? ACCEPT_MULTISHOT : 0;
    } else {
      rf_prep_rw(&sqe, IORING_OP_RECV, a->fd, 0, 0, 0);
      sqe.flags = IOSQE_BUFFER_SELECT;
      sqe.buf_group = (__u16)a->group;
      sqe.ioprio = RECV_MULTISHOT | (a->kind == 2 ? RECVSEND_BUNDLE : 0);
    }
    sqe.user_data = 1000 + i;
    sqe.cq_idx = (__u16)a->cq;
    if (iouring_queue_sqe(ctx, &sqe, sizeof(sqe)) != 1)
      a->submit_failed++;
  }
  a->done++;
  if (a->done < a->rounds) {
    rf_prep_nop(&sqe);
    sqe.user_data = 5;
    sqe.cq_idx = (__u16)a->gate;
    iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
  }
}

static __always_inline void read_cq(struct io_uring_bpf_ctx *ctx, struct args *a) {
  struct io_uring_sqe sqe;
  struct io_uring_cqe cqe;
  int i = 0;
  for (; i < 2048; i++) {
    if (iouring_reap_cqe(ctx, a->cq, &cqe, sizeof(cqe)) != 0)
      break;
    __u32 k = (__u32)a->reaped & (LOG - 1);
    struct entry *e = bpf_map_lookup_elem(&entries, &k);
    __u64 head = 0;
    if (cqe.flags & IORING_CQE_F_BUFFER) {
      __u32 bid = cqe.flags >> RF_CQE_BUFFER_SHIFT;
      if (cqe.res >= 8 && rf_buf_read(&head, 8, a->group, bid, a->inc_off) != 0)
        a->read_errors++;
      if (cqe.flags & CQE_BUF_MORE) {
        a->inc_off += cqe.res > 0 ? cqe.res : 0; /* a piece: the kernel keeps the rest */
      } else {
        a->inc_off = 0;
        if (rf_buf_return(ctx, a->group, bid) == 0)
          a->returned++;
        else
          a->return_errors++;
      }
    }
    if ((a->kind == 1 || a->kind == 3) && cqe.res >= 0 && a->close_fds) {
      rf_prep_close(&sqe, cqe.res);
      sqe.user_data = 10;
      sqe.cq_idx = (__u16)a->gate;
      iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
    }
    if (e) {
      e->res = cqe.res;
      e->flags = cqe.flags;
      e->user_data = cqe.user_data;
      e->head = head;
    }
    a->reaped++;
  }
  if (i == 2048) { /* more to read: run again */
    rf_prep_nop(&sqe);
    sqe.user_data = 3;
    sqe.cq_idx = (__u16)a->gate;
    iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
  }
}

SEC("iouring.s/attack_multi_flood")
int attack_multi_flood(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct io_uring_sqe sqe;
  struct io_uring_cqe cqe;
  if (!a)
    return IORING_BPF_OK;
  if (!a->armed) {
    a->armed = 1;
    one_round(ctx, a);
  } else {
    int end = 0;
    for (int j = 0; j < 64; j++) {
      if (iouring_reap_cqe(ctx, a->gate, &cqe, sizeof(cqe)) != 0)
        break;
      __u64 ud = cqe.user_data;
      if (ud == 1)
        end = 1;
      else if (ud == 2) {
        for (__u32 i = 0; i < MAXN; i++) {
          if (i >= a->n)
            break;
          rf_prep_rw(&sqe, IORING_OP_ASYNC_CANCEL, -1, 1000 + i, 0, 0);
          sqe.user_data = 8;
          sqe.cq_idx = (__u16)a->gate;
          iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
        }
      } else if (ud == 3)
        read_cq(ctx, a);
      else if (ud == 4) {
        for (__u32 i = 0; i < MAXN; i++) {
          if (i >= a->n)
            break;
          if (iouring_emit_cqe(ctx, a->cq, 5000 + i, 0, 0) == 0)
            a->emitted++;
          else
            a->emit_failed++;
        }
      } else if (ud == 5)
        one_round(ctx, a);
      else if (ud == 6) {
        a->close_res = 1;
        rf_prep_close(&sqe, a->close_fd);
        sqe.user_data = 9;
        sqe.cq_idx = (__u16)a->gate;
        iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
      } else if (ud == 8) {
        a->cancels++;
        a->cancel_res = cqe.res;
      }
      else if (ud == 9)
        a->close_res = cqe.res;
    }
    if (end)
      return IORING_BPF_OK;
  }
  ctx->wait_idx = a->gate;
  ctx->wait_nr = 1;
  return IORING_BPF_WAIT;
}
