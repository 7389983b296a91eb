/* The parks of the completion-program engine's CQs (docs/completion-programs.md, "Multishot
 * requests"): where a program's multishot CQEs wait, in order, while their CQ is full, and how they
 * move in (engine.c's reaping pass and reap_kernel, the reap helper, JS reading the CQ). */
#include "engine_internal.h"

#include <unistd.h>

/* A program's multishot request's CQEs are never dropped: each one holds what only its owner can
 * let go of (a provided buffer the program now owns, an accepted fd), and its last one ends the
 * request. One that finds its CQ full waits in the CQ's park, behind those parked before it, and
 * moves in as the CQ drains (the reap helper, every round of the pass, JS reading the CQ). The park
 * is bounded by what the kernel can hand out before the owner gives something back: the granted
 * groups' buffers (an incremental buffer's pieces), RLIMIT_NOFILE's fds, and one last CQE per
 * request alive (a request whose last CQE waits stays alive, K_PARKED, under MAX_PROG_REQS, until
 * it moves in). Memory for it failing drops the CQE and counts it, as a full CQ does for
 * single-shot requests. */
bool park_flush(rf_engine *e, uint32_t cq) {
  xcq *q = &e->cqs[cq];
  if (q->phead == q->ptail) return true;
  bool moved = false;
  while (q->phead != q->ptail && xcq_count(q) < q->entries) {
    parked_cqe *p = &q->park[q->phead++];
    xcq_post(e, q, p->c.user_data, p->c.res, p->c.flags);
    if (p->req) req_free(e, p->req - 1); /* its last CQE is where its owner reads it: it ends */
    moved = true;
  }
  *H_PARKED(q) = q->ptail - q->phead;
  if (moved && e->nwaiting) wake_waiters(e, cq);
  if (q->phead != q->ptail) return false;
  q->phead = q->ptail = 0;
  e->nparked--;
  return true;
}

bool rf_engine_flush_park(rf_engine *e, uint32_t cq) {
  if (cq >= e->ncq || e->in_pass) return false;
  park_flush(e, cq);
  bool runnable = e->rhead != e->rtail;
  if (runnable && e->want_turn) e->want_turn(e->hook_data, true); /* programs it woke run next turn */
  return runnable;
}

/* Is CQ `cq` (as programs name it) full for a new CQE? */
bool cq_full(rf_engine *e, uint32_t cq) {
  xcq *q = &e->cqs[cq];
  return q->phead != q->ptail || xcq_count(q) >= q->entries;
}

/* Posts a program's multishot CQE, or parks it. `last`: idx + 1 of the request it ends (0: F_MORE);
 * returns true when that request now waits in the park (freed when its CQE moves in). */
bool cq_post_multi(rf_engine *e, uint32_t cq, uint64_t ud, int32_t res, uint32_t flags, bool fd, uint32_t last) {
  xcq *q = &e->cqs[cq];
  if (park_flush(e, cq) && xcq_count(q) < q->entries) {
    cq_post(e, cq, ud, res, flags);
    return false;
  }
  if (q->phead && q->ptail == q->pcap) {
    memmove(q->park, q->park + q->phead, (size_t)(q->ptail - q->phead) * sizeof(parked_cqe));
    q->ptail -= q->phead;
    q->phead = 0;
  }
  if (!grow((void **)&q->park, &q->pcap, q->ptail + 1, sizeof(parked_cqe))) {
    cq_post(e, cq, ud, res, flags); /* full: dropped and counted */
    if (fd && res >= 0) {
      fd_set_allowed(e, res, false); /* nobody will learn of it: not the programs' any more */
      close(res);
    }
    return false;
  }
  if (q->phead == q->ptail) e->nparked++;
  q->park[q->ptail++] = (parked_cqe){{ud, res, flags}, last};
  *H_PARKED(q) = q->ptail - q->phead;
  e->ctl->parked_cqes++;
  return last != 0;
}

/* Could a park move now (its CQ was drained by a reader outside the pass: JS's onCompletion)? */
bool parks_movable(rf_engine *e) {
  for (uint32_t i = 0; e->nparked && i < e->ncq; i++)
    if (e->cqs[i].phead != e->cqs[i].ptail && xcq_count(&e->cqs[i]) < e->cqs[i].entries) return true;
  return false;
}
