/* Node-API bindings of the completion-program engine (called from src/ring/programs.ts). Every
 * function returns a value or -errno; none throws. The engine itself (engine.c) is plain C: this
 * layer gives JS ArrayBuffers over its memory (each holding its own reference, see mem.h) and
 * runs the engine's extra loop turns with a libuv idle handle. */
#include "engine_napi.h"
#include "ring.h"
#include "mem.h"
#include "bpf/bpf.h"
#include "engine_groups.h"

#include <stdlib.h>
#include <uv.h>

/* What the bindings keep per engine: the idle handle that gives it another loop turn. */
typedef struct {
  rf_engine *engine;
  rf_ring *ring;
  uv_idle_t *idle; /* heap; freed by its close callback */
} engine_binding;

static rf_engine *engine_of(napi_env env, napi_value v) {
  rf_ring *r = rf_ring_from_js(env, v);
  return r ? r->engine : NULL;
}

static void on_idle(uv_idle_t *h) {
  engine_binding *b = h->data;
  if (!b) return;
  if (rf_needs_getevents(b->ring)) rf_ring_enter(b->ring, 0, 0, RF_ENTER_GETEVENTS);
  if (rf_engine_turn(b->engine)) rf_ring_notify_js(b->ring, 0);
}

static void want_turn(void *data, bool more) {
  engine_binding *b = data;
  if (!b->idle) return;
  bool active = uv_is_active((uv_handle_t *)b->idle);
  if (more && !active) uv_idle_start(b->idle, on_idle);
  else if (!more && active) {
    uv_idle_stop(b->idle);
    rf_ring_engine_idle(b->ring); /* the ring's bindings may let it be collected again */
  }
}

void rf_engine_free(rf_engine *e, napi_env env) {
  (void)env;
  if (!e) return;
  engine_binding *b = rf_engine_turn_hook_data(e);
  rf_engine_set_turn_hook(e, NULL, NULL);
  rf_engine_destroy(e);
  if (b) {
    if (b->idle) {
      b->idle->data = NULL;
      uv_idle_stop(b->idle);
      uv_close((uv_handle_t *)b->idle, (uv_close_cb)free);
    }
    free(b);
  }
}

static void mem_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)data;
  rf_mem_put(hint);
}

/* An ArrayBuffer over engine memory, holding its own reference (released by V8's finalizer). */
static bool mem_view(napi_env env, struct rf_mem *m, napi_value *out) {
  if (!m) return false;
  rf_mem_get(m);
  if (napi_create_external_arraybuffer(env, rf_mem_ptr(m), rf_mem_len(m), mem_finalize, m, out) != napi_ok) {
    rf_mem_put(m);
    return false;
  }
  return true;
}

/* engineEnable(ring, cq0Entries, budget, namingOpcodes: Uint8Array) -> [jsCq0, ctl, progCq0] ArrayBuffers | -errno.
 * namingOpcodes: the opcodes whose addr names a request (rf_engine_set_naming). */
static napi_value js_enable(napi_env env, napi_callback_info info) {
  RF_ARGS(4);
  rf_ring *r = rf_ring_from_js(env, argv[0]);
  uint32_t n;
  int64_t budget;
  void *naming;
  size_t nnaming;
  if (!r || r->engine || !rf_get_u32(env, argv[1], &n) || !rf_get_i64(env, argv[2], &budget) || budget < 1 ||
      !rf_get_bytes(env, argv[3], &naming, &nnaming) || nnaming > 256)
    return rf_int(env, -EINVAL);
  int err = 0;
  rf_engine *e = rf_engine_create(r, n, (uint64_t)budget, &err);
  if (!e) return rf_int(env, err);
  rf_engine_set_naming(e, naming, (uint32_t)nnaming);
  napi_value views[3];
  if (!mem_view(env, rf_engine_js_cq_mem(e), &views[0]) || !mem_view(env, rf_engine_ctl_mem(e), &views[1]) ||
      !mem_view(env, rf_engine_cq_mem(e, 0), &views[2])) {
    rf_engine_destroy(e);
    return rf_int(env, -ENOMEM);
  }
  engine_binding *b = calloc(1, sizeof *b);
  if (!b) { rf_engine_destroy(e); return rf_int(env, -ENOMEM); }
  b->engine = e;
  b->ring = r;
  uv_loop_t *loop;
  b->idle = calloc(1, sizeof *b->idle);
  if (b->idle && napi_get_uv_event_loop(env, &loop) == napi_ok && uv_idle_init(loop, b->idle) == 0) {
    b->idle->data = b;
    uv_unref((uv_handle_t *)b->idle);
  } else {
    free(b->idle);
    b->idle = NULL;
  }
  rf_engine_set_turn_hook(e, want_turn, b);
  r->engine = e;
  napi_value out;
  napi_create_array_with_length(env, 3, &out);
  for (uint32_t i = 0; i < 3; i++) napi_set_element(env, out, i, views[i]);
  return out;
}

/* engineCreateCq(ring, entries) -> [index, ArrayBuffer] | -errno */
static napi_value js_create_cq(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  rf_engine *e = engine_of(env, argv[0]);
  uint32_t n;
  if (!e || !rf_get_u32(env, argv[1], &n)) return rf_int(env, -EINVAL);
  int rc = rf_engine_add_cq(e, n);
  if (rc < 0) return rf_int(env, rc);
  napi_value ab, out;
  if (!mem_view(env, rf_engine_cq_mem(e, (uint32_t)rc), &ab)) return rf_int(env, -ENOMEM);
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, rf_int(env, rc));
  napi_set_element(env, out, 1, ab);
  return out;
}

/* engineRegisterProgram(ring, progHandle) -> index | -errno */
static napi_value js_register_program(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  rf_engine *e = engine_of(env, argv[0]);
  rf_bpf_prog *p = rf_bpf_prog_from_js(env, argv[1]);
  if (!e || !p) return rf_int(env, -EINVAL);
  return rf_int(env, rf_engine_add_prog(e, p));
}

/* engineRegisterRegion(ring, length, writable) -> [id, address, ArrayBuffer] | -errno. The engine
 * allocates the region; the ArrayBuffer is a view of it that keeps the memory alive on its own. */
static napi_value js_register_region(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_engine *e = engine_of(env, argv[0]);
  int64_t len;
  bool writable = true;
  if (!e || !rf_get_i64(env, argv[1], &len) || len < 1 || !rf_get_bool(env, argv[2], &writable)) return rf_int(env, -EINVAL);
  struct rf_mem *m = NULL;
  int rc = rf_engine_add_region(e, (size_t)len, writable, &m);
  if (rc < 0) return rf_int(env, rc);
  napi_value ab, out;
  if (!mem_view(env, m, &ab)) return rf_int(env, -ENOMEM);
  napi_create_array_with_length(env, 3, &out);
  napi_set_element(env, out, 0, rf_int(env, rc));
  napi_set_element(env, out, 1, rf_double(env, (double)(uintptr_t)rf_mem_ptr(m)));
  napi_set_element(env, out, 2, ab);
  return out;
}

/* engineShutdown(ring) -> 0: waiting program requests complete with -EAGAIN (ring closing) */
static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  rf_engine *e = engine_of(env, argv[0]);
  if (!e) return rf_int(env, -EINVAL);
  rf_engine_shutdown(e);
  return rf_int(env, 0);
}

/* enginePost(ring, cq, userData: bigint, res, flags) -> 0 | -errno: a copy of a JS request's
 * completion for the CQ its `cq` option named */
static napi_value js_post(napi_env env, napi_callback_info info) {
  RF_ARGS(5);
  rf_engine *e = engine_of(env, argv[0]);
  uint32_t cq, flags;
  int32_t res;
  uint64_t ud;
  bool lossless;
  if (!e || !rf_get_u32(env, argv[1], &cq) || napi_get_value_bigint_uint64(env, argv[2], &ud, &lossless) != napi_ok ||
      napi_get_value_int32(env, argv[3], &res) != napi_ok || !rf_get_u32(env, argv[4], &flags))
    return rf_int(env, -EINVAL);
  return rf_int(env, rf_engine_post(e, cq, ud, res, flags));
}

/* enginePass(ring) -> 1 if JS has completions to read (runs a reaping pass now, in the same
 * loop turn: program work already done this turn counts) */
static napi_value js_pass(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  rf_engine *e = engine_of(env, argv[0]);
  if (!e) return rf_int(env, -EINVAL);
  rf_ring *r = rf_ring_from_js(env, argv[0]);
  if (rf_needs_getevents(r)) rf_ring_enter(r, 0, 0, RF_ENTER_GETEVENTS);
  return rf_int(env, rf_engine_pass(e) ? 1 : 0);
}

/* engineFlushPark(ring, cq) -> 1 | 0: JS read CQ cq; parked CQEs move in (1: programs woke) */
static napi_value js_flush_park(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  rf_engine *e = engine_of(env, argv[0]);
  uint32_t cq;
  if (!e || !rf_get_u32(env, argv[1], &cq)) return rf_int(env, -EINVAL);
  return rf_int(env, rf_engine_flush_park(e, cq) ? 1 : 0);
}

/* engineGrantGroup(ring, bgid, bufs, bufRing, table, count, size, entries, incremental) -> 0 | -errno:
 * programs may select from group bgid and hold its buffers (engine_groups.h); the three block
 * handles come from bufMemAlloc (src/buffers/native-memory.ts) and the engine keeps a reference
 * to each until the grant is taken back or the engine goes */
static napi_value js_grant_group(napi_env env, napi_callback_info info) {
  RF_ARGS(9);
  rf_engine *e = engine_of(env, argv[0]);
  uint32_t bgid, count, size, entries;
  bool inc = false;
  struct rf_mem *bufs = rf_buf_block_mem(env, argv[2]), *ring = rf_buf_block_mem(env, argv[3]), *table = rf_buf_block_mem(env, argv[4]);
  if (!e || !rf_get_u32(env, argv[1], &bgid) || bgid > 0xffff || !rf_get_u32(env, argv[5], &count) || !rf_get_u32(env, argv[6], &size) ||
      !rf_get_u32(env, argv[7], &entries) || !rf_get_bool(env, argv[8], &inc))
    return rf_int(env, -EINVAL);
  return rf_int(env, rf_group_grant(e, (uint16_t)bgid, bufs, ring, table, count, size, entries, inc));
}

/* engineRevokeGroup(ring, bgid) -> 0 | -ENOENT | -EBUSY */
static napi_value js_revoke_group(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  rf_engine *e = engine_of(env, argv[0]);
  uint32_t bgid;
  if (!e || !rf_get_u32(env, argv[1], &bgid) || bgid > 0xffff) return rf_int(env, -EINVAL);
  return rf_int(env, rf_group_revoke(e, (uint16_t)bgid));
}

void rf_engine_register(napi_env env, napi_value exports) {
  rf_export(env, exports, "engineGrantGroup", js_grant_group);
  rf_export(env, exports, "engineRevokeGroup", js_revoke_group);
  rf_export(env, exports, "engineEnable", js_enable);
  rf_export(env, exports, "engineCreateCq", js_create_cq);
  rf_export(env, exports, "engineRegisterProgram", js_register_program);
  rf_export(env, exports, "engineRegisterRegion", js_register_region);
  rf_export(env, exports, "engineShutdown", js_shutdown);
  rf_export(env, exports, "enginePass", js_pass);
  rf_export(env, exports, "enginePost", js_post);
  rf_export(env, exports, "engineFlushPark", js_flush_park);
  rf_policy_register(env, exports); /* policy_napi.c */
}
