/* Completions in bulk, reaped in C (src/ring/bulk.ts). A BulkQueue keeps its whole state in one
 * array of u32 words that JS and this file share (layout below, mirrored in bulk-state.ts); a run
 * of CQEs whose user_data high word is the bulk tag, at the head of a plain ring's CQ, is moved
 * into the queue's ready list here, without a JS step per CQE. JS then lets go of the finished
 * slots' memory (the list of finished slots) and counts them retired.
 *
 * Everything a CQE says is checked against the state before it is used as an index: a slot out
 * of range, a generation that is not the slot's, a slot not in flight (a stale or forged CQE) are
 * consumed and dropped, as the JS path drops them. The state itself is checked on every call
 * (depth, the counters, the array's length), so a corrupt state is refused (-EINVAL), never
 * written past. Returns the CQEs consumed (>= 0) or -errno; never touches JS beyond its arguments. */
#include "common.h"
#include "ring.h"

#include <errno.h>
#include <stdint.h>

/* Header words of the state (bulk-state.ts BulkWord). */
enum {
  BW_DEPTH = 0,
  BW_FREE_TOP = 1,
  BW_READY_HEAD = 2,
  BW_READY = 3,
  BW_INFLIGHT = 4,
  BW_FINISHED = 5, /* out: slots finished by the last call, listed in the FINISHED array */
  BW_HEADER = 8,
};
/* Arrays after the header, each `depth` words, in this order. */
enum { BA_SLOT_TAG, BA_SLOT_GEN, BA_SLOT_USED, BA_FREE, BA_READY_TAG, BA_READY_RES, BA_READY_FLAGS, BA_FINISHED, BA_COUNT };

#define BULK_DEPTH_MAX 65536u
#define CQE_F_MORE (1u << 1) /* IORING_CQE_F_MORE (5.13) */

static long bulk_reap(rf_ring *r, uint32_t *st, size_t words, uint32_t tag) {
  /* a ring whose CQ JS does not read directly (the program engine's), or with 32-byte CQEs: the JS path */
  if (r->closed || r->engine || r->cqe_size != 16) return -EOPNOTSUPP;
  if (words < BW_HEADER) return -EINVAL;
  uint32_t d = st[BW_DEPTH];
  if (d == 0 || d > BULK_DEPTH_MAX || words < BW_HEADER + (size_t)BA_COUNT * d) return -EINVAL;
  uint32_t free_top = st[BW_FREE_TOP], rhead = st[BW_READY_HEAD], ready = st[BW_READY], inflight = st[BW_INFLIGHT];
  if (free_top > d || rhead >= d || ready > d || inflight > d || ready + inflight > d) return -EINVAL;
  uint32_t *a = st + BW_HEADER;
  uint32_t *slot_tag = a + (size_t)BA_SLOT_TAG * d, *slot_gen = a + (size_t)BA_SLOT_GEN * d;
  uint32_t *slot_used = a + (size_t)BA_SLOT_USED * d, *free_list = a + (size_t)BA_FREE * d;
  uint32_t *ready_tag = a + (size_t)BA_READY_TAG * d, *ready_res = a + (size_t)BA_READY_RES * d;
  uint32_t *ready_flags = a + (size_t)BA_READY_FLAGS * d, *finished = a + (size_t)BA_FINISHED * d;
  uint32_t head = *r->cq_head; /* JS and this function are the only consumers, on this thread */
  uint32_t tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
  uint32_t fin = 0;
  long n = 0;
  st[BW_FINISHED] = 0;
  while (head != tail) {
    const rf_ring_cqe *c = (const rf_ring_cqe *)(r->cqes + (size_t)(head & r->cq_mask) * 16);
    if ((uint32_t)(c->user_data >> 32) != tag) break; /* not a bulk CQE: JS delivers it */
    uint32_t lo = (uint32_t)c->user_data;
    int32_t res = c->res;
    uint32_t flags = c->flags;
    uint32_t slot = lo & 0xffff, gen = lo >> 16;
    if (slot < d && slot_gen[slot] == gen && slot_used[slot] && !(flags & CQE_F_MORE)) {
      /* in flight, so the ready list has room (ready + inflight <= depth) and the free list too */
      if (inflight == 0 || free_top >= d) return -EINVAL; /* the counters contradict the slot: consume nothing more */
      slot_gen[slot] = (gen + 1) & 0xffff;
      slot_used[slot] = 0;
      free_list[free_top++] = slot;
      inflight--;
      uint32_t t = rhead + ready;
      if (t >= d) t -= d;
      ready_tag[t] = slot_tag[slot];
      ready_res[t] = (uint32_t)res;
      ready_flags[t] = flags;
      ready++;
      finished[fin++] = slot;
    }
    head++;
    n++;
    /* published per CQE, as the JS reap does: what is consumed is off the CQ whatever happens next */
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    st[BW_FREE_TOP] = free_top;
    st[BW_READY] = ready;
    st[BW_INFLIGHT] = inflight;
    st[BW_FINISHED] = fin;
  }
  return n;
}

/* bulkReap(handle, state: Uint32Array, tag) -> CQEs consumed | -errno */
static napi_value js_bulk_reap(napi_env env, napi_callback_info info) {
  RF_ARGS(3);
  rf_ring *r = rf_ring_from_js(env, argv[0]);
  void *data;
  size_t len;
  uint32_t tag;
  if (!r || !rf_get_bytes(env, argv[1], &data, &len) || !rf_get_u32(env, argv[2], &tag)) return rf_int(env, -EINVAL);
  if (((uintptr_t)data & 3) != 0) return rf_int(env, -EINVAL);
  return rf_int(env, bulk_reap(r, (uint32_t *)data, len / 4, tag));
}

void rf_bulk_register(napi_env env, napi_value exports) { rf_export(env, exports, "bulkReap", js_bulk_reap); }
