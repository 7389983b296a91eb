/* Helpers, kernel ids (include/uapi/linux/bpf.h, enum bpf_func_id), and the bpf_conformance
 * plug-in helpers. Every pointer argument is checked against the run's regions (rf_mem); a miss
 * stops the run with RF_BPF_MEMFAULT. bpf_loop (181) and conformance unwind (5) change control
 * flow, so interp.c runs them inline. */
#include "internal.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A map handle that names none of the program's maps is a type error the verifier should have
 * caught: stop the run (RF_BPF_HELPER) with the value. */
static rf_bpf_map *map_arg(rf_exec *x, uint64_t v) {
  rf_bpf_map *m = rf_map_from_handle(x, v);
  if (!m) {
    x->status = RF_BPF_HELPER;
    x->fault_addr = v;
  }
  return m;
}

/* 1: void *bpf_map_lookup_elem(map, key) */
static uint64_t h_map_lookup(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_map *m = map_arg(x, a[0]);
  if (!m) return 0;
  if (m->type == RF_BPF_MAP_RINGBUF) return 0;
  const void *k = rf_mem(x, a[1], m->key_size, false);
  if (!k) return 0;
  return (uint64_t)(uintptr_t)rf_map_lookup_ptr(m, k);
}

/* 2: long bpf_map_update_elem(map, key, value, flags) */
static uint64_t h_map_update(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_map *m = map_arg(x, a[0]);
  if (!m) return 0;
  if (m->type == RF_BPF_MAP_RINGBUF) return (uint64_t)-EINVAL;
  const void *k = rf_mem(x, a[1], m->key_size, false);
  if (!k) return 0;
  const void *v = rf_mem(x, a[2], m->value_size, false);
  if (!v) return 0;
  if (m->flags & RF_BPF_F_RDONLY_PROG) return (uint64_t)-EPERM;
  return (uint64_t)rf_map_update_ptr(m, k, v, a[3]);
}

/* 3: long bpf_map_delete_elem(map, key) */
static uint64_t h_map_delete(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_map *m = map_arg(x, a[0]);
  if (!m) return 0;
  if (m->type == RF_BPF_MAP_RINGBUF) return (uint64_t)-EINVAL;
  const void *k = rf_mem(x, a[1], m->key_size, false);
  if (!k) return 0;
  if (m->flags & RF_BPF_F_RDONLY_PROG) return (uint64_t)-EPERM;
  return (uint64_t)rf_map_delete_ptr(m, k);
}

/* 5: u64 bpf_ktime_get_ns(void) */
static uint64_t h_ktime(rf_exec *x, uint32_t id, const uint64_t *a) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 7: u32 bpf_get_prandom_u32(void): xorshift64*, per thread */
static uint64_t h_prandom(rf_exec *x, uint32_t id, const uint64_t *a) {
  static __thread uint64_t s;
  if (s == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&s;
    if (s == 0) s = 0x9e3779b97f4a7c15ull;
  }
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return (uint32_t)((s * 0x2545f4914f6cdd1dull) >> 32);
}

/* 8: u32 bpf_get_smp_processor_id(void): user space has one logical "CPU" */
static uint64_t h_cpu(rf_exec *x, uint32_t id, const uint64_t *a) { return 0; }

/* ---- 6: bpf_trace_printk(fmt, fmt_size, a1, a2, a3) ---- */

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static char trace_buf[RF_BPF_TRACE_CAP];
static size_t trace_len;

size_t rf_bpf_trace_read(void *dst, size_t cap) {
  pthread_mutex_lock(&trace_lock);
  size_t n = trace_len < cap ? trace_len : cap;
  memcpy(dst, trace_buf, n);
  memmove(trace_buf, trace_buf + n, trace_len - n);
  trace_len -= n;
  pthread_mutex_unlock(&trace_lock);
  return n;
}

#define TRACE_LINE 1024

static uint64_t h_trace_printk(rf_exec *x, uint32_t id, const uint64_t *a) {
  uint64_t fmt_addr = a[0], fmt_size = a[1];
  if (fmt_size == 0) return (uint64_t)-EINVAL;
  const char *fmt = rf_mem(x, fmt_addr, fmt_size, false);
  if (!fmt) return 0;
  if (!memchr(fmt, 0, fmt_size)) { /* unterminated: reading on would leave the region */
    x->status = RF_BPF_MEMFAULT;
    x->fault_addr = fmt_addr + fmt_size;
    return 0;
  }
  char out[TRACE_LINE];
  size_t n = 0;
  int argi = 0;
#define PUT(...) do { \
    int w_ = snprintf(out + n, sizeof out - n, __VA_ARGS__); \
    if (w_ > 0) n += (size_t)w_ < sizeof out - n ? (size_t)w_ : sizeof out - n - 1; \
  } while (0)
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      if (n < sizeof out - 1) out[n++] = *f;
      continue;
    }
    f++;
    if (*f == '%') {
      if (n < sizeof out - 1) out[n++] = '%';
      continue;
    }
    int longs = 0;
    while (*f == 'l' && longs < 2) { longs++; f++; }
    char c = *f;
    if (c != 'd' && c != 'i' && c != 'u' && c != 'x' && c != 's' && c != 'p') return (uint64_t)-EINVAL;
    if ((c == 's' || c == 'p') && longs) return (uint64_t)-EINVAL;
    if (argi >= 3) return (uint64_t)-EINVAL;
    uint64_t v = a[2 + argi++];
    switch (c) {
      case 'd':
      case 'i':
        if (longs) PUT("%lld", (long long)v);
        else PUT("%d", (int)(int32_t)v);
        break;
      case 'u':
        if (longs) PUT("%llu", (unsigned long long)v);
        else PUT("%u", (unsigned)(uint32_t)v);
        break;
      case 'x':
        if (longs) PUT("%llx", (unsigned long long)v);
        else PUT("%x", (unsigned)(uint32_t)v);
        break;
      case 'p':
        PUT("0x%llx", (unsigned long long)v);
        break;
      case 's': {
        uint64_t span = rf_mem_span(x, v);
        if (span == 0) {
          x->status = RF_BPF_MEMFAULT;
          x->fault_addr = v;
          return 0;
        }
        const char *s = (const char *)(uintptr_t)v;
        size_t len = strnlen(s, span < sizeof out ? span : sizeof out);
        PUT("%.*s", (int)len, s);
        break;
      }
    }
  }
  out[n] = 0;
  pthread_mutex_lock(&trace_lock);
  bool fits = trace_len + n <= sizeof trace_buf;
  if (fits) {
    memcpy(trace_buf + trace_len, out, n);
    trace_len += n;
  }
  pthread_mutex_unlock(&trace_lock);
  return fits ? n : (uint64_t)-ENOSPC;
#undef PUT
}

/* ---- ring buffer helpers ---- */

static rf_bpf_map *ringbuf_arg(rf_exec *x, uint64_t v) {
  rf_bpf_map *m = map_arg(x, v);
  return m && m->type == RF_BPF_MAP_RINGBUF ? m : NULL;
}

/* 130: long bpf_ringbuf_output(ringbuf, data, size, flags) */
static uint64_t h_rb_output(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_map *m = ringbuf_arg(x, a[0]);
  if (!m) return (uint64_t)-EINVAL;
  const void *src = rf_mem(x, a[1], a[2], false);
  if (!src) return 0;
  if (a[3] & ~3ull || a[2] == 0) return (uint64_t)-EINVAL;
  void *rec = rf_ringbuf_reserve(m, a[2]);
  if (!rec) return (uint64_t)-EAGAIN;
  memcpy(rec, src, a[2]);
  rf_ringbuf_commit(m, rec, false);
  return 0;
}

/* 131: void *bpf_ringbuf_reserve(ringbuf, size, flags) */
static uint64_t h_rb_reserve(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_map *m = ringbuf_arg(x, a[0]);
  if (!m || a[2] != 0 || x->nresv >= RF_BPF_MAX_RESERVATIONS) return 0;
  void *rec = rf_ringbuf_reserve(m, a[1]);
  if (!rec) return 0;
  rf_resv *r = &x->resv[x->nresv++];
  r->base = (uint64_t)(uintptr_t)rec;
  r->len = a[1];
  r->map = m;
  return r->base;
}

/* 132/133: void bpf_ringbuf_submit/discard(data, flags): data must be a record this run holds */
static uint64_t h_rb_commit(rf_exec *x, uint32_t id, const uint64_t *a) {
  for (uint32_t i = 0; i < x->nresv; i++) {
    if (x->resv[i].base == a[0]) {
      rf_ringbuf_commit(x->resv[i].map, (void *)(uintptr_t)a[0], id == 133);
      x->resv[i] = x->resv[--x->nresv];
      return 0;
    }
  }
  x->status = RF_BPF_HELPER;
  x->fault_addr = a[0];
  return 0;
}

/* 134: u64 bpf_ringbuf_query(ringbuf, flags) */
static uint64_t h_rb_query(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_map *m = ringbuf_arg(x, a[0]);
  return m ? rf_ringbuf_query(m, a[1]) : 0;
}

/* ---- embedder helpers (HelperSet.Ring: 164-167, 148) ---- */

static uint64_t h_embedder(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_run *run = x->run;
  if (!run->helper) return (uint64_t)-ENOSYS;
  uint64_t r0 = 0;
  int st = run->helper(run, id, a, &r0);
  if (st != RF_BPF_OK) {
    x->status = st;
    x->fault_addr = run->fault_addr;
  }
  return r0;
}

/* ---- bpf_conformance plug-in helpers (ids 0-4; 5 = unwind runs inline) ---- */

static uint64_t c_gather_bytes(rf_exec *x, uint32_t id, const uint64_t *a) {
  return ((a[0] & 0xff) << 32) | ((a[1] & 0xff) << 24) | ((a[2] & 0xff) << 16) |
         ((a[3] & 0xff) << 8) | (a[4] & 0xff);
}

static uint64_t c_memfrob(rf_exec *x, uint32_t id, const uint64_t *a) {
  uint8_t *p = rf_mem(x, a[0], a[1], true);
  if (!p) return 0;
  for (uint64_t i = 0; i < a[1]; i++) p[i] ^= 42;
  return 0;
}

static uint64_t c_no_op(rf_exec *x, uint32_t id, const uint64_t *a) { return 0; }

static uint64_t c_sqrti(rf_exec *x, uint32_t id, const uint64_t *a) {
  /* floor(sqrt(a)) exactly, without libm */
  uint64_t v = a[0], r = 0, bit = 1ull << 62;
  while (bit > v) bit >>= 2;
  while (bit) {
    if (v >= r + bit) { v -= r + bit; r = (r >> 1) + bit; }
    else r >>= 1;
    bit >>= 2;
  }
  return r;
}

static uint64_t c_strcmp(rf_exec *x, uint32_t id, const uint64_t *a) {
  uint64_t sa = rf_mem_span(x, a[0]), sb = rf_mem_span(x, a[1]);
  const unsigned char *p = (const unsigned char *)(uintptr_t)a[0];
  const unsigned char *q = (const unsigned char *)(uintptr_t)a[1];
  for (uint64_t i = 0;; i++) {
    if (i >= sa || i >= sb) {
      x->status = RF_BPF_MEMFAULT;
      x->fault_addr = i >= sa ? a[0] + i : a[1] + i;
      return 0;
    }
    if (p[i] != q[i] || p[i] == 0) return (uint64_t)(int64_t)((int)p[i] - (int)q[i]);
  }
}

rf_helper_impl rf_helper_find(uint32_t set, int32_t id, enum rf_kind *kind) {
  *kind = RK_CALL;
  if (set == RF_BPF_HELPERS_CONFORMANCE) {
    switch (id) {
      case 0: return c_gather_bytes;
      case 1: return c_memfrob;
      case 2: return c_no_op;
      case 3: return c_sqrti;
      case 4: return c_strcmp;
      case 5: *kind = RK_CALL_UNWIND; return NULL;
      default: return NULL;
    }
  }
  if (set == RF_BPF_HELPERS_RING) {
    switch (id) {
      case 148: case 164: case 165: case 166: case 167: case 1000: return h_embedder;
      default: break;
    }
  } else if (set != RF_BPF_HELPERS_STANDARD) {
    return NULL;
  }
  switch (id) {
    case 1: *kind = RK_CALL_MAP_LOOKUP; return h_map_lookup; /* array maps inline in interp.c */
    case 2: return h_map_update;
    case 3: return h_map_delete;
    case 5: return h_ktime;
    case 6: return h_trace_printk;
    case 7: return h_prandom;
    case 8: return h_cpu;
    case 130: return h_rb_output;
    case 131: return h_rb_reserve;
    case 132: case 133: return h_rb_commit;
    case 134: return h_rb_query;
    case 181: *kind = RK_CALL_LOOP; return NULL;
    default: return NULL;
  }
}
