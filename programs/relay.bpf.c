/* programs/relay.bpf.c: moves bytes both ways between two connected sockets, run by a completion
 * program (shipped prebuilt as relay.bpf.o; src/net/programs.ts relay(), Relay.add()).
 *
 * One program request per pair: its context token (ctx->user_data) is the pair's slot in the
 * `pairs` map, and it runs as an event loop on the pair's own completion queue (pair.cq). Both
 * directions run at once, with no JavaScript per message:
 *
 *   direction d (0: A → B, 1: B → A): RECV from fd[d] into buffer d → SEND to fd[1 - d]
 *     (a short SEND sends the rest) → RECV again
 *   RECV 0 (the source shut down or closed) → SHUTDOWN(fd[1 - d], SHUT_WR): the half-close goes
 *     through and direction d is done; the other direction goes on until its source closes too
 *   an error (reset, EPIPE…) on either side → SHUTDOWN both sockets (SHUT_RDWR): the requests
 *     still pending on them complete, and the pair ends
 *   a CQE with KIND_STOP (JS: a NOP that names the pair's CQ) → cancel both directions; the
 *     sockets are left as they are for JS
 *   both directions done and nothing in flight → CLOSE both fds (the engine's dups of the fds JS
 *     allowed: the program closes what it owns, JS's fds stay open), then the request completes.
 *
 * user_data = kind << 56 | direction. Buffers: pair `slot` uses [args.buf + (2 × slot + d) ×
 * buf_size, + buf_size) of a registered region for direction d.
 */
#include <ringflow/bpf.h>

#define MAX_PAIRS 1024 /* entries of `pairs`: the most args.max_pairs may say */
#define MAX_REAP 64

#define KIND_RECV 1ull
#define KIND_SEND 2ull
#define KIND_SHUT 3ull
#define KIND_CANCEL 4ull
#define KIND_CLOSE 5ull
#define KIND_STOP 8ull /* from JS */

#define D_RECV 1
#define D_SEND 2
#define D_DONE 3

#define SHUT_WR 1
#define SHUT_RDWR 2
#define E_CANCELED 125

struct args {
  __u64 buf; /* first pair's first buffer (writable registered region) */
  __u32 buf_size;
  __u32 max_pairs;
};

struct pair {
  __s32 fd[2];      /* allowed with ring.allowFd */
  __u32 cq;         /* the pair's completion queue */
  __u32 started;
  __u32 state[2];   /* per direction: D_RECV, D_SEND, D_DONE */
  __u32 len[2], off[2];
  __u64 bytes[2];   /* moved per direction */
  __u32 inflight;
  __u32 aborted;    /* an error or a stop: no new RECV/SEND */
  __u32 closing;    /* the CLOSEs are in flight */
  __u32 stopped;    /* ended by JS (KIND_STOP) */
  __s32 error;      /* the first error, 0 if none */
  __u32 short_sends;
  __u64 messages[2];
};

RF_ARRAY_MAP(args, struct args, 1);
RF_ARRAY_MAP(pairs, struct pair, MAX_PAIRS);

static __always_inline long submit(struct io_uring_bpf_ctx *ctx, struct pair *p, struct io_uring_sqe *sqe, __u64 kind, __u32 d) {
  sqe->user_data = (kind << 56) | d;
  sqe->cq_idx = (__u16)p->cq;
  long r = iouring_queue_sqe(ctx, sqe, sizeof(*sqe));
  if (r >= 0)
    p->inflight++; /* accepted, or refused with an error CQE: one CQE comes back either way */
  return r;
}

static __always_inline __u64 buf_of(struct args *a, __u32 slot, __u32 d) {
  return a->buf + ((__u64)slot * 2 + d) * a->buf_size;
}

static __always_inline void dir_recv(struct io_uring_bpf_ctx *ctx, struct args *a, struct pair *p, __u32 slot, __u32 d) {
  struct io_uring_sqe sqe;
  p->state[d & 1] = D_RECV;
  rf_prep_rw(&sqe, IORING_OP_RECV, p->fd[d & 1], buf_of(a, slot, d & 1), a->buf_size, 0);
  submit(ctx, p, &sqe, KIND_RECV, d & 1);
}

static __always_inline void dir_send(struct io_uring_bpf_ctx *ctx, struct args *a, struct pair *p, __u32 slot, __u32 d) {
  struct io_uring_sqe sqe;
  d &= 1;
  p->state[d] = D_SEND;
  rf_prep_rw(&sqe, IORING_OP_SEND, p->fd[d ^ 1], buf_of(a, slot, d) + p->off[d], p->len[d] - p->off[d], 0);
  submit(ctx, p, &sqe, KIND_SEND, d);
}

static __always_inline void shut(struct io_uring_bpf_ctx *ctx, struct pair *p, __s32 fd, __u32 how) {
  struct io_uring_sqe sqe;
  rf_prep_rw(&sqe, IORING_OP_SHUTDOWN, fd, 0, how, 0);
  submit(ctx, p, &sqe, KIND_SHUT, 0);
}

/* An error on either side: both sockets are shut down, which completes what is pending on them. */
static __always_inline void abort_pair(struct io_uring_bpf_ctx *ctx, struct pair *p, __s32 err) {
  if (p->aborted)
    return;
  p->aborted = 1;
  if (!p->error)
    p->error = err;
  shut(ctx, p, p->fd[0], SHUT_RDWR);
  shut(ctx, p, p->fd[1], SHUT_RDWR);
}

static __always_inline void stop_pair(struct io_uring_bpf_ctx *ctx, struct pair *p) {
  struct io_uring_sqe sqe;
  if (p->aborted)
    return;
  p->aborted = 1;
  p->stopped = 1;
  for (__u32 d = 0; d < 2; d++) {
    __u64 kind = p->state[d] == D_RECV ? KIND_RECV : p->state[d] == D_SEND ? KIND_SEND : 0;
    if (!kind)
      continue;
    rf_prep_rw(&sqe, IORING_OP_ASYNC_CANCEL, -1, (kind << 56) | d, 0, 0);
    submit(ctx, p, &sqe, KIND_CANCEL, 0);
  }
}

static __always_inline void handle(struct io_uring_bpf_ctx *ctx, struct args *a, struct pair *p, __u32 slot, struct io_uring_cqe *cqe) {
  __u64 kind = cqe->user_data >> 56;
  __u32 d = (__u32)cqe->user_data & 1;
  __s32 res = cqe->res;
  if (kind == KIND_STOP) { /* JS's request: not in flight here */
    stop_pair(ctx, p);
    return;
  }
  if (p->inflight)
    p->inflight--;
  if (kind != KIND_RECV && kind != KIND_SEND)
    return; /* SHUT, CANCEL, CLOSE: nothing follows from them */
  if (res < 0 || (kind == KIND_SEND && res == 0)) {
    p->state[d] = D_DONE;
    if (res != -E_CANCELED || !p->stopped)
      abort_pair(ctx, p, res);
    return;
  }
  if (p->aborted) {
    p->state[d] = D_DONE;
    return;
  }
  if (kind == KIND_RECV) {
    if (res == 0) { /* the source is done sending: pass the half-close on */
      p->state[d] = D_DONE;
      shut(ctx, p, p->fd[d ^ 1], SHUT_WR);
      return;
    }
    p->messages[d]++;
    p->len[d] = (__u32)res;
    p->off[d] = 0;
    dir_send(ctx, a, p, slot, d);
    return;
  }
  p->off[d] += (__u32)res;
  p->bytes[d] += (__u32)res;
  if (p->off[d] < p->len[d]) {
    p->short_sends++;
    dir_send(ctx, a, p, slot, d);
  } else {
    dir_recv(ctx, a, p, slot, d);
  }
}

SEC("iouring.s/relay")
int relay(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  __u32 slot = (__u32)ctx->user_data;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct pair *p = slot < MAX_PAIRS ? bpf_map_lookup_elem(&pairs, &slot) : 0;
  struct io_uring_cqe cqe;
  struct io_uring_sqe sqe;
  if (!a || !p || slot >= a->max_pairs)
    return -RF_EINVAL; /* completes the request with -EINVAL */
  if (!p->started) {
    p->started = 1;
    dir_recv(ctx, a, p, slot, 0);
    dir_recv(ctx, a, p, slot, 1);
  }
  for (int i = 0; i < MAX_REAP; i++) {
    if (iouring_reap_cqe(ctx, p->cq, &cqe, sizeof(cqe)) != 0)
      break;
    handle(ctx, a, p, slot, &cqe);
  }
  if (p->state[0] == D_DONE && p->state[1] == D_DONE && p->inflight == 0) {
    if (p->closing)
      return IORING_BPF_OK; /* both closed: the request completes */
    p->closing = 1;
    rf_prep_close(&sqe, p->fd[0]);
    submit(ctx, p, &sqe, KIND_CLOSE, 0);
    rf_prep_close(&sqe, p->fd[1]);
    if (submit(ctx, p, &sqe, KIND_CLOSE, 1) < 0)
      return IORING_BPF_OK;
  }
  ctx->wait_idx = p->cq;
  ctx->wait_nr = 1;
  return IORING_BPF_WAIT;
}
