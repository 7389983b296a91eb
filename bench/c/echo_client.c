/*
 * echo_client: the load generator of ringflow's TCP echo trials. One thread, epoll (edge-
 * triggered), non-blocking sockets, so it costs little CPU per message and the same for every
 * server it drives.
 *
 * N connections to 127.0.0.1:<port>, messages of S bytes. Each connection may have up to
 * `window` messages in flight (sent, echo not yet complete): window 1 is ping-pong (send one
 * message, wait for the whole echo, send the next), window K > 1 is streaming. Every byte that
 * comes back is checked against what was sent (byte at stream offset o of connection c is
 * (o + c) & 255), so a server that drops, reorders or corrupts data fails the trial.
 *
 * After all connections are up it runs `warmup` seconds, then measures `seconds`: completed
 * messages (echoes fully received) and echoed bytes in that window. With a server pid it reads
 * the server's utime+stime from /proc/<pid>/stat at the window's two ends, which gives messages
 * per server CPU-second. With cpu >= 0 it pins itself to that CPU (sched_setaffinity). It raises
 * RLIMIT_NOFILE to what the connections need.
 *
 * usage: echo_client <port> <connections> <size> <window> <seconds> <warmup> [server-pid] [cpu]
 * prints one JSON line on stdout; errors on stderr, exit 1 (2 for bad arguments).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

struct conn {
  int fd, id;
  int connected;
  uint64_t sent, recvd; /* bytes */
};

static uint8_t pattern[256 + CHUNK];
static uint8_t rbuf[CHUNK];
static uint64_t size, window;
static uint64_t messages, bytes; /* completed echoes, echoed bytes (since start) */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void fail(const char *what, int err) {
  fprintf(stderr, "echo_client: %s: %s\n", what, strerror(err));
  exit(1);
}

/* utime + stime of a process in seconds, from /proc/<pid>/stat (fields 14 and 15), or -1. */
static double proc_cpu(long pid, double tick) {
  if (pid <= 0) return -1;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* comm may hold spaces */
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  /* after ") ": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / tick;
}

static double self_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Writes what the window allows; returns 0, or -1 when the connection failed. */
static int pump_write(struct conn *c) {
  uint64_t limit = (c->recvd / size + window) * size; /* start new messages while fewer than window are in flight */
  while (c->sent < limit) {
    uint64_t want = limit - c->sent;
    if (want > CHUNK) want = CHUNK;
    ssize_t n = send(c->fd, pattern + ((c->sent + (uint64_t)c->id) & 255), want, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return 0;
      return -1;
    }
    c->sent += (uint64_t)n;
  }
  return 0;
}

/* Reads until EAGAIN, checking every byte; returns 0, or -1 on EOF/error/corruption. */
static int pump_read(struct conn *c) {
  for (;;) {
    ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0) {
      fprintf(stderr, "echo_client: connection %d: the server closed it\n", c->id);
      return -1;
    }
    if (c->recvd + (uint64_t)n > c->sent) {
      fprintf(stderr, "echo_client: connection %d: received more than was sent\n", c->id);
      return -1;
    }
    if (memcmp(rbuf, pattern + ((c->recvd + (uint64_t)c->id) & 255), (size_t)n) != 0) {
      fprintf(stderr, "echo_client: connection %d: echoed bytes differ from those sent (at offset %llu)\n", c->id,
              (unsigned long long)c->recvd);
      return -1;
    }
    messages += (c->recvd + (uint64_t)n) / size - c->recvd / size;
    c->recvd += (uint64_t)n;
    bytes += (uint64_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc < 7 || argc > 9) {
    fprintf(stderr, "usage: %s <port> <connections> <size> <window> <seconds> <warmup> [server-pid] [cpu]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  long nconn = strtol(argv[2], NULL, 10);
  size = strtoull(argv[3], NULL, 10);
  window = strtoull(argv[4], NULL, 10);
  double seconds = strtod(argv[5], NULL), warmup = strtod(argv[6], NULL);
  long server_pid = argc > 7 ? strtol(argv[7], NULL, 10) : 0;
  int cpu = argc > 8 ? atoi(argv[8]) : -1;
  if (port < 1 || port > 65535 || nconn < 1 || nconn > 100000 || size < 1 || size > (1 << 24) || window < 1 || window > 4096 ||
      !(seconds > 0) || warmup < 0) {
    fprintf(stderr, "echo_client: bad arguments\n");
    return 2;
  }
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) fail("sched_setaffinity", errno);
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) fail("getrlimit", errno);
  if (rl.rlim_cur < (rlim_t)nconn + 32) {
    if (rl.rlim_max < (rlim_t)nconn + 32) {
      fprintf(stderr, "echo_client: %ld connections need RLIMIT_NOFILE >= %ld; the hard limit is %llu (raise it with ulimit -Hn)\n", nconn,
              nconn + 32, (unsigned long long)rl.rlim_max);
      return 1;
    }
    rl.rlim_cur = (rlim_t)nconn + 32;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) fail("setrlimit(RLIMIT_NOFILE)", errno);
  }
  for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (uint8_t)i;
  double tick = (double)sysconf(_SC_CLK_TCK);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail("epoll_create1", errno);
  struct conn *conns = calloc((size_t)nconn, sizeof *conns);
  struct epoll_event *evs = calloc(1024, sizeof *evs);
  if (!conns || !evs) fail("calloc", ENOMEM);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  /* connect all, then wait until every connection is up */
  long up = 0;
  for (long i = 0; i < nconn; i++) {
    struct conn *c = &conns[i];
    c->id = (int)i;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) fail("socket", errno);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) fail("connect", errno);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) fail("epoll_ctl", errno);
  }
  double deadline = now_s() + 20;
  while (up < nconn) {
    int n = epoll_wait(ep, evs, 1024, 100);
    if (n < 0 && errno != EINTR) fail("epoll_wait", errno);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (c->connected || !(evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) continue;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) fail("connect", err);
      c->connected = 1;
      up++;
    }
    if (now_s() > deadline) {
      fprintf(stderr, "echo_client: only %ld of %ld connections came up in 20 s\n", up, nconn);
      return 1;
    }
  }

  for (long i = 0; i < nconn; i++)
    if (pump_write(&conns[i]) < 0) fail("send", errno);
  double start = now_s(), t0 = 0, t1 = 0, last_progress = start;
  double scpu0 = -1, scpu1 = -1, ccpu0 = 0, ccpu1 = 0;
  uint64_t m0 = 0, b0 = 0, m1 = 0, b1 = 0, seen = 0;
  int measuring = 0;
  for (;;) {
    int n = epoll_wait(ep, evs, 1024, 100);
    if (n < 0 && errno != EINTR) fail("epoll_wait", errno);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      uint32_t e = evs[i].events;
      if ((e & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) && pump_read(c) < 0) return 1;
      if (pump_write(c) < 0) {
        fprintf(stderr, "echo_client: connection %d: send: %s\n", c->id, strerror(errno));
        return 1;
      }
    }
    double t = now_s();
    if (messages != seen) {
      seen = messages;
      last_progress = t;
    } else if (t - last_progress > 5) {
      fprintf(stderr, "echo_client: no echo completed for 5 s (%llu messages so far)\n", (unsigned long long)messages);
      return 1;
    }
    if (!measuring && t - start >= warmup) {
      measuring = 1;
      t0 = t;
      m0 = messages;
      b0 = bytes;
      scpu0 = proc_cpu(server_pid, tick);
      ccpu0 = self_cpu();
    } else if (measuring && t - t0 >= seconds) {
      t1 = t;
      m1 = messages;
      b1 = bytes;
      scpu1 = proc_cpu(server_pid, tick);
      ccpu1 = self_cpu();
      break;
    }
  }
  double secs = t1 - t0;
  uint64_t msgs = m1 - m0;
  double scpu = scpu0 >= 0 && scpu1 >= 0 ? scpu1 - scpu0 : -1;
  printf("{\"opsPerSec\":%.1f,\"ops\":%llu,\"seconds\":%.4f,\"bytesPerSec\":%.1f,\"connections\":%ld,\"size\":%llu,\"window\":%llu",
         msgs / secs, (unsigned long long)msgs, secs, (double)(b1 - b0) / secs, nconn, (unsigned long long)size,
         (unsigned long long)window);
  if (scpu >= 0)
    printf(",\"serverCpuSeconds\":%.3f,\"serverCpuUtil\":%.3f,\"perServerCpuSecond\":%.1f", scpu, scpu / secs,
           scpu > 0 ? (double)msgs / scpu : 0.0);
  printf(",\"clientCpuSeconds\":%.3f,\"verifiedBytes\":%llu}\n", ccpu1 - ccpu0, (unsigned long long)bytes);
  return 0;
}
