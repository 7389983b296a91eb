/* stat() answered from the kernel's caches, on the calling thread, or not at all.
 *
 * io_uring's STATX never completes inline: its prep sets REQ_F_FORCE_ASYNC, so every statx request
 * is a hop to an io-wq worker and back (6.18 io_uring/statx.c). A path whose dentries and inode are
 * cached needs no I/O to be stat'ed, but statx(2) itself cannot promise not to block. openat2(2)
 * with RESOLVE_CACHED (5.12) can: the lookup fails with EAGAIN instead of doing anything that would
 * block (I/O, a network or FUSE revalidation). With an O_PATH fd of the file in hand, the statx of
 * that fd reads the in-memory inode. So: openat2(O_PATH | RESOLVE_CACHED) → statx(fd, "",
 * AT_EMPTY_PATH) → close, or -EAGAIN and the caller asks io_uring (src/fs/cached-stat.ts).
 *
 * statCached(path: string | Uint8Array, nofollow: boolean, out: Uint8Array >= 256) -> 0 | -errno.
 * `out` receives the struct statx. A path given as bytes must not hold a NUL (the caller checks,
 * as Node does); it is copied and terminated here. Constants from include/uapi/linux/openat2.h,
 * fcntl.h and stat.h (5.12 / 6.18). */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every architecture (5.6) */
#endif
#define RF_RESOLVE_CACHED 0x20u /* openat2.h, 5.12 */
#define RF_AT_EMPTY_PATH 0x1000
#define RF_STATX_ALL 0xfffu /* STATX_BASIC_STATS | STATX_BTIME */

struct rf_open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};

static int cached_stat(const char *path, bool nofollow, void *out) {
  struct rf_open_how how = {
      .flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0),
      .mode = 0,
      .resolve = RF_RESOLVE_CACHED,
  };
  long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
  if (fd < 0) return -errno;
  long r = syscall(SYS_statx, (int)fd, "", RF_AT_EMPTY_PATH, RF_STATX_ALL, out);
  int err = r < 0 ? -errno : 0;
  close((int)fd);
  return err;
}

static napi_value js_stat_cached(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  char path[PATH_MAX + 1];
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok) return rf_int(env, -EINVAL);
  if (t == napi_string) {
    size_t n;
    if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n) != napi_ok) return rf_int(env, -EINVAL);
    if (n >= PATH_MAX) return rf_int(env, -ENAMETOOLONG);
    if (strlen(path) != n) return rf_int(env, -EINVAL); /* an embedded NUL */
  } else {
    void *data;
    size_t len;
    if (!rf_get_bytes(env, argv[0], &data, &len)) return rf_int(env, -EINVAL);
    if (len >= PATH_MAX) return rf_int(env, -ENAMETOOLONG);
    if (memchr(data, 0, len)) return rf_int(env, -EINVAL);
    memcpy(path, data, len);
    path[len] = 0;
  }
  bool nofollow;
  void *out;
  size_t out_len;
  if (!rf_get_bool(env, argv[1], &nofollow) || !rf_get_bytes(env, argv[2], &out, &out_len) || out_len < 256) return rf_int(env, -EINVAL);
  return rf_int(env, cached_stat(path, nofollow, out));
}

void rf_cached_stat_register(napi_env env, napi_value exports) { rf_export(env, exports, "statCached", js_stat_cached); }
