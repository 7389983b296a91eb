/* ringflow native addon entry: creates the environment's own data and registers the ring part
 * and the eBPF engine part. Init runs once per Node environment (main thread, each worker). */
#include "common.h"
#include <stdlib.h>

bool rf_get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    size_t n, off;
    napi_value ab;
    void *p;
    if (napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off) != napi_ok) return false;
    size_t el = 1;
    switch (t) {
      case napi_int16_array: case napi_uint16_array: el = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
      default: el = 1;
    }
    *data = p;
    *len = n * el;
    return true;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value ab;
    size_t off;
    return napi_get_dataview_info(env, v, len, data, &ab, &off) == napi_ok;
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    return napi_get_arraybuffer_info(env, v, data, len) == napi_ok;
  }
  return false;
}

void rf_export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

rf_env_data *rf_env_data_of(napi_env env) {
  void *d = NULL;
  if (napi_get_instance_data(env, &d) != napi_ok) return NULL;
  return d;
}

void rf_env_data_put(rf_env_data *d) {
  if (d && --d->refs == 0) free(d);
}

/* The env is being deleted (after its cleanup hooks and its objects' finalizers). */
static void env_data_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  rf_env_data *d = data;
  d->torn_down = true;
  rf_env_data_put(d);
}

static napi_value init(napi_env env, napi_value exports) {
  rf_env_data *d = calloc(1, sizeof *d);
  if (!d) return exports;
  d->env = env;
  d->refs = 1;
  if (napi_set_instance_data(env, d, env_data_finalize, NULL) != napi_ok) {
    free(d);
    return exports;
  }
  rf_ring_register(env, exports, d);
  rf_bpf_register(env, exports);
  rf_net_register(env, exports);
  rf_owned_fds_register(env, exports);
  rf_wait_register(env, exports);
  rf_buffers_register(env, exports);
  rf_bulk_register(env, exports);
  rf_cached_stat_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
