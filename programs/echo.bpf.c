/* programs/echo.bpf.c: a TCP echo server run by a completion program (shipped prebuilt as
 * echo.bpf.o; src/net/programs.ts serveEcho(), examples/echo-program.ts).
 *
 * One program request serves a listening socket JS allowed (ring.allowFd) and every connection it
 * accepts, with no JavaScript per connection or per message. It runs as an event loop on its own
 * completion queue (args.cq): each run reaps the CQEs there, dispatches them by user_data, submits
 * what follows, and waits for the next CQE.
 *
 *   ACCEPT (single-shot, re-armed by the program)  → a free connection slot, RECV into its buffer
 *   RECV n > 0  → SEND the n bytes; a short SEND sends the rest; then RECV again
 *   RECV 0 (peer closed), RECV/SEND < 0 (reset, EPIPE…) → CLOSE that connection only
 *   no free slot → the new connection is accepted and closed at once (refused, counted); the next
 *                  ACCEPT is armed when that CLOSE completes
 *   a CQE with KIND_STOP (JS: a NOP that names the CQ) → stop accepting, cancel every request,
 *                  close every connection and the listening dup; the request then completes (res 0)
 *
 * user_data = kind << 56 | generation << 24 | slot: per-connection state lives in the `conns` map
 * at index `slot`; the generation tells a CQE of an earlier occupant of the slot from the current
 * one. Each connection has exactly one request in flight (RECV, SEND or CLOSE), so the CQ never
 * holds more than 2 × max_conns + 8 CQEs (with the cancels of a stop): JS sizes it so.
 * Accepted fds are the program's own (the engine allows them to it; its CLOSE takes that back).
 *
 * Buffers: connection `slot` uses [args.buf + slot × buf_size, + buf_size) of a registered region.
 */
#include <ringflow/bpf.h>

#define S_FREE 0
#define S_RECV 1
#define S_SEND 2
#define S_CLOSING 3

struct args {
  __u64 buf;        /* first connection buffer (writable registered region) */
  __u64 backoff_ts; /* struct __kernel_timespec inside a registered region */
  __s32 listen_fd;  /* allowed with ring.allowFd */
  __u32 buf_size;
  __u32 max_conns;  /* <= MAX_CONNS, and the region holds max_conns buffers */
  __u32 cq;         /* this server's completion queue */
};

struct conn {
  __s32 fd;
  __u32 state;
  __u32 gen;
  __u32 len; /* bytes in the buffer (last RECV) */
  __u32 off; /* of them, sent */
  __u32 next_free; /* free list (JS links it before the first run) */
  __u64 bytes;     /* echoed on this connection */
};

#define ECHO_STATE_EXTRA
#include "echo_common.h"

static __always_inline void conn_recv(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot) {
  struct io_uring_sqe sqe;
  c->state = S_RECV;
  rf_prep_rw(&sqe, IORING_OP_RECV, c->fd, a->buf + (__u64)slot * a->buf_size, a->buf_size, 0);
  submit(ctx, s, a, &sqe, tag(KIND_RECV, c->gen, slot));
}

static __always_inline void conn_send(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot) {
  struct io_uring_sqe sqe;
  c->state = S_SEND;
  rf_prep_rw(&sqe, IORING_OP_SEND, c->fd, a->buf + (__u64)slot * a->buf_size + c->off, c->len - c->off, 0);
  submit(ctx, s, a, &sqe, tag(KIND_SEND, c->gen, slot));
}

static __always_inline void conn_close(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot) {
  struct io_uring_sqe sqe;
  c->state = S_CLOSING;
  rf_prep_close(&sqe, c->fd);
  submit(ctx, s, a, &sqe, tag(KIND_CLOSE, c->gen, slot));
}

/* A new connection: a free slot and its first RECV, or refused (closed at once). */
static __always_inline void accepted(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __s32 fd) {
  __u32 slot = 0;
  struct conn *c = take_slot(ctx, s, a, fd, &slot);
  if (!c)
    return;
  c->len = c->off = 0;
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
  }
}

static __always_inline void handle(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct io_uring_cqe *cqe) {
  __u64 kind = cqe->user_data >> 56;
  __u32 gen = (__u32)(cqe->user_data >> 24);
  __u32 slot = (__u32)cqe->user_data & 0xffffffu;
  __s32 res = cqe->res;
  if (kind == KIND_STOP) { /* JS's request, not one of ours: not in flight */
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
  if (res < 0 || (kind == KIND_SEND && res == 0)) {
    if (res != -E_CANCELED || !s->stopping) {
      s->errors++;
      s->last_error = res;
    }
    conn_close(ctx, s, a, c, slot);
    return;
  }
  if (s->stopping || res == 0) { /* res 0 on RECV: the peer closed */
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
  /* SEND: the rest of a short send, or the next RECV */
  c->off += (__u32)res;
  c->bytes += (__u32)res;
  s->bytes += (__u32)res;
  if (c->off < c->len) {
    s->short_sends++;
    conn_send(ctx, s, a, c, slot);
  } else {
    conn_recv(ctx, s, a, c, slot);
  }
}

ECHO_PROGRAM(echo, 0)
