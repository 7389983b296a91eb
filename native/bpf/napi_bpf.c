/* Node-API bindings of the eBPF engine (contract: src/programs/binding.ts).
 * Handles are type-tagged napi externals; every argument is re-checked and a wrong one gives
 * -EINVAL, never an exception. Each Node environment has its own trace buffer (the data of its
 * bpfProgCreate and bpfTraceRead functions): its programs write there, readTrace() drains it. */
#include "../common.h"
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const napi_type_tag MAP_TAG = {0x72696e67666c6f77ull, 0x6270666d61700001ull};
static const napi_type_tag PROG_TAG = {0x72696e67666c6f77ull, 0x62706670726f6701ull};

typedef struct map_handle {
  rf_bpf_map *map;
  napi_ref ab; /* weak: the ArrayBuffer bpfMapMemory returned, reused while it lives */
} map_handle;

static void *get_tagged(napi_env env, napi_value v, const napi_type_tag *tag) {
  napi_valuetype t;
  bool ok = false;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_check_object_type_tag(env, v, tag, &ok) != napi_ok || !ok) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static map_handle *get_map(napi_env env, napi_value v) { return get_tagged(env, v, &MAP_TAG); }

/* For the ring (native/engine.c): the program behind a JS handle, or NULL. */
rf_bpf_prog *rf_bpf_prog_from_js(napi_env env, napi_value v) { return get_tagged(env, v, &PROG_TAG); }

static bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *n) {
  bool is = false;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  if (napi_get_typedarray_info(env, v, &t, n, data, &ab, &off) != napi_ok) return false;
  return t == want;
}

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) != napi_ok || t == napi_null || t == napi_undefined;
}

/* ---- maps ---- */

static void map_finalize(napi_env env, void *data, void *hint) {
  map_handle *h = data;
  if (h->ab) napi_delete_reference(env, h->ab);
  rf_bpf_map_put(h->map);
  free(h);
}

static napi_value MapCreate(napi_env env, napi_callback_info info) {
  RF_ARGS(5);
  uint32_t v[5];
  for (int i = 0; i < 5; i++)
    if (!rf_get_u32(env, argv[i], &v[i])) return rf_int(env, -EINVAL);
  rf_bpf_map *m;
  int rc = rf_bpf_map_create(v[0], v[1], v[2], v[3], v[4], &m);
  if (rc) return rf_int(env, rc);
  map_handle *h = calloc(1, sizeof *h);
  napi_value ext;
  if (!h) { rf_bpf_map_put(m); return rf_int(env, -ENOMEM); }
  h->map = m;
  if (napi_create_external(env, h, map_finalize, NULL, &ext) != napi_ok) {
    rf_bpf_map_put(m);
    free(h);
    return rf_int(env, -ENOMEM);
  }
  napi_type_tag_object(env, ext, &MAP_TAG);
  return ext;
}

static void ab_finalize(napi_env env, void *data, void *hint) { rf_bpf_map_put(hint); }

static napi_value MapMemory(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  map_handle *h = get_map(env, argv[0]);
  if (!h || h->map->type != RF_BPF_MAP_ARRAY) return rf_int(env, -EINVAL);
  napi_value ab = NULL;
  if (h->ab && napi_get_reference_value(env, h->ab, &ab) == napi_ok && ab) return ab;
  if (h->ab) { napi_delete_reference(env, h->ab); h->ab = NULL; }
  rf_bpf_map_get(h->map); /* the buffer keeps the storage alive */
  if (napi_create_external_arraybuffer(env, h->map->values, h->map->values_len, ab_finalize, h->map,
                                       &ab) != napi_ok) {
    rf_bpf_map_put(h->map);
    return rf_int(env, -ENOMEM);
  }
  napi_create_reference(env, ab, 0, &h->ab);
  return ab;
}

static napi_value MapLookup(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  map_handle *h = get_map(env, argv[0]);
  void *k, *v;
  size_t kl, vl;
  if (!h || !rf_get_bytes(env, argv[1], &k, &kl) || !rf_get_bytes(env, argv[2], &v, &vl))
    return rf_int(env, -EINVAL);
  rf_bpf_map *m = h->map;
  if (m->type == RF_BPF_MAP_RINGBUF || kl < m->key_size || vl < m->value_size) return rf_int(env, -EINVAL);
  return rf_int(env, rf_bpf_map_lookup(m, k, v));
}

static napi_value MapUpdate(napi_env env, napi_callback_info info) {
  RF_ARGS(4);
  map_handle *h = get_map(env, argv[0]);
  void *k, *v;
  size_t kl, vl;
  uint32_t flags;
  if (!h || !rf_get_bytes(env, argv[1], &k, &kl) || !rf_get_bytes(env, argv[2], &v, &vl) ||
      !rf_get_u32(env, argv[3], &flags))
    return rf_int(env, -EINVAL);
  rf_bpf_map *m = h->map;
  if (m->type == RF_BPF_MAP_RINGBUF || kl < m->key_size || vl < m->value_size) return rf_int(env, -EINVAL);
  return rf_int(env, rf_bpf_map_update(m, k, v, flags));
}

static napi_value MapDelete(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  map_handle *h = get_map(env, argv[0]);
  void *k;
  size_t kl;
  if (!h || !rf_get_bytes(env, argv[1], &k, &kl)) return rf_int(env, -EINVAL);
  if (h->map->type == RF_BPF_MAP_RINGBUF || kl < h->map->key_size) return rf_int(env, -EINVAL);
  return rf_int(env, rf_bpf_map_delete(h->map, k));
}

static napi_value MapNextKey(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  map_handle *h = get_map(env, argv[0]);
  void *k = NULL, *n;
  size_t kl = 0, nl;
  if (!h || !rf_get_bytes(env, argv[2], &n, &nl)) return rf_int(env, -EINVAL);
  if (!is_nullish(env, argv[1]) && !rf_get_bytes(env, argv[1], &k, &kl)) return rf_int(env, -EINVAL);
  rf_bpf_map *m = h->map;
  if (m->type == RF_BPF_MAP_RINGBUF || nl < m->key_size || (k && kl < m->key_size)) return rf_int(env, -EINVAL);
  return rf_int(env, rf_bpf_map_next_key(m, k, n));
}

static napi_value RingbufRead(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  map_handle *h = get_map(env, argv[0]);
  void *d;
  size_t dl;
  if (!h || !rf_get_bytes(env, argv[1], &d, &dl)) return rf_int(env, -EINVAL);
  return rf_int(env, rf_bpf_ringbuf_read(h->map, d, dl));
}

/* ---- programs ---- */

static void prog_finalize(napi_env env, void *data, void *hint) { rf_bpf_prog_put(data); }

/* ProgCreate(insns, maps, helperSet | RF_PROG_NO_JIT?, out Int32Array[1 or 2]): out[0] = pc of a
 * rejection; out[1] = bytes of compiled code (0: the program is interpreted). */
#define RF_PROG_NO_JIT 0x100u
/* The environment's trace buffer: the data of the function called. */
static rf_bpf_trace *env_trace(napi_env env, napi_callback_info info) {
  void *data = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, NULL, &data) != napi_ok) return NULL;
  return data;
}

static napi_value ProgCreate(napi_env env, napi_callback_info info) {
  RF_ARGS(4);
  void *raw, *outp;
  size_t len, outn;
  uint32_t set, nmaps = 0;
  bool is_arr = false;
  if (!rf_get_bytes(env, argv[0], &raw, &len) || len % 8 != 0 || !rf_get_u32(env, argv[2], &set) ||
      !get_typed(env, argv[3], napi_int32_array, &outp, &outn) || outn < 1 ||
      napi_is_array(env, argv[1], &is_arr) != napi_ok || !is_arr ||
      napi_get_array_length(env, argv[1], &nmaps) != napi_ok)
    return rf_int(env, -EINVAL);
  if (nmaps > RF_BPF_MAX_MAPS) return rf_int(env, -E2BIG);
  int32_t *out = outp;
  out[0] = 0;
  rf_bpf_map *maps[RF_BPF_MAX_MAPS];
  for (uint32_t i = 0; i < nmaps; i++) {
    napi_value e;
    map_handle *h;
    if (napi_get_element(env, argv[1], i, &e) != napi_ok || !(h = get_map(env, e)))
      return rf_int(env, -EINVAL);
    maps[i] = h->map;
  }
  size_t n = len / 8;
  if (n > RF_BPF_MAX_INSNS) return rf_int(env, -RF_BPF_REJ_TOO_LONG);
  void *copy = malloc(len ? len : 8); /* aligned private copy: JS may change its bytes later */
  if (!copy) return rf_int(env, -ENOMEM);
  if (len) memcpy(copy, raw, len);
  rf_bpf_prog *p;
  uint32_t err_pc = 0;
  bool jit = !(set & RF_PROG_NO_JIT);
  int rc = rf_bpf_prog_create(copy, (uint32_t)n, maps, nmaps, set & ~RF_PROG_NO_JIT, &p, &err_pc);
  free(copy);
  if (rc) {
    out[0] = (int32_t)err_pc;
    return rf_int(env, rc);
  }
  rf_bpf_prog_set_trace(p, env_trace(env, info));
  if (jit) rf_jit_prepare(p);
  if (outn >= 2) out[1] = p->jit ? (int32_t)p->jit_len : 0;
  napi_value ext;
  if (napi_create_external(env, p, prog_finalize, NULL, &ext) != napi_ok) {
    rf_bpf_prog_put(p);
    return rf_int(env, -ENOMEM);
  }
  napi_type_tag_object(env, ext, &PROG_TAG);
  return ext;
}

/* ProgRun(handle, mem, budget, out BigUint64Array[4], compare?): out = r0, insns, fault pc, fault
 * address; returns the status. compare (the differential test; out needs 10 entries): the run is
 * repeated interpreted from the same mem contents and stack address; out[4..7] and out[8] are its
 * results and status, out[9] is 1 when both runs left mem the same. */
static void run_once(rf_bpf_prog *p, void *mem, size_t memlen, uint64_t budget, uint64_t prandom, bool interpret, uint64_t *out, int *st) {
  rf_bpf_run run;
  rf_bpf_run_init(&run);
  run.budget = budget;
  run.prandom = prandom;
  if (mem && memlen) {
    rf_bpf_run_add_region(&run, mem, memlen, true);
    run.args[0] = (uint64_t)(uintptr_t)mem;
    run.args[1] = memlen;
  }
  *st = interpret ? rf_bpf_prog_run_interpreted(p, &run) : rf_bpf_prog_run(p, &run);
  out[0] = run.r0;
  out[1] = run.insns;
  out[2] = run.fault_pc;
  out[3] = run.fault_addr;
}

static napi_value ProgRun(napi_env env, napi_callback_info info) {
  RF_ARGS(5);
  rf_bpf_prog *p = get_tagged(env, argv[0], &PROG_TAG);
  void *mem = NULL, *outp;
  size_t memlen = 0, outn;
  double budget;
  bool compare = false;
  if (!p || napi_get_value_double(env, argv[2], &budget) != napi_ok || !(budget >= 0) ||
      budget > 9007199254740992.0 || !get_typed(env, argv[3], napi_biguint64_array, &outp, &outn) ||
      outn < 4)
    return rf_int(env, -EINVAL);
  if (!is_nullish(env, argv[1]) && !rf_get_bytes(env, argv[1], &mem, &memlen)) return rf_int(env, -EINVAL);
  if (!is_nullish(env, argv[4]) && (napi_get_value_bool(env, argv[4], &compare) != napi_ok || (compare && outn < 10)))
    return rf_int(env, -EINVAL);
  uint64_t *out = outp;
  int st, st2;
  if (!compare) {
    run_once(p, mem, memlen, (uint64_t)budget, 0, false, out, &st);
    return rf_int(env, st);
  }
  /* both runs draw the same bpf_get_prandom_u32 numbers */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)p;
  if (seed == 0) seed = 1;
  uint8_t *before = malloc(memlen ? memlen : 1), *after = malloc(memlen ? memlen : 1);
  if (!before || !after) { free(before); free(after); return rf_int(env, -ENOMEM); }
  if (memlen) memcpy(before, mem, memlen);
  run_once(p, mem, memlen, (uint64_t)budget, seed, false, out, &st);
  if (memlen) { memcpy(after, mem, memlen); memcpy(mem, before, memlen); }
  run_once(p, mem, memlen, (uint64_t)budget, seed, true, out + 4, &st2);
  out[8] = (uint64_t)st2;
  out[9] = memlen == 0 || memcmp(after, mem, memlen) == 0;
  free(before);
  free(after);
  return rf_int(env, st);
}

static napi_value TraceRead(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  void *d;
  size_t dl;
  rf_bpf_trace *t = env_trace(env, info);
  if (!t || !rf_get_bytes(env, argv[0], &d, &dl)) return rf_int(env, -EINVAL);
  return rf_int(env, (int64_t)rf_bpf_trace_read(t, d, dl));
}

static void trace_release(void *t) { rf_bpf_trace_put(t); }

static void export_with(napi_env env, napi_value exports, const char *name, napi_callback fn, void *data) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, data, &f) == napi_ok)
    napi_set_named_property(env, exports, name, f);
}

void rf_bpf_register(napi_env env, napi_value exports) {
  /* the environment's trace buffer: released when the environment ends (programs still alive
   * hold their own references) */
  rf_bpf_trace *trace = rf_bpf_trace_create();
  if (trace && napi_add_env_cleanup_hook(env, trace_release, trace) != napi_ok) {
    rf_bpf_trace_put(trace);
    trace = NULL;
  }
  rf_export(env, exports, "bpfMapCreate", MapCreate);
  rf_export(env, exports, "bpfMapMemory", MapMemory);
  rf_export(env, exports, "bpfMapLookup", MapLookup);
  rf_export(env, exports, "bpfMapUpdate", MapUpdate);
  rf_export(env, exports, "bpfMapDelete", MapDelete);
  rf_export(env, exports, "bpfMapNextKey", MapNextKey);
  rf_export(env, exports, "bpfRingbufRead", RingbufRead);
  export_with(env, exports, "bpfProgCreate", ProgCreate, trace);
  rf_export(env, exports, "bpfProgRun", ProgRun);
  export_with(env, exports, "bpfTraceRead", TraceRead, trace);
}
