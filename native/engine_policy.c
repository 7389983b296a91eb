/* The SQE policy for programs: a generic interpreter of the policy src/ops/policy.ts derives from
 * the opcode table (loaded and validated by policy.c; the order of checks and their errnos are
 * documented there). Nothing about an op is written here: which fields are pointers, fds, flags
 * or must be zero, what the kernel reads at submission (copied into engine memory, the SQE then
 * points to the copy) and what it uses until completion (must lie in a registered region) all
 * come from the table. Also the fd table and the region look-ups the ring helpers share. */
#include "engine_internal.h"
#include "policy.h"

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

/* ------------------------------------------------------------------ the interpreter */

static uint64_t ld(const uint8_t *p, unsigned width) {
  switch (width) {
    case 1: return p[0];
    case 2: return rd16(p, 0);
    case 4: return rd32(p, 0);
    default: return rd64(p, 0);
  }
}
static uint64_t slot_val(const rf_policy *p, const uint8_t *sqe, uint8_t slot) {
  return ld(sqe + p->slots[slot].offset, p->slots[slot].width);
}
static bool applies(const rf_policy *p, const rf_policy_rule *r, const uint8_t *sqe) {
  if (r->cond_slot == RF_NO_SLOT) return true;
  bool hit = (slot_val(p, sqe, r->cond_slot) & r->cond_bits) != 0;
  return hit != (bool)r->cond_neg;
}
static bool in_region(rf_engine *e, uint64_t addr, uint64_t n, uint8_t access) {
  return n == 0 || uregion_of(e, addr, n, (access & RF_MEM_WRITE) != 0);
}

/* What one pointer names: its size, or -errno. Paths are measured up to their NUL. */
static int64_t mem_size(rf_engine *e, const rf_policy *p, const rf_policy_mem *m, const uint8_t *sqe, const uint8_t *elem, uint64_t addr) {
  switch (m->size_kind) {
    case RF_SIZE_BYTES:
      return m->size_value;
    case RF_SIZE_SLOT: {
      uint64_t n = slot_val(p, sqe, m->size_slot);
      if (n < m->min) return -EINVAL;
      if (m->max && n > m->max) return -E2BIG;
      return (int64_t)(n * m->size_value); /* slots are at most 32 bits wide when they size memory */
    }
    case RF_SIZE_FIELD: {
      uint64_t n = ld(elem + m->size_at, m->size_slot);
      return n > INT64_MAX ? INT64_MAX : (int64_t)n;
    }
    default: {
      uint64_t room = uregion_span(e, addr);
      if (!room) return -EFAULT;
      size_t lim = room < m->size_value ? (size_t)room : m->size_value;
      size_t n = strnlen((const char *)(uintptr_t)addr, lim);
      if (n == lim) return lim == m->size_value && room > lim ? -ENAMETOOLONG : -EFAULT;
      if ((m->flags & RF_MEM_EMPTY) && n) return -EACCES;
      return (int64_t)n + 1;
    }
  }
}

/* Fields inside a copy: reserved words, extensible tails, flags, and the pointers they hold. */
static int check_subs(rf_engine *e, const rf_policy *p, const rf_policy_mem *m, const uint8_t *b, size_t n) {
  size_t stride = m->stride ? m->stride : n;
  for (size_t el = 0; stride && el + stride <= n; el += stride) {
    for (uint32_t k = 0; k < m->nsub; k++) {
      const rf_policy_rule *r = &p->rules[m->first_sub + k];
      if (r->kind == RF_RULE_ZERO_TAIL) {
        for (size_t i = el + r->at; i < el + stride; i++) if (b[i]) return -E2BIG;
        continue;
      }
      if (r->at + r->width > stride) continue;
      uint64_t v = ld(b + el + r->at, r->width);
      if (r->kind == RF_RULE_ZERO && v) return -EINVAL;
      if (r->kind == RF_RULE_MASK && (v & ~r->arg)) return -EINVAL;
      if (r->kind == RF_RULE_MEM) {
        const rf_policy_mem *sub = &p->mems[r->arg];
        int64_t sz = mem_size(e, p, sub, NULL, b + el, v);
        if (sz < 0) return (int)sz;
        if (!in_region(e, v, (uint64_t)sz, sub->access)) return -EFAULT;
      }
    }
  }
  return 0;
}

#define MAX_MEMS RF_POLICY_MAX_MEMS
typedef struct { uint8_t slot; uint16_t mem; uint64_t addr; size_t size, at; } copy_plan;

/* OPENAT/OPENAT2 beneath a grant: what the grant permits, then OPENAT2 with a fresh struct open_how. */
static int open_beneath(const rf_policy *p, const rf_policy_op *op, const rf_grant *g, uint8_t *sqe, uint8_t *scratch,
                        const copy_plan *plan, uint32_t nplan, uint8_t *how) {
  uint64_t flags, mode, resolve = 0;
  if (op->how_mem != RF_NO_MEM) {
    const uint8_t *h = NULL;
    for (uint32_t i = 0; i < nplan; i++) if (plan[i].mem == op->how_mem) h = scratch + plan[i].at;
    if (!h) return -EINVAL;
    flags = rd64(h, 0);
    mode = rd64(h, 8);
    resolve = rd64(h, 16);
  } else {
    flags = slot_val(p, sqe, op->open_flags_slot);
    mode = slot_val(p, sqe, op->open_mode_slot);
  }
  if (flags & ~(g->write ? p->write_flags : p->read_flags)) return -EPERM;
  if (resolve & ~p->allowed_resolve) return -EPERM;
  if (flags & p->create_flags) {
    if (mode & ~p->mode_mask) return -EPERM;
  } else {
    mode = 0;
  }
  wr64(how, 0, flags | p->forced_flags);
  wr64(how, 8, mode);
  wr64(how, 16, resolve | p->required_resolve);
  sqe[0] = p->openat2;
  wr32(sqe, 24, 24);
  wr32(sqe, 28, 0);
  if (op->how_mem == RF_NO_MEM) {
    /* OPENAT's off is unused (and 0): OPENAT2's addr2 is the struct */
    wr64(sqe, 8, (uint64_t)(uintptr_t)how);
  } else {
    for (uint32_t i = 0; i < nplan; i++)
      if (plan[i].mem == op->how_mem) wr64(sqe, p->slots[plan[i].slot].offset, (uint64_t)(uintptr_t)how);
  }
  return 0;
}

bool rf_policy_multishot(const rf_policy *p, const uint8_t *sqe) {
  if (!p || p->by_opcode[sqe[0]] < 0) return false;
  const rf_policy_op *op = &p->ops[p->by_opcode[sqe[0]]];
  return op->multi_slot != RF_NO_SLOT && (slot_val(p, sqe, op->multi_slot) & op->multi_bits) != 0;
}

/* Validates an SQE a program submits (modern: through helper 1000, which leaves bytes 48..63 to
 * the kernel). On success the SQE is rewritten (copies, fd dups, OPENAT2) and *scratch_out holds
 * the engine memory it points into (freed with the request). */
int rf_engine_check_sqe(rf_engine *e, uint8_t *sqe, bool modern, void **scratch_out) {
  uint64_t pin;
  return rf_engine_check_sqe_pin(e, sqe, modern, scratch_out, &pin);
}

int rf_engine_check_sqe_pin(rf_engine *e, uint8_t *sqe, bool modern, void **scratch_out, uint64_t *pin_out) {
  const rf_policy *p = e->policy;
  *scratch_out = NULL;
  *pin_out = 0;
  if (!p) return -EPERM;
  if (p->by_opcode[sqe[0]] < 0) return -EINVAL;
  const rf_policy_op *op = &p->ops[p->by_opcode[sqe[0]]];
  if (sqe[1] & ~op->sqe_flags) return -EINVAL;
  if (!modern && (rd64(sqe, 48) | rd64(sqe, 56))) return -EINVAL;
  const rf_policy_rule *rules = &p->rules[op->first_rule];
  int32_t fd_out[RF_POLICY_MAX_SLOTS];
  uint32_t fd_mask = 0;
  const rf_grant *grant = NULL;
  for (uint32_t k = 0; k < op->nrules; k++) {
    const rf_policy_rule *r = &rules[k];
    if (!applies(p, r, sqe)) continue;
    uint64_t v = slot_val(p, sqe, r->slot);
    int32_t fd = (int32_t)(uint32_t)v;
    switch (r->kind) {
      case RF_RULE_ZERO: if (v) return -EINVAL; break;
      case RF_RULE_EQ: if (v != r->arg) return -EINVAL; break;
      case RF_RULE_MASK: if (v & ~r->arg) return -EINVAL; break;
      case RF_RULE_REQUIRE: if ((v & r->arg) != r->arg) return -EACCES; break;
      case RF_RULE_FD:
        if ((r->arg & RF_FD_SLOT) && (sqe[1] & F_FIXED_FILE)) {
          /* a slot of the registered file table: one JS allowed; it stays as the program named it */
          if (!rf_policy_slot_allowed(e, fd)) return -EBADF;
          break;
        }
        if ((fd_out[r->slot] = rf_policy_fd(e, fd)) < 0) return -EBADF;
        fd_mask |= 1u << r->slot;
        break;
      case RF_RULE_GRANT:
        if (!(grant = rf_policy_grant_of((rf_policy *)p, fd))) return -EACCES;
        break;
      case RF_RULE_FD_OR_GRANT:
        if ((fd_out[r->slot] = rf_policy_fd(e, fd)) >= 0) fd_mask |= 1u << r->slot;
        else if (!rf_policy_grant_of((rf_policy *)p, fd)) return -EBADF;
        break;
      case RF_RULE_PROGRAM:
        if (v >= e->nprogs || !e->progs[v]) return -EINVAL;
        break;
      case RF_RULE_GROUP:
        /* a provided-buffer group JS granted (ring.allowBufferGroup) */
        if (!rf_group_of(e, (uint32_t)v)) return -EACCES;
        break;
    }
  }
  /* pointers: sizes and regions; what the kernel reads at submission is planned for copying */
  copy_plan plan[MAX_MEMS];
  uint32_t nplan = 0;
  size_t total = 0;
  for (uint32_t k = 0; k < op->nrules; k++) {
    const rf_policy_rule *r = &rules[k];
    if (r->kind != RF_RULE_MEM || !applies(p, r, sqe)) continue;
    const rf_policy_mem *m = &p->mems[r->arg];
    uint64_t addr = slot_val(p, sqe, r->slot);
    int64_t n = mem_size(e, p, m, sqe, NULL, addr);
    if (n < 0) return (int)n;
    if (!in_region(e, addr, (uint64_t)n, m->access)) {
      /* or, for what the kernel uses while the request runs, one buffer programs own now (one per
       * SQE): pinned until the request ends, so it cannot be given back under the kernel */
      uint64_t pin;
      if (m->when != RF_MEM_COMPLETE || *pin_out || rf_group_reach(e, addr, (uint64_t)n, (m->access & RF_MEM_WRITE) != 0, &pin))
        return -EFAULT;
      *pin_out = pin;
    }
    if (m->when != RF_MEM_SUBMIT) continue;
    if (nplan == MAX_MEMS) return -E2BIG;
    plan[nplan++] = (copy_plan){r->slot, (uint16_t)r->arg, addr, (size_t)n, total};
    total += ((size_t)n + 7) & ~(size_t)7;
  }
  size_t how_at = total;
  if (op->action == RF_ACTION_OPEN_BENEATH) total += 24;
  uint8_t *scratch = NULL;
  if (total) {
    if (!(scratch = scratch_alloc(e, total))) return errno == EBUSY ? -EBUSY : -ENOMEM;
    for (uint32_t i = 0; i < nplan; i++) {
      if (!plan[i].size) continue; /* nothing the kernel reads: the pointer stays as it is */
      memcpy(scratch + plan[i].at, (const void *)(uintptr_t)plan[i].addr, plan[i].size);
      wr64(sqe, p->slots[plan[i].slot].offset, (uint64_t)(uintptr_t)(scratch + plan[i].at));
    }
  }
  int rc = 0;
  /* fields inside the copies, read from the copies: the program cannot change them any more */
  for (uint32_t i = 0; i < nplan && !rc; i++) {
    const rf_policy_mem *m = &p->mems[plan[i].mem];
    if (m->nsub && plan[i].size) rc = check_subs(e, p, m, scratch + plan[i].at, plan[i].size);
  }
  for (uint32_t s = 0; s < p->nslots && !rc; s++)
    if (fd_mask & (1u << s)) wr32(sqe, p->slots[s].offset, (uint32_t)fd_out[s]);
  if (!rc && op->action == RF_ACTION_OPEN_BENEATH)
    rc = grant ? open_beneath(p, op, grant, sqe, scratch, plan, nplan, scratch + how_at) : -EACCES;
  if (rc) {
    scratch_free(e, scratch);
    return rc;
  }
  *scratch_out = scratch;
  return 0;
}
