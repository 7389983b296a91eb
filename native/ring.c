/* The ring's native half: the three io_uring syscalls, the mmaps (handed to JS as
 * ArrayBuffers), tail publication + enter in one call, and a libuv poll watcher that
 * calls JS once per batch of completions. SQE encoding and CQE parsing happen in
 * TypeScript directly on the mapped memory. Everything returns -errno; nothing throws. */
#include "ring.h"
#include "engine_napi.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <uv.h>

static rf_ring *g_rings; /* all rings of this env (one env per addon instance in practice) */

static long sys_setup(unsigned entries, struct rf_params *p) {
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
static long sys_register(int fd, unsigned op, void *arg, unsigned nr) {
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
  if (sys_register(r->fd, RF_REGISTER_RING_FDS, &u, 1) == 1) {
    r->enter_fd = (int)u.offset;
    r->enter_flag = RF_ENTER_REGISTERED_RING;
  }
}
/* Frees the slot; until then the registration keeps the ring alive even after close(fd). */
static void unregister_ring_fd(rf_ring *r) {
  if (!r->enter_flag) return;
  struct rf_rsrc_update u = {(uint32_t)r->enter_fd, 0, 0};
  sys_register(r->fd, RF_UNREGISTER_RING_FDS, &u, 1);
  r->enter_flag = 0;
  r->enter_fd = r->fd;
}

rf_ring *rf_ring_from_js(napi_env env, napi_value v);
static rf_ring *get_ring(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  rf_ring *r = p;
  if (!r || r->closed) return NULL;
  return r;
}

/* ringSetup(entries, params: Uint8Array(120)) -> fd | -errno. The kernel fills params. */
static napi_value js_setup(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  uint32_t entries;
  void *p;
  size_t len;
  if (!rf_get_u32(env, argv[0], &entries) || !rf_get_bytes(env, argv[1], &p, &len) || len < sizeof(struct rf_params))
    return rf_int(env, -EINVAL);
  struct rf_params params;
  memcpy(&params, p, sizeof params);
  long fd = sys_setup(entries, &params);
  memcpy(p, &params, sizeof params);
  return rf_int(env, fd);
}

static void detach_and_unmap(napi_env env, rf_ring *r) {
  for (int i = 0; i < 3; i++) {
    if (!r->buffers[i]) continue;
    napi_value ab;
    if (env && napi_get_reference_value(env, r->buffers[i], &ab) == napi_ok && ab) {
      bool detachable = false;
      napi_is_detached_arraybuffer(env, ab, &detachable);
      if (!detachable) napi_detach_arraybuffer(env, ab);
    }
    if (env) napi_delete_reference(env, r->buffers[i]);
    r->buffers[i] = NULL;
  }
  if (r->sqes && r->sqes != MAP_FAILED) munmap(r->sqes, r->sqes_sz);
  if (r->cq_ptr && r->cq_ptr != MAP_FAILED && r->cq_ptr != r->sq_ptr) munmap(r->cq_ptr, r->cq_sz);
  if (r->sq_ptr && r->sq_ptr != MAP_FAILED) munmap(r->sq_ptr, r->sq_sz);
  r->sqes = r->cq_ptr = r->sq_ptr = NULL;
}

static void ring_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  rf_ring *r = data;
  /* The JS object is gone; if it was never closed, the fd and maps leak no further than here. */
  if (!r->closed) {
    r->closed = true;
    if (r->polling && r->poll) { uv_poll_stop(r->poll); }
    detach_and_unmap(NULL, r);
    unregister_ring_fd(r);
    if (r->evfd >= 0) close(r->evfd);
    if (r->fd >= 0) close(r->fd);
  }
  for (rf_ring **pp = &g_rings; *pp; pp = &(*pp)->next)
    if (*pp == r) { *pp = r->next; break; }
  if (r->poll) {
    r->poll->data = NULL; /* freed by its close callback */
    if (!uv_is_closing((uv_handle_t *)r->poll)) uv_close((uv_handle_t *)r->poll, (uv_close_cb)free);
  }
  free(r);
}

/* A buffer over mapped memory that JS may read and write; detached when the ring closes. */
static bool make_view(napi_env env, void *p, size_t sz, napi_value *out, napi_ref *ref) {
  if (napi_create_external_arraybuffer(env, p, sz, NULL, NULL, out) != napi_ok) return false;
  return napi_create_reference(env, *out, 1, ref) == napi_ok;
}

/* ringMap(fd, params: Uint8Array(120)) -> [handle, sqRing: ArrayBuffer, cqRing: ArrayBuffer, sqes: ArrayBuffer] | -errno */
static napi_value js_map(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  int32_t fd;
  void *pp;
  size_t len;
  if (!rf_get_i32(env, argv[0], &fd) || !rf_get_bytes(env, argv[1], &pp, &len) || len < sizeof(struct rf_params))
    return rf_int(env, -EINVAL);
  struct rf_params p;
  memcpy(&p, pp, sizeof p);
  rf_ring *r = calloc(1, sizeof *r);
  if (!r) return rf_int(env, -ENOMEM);
  r->fd = fd;
  r->evfd = -1;
  r->env = env;
  r->setup_flags = p.flags;
  r->features = p.features;
  size_t cqe_size = (p.flags & RF_SETUP_CQE32) ? 32 : 16;
  size_t sqe_size = (p.flags & RF_SETUP_SQE128) ? 128 : 64;
  r->sq_sz = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  if (p.flags & RF_SETUP_NO_SQARRAY) r->sq_sz = p.sq_off.flags + sizeof(uint32_t) * 4; /* array is absent */
  r->cq_sz = p.cq_off.cqes + p.cq_entries * cqe_size;
  bool single = (p.features & RF_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (r->cq_sz > r->sq_sz) r->sq_sz = r->cq_sz;
    r->cq_sz = r->sq_sz;
  }
  int err = 0;
  r->sq_ptr = mmap(NULL, r->sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, RF_OFF_SQ_RING);
  if (r->sq_ptr == MAP_FAILED) { err = -errno; r->sq_ptr = NULL; goto fail; }
  if (single) {
    r->cq_ptr = r->sq_ptr;
  } else {
    r->cq_ptr = mmap(NULL, r->cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, RF_OFF_CQ_RING);
    if (r->cq_ptr == MAP_FAILED) { err = -errno; r->cq_ptr = NULL; goto fail; }
  }
  r->sqes_sz = p.sq_entries * sqe_size;
  r->sqes = mmap(NULL, r->sqes_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, RF_OFF_SQES);
  if (r->sqes == MAP_FAILED) { err = -errno; r->sqes = NULL; goto fail; }
  r->sq_head = (uint32_t *)((char *)r->sq_ptr + p.sq_off.head);
  r->sq_mask = *(uint32_t *)((char *)r->sq_ptr + p.sq_off.ring_mask);
  r->sq_entries = p.sq_entries;
  r->cq_mask = *(uint32_t *)((char *)r->cq_ptr + p.cq_off.ring_mask);
  r->cqes = (uint8_t *)r->cq_ptr + p.cq_off.cqes;
  r->sq_tail = (uint32_t *)((char *)r->sq_ptr + p.sq_off.tail);
  r->sq_flags = (uint32_t *)((char *)r->sq_ptr + p.sq_off.flags);
  r->cq_head = (uint32_t *)((char *)r->cq_ptr + p.cq_off.head);
  r->cq_tail = (uint32_t *)((char *)r->cq_ptr + p.cq_off.tail);
  r->cq_flags = p.cq_off.flags ? (uint32_t *)((char *)r->cq_ptr + p.cq_off.flags) : NULL;
  register_ring_fd(r);

  napi_value out, handle, views[3];
  napi_create_array_with_length(env, 4, &out);
  if (!make_view(env, r->sq_ptr, r->sq_sz, &views[0], &r->buffers[0])) { err = -ENOMEM; goto fail; }
  if (!make_view(env, r->cq_ptr, r->cq_sz, &views[1], &r->buffers[1])) { err = -ENOMEM; goto fail; }
  if (!make_view(env, r->sqes, r->sqes_sz, &views[2], &r->buffers[2])) { err = -ENOMEM; goto fail; }
  if (napi_create_external(env, r, ring_finalize, NULL, &handle) != napi_ok) { err = -ENOMEM; goto fail; }
  napi_value name;
  napi_create_string_utf8(env, "ringflow:ring", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &r->actx);
  r->next = g_rings;
  g_rings = r;
  napi_set_element(env, out, 0, handle);
  for (int i = 0; i < 3; i++) napi_set_element(env, out, i + 1, views[i]);
  return out;
fail:
  detach_and_unmap(env, r);
  unregister_ring_fd(r);
  free(r);
  return rf_int(env, err);
}

bool rf_needs_getevents(rf_ring *r);
static inline bool needs_getevents(rf_ring *r) {
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
  return needs_getevents(r) || __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) != *r->cq_head;
}

/* ringSubmit(handle, newTail, toSubmit, minComplete, flags) -> submitted | -errno.
 * Publishes the SQ tail (store-release) and enters the kernel once for the whole batch.
 * With SQPOLL it enters only when the poller sleeps. GETEVENTS is added when completion
 * task work is pending (DEFER_TASKRUN, TASKRUN flag, CQ overflow), so completions of this
 * batch that finished inline are visible when the call returns. */
static napi_value js_submit(napi_env env, napi_callback_info info) {
  RF_ARGS(5);
  rf_ring *r = get_ring(env, argv[0]);
  uint32_t tail, to_submit, min_complete, flags;
  if (!r || !rf_get_u32(env, argv[1], &tail) || !rf_get_u32(env, argv[2], &to_submit) ||
      !rf_get_u32(env, argv[3], &min_complete) || !rf_get_u32(env, argv[4], &flags))
    return rf_int(env, -EINVAL);
  if (r->engine) {
    rf_engine_submit(r->engine, tail, min_complete, flags);
    return rf_int(env, to_submit);
  }
  __atomic_store_n(r->sq_tail, tail, __ATOMIC_RELEASE);
  if (r->setup_flags & RF_SETUP_SQPOLL) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint32_t f = __atomic_load_n(r->sq_flags, __ATOMIC_RELAXED);
    if (f & RF_SQ_NEED_WAKEUP) flags |= RF_ENTER_SQ_WAKEUP;
    else if (!min_complete && !(flags & RF_ENTER_GETEVENTS)) return rf_int(env, to_submit);
  }
  if (needs_getevents(r) || (r->setup_flags & RF_SETUP_DEFER_TASKRUN)) flags |= RF_ENTER_GETEVENTS;
  /* completions of this batch that finish inline are read by JS right after this call: no
   * eventfd signal (and later spurious wakeup) for them */
  rf_ring_quiet(r, true);
  long n = rf_ring_enter(r, to_submit, min_complete, flags);
  /* linked requests continue as deferred task work after the submitting enter: run it while the
   * kernel says more is pending (bounded), so a chain of inline requests completes in this call */
  /* (the CQ itself is read by JS right after this call; only pending task work matters here) */
  /* one round of task work that arrived meanwhile; looping here until none is left (which lets
   * linked chains finish in this call) cost 10-40 % of QD64 read throughput in an A/B run */
  if (rf_ring_quiet(r, false) && (r->setup_flags & RF_SETUP_DEFER_TASKRUN))
    rf_ring_enter(r, 0, 0, RF_ENTER_GETEVENTS);
  return rf_int(env, n);
}

/* ringEnter(handle, toSubmit, minComplete, flags) -> result | -errno (raw io_uring_enter) */
static napi_value js_enter(napi_env env, napi_callback_info info) {
  RF_ARGS(4);
  rf_ring *r = get_ring(env, argv[0]);
  uint32_t to_submit, min_complete, flags;
  if (!r || !rf_get_u32(env, argv[1], &to_submit) || !rf_get_u32(env, argv[2], &min_complete) ||
      !rf_get_u32(env, argv[3], &flags))
    return rf_int(env, -EINVAL);
  return rf_int(env, rf_ring_enter(r, to_submit, min_complete, flags));
}

/* ringRegister(fd, opcode, arg: ArrayBufferView | null, nr) -> result | -errno. fd may be -1 (QUERY, SEND_MSG_RING). */
static napi_value js_register(napi_env env, napi_callback_info info) {
  RF_ARGS(4);
  int32_t fd;
  uint32_t op, nr;
  void *arg = NULL;
  size_t len = 0;
  napi_valuetype t;
  if (!rf_get_i32(env, argv[0], &fd) || !rf_get_u32(env, argv[1], &op) || !rf_get_u32(env, argv[3], &nr))
    return rf_int(env, -EINVAL);
  napi_typeof(env, argv[2], &t);
  if (t != napi_null && t != napi_undefined && !rf_get_bytes(env, argv[2], &arg, &len)) return rf_int(env, -EINVAL);
  return rf_int(env, sys_register(fd, op, arg, nr));
}

static void on_poll(uv_poll_t *h, int status, int events) {
  rf_ring *r = h->data;
  if (!r || r->closed) return;
  if (r->evfd >= 0) {
    uint64_t v;
    ssize_t n = read(r->evfd, &v, sizeof v);
    (void)n;
  }
  if (needs_getevents(r)) rf_ring_enter(r, 0, 0, RF_ENTER_GETEVENTS);
  if (r->engine) {
    if (rf_engine_turn(r->engine) || status != 0) rf_ring_notify_js(r, status);
    return;
  }
  if (__atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) == *r->cq_head && status == 0) return;
  rf_ring_notify_js(r, status);
}

bool rf_needs_getevents(rf_ring *r) { return needs_getevents(r); }

rf_ring *rf_ring_from_js(napi_env env, napi_value v) { return get_ring(env, v); }

void rf_ring_notify_js(rf_ring *r, int status) {
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, result;
  if (r->callback && napi_get_reference_value(env, r->callback, &cb) == napi_ok && cb) {
    napi_get_global(env, &recv);
    napi_value arg = rf_int(env, status);
    /* make_callback drains nextTicks and microtasks afterwards: the batch's continuations run
     * and their new SQEs are flushed before we return to the loop. */
    napi_make_callback(env, r->actx, recv, cb, 1, &arg, &result);
  }
  napi_close_handle_scope(env, scope);
}

/* ringWatch(handle, callback, useEventfd) -> 0 | -errno. Starts the libuv watcher (unref'd). */
static napi_value js_watch(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_ring *r = get_ring(env, argv[0]);
  bool use_evfd = false;
  napi_valuetype t;
  if (!r || r->poll || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) return rf_int(env, -EINVAL);
  rf_get_bool(env, argv[2], &use_evfd);
  int watch_fd = r->fd;
  if (use_evfd) {
    int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (e < 0) return rf_int(env, -errno);
    long rr = sys_register(r->fd, RF_REGISTER_EVENTFD, &e, 1);
    if (rr < 0) { close(e); return rf_int(env, rr); }
    r->evfd = e;
    watch_fd = e;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return rf_int(env, -EINVAL);
  r->poll = calloc(1, sizeof *r->poll);
  if (!r->poll) return rf_int(env, -ENOMEM);
  int rc = uv_poll_init(loop, r->poll, watch_fd);
  if (rc < 0) { free(r->poll); r->poll = NULL; return rf_int(env, rc); }
  r->poll->data = r;
  napi_create_reference(env, argv[1], 1, &r->callback);
  rc = uv_poll_start(r->poll, UV_READABLE, on_poll);
  if (rc < 0) return rf_int(env, rc);
  r->polling = true;
  uv_unref((uv_handle_t *)r->poll);
  return rf_int(env, 0);
}

/* ringRef(handle, bool) -> 0: keeps the event loop alive (ops in flight) or not. */
static napi_value js_ref(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  rf_ring *r = get_ring(env, argv[0]);
  bool on;
  if (!r || !r->poll || !rf_get_bool(env, argv[1], &on)) return rf_int(env, -EINVAL);
  if (on) uv_ref((uv_handle_t *)r->poll);
  else uv_unref((uv_handle_t *)r->poll);
  return rf_int(env, 0);
}

static void ring_close(napi_env env, rf_ring *r) {
  if (r->closed) return;
  r->closed = true;
  if (r->engine) {
    rf_engine_free(r->engine, env); /* env NULL at environment teardown: no N-API calls then */
    r->engine = NULL;
  }
  if (r->poll) {
    uv_poll_stop(r->poll);
    r->poll->data = NULL;
    uv_close((uv_handle_t *)r->poll, (uv_close_cb)free);
    r->poll = NULL;
  }
  if (r->callback && env) { napi_delete_reference(env, r->callback); r->callback = NULL; }
  if (r->actx && env) { napi_async_destroy(env, r->actx); r->actx = NULL; }
  detach_and_unmap(env, r);
  unregister_ring_fd(r);
  if (r->evfd >= 0) { close(r->evfd); r->evfd = -1; }
  if (r->fd >= 0) { close(r->fd); r->fd = -1; }
}

/* ringClose(handle) -> 0. Detaches the JS views, unmaps, closes. A second close is a no-op. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) return rf_int(env, -EINVAL);
  ring_close(env, p);
  return rf_int(env, 0);
}

/* addressOf(arrayBuffer | view) -> address of the first byte (a number; user addresses fit in 2^53). */
static napi_value js_address_of(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  void *p;
  size_t len;
  if (!rf_get_bytes(env, argv[0], &p, &len)) return rf_int(env, -EINVAL);
  return rf_double(env, (double)(uintptr_t)p);
}

/* closeFd(fd) -> 0 | -errno (used by tests and teardown paths, not a substitute for IORING_OP_CLOSE) */
static napi_value js_close_fd(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  int32_t fd;
  if (!rf_get_i32(env, argv[0], &fd)) return rf_int(env, -EINVAL);
  return rf_int(env, close(fd) < 0 ? -errno : 0);
}

static void cleanup_hook(void *arg) {
  (void)arg;
  for (rf_ring *r = g_rings; r; r = r->next) ring_close(NULL, r);
}

void rf_ring_register(napi_env env, napi_value exports) {
  rf_export(env, exports, "ringSetup", js_setup);
  rf_export(env, exports, "ringMap", js_map);
  rf_export(env, exports, "ringSubmit", js_submit);
  rf_export(env, exports, "ringEnter", js_enter);
  rf_export(env, exports, "ringRegister", js_register);
  rf_export(env, exports, "ringWatch", js_watch);
  rf_export(env, exports, "ringRef", js_ref);
  rf_export(env, exports, "ringClose", js_close);
  rf_export(env, exports, "addressOf", js_address_of);
  rf_export(env, exports, "closeFd", js_close_fd);
  napi_add_env_cleanup_hook(env, cleanup_hook, NULL);
  rf_engine_register(env, exports);
}
