/* Growing arrays: shared by the ring engine and the eBPF engine (no Node-API here). */
#ifndef RINGFLOW_GROW_H
#define RINGFLOW_GROW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Makes room for `need` elements of `el` bytes in *p (capacity *cap, doubled as needed). */
static inline bool grow(void **p, uint32_t *cap, uint32_t need, size_t el) {
  if (need <= *cap) return true;
  uint32_t n = *cap ? *cap : 16;
  while (n < need) n *= 2;
  void *q = realloc(*p, (size_t)n * el);
  if (!q) return false;
  *p = q;
  *cap = n;
  return true;
}

#endif
