/* Node-API bindings of the program policy (called from src/ring/grants.ts). Every function
 * returns a value or -errno; none throws. */
#include "common.h"
#include "ring.h"
#include "engine_internal.h"
#include "policy.h"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

static rf_engine *engine_of(napi_env env, napi_value v) {
  rf_ring *r = rf_ring_from_js(env, v);
  return r ? r->engine : NULL;
}

/* policyLoad(ring, bytes) -> 0 | -errno: the serialised policy (src/ops/policy.ts), once per engine */
static napi_value js_load(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  rf_engine *e = engine_of(env, argv[0]);
  void *p;
  size_t len;
  if (!e || !rf_get_bytes(env, argv[1], &p, &len)) return rf_int(env, -EINVAL);
  return rf_int(env, rf_policy_load(e, p, len));
}

/* policyValidate(bytes) -> 0 | -EINVAL: the native structure check alone */
static napi_value js_validate(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  void *p;
  size_t len;
  if (!rf_get_bytes(env, argv[0], &p, &len)) return rf_int(env, -EINVAL);
  return rf_int(env, rf_policy_validate(p, len));
}

/* policyGrantDir(ring, pathBytesWithNul, write) -> dirfd | -errno: opens the directory
 * O_PATH | O_DIRECTORY (the engine owns the fd and closes it with the ring) and grants it */
static napi_value js_grant_dir(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_engine *e = engine_of(env, argv[0]);
  void *p;
  size_t len;
  bool write = false;
  if (!e || !e->policy || !rf_get_bytes(env, argv[1], &p, &len) || !rf_get_bool(env, argv[2], &write)) return rf_int(env, -EINVAL);
  if (len < 2 || len > 4096 || ((char *)p)[len - 1] != 0 || strlen(p) != len - 1) return rf_int(env, -EINVAL);
  int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return rf_int(env, -errno);
  int rc = rf_policy_grant(e, fd, write);
  if (rc < 0) {
    close(fd);
    return rf_int(env, rc);
  }
  return rf_int(env, fd);
}

/* policyAllowFd(ring, fd, on) -> 0 | -errno: the engine holds its own dup of fd */
static napi_value js_allow_fd(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_engine *e = engine_of(env, argv[0]);
  int32_t fd;
  bool on = true;
  if (!e || !rf_get_i32(env, argv[1], &fd) || !rf_get_bool(env, argv[2], &on)) return rf_int(env, -EINVAL);
  return rf_int(env, rf_policy_allow_fd(e, fd, on));
}

/* policyAllowSlot(ring, slot, on) -> 0 | -errno: programs may name registered-file-table slot
 * `slot` with IOSQE_FIXED_FILE (src/ring/files.ts checks it against the table first) */
static napi_value js_allow_slot(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_engine *e = engine_of(env, argv[0]);
  int32_t slot;
  bool on = true;
  if (!e || !rf_get_i32(env, argv[1], &slot) || slot < 0 || !rf_get_bool(env, argv[2], &on)) return rf_int(env, -EINVAL);
  return rf_int(env, rf_policy_allow_slot(e, (uint32_t)slot, on));
}

/* policySlotsChange(ring, start, count) -> 0 | -EBUSY: JS is about to change those slots (count
 * -1: all); their allowances are taken back unless a live program request named one */
static napi_value js_slots_change(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_engine *e = engine_of(env, argv[0]);
  int32_t start, count;
  if (!e || !rf_get_i32(env, argv[1], &start) || start < 0 || !rf_get_i32(env, argv[2], &count)) return rf_int(env, -EINVAL);
  return rf_int(env, rf_policy_slots_change(e, (uint32_t)start, count < 0 ? UINT32_MAX : (uint32_t)count));
}

/* policyCheck(ring, sqe64, modern) -> -errno | [0, scratchAddress: bigint, scratch: ArrayBuffer]:
 * the verdict a program's submit would get, without submitting; the SQE is rewritten in place as
 * the kernel would get it and the engine memory it points into is returned as a copy (tests, fuzzer) */
static napi_value js_check(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_engine *e = engine_of(env, argv[0]);
  void *p;
  size_t len;
  bool modern = true;
  if (!e || !rf_get_bytes(env, argv[1], &p, &len) || len != 64 || !rf_get_bool(env, argv[2], &modern)) return rf_int(env, -EINVAL);
  void *scratch = NULL;
  int rc = rf_engine_check_sqe(e, p, modern, &scratch);
  if (rc < 0) return rf_int(env, rc);
  size_t n = scratch_size(scratch);
  napi_value out, addr, ab;
  void *copy;
  if (napi_create_arraybuffer(env, n, &copy, &ab) != napi_ok) {
    scratch_free(e, scratch);
    return rf_int(env, -ENOMEM);
  }
  if (n) memcpy(copy, scratch, n);
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)scratch, &addr);
  scratch_free(e, scratch);
  napi_create_array_with_length(env, 3, &out);
  napi_set_element(env, out, 0, rf_int(env, 0));
  napi_set_element(env, out, 1, addr);
  napi_set_element(env, out, 2, ab);
  return out;
}

void rf_policy_register(napi_env env, napi_value exports) {
  rf_export(env, exports, "policyLoad", js_load);
  rf_export(env, exports, "policyValidate", js_validate);
  rf_export(env, exports, "policyGrantDir", js_grant_dir);
  rf_export(env, exports, "policyAllowFd", js_allow_fd);
  rf_export(env, exports, "policyCheck", js_check);
  rf_export(env, exports, "policyAllowSlot", js_allow_slot);
  rf_export(env, exports, "policySlotsChange", js_slots_change);
}
