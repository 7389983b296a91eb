/* programs/echo_multi.bpf.c: the TCP echo server of echo_group.bpf.c on multishot requests
 * (shipped prebuilt as echo_multi.bpf.o; src/net/program-echo-group.ts
 * serveEchoFromGroup(..., { multishot: true })).
 *
 * One multishot ACCEPT for the server and one multishot RECV per connection, armed once: the
 * kernel posts a CQE per connection and per receive until the request ends, so the program submits
 * only its SENDs. Each RECV CQE names a buffer of the granted group (the programs' from that CQE
 * on, docs/completion-programs.md):
 *
 *   RECV n > 0 (bid): queued on the connection (per-buffer links in `bufs`); the connection sends
 *        one buffer at a time, in order (a short SEND sends the rest first), and gives each back
 *        (rf_buf_return) when it is sent
 *   RECV without IORING_CQE_F_MORE: the request ended. Data in it is queued as above; then
 *        -ENOBUFS (every buffer held) → RECV again once this connection's queue is sent (its
 *        buffers are back), or after a short TIMEOUT if it held none; a data CQE (the kernel
 *        ended it for its own reasons) → RECV again at once; 0 (the peer closed) or an error →
 *        the connection closes once its queued sends are done (errors: at once, buffers given back)
 *   ACCEPT without F_MORE: as a single ACCEPT's error in echo_group.bpf.c, then ACCEPT again
 *
 * A connection closes only when none of its requests is in the kernel (RECV ended, no SEND, no
 * TIMEOUT), so no CQE can arrive for a slot that serves someone else; the generation in user_data
 * guards that too. Stopping cancels the ACCEPT and every connection's requests.
 */
#include <ringflow/bpf.h>
#include <ringflow/buffers.h>

#define MAX_CONNS 4096
#define MAX_BUFS 32768 /* the most a ring-mapped group holds */
#define MAX_REAP 256

#define KIND_ACCEPT 1ull
#define KIND_RECV 2ull
#define KIND_SEND 3ull
#define KIND_CLOSE 4ull
#define KIND_REFUSE 5ull
#define KIND_CANCEL 6ull
#define KIND_BACKOFF 7ull
#define KIND_STOP 8ull
#define KIND_LCLOSE 9ull
#define KIND_RETRY 10ull

/* connection flags: which of its requests are in the kernel, and how it ends */
#define C_USED 1u
#define C_RECV 2u    /* the multishot RECV is armed */
#define C_SEND 4u    /* a SEND is in flight */
#define C_RETRY 8u   /* a TIMEOUT before the next RECV is armed */
#define C_EOF 16u    /* the peer closed: close once the queue is sent */
#define C_CLOSING 32u
#define C_FAILED 64u /* an error: queued buffers go back unsent */
#define C_STARVED 128u /* -ENOBUFS while sending: RECV again once the queue is sent */

#define NO_BUF 0xffffffffu
#define SOCK_CLOEXEC 02000000
#define RECV_MULTISHOT (1u << 1)   /* IORING_RECV_MULTISHOT, sqe->ioprio (6.0) */
#define ACCEPT_MULTISHOT (1u << 0) /* IORING_ACCEPT_MULTISHOT, sqe->ioprio (5.19) */
#define E_INTR 4
#define E_AGAIN 11
#define E_NOMEM 12
#define E_NFILE 23
#define E_MFILE 24
#define E_PROTO 71
#define E_CONNABORTED 103
#define E_NOBUFS 105
#define E_CANCELED 125
#define E_TIME 62

struct args {
  __u64 group_base;
  __u64 backoff_ts;
  __s32 listen_fd;
  __u32 buf_size;
  __u32 max_conns;
  __u32 cq;
  __u32 group;
  __u32 nbufs;
};

/* 40 bytes; fd @0 and gen @4 as every serving program's map (closeLeftoverConns) */
struct conn {
  __s32 fd;
  __u32 gen;
  __u32 flags;
  __u32 qhead; /* buffers received and not yet sent: qhead → bufs[].next → … → qtail */
  __u32 qtail;
  __u32 next_free;
  __u32 off;   /* bytes of qhead's buffer sent */
  __u32 _pad;
  __u64 bytes;
};

struct buf {
  __u32 next;
  __u32 len;
};

/* the same layout as echo_group.bpf.c's (src/net/program-echo-group.ts reads both) */
struct state {
  __u32 started, stopping, accepting, accept_armed;
  __u32 inflight, free_head, active, listen_closed;
  __u64 accepted, refused, closed, errors;
  __u64 bytes, messages, short_sends, accept_errors;
  __s64 last_error;
  __u64 runs;
  __u64 returned, nobufs, return_errors;
};

RF_ARRAY_MAP(args, struct args, 1);
RF_ARRAY_MAP(state, struct state, 1);
RF_ARRAY_MAP(conns, struct conn, MAX_CONNS);
RF_ARRAY_MAP(bufs, struct buf, MAX_BUFS);

static __always_inline __u64 tag(__u64 kind, __u32 gen, __u32 slot) {
  return (kind << 56) | ((__u64)(gen & 0xffffffffu) << 24) | (slot & 0xffffffu);
}

static __always_inline long submit(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct io_uring_sqe *sqe, __u64 ud) {
  sqe->user_data = ud;
  sqe->cq_idx = (__u16)a->cq;
  long r = iouring_queue_sqe(ctx, sqe, sizeof(*sqe));
  if (r >= 0)
    s->inflight++;
  return r;
}

static __always_inline void arm_accept(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a) {
  struct io_uring_sqe sqe;
  if (s->stopping || !s->accepting || s->accept_armed)
    return;
  rf_prep_rw(&sqe, IORING_OP_ACCEPT, a->listen_fd, 0, 0, 0);
  sqe.accept_flags = SOCK_CLOEXEC;
  sqe.ioprio = ACCEPT_MULTISHOT;
  if (submit(ctx, s, a, &sqe, tag(KIND_ACCEPT, 0, 0)) >= 0)
    s->accept_armed = 1;
}

static __always_inline void give_back(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __u32 bid) {
  if (rf_buf_return(ctx, a->group, bid) == 0)
    s->returned++;
  else
    s->return_errors++;
}

static __always_inline void arm_recv(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot) {
  struct io_uring_sqe sqe;
  rf_prep_rw(&sqe, IORING_OP_RECV, c->fd, 0, 0, 0);
  sqe.flags = IOSQE_BUFFER_SELECT;
  sqe.buf_group = (__u16)a->group;
  sqe.ioprio = RECV_MULTISHOT;
  if (submit(ctx, s, a, &sqe, tag(KIND_RECV, c->gen, slot)) >= 0)
    c->flags |= C_RECV;
}

static __always_inline void send_head(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot) {
  struct io_uring_sqe sqe;
  __u32 bid = c->qhead;
  struct buf *b = bpf_map_lookup_elem(&bufs, &bid);
  if (!b || bid >= a->nbufs)
    return;
  rf_prep_rw(&sqe, IORING_OP_SEND, c->fd, a->group_base + (__u64)bid * a->buf_size + c->off, b->len - c->off, 0);
  if (submit(ctx, s, a, &sqe, tag(KIND_SEND, c->gen, slot)) >= 0)
    c->flags |= C_SEND;
}

/* Gives back every queued buffer (a connection that failed). */
static __always_inline void drop_queue(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c) {
  for (int i = 0; i < MAX_BUFS && c->qhead != NO_BUF; i++) {
    __u32 bid = c->qhead;
    struct buf *b = bpf_map_lookup_elem(&bufs, &bid);
    give_back(ctx, s, a, bid);
    c->qhead = b ? b->next : NO_BUF;
  }
  c->qhead = c->qtail = NO_BUF;
  c->off = 0;
}

/* Closes the connection once none of its requests is in the kernel. */
static __always_inline void maybe_close(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot) {
  struct io_uring_sqe sqe;
  if (c->flags & (C_RECV | C_SEND | C_RETRY | C_CLOSING))
    return;
  if (!(c->flags & C_EOF) && !s->stopping)
    return;
  if (c->qhead != NO_BUF && !s->stopping)
    return; /* the peer closed: what it sent is still echoed first */
  drop_queue(ctx, s, a, c);
  c->flags |= C_CLOSING;
  rf_prep_close(&sqe, c->fd);
  submit(ctx, s, a, &sqe, tag(KIND_CLOSE, c->gen, slot));
}

static __always_inline void fail(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot, __s32 res) {
  struct io_uring_sqe sqe;
  if (!(c->flags & C_FAILED) && (res != -E_CANCELED || !s->stopping)) {
    s->errors++;
    s->last_error = res;
  }
  c->flags |= C_FAILED;
  if (!(c->flags & C_EOF)) {
    c->flags |= C_EOF;
    /* the other requests end too (an armed RECV, a SEND in flight): then the connection closes */
    if (c->flags & C_RECV) {
      rf_prep_rw(&sqe, IORING_OP_ASYNC_CANCEL, -1, tag(KIND_RECV, c->gen, slot), 0, 0);
      submit(ctx, s, a, &sqe, tag(KIND_CANCEL, 0, 0));
    }
  }
  if (!(c->flags & C_SEND))
    drop_queue(ctx, s, a, c);
  maybe_close(ctx, s, a, c, slot);
}

static __always_inline void accepted(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __s32 fd) {
  struct io_uring_sqe sqe;
  __u32 slot = s->free_head;
  struct conn *c = slot < a->max_conns ? bpf_map_lookup_elem(&conns, &slot) : 0;
  s->accepted++;
  if (!c || s->stopping) {
    s->refused++;
    rf_prep_close(&sqe, fd);
    submit(ctx, s, a, &sqe, tag(KIND_REFUSE, 0, 0));
    return;
  }
  s->free_head = c->next_free;
  s->active++;
  c->fd = fd;
  c->gen++;
  c->flags = C_USED;
  c->qhead = c->qtail = NO_BUF;
  c->off = 0;
  c->bytes = 0;
  arm_recv(ctx, s, a, c, slot);
}

static __always_inline void accept_ended(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __s32 res) {
  struct io_uring_sqe sqe;
  if (s->stopping || res == -E_CANCELED)
    return;
  if (res >= 0) {
    arm_accept(ctx, s, a);
    return;
  }
  s->accept_errors++;
  s->last_error = res;
  if (res == -E_CONNABORTED || res == -E_INTR || res == -E_AGAIN || res == -E_PROTO) {
    arm_accept(ctx, s, a);
  } else if (res == -E_MFILE || res == -E_NFILE || res == -E_NOBUFS || res == -E_NOMEM) {
    rf_prep_timeout(&sqe, a->backoff_ts, 0, 0);
    submit(ctx, s, a, &sqe, tag(KIND_BACKOFF, 0, 0));
  } else {
    s->accepting = 0;
  }
}

static __always_inline void stop(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a) {
  struct io_uring_sqe sqe;
  if (s->stopping)
    return;
  s->stopping = 1;
  if (s->accept_armed) {
    rf_prep_rw(&sqe, IORING_OP_ASYNC_CANCEL, -1, tag(KIND_ACCEPT, 0, 0), 0, 0);
    submit(ctx, s, a, &sqe, tag(KIND_CANCEL, 0, 0));
  }
  for (__u32 i = 0; i < MAX_CONNS && i < a->max_conns; i++) {
    __u32 k = i;
    struct conn *c = bpf_map_lookup_elem(&conns, &k);
    if (!c)
      break;
    if (!(c->flags & C_USED))
      continue;
    /* ASYNC_CANCEL_ALL by user_data would need flags; one cancel per request kind in flight */
    if (c->flags & C_RECV) {
      rf_prep_rw(&sqe, IORING_OP_ASYNC_CANCEL, -1, tag(KIND_RECV, c->gen, i), 0, 0);
      submit(ctx, s, a, &sqe, tag(KIND_CANCEL, 0, 0));
    }
    if (c->flags & C_SEND) {
      rf_prep_rw(&sqe, IORING_OP_ASYNC_CANCEL, -1, tag(KIND_SEND, c->gen, i), 0, 0);
      submit(ctx, s, a, &sqe, tag(KIND_CANCEL, 0, 0));
    }
    if (c->flags & C_RETRY) {
      rf_prep_rw(&sqe, IORING_OP_ASYNC_CANCEL, -1, tag(KIND_RETRY, c->gen, i), 0, 0);
      submit(ctx, s, a, &sqe, tag(KIND_CANCEL, 0, 0));
    }
    maybe_close(ctx, s, a, c, i);
  }
}

static __always_inline void on_recv(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot, struct io_uring_cqe *cqe) {
  struct io_uring_sqe sqe;
  __s32 res = cqe->res;
  int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (!more)
    c->flags &= ~C_RECV;
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    __u32 bid = cqe->flags >> RF_CQE_BUFFER_SHIFT;
    struct buf *b = bpf_map_lookup_elem(&bufs, &bid);
    if (!b || bid >= a->nbufs)
      return;
    if (res <= 0 || (c->flags & C_EOF) || s->stopping) {
      give_back(ctx, s, a, bid); /* no bytes to echo (or nobody to echo them to) */
    } else {
      s->messages++;
      b->next = NO_BUF;
      b->len = (__u32)res;
      if (c->qtail == NO_BUF) {
        c->qhead = bid;
      } else {
        __u32 t = c->qtail;
        struct buf *tb = bpf_map_lookup_elem(&bufs, &t);
        if (tb)
          tb->next = bid;
      }
      c->qtail = bid;
      if (!(c->flags & C_SEND) && c->qhead == bid) {
        c->off = 0;
        send_head(ctx, s, a, c, slot);
      }
    }
  }
  if (more)
    return;
  if (s->stopping || (c->flags & C_EOF)) {
    maybe_close(ctx, s, a, c, slot);
  } else if (res == -E_NOBUFS) {
    s->nobufs++;
    if (c->flags & C_SEND) {
      c->flags |= C_STARVED;
    } else {
      rf_prep_timeout(&sqe, a->backoff_ts, 0, 0);
      if (submit(ctx, s, a, &sqe, tag(KIND_RETRY, c->gen, slot)) >= 0)
        c->flags |= C_RETRY;
    }
  } else if (res > 0) {
    arm_recv(ctx, s, a, c, slot);
  } else if (res == 0) {
    c->flags |= C_EOF;
    maybe_close(ctx, s, a, c, slot);
  } else {
    fail(ctx, s, a, c, slot, res);
  }
}

static __always_inline void on_send(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct conn *c, __u32 slot, __s32 res) {
  c->flags &= ~C_SEND;
  if (res <= 0 || s->stopping || (c->flags & C_FAILED)) {
    fail(ctx, s, a, c, slot, res == 0 ? -E_PROTO : res > 0 ? -E_CANCELED : res);
    return;
  }
  __u32 bid = c->qhead;
  struct buf *b = bpf_map_lookup_elem(&bufs, &bid);
  if (!b)
    return;
  c->off += (__u32)res;
  c->bytes += (__u32)res;
  s->bytes += (__u32)res;
  if (c->off < b->len) {
    s->short_sends++;
    send_head(ctx, s, a, c, slot);
    return;
  }
  c->qhead = b->next;
  if (c->qhead == NO_BUF)
    c->qtail = NO_BUF;
  c->off = 0;
  give_back(ctx, s, a, bid);
  if (c->qhead != NO_BUF) {
    send_head(ctx, s, a, c, slot);
  } else if (c->flags & C_STARVED) {
    c->flags &= ~C_STARVED;
    if (!(c->flags & C_EOF))
      arm_recv(ctx, s, a, c, slot);
  } else {
    maybe_close(ctx, s, a, c, slot);
  }
}

static __always_inline void handle(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, struct io_uring_cqe *cqe) {
  __u64 kind = cqe->user_data >> 56;
  __u32 gen = (__u32)(cqe->user_data >> 24);
  __u32 slot = (__u32)cqe->user_data & 0xffffffu;
  __s32 res = cqe->res;
  int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (kind == KIND_STOP) {
    stop(ctx, s, a);
    return;
  }
  /* a request's last CQE (a single-shot one's only) */
  if (!more && s->inflight)
    s->inflight--;
  if (kind == KIND_ACCEPT) {
    if (!more)
      s->accept_armed = 0;
    if (res >= 0)
      accepted(ctx, s, a, res);
    if (!more)
      accept_ended(ctx, s, a, res);
    return;
  }
  switch (kind) {
  case KIND_REFUSE:
  case KIND_BACKOFF:
    arm_accept(ctx, s, a);
    return;
  case KIND_LCLOSE:
    s->listen_closed = 1;
    return;
  case KIND_RECV:
  case KIND_SEND:
  case KIND_CLOSE:
  case KIND_RETRY:
    break;
  default:
    return;
  }
  struct conn *c = slot < a->max_conns ? bpf_map_lookup_elem(&conns, &slot) : 0;
  if (!c || c->gen != gen) {
    /* a buffer the kernel picked for a request of a slot's previous occupant: give it back */
    if (kind == KIND_RECV && (cqe->flags & IORING_CQE_F_BUFFER))
      give_back(ctx, s, a, cqe->flags >> RF_CQE_BUFFER_SHIFT);
    return;
  }
  if (kind == KIND_CLOSE) {
    c->flags = 0;
    c->fd = -1;
    c->next_free = s->free_head;
    s->free_head = slot;
    s->active--;
    s->closed++;
    return;
  }
  if (kind == KIND_RETRY) {
    c->flags &= ~C_RETRY;
    if (s->stopping || (c->flags & C_EOF) || (res < 0 && res != -E_TIME))
      maybe_close(ctx, s, a, c, slot);
    else
      arm_recv(ctx, s, a, c, slot);
    return;
  }
  if (kind == KIND_RECV)
    on_recv(ctx, s, a, c, slot, cqe);
  else
    on_send(ctx, s, a, c, slot, res);
}

SEC("iouring.s/echo_multi")
int echo_multi(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct state *s = bpf_map_lookup_elem(&state, &key);
  struct io_uring_cqe cqe;
  if (!a || !s)
    return IORING_BPF_OK;
  s->runs++;
  if (!s->started) {
    s->started = 1;
    s->accepting = 1;
    arm_accept(ctx, s, a);
  }
  for (int i = 0; i < MAX_REAP; i++) {
    if (iouring_reap_cqe(ctx, a->cq, &cqe, sizeof(cqe)) != 0)
      break;
    handle(ctx, s, a, &cqe);
  }
  if (s->stopping && s->inflight == 0) {
    if (s->listen_closed)
      return IORING_BPF_OK;
    struct io_uring_sqe sqe;
    rf_prep_close(&sqe, a->listen_fd);
    if (submit(ctx, s, a, &sqe, tag(KIND_LCLOSE, 0, 0)) < 0)
      return IORING_BPF_OK;
  }
  ctx->wait_idx = a->cq;
  ctx->wait_nr = 1;
  return IORING_BPF_WAIT;
}
