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

#define MAX_BUFS 32768 /* the most a ring-mapped group holds */

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
#define RECV_MULTISHOT (1u << 1)   /* IORING_RECV_MULTISHOT, sqe->ioprio (6.0) */
#define ACCEPT_MULTISHOT (1u << 0) /* IORING_ACCEPT_MULTISHOT, sqe->ioprio (5.19) */

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

/* 40 bytes; fd @0 and gen @4 as in every echo program's map */
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

/* the state of echo_group.bpf.c (src/net/program-echo-group.ts reads both) */
#define ECHO_STATE_EXTRA __u64 returned, nobufs, return_errors;
#include "echo_common.h"

struct buf {
  __u32 next;
  __u32 len;
};

RF_ARRAY_MAP(bufs, struct buf, MAX_BUFS);

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
  if (!(c->flags & C_FAILED) && (res != -E_CANCELED || !s->stopping)) {
    s->errors++;
    s->last_error = res;
  }
  c->flags |= C_FAILED;
  if (!(c->flags & C_EOF)) {
    c->flags |= C_EOF;
    /* the other requests end too (an armed RECV, a SEND in flight): then the connection closes */
    if (c->flags & C_RECV)
      cancel(ctx, s, a, tag(KIND_RECV, c->gen, slot));
  }
  if (!(c->flags & C_SEND))
    drop_queue(ctx, s, a, c);
  maybe_close(ctx, s, a, c, slot);
}

static __always_inline void accepted(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __s32 fd) {
  __u32 slot = 0;
  struct conn *c = take_slot(ctx, s, a, fd, &slot);
  if (!c)
    return;
  c->flags = C_USED;
  c->qhead = c->qtail = NO_BUF;
  c->off = 0;
  arm_recv(ctx, s, a, c, slot);
}

/* The multishot ACCEPT ended (its CQE without F_MORE): armed again, or its error handled. */
static __always_inline void accept_ended(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a, __s32 res) {
  if (res >= 0 && !s->stopping)
    arm_accept(ctx, s, a, ACCEPT_MULTISHOT);
  else
    accept_failed(ctx, s, a, res, ACCEPT_MULTISHOT);
}

static __always_inline void stop(struct io_uring_bpf_ctx *ctx, struct state *s, struct args *a) {
  if (!begin_stop(ctx, s, a))
    return;
  for (__u32 i = 0; i < MAX_CONNS && i < a->max_conns; i++) {
    __u32 k = i;
    struct conn *c = bpf_map_lookup_elem(&conns, &k);
    if (!c)
      break;
    if (!(c->flags & C_USED))
      continue;
    /* one cancel per request of it in the kernel */
    if (c->flags & C_RECV)
      cancel(ctx, s, a, tag(KIND_RECV, c->gen, i));
    if (c->flags & C_SEND)
      cancel(ctx, s, a, tag(KIND_SEND, c->gen, i));
    if (c->flags & C_RETRY)
      cancel(ctx, s, a, tag(KIND_RETRY, c->gen, i));
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
  if (server_cqe(ctx, s, a, kind, ACCEPT_MULTISHOT) || !conn_kind(kind))
    return;
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

ECHO_PROGRAM(echo_multi, ACCEPT_MULTISHOT)
