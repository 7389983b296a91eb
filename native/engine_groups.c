/* Provided-buffer groups granted to completion programs (engine_groups.h): the grant table, who
 * holds each buffer as program requests complete, what program requests may reach of a buffer,
 * and helpers 1001 (give a buffer back) and 1002 (read one). The ring entry a program's buffer goes
 * back through is written here, with the address the group's layout gives: a program never writes
 * a buffer ring (what it wrote is where the kernel would write next). */
#include "engine_internal.h"
#include "engine_groups.h"

static inline uint32_t *hdr(rf_group *g, unsigned at) { return (uint32_t *)(void *)(g->table + at); }
static inline size_t al4(size_t n) { return (n + 3) & ~(size_t)3; }
static inline uint8_t *state_of(rf_group *g) { return g->table + RF_GROUP_HDR; }
static inline uint32_t *offset_of(rf_group *g) { return (uint32_t *)(void *)(g->table + al4(RF_GROUP_HDR + g->count)); }
static inline uint32_t *pos_of(rf_group *g) { return offset_of(g) + g->count; }
static inline uint16_t *order_of(rf_group *g) { return (uint16_t *)(void *)(pos_of(g) + g->count); }

size_t rf_group_table_size(uint32_t count, uint32_t entries) {
  return al4(RF_GROUP_HDR + count) + (size_t)count * 8 + (size_t)entries * 2;
}

rf_group *rf_group_of(rf_engine *e, uint32_t bgid) {
  for (uint32_t i = 0; i < e->ngroups; i++) if (e->groups[i]->bgid == bgid) return e->groups[i];
  return NULL;
}

static void group_free(rf_group *g) {
  rf_mem_put(g->m_bufs);
  rf_mem_put(g->m_ring);
  rf_mem_put(g->m_table);
  free(g->prog_bytes);
  free(g->pins);
  free(g);
}

int rf_group_grant(rf_engine *e, uint16_t bgid, rf_mem *bufs, rf_mem *ring, rf_mem *table, uint32_t count, uint32_t size,
                   uint32_t entries, bool incremental) {
  if (rf_group_of(e, bgid)) return -EEXIST;
  if (!bufs || !ring || !table || !count || !size || count > 32768 || entries < count || entries > 32768 || (entries & (entries - 1)))
    return -EINVAL;
  if (rf_mem_len(bufs) < (size_t)count * size || rf_mem_len(ring) < (size_t)entries * 16 || rf_mem_len(table) < rf_group_table_size(count, entries))
    return -EINVAL;
  if (!grow((void **)&e->groups, &e->capgroups, e->ngroups + 1, sizeof(rf_group *))) return -ENOMEM;
  rf_group *g = calloc(1, sizeof *g);
  if (!g) return -ENOMEM;
  g->prog_bytes = calloc(count, 4);
  g->pins = calloc(count, 4);
  if (!g->prog_bytes || !g->pins) {
    free(g->prog_bytes);
    free(g->pins);
    free(g);
    return -ENOMEM;
  }
  g->bgid = bgid;
  g->incremental = incremental;
  g->count = count;
  g->size = size;
  g->entries = entries;
  rf_mem_get(bufs);
  rf_mem_get(ring);
  rf_mem_get(table);
  g->m_bufs = bufs;
  g->m_ring = ring;
  g->m_table = table;
  g->bufs = rf_mem_ptr(bufs);
  g->ring = rf_mem_ptr(ring);
  g->table = rf_mem_ptr(table);
  e->groups[e->ngroups++] = g;
  return 0;
}

void rf_group_free_all(rf_engine *e) {
  for (uint32_t i = 0; i < e->ngroups; i++) group_free(e->groups[i]);
  free(e->groups);
  e->groups = NULL;
  e->ngroups = e->capgroups = 0;
}

void rf_group_select(rf_engine *e, uint16_t bgid, int delta) {
  rf_group *g = rf_group_of(e, bgid);
  if (g) g->nsel += (uint32_t)delta; /* a live selecting request keeps the grant (revoke: -EBUSY) */
}

/* Puts buffer bid (whole) at the end of the kernel's order and publishes the ring's tail. */
static void give_to_kernel(rf_group *g, uint32_t bid) {
  uint32_t t = *hdr(g, 0);
  uint8_t *ent = g->ring + (size_t)(t & (g->entries - 1)) * 16;
  wr64(ent, 0, (uint64_t)(uintptr_t)(g->bufs + (size_t)bid * g->size));
  wr32(ent, 8, g->size);
  uint16_t b16 = (uint16_t)bid;
  memcpy(ent + 12, &b16, 2); /* bytes 14..15 of entry 0 are the tail: left alone */
  state_of(g)[bid] = RF_BUF_KERNEL;
  offset_of(g)[bid] = 0;
  pos_of(g)[bid] = t;
  order_of(g)[t & (g->entries - 1)] = (uint16_t)bid;
  g->prog_bytes[bid] = 0;
  *hdr(g, 0) = t + 1;
  (*hdr(g, 4))++;
  __atomic_store_n((uint16_t *)(void *)(g->ring + 14), (uint16_t)(t + 1), __ATOMIC_RELEASE);
}

int rf_group_revoke(rf_engine *e, uint16_t bgid) {
  for (uint32_t i = 0; i < e->ngroups; i++) {
    rf_group *g = e->groups[i];
    if (g->bgid != bgid) continue;
    if (g->nsel || g->npins) return -EBUSY;
    /* programs lose reach of the group with its grant: what they still hold goes back to the kernel */
    for (uint32_t bid = 0; bid < g->count; bid++) {
      if (state_of(g)[bid] != RF_BUF_PROGRAM) continue;
      (*hdr(g, 8))--;
      give_to_kernel(g, bid);
    }
    e->groups[i] = e->groups[--e->ngroups];
    group_free(g);
    return 0;
  }
  return -ENOENT;
}

void rf_group_cqe(rf_engine *e, uint16_t bgid, int32_t res, uint32_t flags, bool lost) {
  rf_group *g = rf_group_of(e, bgid);
  uint32_t bid = flags >> RF_CQE_BUFFER_SHIFT;
  if (!g || !(flags & RF_CQE_F_BUFFER)) return;
  uint8_t *st = state_of(g);
  if (bid >= g->count || st[bid] != RF_BUF_KERNEL || res < 0) {
    (*hdr(g, 16))++; /* the kernel named a buffer it did not hold: nobody's, counted */
    return;
  }
  uint32_t *off = offset_of(g);
  if (off[bid] == 0) g->prog_bytes[bid] = 0; /* nothing consumed yet (JS may have put it back since) */
  if (g->incremental && (flags & RF_CQE_F_BUF_MORE)) {
    /* a piece: the kernel keeps the rest of the buffer; the bytes so far stay as they are */
    bool only_programs = g->prog_bytes[bid] != UINT32_MAX && off[bid] == g->prog_bytes[bid];
    off[bid] += (uint32_t)res;
    /* JS took pieces of it too: none of it is the programs' to read */
    g->prog_bytes[bid] = only_programs ? off[bid] : UINT32_MAX;
    return;
  }
  bool js_pieces = g->prog_bytes[bid] == UINT32_MAX || off[bid] != g->prog_bytes[bid];
  off[bid] = 0;
  g->prog_bytes[bid] = 0;
  (*hdr(g, 4))--;
  if (js_pieces) {
    /* JS holds earlier pieces: the buffer is JS's, given back when its last piece is released */
    st[bid] = RF_BUF_JS;
    return;
  }
  st[bid] = RF_BUF_PROGRAM;
  (*hdr(g, 8))++;
  if (lost) {
    /* nobody learns the id: it goes back at once */
    st[bid] = RF_BUF_GROUP;
    (*hdr(g, 8))--;
    give_to_kernel(g, bid);
  }
}

/* Bytes [0, n) of buffer bid programs may read now (0: none). */
static uint32_t readable(rf_group *g, uint32_t bid) {
  uint8_t s = state_of(g)[bid];
  if (s == RF_BUF_PROGRAM) return g->size;
  uint32_t consumed = offset_of(g)[bid];
  if (s == RF_BUF_KERNEL && consumed && g->prog_bytes[bid] == consumed) return consumed;
  return 0;
}

int rf_group_reach(rf_engine *e, uint64_t addr, uint64_t n, bool write, uint64_t *pin) {
  *pin = 0;
  if (!n) return 0;
  for (uint32_t i = 0; i < e->ngroups; i++) {
    rf_group *g = e->groups[i];
    uint64_t base = (uint64_t)(uintptr_t)g->bufs, span = (uint64_t)g->count * g->size;
    if (addr < base || addr - base >= span) continue;
    uint64_t bid = (addr - base) / g->size, at = (addr - base) % g->size;
    uint64_t room = write ? (state_of(g)[bid] == RF_BUF_PROGRAM ? g->size : 0) : readable(g, (uint32_t)bid);
    if (at >= room || n > room - at) return -EFAULT;
    *pin = ((uint64_t)g->bgid << 32 | bid) + 1;
    return 0;
  }
  return -EFAULT;
}

void rf_group_pin(rf_engine *e, uint64_t pin, int delta) {
  if (!pin) return;
  rf_group *g = rf_group_of(e, (uint32_t)((pin - 1) >> 32));
  uint32_t bid = (uint32_t)(pin - 1);
  if (!g || bid >= g->count) return;
  g->pins[bid] += (uint32_t)delta;
  g->npins += (uint32_t)delta;
}

long rf_group_return(rf_engine *e, uint32_t bgid, uint32_t bid) {
  rf_group *g = bgid <= 0xffff ? rf_group_of(e, bgid) : NULL;
  if (!g) return -ENOENT;
  if (bid >= g->count) return -EINVAL;
  if (state_of(g)[bid] != RF_BUF_PROGRAM) return -EPERM;
  if (g->pins[bid]) return -EBUSY;
  (*hdr(g, 8))--;
  (*hdr(g, 12))++;
  give_to_kernel(g, bid);
  return 0;
}

const void *rf_group_readable(rf_engine *e, uint32_t bgid, uint32_t bid, uint64_t off, uint64_t n, long *err) {
  rf_group *g = bgid <= 0xffff ? rf_group_of(e, bgid) : NULL;
  if (!g) { *err = -ENOENT; return NULL; }
  if (bid >= g->count) { *err = -EINVAL; return NULL; }
  uint32_t room = readable(g, bid);
  if (!room) { *err = -EPERM; return NULL; }
  if (off > room || n > room - off) { *err = -EFAULT; return NULL; }
  *err = 0;
  return g->bufs + (size_t)bid * g->size + off;
}
