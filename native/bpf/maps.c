/* Maps, kernel numbering: array (2), hash (1, preallocated, fixed capacity), ring buffer (27).
 * Values of array and hash maps live in one contiguous allocation each (the array storage, the
 * hash value pool) so the interpreter can treat them as single regions. Hash keys and links live
 * apart, out of programs' reach. Ring buffer records: 8-byte header {u32 len|flags, u32 pad},
 * payload rounded up to 8; a record never wraps (a discarded padding record fills the tail). */
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <time.h>

#define RB_BUSY (1u << 31)
#define RB_DISCARD (1u << 30)
#define RB_HDR 8u
#define MAX_TOTAL (1ull << 30)

static void *zalloc_pages(size_t len) {
  size_t pg = 4096, sz = (len + pg - 1) & ~(pg - 1);
  void *p = NULL;
  if (sz == 0) sz = pg;
  if (posix_memalign(&p, pg, sz) != 0) return NULL;
  memset(p, 0, sz);
  return p;
}

static void map_free(rf_bpf_map *m) {
  free(m->values);
  free(m->keys);
  free(m->next);
  free(m->buckets);
  free(m->used);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

int rf_bpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                      uint32_t flags, rf_bpf_map **out) {
  *out = NULL;
  if (flags & ~(RF_BPF_F_RDONLY_PROG | RF_BPF_F_NO_PREALLOC | RF_BPF_F_MMAPABLE)) return -EINVAL;
  if (max_entries == 0) return -EINVAL;
  uint64_t stride = ((uint64_t)value_size + 7) & ~7ull;
  switch (type) {
    case RF_BPF_MAP_ARRAY:
      if (key_size != 4 || value_size == 0) return -EINVAL;
      if (stride * max_entries > MAX_TOTAL) return -E2BIG;
      break;
    case RF_BPF_MAP_HASH:
      if (key_size == 0 || key_size > 512 || value_size == 0) return -EINVAL;
      if (max_entries > (1u << 24) || (stride + key_size) * max_entries > MAX_TOTAL) return -E2BIG;
      break;
    case RF_BPF_MAP_RINGBUF: {
      long pg = sysconf(_SC_PAGESIZE);
      if (pg <= 0) pg = 4096;
      if (key_size || value_size || flags) return -EINVAL;
      if ((max_entries & (max_entries - 1)) || max_entries % (uint32_t)pg) return -EINVAL;
      if (max_entries > MAX_TOTAL) return -E2BIG;
      break;
    }
    default:
      return -EINVAL;
  }
  rf_bpf_map *m = calloc(1, sizeof *m);
  if (!m) return -ENOMEM;
  atomic_init(&m->refs, 1);
  m->type = type;
  m->key_size = key_size;
  m->value_size = value_size;
  m->max_entries = max_entries;
  m->flags = flags;
  m->stride = (uint32_t)stride;
  pthread_mutex_init(&m->lock, NULL);
  if (type == RF_BPF_MAP_RINGBUF) {
    m->values_len = max_entries;
  } else {
    m->values_len = (size_t)stride * max_entries;
  }
  m->values = zalloc_pages(m->values_len);
  if (!m->values) { map_free(m); return -ENOMEM; }
  if (type == RF_BPF_MAP_HASH) {
    uint32_t nb = 1;
    while (nb < max_entries) nb <<= 1;
    m->nbuckets = nb;
    m->keys = calloc(max_entries, key_size);
    m->next = malloc(sizeof(uint32_t) * max_entries);
    m->buckets = malloc(sizeof(uint32_t) * nb);
    m->used = calloc(max_entries, 1);
    if (!m->keys || !m->next || !m->buckets || !m->used) { map_free(m); return -ENOMEM; }
    for (uint32_t i = 0; i < nb; i++) m->buckets[i] = RF_NIL;
    for (uint32_t i = 0; i < max_entries; i++) m->next[i] = i + 1 < max_entries ? i + 1 : RF_NIL;
    m->free_head = 0;
    if (getrandom(&m->seed, sizeof m->seed, GRND_NONBLOCK) != (ssize_t)sizeof m->seed) {
      struct timespec ts; /* no entropy yet (early boot): weaker, still per map */
      clock_gettime(CLOCK_MONOTONIC, &ts);
      m->seed = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)m;
    }
  }
  *out = m;
  return 0;
}

void rf_bpf_map_get(rf_bpf_map *m) { atomic_fetch_add(&m->refs, 1); }
void rf_bpf_map_put(rf_bpf_map *m) {
  if (m && atomic_fetch_sub(&m->refs, 1) == 1) map_free(m);
}
uint32_t rf_bpf_map_type(const rf_bpf_map *m) { return m->type; }
uint32_t rf_bpf_map_key_size(const rf_bpf_map *m) { return m->key_size; }
uint32_t rf_bpf_map_value_size(const rf_bpf_map *m) { return m->value_size; }
uint32_t rf_bpf_map_max_entries(const rf_bpf_map *m) { return m->max_entries; }
void *rf_bpf_map_values(rf_bpf_map *m, size_t *len) {
  if (m->type != RF_BPF_MAP_ARRAY) return NULL;
  if (len) *len = m->values_len;
  return m->values;
}

/* ---- hash ---- */

/* Keyed with the map's random seed (as the kernel's htab seeds jhash): chains stay short whatever
 * keys a program or its input chooses. Two 64-bit lanes of 8 bytes each per step. */
static uint32_t hash_key(const uint8_t *k, uint32_t n, uint64_t seed) {
  const uint64_t M1 = 0x9e3779b97f4a7c15ull, M2 = 0xff51afd7ed558ccdull;
  uint64_t a = seed ^ n, b = ~seed, w1, w2;
  uint32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    memcpy(&w1, k + i, 8);
    memcpy(&w2, k + i + 8, 8);
    a = (a ^ w1) * M1;
    b = (b ^ w2) * M2;
    a ^= a >> 29;
    b ^= b >> 31;
  }
  if (i < n) {
    uint8_t t[16] = {0};
    memcpy(t, k + i, n - i);
    memcpy(&w1, t, 8);
    memcpy(&w2, t + 8, 8);
    a = (a ^ w1) * M1;
    b = (b ^ w2) * M2;
  }
  uint64_t h = (a ^ (b >> 32) ^ (b << 32)) * M2;
  h ^= h >> 33;
  h *= M1;
  h ^= h >> 29;
  return (uint32_t)h;
}

/* Slot of key, RF_NIL if absent, RF_OVER when the walk passed the work allowance; caller holds
 * the lock. Work: the key hashed and compared once, and each chain link past the first RF_MAP_FREE_PROBES (which
 * the operation's fixed charge covers, so that with the seeded hash the charge almost never
 * depends on what else the map holds). */
#define RF_OVER 0xfffffffeu
static uint32_t hash_find(rf_bpf_map *m, const void *key, uint32_t *bucket, rf_work *w) {
  if (!rf_work_add(w, 2 * (uint64_t)m->key_size)) return RF_OVER; /* hashed, and compared once */
  uint32_t b = hash_key(key, m->key_size, m->seed) & (m->nbuckets - 1);
  if (bucket) *bucket = b;
  uint32_t probes = 0;
  for (uint32_t s = m->buckets[b]; s != RF_NIL; s = m->next[s]) {
    if (++probes > RF_MAP_FREE_PROBES && !rf_work_add(w, RF_MAP_PROBE_BYTES + m->key_size)) return RF_OVER;
    if (memcmp(m->keys + (size_t)s * m->key_size, key, m->key_size) == 0) return s;
  }
  return RF_NIL;
}

static long hash_update(rf_bpf_map *m, const void *key, const void *value, uint64_t flags, rf_work *w) {
  uint32_t b;
  pthread_mutex_lock(&m->lock);
  uint32_t s = hash_find(m, key, &b, w);
  long rc = 0;
  if (s == RF_OVER || !rf_work_add(w, m->value_size)) {
    rc = -E2BIG;
  } else if (s != RF_NIL) {
    if (flags == RF_BPF_NOEXIST) rc = -EEXIST;
  } else if (flags == RF_BPF_EXIST) {
    rc = -ENOENT;
  } else if (m->free_head == RF_NIL) {
    rc = -E2BIG;
  } else {
    s = m->free_head;
    m->free_head = m->next[s];
    memcpy(m->keys + (size_t)s * m->key_size, key, m->key_size);
    m->used[s] = 1;
    m->next[s] = m->buckets[b];
    m->buckets[b] = s;
    m->count++;
  }
  if (rc == 0) memmove(m->values + (size_t)s * m->stride, value, m->value_size);
  pthread_mutex_unlock(&m->lock);
  return rc;
}

static long hash_delete(rf_bpf_map *m, const void *key, rf_work *w) {
  uint32_t b;
  pthread_mutex_lock(&m->lock);
  uint32_t s = hash_find(m, key, &b, w);
  long rc = s == RF_OVER ? -E2BIG : -ENOENT;
  if (s != RF_NIL && s != RF_OVER) {
    /* the second walk, to s's link, follows the links the first one did */
    uint32_t *link = &m->buckets[b];
    while (*link != s) link = &m->next[*link];
    *link = m->next[s];
    m->used[s] = 0;
    m->next[s] = m->free_head;
    m->free_head = s;
    m->count--;
    rc = 0;
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* ---- program-side operations ---- */

void *rf_map_lookup_ptr(rf_bpf_map *m, const void *key, rf_work *w) {
  if (m->type == RF_BPF_MAP_ARRAY) { /* O(1): no work beyond the call (as the inline lookup) */
    uint32_t i;
    memcpy(&i, key, 4);
    return i < m->max_entries ? m->values + (size_t)i * m->stride : NULL;
  }
  if (m->type != RF_BPF_MAP_HASH) return NULL;
  pthread_mutex_lock(&m->lock);
  uint32_t s = hash_find(m, key, NULL, w);
  pthread_mutex_unlock(&m->lock);
  return s == RF_NIL || s == RF_OVER ? NULL : m->values + (size_t)s * m->stride;
}

long rf_map_update_ptr(rf_bpf_map *m, const void *key, const void *value, uint64_t flags, rf_work *w) {
  if (flags > RF_BPF_EXIST) return -EINVAL;
  if (m->type == RF_BPF_MAP_ARRAY) {
    uint32_t i;
    memcpy(&i, key, 4);
    if (i >= m->max_entries) return -E2BIG;
    if (flags == RF_BPF_NOEXIST) return -EEXIST;
    if (!rf_work_add(w, m->value_size)) return -E2BIG;
    memmove(m->values + (size_t)i * m->stride, value, m->value_size);
    return 0;
  }
  if (m->type != RF_BPF_MAP_HASH) return -EINVAL;
  return hash_update(m, key, value, flags, w);
}

long rf_map_delete_ptr(rf_bpf_map *m, const void *key, rf_work *w) {
  if (m->type != RF_BPF_MAP_HASH) return -EINVAL;
  return hash_delete(m, key, w);
}

/* ---- user-side operations ---- */

int rf_bpf_map_lookup(rf_bpf_map *m, const void *key, void *value) {
  if (m->type == RF_BPF_MAP_RINGBUF) return -EINVAL;
  if (m->type == RF_BPF_MAP_HASH) {
    rf_work w = RF_WORK_ANY;
    pthread_mutex_lock(&m->lock);
    uint32_t s = hash_find(m, key, NULL, &w);
    if (s != RF_NIL) memcpy(value, m->values + (size_t)s * m->stride, m->value_size);
    pthread_mutex_unlock(&m->lock);
    return s == RF_NIL ? -ENOENT : 0;
  }
  rf_work w = RF_WORK_ANY;
  void *p = rf_map_lookup_ptr(m, key, &w);
  if (!p) return -ENOENT;
  memcpy(value, p, m->value_size);
  return 0;
}

int rf_bpf_map_update(rf_bpf_map *m, const void *key, const void *value, uint64_t flags) {
  rf_work w = RF_WORK_ANY;
  return (int)rf_map_update_ptr(m, key, value, flags, &w);
}

int rf_bpf_map_delete(rf_bpf_map *m, const void *key) {
  rf_work w = RF_WORK_ANY;
  return (int)rf_map_delete_ptr(m, key, &w);
}

int rf_bpf_map_next_key(rf_bpf_map *m, const void *key, void *next) {
  if (m->type == RF_BPF_MAP_ARRAY) {
    uint32_t i = 0, n;
    if (key) memcpy(&i, key, 4);
    if (!key || i >= m->max_entries) n = 0;
    else if (i + 1 >= m->max_entries) return -ENOENT;
    else n = i + 1;
    memcpy(next, &n, 4);
    return 0;
  }
  if (m->type != RF_BPF_MAP_HASH) return -EINVAL;
  pthread_mutex_lock(&m->lock);
  uint32_t from = 0;
  if (key) {
    rf_work w = RF_WORK_ANY;
    uint32_t s = hash_find(m, key, NULL, &w);
    if (s != RF_NIL) from = s + 1; /* unknown key: start over, like the kernel */
  }
  int rc = -ENOENT;
  for (uint32_t s = from; s < m->max_entries; s++) {
    if (m->used[s]) {
      memcpy(next, m->keys + (size_t)s * m->key_size, m->key_size);
      rc = 0;
      break;
    }
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* ---- ring buffer ---- */

static inline uint32_t *rb_hdr(rf_bpf_map *m, uint64_t pos) {
  return (uint32_t *)(m->values + (pos & (m->max_entries - 1)));
}

void *rf_ringbuf_reserve(rf_bpf_map *m, uint64_t size) {
  if (m->type != RF_BPF_MAP_RINGBUF || size == 0 || size > m->max_entries - RB_HDR) return NULL;
  uint64_t len = (size + RB_HDR + 7) & ~7ull, n = m->max_entries;
  void *rec = NULL;
  pthread_mutex_lock(&m->lock);
  uint64_t off = m->prod & (n - 1), pad = off + len > n ? n - off : 0;
  if (m->prod + pad + len - m->cons <= n) {
    if (pad) { /* fill the tail with a discarded record; the new one starts at 0 */
      uint32_t *h = rb_hdr(m, m->prod);
      h[0] = (uint32_t)(pad - RB_HDR) | RB_DISCARD;
      h[1] = 0;
      m->prod += pad;
    }
    uint32_t *h = rb_hdr(m, m->prod);
    h[0] = (uint32_t)size | RB_BUSY;
    h[1] = 0;
    rec = (uint8_t *)h + RB_HDR;
    m->prod += len;
  }
  pthread_mutex_unlock(&m->lock);
  return rec;
}

void rf_ringbuf_commit(rf_bpf_map *m, void *payload, bool discard) {
  uint32_t *h = (uint32_t *)((uint8_t *)payload - RB_HDR);
  pthread_mutex_lock(&m->lock);
  h[0] = (h[0] & ~RB_BUSY) | (discard ? RB_DISCARD : 0);
  pthread_mutex_unlock(&m->lock);
}

uint64_t rf_ringbuf_query(rf_bpf_map *m, uint64_t flags) {
  pthread_mutex_lock(&m->lock);
  uint64_t v = 0;
  switch (flags) {
    case 0: v = m->prod - m->cons; break; /* BPF_RB_AVAIL_DATA */
    case 1: v = m->max_entries; break;    /* BPF_RB_RING_SIZE */
    case 2: v = m->cons; break;           /* BPF_RB_CONS_POS */
    case 3: v = m->prod; break;           /* BPF_RB_PROD_POS */
  }
  pthread_mutex_unlock(&m->lock);
  return v;
}

long rf_bpf_ringbuf_read(rf_bpf_map *m, void *dst, size_t cap) {
  if (m->type != RF_BPF_MAP_RINGBUF) return -EINVAL;
  long rc = 0;
  pthread_mutex_lock(&m->lock);
  while (m->cons != m->prod) {
    uint64_t off = m->cons & (m->max_entries - 1);
    uint32_t h = rb_hdr(m, m->cons)[0];
    if (h & RB_BUSY) break;
    uint64_t size = h & ~(RB_BUSY | RB_DISCARD), len = (size + RB_HDR + 7) & ~7ull;
    if (off + len > m->max_entries || m->cons + len > m->prod) { /* cannot happen: resync */
      m->cons = m->prod;
      break;
    }
    if (h & RB_DISCARD) { m->cons += len; continue; }
    if (size > cap) { rc = -ENOSPC; break; }
    memcpy(dst, m->values + off + RB_HDR, size);
    m->cons += len;
    rc = (long)size;
    break;
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}
