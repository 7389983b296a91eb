/* programs/echo_group.bpf.c: the TCP echo server of echo.bpf.c with its receive buffers chosen by
 * the kernel from a provided-buffer group JS granted (ring.allowBufferGroup; shipped prebuilt as
 * echo_group.bpf.o; src/net/program-echo-group.ts serveEchoFromGroup()).
 *
 * Instead of one buffer per connection, a connection holds a buffer only between a RECV that
 * brought data and the SEND that echoed it:
 *
 *   RECV (IOSQE_BUFFER_SELECT, buf_group = args.group) n > 0: the CQE names buffer bid
 *        (flags >> 16), which is the programs' from then on → SEND the n bytes straight out of it
 *        (group base + bid × size: the policy lets a SEND name a buffer programs hold, and keeps
 *        it theirs until that SEND ends); a short SEND sends the rest
 *   SEND done → rf_buf_return(bid): the engine writes the ring entry; then RECV again
 *   RECV -ENOBUFS (every buffer held): a short TIMEOUT, then RECV again
 *   RECV 0, errors → give back the buffer if one is held, CLOSE
 *
 * Accepting, refusing beyond max_conns, stopping and the user_data layout are echo.bpf.c's.
 */
#include <ringflow/bpf.h>
#include <ringflow/buffers.h>

#define S_FREE 0
#define S_RECV 1
#define S_SEND 2
#define S_CLOSING 3
#define S_RETRY 4

#define NO_BUF 0xffffffffu

struct args {
  __u64 group_base; /* the group's first buffer */
  __u64 backoff_ts; /* struct __kernel_timespec inside a registered region */
  __s32 listen_fd;
  __u32 buf_size;   /* the group's buffer size */
  __u32 max_conns;
  __u32 cq;
  __u32 group;      /* the group id (bgid) */
  __u32 nbufs;      /* buffers in the group */
};

struct conn {
  __s32 fd;
  __u32 state;
  __u32 gen;
  __u32 len;
  __u32 off;
  __u32 next_free;
  __u64 bytes;
  __u32 bid; /* the buffer this connection holds, or NO_BUF */
  __u32 _pad;
};

#define ECHO_STATE_EXTRA __u64 returned, nobufs, return_errors;
#include "echo_common.h"

/* Gives the connection's buffer back to the group (the engine writes the ring entry). */
static __always_inline void give_back(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c) {
  if (c->bid == NO_BUF)
    return;
  if (rf_buf_return(ctx, a->group, c->bid) == 0)
    s->returned++;
  else
    s->return_errors++;
  c->bid = NO_BUF;
}

static __always_inline void conn_recv(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot) {
  struct io_uring_sqe sqe;
  c->state = S_RECV;
  rf_prep_rw(&sqe, IORING_OP_RECV, c->fd, 0, 0, 0); /* the kernel picks the buffer: addr 0, len 0 = all of it */
  sqe.flags = IOSQE_BUFFER_SELECT;
  sqe.buf_group = (__u16)a->group;
  submit(ctx, s, a, &sqe, tag(KIND_RECV, c->gen, slot));
}

static __always_inline void conn_send(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot) {
  struct io_uring_sqe sqe;
  c->state = S_SEND;
  rf_prep_rw(&sqe, IORING_OP_SEND, c->fd, a->group_base + (__u64)c->bid * a->buf_size + c->off, c->len - c->off, 0);
  submit(ctx, s, a, &sqe, tag(KIND_SEND, c->gen, slot));
}

static __always_inline void conn_close(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot) {
  struct io_uring_sqe sqe;
  give_back(ctx, s, a, c);
  c->state = S_CLOSING;
  rf_prep_close(&sqe, c->fd);
  submit(ctx, s, a, &sqe, tag(KIND_CLOSE, c->gen, slot));
}

static __always_inline void accepted(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __s32 fd) {
  __u32 slot = 0;
  struct conn *c = take_slot(ctx, s, a, fd, &slot);
  if (!c)
    return;
  c->len = c->off = 0;
  c->bid = NO_BUF;
  conn_recv(ctx, s, a, c, slot);
  arm_accept(ctx, s, a, 0);
}

static __always_inline void stop(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a) {
  if (!begin_stop(ctx, s, a))
    return;
  for (__u32 i = 0; i < MAX_CONNS && i < a->max_conns; i++) {
    __u32 k = i;
    struct conn *c = bpf_map_lookup_elem(&conns, &k);
    if (!c)
      break;
    if (c->state == S_RECV)
      cancel(ctx, s, a, tag(KIND_RECV, c->gen, i));
    else if (c->state == S_SEND)
      cancel(ctx, s, a, tag(KIND_SEND, c->gen, i));
    else if (c->state == S_RETRY)
      cancel(ctx, s, a, tag(KIND_RETRY, c->gen, i));
  }
}

static __always_inline void handle(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct io_uring_cqe *cqe) {
  __u64 kind = cqe->user_data >> 56;
  __u32 gen = (__u32)(cqe->user_data >> 24);
  __u32 slot = (__u32)cqe->user_data & 0xffffffu;
  __s32 res = cqe->res;
  if (kind == KIND_STOP) {
    stop(ctx, s, a);
    return;
  }
  if (s->inflight)
    s->inflight--;
  if (kind == KIND_ACCEPT) {
    s->accept_armed = 0;
    if (res >= 0)
      accepted(ctx, s, a, res);
    else
      accept_failed(ctx, s, a, res, 0);
    return;
  }
  if (server_cqe(ctx, s, a, kind, 0) || !conn_kind(kind))
    return;
  struct conn *c = slot < a->max_conns ? bpf_map_lookup_elem(&conns, &slot) : 0;
  if (!c || c->gen != gen)
    return;
  if (kind == KIND_CLOSE) {
    c->state = S_FREE;
    c->fd = -1;
    c->next_free = s->free_head;
    s->free_head = slot;
    s->active--;
    s->closed++;
    return;
  }
  if (kind == KIND_RETRY) { /* the pause after -ENOBUFS is over (-ETIME) or was cancelled */
    if (s->stopping || (res < 0 && res != -E_TIME))
      conn_close(ctx, s, a, c, slot);
    else
      conn_recv(ctx, s, a, c, slot);
    return;
  }
  /* a RECV's CQE may name a buffer even at EOF: it is ours to give back */
  if (kind == KIND_RECV && (cqe->flags & IORING_CQE_F_BUFFER))
    c->bid = cqe->flags >> RF_CQE_BUFFER_SHIFT;
  if (kind == KIND_RECV && res == -E_NOBUFS && !s->stopping) {
    struct io_uring_sqe sqe;
    s->nobufs++;
    c->state = S_RETRY;
    rf_prep_timeout(&sqe, a->backoff_ts, 0, 0);
    submit(ctx, s, a, &sqe, tag(KIND_RETRY, c->gen, slot));
    return;
  }
  if (res < 0 || (kind == KIND_SEND && res == 0)) {
    if (res != -E_CANCELED || !s->stopping) {
      s->errors++;
      s->last_error = res;
    }
    conn_close(ctx, s, a, c, slot);
    return;
  }
  if (s->stopping || res == 0 || c->bid >= a->nbufs) {
    conn_close(ctx, s, a, c, slot);
    return;
  }
  if (kind == KIND_RECV) {
    s->messages++;
    c->len = (__u32)res;
    c->off = 0;
    conn_send(ctx, s, a, c, slot);
    return;
  }
  c->off += (__u32)res;
  c->bytes += (__u32)res;
  s->bytes += (__u32)res;
  if (c->off < c->len) {
    s->short_sends++;
    conn_send(ctx, s, a, c, slot);
  } else {
    give_back(ctx, s, a, c);
    conn_recv(ctx, s, a, c, slot);
  }
}

ECHO_PROGRAM(echo_group, 0)
