/* Completion-program engine (docs/completion-programs.md).
 *
 * Once enabled on a ring, every SQE passes through rf_engine_prepare() before the kernel sees it:
 * its user_data is swapped for a tag naming an entry of the request table (which keeps the
 * original user_data and the CQ the completion goes to), a program request (RF_OP_BPF) in a link
 * chain becomes a kernel NOP "stand-in" that carries its place there (an unlinked one just runs
 * in the pass), and requests linked after a program request are held back until it completes.
 * rf_engine_pass() moves kernel CQEs to their CQ (JS's CQ 0 holds only completions of requests JS
 * submitted; the programs' CQ 0 and the extra CQs are read by programs, or by JS through
 * onCompletion and ring.cq(i)), runs the programs whose turn came, and submits what they queued, all in one
 * pass of the ring's thread. The ring helpers and the SQE policy live in engine_policy.c. */
#include "engine_internal.h"
#include "policy.h"

/* ------------------------------------------------------------------ request table */

static uint32_t req_alloc(rf_engine *e) {
  uint32_t idx;
  uint16_t gen = 0; /* a reused slot gets its next generation, so its old tag names nobody */
  if (e->free_head) {
    idx = e->free_head - 1;
    e->free_head = e->reqs[idx].next_free;
    gen = (uint16_t)(e->reqs[idx].gen + 1);
  } else {
    if (!grow((void **)&e->reqs, &e->capreqs, e->nreqs + 1, sizeof(rf_req))) return UINT32_MAX;
    idx = e->nreqs++;
  }
  memset(&e->reqs[idx], 0, sizeof(rf_req));
  e->reqs[idx].gen = gen;
  return idx;
}
void req_free(rf_engine *e, uint32_t idx) {
  rf_req *q = &e->reqs[idx];
  if (q->kind == K_PARKED) e->nparked_reqs--;
  if (q->owner) prog_req_end(e, q->sqe_flags, q->bgid, q->pin);
  scratch_free(e, q->scratch);
  if (q->defer) {
    for (uint32_t i = 0; i < q->ndefer; i++) scratch_free(e, q->defer[i].scratch);
    free(q->defer);
  }
  q->scratch = NULL;
  q->defer = NULL;
  q->ndefer = q->capdefer = 0; /* the rest is cleared by req_alloc */
  q->kind = K_FREE;
  q->next_free = e->free_head;
  e->free_head = idx + 1;
}

/* ------------------------------------------------------------------ completion queues */


/* Posts a CQE to a queue; a full queue drops it and counts (-ENOMEM). */
int xcq_post(rf_engine *e, xcq *q, uint64_t ud, int32_t res, uint32_t flags) {
  uint32_t tail = *H_TAIL(q);
  if (tail - __atomic_load_n(H_HEAD(q), __ATOMIC_ACQUIRE) >= q->entries) {
    (*H_DROPPED(q))++;
    e->ctl->dropped_cqes++;
    return -ENOMEM;
  }
  rf_cqe *c = &XCQES(q)[tail & q->mask];
  c->user_data = ud;
  c->res = res;
  c->flags = flags;
  __atomic_store_n(H_TAIL(q), tail + 1, __ATOMIC_RELEASE);
  (*H_POSTED(q))++;
  return 0;
}

/* CQ `cq` as programs name it: 0 is the programs' CQ 0, never JS's. A CQ with parked CQEs is
 * full (engine_park.c): what comes now is dropped. */
int cq_post(rf_engine *e, uint32_t cq, uint64_t ud, int32_t res, uint32_t flags) {
  if (cq >= e->ncq) return -EINVAL;
  int rc = xcq_post(e, &e->cqs[cq], ud, res, flags);
  if (!rc && e->nwaiting) wake_waiters(e, cq);
  return rc;
}

int rf_engine_post(rf_engine *e, uint32_t cq, uint64_t user_data, int32_t res, uint32_t flags) {
  return cq_post(e, cq, user_data, res, flags);
}

/* Moves held-back completions into JS's CQ 0 as JS makes room. Returns true when none are left. */
static bool cq0_flush_over(rf_engine *e) {
  xcq *q = &e->js;
  while (e->overhead < e->nover && xcq_count(q) < q->entries) {
    rf_cqe *c = &e->cq0_over[e->overhead++];
    xcq_post(e, q, c->user_data, c->res, c->flags);
  }
  if (e->overhead == e->nover) e->overhead = e->nover = 0;
  return e->nover == 0;
}

/* A request's completion. JS's requests that name CQ 0 complete on JS's CQ 0, where nothing is
 * dropped (held back while it is full); every other completion goes to the CQ it names (0: the
 * programs' CQ 0), where a full queue drops it and counts, as the prototype does. */
int cq_post_req(rf_engine *e, uint32_t cq, uint32_t owner, uint64_t ud, int32_t res, uint32_t flags) {
  if (cq != 0 || owner != 0) return cq_post(e, cq < e->ncq ? cq : 0, ud, res, flags);
  xcq *q = &e->js;
  if (e->nover == 0 && xcq_count(q) < q->entries) return xcq_post(e, q, ud, res, flags);
  if (!grow((void **)&e->cq0_over, &e->capover, e->nover + 1, sizeof(rf_cqe))) return xcq_post(e, q, ud, res, flags);
  e->cq0_over[e->nover++] = (rf_cqe){ud, res, flags};
  return 0;
}

/* ------------------------------------------------------------------ program scheduling */

static void runnable_push(rf_engine *e, uint32_t idx) {
  if (e->rtail - e->rhead == e->rcap) {
    uint32_t n = e->rcap ? e->rcap * 2 : 64;
    uint32_t *b = malloc((size_t)n * 4);
    if (!b) return;
    for (uint32_t i = 0; i < e->rtail - e->rhead; i++) b[i] = e->runnable[(e->rhead + i) & (e->rcap - 1)];
    e->rtail -= e->rhead;
    e->rhead = 0;
    free(e->runnable);
    e->runnable = b;
    e->rcap = n;
  }
  e->runnable[e->rtail++ & (e->rcap - 1)] = idx;
  e->reqs[idx].kind = K_RUNNABLE;
}

void wake_waiters(rf_engine *e, uint32_t cq) {
  for (uint32_t i = 0; i < e->nwaiting;) {
    uint32_t idx = e->waiting[i];
    rf_req *q = &e->reqs[idx];
    if (q->wait_idx == cq && xcq_count(&e->cqs[cq]) >= q->wait_nr) {
      e->waiting[i] = e->waiting[--e->nwaiting];
      runnable_push(e, idx);
    } else {
      i++;
    }
  }
}

static void stage_sqe(rf_engine *e, const staged_sqe *s) {
  if (!grow((void **)&e->staged, &e->capstaged, e->nstaged + 1, sizeof(staged_sqe))) {
    scratch_free(e, s->scratch);
    if (s->owner) prog_sqe_end(e, s->sqe, s->pin);
    cq_post_req(e, s->cq, s->owner, rd64(s->sqe, 32), -ENOMEM, 0);
    return;
  }
  e->staged[e->nstaged++] = *s;
}

/* A program request ends: post its CQE, then release or cancel what was linked after it. */
static void prog_complete(rf_engine *e, uint32_t idx, int32_t res) {
  rf_req *q = &e->reqs[idx];
  if (!(res >= 0 && (q->sqe_flags & F_SKIP))) cq_post_req(e, q->cq, q->owner, q->user_data, res, 0);
  bool go_on = res >= 0 || (q->sqe_flags & F_HARDLINK);
  for (uint32_t i = 0; i < q->ndefer; i++) {
    staged_sqe *d = &q->defer[i];
    if (go_on && !e->closing) {
      stage_sqe(e, d);
    } else {
      cq_post_req(e, d->cq, d->owner, rd64(d->sqe, 32), -ECANCELED, 0);
      if (d->owner) prog_sqe_end(e, d->sqe, d->pin);
      scratch_free(e, d->scratch);
    }
    d->scratch = NULL;
  }
  q->ndefer = 0;
  req_free(e, idx);
}

static void run_program(rf_engine *e, uint32_t idx) {
  rf_req *q = &e->reqs[idx];
  rf_bpf_prog *prog = q->prog < e->nprogs ? e->progs[q->prog] : NULL;
  if (!prog) { prog_complete(e, idx, -EINVAL); return; }
  rf_bpf_run *run = &e->run;
  if (e->run_stale) {
    rf_bpf_run_init(run);
    run->args[0] = (uint64_t)(uintptr_t)&e->run_ctx;
    run->embedder = e;
    run->helper = rf_engine_helper;
    rf_bpf_run_add_region(run, &e->run_ctx, sizeof e->run_ctx, true);
    for (uint32_t i = 0; i < e->nregions; i++)
      rf_bpf_run_add_region(run, (void *)(uintptr_t)e->regions[i].base, e->regions[i].len, e->regions[i].writable);
    e->run_stale = false;
  }
  run->budget = e->budget;
  /* the context struct, zeroed but for the token before each run */
  e->run_ctx.user_data = q->token;
  e->run_ctx.wait_nr = 0;
  e->run_ctx.wait_idx = 0;
  e->progress = false;
  e->cur_owner = q->prog + 1;
  int st = rf_bpf_prog_run(prog, run);
  q = &e->reqs[idx]; /* the table may have grown during the run */
  q->wait_nr = e->run_ctx.wait_nr;
  q->wait_idx = e->run_ctx.wait_idx;
  e->ctl->program_runs++;
  e->ctl->program_insns += run->insns;
  e->pass_insns += run->insns;
  e->runs_this_turn++;
  if (st != RF_BPF_OK) {
    if (st == RF_BPF_BUDGET) e->ctl->budget_stops++;
    else e->ctl->faults++;
    prog_complete(e, idx, st == RF_BPF_BUDGET ? -ELOOP : st == RF_BPF_MEMFAULT ? -EFAULT : -EINVAL);
    return;
  }
  /* What the program returned (the int in r0's low 32 bits), as in the 2021 prototype:
   * IORING_BPF_OK (0; ebpf_v2 programs always return 0) ends the request unless wait_nr is set
   * (ebpf_v2 waits whenever wait_nr != 0); IORING_BPF_WAIT (1, bpf_v3) waits for wait_nr CQEs on
   * CQ wait_idx, and a wait for 0 CQEs is satisfied at once (the program runs again). Any other
   * value: the request fails with -EINVAL (the prototype's verifier refused such programs). */
  int32_t ret = (int32_t)(uint32_t)run->r0;
  if (ret != RF_PROG_OK && ret != RF_PROG_WAIT) { e->ctl->faults++; prog_complete(e, idx, -EINVAL); return; }
  if (ret == RF_PROG_OK && !q->wait_nr) { prog_complete(e, idx, 0); return; }
  if (q->wait_idx >= e->ncq) { prog_complete(e, idx, -EINVAL); return; }
  q->noprogress = e->progress ? 0 : q->noprogress + 1;
  if (q->noprogress >= NOPROGRESS_MAX) {
    e->ctl->livelock_stops++;
    prog_complete(e, idx, -ELOOP);
    return;
  }
  if (e->closing) { prog_complete(e, idx, -EAGAIN); return; }
  if (xcq_count(&e->cqs[q->wait_idx]) >= q->wait_nr) {
    runnable_push(e, idx);
  } else {
    if (!grow((void **)&e->waiting, &e->capwaiting, e->nwaiting + 1, 4)) { prog_complete(e, idx, -ENOMEM); return; }
    e->waiting[e->nwaiting++] = idx;
    q->kind = K_WAITING;
  }
}

/* ------------------------------------------------------------------ preparing submissions */

/* Finds the live request a cancel/timeout-remove targets among those of the same owner (JS, or
 * the program that submitted it) and names it by its engine tag. A program request waiting for
 * completions is not in the kernel: cancelling it completes it with -ECANCELED. No such request:
 * the target becomes a tag no request carries, so the kernel answers -ENOENT; a raw engine tag
 * or another owner's user_data never reaches a request that is not the submitter's. */
static bool translate_target(rf_engine *e, uint8_t *sqe, int field, uint32_t owner) {
  uint64_t target = rd64(sqe, field);
  for (uint32_t i = 0; i < e->nwaiting; i++) {
    rf_req *q = &e->reqs[e->waiting[i]];
    if (q->owner == owner && q->user_data == target && sqe[0] == OP_ASYNC_CANCEL) {
      uint32_t idx = e->waiting[i];
      e->waiting[i] = e->waiting[--e->nwaiting];
      prog_complete(e, idx, -ECANCELED);
      wr64(sqe, field, 0);
      return true;
    }
  }
  for (uint32_t i = 0; i < e->nreqs; i++) {
    rf_req *q = &e->reqs[i];
    if ((q->kind == K_KERNEL || q->kind == K_STANDIN) && q->owner == owner && q->user_data == target) {
      wr64(sqe, field, req_tag(i, q->gen));
      return true;
    }
  }
  wr64(sqe, field, TAG_NONE);
  return false;
}

typedef struct {
  uint32_t divert; /* idx + 1 of the program request collecting the rest of this chain */
  uint32_t prev_linked; /* idx + 1 of the previous request if it linked to this one */
} walk_state;

/* Rewrites one SQE that sits in the SQ. Returns false when it was diverted (not submitted now). */
static bool prepare_one(rf_engine *e, uint8_t *sqe, uint32_t cq, uint32_t owner, void *scratch, uint64_t pin, walk_state *w) {
  uint8_t fl = sqe[1];
  bool links = (fl & (F_LINK | F_HARDLINK)) != 0;
  if (w->divert) {
    rf_req *p = &e->reqs[w->divert - 1];
    if (grow((void **)&p->defer, &p->capdefer, p->ndefer + 1, sizeof(staged_sqe))) {
      staged_sqe *d = &p->defer[p->ndefer++];
      memcpy(d->sqe, sqe, 64);
      d->cq = cq;
      d->owner = owner;
      d->scratch = scratch;
      d->pin = pin;
    } else {
      cq_post_req(e, cq, owner, rd64(sqe, 32), -ENOMEM, 0);
      if (owner) prog_sqe_end(e, sqe, pin);
      scratch_free(e, scratch);
    }
    if (!links) w->divert = 0;
    return false;
  }
  uint32_t idx = req_alloc(e);
  if (idx == UINT32_MAX) {
    /* no memory for bookkeeping: submit a NOP that fails the slot's place in the ring */
    scratch_free(e, scratch);
    if (owner) prog_sqe_end(e, sqe, pin);
    memset(sqe, 0, 64);
    return true;
  }
  rf_req *q = &e->reqs[idx];
  q->user_data = rd64(sqe, 32);
  q->cq = cq;
  q->owner = owner;
  q->opcode = sqe[0];
  q->fd = (int32_t)rd32(sqe, 4);
  q->sqe_flags = fl;
  q->scratch = scratch;
  q->pin = pin;
  q->bgid = rd16(sqe, 40);
  q->multi = owner && rf_policy_multishot(e->policy, sqe);
  if (sqe[0] == RF_OP_BPF) {
    q->kind = K_STANDIN;
    q->prog = (uint32_t)rd64(sqe, 8);
    /* JS program requests carry their context token in addr (len = 1); prototype ones use user_data */
    q->token = rd32(sqe, 24) == 1 && !owner ? rd64(sqe, 16) : q->user_data;
    if (q->prog >= e->nprogs || !e->progs[q->prog]) q->fail = -EINVAL;
    else if (!owner && (rd16(sqe, 2) || rd32(sqe, 28) || rd32(sqe, 24) > 1)) q->fail = -EINVAL;
    if (!links && !w->prev_linked && !(fl & (F_DRAIN | F_ASYNC))) {
      /* not in a link chain and no ordering asked of the kernel: nothing for a stand-in to wait
       * for, so the program runs in this pass without a trip through the kernel */
      if (q->fail) prog_complete(e, idx, q->fail);
      else if (e->closing) prog_complete(e, idx, -EAGAIN);
      else runnable_push(e, idx);
      return false;
    }
    uint64_t ud = req_tag(idx, q->gen);
    memset(sqe, 0, 64);
    sqe[1] = fl & (F_DRAIN | F_ASYNC); /* the stand-in ends the kernel chain; successors wait here */
    wr64(sqe, 32, ud);
    if (links) w->divert = idx + 1;
    w->prev_linked = 0;
    return true;
  }
  q->kind = K_KERNEL;
  if ((e->names_request[sqe[0] >> 6] >> (sqe[0] & 63)) & 1 &&
      !(sqe[0] == OP_ASYNC_CANCEL && (rd32(sqe, 28) & (CANCEL_FD | CANCEL_ANY | CANCEL_FD_FIXED | CANCEL_OP))))
    translate_target(e, sqe, 16, owner);
  /* CQE_SKIP_SUCCESS is the engine's to honour, not the kernel's: every request then gets exactly
   * one CQE from the kernel (its end), and a successful one's is dropped here (reap_kernel). With
   * the kernel's own skip, a request that succeeds leaves no trace (nothing could end its entry)
   * and a failing one hides the rest of its chain. */
  sqe[1] &= (uint8_t)~F_SKIP;
  wr64(sqe, 32, req_tag(idx, q->gen));
  w->prev_linked = links ? idx + 1 : 0;
  return true;
}

uint32_t rf_engine_prepare(rf_engine *e, uint32_t from, uint32_t to, bool append) {
  rf_ring *r = e->ring;
  if (append) e->ctl->js_pending = 0; /* JS hands over everything it queued */
  uint8_t *sqes = r->sqes;
  uint32_t mask = r->sq_mask;
  walk_state w = {0, 0};
  uint32_t out = from;
  /* rewritten in place; an SQE moves down when an earlier one was diverted (out <= i) */
  for (uint32_t i = from; i != to; i++) {
    uint8_t *dst = sqes + (size_t)(out & mask) * 64;
    if (out != i) memcpy(dst, sqes + (size_t)(i & mask) * 64, 64);
    if (prepare_one(e, dst, 0, 0, NULL, 0, &w)) out++;
  }
  if (!append || e->closing) return out;
  /* staged program requests, in order, while the SQ has room */
  uint32_t head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
  uint32_t i = 0;
  w.divert = 0;
  w.prev_linked = 0;
  for (; i < e->nstaged; i++) {
    if (out - head >= r->sq_entries) break;
    staged_sqe *s = &e->staged[i];
    uint8_t *dst = sqes + (size_t)(out & mask) * 64; /* free slot: overwritten if diverted */
    memcpy(dst, s->sqe, 64);
    if (prepare_one(e, dst, s->cq, s->owner, s->scratch, s->pin, &w)) out++;
    e->ctl->sqes_submitted++;
  }
  if (i) {
    if (i < e->nstaged) memmove(e->staged, e->staged + i, (size_t)(e->nstaged - i) * sizeof(staged_sqe));
    e->nstaged -= i;
  }
  return out;
}

int rf_engine_submit(rf_engine *e, uint32_t tail, uint32_t min_complete, uint32_t flags) {
  rf_ring *r = e->ring;
  uint32_t from = *r->sq_tail;
  /* never trust JS: a tail behind the published one or past the SQ hands over nothing */
  if (tail - from > r->sq_entries) return -EINVAL;
  uint32_t final_tail = rf_engine_prepare(e, from, tail, true);
  __atomic_store_n(r->sq_tail, final_tail, __ATOMIC_RELEASE);
  uint32_t pending = final_tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
  /* The rewritten SQEs stay published whatever enter says: the next enter (JS's next flush or a
   * reaping pass) hands the kernel everything between its head and the tail. So JS's SQEs count
   * as accepted even when this enter fails (EAGAIN/EBUSY under CQ pressure, EBADFD on a disabled
   * ring until enable()). */
  rf_ring_quiet(r, true);
  /* GETEVENTS only when asked or when the kernel flags completion work; the pass enters again
   * for work flagged later */
  if (min_complete || rf_needs_getevents(r)) flags |= RF_ENTER_GETEVENTS;
  if (pending || flags) rf_ring_enter(r, pending, min_complete, flags);
  else e->ctl->js_enters_skipped++; /* only unlinked program requests: they run in the pass */
  rf_engine_turn(e); /* re-enables the eventfd when it is done */
  return (int)(tail - from);
}

/* ------------------------------------------------------------------ the reaping pass */

/* Moves kernel CQEs to their queues. Returns how many were consumed. */
static uint32_t reap_kernel(rf_engine *e) {
  rf_ring *r = e->ring;
  uint32_t head = *r->cq_head, n = 0;
  uint32_t tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
  xcq *js = &e->js;
  while (head != tail) {
    const uint8_t *c = r->cqes + (size_t)(head & r->cq_mask) * 16;
    uint64_t ud = rd64(c, 0);
    int32_t res = (int32_t)rd32(c, 8);
    uint32_t flags = rd32(c, 12);
    uint32_t idx = (uint32_t)ud;
    bool tagged = (ud >> 48) == TAG_MARK;
    rf_req *q = tagged && idx < e->nreqs && e->reqs[idx].gen == (uint16_t)(ud >> 32) ? &e->reqs[idx] : NULL;
    /* JS's CQ 0 never drops a completion: leave it in the kernel until JS has read CQ 0 */
    bool to_js = q ? q->kind == K_KERNEL && q->owner == 0 && q->cq == 0 : !tagged;
    if (to_js && (e->nover || xcq_count(js) >= js->entries)) break;
    head++;
    n++;
    if (!tagged) {
      /* a file another ring put into a slot of this ring's table (msg_ring SEND_FD; user_data as
       * src/ops/msg-ring-abi.ts builds it): the slot no longer holds what programs were given */
      if ((uint32_t)(ud >> 32) == RF_MESSAGE_TAG && (ud & RF_FILE_MESSAGE_BIT) && res >= 0) {
        uint32_t low = (uint32_t)ud & 0x7fffffffu;
        rf_policy_slot_replaced(e, low ? low - 1 : (uint32_t)res);
      }
      cq_post_req(e, 0, 0, ud, res, flags); /* JS's (submitted before the engine was enabled, or a message) */
      continue;
    }
    if (!q || q->kind == K_FREE) continue; /* no live request carries this tag: nobody's */
    if (q->kind == K_STANDIN) {
      if (res < 0) prog_complete(e, idx, res);
      else if (q->fail) prog_complete(e, idx, q->fail);
      else if (e->closing) prog_complete(e, idx, -EAGAIN);
      else runnable_push(e, idx);
      continue;
    }
    if (q->kind != K_KERNEL) continue;
    /* CQE_SKIP_SUCCESS (taken off the SQE at submission): a success ends the request silently */
    bool skip = (q->sqe_flags & F_SKIP) && res >= 0 && !(flags & CQE_F_MORE);
    bool last = !(flags & CQE_F_MORE);
    /* a program's multishot request whose CQEs each hand over a buffer or an fd (the policy's
     * declaration): parked, never dropped (engine_park.c). Other multi-CQE requests (a multishot
     * timeout, JS's own requests naming a program CQ) drop as any CQE whose CQ is full. */
    int rc = q->owner && q->multi ? cq_post_multi(e, q->cq < e->ncq ? q->cq : 0, q->user_data, res, flags, last ? idx + 1 : 0)
             : skip ? -ENOMEM
             : cq_post_req(e, q->cq, q->owner, q->user_data, res, flags);
    if (q->owner) {
      /* nobody will read it (skipped, or dropped by a full CQ): what it hands over goes back at
       * once, an fd closed and a buffer to its group, instead of nobody's forever */
      if (res >= 0) rf_policy_completed(e, q->opcode, q->fd, res, rc >= 0); /* opens allow, closes revoke */
      /* a request that selected a buffer: the buffer is the programs' from here on */
      if ((q->sqe_flags & F_BUFFER_SELECT) && (flags & RF_CQE_F_BUFFER)) rf_group_cqe(e, q->bgid, res, flags, rc < 0);
    }
    if (rc == 1 && last) {
      q->kind = K_PARKED; /* out of the kernel; it ends when its last CQE moves in */
      e->nparked_reqs++;
    } else if (last) {
      req_free(e, idx);
    }
  }
  if (n) __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
  return n;
}

/* Does JS have completions to read? Its CQ 0, or the programs' CQ 0 while onCompletion listens. */
static bool js_has_work(rf_engine *e) {
  return xcq_count(&e->js) > 0 || (e->ctl->js_reads_prog_cq0 && xcq_count(&e->cqs[0]) > 0);
}

/* A new turn of the event loop: program runs and instructions are counted from zero again. */
static void new_turn(rf_engine *e) {
  e->runs_this_turn = 0;
  e->pass_insns = 0;
}

bool rf_engine_turn(rf_engine *e) {
  if (!e->in_pass) new_turn(e);
  return rf_engine_pass(e);
}

bool rf_engine_pass(rf_engine *e) {
  if (e->in_pass) return js_has_work(e); /* a helper re-entered through a submit */
  e->in_pass = true;
  rf_ring *r = e->ring;
  /* everything the kernel completes while we are here is read by this pass: no eventfd signals */
  rf_ring_quiet(r, true);
  for (uint32_t round = 0; round < PASS_ROUNDS; round++) {
    cq0_flush_over(e);
    bool worked = reap_kernel(e) > 0;
    while (e->rhead != e->rtail && e->runs_this_turn < RUNS_PER_TURN && e->pass_insns < e->budget) {
      uint32_t idx = e->runnable[e->rhead++ & (e->rcap - 1)];
      if (e->reqs[idx].kind != K_RUNNABLE) continue;
      run_program(e, idx);
      worked = true;
    }
    if (e->nstaged && !e->ctl->js_pending && !e->closing) {
      uint32_t from = *r->sq_tail;
      uint32_t t = rf_engine_prepare(e, from, from, true);
      if (t != from) {
        __atomic_store_n(r->sq_tail, t, __ATOMIC_RELEASE);
        uint32_t pending = t - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
        /* no GETEVENTS unless the kernel flags pending completion work: requests that finish
         * inline post their CQEs during the submit; task work (links, io-wq results) raises the
         * TASKRUN flag and the next round enters for it */
        rf_ring_enter(r, pending, 0, rf_needs_getevents(r) ? RF_ENTER_GETEVENTS : 0);
        e->ctl->enter_calls++;
        worked = true;
      }
    } else if (rf_needs_getevents(r)) {
      rf_ring_enter(r, 0, 0, RF_ENTER_GETEVENTS);
      worked = true;
    }
    if (e->runs_this_turn >= RUNS_PER_TURN || e->pass_insns >= e->budget) {
      /* this turn's share of program work is used up: let the loop run, continue next turn */
      if (e->rhead != e->rtail) e->ctl->pass_yields++;
      break;
    }
    if (!worked) {
      /* signals back on; anything that slipped in meanwhile gets another round */
      if (!rf_ring_quiet(r, false)) break;
      if (rf_needs_getevents(r)) rf_ring_enter(r, 0, 0, RF_ENTER_GETEVENTS);
      rf_ring_quiet(r, true);
    }
  }
  /* signals back on; after the last round, kernel completions may be waiting unread (the
   * eventfd stayed quiet for them), so they count as more work */
  bool arrived = rf_ring_quiet(r, false);
  /* more runnable programs than one turn allows: yield to the loop, continue next turn */
  bool more = arrived || e->rhead != e->rtail || (e->nstaged && !e->ctl->js_pending);
  if (e->want_turn) e->want_turn(e->hook_data, more);
  e->in_pass = false;
  if (e->closing) {
    /* close() waits until the kernel has let go of every request programs submitted (their
     * buffers lie in regions the engine frees): JS hears of every change of that count */
    uint64_t held = 0;
    for (uint32_t i = 0; i < e->nreqs; i++) held += e->reqs[i].kind == K_KERNEL || e->reqs[i].kind == K_STANDIN;
    bool changed = held != e->ctl->in_kernel;
    e->ctl->in_kernel = held;
    if (changed) return true;
  }
  return js_has_work(e);
}

/* Waiting and not-yet-run program requests complete with -EAGAIN; held-back chains fail. */
void rf_engine_shutdown(rf_engine *e) {
  if (!e->closing) e->ctl->in_kernel = UINT64_MAX; /* unknown until the next pass counts */
  e->closing = true;
  for (uint32_t i = 0; i < e->nwaiting; i++) prog_complete(e, e->waiting[i], -EAGAIN);
  e->nwaiting = 0;
  while (e->rhead != e->rtail) {
    uint32_t idx = e->runnable[e->rhead++ & (e->rcap - 1)];
    if (e->reqs[idx].kind == K_RUNNABLE) prog_complete(e, idx, -EAGAIN);
  }
  for (uint32_t i = 0; i < e->nstaged; i++) {
    staged_sqe *st = &e->staged[i];
    cq_post_req(e, st->cq, st->owner, rd64(st->sqe, 32), -ECANCELED, 0);
    if (st->owner) prog_sqe_end(e, st->sqe, st->pin);
    scratch_free(e, st->scratch);
  }
  e->nstaged = 0;
}

/* A queue in engine memory: header + entries. */
static int xcq_init(xcq *q, uint32_t entries) {
  if (entries < 1 || entries > 65536 || (entries & (entries - 1))) return -EINVAL;
  q->m = rf_mem_new(XCQ_HDR + (size_t)entries * sizeof(rf_cqe));
  if (!q->m) return -ENOMEM;
  q->mem = rf_mem_ptr(q->m);
  q->entries = entries;
  q->mask = entries - 1;
  wr32(q->mem, 8, q->mask);
  wr32(q->mem, 12, entries);
  return 0;
}

rf_engine *rf_engine_create(rf_ring *r, uint32_t cq0_entries, uint64_t budget, int *err) {
  /* the engine reads 16-byte CQEs (reap_kernel) and writes 64-byte SQEs (prepare_one): not for
   * SQE128, CQE32 or CQE_MIXED rings (src/ring/setup.ts refuses them first, with the reason) */
  if (r->sqe_size != RF_SQE_SIZE || r->cqe_size != RF_CQE_SIZE || (r->setup_flags & RF_SETUP_CQE_MIXED)) {
    *err = -EOPNOTSUPP;
    return NULL;
  }
  rf_engine *e = calloc(1, sizeof *e);
  int rc = -ENOMEM;
  if (!e) goto fail;
  e->ring = r;
  e->budget = budget ? budget : 1;
  e->run_stale = true;
  if (!(e->ctl_mem = rf_mem_new(sizeof(engine_ctl)))) goto fail;
  e->ctl = rf_mem_ptr(e->ctl_mem);
  if ((rc = xcq_init(&e->js, cq0_entries)) || (rc = xcq_init(&e->cqs[0], cq0_entries))) goto fail;
  e->ncq = 1;
  return e;
fail:
  if (e) {
    rf_mem_put(e->js.m);
    rf_mem_put(e->cqs[0].m);
    rf_mem_put(e->ctl_mem);
    free(e);
  }
  *err = rc;
  return NULL;
}

void rf_engine_set_naming(rf_engine *e, const uint8_t *opcodes, uint32_t n) {
  memset(e->names_request, 0, sizeof e->names_request);
  for (uint32_t i = 0; i < n; i++) e->names_request[opcodes[i] >> 6] |= 1ull << (opcodes[i] & 63);
}

void rf_engine_set_turn_hook(rf_engine *e, void (*want_turn)(void *data, bool more), void *data) {
  e->want_turn = want_turn;
  e->hook_data = data;
}

void *rf_engine_turn_hook_data(rf_engine *e) { return e->hook_data; }

void rf_engine_destroy(rf_engine *e) {
  if (!e) return;
  e->want_turn = NULL;
  rf_engine_shutdown(e);
  for (uint32_t i = 0; i < e->nreqs; i++) if (e->reqs[i].kind != K_FREE) req_free(e, i);
  for (uint32_t i = 0; i < e->nprogs; i++) if (e->progs[i]) rf_bpf_prog_put(e->progs[i]);
  for (uint32_t i = 0; i < e->ncq; i++) {
    /* fds handed over by CQEs still waiting are the programs': rf_policy_free closes them */
    rf_mem_put(e->cqs[i].m);
    free(e->cqs[i].park);
  }
  for (uint32_t i = 0; i < e->nregions; i++) rf_mem_put(e->regions[i].m);
  rf_mem_put(e->js.m);
  rf_mem_put(e->ctl_mem);
  free(e->reqs);
  free(e->staged);
  free(e->cq0_over);
  free(e->runnable);
  free(e->waiting);
  rf_group_free_all(e); /* after the requests: their ends count down the groups' holders */
  rf_policy_free(e);    /* closes the fds programs still own (e->fdbits) */
  free(e->fdbits);
  free(e);
}

int rf_engine_add_cq(rf_engine *e, uint32_t entries) {
  if (e->ncq >= MAX_CQS) return -ENOSPC;
  int rc = xcq_init(&e->cqs[e->ncq], entries);
  return rc ? rc : (int)e->ncq++;
}

rf_mem *rf_engine_cq_mem(rf_engine *e, uint32_t i) { return i < e->ncq ? e->cqs[i].m : NULL; }
rf_mem *rf_engine_js_cq_mem(rf_engine *e) { return e->js.m; }
rf_mem *rf_engine_ctl_mem(rf_engine *e) { return e->ctl_mem; }

int rf_engine_add_prog(rf_engine *e, rf_bpf_prog *p) {
  if (e->nprogs >= MAX_PROGS) return -ENOSPC;
  rf_bpf_prog_get(p);
  e->progs[e->nprogs] = p;
  return (int)e->nprogs++;
}

int rf_engine_add_region(rf_engine *e, size_t len, bool writable, rf_mem **mem_out) {
  if (!len || len > ((size_t)1 << 32)) return -EINVAL;
  if (e->nregions >= MAX_UREGIONS) return -ENOSPC;
  rf_mem *m = rf_mem_new(len);
  if (!m) return -ENOMEM;
  uregion *g = &e->regions[e->nregions];
  g->base = (uint64_t)(uintptr_t)rf_mem_ptr(m);
  g->len = len;
  g->writable = writable;
  g->m = m;
  e->run_stale = true;
  *mem_out = m;
  return (int)e->nregions++;
}

bool rf_engine_busy(const rf_engine *e) {
  /* a request whose last CQE waits in a park is no work: only a program reading its CQ moves it */
  return e->rhead != e->rtail || e->nwaiting || e->nstaged || e->nover || e->nprog_reqs > e->nparked_reqs;
}
