/*
 * Process fds owned by one Node environment's socket objects (TcpSocket, TcpServer, UdpSocket in
 * src/net/) and ringflow/fs FileHandles (src/fs/file-handle.ts). An fd is a process resource: a
 * worker that exits with a socket or a FileHandle open would leave the fd (and the connection)
 * open in the process (node:fs/promises closes its FileHandles then). The owner registers each fd
 * here and unregisters it when it hands the fd's close to the ring (whose SQEs a thread ending
 * never submitted are closed by ring_napi.c's teardown); the environment's cleanup hook (worker
 * exit, main-thread teardown) closes the fds still registered.
 *
 * An fd number can be reused once closed. If user code closed a socket's fd behind its back and
 * the number now names another file, closing it at teardown would close someone else's file: each
 * entry keeps the (st_dev, st_ino) of the file it was registered with, and the hook closes the fd
 * only while it still names that file.
 *
 * fdOwn(fd) -> 0 | -errno (fstat's), fdDisown(fd) -> 1 if it was registered, else 0. Each
 * environment gets its own set, passed to its functions as their data: nothing is process-global.
 */
#include "common.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  int fd;
  dev_t dev;
  ino_t ino;
} owned_fd;

typedef struct {
  owned_fd *items;
  size_t len, cap;
  /* pos[fd] = index in items + 1 (0: not registered), for fds below npos: a FileHandle's close
   * finds its entry without a walk over thousands of open ones */
  uint32_t *pos;
  size_t npos;
} owned_set;

/* Where fd is in s->items, or -1. */
static long find(owned_set *s, int32_t fd) {
  return (size_t)fd < s->npos && s->pos[fd] ? (long)s->pos[fd] - 1 : -1;
}

/* Makes pos[] reach fd; false when memory ran out. */
static bool reach(owned_set *s, int32_t fd) {
  if ((size_t)fd < s->npos) return true;
  size_t n = s->npos ? s->npos : 64;
  while (n <= (size_t)fd) n *= 2;
  uint32_t *p = realloc(s->pos, n * sizeof *p);
  if (!p) return false;
  memset(p + s->npos, 0, (n - s->npos) * sizeof *p);
  s->pos = p;
  s->npos = n;
  return true;
}

/* The set a call's function was made for, and its fd argument (>= 0); false on bad input. */
static bool set_and_fd(napi_env env, napi_callback_info info, owned_set **s, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  *s = NULL;
  return napi_get_cb_info(env, info, &argc, argv, NULL, (void **)s) == napi_ok && *s && argc >= 1 && rf_get_i32(env, argv[0], fd) && *fd >= 0;
}

static napi_value js_own(napi_env env, napi_callback_info info) {
  owned_set *s;
  int32_t fd;
  if (!set_and_fd(env, info, &s, &fd)) return rf_int(env, -EINVAL);
  struct stat st;
  if (fstat(fd, &st) < 0) return rf_int(env, -errno);
  long i = find(s, fd);
  if (i >= 0) { /* the number was reused after a close we were not told of */
    s->items[i].dev = st.st_dev;
    s->items[i].ino = st.st_ino;
    return rf_int(env, 0);
  }
  if (!reach(s, fd)) return rf_int(env, -ENOMEM);
  if (s->len == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    owned_fd *n = realloc(s->items, cap * sizeof *n);
    if (!n) return rf_int(env, -ENOMEM);
    s->items = n;
    s->cap = cap;
  }
  s->pos[fd] = (uint32_t)s->len + 1;
  s->items[s->len++] = (owned_fd){ fd, st.st_dev, st.st_ino };
  return rf_int(env, 0);
}

static napi_value js_disown(napi_env env, napi_callback_info info) {
  owned_set *s;
  int32_t fd;
  if (!set_and_fd(env, info, &s, &fd)) return rf_int(env, -EINVAL);
  long i = find(s, fd);
  if (i < 0) return rf_int(env, 0);
  s->pos[fd] = 0;
  if ((size_t)i != --s->len) {
    s->items[i] = s->items[s->len];
    s->pos[s->items[i].fd] = (uint32_t)i + 1;
  }
  return rf_int(env, 1);
}

static napi_value js_owned_count(napi_env env, napi_callback_info info) {
  owned_set *s = NULL;
  size_t argc = 0;
  if (napi_get_cb_info(env, info, &argc, NULL, NULL, (void **)&s) != napi_ok || !s) return rf_int(env, -EINVAL);
  return rf_int(env, (int64_t)s->len);
}

/* The environment is going away: close what its sockets still own, if it is still theirs. */
static void owned_cleanup(void *arg) {
  owned_set *s = arg;
  for (size_t i = 0; i < s->len; i++) {
    struct stat st;
    if (fstat(s->items[i].fd, &st) == 0 && st.st_dev == s->items[i].dev && st.st_ino == s->items[i].ino) close(s->items[i].fd);
  }
  free(s->items);
  free(s->pos);
  free(s);
}

static void export_with(napi_env env, napi_value exports, const char *name, napi_callback fn, owned_set *s) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, s, &f) == napi_ok) napi_set_named_property(env, exports, name, f);
}

/* fdIno(fd) -> the inode number of the file fd names, or -errno (fstat's). What a RingHandle checks
 * at every submission of a message to it (src/ring/ring-handle.ts): that its fd still names its
 * ring; fs.fstatSync() builds a Stats object for it, several times the cost of the syscall. */
static napi_value js_fd_ino(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !rf_get_i32(env, argv[0], &fd) || fd < 0) return rf_int(env, -EINVAL);
  struct stat st;
  if (fstat(fd, &st) < 0) return rf_int(env, -errno);
  return rf_double(env, (double)st.st_ino);
}

/* fdSeek(fd, offset, whence) -> the new file offset (lseek(2)), or -errno. ringflow/fs's read-ahead at
 * the file position (src/fs/read-ahead.ts) reads by explicit offsets and moves the file position by
 * what it served, as read(2) would have: io_uring has no lseek. */
static napi_value js_fd_seek(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, whence;
  double off;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || !rf_get_i32(env, argv[0], &fd) || fd < 0 ||
      napi_get_value_double(env, argv[1], &off) != napi_ok || !(off >= 0 && off <= 9007199254740991.0) || !rf_get_i32(env, argv[2], &whence) ||
      (whence != SEEK_SET && whence != SEEK_CUR))
    return rf_int(env, -EINVAL);
  off_t r = lseek(fd, (off_t)off, whence);
  if (r < 0) return rf_int(env, -errno);
  return rf_double(env, (double)r);
}

void rf_owned_fds_register(napi_env env, napi_value exports) {
  owned_set *s = calloc(1, sizeof *s);
  if (!s) return;
  if (napi_add_env_cleanup_hook(env, owned_cleanup, s) != napi_ok) {
    free(s);
    return;
  }
  export_with(env, exports, "fdOwn", js_own, s);
  export_with(env, exports, "fdDisown", js_disown, s);
  export_with(env, exports, "fdOwnedCount", js_owned_count, s);
  export_with(env, exports, "fdIno", js_fd_ino, NULL);
  export_with(env, exports, "fdSeek", js_fd_seek, NULL);
}
