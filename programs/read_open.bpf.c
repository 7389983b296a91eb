/* programs/read_open.bpf.c (shipped prebuilt as read_open.bpf.o; examples/program-read-open.ts).
 * read(open()): the fd returned by OPENAT is propagated into the READ by the program (no fixed
 * file slot, no JS in between). LSF/MM/BPF 2021 use case; prototype style.
 *
 * JS fills `args` (one entry) and runs the program request; every step waits for its CQE on
 * CQ 1, then the program reaps it and submits the next request:
 *   run 1: OPENAT(dirfd, path, O_RDONLY)               -> wait 1 CQE on CQ 1
 *          (dirfd: a directory JS granted with ring.allowDir(); path relative to it)
 *   run 2: fd = res; READ(fd, buf, len, 0)             -> wait
 *   run 3: bytes = res; CLOSE(fd)                      -> wait
 *   run 4: emit { user_data = DONE_TAG, res = bytes } to CQ 0; the request completes (res 0).
 * Any failing step emits its negative res to CQ 0 instead (and closes nothing it did not open). */
#include <ringflow/bpf.h>

#define CQ 1
#define DONE_TAG 0xA0A0u

struct args {
  __u64 path; /* NUL-terminated path inside a registered region, relative to dirfd */
  __u64 buf;  /* destination, inside a writable registered region */
  __u32 len;
  __s32 dirfd; /* from ring.allowDir() */
};

struct state {
  __u32 step;
  __s32 fd;
  __s32 bytes;
  __u32 runs;
};

RF_ARRAY_MAP(args, struct args, 1);

RF_ARRAY_MAP(state, struct state, 1);

SEC("iouring.s/read_open")
int read_open(struct io_uring_bpf_ctx *ctx) {
  __u32 key = 0;
  struct args *a = bpf_map_lookup_elem(&args, &key);
  struct state *s = bpf_map_lookup_elem(&state, &key);
  struct io_uring_sqe sqe;
  struct io_uring_cqe cqe;
  if (!a || !s)
    return 0;
  s->runs++;
  if (s->step == 0) {
    rf_prep_openat(&sqe, a->dirfd, a->path, O_RDONLY | O_CLOEXEC, 0);
    s->step = 1;
    if (rf_submit_and_wait(ctx, &sqe, CQ, 1) < 0)
      iouring_emit_cqe(ctx, 0, DONE_TAG, -RF_EINVAL, 0);
    return 0;
  }
  if (iouring_reap_cqe(ctx, CQ, &cqe, sizeof(cqe)) != 0) {
    iouring_emit_cqe(ctx, 0, DONE_TAG, -RF_ENOENT, 0);
    return 0;
  }
  if (cqe.res < 0) {
    if (s->step == 2) /* the read failed: still close the fd */
      s->bytes = cqe.res;
    else {
      iouring_emit_cqe(ctx, 0, DONE_TAG, cqe.res, 0);
      return 0;
    }
  }
  switch (s->step) {
  case 1:
    s->fd = cqe.res;
    rf_prep_read(&sqe, s->fd, a->buf, a->len, 0);
    s->step = 2;
    rf_submit_and_wait(ctx, &sqe, CQ, 2);
    return 0;
  case 2:
    if (cqe.res >= 0)
      s->bytes = cqe.res;
    rf_prep_close(&sqe, s->fd);
    s->step = 3;
    rf_submit_and_wait(ctx, &sqe, CQ, 3);
    return 0;
  default:
    s->step = 4;
    iouring_emit_cqe(ctx, 0, DONE_TAG, s->bytes, 0);
    return 0;
  }
}
