/* Shared helpers of ringflow's bindings layer (the only layer that includes node_api.h; the
 * ring core, ring.h, and the eBPF VM, bpf/bpf.h, are plain C below it).
 * Rule: native functions return numbers (>= 0 success, -errno failure) or plain values;
 * they never build JS Error objects. TypeScript turns -errno into RingError. A native
 * function that receives arguments of the wrong type returns -EINVAL (TS validated them
 * already; this is the "never trust JS" re-check), it does not throw. */
#ifndef RINGFLOW_COMMON_H
#define RINGFLOW_COMMON_H

#include <node_api.h>
#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define RF_MAX_ARGS 8

/* Fetch up to n arguments into argv; missing ones are `undefined`. */
#define RF_ARGS(n)                                                  \
  size_t argc = (n);                                                \
  napi_value argv[(n) > 0 ? (n) : 1];                               \
  napi_value this_arg;                                              \
  if (napi_get_cb_info(env, info, &argc, argv, &this_arg, NULL) != napi_ok) \
    return rf_int(env, -EINVAL);                                    \
  (void)this_arg

static inline napi_value rf_int(napi_env env, int64_t v) {
  napi_value r;
  /* napi_create_int32 makes a Smi directly; napi_create_int64 goes through a double (v8::Number::New):
   * ~1 % of a QD 1 read loop's profile, where every submit returns one */
  if (v == (int32_t)v) napi_create_int32(env, (int32_t)v, &r);
  else napi_create_int64(env, v, &r);
  return r;
}
static inline napi_value rf_double(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}
static inline napi_value rf_undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}
static inline bool rf_get_i64(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}
static inline bool rf_get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}
static inline bool rf_get_i32(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}
static inline bool rf_get_bool(napi_env env, napi_value v, bool *out) {
  return napi_get_value_bool(env, v, out) == napi_ok;
}
/* Base pointer and byte length of any ArrayBufferView, ArrayBuffer or Buffer. */
bool rf_get_bytes(napi_env env, napi_value v, void **data, size_t *len);

/* Adds a function property to `exports`. */
void rf_export(napi_env env, napi_value exports, const char *name, napi_callback fn);

/* What the addon keeps per Node environment (main thread or worker), in the env's instance data
 * (napi_set_instance_data): nothing native is shared between environments. */
struct rf_js_ring;
typedef struct rf_env_data {
  napi_env env;
  struct rf_js_ring *rings; /* this env's rings, closed by its cleanup hook */
  struct rf_js_ring *last;  /* the ring a handle last named (a cache for handle checks) */
  uint32_t refs;            /* the instance-data slot + one per ring on the list */
  bool torn_down;           /* the env's cleanup hook ran: no more N-API calls for its rings */
} rf_env_data;
/* This env's data (NULL only if the addon failed to initialise in it). */
rf_env_data *rf_env_data_of(napi_env env);
/* Drops one reference to the env data (frees it at zero). */
void rf_env_data_put(rf_env_data *d);

/* The ring a JS handle names (a ring of this env, not closed), or NULL. */
struct rf_ring *rf_ring_from_js(napi_env env, napi_value v);

/* Each part of the addon registers its functions here. */
void rf_ring_register(napi_env env, napi_value exports, rf_env_data *d);
void rf_bpf_register(napi_env env, napi_value exports);
void rf_net_register(napi_env env, napi_value exports);
/* Process fds the env's socket objects own, closed by its cleanup hook (owned_fds.c). */
void rf_owned_fds_register(napi_env env, napi_value exports);
void rf_wait_register(napi_env env, napi_value exports); /* epoll fds, test children (wait.c) */
/* Native memory lent to the kernel: registered buffers, provided-buffer groups (buffers.c). */
void rf_buffers_register(napi_env env, napi_value exports);
void rf_bulk_register(napi_env env, napi_value exports); /* completions in bulk reaped in C (bulk.c) */
void rf_cached_stat_register(napi_env env, napi_value exports); /* stat from the kernel's caches (cached_stat.c) */
/* buffers.c: the memory behind a block handle made by bufMemAlloc (NULL if v is none, or released). */
struct rf_mem *rf_buf_block_mem(napi_env env, napi_value v);
/* The eBPF program behind a JS program handle (napi external), or NULL (native/bpf/napi_bpf.c).
 * Borrowed: take a reference with rf_bpf_prog_get() to keep it. */
typedef struct rf_bpf_prog rf_bpf_prog;
rf_bpf_prog *rf_bpf_prog_from_js(napi_env env, napi_value v);

#endif
