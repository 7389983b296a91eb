/* The parks of the completion-program engine's CQs (docs/completion-programs.md, "Multishot
 * requests"): where a program's multishot CQEs wait, in order, while their CQ is full.
 *
 * A program's multishot request's CQEs are never dropped: each one holds what only its owner can
 * let go of (a provided buffer the program now owns, an accepted fd), and its last one ends the
 * request. One that finds its CQ full waits in the CQ's park, behind those parked before it. The
 * park is bounded by what the kernel can hand out before the owner gives something back: the
 * granted groups' buffers (an incremental buffer's pieces), RLIMIT_NOFILE's fds, and one last CQE
 * per request alive (a request whose last CQE waits stays alive, K_PARKED, under MAX_PROG_REQS,
 * until it moves in).
 *
 * Only a reader makes room in a CQ, and every reader moves parked CQEs in as it reads: the reap
 * helper (engine_helpers.c) and JS's CompletionQueue.shift()/drain() (rf_engine_flush_park). So a
 * CQ with a park is always full, and whatever else comes for it (a single-shot completion, an
 * emitted CQE) is dropped by cq_post like any CQE that finds its CQ full: nothing overtakes the
 * parked ones. */
#include "engine_internal.h"

void park_flush(rf_engine *e, uint32_t cq) {
  xcq *q = &e->cqs[cq];
  bool moved = false;
  while (q->phead != q->ptail && xcq_count(q) < q->entries) {
    parked_cqe *p = &q->park[q->phead++];
    xcq_post(e, q, p->c.user_data, p->c.res, p->c.flags);
    if (p->req) req_free(e, p->req - 1); /* its last CQE is where its owner reads it: it ends */
    moved = true;
  }
  if (q->phead == q->ptail) q->phead = q->ptail = 0;
  *H_PARKED(q) = q->ptail - q->phead;
  if (moved && e->nwaiting) wake_waiters(e, cq);
}

bool rf_engine_flush_park(rf_engine *e, uint32_t cq) {
  if (cq >= e->ncq) return false;
  park_flush(e, cq);
  bool runnable = e->rhead != e->rtail;
  if (runnable && e->want_turn) e->want_turn(e->hook_data, true); /* programs it woke run next turn */
  return runnable;
}

int cq_post_multi(rf_engine *e, uint32_t cq, uint64_t ud, int32_t res, uint32_t flags, uint32_t last) {
  xcq *q = &e->cqs[cq];
  if (q->phead == q->ptail && xcq_count(q) < q->entries) return cq_post(e, cq, ud, res, flags);
  if (q->phead && q->ptail == q->pcap) {
    memmove(q->park, q->park + q->phead, (size_t)(q->ptail - q->phead) * sizeof(parked_cqe));
    q->ptail -= q->phead;
    q->phead = 0;
  }
  /* no memory for it: dropped and counted, as a full CQ does for single-shot requests */
  if (!grow((void **)&q->park, &q->pcap, q->ptail + 1, sizeof(parked_cqe))) return cq_post(e, cq, ud, res, flags);
  q->park[q->ptail++] = (parked_cqe){{ud, res, flags}, last};
  *H_PARKED(q) = q->ptail - q->phead;
  e->ctl->parked_cqes++;
  return 1;
}
