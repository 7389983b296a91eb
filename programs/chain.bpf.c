/* programs/chain.bpf.c: N-step dependent chain for bench/chain.ts (shipped prebuilt as
 * chain.bpf.o: scripts/build-programs.sh). Each step READs 8 bytes at an offset that the previous
 * READ returned (a linked list of offsets in a file). The program does the whole chain
 * next to the ring: run k reaps READ k-1 from CQ 1, loads the next offset from the registered
 * buffer (direct load) and submits READ k; after `steps` reads it stores the last offset in
 * `state` and the request completes (one CQE for JS per chain). */
#include <ringflow/bpf.h>

#define CQ 1

struct args {
  __u64 buf;   /* 8 bytes, writable registered region */
  __u64 start; /* offset of the first read (nop mode: first table index) */
  __s32 fd;
  __u32 steps;
  __u32 mode;  /* 0: READ chain; 1: NOP chain (each NOP's injected result picks the next) */
  __u32 words; /* nop mode: entries in the table */
  __u64 table; /* nop mode: registered region of u32 "next index" entries */
};

struct state {
  __u32 step;    /* reads completed in the current chain */
  __u32 running; /* a READ is in flight */
  __u64 last;    /* offset read by the last step */
  __s64 err;     /* first failing res */
  __u64 chains;  /* chains completed */
};

RF_ARRAY_MAP(args, struct args, 1);

RF_ARRAY_MAP(state, struct state, 1);

/* Queues the step's request on CQ 1 and asks to run again when its CQE is there (accepted or
 * refused, a CQE for it arrives on CQ 1); a closing ring ends the chain. */
static __always_inline int step(struct io_uring_bpf_ctx *ctx, struct state *s, struct io_uring_sqe *sqe) {
  long r = rf_submit_and_wait(ctx, sqe, CQ, s->step);
  s->running = r >= 0;
  if (r < 0)
    s->err = r;
  return 0;
}

SEC("iouring.s/chain")
int chain(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct state *s = bpf_map_lookup_elem(&state, &key);
  struct io_uring_sqe sqe;
  struct io_uring_cqe cqe;
  __u64 off;
  if (!a || !s)
    return 0;
  if (a->mode == 1) {
    /* NOP chain: the kernel returns the injected index, which picks the next one */
    __u32 idx;
    if (!s->running) {
      s->step = 0;
      idx = (__u32)a->start;
    } else {
      if (iouring_reap_cqe(ctx, CQ, &cqe, sizeof(cqe)) != 0)
        return 0;
      if (cqe.res < 0) {
        s->err = cqe.res;
        s->running = 0;
        return 0;
      }
      idx = (__u32)cqe.res;
      s->last = idx;
      if (++s->step >= a->steps) {
        s->running = 0;
        s->chains++;
        return 0;
      }
    }
    if (idx >= a->words) {
      s->err = -22;
      s->running = 0;
      return 0;
    }
    __u32 next = ((volatile __u32 *)a->table)[idx];
    rf_prep_nop(&sqe);
    sqe.rw_flags = 1; /* IORING_NOP_INJECT_RESULT: res = len */
    sqe.len = next;
    return step(ctx, s, &sqe);
  }
  if (!s->running) {
    s->step = 0;
    off = a->start;
  } else {
    if (iouring_reap_cqe(ctx, CQ, &cqe, sizeof(cqe)) != 0)
      return 0;
    if (cqe.res != 8) {
      s->err = cqe.res < 0 ? cqe.res : -5; /* -EIO: short read */
      s->running = 0;
      return 0;
    }
    off = *(volatile __u64 *)a->buf;
    s->last = off;
    if (++s->step >= a->steps) {
      s->running = 0;
      s->chains++;
      return 0;
    }
  }
  rf_prep_read(&sqe, a->fd, a->buf, 8, off);
  return step(ctx, s, &sqe);
}
