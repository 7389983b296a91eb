/*
 * echo_uring: the limit for ringflow's TCP echo trials. A single-threaded io_uring echo server in
 * C with raw syscalls (no liburing): one multishot ACCEPT on the listening socket, one multishot
 * RECV per connection selecting from a ring-mapped provided-buffer group (PBUF_RING), and a SEND
 * of exactly what arrived, from the same buffer, which goes back to the ring when the send is done.
 * Sends are ordered per connection (one in flight, the rest queued by buffer id), so a stream is
 * echoed in order even when the socket's send buffer fills. The ring is SINGLE_ISSUER |
 * DEFER_TASKRUN: completion work runs only inside our io_uring_enter(GETEVENTS).
 *
 * Constants and struct layouts are written by us from include/uapi/linux/io_uring.h as of Linux
 * 6.18 (checked against the running 6.18.44's BTF, see /work/shared/reference/io_uring-6.18.md
 * §1, §2.7, §2.8); every feature used is in Linux 6.1 (multishot accept 5.19, PBUF_RING 5.19,
 * multishot recv 6.0, DEFER_TASKRUN 6.1). Built -O2 with the addon by `npm install` (binding.gyp
 * target echo_uring), else by the bench with `cc -O2` (bench/net/cbuild.ts).
 *
 * usage: echo_uring <port> [buffer-size (default 65536)] [buffers (default 256)]
 * (256 × 64 KiB: a buffer ring hands its buffers out in turn, and 16 MiB of them stay warmer in the
 * CPU's caches than 2048 × 32 KiB did: 4 KiB streaming × 1000 connections +60 % here, no cell
 * slower; docs/benchmarks.md, twelfth session)
 * Listens on 127.0.0.1:<port> (0 = any free port), prints "ready <port>" on stdout when
 * listening; prints "unavailable: <reason>" and exits 3 when this kernel lacks what it needs.
 * Runs until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NR_io_uring_setup 425
#define NR_io_uring_enter 426
#define NR_io_uring_register 427

#define IORING_OFF_SQ_RING 0ULL
#define IORING_OFF_CQ_RING 0x8000000ULL
#define IORING_OFF_SQES 0x10000000ULL
#define IORING_FEAT_SINGLE_MMAP (1U << 0)
#define IORING_SETUP_CQSIZE (1U << 3)
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#define IORING_ENTER_GETEVENTS (1U << 0)
#define IORING_REGISTER_PBUF_RING 22
#define IORING_OP_ACCEPT 13
#define IORING_OP_SEND 26
#define IORING_OP_RECV 27
#define IOSQE_BUFFER_SELECT (1U << 5)
#define IORING_ACCEPT_MULTISHOT (1U << 0) /* in sqe->ioprio */
#define IORING_RECV_MULTISHOT (1U << 1)   /* in sqe->ioprio */
#define IORING_CQE_F_BUFFER (1U << 0)
#define IORING_CQE_F_MORE (1U << 1)
#define IORING_CQE_BUFFER_SHIFT 16

struct sqring_offsets { uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1; uint64_t user_addr; };
struct cqring_offsets { uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1; uint64_t user_addr; };
struct uring_params {
  uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd, resv[3];
  struct sqring_offsets sq_off;
  struct cqring_offsets cq_off;
};
struct sqe {
  uint8_t opcode, flags;
  uint16_t ioprio;
  int32_t fd;
  uint64_t off, addr;
  uint32_t len, op_flags;
  uint64_t user_data;
  uint16_t buf_group, personality;
  int32_t file_index;
  uint64_t addr3, pad2;
};
struct cqe { uint64_t user_data; int32_t res; uint32_t flags; };
struct uring_buf { uint64_t addr; uint32_t len; uint16_t bid, resv; }; /* resv of entry 0 is the ring's tail */
struct buf_reg { uint64_t ring_addr; uint32_t ring_entries; uint16_t bgid, flags; uint64_t resv[3]; };

_Static_assert(sizeof(struct uring_params) == 120, "io_uring_params is 120 bytes");
_Static_assert(sizeof(struct sqe) == 64, "SQE is 64 bytes");
_Static_assert(sizeof(struct cqe) == 16, "CQE is 16 bytes");
_Static_assert(sizeof(struct uring_buf) == 16, "io_uring_buf is 16 bytes");
_Static_assert(sizeof(struct buf_reg) == 40, "io_uring_buf_reg is 40 bytes");

enum { T_ACCEPT = 1, T_RECV = 2, T_SEND = 3 };
#define BGID 0

/* One connection, indexed by its fd. gen tells a CQE of an earlier connection on a reused fd. */
struct conn {
  uint16_t gen;
  uint8_t open, recv_armed, sending, closing, wants_bufs;
  int32_t qhead, qtail; /* queued buffer ids (linked through next_bid), -1 = empty */
  uint32_t sent;        /* bytes of the head buffer already sent */
};

static int ring_fd, listen_fd;
static struct sqe *sqes;
static uint32_t *sq_tail_p, sq_mask, sq_entries, sq_tail, unsubmitted;
static uint32_t *cq_head_p, *cq_tail_p, cq_mask;
static struct cqe *cqes;
static struct uring_buf *bring;
static uint16_t *bring_tail_p, bring_tail, bring_mask;
static uint8_t *bufs;
static uint32_t buf_size, nbufs;
static int32_t *next_bid;
static uint32_t *buf_len;
static struct conn *conns;
static int max_fd;
static int *waiting; /* connections whose recv ended with -ENOBUFS, re-armed when a buffer returns */
static int nwaiting;

static void die(const char *what, int err) {
  fprintf(stderr, "echo_uring: %s: %s\n", what, strerror(err));
  exit(1);
}

static void unavailable(const char *what, int err) {
  printf("unavailable: %s: %s\n", what, strerror(err));
  fflush(stdout);
  exit(3);
}

static int enter(unsigned submit, unsigned wait, unsigned flags) {
  for (;;) {
    long r = syscall(NR_io_uring_enter, ring_fd, submit, wait, flags, NULL, 0);
    if (r >= 0) return (int)r;
    if (errno == EINTR) continue;
    return -errno;
  }
}

static struct sqe *get_sqe(void) {
  if (unsubmitted == sq_entries) {
    __atomic_store_n(sq_tail_p, sq_tail, __ATOMIC_RELEASE);
    int r = enter(unsubmitted, 0, 0);
    if (r < 0) die("io_uring_enter (flush)", -r);
    unsubmitted -= (uint32_t)r;
  }
  struct sqe *s = &sqes[sq_tail & sq_mask];
  memset(s, 0, sizeof *s);
  sq_tail++;
  unsubmitted++;
  return s;
}

static uint64_t udata(int type, int fd) {
  return ((uint64_t)type << 48) | ((uint64_t)(fd >= 0 ? conns[fd].gen : 0) << 32) | (uint32_t)fd;
}

static void arm_accept(void) {
  struct sqe *s = get_sqe();
  s->opcode = IORING_OP_ACCEPT;
  s->fd = listen_fd;
  s->ioprio = IORING_ACCEPT_MULTISHOT;
  s->user_data = udata(T_ACCEPT, -1);
}

static void arm_recv(int fd) {
  struct sqe *s = get_sqe();
  s->opcode = IORING_OP_RECV;
  s->fd = fd;
  s->ioprio = IORING_RECV_MULTISHOT;
  s->flags = IOSQE_BUFFER_SELECT;
  s->buf_group = BGID;
  s->len = 0; /* the whole buffer */
  s->user_data = udata(T_RECV, fd);
  conns[fd].recv_armed = 1;
}

static void send_head(int fd) {
  struct conn *c = &conns[fd];
  int32_t bid = c->qhead;
  struct sqe *s = get_sqe();
  s->opcode = IORING_OP_SEND;
  s->fd = fd;
  s->addr = (uint64_t)(uintptr_t)(bufs + (size_t)bid * buf_size + c->sent);
  s->len = buf_len[bid] - c->sent;
  s->op_flags = MSG_NOSIGNAL;
  s->user_data = udata(T_SEND, fd);
  c->sending = 1;
}

static void maybe_close(int fd);

/* Gives buffer `bid` back to the kernel's ring; re-arms receives that ran out of buffers. */
static void recycle(int32_t bid) {
  struct uring_buf *b = &bring[bring_tail & bring_mask];
  b->addr = (uint64_t)(uintptr_t)(bufs + (size_t)bid * buf_size);
  b->len = buf_size;
  b->bid = (uint16_t)bid;
  bring_tail++;
  __atomic_store_n(bring_tail_p, bring_tail, __ATOMIC_RELEASE);
  while (nwaiting > 0) {
    int fd = waiting[--nwaiting];
    conns[fd].wants_bufs = 0;
    if (!conns[fd].open) continue;
    if (conns[fd].closing) maybe_close(fd);
    else arm_recv(fd);
  }
}

static void drop_queue(struct conn *c) {
  while (c->qhead >= 0) {
    int32_t b = c->qhead;
    c->qhead = next_bid[b];
    recycle(b);
  }
  c->qtail = -1;
  c->sent = 0;
}

/* Closes once nothing of ours is in flight on the fd (its recv ended, no send outstanding). */
static void maybe_close(int fd) {
  struct conn *c = &conns[fd];
  if (!c->open || !c->closing || c->recv_armed || c->sending || c->wants_bufs) return;
  drop_queue(c);
  close(fd);
  c->open = 0;
  c->gen++;
}

static void on_accept(struct cqe *e) {
  if (!(e->flags & IORING_CQE_F_MORE)) arm_accept();
  if (e->res < 0) {
    if (e->res == -EINVAL || e->res == -EBADF) unavailable("multishot accept", -e->res);
    return; /* e.g. -EMFILE, -ECONNABORTED: keep serving */
  }
  int fd = e->res;
  if (fd >= max_fd) {
    close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct conn *c = &conns[fd];
  uint16_t gen = c->gen;
  memset(c, 0, sizeof *c);
  c->gen = gen;
  c->open = 1;
  c->qhead = c->qtail = -1;
  arm_recv(fd);
}

static void on_recv(struct cqe *e, int fd, int current) {
  struct conn *c = &conns[fd];
  int more = (e->flags & IORING_CQE_F_MORE) != 0;
  if (e->flags & IORING_CQE_F_BUFFER) {
    int32_t bid = (int32_t)(e->flags >> IORING_CQE_BUFFER_SHIFT);
    if (!current || e->res <= 0 || c->closing) {
      recycle(bid);
    } else {
      buf_len[bid] = (uint32_t)e->res;
      next_bid[bid] = -1;
      if (c->qtail >= 0) next_bid[c->qtail] = bid;
      else c->qhead = bid;
      c->qtail = bid;
      if (!c->sending) send_head(fd);
    }
  }
  if (!current || more) return;
  c->recv_armed = 0;
  if (e->res == -ENOBUFS && !c->closing) {
    c->wants_bufs = 1; /* the group ran dry: re-armed by recycle() */
    waiting[nwaiting++] = fd;
    return;
  }
  if (e->res > 0 && !c->closing) {
    arm_recv(fd); /* ended for another reason (e.g. CQ pressure) with data: keep reading */
    return;
  }
  if (e->res == -EINVAL) unavailable("multishot recv with a buffer ring", EINVAL);
  c->closing = 1; /* EOF or error */
  maybe_close(fd);
}

static void on_send(struct cqe *e, int fd) {
  struct conn *c = &conns[fd];
  c->sending = 0;
  if (e->res < 0) {
    c->closing = 1;
    drop_queue(c);
    shutdown(fd, SHUT_RDWR); /* ends the multishot recv */
    maybe_close(fd);
    return;
  }
  c->sent += (uint32_t)e->res;
  int32_t bid = c->qhead;
  if (c->sent >= buf_len[bid]) {
    c->qhead = next_bid[bid];
    if (c->qhead < 0) c->qtail = -1;
    c->sent = 0;
    recycle(bid);
  }
  if (c->qhead >= 0) send_head(fd);
  else maybe_close(fd);
}

static void setup_ring(void) {
  struct uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = 65536;
  ring_fd = (int)syscall(NR_io_uring_setup, 4096, &p);
  if (ring_fd < 0) unavailable("io_uring_setup(SINGLE_ISSUER|DEFER_TASKRUN)", errno);
  size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) { if (cq_sz > sq_sz) sq_sz = cq_sz; cq_sz = sq_sz; }
  uint8_t *sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQ_RING);
  uint8_t *cq = (p.features & IORING_FEAT_SINGLE_MMAP)
                    ? sq
                    : mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_CQ_RING);
  sqes = mmap(NULL, p.sq_entries * sizeof(struct sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) die("mmap ring", errno);
  sq_tail_p = (uint32_t *)(sq + p.sq_off.tail);
  sq_mask = *(uint32_t *)(sq + p.sq_off.ring_mask);
  sq_entries = p.sq_entries;
  sq_tail = *sq_tail_p;
  uint32_t *array = (uint32_t *)(sq + p.sq_off.array);
  for (uint32_t i = 0; i < p.sq_entries; i++) array[i] = i;
  cq_head_p = (uint32_t *)(cq + p.cq_off.head);
  cq_tail_p = (uint32_t *)(cq + p.cq_off.tail);
  cq_mask = *(uint32_t *)(cq + p.cq_off.ring_mask);
  cqes = (struct cqe *)(cq + p.cq_off.cqes);
}

static void setup_buffers(void) {
  size_t ring_bytes = (size_t)nbufs * sizeof(struct uring_buf);
  bring = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  bufs = mmap(NULL, (size_t)nbufs * buf_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (bring == MAP_FAILED || bufs == MAP_FAILED) die("mmap buffers", errno);
  struct buf_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (uint64_t)(uintptr_t)bring;
  reg.ring_entries = nbufs;
  reg.bgid = BGID;
  if (syscall(NR_io_uring_register, ring_fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) unavailable("IORING_REGISTER_PBUF_RING", errno);
  bring_tail_p = (uint16_t *)((uint8_t *)bring + 14);
  bring_mask = (uint16_t)(nbufs - 1);
  bring_tail = 0;
  next_bid = malloc(nbufs * sizeof *next_bid);
  buf_len = malloc(nbufs * sizeof *buf_len);
  if (!next_bid || !buf_len) die("malloc", ENOMEM);
  for (uint32_t i = 0; i < nbufs; i++) recycle((int32_t)i);
}

static int setup_listener(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind", errno);
  if (listen(fd, 4096) < 0) die("listen", errno);
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) die("getsockname", errno);
  listen_fd = fd;
  return ntohs(a.sin_port);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: %s <port> [buffer-size] [buffers (power of two)]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  buf_size = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 65536;
  nbufs = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 256;
  if (port < 0 || port > 65535 || buf_size < 64 || nbufs < 1 || nbufs > 32768 || (nbufs & (nbufs - 1))) {
    fprintf(stderr, "echo_uring: bad arguments (port 0..65535, buffer-size >= 64, buffers a power of two <= 32768)\n");
    return 2;
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  max_fd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1048576 ? (int)rl.rlim_cur : 1048576;
  conns = calloc((size_t)max_fd, sizeof *conns);
  waiting = calloc((size_t)max_fd, sizeof *waiting);
  if (!conns || !waiting) die("calloc", ENOMEM);

  setup_ring();
  setup_buffers();
  int bound = setup_listener(port);
  arm_accept();
  printf("ready %d\n", bound);
  fflush(stdout);

  for (;;) {
    __atomic_store_n(sq_tail_p, sq_tail, __ATOMIC_RELEASE);
    int r = enter(unsubmitted, 1, IORING_ENTER_GETEVENTS);
    if (r < 0 && r != -EBUSY && r != -EAGAIN) die("io_uring_enter", -r);
    if (r > 0) unsubmitted -= (uint32_t)r;
    uint32_t head = *cq_head_p, tail = __atomic_load_n(cq_tail_p, __ATOMIC_ACQUIRE);
    while (head != tail) {
      struct cqe e = cqes[head & cq_mask];
      head++;
      __atomic_store_n(cq_head_p, head, __ATOMIC_RELEASE);
      int type = (int)(e.user_data >> 48);
      int fd = (int)(uint32_t)e.user_data;
      int current = type != T_ACCEPT && conns[fd].open && conns[fd].gen == (uint16_t)(e.user_data >> 32);
      if (type == T_ACCEPT) on_accept(&e);
      else if (type == T_RECV) on_recv(&e, fd, current);
      else if (type == T_SEND && current) on_send(&e, fd);
      if (head == tail) tail = __atomic_load_n(cq_tail_p, __ATOMIC_ACQUIRE);
    }
  }
}
