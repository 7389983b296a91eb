/* The native ring state, shared by ring.c and engine.c. */
#ifndef RINGFLOW_RING_H
#define RINGFLOW_RING_H

#include "common.h"
#include "uapi.h"
#include <uv.h>

typedef struct rf_ring {
  int fd;
  /* what io_uring_enter is given: the ring's index in this thread's registered rings (with
   * RF_ENTER_REGISTERED_RING in enter_flag; saves the kernel an fd lookup per call), or fd */
  int enter_fd;
  unsigned enter_flag;
  int evfd; /* registered eventfd we poll instead of the ring fd, or -1 */
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
  uint32_t *cq_flags; /* IORING_CQ_EVENTFD_DISABLED lives here (5.8) */
  uint32_t cq_mask;
  uint8_t *cqes;
  struct rf_engine *engine; /* completion programs and extra CQs, once enabled */
  napi_env env;
  napi_ref buffers[3]; /* sq ring, cq ring, sqes: detached on close */
  napi_ref callback;
  napi_async_context actx;
  uv_poll_t *poll; /* heap, freed in its close callback */
  bool polling;
  bool closed;
  struct rf_ring *next; /* registry for the env cleanup hook */
} rf_ring;


/* io_uring_enter on this ring (through its registered index when it has one); -errno on failure */
long rf_ring_enter(rf_ring *r, unsigned to_submit, unsigned min_complete, unsigned flags);
bool rf_needs_getevents(rf_ring *r);
/* Stop (true) or restart (false) eventfd signals while native code consumes completions itself.
 * Restarting returns true when completion work arrived meanwhile (enter with GETEVENTS then). */
bool rf_ring_quiet(rf_ring *r, bool quiet);
/* Calls the ring's JS callback (one batch of CQ 0 completions). */
void rf_ring_notify_js(rf_ring *r, int status);
rf_ring *rf_ring_from_js(napi_env env, napi_value v);

#endif
