/* Engine-owned memory (mem.h). */
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct rf_mem {
  uint8_t *map;  /* guard page, data pages, guard page */
  size_t maplen;
  uint8_t *data; /* map + page */
  size_t len;    /* bytes asked for (the data pages hold at least this) */
  unsigned refs; /* atomic */
};

rf_mem *rf_mem_new(size_t len) {
  if (len == 0 || len > ((size_t)1 << 40)) { errno = EINVAL; return NULL; }
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t data = (len + page - 1) & ~(page - 1);
  rf_mem *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->maplen = data + 2 * page;
  m->map = mmap(NULL, m->maplen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m->map == MAP_FAILED) { free(m); return NULL; }
  m->data = m->map + page;
  if (mprotect(m->data, data, PROT_READ | PROT_WRITE) != 0) {
    int err = errno;
    munmap(m->map, m->maplen);
    free(m);
    errno = err;
    return NULL;
  }
  m->len = len;
  m->refs = 1;
  return m;
}

void rf_mem_get(rf_mem *m) { __atomic_fetch_add(&m->refs, 1, __ATOMIC_RELAXED); }

void rf_mem_put(rf_mem *m) {
  if (!m) return;
  if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  munmap(m->map, m->maplen);
  free(m);
}

void *rf_mem_ptr(const rf_mem *m) { return m->data; }
size_t rf_mem_len(const rf_mem *m) { return m->len; }
