/* The SQE policy for programs (docs/completion-programs.md, "Ops a program may submit"): every
 * address an SQE names must lie in a registered region; what the kernel reads at submission
 * (paths, iovec arrays, timespecs, PI attributes) is copied into engine memory so the program
 * cannot change it afterwards; fds must be allowed. The helpers that call it: engine_helpers.c. */
#include "engine_internal.h"

void fd_set_allowed(rf_engine *e, int64_t fd, bool on) {
  if (fd < 0 || fd >= (1 << 22)) return;
  if (fd >= e->fdcap) {
    uint32_t n = e->fdcap ? e->fdcap : 1024;
    while (n <= fd) n *= 2;
    uint64_t *b = realloc(e->fdbits, n / 8);
    if (!b) return;
    memset((uint8_t *)b + e->fdcap / 8, 0, (n - e->fdcap) / 8);
    e->fdbits = b;
    e->fdcap = n;
  }
  if (on) e->fdbits[fd >> 6] |= 1ull << (fd & 63);
  else e->fdbits[fd >> 6] &= ~(1ull << (fd & 63));
}

void *uregion_of(rf_engine *e, uint64_t addr, uint64_t len, bool write) {
  for (uint32_t i = 0; i < e->nregions; i++) {
    uregion *g = &e->regions[i];
    if (addr >= g->base && len <= g->len && addr - g->base <= g->len - len && (!write || g->writable))
      return (void *)(uintptr_t)addr;
  }
  return NULL;
}
uint64_t uregion_span(rf_engine *e, uint64_t addr) {
  for (uint32_t i = 0; i < e->nregions; i++) {
    uregion *g = &e->regions[i];
    if (addr >= g->base && addr - g->base < g->len) return g->len - (addr - g->base);
  }
  return 0;
}

/* ------------------------------------------------------------------ SQE policy for programs */

static int copy_path(rf_engine *e, uint8_t *sqe, int field, uint8_t **scratch, size_t *used, size_t cap) {
  uint64_t addr = rd64(sqe, field);
  uint64_t span = uregion_span(e, addr);
  if (!span) return -EFAULT;
  if (span > 4096) span = 4096;
  const char *p = (const char *)(uintptr_t)addr;
  size_t n = strnlen(p, span);
  if (n == span) return -EFAULT; /* no NUL inside the region */
  if (*used + n + 1 > cap) return -E2BIG;
  memcpy(*scratch + *used, p, n + 1);
  wr64(sqe, field, (uint64_t)(uintptr_t)(*scratch + *used));
  *used += (n + 16) & ~(size_t)7;
  return 0;
}
static int copy_fixed(rf_engine *e, uint8_t *sqe, int field, size_t len, uint8_t **scratch, size_t *used, size_t cap) {
  uint64_t addr = rd64(sqe, field);
  const void *p = uregion_of(e, addr, len, false);
  if (!p) return -EFAULT;
  if (*used + len > cap) return -E2BIG;
  memcpy(*scratch + *used, p, len);
  wr64(sqe, field, (uint64_t)(uintptr_t)(*scratch + *used));
  *used += (len + 7) & ~(size_t)7;
  return 0;
}

/* Validates an SQE built by a program, copying what the kernel reads at submission (paths,
 * iovec arrays, timespecs) into engine memory so it cannot change afterwards. */
/* struct io_uring_attr_pi (6.15, IORING_RW_ATTR_FLAG_PI): flags u16, app_tag u16, len u32,
 * addr u64, seed u64, rsvd u64 — 32 bytes; addr/len name the integrity buffer. */
#define RW_ATTR_FLAG_PI 1ull
#define ATTR_PI_SIZE 32

int rf_engine_check_sqe(rf_engine *e, uint8_t *sqe, bool modern, void **scratch_out) {
  uint8_t op = sqe[0], fl = sqe[1];
  if (fl & (F_FIXED | F_BUFSEL)) return -EINVAL;
  if (rd16(sqe, 2) || rd16(sqe, 40) || rd16(sqe, 42)) return -EINVAL; /* ioprio, buf_index, personality */
  /* bytes 48..63: reserved for every op a program may submit, except READ/WRITE's PI attributes
   * (attr_ptr @48, attr_type_mask @56), reachable only through the modern helper (1000) since
   * helper 164 uses bytes 48-49 for the CQ index */
  bool pi = modern && (op == OP_READ || op == OP_WRITE) && rd64(sqe, 56) == RW_ATTR_FLAG_PI;
  if (!pi && (rd64(sqe, 48) | rd64(sqe, 56))) return -EINVAL;
  int32_t fd = (int32_t)rd32(sqe, 4);
  uint64_t addr = rd64(sqe, 16);
  uint32_t len = rd32(sqe, 24), opfl = rd32(sqe, 28), file_index = rd32(sqe, 44);
  size_t cap = 4096 + 16 * 1024 + 64, used = 0;
  uint8_t *scratch = NULL;
  int rc = 0;
#define NEED_SCRATCH() do { if (!scratch && !(scratch = malloc(cap))) return -ENOMEM; } while (0)
  switch (op) {
    case OP_NOP:
      if (opfl & ~1u) return -EINVAL;
      break;
    case OP_READ:
    case OP_WRITE:
      if (!fd_allowed(e, fd)) return -EBADF;
      if (file_index) return -EINVAL;
      if (len && !uregion_of(e, addr, len, op == OP_READ)) return -EFAULT;
      if (pi) {
        NEED_SCRATCH();
        if ((rc = copy_fixed(e, sqe, 48, ATTR_PI_SIZE, &scratch, &used, cap))) break;
        const uint8_t *a = (const uint8_t *)(uintptr_t)rd64(sqe, 48);
        uint32_t plen = rd32(a, 4);
        if (rd64(a, 24)) rc = -EINVAL; /* rsvd */
        else if (plen && !uregion_of(e, rd64(a, 8), plen, op == OP_READ)) rc = -EFAULT;
      }
      break;
    case OP_READV:
    case OP_WRITEV: {
      if (!fd_allowed(e, fd)) return -EBADF;
      if (file_index || len == 0 || len > 1024) return -EINVAL;
      NEED_SCRATCH();
      if ((rc = copy_fixed(e, sqe, 16, (size_t)len * 16, &scratch, &used, cap))) break;
      const uint8_t *iov = (const uint8_t *)(uintptr_t)rd64(sqe, 16);
      for (uint32_t i = 0; i < len && !rc; i++) {
        uint64_t b = rd64(iov, i * 16), l = rd64(iov, i * 16 + 8);
        if (l && !uregion_of(e, b, l, op == OP_READV)) rc = -EFAULT;
      }
      break;
    }
    case OP_FSYNC:
      if (!fd_allowed(e, fd)) return -EBADF;
      if (opfl & ~1u || addr || file_index) return -EINVAL;
      break;
    case OP_OPENAT:
      if (fd != AT_FDCWD_ && !fd_allowed(e, fd)) return -EBADF;
      if (file_index) return -EINVAL;
      NEED_SCRATCH();
      rc = copy_path(e, sqe, 16, &scratch, &used, cap);
      break;
    case OP_CLOSE:
      if (!fd_allowed(e, fd)) return -EBADF;
      if (file_index || addr || len || opfl) return -EINVAL;
      break;
    case OP_STATX:
      if (fd != AT_FDCWD_ && !fd_allowed(e, fd)) return -EBADF;
      if (!uregion_of(e, rd64(sqe, 8), 256, true)) return -EFAULT;
      NEED_SCRATCH();
      rc = copy_path(e, sqe, 16, &scratch, &used, cap);
      break;
    case OP_TIMEOUT:
    case OP_LINK_TIMEOUT:
      if (len != 1 || (opfl & TIMEOUT_UPDATE)) return -EINVAL;
      NEED_SCRATCH();
      rc = copy_fixed(e, sqe, 16, 16, &scratch, &used, cap);
      break;
    case OP_TIMEOUT_REMOVE:
      if (opfl & TIMEOUT_UPDATE) {
        NEED_SCRATCH();
        rc = copy_fixed(e, sqe, 8, 16, &scratch, &used, cap);
      }
      break;
    case OP_ASYNC_CANCEL:
      if (opfl & ~(CANCEL_ALL | CANCEL_USERDATA)) return -EINVAL; /* no cancel by fd/op/any: a program cancels only its own requests */
      break;
    case RF_OP_BPF:
      if (rd64(sqe, 8) >= e->nprogs || !e->progs[rd64(sqe, 8)] || addr || len || opfl) return -EINVAL;
      break;
    default:
      return -EINVAL;
  }
#undef NEED_SCRATCH
  if (rc) { free(scratch); return rc; }
  *scratch_out = scratch;
  return 0;
}
