/*
 * nop_loop: the limit for ringflow's NOP trials. A raw io_uring loop in C: raw syscalls, no
 * liburing. Each iteration writes `batch` IORING_OP_NOP SQEs, submits and waits for all of them
 * with one io_uring_enter(GETEVENTS), and reaps the CQEs (checking res == 0).
 *
 * Constants and struct layouts are written by us from include/uapi/linux/io_uring.h and checked
 * against the running kernel 6.18.44 (syscall numbers 425/426 are the same on every architecture
 * since 5.1). Built -O2 with the addon by `npm install` (binding.gyp target nop_loop:
 * build/Release/nop_loop), so the bench needs no compiler; the suite falls back to `cc -O2`
 * when that binary is missing or older than this file.
 *
 * usage: nop_loop <batch> <seconds> <warmup-seconds> <setup-flags (hex)>
 * prints one JSON line: {"opsPerSec":..,"ops":..,"seconds":..,"enterCalls":..,"iosPerCall":..,"setupFlags":"0x.."}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NR_io_uring_setup 425
#define NR_io_uring_enter 426

#define IORING_OFF_SQ_RING 0ULL
#define IORING_OFF_CQ_RING 0x8000000ULL
#define IORING_OFF_SQES 0x10000000ULL
#define IORING_FEAT_SINGLE_MMAP (1U << 0)
#define IORING_SETUP_CQSIZE (1U << 3)
#define IORING_SETUP_NO_SQARRAY (1U << 16)
#define IORING_ENTER_GETEVENTS (1U << 0)
#define IORING_OP_NOP 0

struct sqring_offsets { uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1; uint64_t user_addr; };
struct cqring_offsets { uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1; uint64_t user_addr; };
struct uring_params {
  uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd, resv[3];
  struct sqring_offsets sq_off;
  struct cqring_offsets cq_off;
};
struct sqe { uint8_t opcode, flags; uint16_t ioprio; int32_t fd; uint64_t off, addr; uint32_t len, op_flags; uint64_t user_data; uint64_t pad[3]; };
struct cqe { uint64_t user_data; int32_t res; uint32_t flags; };

_Static_assert(sizeof(struct uring_params) == 120, "io_uring_params is 120 bytes");
_Static_assert(sizeof(struct sqe) == 64, "SQE is 64 bytes");
_Static_assert(sizeof(struct cqe) == 16, "CQE is 16 bytes");

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s <batch> <seconds> <warmup-seconds> <setup-flags-hex>\n", argv[0]);
    return 2;
  }
  unsigned batch = (unsigned)strtoul(argv[1], NULL, 10);
  double seconds = strtod(argv[2], NULL), warmup = strtod(argv[3], NULL);
  uint32_t flags = (uint32_t)strtoul(argv[4], NULL, 16);
  if (batch < 1 || batch > 4096) { fprintf(stderr, "batch must be 1..4096\n"); return 2; }

  struct uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = flags | IORING_SETUP_CQSIZE;
  p.cq_entries = batch * 2;
  int fd = (int)syscall(NR_io_uring_setup, batch, &p);
  if (fd < 0 && (p.flags & IORING_SETUP_NO_SQARRAY) && errno == EINVAL) {
    p.flags &= ~IORING_SETUP_NO_SQARRAY; /* 6.6+ */
    fd = (int)syscall(NR_io_uring_setup, batch, &p);
  }
  if (fd < 0) { fprintf(stderr, "io_uring_setup(flags=0x%x): %s\n", p.flags, strerror(errno)); return 1; }

  size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) { if (cq_sz > sq_sz) sq_sz = cq_sz; cq_sz = sq_sz; }
  uint8_t *sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  uint8_t *cq = (p.features & IORING_FEAT_SINGLE_MMAP)
                    ? sq
                    : mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  struct sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); return 1; }

  uint32_t *sq_tail = (uint32_t *)(sq + p.sq_off.tail);
  uint32_t sq_mask = *(uint32_t *)(sq + p.sq_off.ring_mask);
  if (!(p.flags & IORING_SETUP_NO_SQARRAY)) {
    uint32_t *array = (uint32_t *)(sq + p.sq_off.array);
    for (uint32_t i = 0; i < p.sq_entries; i++) array[i] = i;
  }
  uint32_t *cq_head = (uint32_t *)(cq + p.cq_off.head);
  uint32_t *cq_tail = (uint32_t *)(cq + p.cq_off.tail);
  uint32_t cq_mask = *(uint32_t *)(cq + p.cq_off.ring_mask);
  struct cqe *cqes = (struct cqe *)(cq + p.cq_off.cqes);

  uint32_t tail = __atomic_load_n(sq_tail, __ATOMIC_ACQUIRE);
  uint64_t ops = 0, enters = 0, ops0 = 0, enters0 = 0, seq = 0;
  double start = now_s(), t0 = 0, t1 = 0;
  int measuring = 0;
  for (;;) {
    for (unsigned i = 0; i < batch; i++) {
      struct sqe *s = &sqes[(tail + i) & sq_mask];
      memset(s, 0, sizeof *s);
      s->opcode = IORING_OP_NOP;
      s->user_data = ++seq;
    }
    tail += batch;
    __atomic_store_n(sq_tail, tail, __ATOMIC_RELEASE);
    long r = syscall(NR_io_uring_enter, fd, batch, batch, IORING_ENTER_GETEVENTS, NULL, 0);
    enters++;
    if (r != (long)batch) { fprintf(stderr, "io_uring_enter returned %ld (%s)\n", r, r < 0 ? strerror(errno) : "short"); return 1; }
    uint32_t head = *cq_head, ctail = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE), got = 0;
    while (got < batch) {
      while (head != ctail && got < batch) {
        struct cqe *c = &cqes[head & cq_mask];
        if (c->res != 0) { fprintf(stderr, "NOP completed with res %d\n", c->res); return 1; }
        head++;
        got++;
      }
      __atomic_store_n(cq_head, head, __ATOMIC_RELEASE);
      if (got < batch) ctail = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE);
    }
    ops += batch;
    double t = now_s();
    if (!measuring && t - start >= warmup) { measuring = 1; t0 = t; ops0 = ops; enters0 = enters; }
    else if (measuring && t - t0 >= seconds) { t1 = t; break; }
  }
  double secs = t1 - t0;
  uint64_t n = ops - ops0, e = enters - enters0;
  printf("{\"opsPerSec\":%.1f,\"ops\":%llu,\"seconds\":%.4f,\"enterCalls\":%llu,\"iosPerCall\":%.2f,\"verified\":%llu,\"setupFlags\":\"0x%x\"}\n",
         n / secs, (unsigned long long)n, secs, (unsigned long long)e, e ? (double)n / (double)e : 0.0, (unsigned long long)n, p.flags);
  close(fd);
  return 0;
}
