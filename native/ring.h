/* The ring core: one io_uring instance in plain C (the three syscalls, the mmaps, tail
 * publication + enter, eventfd signals, reading the CQ). No Node-API, no libuv, no global state:
 * a standalone C program (tests, native fuzz targets) uses it as the addon does.
 *
 * Layers, each looking only down: this core ← the completion-program engine (engine*.c) ← the
 * bindings (ring_napi.c, engine_napi.c: Node-API functions, the libuv watcher, the JS callback).
 * Every function returns >= 0 or -errno; none touches JS. */
#ifndef RINGFLOW_RING_H
#define RINGFLOW_RING_H

#include "uapi.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rf_engine;

typedef struct rf_ring {
  int fd;
  /* what io_uring_enter is given: the ring's index in this thread's registered rings (with
   * RF_ENTER_REGISTERED_RING in enter_flag; saves the kernel an fd lookup per call), or fd */
  int enter_fd;
  unsigned enter_flag;
  int evfd; /* registered eventfd signalled for completions (rf_ring_use_eventfd), or -1 */
  uint32_t setup_flags;
  uint32_t features;
  void *sq_ptr;
  size_t sq_sz;
  void *cq_ptr;
  size_t cq_sz;
  void *sqes;
  size_t sqes_sz;
  uint32_t *sq_head;
  uint32_t *sq_tail;
  uint32_t *sq_flags;
  uint32_t sq_mask;
  uint32_t sq_entries;
  uint32_t *cq_head;
  uint32_t *cq_tail;
  uint32_t *cq_flags; /* IORING_CQ_EVENTFD_DISABLED lives here (5.8); NULL before 5.8 */
  uint32_t cq_mask;
  uint32_t cq_entries;
  uint8_t *cqes;
  uint32_t sqe_size, cqe_size; /* 64/128 (SETUP_SQE128), 16/32 (SETUP_CQE32) */
  struct rf_engine *engine; /* completion programs and extra CQs, once enabled (set by the bindings) */
  /* Who is told that completions wait (set by whoever drives the ring; NULL: nobody). The
   * engine calls it through rf_ring_notify_js(); the Node bindings set it to call the ring's JS
   * callback; a C program may set its own. */
  void (*notify)(struct rf_ring *r, int status);
  /* Told when the engine stopped scheduling work of its own (rf_ring_engine_idle); the Node
   * bindings re-check then whether the ring must still be kept alive. NULL: nobody. */
  void (*engine_idle)(struct rf_ring *r);
  bool closed;
} rf_ring;

/* One CQE as the kernel lays out the first 16 bytes of every entry (5.1). */
typedef struct rf_ring_cqe {
  uint64_t user_data;
  int32_t res;
  uint32_t flags;
} rf_ring_cqe;

/* ---- setup and teardown */

/* io_uring_setup(entries, p): the new ring's fd, the kernel fills *p. */
long rf_ring_setup(unsigned entries, struct rf_params *p);
/* Maps the rings of `fd` (set up with *p) into *r and registers the ring with the calling thread
 * when a slot is free. On failure nothing stays mapped and fd stays open (the caller's). */
int rf_ring_map(rf_ring *r, int fd, const struct rf_params *p);
/* setup + map in one call (C users): 0 or -errno; *p in: flags etc., out: what the kernel said. */
int rf_ring_init(rf_ring *r, unsigned entries, struct rf_params *p);
/* Creates an eventfd, registers it (IORING_REGISTER_EVENTFD) and returns it (the ring owns it). */
int rf_ring_use_eventfd(rf_ring *r);
/* Unmaps and drops the thread's registration of the ring; the fd (and eventfd) stay open. */
void rf_ring_unmap(rf_ring *r);
/* Unmaps and closes everything (eventfd, registration, fd). Idempotent; the struct stays valid
 * (closed = true) for its owner to free. Must run on the thread that mapped the ring (the
 * registered-ring slot is per thread). */
void rf_ring_close(rf_ring *r);

/* ---- a kernel probe */

/* Is the registered eventfd of a DEFER_TASKRUN ring signalled for every completion that waited on
 * poll (a read of an empty pipe, a recv, a send into a full socket)? On a private ring: two reads
 * of a pipe, each armed on poll and woken by a write from this thread. 0: each was signalled (at
 * once from the wakeup, or later, as 6.12.117 defers it through RCU); 1: one never was within
 * max_wait_ms (6.12.117 defers only the first: the bit it sets for the deferred signal is never
 * cleared, so later poll-driven completions queue their work silently until the ring is next
 * entered); -errno: could not tell (-EINVAL: no DEFER_TASKRUN before 6.1; -EAGAIN: a read did not
 * wait on poll). Waits only on a kernel that defers: one deferred signal, then at most ten times
 * that delay (capped at max_wait_ms). */
int rf_probe_poll_wake_eventfd(int max_wait_ms);

/* ---- submission */

/* io_uring_enter on this ring (through its registered index when it has one); -errno on failure */
long rf_ring_enter(rf_ring *r, unsigned to_submit, unsigned min_complete, unsigned flags);
/* io_uring_register(fd, op, arg, nr) (fd may be -1 for ops that take none) */
long rf_io_uring_register(int fd, unsigned op, void *arg, unsigned nr);
/* Publishes `tail` (store-release) and enters once for the batch: the SQPOLL wakeup when the
 * poller sleeps, GETEVENTS when completion task work waits, eventfd signals off meanwhile (the
 * caller reads the CQ right after). Returns what io_uring_enter returned (SQEs consumed). */
long rf_ring_submit(rf_ring *r, uint32_t tail, uint32_t to_submit, uint32_t min_complete, uint32_t flags);
/* The SQE slot at `index` (the caller's tail), sqe_size bytes. */
static inline void *rf_ring_sqe(rf_ring *r, uint32_t index) {
  return (uint8_t *)r->sqes + (size_t)(index & r->sq_mask) * r->sqe_size;
}

/* ---- completion */

/* Does the kernel hold completion work that only an enter with GETEVENTS runs? */
bool rf_needs_getevents(rf_ring *r);
/* After an enter that ran deferred task work (DEFER_TASKRUN): if the kernel still flags work
 * (IORING_SQ_TASKRUN, so TASKRUN_FLAG is needed), signals the ring's own eventfd so the event loop
 * comes back for it. Linux 6.13+ runs at most 20 task-work items per pass (IO_LOCAL_TW_DEFAULT_MAX)
 * and keeps the rest in a retry list; the kernel signals the eventfd only when its work list goes
 * from empty to not empty, so nothing would wake a loop that sleeps with work left there. */
void rf_ring_rearm(rf_ring *r);
/* Stop (true) or restart (false) eventfd signals while native code consumes completions itself.
 * Restarting returns true when completion work arrived meanwhile (enter with GETEVENTS then). */
bool rf_ring_quiet(rf_ring *r, bool quiet);
/* Reads the eventfd's counter (so it stops being readable) and runs pending completion task
 * work: what a poller does when the ring (or its eventfd) became readable. */
void rf_ring_poll_work(rf_ring *r);
/* CQEs in the kernel CQ not yet consumed. */
static inline uint32_t rf_ring_cq_ready(const rf_ring *r) {
  return __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) - *r->cq_head;
}
/* The CQE `i` slots past the head (i < rf_ring_cq_ready()); cqe_size bytes apart (32 with CQE32,
 * whose big_cqe[2] follows the 16 bytes read here). On a CQE_MIXED ring (6.18) slots are 16 bytes:
 * an entry with IORING_CQE_F_32 takes two, and one with IORING_CQE_F_SKIP is padding to step over. */
static inline const rf_ring_cqe *rf_ring_cqe_at(const rf_ring *r, uint32_t i) {
  return (const rf_ring_cqe *)(r->cqes + (size_t)((*r->cq_head + i) & r->cq_mask) * r->cqe_size);
}
/* Consumes n CQEs (store-release of the head: the kernel may reuse their slots). */
static inline void rf_ring_cq_advance(rf_ring *r, uint32_t n) {
  __atomic_store_n(r->cq_head, *r->cq_head + n, __ATOMIC_RELEASE);
}
/* Tells the ring's driver (r->notify) that completions wait for it; nothing when none is set.
 * The driver may close the ring (and free its engine) before this returns: call it last. */
void rf_ring_notify_js(rf_ring *r, int status);
/* The engine calls this when it has stopped scheduling work of its own (its idle handle stops). */
void rf_ring_engine_idle(rf_ring *r);

#endif
