/*
 * Synchronous helpers for the waiting opcodes (src/ops/ops-core.ts: EPOLL_CTL, EPOLL_WAIT, WAITID):
 * io_uring has no op that creates an epoll instance, and Node has no epoll API, so epollCreate
 * makes one. forkChild makes a child process libuv does not know about (libuv reaps only the
 * children it spawned, with waitpid(pid)), for waitid to wait for without a race: the child blocks
 * reading a pipe and exits with the status byte written to it (0 at EOF). Only async-signal-safe
 * calls (read, _exit) run in the child of this multi-threaded process. Each returns >= 0 or -errno.
 */
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

/* epollCreate() -> epoll fd (EPOLL_CLOEXEC) | -errno */
static napi_value js_epoll_create(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = epoll_create1(EPOLL_CLOEXEC);
  return rf_int(env, fd < 0 ? -errno : fd);
}

/* forkChild() -> [pid, writeFd] | -errno. The child exits with the first byte written to writeFd
 * (0 when writeFd is closed first). */
static napi_value js_fork_child(napi_env env, napi_callback_info info) {
  (void)info;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return rf_int(env, -errno);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return rf_int(env, -e);
  }
  if (pid == 0) {
    unsigned char status = 0;
    close(p[1]);
    for (;;) {
      ssize_t n = read(p[0], &status, 1);
      if (n >= 0 || errno != EINTR) break;
    }
    _exit(status);
  }
  close(p[0]);
  napi_value arr;
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, rf_int(env, pid));
  napi_set_element(env, arr, 1, rf_int(env, p[1]));
  return arr;
}

void rf_wait_register(napi_env env, napi_value exports) {
  rf_export(env, exports, "epollCreate", js_epoll_create);
  rf_export(env, exports, "forkChild", js_fork_child);
}
