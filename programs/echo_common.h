/* programs/echo_common.h: what the echo servers share (echo.bpf.c, echo_group.bpf.c,
 * echo_multi.bpf.c): the user_data layout, the state JS reads (src/net/programs.ts,
 * src/net/program-echo-group.ts), submitting on the server's CQ, accepting and its errors, and the
 * program's run: reap up to MAX_REAP CQEs of its CQ, handle() each, wait for the next.
 *
 * Include it after `struct args` (with listen_fd, backoff_ts, max_conns and cq) and `struct conn`
 * (with fd, gen, next_free and bytes), with ECHO_STATE_EXTRA defined as the program's own state
 * fields (or empty); define handle() and then ECHO_PROGRAM(name, accept ioprio).
 */
#ifndef RINGFLOW_ECHO_COMMON_H
#define RINGFLOW_ECHO_COMMON_H

#define MAX_CONNS 4096 /* entries of `conns`: the most args.max_conns may say */
#define MAX_REAP 256   /* CQEs handled per run; more: the wait for 1 is met at once, the next run goes on */

/* user_data = kind << 56 | generation << 24 | slot: a late CQE of a slot's previous occupant is
 * never taken for the current one */
#define KIND_ACCEPT 1ull
#define KIND_RECV 2ull
#define KIND_SEND 3ull
#define KIND_CLOSE 4ull
#define KIND_REFUSE 5ull  /* CLOSE of a connection refused for want of a slot */
#define KIND_CANCEL 6ull
#define KIND_BACKOFF 7ull /* TIMEOUT before re-arming ACCEPT after EMFILE/ENFILE/ENOBUFS/ENOMEM */
#define KIND_STOP 8ull    /* from JS */
#define KIND_LCLOSE 9ull  /* CLOSE of the listening socket's dup at the end */
#define KIND_RETRY 10ull  /* TIMEOUT before a RECV that found no buffer (group servers) */

#define SOCK_CLOEXEC 02000000
#define E_INTR 4
#define E_AGAIN 11
#define E_NOMEM 12
#define E_NFILE 23
#define E_MFILE 24
#define E_TIME 62
#define E_PROTO 71
#define E_CONNABORTED 103
#define E_NOBUFS 105
#define E_CANCELED 125

struct state {
  __u32 started, stopping, accepting, accept_armed;
  __u32 inflight, free_head, active, listen_closed;
  __u64 accepted, refused, closed, errors;
  __u64 bytes, messages, short_sends, accept_errors;
  __s64 last_error;
  __u64 runs;
  ECHO_STATE_EXTRA
};

RF_ARRAY_MAP(args, struct args, 1);
RF_ARRAY_MAP(state, struct state, 1);
RF_ARRAY_MAP(conns, struct conn, MAX_CONNS);

static __always_inline __u64 tag(__u64 kind, __u32 gen, __u32 slot) {
  return (kind << 56) | ((__u64)(gen & 0xffffffffu) << 24) | (slot & 0xffffffu);
}

/* Queues an SQE on the server's CQ. Accepted or refused by the policy, one CQE with `ud` comes
 * back (a refusal is an error CQE; a multishot request's last one ends it), so both count as in
 * flight. Below 0: the ring is closing. */
static __always_inline long submit(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct io_uring_sqe *sqe, __u64 ud) {
  sqe->user_data = ud;
  sqe->cq_idx = (__u16)a->cq;
  long r = iouring_queue_sqe(ctx, sqe, sizeof(*sqe));
  if (r >= 0)
    s->inflight++;
  return r;
}

static __always_inline void cancel(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __u64 target) {
  struct io_uring_sqe sqe;
  rf_prep_rw(&sqe, IORING_OP_ASYNC_CANCEL, -1, target, 0, 0);
  submit(ctx, s, a, &sqe, tag(KIND_CANCEL, 0, 0));
}

/* ioprio: 0, or IORING_ACCEPT_MULTISHOT (one request, a CQE per connection) */
static __always_inline void arm_accept(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __u16 ioprio) {
  struct io_uring_sqe sqe;
  if (s->stopping || !s->accepting || s->accept_armed)
    return;
  rf_prep_rw(&sqe, IORING_OP_ACCEPT, a->listen_fd, 0, 0, 0);
  sqe.accept_flags = SOCK_CLOEXEC;
  sqe.ioprio = ioprio;
  if (submit(ctx, s, a, &sqe, tag(KIND_ACCEPT, 0, 0)) >= 0)
    s->accept_armed = 1;
}

static __always_inline void accept_failed(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __s32 res, __u16 ioprio) {
  struct io_uring_sqe sqe;
  if (s->stopping || res == -E_CANCELED)
    return;
  s->accept_errors++;
  s->last_error = res;
  if (res == -E_CONNABORTED || res == -E_INTR || res == -E_AGAIN || res == -E_PROTO) {
    arm_accept(ctx, s, a, ioprio); /* that connection went away before it was accepted */
  } else if (res == -E_MFILE || res == -E_NFILE || res == -E_NOBUFS || res == -E_NOMEM) {
    /* out of fds or memory: retry after a pause rather than spin */
    rf_prep_timeout(&sqe, a->backoff_ts, 0, 0);
    submit(ctx, s, a, &sqe, tag(KIND_BACKOFF, 0, 0));
  } else {
    s->accepting = 0; /* the listening socket is gone or refuses: keep serving the connections */
  }
}

/* The server's own CQEs that need no connection: a refused connection's CLOSE or an ACCEPT
 * back-off ended (ACCEPT again), the listening socket's dup closed. True when `kind` was one. */
static __always_inline int server_cqe(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __u64 kind, __u16 ioprio) {
  if (kind == KIND_REFUSE || kind == KIND_BACKOFF) {
    arm_accept(ctx, s, a, ioprio);
    return 1;
  }
  if (kind == KIND_LCLOSE) {
    s->listen_closed = 1;
    return 1;
  }
  return 0;
}

/* A CQE of one of a connection's requests (the rest, KIND_CANCEL, say nothing: the target's own
 * CQE says what happened). */
static __always_inline int conn_kind(__u64 kind) {
  return kind == KIND_RECV || kind == KIND_SEND || kind == KIND_CLOSE || kind == KIND_RETRY;
}

/* The start of a stop: false when already stopping; else the ACCEPT is cancelled, and the caller
 * cancels its connections' requests. */
static __always_inline int begin_stop(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a) {
  if (s->stopping)
    return 0;
  s->stopping = 1;
  if (s->accept_armed)
    cancel(ctx, s, a, tag(KIND_ACCEPT, 0, 0));
  return 1;
}

/* A connection just accepted: its slot (taken off the free list, a new generation), or NULL when
 * there is none or the server is stopping: then it is closed at once (the next ACCEPT of a
 * single-shot server is armed when that CLOSE completes). */
static __always_inline struct conn *take_slot(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __s32 fd, __u32 *slot_out) {
  struct io_uring_sqe sqe;
  __u32 slot = s->free_head;
  struct conn *c = slot < a->max_conns ? bpf_map_lookup_elem(&conns, &slot) : 0;
  s->accepted++;
  if (!c || s->stopping) {
    s->refused++;
    rf_prep_close(&sqe, fd);
    submit(ctx, s, a, &sqe, tag(KIND_REFUSE, 0, 0));
    return 0;
  }
  s->free_head = c->next_free;
  s->active++;
  c->fd = fd;
  c->gen++;
  c->bytes = 0;
  *slot_out = slot;
  return c;
}

/* The program: ACCEPT armed on the first run (with `ioprio`), then each run handles up to MAX_REAP
 * CQEs of the server's CQ and waits for the next; once stopping with nothing in flight it closes
 * its dup of the listening socket and the request completes. */
#define ECHO_PROGRAM(name, ioprio)                                        \
  SEC("iouring.s/" #name)                                                 \
  int name(struct io_uring_bpf_ctx *ctx) {                                \
    __u32 key = 0;                                                        \
    struct args *a = bpf_map_lookup_elem(&args, &key);                    \
    struct state *s = bpf_map_lookup_elem(&state, &key);                  \
    struct io_uring_cqe cqe;                                              \
    if (!a || !s)                                                         \
      return IORING_BPF_OK;                                               \
    s->runs++;                                                            \
    if (!s->started) {                                                    \
      s->started = 1;                                                     \
      s->accepting = 1;                                                   \
      arm_accept(ctx, s, a, ioprio);                                      \
    }                                                                     \
    for (int i = 0; i < MAX_REAP; i++) {                                  \
      if (iouring_reap_cqe(ctx, a->cq, &cqe, sizeof(cqe)) != 0)           \
        break;                                                            \
      handle(ctx, s, a, &cqe);                                            \
    }                                                                     \
    if (s->stopping && s->inflight == 0) {                                \
      if (s->listen_closed)                                               \
        return IORING_BPF_OK; /* everything closed: the request completes */ \
      struct io_uring_sqe sqe;                                            \
      rf_prep_close(&sqe, a->listen_fd);                                  \
      if (submit(ctx, s, a, &sqe, tag(KIND_LCLOSE, 0, 0)) < 0)            \
        return IORING_BPF_OK;                                             \
    }                                                                     \
    ctx->wait_idx = a->cq;                                                \
    ctx->wait_nr = 1;                                                     \
    return IORING_BPF_WAIT;                                               \
  }

#endif
