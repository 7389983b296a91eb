/* The ring helpers a completion program calls (164 submit, 165 emit, 166 reap, 167/148 copy to
 * and from user memory, 1000 submit to a CQ, 1001/1002 give back and read a provided buffer
 * programs own: engine_groups.c): rf_bpf_run.helper of every program run. What a
 * submitted SQE may contain is decided by the policy (engine_policy.c). */
#include "engine_internal.h"
#include "policy.h"

/* ------------------------------------------------------------------ ring helpers */

/* What the ring helpers charge to the run's budget on top of the VM's per-call cost (rf_bpf_charge,
 * in interpreted instructions of ~1 ns): a submission runs the SQE policy, may copy a path or an
 * iovec array and stages 64+ bytes; emit and reap touch one CQE; copies charge their bytes. */
#define CHARGE_SUBMIT 128u
#define CHARGE_CQE 8u

/* Charges the run; false when the budget cannot pay (the helper returns without doing the work
 * and the run stops as out of budget). */
static inline bool charge(rf_bpf_run *run, uint64_t insns) { return rf_bpf_charge(run, insns); }

static long prog_submit(rf_engine *e, rf_bpf_run *run, uint64_t sqe_addr, uint64_t len, int64_t cq_arg) {
  if (e->closing) return -EAGAIN;
  if (len != 64) return -EINVAL;
  const uint8_t *src = rf_bpf_check(run, sqe_addr, 64, false);
  if (!src) return RF_BPF_MEMFAULT * -1000; /* marker: fault (handled by caller) */
  uint64_t ud = rd64(src, 32);
  uint32_t cq = cq_arg < 0 ? rd16(src, 48) : (uint32_t)cq_arg;
  if (cq >= e->ncq) {
    cq_post(e, 0, ud, -EINVAL, 0); /* the prototype posts a bad cq_idx failure to CQ 0 */
    e->ctl->program_rejects++;
    return 0;
  }
  /* built in place at the end of the staging array; kept only if the policy accepts it */
  int rc = e->nstaged >= MAX_STAGED || e->nprog_reqs >= MAX_PROG_REQS ? -EBUSY
           : !grow((void **)&e->staged, &e->capstaged, e->nstaged + 1, sizeof(staged_sqe)) ? -ENOMEM : 0;
  staged_sqe *s = rc ? NULL : &e->staged[e->nstaged];
  if (s) {
    memcpy(s->sqe, src, 64);
    if (cq_arg < 0) s->sqe[48] = s->sqe[49] = 0;
    s->cq = cq;
    s->owner = e->cur_owner;
    s->scratch = NULL;
    s->pin = 0;
    rc = rf_engine_check_sqe_pin(e, s->sqe, cq_arg >= 0, &s->scratch, &s->pin);
  }
  if (rc) {
    cq_post(e, cq, ud, rc, 0);
    e->ctl->program_rejects++;
    return 0;
  }
  e->nstaged++;
  e->nprog_reqs++;
  if (s->sqe[1] & F_FIXED_FILE) {
    /* the policy accepted the slot: it stays frozen until this request ends */
    e->nprog_fixed++;
    rf_policy_slot_named(e, (int32_t)rd32(s->sqe, 4));
  }
  /* the group stays granted, and the buffer stays the programs', until this request ends */
  if (s->sqe[1] & F_BUFFER_SELECT) rf_group_select(e, rd16(s->sqe, 40), +1);
  rf_group_pin(e, s->pin, +1);
  e->ctl->program_sqes++;
  e->progress = true;
  return 1;
}

int rf_engine_helper(rf_bpf_run *run, uint32_t id, const uint64_t a[5], uint64_t *r0) {
  rf_engine *e = run->embedder;
  long r;
  switch (id) {
    case 164:
    case 1000:
      if (!charge(run, CHARGE_SUBMIT)) { *r0 = 0; return RF_BPF_OK; }
      r = prog_submit(e, run, a[1], a[2], id == 1000 ? (int64_t)(uint32_t)a[3] : -1);
      if (r == RF_BPF_MEMFAULT * -1000) return rf_bpf_fault(run, a[1]);
      *r0 = (uint64_t)r;
      return RF_BPF_OK;
    case 165:
      if (!charge(run, CHARGE_CQE)) { *r0 = 0; return RF_BPF_OK; }
      *r0 = (uint64_t)(int64_t)cq_post(e, (uint32_t)a[1], a[2], (int32_t)a[3], (uint32_t)a[4]);
      return RF_BPF_OK;
    case 166: {
      /* out is zeroed whatever happens (the prototype zeroes it on error), so a program may read
       * it without checking the result, as the prototype's examples do: all `len` bytes the
       * verifier now takes as written, which the charge covers like a copy's */
      if (!charge(run, CHARGE_CQE + rf_bpf_bytes_cost(a[3]))) { *r0 = 0; return RF_BPF_OK; }
      rf_cqe *out = rf_bpf_check(run, a[2], a[3], true);
      if (!out) return rf_bpf_fault(run, a[2]);
      memset(out, 0, a[3]);
      if (a[3] != sizeof(rf_cqe)) { *r0 = (uint64_t)-EINVAL; return RF_BPF_OK; }
      if (a[1] >= e->ncq) { *r0 = (uint64_t)-EINVAL; return RF_BPF_OK; }
      xcq *q = &e->cqs[a[1]];
      uint32_t head = *H_HEAD(q);
      if (head == __atomic_load_n(H_TAIL(q), __ATOMIC_ACQUIRE)) { *r0 = (uint64_t)-ENOENT; return RF_BPF_OK; }
      *out = XCQES(q)[head & q->mask];
      __atomic_store_n(H_HEAD(q), head + 1, __ATOMIC_RELEASE);
      if (q->phead != q->ptail) park_flush(e, (uint32_t)a[1]); /* the next parked CQE moves in */
      e->progress = true;
      *r0 = 0;
      return RF_BPF_OK;
    }
    case 167: { /* copy_to_user(uptr, src, size) */
      if (!charge(run, CHARGE_CQE + rf_bpf_bytes_cost(a[2]))) { *r0 = 0; return RF_BPF_OK; }
      void *dst = uregion_of(e, a[0], a[2], true);
      if (!dst) { *r0 = (uint64_t)-EFAULT; return RF_BPF_OK; }
      const void *src = rf_bpf_check(run, a[1], a[2], false);
      if (!src) return rf_bpf_fault(run, a[1]);
      memmove(dst, src, a[2]);
      *r0 = 0;
      return RF_BPF_OK;
    }
    case 148: { /* copy_from_user(dst, size, uptr) */
      if (!charge(run, CHARGE_CQE + rf_bpf_bytes_cost(a[1]))) { *r0 = 0; return RF_BPF_OK; }
      const void *src = uregion_of(e, a[2], a[1], false);
      void *dst = rf_bpf_check(run, a[0], a[1], true);
      if (!dst) return rf_bpf_fault(run, a[0]);
      if (!src) { memset(dst, 0, a[1]); *r0 = (uint64_t)-EFAULT; return RF_BPF_OK; }
      memmove(dst, src, a[1]);
      *r0 = 0;
      return RF_BPF_OK;
    }
    case 1001: /* rf_buf_return(ctx, group, bid) */
      if (!charge(run, CHARGE_CQE)) { *r0 = 0; return RF_BPF_OK; }
      *r0 = (uint64_t)rf_group_return(e, (uint32_t)a[1], (uint32_t)a[2]);
      if (!(int64_t)*r0) e->progress = true;
      return RF_BPF_OK;
    case 1002: { /* rf_buf_read(dst, size, group, bid, offset) */
      if (!charge(run, CHARGE_CQE + rf_bpf_bytes_cost(a[1]))) { *r0 = 0; return RF_BPF_OK; }
      void *dst = rf_bpf_check(run, a[0], a[1], true);
      if (!dst) return rf_bpf_fault(run, a[0]);
      long err = a[2] > 0xffff ? -ENOENT : -EINVAL;
      const void *src = a[2] <= 0xffff && a[3] <= 0xffff ? rf_group_readable(e, (uint32_t)a[2], (uint32_t)a[3], a[4], a[1], &err) : NULL;
      if (!src) { memset(dst, 0, a[1]); *r0 = (uint64_t)err; return RF_BPF_OK; }
      memmove(dst, src, a[1]);
      *r0 = 0;
      return RF_BPF_OK;
    }
    default:
      *r0 = (uint64_t)-ENOSYS;
      return RF_BPF_OK;
  }
}
