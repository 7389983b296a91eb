/* The ring's Node-API bindings, on top of the ring core (ring.h) and the engine (engine.h): the
 * JS handle (a type-tagged external owning one ring), the mapped memory handed to JS as
 * ArrayBuffers, the libuv poll watcher that calls JS once per batch of completions, and the
 * ring's lifetime in its Node environment:
 *
 *  - threads: every ring is on the list of the environment that created it (its instance data);
 *    that env's cleanup hook closes only its own rings, so a worker ending touches nothing else;
 *  - GC: the watcher's JS callback (a closure over the Ring) is held weakly, so a dropped idle
 *    ring is collected and the external's finalizer closes its fds. A ring with JS requests in
 *    flight is held by JS itself (src/ring/liveness.ts, busyRings); one whose program engine has work
 *    of its own while JS is idle is held here (the callback's reference turns strong until the
 *    engine is idle again).
 *
 * Everything returns a number (>= 0, or -errno) or plain values; nothing throws. */
#include "common.h"
#include "ring.h"
#include "engine_napi.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

typedef struct rf_js_ring {
  rf_ring core; /* first: an rf_ring * of a JS ring is its rf_js_ring * */
  napi_env env;
  rf_env_data *owner;
  struct rf_js_ring *prev, *next; /* owner's list */
  napi_ref buffers[4];            /* weak: sq ring, cq ring, sqes, js_words; detached on close */
  /* Written by JS, read here: [0] JS's SQ tail (the SQEs it has written, submitted or not), so
   * that the env's teardown finds the SQEs JS never handed to the kernel (close_unsubmitted). */
  uint32_t js_words[2];
  napi_ref callback;              /* the watcher's JS callback: strong while JS is busy or the engine works (update_keepalive) */
  bool strong;                    /* callback's reference count is 1 */
  bool js_busy;                   /* JS has requests queued or in flight, or is closing (JS holds the Ring) */
  napi_async_context actx;        /* the async context callbacks run in: only while JS is busy (see js_ref) */
  int in_notify;                  /* callbacks made with actx running now (it is destroyed after them) */
  bool drop_actx;                 /* JS went idle inside a callback: destroy actx when it returns */
  uv_poll_t *poll;                /* heap, freed by its close callback */
} rf_js_ring;

/* The ring a JS handle names: an external whose pointer is on this env's ring list (a pointer
 * compare, no dereference, so a foreign external or another env's ring is refused). The list
 * walk is skipped for the ring named last (a type-tag check costs ~130 ns a call, measured). */
static rf_js_ring *js_ring_of(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) return NULL;
  rf_env_data *d = rf_env_data_of(env);
  if (!d) return NULL;
  if (p == (void *)d->last) return d->last;
  for (rf_js_ring *jr = d->rings; jr; jr = jr->next)
    if ((void *)jr == p) return d->last = jr;
  return NULL;
}
static rf_js_ring *get_ring(napi_env env, napi_value v) {
  rf_js_ring *jr = js_ring_of(env, v);
  return jr && !jr->core.closed ? jr : NULL;
}
rf_ring *rf_ring_from_js(napi_env env, napi_value v) {
  rf_js_ring *jr = get_ring(env, v);
  return jr ? &jr->core : NULL;
}

/* ---- the env's ring list */

static void link_ring(rf_js_ring *jr, rf_env_data *d) {
  jr->owner = d;
  d->refs++;
  jr->next = d->rings;
  if (d->rings) d->rings->prev = jr;
  d->rings = jr;
}
static void unlink_ring(rf_js_ring *jr) {
  rf_env_data *d = jr->owner;
  if (!d) return;
  if (jr->prev) jr->prev->next = jr->next;
  else d->rings = jr->next;
  if (jr->next) jr->next->prev = jr->prev;
  if (d->last == jr) d->last = NULL;
  jr->prev = jr->next = NULL;
  jr->owner = NULL;
  rf_env_data_put(d);
}
/* May N-API be called for this ring? Not once its env is being torn down. */
static bool env_live(rf_js_ring *jr) { return jr->owner && !jr->owner->torn_down; }

/* ---- keeping the ring alive */

/* The callback (and through it the Ring, its requests and whatever awaits them) is strong while JS
 * is busy with the ring (switched per busy spell, by js_ref, not per request: ~200 ns a switch,
 * measured) or the engine has work of its own; weak otherwise, so a dropped idle ring is collected.
 * JS's own list of busy rings is no root when nothing roots ringflow's module scope: a copy of
 * ringflow evaluated in a vm context that only the awaiting code reaches (test/vm-contexts.test.ts,
 * where such a ring was collected under a pending readFile). */
static void update_keepalive(rf_js_ring *jr) {
  if (jr->core.closed || !jr->callback || !env_live(jr)) return;
  bool want = jr->js_busy || (jr->core.engine && rf_engine_busy(jr->core.engine));
  if (want == jr->strong) return;
  uint32_t n;
  if (want) napi_reference_ref(jr->env, jr->callback, &n);
  else napi_reference_unref(jr->env, jr->callback, &n);
  jr->strong = want;
}

static void on_engine_idle(rf_ring *r) { update_keepalive((rf_js_ring *)r); }

/* ---- the async context

 * A ring's callbacks run in an async context (async_hooks, AsyncLocalStorage) that exists only
 * while JS is busy with the ring: made when it becomes busy (js_ref), destroyed when it goes idle
 * or closes. Node's async context holds its resource and the AsyncContextFrame current at its
 * making strongly; one held for an idle ring's life kept alive whatever that frame reached: under
 * Jest, every test file's vm context and its default ring (Node 24 and 26, 2026-11-28). A callback
 * made without one (an engine's completion while JS is idle) runs in the empty context. */
static void make_actx(rf_js_ring *jr, napi_value resource) {
  jr->drop_actx = false;
  if (jr->actx) return;
  napi_value name;
  if (napi_create_string_utf8(jr->env, "ringflow:ring", NAPI_AUTO_LENGTH, &name) != napi_ok) return;
  if (napi_async_init(jr->env, resource, name, &jr->actx) != napi_ok) jr->actx = NULL;
}

/* Destroys the async context now, or after the callbacks made with it return. */
static void drop_actx(rf_js_ring *jr) {
  if (!jr->actx) return;
  if (jr->in_notify > 0) {
    jr->drop_actx = true;
    return;
  }
  if (env_live(jr)) napi_async_destroy(jr->env, jr->actx);
  jr->actx = NULL;
  jr->drop_actx = false;
}

/* ---- teardown */

static void stop_poll(rf_js_ring *jr) {
  if (!jr->poll) return;
  uv_poll_stop(jr->poll);
  jr->poll->data = NULL;
  if (!uv_is_closing((uv_handle_t *)jr->poll)) uv_close((uv_handle_t *)jr->poll, (uv_close_cb)free);
  jr->poll = NULL;
}

/* Releases everything but the struct. `js`: JS may still hold the ArrayBuffers, detach them
 * (an explicit close); false from the finalizer (the Ring, their only holder, is gone) and at
 * env teardown (no N-API calls at all then). */
static void ring_release(rf_js_ring *jr, bool js) {
  if (jr->core.closed) return;
  bool napi = env_live(jr);
  napi_env env = jr->env;
  if (jr->core.engine) {
    rf_engine_free(jr->core.engine, napi ? env : NULL); /* NULL: no N-API calls */
    jr->core.engine = NULL;
  }
  stop_poll(jr);
  if (napi) {
    if (jr->callback) napi_delete_reference(env, jr->callback);
    for (int i = 0; i < 4; i++) {
      if (!jr->buffers[i]) continue;
      napi_value ab = NULL;
      if (js && napi_get_reference_value(env, jr->buffers[i], &ab) == napi_ok && ab) {
        bool detached = false;
        napi_is_detached_arraybuffer(env, ab, &detached);
        if (!detached) napi_detach_arraybuffer(env, ab);
      }
      napi_delete_reference(env, jr->buffers[i]);
    }
  }
  if (js) drop_actx(jr); /* (the finalizer and env teardown destroy it themselves) */
  jr->callback = NULL;
  memset(jr->buffers, 0, sizeof jr->buffers);
  jr->core.notify = NULL;
  jr->core.engine_idle = NULL;
  rf_ring_close(&jr->core);
}

/* The handle was collected (the Ring is gone) or the env is deleted: close what is still open. */
static void ring_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  rf_js_ring *jr = data;
  ring_release(jr, false);
  if (jr->actx && env_live(jr)) napi_async_destroy(jr->env, jr->actx);
  unlink_ring(jr);
  free(jr);
}

/* Under SQPOLL, what JS published is the poller's: it consumes it on its own, but stops taking
 * anything once the ring's fd is closed, which the teardown does next. So, before that, the poller
 * is woken if it sleeps and given up to POLLER_GRACE_MS to reach the published tail (it takes a
 * batch in microseconds when it runs): the closes JS published then run. Past that (a disabled ring,
 * whose poller takes nothing: JS never publishes there) they are left, as they would be anyway. */
#define POLLER_GRACE_MS 200
static void let_poller_consume(rf_ring *r) {
  uint32_t published = __atomic_load_n(r->sq_tail, __ATOMIC_ACQUIRE);
  for (int ms = 0; ms < POLLER_GRACE_MS; ms++) {
    if (__atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) == published) return;
    if (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & RF_SQ_NEED_WAKEUP) rf_ring_enter(r, 0, 0, RF_ENTER_SQ_WAKEUP);
    struct timespec one_ms = { 0, 1000000 };
    nanosleep(&one_ms, NULL);
  }
}

/* The SQEs JS wrote and never handed to the kernel when its environment ends (a worker's
 * process.exit() in the tick that queued them, before the flush): they never run. Among them, the
 * close(2) of a process fd (IORING_OP_CLOSE without IOSQE_FIXED_FILE or a file_index) is done here,
 * so a thread ending leaves open no fd it asked to close (a FileHandle's or socket's close: its fd
 * left the owned set, owned_fds.c, when JS wrote the SQE: never both). ring.close() does the
 * same in JS for what it takes back (src/ring/unsubmitted.ts). Never for what the kernel has, or may
 * have, consumed: from the SQ's head (an enter that failed left what it published there), or from
 * the published tail under SQPOLL, whose thread consumes on its own. */
static void close_unsubmitted(rf_js_ring *jr) {
  rf_ring *r = &jr->core;
  if (r->closed || !r->sq_tail || !r->sqes) return;
  if (r->setup_flags & RF_SETUP_SQPOLL) let_poller_consume(r);
  uint32_t tail = __atomic_load_n(&jr->js_words[0], __ATOMIC_RELAXED);
  uint32_t from = __atomic_load_n(r->sq_tail, __ATOMIC_ACQUIRE);
  if (!(r->setup_flags & RF_SETUP_SQPOLL)) {
    uint32_t head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
    if (from - head <= r->sq_entries) from = head;
  }
  /* (a program engine's SQEs move the published tail past JS's stale one: nothing of JS's waits) */
  if (tail - from == 0 || tail - from > r->sq_entries) return;
  for (uint32_t t = from; t != tail; t++) {
    const uint8_t *sqe = rf_ring_sqe(r, t);
    int32_t fd;
    uint32_t file_index;
    memcpy(&fd, sqe + 4, sizeof fd);
    memcpy(&file_index, sqe + 44, sizeof file_index);
    if (sqe[0] == RF_OP_CLOSE && !(sqe[1] & RF_SQE_FIXED_FILE) && file_index == 0 && fd >= 0) close(fd);
  }
}

/* The env's cleanup hook: closes this env's rings (and only them) without N-API calls; the
 * structs are freed by their handles' finalizers, which run after. */
static void env_cleanup(void *arg) {
  rf_env_data *d = arg;
  d->torn_down = true;
  for (rf_js_ring *jr = d->rings; jr; jr = jr->next) {
    close_unsubmitted(jr);
    ring_release(jr, false);
  }
}

/* ---- the JS callback */

static void notify_js(rf_ring *r, int status) {
  rf_js_ring *jr = (rf_js_ring *)r;
  if (!jr->callback || !env_live(jr)) return;
  napi_env env = jr->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb = NULL, recv, result;
  if (napi_get_reference_value(env, jr->callback, &cb) == napi_ok && cb) {
    napi_get_global(env, &recv);
    napi_value arg = rf_int(env, status);
    /* make_callback drains nextTicks and microtasks afterwards: the batch's continuations run
     * and their new SQEs are flushed before we return to the loop. */
    jr->in_notify++;
    napi_status st = napi_make_callback(env, jr->actx, recv, cb, 1, &arg, &result);
    jr->in_notify--;
    if (jr->in_notify == 0 && jr->drop_actx) drop_actx(jr);
    if (st == napi_pending_exception) {
      /* the callback threw: report it as uncaught now (left pending, it would block every later
       * callback and be thrown at the next unrelated native call) */
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  } else if (jr->poll) {
    /* the Ring was collected (weak callback gone): nobody reads this ring again; the handle's
     * finalizer closes it */
    uv_poll_stop(jr->poll);
  }
  napi_close_handle_scope(env, scope);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  rf_js_ring *jr = h->data;
  if (!jr || jr->core.closed) return;
  rf_ring *r = &jr->core;
  rf_ring_poll_work(r);
  if (r->engine) {
    if (rf_engine_turn(r->engine) || status != 0) rf_ring_notify_js(r, status);
  } else if (rf_ring_cq_ready(r) || status != 0) {
    rf_ring_notify_js(r, status);
  }
  /* JS may have closed the ring meanwhile (jr stays allocated until the finalizer, which never
   * runs inside a callback); engine work that settled without JS may let the ring go */
  update_keepalive(jr);
}

/* ---- Node-API functions */

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
  long fd = rf_ring_setup(entries, &params);
  memcpy(p, &params, sizeof params);
  return rf_int(env, fd);
}

/* A buffer over mapped memory that JS may read and write, weakly referenced (detached on close). */
static bool make_view(napi_env env, void *p, size_t sz, napi_value *out, napi_ref *ref) {
  if (napi_create_external_arraybuffer(env, p, sz, NULL, NULL, out) != napi_ok) return false;
  return napi_create_reference(env, *out, 0, ref) == napi_ok;
}

/* ringMap(fd, params: Uint8Array(120)) -> [handle, sqRing, cqRing, sqes, jsWords: ArrayBuffer] | -errno
 * (jsWords: 8 bytes JS writes its SQ tail into, rf_js_ring.js_words).
 * The handle owns the fd from here on (closed by ringClose, or by the finalizer); on failure the
 * fd stays the caller's. */
static napi_value js_map(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  int32_t fd;
  void *pp;
  size_t len;
  rf_env_data *d = rf_env_data_of(env);
  if (!d || d->torn_down || !rf_get_i32(env, argv[0], &fd) || !rf_get_bytes(env, argv[1], &pp, &len) ||
      len < sizeof(struct rf_params))
    return rf_int(env, -EINVAL);
  struct rf_params p;
  memcpy(&p, pp, sizeof p);
  rf_js_ring *jr = calloc(1, sizeof *jr);
  if (!jr) return rf_int(env, -ENOMEM);
  jr->env = env;
  int err = rf_ring_map(&jr->core, fd, &p);
  if (err < 0) {
    free(jr);
    return rf_int(env, err);
  }
  rf_ring *r = &jr->core;
  napi_value out, handle, views[4];
  err = -ENOMEM;
  jr->js_words[0] = *r->sq_tail;
  if (napi_create_array_with_length(env, 5, &out) != napi_ok) goto fail;
  if (!make_view(env, r->sq_ptr, r->sq_sz, &views[0], &jr->buffers[0])) goto fail;
  if (!make_view(env, r->cq_ptr, r->cq_sz, &views[1], &jr->buffers[1])) goto fail;
  if (!make_view(env, r->sqes, r->sqes_sz, &views[2], &jr->buffers[2])) goto fail;
  if (!make_view(env, jr->js_words, sizeof jr->js_words, &views[3], &jr->buffers[3])) goto fail;
  if (napi_create_external(env, jr, ring_finalize, NULL, &handle) != napi_ok) goto fail;
  /* from here the finalizer owns jr (and the fd) */
  link_ring(jr, d);
  napi_set_element(env, out, 0, handle);
  for (int i = 0; i < 4; i++) napi_set_element(env, out, i + 1, views[i]);
  return out;
fail:
  for (int i = 0; i < 4; i++) {
    if (!jr->buffers[i]) continue;
    napi_value ab = NULL;
    if (napi_get_reference_value(env, jr->buffers[i], &ab) == napi_ok && ab) napi_detach_arraybuffer(env, ab);
    napi_delete_reference(env, jr->buffers[i]);
  }
  rf_ring_unmap(r); /* the fd stays open: the caller closes it */
  free(jr);
  return rf_int(env, err);
}

/* ringSubmit(handle, newTail, toSubmit, minComplete, flags) -> submitted | -errno.
 * Publishes the SQ tail and enters the kernel once for the whole batch (rf_ring_submit), or
 * hands the batch to the program engine when it is enabled. */
static napi_value js_submit(napi_env env, napi_callback_info info) {
  RF_ARGS(5);
  rf_js_ring *jr = get_ring(env, argv[0]);
  uint32_t tail, to_submit, min_complete, flags;
  if (!jr || !rf_get_u32(env, argv[1], &tail) || !rf_get_u32(env, argv[2], &to_submit) ||
      !rf_get_u32(env, argv[3], &min_complete) || !rf_get_u32(env, argv[4], &flags))
    return rf_int(env, -EINVAL);
  rf_ring *r = &jr->core;
  if (r->engine) {
    return rf_int(env, rf_engine_submit(r->engine, tail, min_complete, flags));
  }
  return rf_int(env, rf_ring_submit(r, tail, to_submit, min_complete, flags));
}

/* ringEnter(handle, toSubmit, minComplete, flags) -> result | -errno (raw io_uring_enter) */
static napi_value js_enter(napi_env env, napi_callback_info info) {
  RF_ARGS(4);
  rf_js_ring *jr = get_ring(env, argv[0]);
  uint32_t to_submit, min_complete, flags;
  if (!jr || !rf_get_u32(env, argv[1], &to_submit) || !rf_get_u32(env, argv[2], &min_complete) ||
      !rf_get_u32(env, argv[3], &flags))
    return rf_int(env, -EINVAL);
  long rc = rf_ring_enter(&jr->core, to_submit, min_complete, flags);
  if (flags & RF_ENTER_GETEVENTS) rf_ring_rearm(&jr->core);
  return rf_int(env, rc);
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
  return rf_int(env, rf_io_uring_register(fd, op, arg, nr));
}

/* ringWatch(handle, callback, useEventfd) -> 0 | -errno. Starts the libuv watcher (unref'd) that
 * calls `callback(status)` when completions wait. The callback is held weakly until ringRef says
 * the ring is busy. */
static napi_value js_watch(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_js_ring *jr = get_ring(env, argv[0]);
  bool use_evfd = false;
  napi_valuetype t;
  if (!jr || jr->poll || jr->callback || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function)
    return rf_int(env, -EINVAL);
  rf_get_bool(env, argv[2], &use_evfd);
  rf_ring *r = &jr->core;
  int watch_fd = r->fd;
  if (use_evfd) {
    int e = rf_ring_use_eventfd(r);
    if (e < 0) return rf_int(env, e);
    watch_fd = e;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return rf_int(env, -EINVAL);
  if (napi_create_reference(env, argv[1], 0, &jr->callback) != napi_ok) return rf_int(env, -ENOMEM);
  jr->poll = calloc(1, sizeof *jr->poll);
  if (!jr->poll) return rf_int(env, -ENOMEM);
  int rc = uv_poll_init(loop, jr->poll, watch_fd);
  if (rc < 0) {
    free(jr->poll);
    jr->poll = NULL;
    return rf_int(env, rc);
  }
  jr->poll->data = jr;
  uv_unref((uv_handle_t *)jr->poll);
  r->notify = notify_js;
  r->engine_idle = on_engine_idle;
  rc = uv_poll_start(jr->poll, UV_READABLE, on_poll);
  return rf_int(env, rc < 0 ? rc : 0);
}

/* ringRef(handle, loopRef, busy, resource) -> 0. loopRef: keep the event loop alive (requests in
 * flight, not unref()'d). busy: JS has requests queued or in flight (or is closing) and holds the
 * Ring itself; when idle, the engine's own work (if any) holds it from here. resource: the async
 * resource the ring's callbacks run in while busy (async_hooks see it: its hasRef() tells tools such
 * as Jest's open-handle check whether the ring holds the event loop); it must not reference the Ring. */
static napi_value js_ref(napi_env env, napi_callback_info info) {
  RF_ARGS(4);
  rf_js_ring *jr = get_ring(env, argv[0]);
  bool on, busy;
  napi_valuetype rt = napi_undefined;
  if (!jr || !jr->poll || !rf_get_bool(env, argv[1], &on) || !rf_get_bool(env, argv[2], &busy) ||
      napi_typeof(env, argv[3], &rt) != napi_ok || rt != napi_object)
    return rf_int(env, -EINVAL);
  if (on) uv_ref((uv_handle_t *)jr->poll);
  else uv_unref((uv_handle_t *)jr->poll);
  if (busy) make_actx(jr, argv[3]);
  else drop_actx(jr);
  jr->js_busy = busy;
  update_keepalive(jr);
  return rf_int(env, 0);
}

/* ringClose(handle) -> 0. Detaches the JS views, unmaps, closes. A second close is a no-op. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  rf_js_ring *jr = js_ring_of(env, argv[0]);
  if (!jr) return rf_int(env, -EINVAL);
  ring_release(jr, true);
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

/* ringOpenCount() -> rings of this env that are not closed (tests: a worker's exit leaves the
 * main thread's rings open; collected rings are gone). */
static napi_value js_open_count(napi_env env, napi_callback_info info) {
  rf_env_data *d = rf_env_data_of(env);
  int64_t n = 0;
  if (d)
    for (rf_js_ring *jr = d->rings; jr; jr = jr->next) n += !jr->core.closed;
  return rf_int(env, n);
}

/* probePollWakeEventfd(maxWaitMs) -> 0 | 1 | -errno: rf_probe_poll_wake_eventfd (ring.h). Blocks
 * the calling thread (not at all where the kernel signals from the wakeup itself). */
static napi_value js_probe_poll_wake_eventfd(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  int32_t ms;
  if (!rf_get_i32(env, argv[0], &ms) || ms < 0) return rf_int(env, -EINVAL);
  return rf_int(env, rf_probe_poll_wake_eventfd(ms));
}

void rf_ring_register(napi_env env, napi_value exports, rf_env_data *d) {
  rf_export(env, exports, "ringSetup", js_setup);
  rf_export(env, exports, "ringMap", js_map);
  rf_export(env, exports, "ringSubmit", js_submit);
  rf_export(env, exports, "ringEnter", js_enter);
  rf_export(env, exports, "ringRegister", js_register);
  rf_export(env, exports, "ringWatch", js_watch);
  rf_export(env, exports, "ringRef", js_ref);
  rf_export(env, exports, "ringClose", js_close);
  rf_export(env, exports, "ringOpenCount", js_open_count);
  rf_export(env, exports, "addressOf", js_address_of);
  rf_export(env, exports, "closeFd", js_close_fd);
  rf_export(env, exports, "probePollWakeEventfd", js_probe_poll_wake_eventfd);
  napi_add_env_cleanup_hook(env, env_cleanup, d);
  rf_engine_register(env, exports);
}
