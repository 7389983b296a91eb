/* Node-API bindings of the completion-program engine (called from src/ring/programs.ts). Every
 * function returns a value or -errno; none throws. */
#include "engine_internal.h"


static rf_engine *engine_of(napi_env env, napi_value v) {
  rf_ring *r = rf_ring_from_js(env, v);
  return r ? r->engine : NULL;
}

/* engineEnable(ring, cq0Entries, budget) -> [cq0: ArrayBuffer, ctl: ArrayBuffer] | -errno */
static napi_value js_enable(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_ring *r = rf_ring_from_js(env, argv[0]);
  uint32_t n;
  int64_t budget;
  if (!r || r->engine || !rf_get_u32(env, argv[1], &n) || !rf_get_i64(env, argv[2], &budget) || budget < 1) return rf_int(env, -EINVAL);
  rf_engine *e = calloc(1, sizeof *e);
  if (!e) return rf_int(env, -ENOMEM);
  e->ring = r;
  e->env = env;
  e->budget = (uint64_t)budget;
  e->run_stale = true;
  napi_value cq0, ctl;
  int rc = rf_engine_make_cq(e, n, &cq0);
  if (rc < 0) { napi_delete_reference(env, e->cqs[0].ab); free(e); return rf_int(env, rc); }
  void *mem;
  if (napi_create_arraybuffer(env, sizeof(engine_ctl), &mem, &ctl) != napi_ok) { rf_engine_free(e, env); return rf_int(env, -ENOMEM); }
  memset(mem, 0, sizeof(engine_ctl));
  e->ctl = mem;
  napi_create_reference(env, ctl, 1, &e->ctl_ref);
  uv_loop_t *loop;
  e->idle = calloc(1, sizeof *e->idle);
  if (e->idle && napi_get_uv_event_loop(env, &loop) == napi_ok && uv_idle_init(loop, e->idle) == 0) {
    e->idle->data = e;
    uv_unref((uv_handle_t *)e->idle);
  } else {
    free(e->idle);
    e->idle = NULL;
  }
  r->engine = e;
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, cq0);
  napi_set_element(env, out, 1, ctl);
  return out;
}

/* engineCreateCq(ring, entries) -> [index, ArrayBuffer] | -errno */
static napi_value js_create_cq(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  rf_engine *e = engine_of(env, argv[0]);
  uint32_t n;
  if (!e || !rf_get_u32(env, argv[1], &n)) return rf_int(env, -EINVAL);
  napi_value ab;
  int rc = rf_engine_make_cq(e, n, &ab);
  if (rc < 0) return rf_int(env, rc);
  napi_value out;
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
  if (e->nprogs >= MAX_PROGS) return rf_int(env, -ENOSPC);
  rf_bpf_prog_get(p);
  e->progs[e->nprogs] = p;
  return rf_int(env, e->nprogs++);
}

/* engineRegisterRegion(ring, view, writable) -> [id, address] | -errno */
static napi_value js_register_region(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_engine *e = engine_of(env, argv[0]);
  void *p;
  size_t len;
  bool writable = true;
  if (!e || !rf_get_bytes(env, argv[1], &p, &len) || !rf_get_bool(env, argv[2], &writable) || !len) return rf_int(env, -EINVAL);
  if (e->nregions >= MAX_UREGIONS) return rf_int(env, -ENOSPC);
  uregion *g = &e->regions[e->nregions];
  g->base = (uint64_t)(uintptr_t)p;
  g->len = len;
  g->writable = writable;
  napi_create_reference(env, argv[1], 1, &g->ref);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  e->run_stale = true;
  napi_set_element(env, out, 0, rf_int(env, e->nregions++));
  napi_set_element(env, out, 1, rf_double(env, (double)g->base));
  return out;
}

/* engineAllowFd(ring, fd, on) -> 0 | -errno */
static napi_value js_allow_fd(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_engine *e = engine_of(env, argv[0]);
  int32_t fd;
  bool on = true;
  if (!e || !rf_get_i32(env, argv[1], &fd) || fd < 0 || fd >= (1 << 22)) return rf_int(env, -EINVAL);
  rf_get_bool(env, argv[2], &on);
  fd_set_allowed(e, fd, on);
  return rf_int(env, 0);
}

/* engineShutdown(ring) -> 0: waiting program requests complete with -EAGAIN (ring closing) */
static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  rf_engine *e = engine_of(env, argv[0]);
  if (!e) return rf_int(env, -EINVAL);
  rf_engine_shutdown(e);
  return rf_int(env, 0);
}

/* enginePass(ring) -> 1 if CQ 0 has entries (runs a reaping pass now) */
static napi_value js_pass(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  rf_engine *e = engine_of(env, argv[0]);
  if (!e) return rf_int(env, -EINVAL);
  if (rf_needs_getevents(e->ring)) rf_ring_enter(e->ring, 0, 0, RF_ENTER_GETEVENTS);
  return rf_int(env, rf_engine_pass(e) ? 1 : 0);
}

void rf_engine_register(napi_env env, napi_value exports) {
  rf_export(env, exports, "engineEnable", js_enable);
  rf_export(env, exports, "engineCreateCq", js_create_cq);
  rf_export(env, exports, "engineRegisterProgram", js_register_program);
  rf_export(env, exports, "engineRegisterRegion", js_register_region);
  rf_export(env, exports, "engineAllowFd", js_allow_fd);
  rf_export(env, exports, "engineShutdown", js_shutdown);
  rf_export(env, exports, "enginePass", js_pass);
  rf_policy_register(env, exports); /* policy_napi.c */
}
