/*
 * Synchronous socket setup for the socket layer (src/net/): bind, listen, names, options and fd
 * duplication. The data path goes through the ring; these are the calls a kernel without
 * IORING_OP_BIND/LISTEN (before 6.11) has no ring op for, and the ones with no op at all
 * (getsockname, getpeername, dup). Each returns >= 0 or -errno; none builds a JS error.
 */
#include "common.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* sockBind(fd, sockaddrBytes) -> 0 | -errno */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  int32_t fd;
  void *addr;
  size_t len;
  if (!rf_get_i32(env, argv[0], &fd) || !rf_get_bytes(env, argv[1], &addr, &len) || len > sizeof(struct sockaddr_storage))
    return rf_int(env, -EINVAL);
  return rf_int(env, bind(fd, (const struct sockaddr *)addr, (socklen_t)len) < 0 ? -errno : 0);
}

/* sockListen(fd, backlog) -> 0 | -errno */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  int32_t fd, backlog;
  if (!rf_get_i32(env, argv[0], &fd) || !rf_get_i32(env, argv[1], &backlog)) return rf_int(env, -EINVAL);
  return rf_int(env, listen(fd, backlog) < 0 ? -errno : 0);
}

/* sockName(fd, peer, out) -> address length written into out | -errno */
static napi_value js_name(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  int32_t fd, peer;
  void *out;
  size_t cap;
  if (!rf_get_i32(env, argv[0], &fd) || !rf_get_i32(env, argv[1], &peer) || !rf_get_bytes(env, argv[2], &out, &cap))
    return rf_int(env, -EINVAL);
  socklen_t len = (socklen_t)(cap > sizeof(struct sockaddr_storage) ? sizeof(struct sockaddr_storage) : cap);
  int r = peer ? getpeername(fd, (struct sockaddr *)out, &len) : getsockname(fd, (struct sockaddr *)out, &len);
  return rf_int(env, r < 0 ? -errno : (int64_t)len);
}

/* sockSetInt(fd, level, name, value) -> 0 | -errno (SO_REUSEADDR, TCP_NODELAY, …) */
static napi_value js_set_int(napi_env env, napi_callback_info info) {
  RF_ARGS(4);
  int32_t fd, level, name, value;
  if (!rf_get_i32(env, argv[0], &fd) || !rf_get_i32(env, argv[1], &level) || !rf_get_i32(env, argv[2], &name) ||
      !rf_get_i32(env, argv[3], &value))
    return rf_int(env, -EINVAL);
  int v = value;
  return rf_int(env, setsockopt(fd, level, name, &v, sizeof v) < 0 ? -errno : 0);
}

/* sockGetInt(fd, level, name) -> the option's int value | -errno, for options that are never negative
 * (SO_ACCEPTCONN, SO_TYPE, …): a negative value (SO_PEEK_OFF's -1) would read as an errno, so it is -EINVAL */
static napi_value js_get_int(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  int32_t fd, level, name;
  if (!rf_get_i32(env, argv[0], &fd) || !rf_get_i32(env, argv[1], &level) || !rf_get_i32(env, argv[2], &name))
    return rf_int(env, -EINVAL);
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, name, &v, &len) < 0) return rf_int(env, -errno);
  return rf_int(env, v < 0 ? -EINVAL : v);
}

/* sockSetLinger(fd, onoff, seconds) -> 0 | -errno: SO_LINGER (struct linger). { 1, 0 } makes the
 * next close(2) of the socket's last reference reset the connection and drop its send queue. */
static napi_value js_set_linger(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  int32_t fd, onoff, secs;
  if (!rf_get_i32(env, argv[0], &fd) || !rf_get_i32(env, argv[1], &onoff) || !rf_get_i32(env, argv[2], &secs))
    return rf_int(env, -EINVAL);
  struct linger l = {onoff, secs};
  return rf_int(env, setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) < 0 ? -errno : 0);
}

/* sockCreate(domain, type, protocol) -> fd | -errno (SOCK_CLOEXEC always added) */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  int32_t domain, type, proto;
  if (!rf_get_i32(env, argv[0], &domain) || !rf_get_i32(env, argv[1], &type) || !rf_get_i32(env, argv[2], &proto))
    return rf_int(env, -EINVAL);
  int fd = socket(domain, type | SOCK_CLOEXEC, proto);
  return rf_int(env, fd < 0 ? -errno : fd);
}

/* dupFd(fd) -> a new fd (O_CLOEXEC) for the same file | -errno: adopting node:net's sockets */
static napi_value js_dup(napi_env env, napi_callback_info info) {
  RF_ARGS(1);
  int32_t fd;
  if (!rf_get_i32(env, argv[0], &fd)) return rf_int(env, -EINVAL);
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  return rf_int(env, r < 0 ? -errno : r);
}

/* setBlocking(fd, blocking) -> 0 | -errno (an adopted libuv socket is O_NONBLOCK; the ring does not need it) */
static napi_value js_set_blocking(napi_env env, napi_callback_info info) {
  RF_ARGS(2);
  int32_t fd, blocking;
  if (!rf_get_i32(env, argv[0], &fd) || !rf_get_i32(env, argv[1], &blocking)) return rf_int(env, -EINVAL);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return rf_int(env, -errno);
  fl = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
  return rf_int(env, fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0);
}

void rf_net_register(napi_env env, napi_value exports) {
  rf_export(env, exports, "sockBind", js_bind);
  rf_export(env, exports, "sockListen", js_listen);
  rf_export(env, exports, "sockName", js_name);
  rf_export(env, exports, "sockSetInt", js_set_int);
  rf_export(env, exports, "sockGetInt", js_get_int);
  rf_export(env, exports, "sockSetLinger", js_set_linger);
  rf_export(env, exports, "sockCreate", js_socket);
  rf_export(env, exports, "dupFd", js_dup);
  rf_export(env, exports, "setBlocking", js_set_blocking);
}
