/* Engine-owned memory: page-aligned blocks between two PROT_NONE guard pages, reference counted.
 * The engine holds one reference for as long as it uses a block (a region, a CQ, the counters);
 * each JS ArrayBuffer over it holds another, dropped by its finalizer. So the memory outlives
 * whatever JS does to its ArrayBuffer (transfer, detach, drop) and the engine never points into
 * memory V8 may free or move; the last reference unmaps it. Plain C: no Node-API, no globals. */
#ifndef RINGFLOW_MEM_H
#define RINGFLOW_MEM_H

#include <stddef.h>
#include <stdint.h>

typedef struct rf_mem rf_mem;

/* A zeroed block of at least `len` bytes (len >= 1) with one reference, or NULL (errno set). */
rf_mem *rf_mem_new(size_t len);
void rf_mem_get(rf_mem *m);
void rf_mem_put(rf_mem *m);
void *rf_mem_ptr(const rf_mem *m);
size_t rf_mem_len(const rf_mem *m);

#endif
