/* The ring core (ring.h): the three io_uring syscalls, the mmaps, tail publication + enter in
 * one call, eventfd signals on and off. Plain C: no Node-API, no libuv, no global state; every
 * function returns -errno on failure. The bindings (ring_napi.c) hand the maps to JS and watch
 * the ring from libuv; a C program drives it directly (native/test/ring_core_test.c). */
#include "ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>

long rf_ring_setup(unsigned entries, struct rf_params *p) {
  long r = syscall(RF_NR_io_uring_setup, entries, p);
  return r < 0 ? -errno : r;
}
static long sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, void *arg, size_t argsz) {
  long r;
  do {
    r = syscall(RF_NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz);
  } while (r < 0 && errno == EINTR && min_complete == 0);
  return r < 0 ? -errno : r;
}
long rf_ring_enter(rf_ring *r, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return sys_enter(r->enter_fd, to_submit, min_complete, flags | r->enter_flag, NULL, 0);
}
long rf_io_uring_register(int fd, unsigned op, void *arg, unsigned nr) {
  long r = syscall(RF_NR_io_uring_register, fd, op, arg, nr);
  return r < 0 ? -errno : r;
}

/* Registers the ring with the calling thread (IORING_REGISTER_RING_FDS) so enters skip the fd
 * table. The slot belongs to this thread, which is the only one that enters this ring. Optional:
 * without a free slot (16 per thread) or on an older kernel, enters use the fd. */
static void register_ring_fd(rf_ring *r) {
  r->enter_fd = r->fd;
  r->enter_flag = 0;
  struct rf_rsrc_update u = {(uint32_t)-1, 0, (uint64_t)r->fd};
  if (rf_io_uring_register(r->fd, RF_REGISTER_RING_FDS, &u, 1) == 1) {
    r->enter_fd = (int)u.offset;
    r->enter_flag = RF_ENTER_REGISTERED_RING;
  }
}
/* Frees the slot; until then the registration keeps the ring alive even after close(fd). */
static void unregister_ring_fd(rf_ring *r) {
  if (!r->enter_flag) return;
  struct rf_rsrc_update u = {(uint32_t)r->enter_fd, 0, 0};
  rf_io_uring_register(r->fd, RF_UNREGISTER_RING_FDS, &u, 1);
  r->enter_flag = 0;
  r->enter_fd = r->fd;
}

static void unmap(rf_ring *r) {
  if (r->sqes) munmap(r->sqes, r->sqes_sz);
  if (r->cq_ptr && r->cq_ptr != r->sq_ptr) munmap(r->cq_ptr, r->cq_sz);
  if (r->sq_ptr) munmap(r->sq_ptr, r->sq_sz);
  r->sqes = r->cq_ptr = r->sq_ptr = NULL;
  r->sq_head = r->sq_tail = r->sq_flags = r->cq_head = r->cq_tail = r->cq_flags = NULL;
  r->cqes = NULL;
}

void rf_ring_unmap(rf_ring *r) {
  unmap(r);
  unregister_ring_fd(r);
}

static void *map(int fd, size_t sz, unsigned long long off, int *err) {
  void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, (off_t)off);
  if (p != MAP_FAILED) return p;
  *err = -errno;
  return NULL;
}

int rf_ring_map(rf_ring *r, int fd, const struct rf_params *p) {
  memset(r, 0, sizeof *r);
  r->fd = fd;
  r->enter_fd = fd;
  r->evfd = -1;
  r->setup_flags = p->flags;
  r->features = p->features;
  r->cqe_size = (p->flags & RF_SETUP_CQE32) ? 32 : 16;
  r->sqe_size = (p->flags & RF_SETUP_SQE128) ? 128 : 64;
  r->sq_sz = p->sq_off.array + p->sq_entries * sizeof(uint32_t);
  if (p->flags & RF_SETUP_NO_SQARRAY) r->sq_sz = p->sq_off.flags + sizeof(uint32_t) * 4; /* array is absent */
  r->cq_sz = p->cq_off.cqes + (size_t)p->cq_entries * r->cqe_size;
  bool single = (p->features & RF_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (r->cq_sz > r->sq_sz) r->sq_sz = r->cq_sz;
    r->cq_sz = r->sq_sz;
  }
  int err = 0;
  r->sq_ptr = map(fd, r->sq_sz, RF_OFF_SQ_RING, &err);
  if (!r->sq_ptr) goto fail;
  r->cq_ptr = single ? r->sq_ptr : map(fd, r->cq_sz, RF_OFF_CQ_RING, &err);
  if (!r->cq_ptr) goto fail;
  r->sqes_sz = (size_t)p->sq_entries * r->sqe_size;
  r->sqes = map(fd, r->sqes_sz, RF_OFF_SQES, &err);
  if (!r->sqes) goto fail;
  char *sq = r->sq_ptr, *cq = r->cq_ptr;
  r->sq_head = (uint32_t *)(sq + p->sq_off.head);
  r->sq_tail = (uint32_t *)(sq + p->sq_off.tail);
  r->sq_flags = (uint32_t *)(sq + p->sq_off.flags);
  r->sq_mask = *(uint32_t *)(sq + p->sq_off.ring_mask);
  r->sq_entries = p->sq_entries;
  r->cq_head = (uint32_t *)(cq + p->cq_off.head);
  r->cq_tail = (uint32_t *)(cq + p->cq_off.tail);
  r->cq_flags = p->cq_off.flags ? (uint32_t *)(cq + p->cq_off.flags) : NULL;
  r->cq_mask = *(uint32_t *)(cq + p->cq_off.ring_mask);
  r->cq_entries = p->cq_entries;
  r->cqes = (uint8_t *)cq + p->cq_off.cqes;
  if (!(p->flags & RF_SETUP_NO_SQARRAY)) {
    /* identity index array, filled once: SQ slot i holds SQE i */
    uint32_t *array = (uint32_t *)(sq + p->sq_off.array);
    for (uint32_t i = 0; i < p->sq_entries; i++) array[i] = i;
  }
  register_ring_fd(r);
  return 0;
fail:
  unmap(r);
  r->fd = -1;
  r->closed = true;
  return err;
}

int rf_ring_init(rf_ring *r, unsigned entries, struct rf_params *p) {
  long fd = rf_ring_setup(entries, p);
  if (fd < 0) return (int)fd;
  int rc = rf_ring_map(r, (int)fd, p);
  if (rc < 0) close((int)fd);
  return rc;
}

int rf_ring_use_eventfd(rf_ring *r) {
  if (r->closed) return -EBADF;
  if (r->evfd >= 0) return r->evfd;
  int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (e < 0) return -errno;
  long rr = rf_io_uring_register(r->fd, RF_REGISTER_EVENTFD, &e, 1);
  if (rr < 0) {
    close(e);
    return (int)rr;
  }
  r->evfd = e;
  return e;
}

void rf_ring_close(rf_ring *r) {
  if (r->closed) return;
  r->closed = true;
  rf_ring_unmap(r);
  if (r->evfd >= 0) close(r->evfd);
  if (r->fd >= 0) close(r->fd);
  r->evfd = r->fd = r->enter_fd = -1;
}

bool rf_needs_getevents(rf_ring *r) {
  /* with TASKRUN_FLAG the kernel says when completion work waits; DEFER_TASKRUN without it
   * must always enter to find out */
  if ((r->setup_flags & RF_SETUP_DEFER_TASKRUN) && !(r->setup_flags & RF_SETUP_TASKRUN_FLAG)) return true;
  uint32_t f = __atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE);
  return (f & (RF_SQ_TASKRUN | RF_SQ_CQ_OVERFLOW)) != 0;
}

bool rf_ring_quiet(rf_ring *r, bool quiet) {
  if (r->evfd < 0 || !r->cq_flags) return false;
  if (quiet) {
    __atomic_fetch_or(r->cq_flags, RF_CQ_EVENTFD_DISABLED, __ATOMIC_RELAXED);
    return false;
  }
  __atomic_fetch_and(r->cq_flags, ~RF_CQ_EVENTFD_DISABLED, __ATOMIC_SEQ_CST);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  /* work queued while signals were off set IORING_SQ_TASKRUN (TASKRUN_FLAG) or is already in the CQ */
  return rf_needs_getevents(r) || __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) != *r->cq_head;
}

void rf_ring_rearm(rf_ring *r) {
  if (r->evfd < 0 || r->closed) return;
  /* (the kernel sets IORING_SQ_TASKRUN only on rings set up with TASKRUN_FLAG) */
  if (!(r->setup_flags & RF_SETUP_DEFER_TASKRUN) || !(__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & RF_SQ_TASKRUN)) return;
  uint64_t one = 1;
  ssize_t n = write(r->evfd, &one, sizeof one);
  (void)n; /* EAGAIN: the counter is full, so it is readable anyway */
}

long rf_ring_submit(rf_ring *r, uint32_t tail, uint32_t to_submit, uint32_t min_complete, uint32_t flags) {
  __atomic_store_n(r->sq_tail, tail, __ATOMIC_RELEASE);
  if (r->setup_flags & RF_SETUP_SQPOLL) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint32_t f = __atomic_load_n(r->sq_flags, __ATOMIC_RELAXED);
    if (f & RF_SQ_NEED_WAKEUP) flags |= RF_ENTER_SQ_WAKEUP;
    else if (!min_complete && !(flags & RF_ENTER_GETEVENTS)) return to_submit;
  }
  if (rf_needs_getevents(r) || (r->setup_flags & RF_SETUP_DEFER_TASKRUN)) flags |= RF_ENTER_GETEVENTS;
  /* completions of this batch that finish inline are read by the caller right after this call:
   * no eventfd signal (and later spurious wakeup) for them */
  rf_ring_quiet(r, true);
  long n = rf_ring_enter(r, to_submit, min_complete, flags);
  /* one round of task work that arrived meanwhile; looping here until none is left (which lets
   * linked chains finish in this call) cost 10-40 % of QD64 read throughput in an A/B run. CQEs
   * already in the CQ need no enter (the caller reads them next): only work the kernel flags does */
  rf_ring_quiet(r, false);
  if ((r->setup_flags & RF_SETUP_DEFER_TASKRUN) && rf_needs_getevents(r)) {
    rf_ring_enter(r, 0, 0, RF_ENTER_GETEVENTS);
    rf_ring_rearm(r);
  }
  return n;
}

void rf_ring_poll_work(rf_ring *r) {
  if (r->closed) return;
  if (r->evfd >= 0) {
    uint64_t v;
    ssize_t n = read(r->evfd, &v, sizeof v);
    (void)n;
  }
  if (rf_needs_getevents(r)) {
    rf_ring_enter(r, 0, 0, RF_ENTER_GETEVENTS);
    rf_ring_rearm(r);
  }
}

void rf_ring_notify_js(rf_ring *r, int status) {
  if (r->notify && !r->closed) r->notify(r, status);
}

void rf_ring_engine_idle(rf_ring *r) {
  if (r->engine_idle && !r->closed) r->engine_idle(r);
}

/* ---- does the eventfd of a DEFER_TASKRUN ring hear every completion that waited on poll? */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
/* poll(fd, POLLIN, ms) through EINTR: 1 readable, 0 not within ms, -errno */
static int readable_within(int fd, int ms) {
  long long end = now_ms() + ms;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, ms);
    if (n >= 0) return n > 0;
    if (errno != EINTR) return -errno;
    ms = (int)(end - now_ms());
    if (ms < 0) ms = 0;
  }
}
static void drain_eventfd(int e) {
  uint64_t v;
  ssize_t n = read(e, &v, sizeof v);
  (void)n;
}

int rf_probe_poll_wake_eventfd(int max_wait_ms) {
  rf_ring r;
  struct rf_params p;
  memset(&p, 0, sizeof p);
  p.flags = RF_SETUP_SINGLE_ISSUER | RF_SETUP_DEFER_TASKRUN | RF_SETUP_TASKRUN_FLAG;
  int rc = rf_ring_init(&r, 2, &p);
  if (rc < 0) return rc;
  int pfd[2] = {-1, -1};
  int e = rf_ring_use_eventfd(&r);
  if (e < 0) {
    rc = e;
    goto out;
  }
  /* a blocking pipe: a read of it waits on poll (an O_NONBLOCK file may be answered -EAGAIN instead) */
  if (pipe2(pfd, O_CLOEXEC) < 0) {
    rc = -errno;
    goto out;
  }
  uint32_t tail = *r.sq_tail;
  uint8_t byte;
  unsigned pending = 0; /* reads submitted and not reaped */
  int wait_ms = max_wait_ms;
  rc = 0;
  for (uint64_t round = 1; round <= 2; round++) {
    uint8_t *sqe = rf_ring_sqe(&r, tail);
    memset(sqe, 0, r.sqe_size);
    sqe[0] = 22; /* IORING_OP_READ (5.6) of 1 byte at the file position */
    int32_t fd = pfd[0];
    uint64_t off = (uint64_t)-1, addr = (uint64_t)(uintptr_t)&byte;
    uint32_t len = 1;
    memcpy(sqe + 4, &fd, 4);
    memcpy(sqe + 8, &off, 8);
    memcpy(sqe + 16, &addr, 8);
    memcpy(sqe + 24, &len, 4);
    memcpy(sqe + 32, &round, 8);
    tail++;
    __atomic_store_n(r.sq_tail, tail, __ATOMIC_RELEASE);
    long n = rf_ring_enter(&r, 1, 0, 0); /* the pipe is empty: the read waits on poll */
    if (n != 1) {
      rc = n < 0 ? (int)n : -EIO;
      break;
    }
    pending++;
    drain_eventfd(e);
    if (rf_ring_cq_ready(&r) != 0) {
      rc = -EAGAIN; /* it did not wait on poll: nothing to learn */
      break;
    }
    long long t0 = now_ms();
    if (write(pfd[1], "x", 1) != 1) { /* its wakeup queues the read's completion work */
      rc = -errno;
      break;
    }
    int got = readable_within(e, 0);
    if (got == 1 && round == 1) break; /* signalled from the wakeup itself (6.1, 6.18): nothing deferred to lose */
    if (got == 0) got = readable_within(e, wait_ms);
    if (got < 0) {
      rc = got;
      break;
    }
    if (got == 0) {
      rc = 1; /* never signalled: a JS thread asleep on the eventfd would not wake */
      break;
    }
    /* signalled later (deferred): the next one must come too, allowing ten times this delay */
    long long took = now_ms() - t0;
    if (round == 1) wait_ms = took * 10 + 20 < max_wait_ms ? (int)(took * 10 + 20) : max_wait_ms;
    drain_eventfd(e);
    rf_ring_enter(&r, 0, 1, RF_ENTER_GETEVENTS);
    pending -= rf_ring_cq_ready(&r);
    rf_ring_cq_advance(&r, rf_ring_cq_ready(&r));
  }
  /* no read outlives `byte`: closing the write end readies one still waiting (end of file), and
   * entering runs its completion work (an unsignalled one included) */
  close(pfd[1]);
  pfd[1] = -1;
  while (pending > 0) {
    long n = rf_ring_enter(&r, 0, pending, RF_ENTER_GETEVENTS);
    uint32_t got = rf_ring_cq_ready(&r);
    rf_ring_cq_advance(&r, got);
    pending = got < pending ? pending - got : 0;
    if (n < 0 && n != -EINTR) break;
  }
out:
  if (pfd[0] >= 0) close(pfd[0]);
  if (pfd[1] >= 0) close(pfd[1]);
  rf_ring_close(&r);
  return rc;
}
