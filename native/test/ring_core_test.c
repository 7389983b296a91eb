/* The ring core without Node: sets up rings through ring.h, submits NOPs, reaps them, and checks
 * the eventfd path, the notify hook and teardown. Built and run by scripts/build-core-test.sh
 * (test/security/layers.test.ts runs it when a C compiler is present). Prints one line per
 * check; exits 0 when all pass, 77 (skip) when io_uring is unavailable. */
#include "../ring.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                         \
  do {                                           \
    if (cond) {                                  \
      printf("ok   ");                           \
    } else {                                     \
      printf("FAIL ");                           \
      failures++;                                \
    }                                            \
    printf(__VA_ARGS__);                         \
    printf("\n");                                \
  } while (0)

/* IORING_SETUP_* used here (6.18 uapi values) */
#define SETUP_TASKRUN_FLAG (1u << 9)
#define SETUP_SINGLE_ISSUER (1u << 12)

static uint32_t sq_tail;

/* Writes a NOP (opcode 0) carrying `ud` at the caller's tail. */
static void queue_nop(rf_ring *r, uint64_t ud) {
  uint8_t *sqe = rf_ring_sqe(r, sq_tail++);
  memset(sqe, 0, r->sqe_size);
  memcpy(sqe + 32, &ud, sizeof ud); /* user_data at byte 32 */
}

static int notified, notified_status;
static void on_notify(rf_ring *r, int status) {
  (void)r;
  notified++;
  notified_status = status;
}

static void exercise(const char *name, uint32_t flags) {
  rf_ring r;
  struct rf_params p;
  memset(&p, 0, sizeof p);
  p.flags = flags;
  int rc = rf_ring_init(&r, 8, &p);
  if (rc == -EINVAL && flags) {
    printf("skip %s: setup flags %#x refused by this kernel\n", name, flags);
    return;
  }
  CHECK(rc == 0, "%s: rf_ring_init -> %d", name, rc);
  if (rc) return;
  CHECK(r.fd >= 0 && r.sq_entries == 8 && r.sqe_size == 64 && r.cqe_size == 16, "%s: fd %d, %u SQ entries", name, r.fd, r.sq_entries);
  sq_tail = *r.sq_tail;

  /* one NOP, waited for */
  queue_nop(&r, 0x1234abcdull);
  long n = rf_ring_submit(&r, sq_tail, 1, 1, RF_ENTER_GETEVENTS);
  CHECK(n == 1, "%s: submit one NOP -> %ld", name, n);
  CHECK(rf_ring_cq_ready(&r) == 1, "%s: one CQE ready (%u)", name, rf_ring_cq_ready(&r));
  const rf_ring_cqe *c = rf_ring_cqe_at(&r, 0);
  CHECK(c->user_data == 0x1234abcdull && c->res == 0, "%s: CQE user_data %#llx res %d", name, (unsigned long long)c->user_data, c->res);
  rf_ring_cq_advance(&r, 1);
  CHECK(rf_ring_cq_ready(&r) == 0, "%s: CQ empty after advance", name);

  /* a batch, reaped in order */
  for (uint64_t i = 0; i < 5; i++) queue_nop(&r, 100 + i);
  n = rf_ring_submit(&r, sq_tail, 5, 5, RF_ENTER_GETEVENTS);
  uint32_t ready = rf_ring_cq_ready(&r);
  bool in_order = ready == 5;
  for (uint32_t i = 0; i < ready && in_order; i++) in_order = rf_ring_cqe_at(&r, i)->user_data == 100 + i;
  CHECK(n == 5 && in_order, "%s: 5 NOPs submitted (%ld) and reaped in order", name, n);
  rf_ring_cq_advance(&r, ready);

  /* the eventfd path: signalled for a completion unless quiet, drained by poll_work */
  int e = rf_ring_use_eventfd(&r);
  CHECK(e >= 0 && r.evfd == e, "%s: eventfd %d registered", name, e);
  queue_nop(&r, 7);
  __atomic_store_n(r.sq_tail, sq_tail, __ATOMIC_RELEASE);
  n = rf_ring_enter(&r, 1, 1, RF_ENTER_GETEVENTS);
  struct pollfd pf = {e, POLLIN, 0};
  int pr = poll(&pf, 1, 1000);
  CHECK(n == 1 && pr == 1, "%s: the eventfd is readable after a completion (enter %ld, poll %d)", name, n, pr);
  rf_ring_poll_work(&r);
  pr = poll(&pf, 1, 0);
  CHECK(pr == 0 && rf_ring_cq_ready(&r) == 1, "%s: poll_work drained the eventfd; the CQE waits", name);
  rf_ring_cq_advance(&r, 1);
  /* quiet: no signal while native code reads the CQ itself; restarting says work arrived */
  rf_ring_quiet(&r, true);
  queue_nop(&r, 8);
  __atomic_store_n(r.sq_tail, sq_tail, __ATOMIC_RELEASE);
  n = rf_ring_enter(&r, 1, 1, RF_ENTER_GETEVENTS);
  pr = poll(&pf, 1, 0);
  bool arrived = rf_ring_quiet(&r, false);
  CHECK(n == 1 && pr == 0 && arrived, "%s: quiet: no eventfd signal for a completion; restarting reports it", name);
  rf_ring_cq_advance(&r, rf_ring_cq_ready(&r));

  /* notify: nobody set, then a hook */
  notified = 0;
  rf_ring_notify_js(&r, 0);
  r.notify = on_notify;
  rf_ring_notify_js(&r, -5);
  CHECK(notified == 1 && notified_status == -5, "%s: rf_ring_notify_js calls the hook that was set (%d)", name, notified);

  /* teardown: fds closed, idempotent, no notify after */
  int fd = r.fd;
  rf_ring_close(&r);
  rf_ring_close(&r);
  rf_ring_notify_js(&r, 0);
  errno = 0;
  bool fd_closed = fcntl(fd, F_GETFD) < 0 && errno == EBADF;
  errno = 0;
  bool evfd_closed = fcntl(e, F_GETFD) < 0 && errno == EBADF;
  CHECK(r.closed && fd_closed && evfd_closed && notified == 1, "%s: close closes the ring fd and the eventfd, twice is a no-op", name);
}

/* SQE128 | CQE32 (5.19): 128-byte SQE slots, 32-byte CQEs whose big_cqe[2] follows the 16 bytes
 * of rf_ring_cqe; nop's IORING_NOP_CQE32 flag (6.18) copies off and addr into them. */
static void exercise_big(void) {
  rf_ring r;
  struct rf_params p;
  memset(&p, 0, sizeof p);
  p.flags = RF_SETUP_SQE128 | RF_SETUP_CQE32;
  int rc = rf_ring_init(&r, 4, &p);
  if (rc == -EINVAL) {
    printf("skip big entries: SQE128|CQE32 refused by this kernel\n");
    return;
  }
  CHECK(rc == 0 && r.sqe_size == 128 && r.cqe_size == 32, "big entries: rf_ring_init -> %d, SQE %u, CQE %u bytes", rc, r.sqe_size, r.cqe_size);
  if (rc) return;
  sq_tail = *r.sq_tail;
  const uint32_t nop_cqe32 = 1u << 5;
  for (uint64_t i = 0; i < 10; i++) { /* through two wraps of the 4-entry SQ */
    uint8_t *sqe = rf_ring_sqe(&r, sq_tail++);
    memset(sqe, 0xee, r.sqe_size); /* bytes past 64 are the command area: a nop ignores them */
    memset(sqe, 0, 64);
    uint64_t ud = 200 + i, e1 = i << 40, e2 = ~i;
    memcpy(sqe + 8, &e1, 8);        /* off -> extra1 */
    memcpy(sqe + 16, &e2, 8);       /* addr -> extra2 */
    memcpy(sqe + 28, &nop_cqe32, 4); /* nop_flags */
    memcpy(sqe + 32, &ud, 8);
    long n = rf_ring_submit(&r, sq_tail, 1, 1, RF_ENTER_GETEVENTS);
    const rf_ring_cqe *c = rf_ring_cqe_at(&r, 0);
    const uint64_t *big = (const uint64_t *)(c + 1);
    bool ok = n == 1 && rf_ring_cq_ready(&r) == 1 && c->user_data == ud;
    if (c->res == -EINVAL) { /* no NOP_CQE32 before 6.18: the stride is still checked by user_data */
      CHECK(ok, "big entries: nop %llu (kernel without NOP_CQE32) at its slot", (unsigned long long)i);
    } else {
      CHECK(ok && c->res == 0 && big[0] == e1 && big[1] == e2, "big entries: nop %llu: user_data, res and big_cqe from its own 128-byte SQE and 32-byte CQE", (unsigned long long)i);
    }
    rf_ring_cq_advance(&r, 1);
  }
  rf_ring_close(&r);
}

int main(void) {
  struct rf_params p;
  memset(&p, 0, sizeof p);
  long fd = rf_ring_setup(1, &p);
  if (fd == -ENOSYS || fd == -EPERM) {
    printf("skip: io_uring_setup -> %ld (io_uring unavailable or disabled)\n", fd);
    return 77;
  }
  if (fd >= 0) close((int)fd);
  exercise("plain", 0);
  exercise("defer-taskrun", SETUP_SINGLE_ISSUER | RF_SETUP_DEFER_TASKRUN | SETUP_TASKRUN_FLAG);
  exercise_big();
  /* the kernel's answer varies (1 on Debian's 6.12.117); any other value is a broken probe */
  int w = rf_probe_poll_wake_eventfd(1000);
  CHECK(w == 0 || w == 1 || w == -EINVAL, "poll-wake eventfd probe -> %d (%s)", w,
        w == 0 ? "every poll-driven completion signalled" : w == 1 ? "lost after the first" : "no DEFER_TASKRUN");
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
