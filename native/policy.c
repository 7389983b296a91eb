/* The program policy's state (policy.h): loading and re-validating the serialised policy that
 * src/ops/policy.ts derives from the opcode table, the directories granted to programs, the
 * engine's dups of allowed fds, and what a completed request changes. The interpreter that
 * checks each SQE is engine_policy.c. */
#include "engine_internal.h"
#include "policy.h"
#include "grow.h"

#include <fcntl.h>
#include <unistd.h>

static uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static bool width_ok(unsigned w) { return w == 1 || w == 2 || w == 4 || w == 8; }

/* Smallest size in bytes a mem can have (what its fields must fit in when it is one struct). */
static uint64_t mem_min_size(const rf_policy_mem *m) {
  switch (m->size_kind) {
    case RF_SIZE_BYTES: return m->size_value;
    case RF_SIZE_SLOT: return (uint64_t)m->min * m->size_value;
    default: return 0;
  }
}

static bool valid_rule(const rf_policy *p, const rf_policy_rule *r, bool top) {
  if (r->kind >= RF_RULE_KINDS || r->cond_neg > 1) return false;
  if (r->cond_slot != RF_NO_SLOT && (!top || r->cond_slot >= p->nslots)) return false;
  if (top) {
    if (r->slot >= p->nslots || r->kind == RF_RULE_ZERO_TAIL) return false;
    /* the IOSQE_* byte is tested by conditions, never the subject of a rule */
    if (p->slots[r->slot].offset == RF_SQE_FLAGS_OFFSET) return false;
    uint8_t w = p->slots[r->slot].width;
    if (r->kind == RF_RULE_GROUP && (w != 2 || r->arg)) return false;
    if ((r->kind == RF_RULE_FD || r->kind == RF_RULE_GRANT || r->kind == RF_RULE_FD_OR_GRANT) && w != 4) return false;
    if (r->kind == RF_RULE_FD && r->arg & ~(uint64_t)RF_FD_SLOT) return false;
    /* a pointer in the SQE is sized by a constant, an SQE field or its NUL, never by a field of
     * an element (there is none at the top) */
    if (r->kind == RF_RULE_MEM && (r->arg >= p->nmems || w != 8 || p->mems[r->arg].size_kind == RF_SIZE_FIELD)) return false;
  } else {
    if (r->slot != RF_NO_SLOT) return false;
    switch (r->kind) {
      case RF_RULE_ZERO: case RF_RULE_MASK: return width_ok(r->width);
      case RF_RULE_ZERO_TAIL: return true;
      case RF_RULE_MEM: {
        if (r->arg >= p->nmems || r->width != 8) return false;
        const rf_policy_mem *n = &p->mems[r->arg];
        /* memory named from inside copied memory: used while the request runs, no nesting further */
        return n->when == RF_MEM_COMPLETE && n->nsub == 0 && (n->size_kind == RF_SIZE_BYTES || n->size_kind == RF_SIZE_FIELD);
      }
      default: return false;
    }
  }
  return true;
}

static bool valid_mem(const rf_policy *p, const rf_policy_mem *m) {
  if (m->access < 1 || m->access > 3 || m->when > RF_MEM_COMPLETE || m->flags & ~RF_MEM_EMPTY) return false;
  switch (m->size_kind) {
    case RF_SIZE_BYTES:
      if (m->when == RF_MEM_SUBMIT && m->size_value > RF_POLICY_MAX_COPY) return false;
      break;
    case RF_SIZE_SLOT:
      if (m->size_slot >= p->nslots || m->size_value == 0) return false;
      if (m->when == RF_MEM_SUBMIT && (m->max == 0 || (uint64_t)m->max * m->size_value > RF_POLICY_MAX_COPY)) return false;
      if (m->max && m->min > m->max) return false;
      break;
    case RF_SIZE_FIELD:
      if (m->size_slot != 4 && m->size_slot != 8) return false;
      break;
    case RF_SIZE_CSTRING:
      if (m->size_value < 1 || m->size_value > RF_POLICY_MAX_PATH || m->when != RF_MEM_SUBMIT || m->nsub) return false;
      break;
    default:
      return false;
  }
  if ((m->flags & RF_MEM_EMPTY) && m->size_kind != RF_SIZE_CSTRING) return false;
  if (!m->nsub) return true;
  if (m->when != RF_MEM_SUBMIT || (uint32_t)m->first_sub + m->nsub > p->nrules) return false;
  uint64_t elem = m->stride ? m->stride : mem_min_size(m);
  if (m->stride && m->size_kind == RF_SIZE_SLOT && m->size_value % m->stride) return false;
  if (m->stride && m->size_kind == RF_SIZE_BYTES && m->size_value % m->stride) return false;
  for (uint32_t k = 0; k < m->nsub; k++) {
    const rf_policy_rule *r = &p->rules[m->first_sub + k];
    if (!valid_rule(p, r, false)) return false;
    if (r->kind != RF_RULE_ZERO_TAIL && (uint64_t)r->at + r->width > elem) return false;
    if (r->kind == RF_RULE_ZERO_TAIL && r->at > elem) return false;
    if (r->kind == RF_RULE_MEM) {
      const rf_policy_mem *n = &p->mems[r->arg];
      if (n->size_kind == RF_SIZE_FIELD && (uint64_t)n->size_at + n->size_slot > elem) return false;
    }
  }
  return true;
}

static bool valid_op(const rf_policy *p, const rf_policy_op *o) {
  if (o->action > RF_ACTION_OPEN_BENEATH || o->effect > RF_EFFECT_CLOSES) return false;
  /* multishot bits: in a slot of the SQE (not the IOSQE byte), or none at all */
  if (o->multi_slot == RF_NO_SLOT ? o->multi_bits != 0
                                  : o->multi_slot >= p->nslots || !o->multi_bits || p->slots[o->multi_slot].offset == RF_SQE_FLAGS_OFFSET)
    return false;
  if ((uint32_t)o->first_rule + o->nrules > p->nrules) return false;
  bool has_how = false, has_slot = false, has_group = false;
  uint32_t nmem = 0;
  for (uint32_t k = 0; k < o->nrules; k++) {
    const rf_policy_rule *r = &p->rules[o->first_rule + k];
    if (!valid_rule(p, r, true)) return false;
    if (r->kind == RF_RULE_FD && r->arg & RF_FD_SLOT && r->cond_slot == RF_NO_SLOT) has_slot = true;
    /* a group rule that applies exactly when IOSQE_BUFFER_SELECT is set */
    if (r->kind == RF_RULE_GROUP && r->cond_slot != RF_NO_SLOT && p->slots[r->cond_slot].offset == RF_SQE_FLAGS_OFFSET &&
        !r->cond_neg && r->cond_bits == RF_IOSQE_BUFFER_SELECT)
      has_group = true;
    if (r->kind == RF_RULE_MEM && ++nmem > RF_POLICY_MAX_MEMS) return false;
    if (r->kind == RF_RULE_MEM && r->arg == o->how_mem) has_how = true;
  }
  /* IOSQE_FIXED_FILE only where an fd rule checks the slot it then names */
  if ((o->sqe_flags & RF_IOSQE_FIXED_FILE) && !has_slot) return false;
  /* IOSQE_BUFFER_SELECT only where a group rule checks the group it then names */
  if ((o->sqe_flags & RF_IOSQE_BUFFER_SELECT) && !has_group) return false;
  if (o->action != RF_ACTION_OPEN_BENEATH) return o->how_mem == RF_NO_MEM;
  if (o->how_mem != RF_NO_MEM) {
    /* the struct open_how a program gave: copied, with flags, mode and resolve inside it */
    const rf_policy_mem *m = &p->mems[o->how_mem];
    return has_how && m->when == RF_MEM_SUBMIT && m->stride == 0 && mem_min_size(m) >= 24;
  }
  return o->open_flags_slot < p->nslots && o->open_mode_slot < p->nslots;
}

/* Parses bytes into p; false when anything is out of place. */
static bool parse(rf_policy *p, const uint8_t *b, size_t len) {
  if (len < RF_POLICY_HEADER || ld32(b) != RF_POLICY_MAGIC || ld16(b + 4) != RF_POLICY_VERSION ||
      ld16(b + 6) != RF_POLICY_HEADER || ld32(b + 8) != len)
    return false;
  uint32_t nslots = ld16(b + 12), nops = ld16(b + 14), nrules = ld16(b + 16), nmems = ld16(b + 18);
  if (nslots == 0 || nslots > RF_POLICY_MAX_SLOTS || nops > 256) return false;
  size_t slot_bytes = ((size_t)nslots * 2 + 7) & ~(size_t)7;
  if ((size_t)RF_POLICY_HEADER + slot_bytes + (size_t)nops * RF_POLICY_OP + (size_t)nrules * RF_POLICY_RULE +
          (size_t)nmems * RF_POLICY_MEM != len)
    return false;
  p->openat2 = b[20];
  uint64_t *caps[] = {&p->read_flags, &p->write_flags, &p->forced_flags, &p->required_resolve, &p->allowed_resolve, &p->mode_mask, &p->create_flags};
  for (int i = 0; i < 7; i++) *caps[i] = ld64(b + 24 + i * 8);
  if (p->required_resolve & ~p->allowed_resolve) return false;
  const uint8_t *s = b + RF_POLICY_HEADER;
  p->nslots = (uint8_t)nslots;
  for (uint32_t i = 0; i < nslots; i++) {
    uint8_t off = s[2 * i], w = s[2 * i + 1];
    /* not the opcode or user_data, and inside the 64 bytes; the IOSQE flags byte only as itself
     * (conditions may test it: valid_rule keeps rules off it) */
    if (!width_ok(w) || off < 1 || off + w > 64 || off % w || (off < 40 && off + w > 32)) return false;
    if (off == RF_SQE_FLAGS_OFFSET && w != 1) return false;
    p->slots[i].offset = off;
    p->slots[i].width = w;
  }
  p->ops = calloc(nops ? nops : 1, sizeof *p->ops);
  p->rules = calloc(nrules ? nrules : 1, sizeof *p->rules);
  p->mems = calloc(nmems ? nmems : 1, sizeof *p->mems);
  if (!p->ops || !p->rules || !p->mems) return false;
  p->nops = nops;
  p->nrules = nrules;
  p->nmems = nmems;
  const uint8_t *q = s + slot_bytes;
  for (uint32_t i = 0; i < nops; i++, q += RF_POLICY_OP)
    p->ops[i] = (rf_policy_op){q[0], q[1], q[2], q[3], ld16(q + 4), ld16(q + 6), ld16(q + 8), q[10], q[11], q[12], ld16(q + 14)};
  for (uint32_t i = 0; i < nrules; i++, q += RF_POLICY_RULE)
    p->rules[i] = (rf_policy_rule){q[0], q[1], q[2], q[3], ld16(q + 4), q[6], ld64(q + 8), ld64(q + 16)};
  for (uint32_t i = 0; i < nmems; i++, q += RF_POLICY_MEM)
    p->mems[i] = (rf_policy_mem){q[0], q[1], q[2], q[3], q[4], ld16(q + 6), ld32(q + 8), ld32(q + 12), ld32(q + 16), ld32(q + 20), ld16(q + 24), ld16(q + 26)};
  for (uint32_t i = 0; i < nmems; i++) if (!valid_mem(p, &p->mems[i])) return false;
  memset(p->by_opcode, 0xff, sizeof p->by_opcode);
  for (uint32_t i = 0; i < nops; i++) {
    if (!valid_op(p, &p->ops[i]) || p->by_opcode[p->ops[i].opcode] >= 0) return false;
    p->by_opcode[p->ops[i].opcode] = (int16_t)i;
  }
  return true;
}

static void release(rf_policy *p) {
  if (!p) return;
  for (uint32_t i = 0; i < p->ngrants; i++) close(p->grants[i].fd);
  for (uint32_t i = 0; i < p->ndups; i++) close(p->dups[i].real);
  for (uint32_t i = 0; i < p->nretired; i++) close(p->retired[i]);
  free(p->slot_allowed);
  free(p->slot_named);
  free(p->grants);
  free(p->dups);
  free(p->retired);
  free(p->ops);
  free(p->rules);
  free(p->mems);
  free(p);
}

int rf_policy_load(rf_engine *e, const uint8_t *bytes, size_t len) {
  if (e->policy) return -EEXIST;
  rf_policy *p = calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  if (!parse(p, bytes, len)) {
    release(p);
    return -EINVAL;
  }
  e->policy = p;
  return 0;
}

int rf_policy_validate(const uint8_t *bytes, size_t len) {
  rf_policy *p = calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  int rc = parse(p, bytes, len) ? 0 : -EINVAL;
  release(p);
  return rc;
}

static rf_fd_dup *dup_of(rf_policy *p, int32_t name);

void rf_policy_free(rf_engine *e) {
  rf_policy *p = e->policy;
  /* fds programs opened or accepted and did not close (allowed, and not a name JS allowed, whose
   * dup release() closes): the programs' to close, and no program can any more. Nobody else closes
   * them (JS never closes a program's fd: src/net/programs.ts) */
  for (uint32_t w = 0; p && w < e->fdcap / 64; w++) {
    for (uint64_t bits = e->fdbits[w]; bits; bits &= bits - 1) {
      int32_t fd = (int32_t)(w * 64 + (uint32_t)__builtin_ctzll(bits));
      if (!dup_of(p, fd)) close(fd);
    }
  }
  release(p);
  e->policy = NULL;
}

int rf_policy_grant(rf_engine *e, int dirfd, bool write) {
  rf_policy *p = e->policy;
  if (!p || dirfd < 0) return -EINVAL;
  if (!grow((void **)&p->grants, &p->capgrants, p->ngrants + 1, sizeof(rf_grant))) return -ENOMEM;
  p->grants[p->ngrants++] = (rf_grant){dirfd, write};
  return 0;
}

rf_grant *rf_policy_grant_of(rf_policy *p, int32_t fd) {
  for (uint32_t i = 0; i < p->ngrants; i++) if (p->grants[i].fd == fd) return &p->grants[i];
  return NULL;
}

static rf_fd_dup *dup_of(rf_policy *p, int32_t name) {
  for (uint32_t i = 0; i < p->ndups; i++) if (p->dups[i].name == name) return &p->dups[i];
  return NULL;
}

/* The name stops reaching its dup; the dup stays open until the engine closes (a request already
 * queued with it keeps reaching the same file, never a file that reused the number). */
static void retire(rf_policy *p, int32_t name) {
  rf_fd_dup *d = dup_of(p, name);
  if (!d) return;
  if (grow((void **)&p->retired, &p->capretired, p->nretired + 1, sizeof(int))) p->retired[p->nretired++] = d->real;
  else close(d->real);
  *d = p->dups[--p->ndups];
}

int rf_policy_allow_fd(rf_engine *e, int32_t fd, bool on) {
  rf_policy *p = e->policy;
  if (!p || fd < 0 || fd >= (1 << 22)) return -EINVAL;
  /* an fd programs opened or accepted is theirs until their CLOSE (or the ring's end): JS can
   * neither take it over nor take it away (either would leave it open for good) */
  if (fd_allowed(e, fd) && !dup_of(p, fd)) return -EBUSY;
  if (!on) {
    retire(p, fd);
    fd_set_allowed(e, fd, false);
    return 0;
  }
  if (!grow((void **)&p->dups, &p->capdups, p->ndups + 1, sizeof(rf_fd_dup))) return -ENOMEM;
  int real = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (real < 0) return -errno;
  retire(p, fd);
  p->dups[p->ndups++] = (rf_fd_dup){fd, real};
  fd_set_allowed(e, fd, true);
  if (!fd_allowed(e, fd)) { retire(p, fd); return -ENOMEM; }
  return 0;
}

int32_t rf_policy_fd(rf_engine *e, int32_t fd) {
  if (!fd_allowed(e, fd)) return -1;
  rf_fd_dup *d = e->policy ? dup_of(e->policy, fd) : NULL;
  return d ? d->real : fd;
}

/* ------------------------------------------------------------------ registered-file-table slots */

static bool slot_bits_reserve(rf_policy *p, uint32_t slot) {
  if (slot < p->slotcap) return true;
  uint32_t n = p->slotcap ? p->slotcap : 64;
  while (n <= slot) n *= 2;
  uint64_t *a = realloc(p->slot_allowed, n / 8);
  if (!a) return false;
  p->slot_allowed = a;
  uint64_t *b = realloc(p->slot_named, n / 8);
  if (!b) return false;
  p->slot_named = b;
  memset((uint8_t *)a + p->slotcap / 8, 0, (n - p->slotcap) / 8);
  memset((uint8_t *)b + p->slotcap / 8, 0, (n - p->slotcap) / 8);
  p->slotcap = n;
  return true;
}
static bool bit(const uint64_t *b, uint32_t cap, uint32_t i) { return i < cap && (b[i >> 6] >> (i & 63) & 1); }

int rf_policy_allow_slot(rf_engine *e, uint32_t slot, bool on) {
  rf_policy *p = e->policy;
  if (!p || slot >= RF_MAX_FIXED_FILES) return -EINVAL;
  if (!on) {
    if (slot < p->slotcap) p->slot_allowed[slot >> 6] &= ~(1ull << (slot & 63));
    return 0;
  }
  if (!slot_bits_reserve(p, slot)) return -ENOMEM;
  p->slot_allowed[slot >> 6] |= 1ull << (slot & 63);
  return 0;
}

bool rf_policy_slot_allowed(rf_engine *e, int32_t slot) {
  rf_policy *p = e->policy;
  return p && slot >= 0 && bit(p->slot_allowed, p->slotcap, (uint32_t)slot);
}

void rf_policy_slot_named(rf_engine *e, int32_t slot) {
  rf_policy *p = e->policy;
  /* accepted only when allowed, so its bit exists */
  if (p && slot >= 0 && (uint32_t)slot < p->slotcap) p->slot_named[slot >> 6] |= 1ull << (slot & 63);
}

int rf_policy_slots_change(rf_engine *e, uint32_t start, uint32_t count) {
  rf_policy *p = e->policy;
  if (!p || !p->slotcap) return 0;
  /* no program request naming a slot is alive: nothing is frozen any more */
  if (!e->nprog_fixed) memset(p->slot_named, 0, p->slotcap / 8);
  uint32_t end = count > p->slotcap || start > p->slotcap - count ? p->slotcap : start + count;
  for (uint32_t i = start; i < end; i++)
    if (bit(p->slot_named, p->slotcap, i)) return -EBUSY;
  for (uint32_t i = start; i < end; i++) p->slot_allowed[i >> 6] &= ~(1ull << (i & 63));
  return 0;
}

void rf_policy_slot_replaced(rf_engine *e, uint32_t slot) {
  rf_policy *p = e->policy;
  if (p && slot < p->slotcap) p->slot_allowed[slot >> 6] &= ~(1ull << (slot & 63));
}

void rf_policy_completed(rf_engine *e, uint8_t opcode, int32_t fd, int32_t res, bool delivered) {
  rf_policy *p = e->policy;
  if (!p || res < 0 || p->by_opcode[opcode] < 0) return;
  switch (p->ops[p->by_opcode[opcode]].effect) {
    case RF_EFFECT_OPENS:
      if (!delivered) {
        close(res); /* nobody will learn its number: closed, never the programs' */
        break;
      }
      /* the number may have named an allowFd dup whose JS fd was closed: the newer file wins */
      retire(p, res);
      fd_set_allowed(e, res, true);
      break;
    case RF_EFFECT_CLOSES:
      /* fd is what the kernel closed: a program's own fd, or the engine's dup of an allowed one */
      for (uint32_t i = 0; i < p->ndups; i++) {
        if (p->dups[i].real != fd) continue;
        fd_set_allowed(e, p->dups[i].name, false);
        p->dups[i] = p->dups[--p->ndups]; /* closed by the kernel: not ours to close again */
        return;
      }
      fd_set_allowed(e, fd, false); /* the number may be reused by another file */
      break;
  }
}
