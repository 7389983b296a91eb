/* Memory that ringflow lends the kernel for registered buffers and provided-buffer groups
 * (src/ring/registered-buffers.ts, src/buffers/): native blocks (mem.h: page-aligned, between
 * guard pages, reference counted) with JS views over them.
 *
 *  - a block handle (a napi external) holds one reference; TS drops it with bufMemRelease() when
 *    the kernel has let go of the block (or the handle's finalizer does, when it is collected);
 *  - every ArrayBuffer made over a block (bufMemView) holds a reference of its own, dropped by
 *    V8's finalizer: what JS does to it (transfer, detach, drop) never frees memory the kernel
 *    or another view still uses, and external ArrayBuffers cannot be resized;
 *  - bufDetach() detaches one such ArrayBuffer (a released provided buffer: its views read as
 *    zero-length afterwards).
 *
 * Nothing here is process-global: a handle is an external of the environment that made it.
 * Every function returns a value or -errno; none throws. */
#include "common.h"
#include "mem.h"

#include <stdlib.h>
#include <sys/resource.h>

typedef struct {
  rf_mem *m; /* NULL once released */
} buf_block;

/* Marks the externals made here ("ringflow" "bufmem"): another external is never taken for one. */
static const napi_type_tag block_tag = { 0x72696e67666c6f77ULL, 0x6275666d656d0001ULL };

static void block_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  buf_block *b = data;
  rf_mem_put(b->m);
  free(b);
}

static buf_block *block_of(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) return NULL;
  bool ok = false;
  if (napi_check_object_type_tag(env, v, &block_tag, &ok) != napi_ok || !ok) return NULL;
  return p;
}

struct rf_mem *rf_buf_block_mem(napi_env env, napi_value v) {
  buf_block *b = block_of(env, v);
  return b ? b->m : NULL;
}

static void view_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)data;
  rf_mem_put(hint);
}

/* An ArrayBuffer over [off, off + len) of m, holding its own reference. */
static bool make_view(napi_env env, rf_mem *m, size_t off, size_t len, napi_value *out) {
  rf_mem_get(m);
  if (napi_create_external_arraybuffer(env, (uint8_t *)rf_mem_ptr(m) + off, len, view_finalize, m, out) != napi_ok) {
    rf_mem_put(m);
    return false;
  }
  return true;
}

/* bufMemAlloc(length) -> [handle, address] | -errno: a zeroed, page-aligned block. */
static napi_value js_alloc(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  int64_t len;
  if (!rf_get_i64(env, argv[0], &len) || len < 1) return rf_int(env, -EINVAL);
  errno = 0;
  rf_mem *m = rf_mem_new((size_t)len);
  if (!m) return rf_int(env, errno ? -errno : -ENOMEM);
  buf_block *b = calloc(1, sizeof *b);
  if (!b) { rf_mem_put(m); return rf_int(env, -ENOMEM); }
  b->m = m;
  napi_value handle, out;
  if (napi_create_external(env, b, block_finalize, NULL, &handle) != napi_ok) {
    rf_mem_put(m);
    free(b);
    return rf_int(env, -ENOMEM);
  }
  napi_type_tag_object(env, handle, &block_tag);
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, handle);
  napi_set_element(env, out, 1, rf_double(env, (double)(uintptr_t)rf_mem_ptr(m)));
  return out;
}

/* bufMemView(handle, offset, length) -> ArrayBuffer | -errno (length 0 is refused: JS makes empty views itself). */
static napi_value js_view(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  buf_block *b = block_of(env, argv[0]);
  int64_t off, len;
  if (!b || !b->m || !rf_get_i64(env, argv[1], &off) || !rf_get_i64(env, argv[2], &len) || off < 0 || len < 1 ||
      (uint64_t)off + (uint64_t)len > rf_mem_len(b->m))
    return rf_int(env, -EINVAL);
  napi_value ab;
  if (!make_view(env, b->m, (size_t)off, (size_t)len, &ab)) return rf_int(env, -ENOMEM);
  return ab;
}

/* bufMemRelease(handle) -> 0 | -EINVAL: drops the handle's reference now (views keep theirs). */
static napi_value js_release(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  buf_block *b = block_of(env, argv[0]);
  if (!b) return rf_int(env, -EINVAL);
  rf_mem_put(b->m);
  b->m = NULL;
  return rf_int(env, 0);
}

/* bufDetach(arrayBuffer) -> 0 | -EINVAL: detaches it (its views become zero-length). */
static napi_value js_detach(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  bool is = false, detached = false;
  if (napi_is_arraybuffer(env, argv[0], &is) != napi_ok || !is) return rf_int(env, -EINVAL);
  if (napi_is_detached_arraybuffer(env, argv[0], &detached) == napi_ok && detached) return rf_int(env, 0);
  return rf_int(env, napi_detach_arraybuffer(env, argv[0]) == napi_ok ? 0 : -EINVAL);
}

/* memlockLimit() -> [soft, hard] in bytes (-1: unlimited) | -errno: RLIMIT_MEMLOCK, for the
 * message of an ENOMEM from registering memory. */
static napi_value js_memlock(napi_env env, napi_callback_info info) {
  (void)info;
  struct rlimit rl;
  if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return rf_int(env, -errno);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, rf_double(env, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur));
  napi_set_element(env, out, 1, rf_double(env, rl.rlim_max == RLIM_INFINITY ? -1 : (double)rl.rlim_max));
  return out;
}

void rf_buffers_register(napi_env env, napi_value exports) {
  rf_export(env, exports, "bufMemAlloc", js_alloc);
  rf_export(env, exports, "bufMemView", js_view);
  rf_export(env, exports, "bufMemRelease", js_release);
  rf_export(env, exports, "bufDetach", js_detach);
  rf_export(env, exports, "memlockLimit", js_memlock);
}
