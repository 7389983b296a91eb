/* Helpers, kernel ids (include/uapi/linux/bpf.h, enum bpf_func_id), and the bpf_conformance
 * plug-in helpers. Every pointer argument is checked against the run's regions (rf_mem); a miss
 * stops the run with RF_BPF_MEMFAULT. bpf_loop (181) and conformance unwind (5) change control
 * flow, so interp.c runs them inline.
 *
 * Each helper charges its work to the run's budget (rf_charge) before doing it, or, for work
 * whose size shows only on the way (hash chains, strings), bounded by what the budget can still
 * pay (work_allowance): bytes at RF_BPF_CHARGE_BYTES per instruction plus the fixed costs below,
 * measured as multiples of an interpreted instruction (~1 ns) on the development machine with
 * tools/charge-bench.ts (test/security/budget.test.ts prints the same table under the default
 * budget). The call instruction itself counts 1, like any instruction. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Fixed costs beyond the call instruction, in instructions. */
#define CHARGE_CALL 4u        /* every helper: the indirect call, its argument checks */
#define CHARGE_LOCKED 40u     /* a hash map or ring buffer operation: lock, hash, first probe */
#define CHARGE_MAP 8u         /* an array map update: the map's and both pointers' checks */
#define CHARGE_CLOCK 32u      /* bpf_ktime_get_ns: clock_gettime (vDSO) */
#define CHARGE_TRACE 36u      /* bpf_trace_printk: the trace buffer's lock, the line's copy */
#define CHARGE_CONVERSION 24u /* bpf_trace_printk: each %-conversion (up to 20 digits) */
#define CHARGE_PRANDOM 4u     /* bpf_get_prandom_u32 */
#define CHARGE_SQRTI 24u      /* conformance sqrti: up to 32 rounds */

/* Charges n instructions; false (the run stops with RF_BPF_BUDGET after the helper) when that
 * exceeds what is left. */
static inline bool rf_charge(rf_exec *x, uint64_t n) {
  if (RF_LIKELY(n < x->left)) {
    x->left -= n;
    return true;
  }
  if (!x->status) x->status = RF_BPF_BUDGET;
  return false;
}

/* The bytes of work the budget left can pay for, for work whose size shows on the way. */
static inline rf_work work_allowance(rf_exec *x) {
  uint64_t l = x->left; /* >= 1 during a helper call */
  if (x->status || l == 0) return (rf_work){0, 0};
  return (rf_work){0, l > UINT64_MAX / RF_BPF_CHARGE_BYTES ? UINT64_MAX : l * RF_BPF_CHARGE_BYTES - 1};
}

/* Charges the work done (stops the run when it went over the allowance). */
static inline bool charge_work(rf_exec *x, const rf_work *w) {
  return rf_charge(x, rf_bpf_bytes_cost(w->done));
}

bool rf_bpf_charge(rf_bpf_run *run, uint64_t insns) {
  rf_exec *x = (rf_exec *)run->priv;
  return x ? rf_charge(x, insns) : true;
}

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
  if (m->type == RF_BPF_MAP_ARRAY) { /* O(1), charged as the inline lookup (interp.c, jit.c) */
    rf_work w = RF_WORK_ANY;
    return (uint64_t)(uintptr_t)rf_map_lookup_ptr(m, k, &w);
  }
  if (!rf_charge(x, CHARGE_CALL + CHARGE_LOCKED)) return 0;
  rf_work w = work_allowance(x);
  void *v = rf_map_lookup_ptr(m, k, &w);
  return charge_work(x, &w) ? (uint64_t)(uintptr_t)v : 0;
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
  if (!rf_charge(x, CHARGE_CALL + (m->type == RF_BPF_MAP_HASH ? CHARGE_LOCKED : CHARGE_MAP))) return 0;
  rf_work w = work_allowance(x);
  long rc = rf_map_update_ptr(m, k, v, a[3], &w);
  return charge_work(x, &w) ? (uint64_t)rc : 0;
}

/* 3: long bpf_map_delete_elem(map, key) */
static uint64_t h_map_delete(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_map *m = map_arg(x, a[0]);
  if (!m) return 0;
  if (m->type == RF_BPF_MAP_RINGBUF) return (uint64_t)-EINVAL;
  const void *k = rf_mem(x, a[1], m->key_size, false);
  if (!k) return 0;
  if (m->flags & RF_BPF_F_RDONLY_PROG) return (uint64_t)-EPERM;
  if (!rf_charge(x, CHARGE_CALL + (m->type == RF_BPF_MAP_HASH ? CHARGE_LOCKED : CHARGE_MAP))) return 0;
  rf_work w = work_allowance(x);
  long rc = rf_map_delete_ptr(m, k, &w);
  return charge_work(x, &w) ? (uint64_t)rc : 0;
}

/* 5: u64 bpf_ktime_get_ns(void) */
static uint64_t h_ktime(rf_exec *x, uint32_t id, const uint64_t *a) {
  if (!rf_charge(x, CHARGE_CALL + CHARGE_CLOCK)) return 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 7: u32 bpf_get_prandom_u32(void): xorshift64*, its state in the run (rf_bpf_run.prandom) */
static uint64_t h_prandom(rf_exec *x, uint32_t id, const uint64_t *a) {
  if (!rf_charge(x, CHARGE_CALL + CHARGE_PRANDOM)) return 0;
  rf_bpf_run *run = x->run;
  uint64_t s = run->prandom;
  if (s == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)run;
    if (s == 0) s = 0x9e3779b97f4a7c15ull;
  }
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  run->prandom = s;
  return (uint32_t)((s * 0x2545f4914f6cdd1dull) >> 32);
}

/* 8: u32 bpf_get_smp_processor_id(void): user space has one logical "CPU" */
static uint64_t h_cpu(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_charge(x, CHARGE_CALL);
  return 0;
}

/* ---- 6: bpf_trace_printk(fmt, fmt_size, a1, a2, a3) ---- */

struct rf_bpf_trace {
  atomic_int refs;
  pthread_mutex_t lock;
  size_t len;
  char buf[RF_BPF_TRACE_CAP];
};

rf_bpf_trace *rf_bpf_trace_create(void) {
  rf_bpf_trace *t = malloc(sizeof *t);
  if (!t) return NULL;
  atomic_init(&t->refs, 1);
  pthread_mutex_init(&t->lock, NULL);
  t->len = 0;
  return t;
}

void rf_bpf_trace_get(rf_bpf_trace *t) { atomic_fetch_add(&t->refs, 1); }

void rf_bpf_trace_put(rf_bpf_trace *t) {
  if (!t || atomic_fetch_sub(&t->refs, 1) != 1) return;
  pthread_mutex_destroy(&t->lock);
  free(t);
}

size_t rf_bpf_trace_read(rf_bpf_trace *t, void *dst, size_t cap) {
  pthread_mutex_lock(&t->lock);
  size_t n = t->len < cap ? t->len : cap;
  memcpy(dst, t->buf, n);
  memmove(t->buf, t->buf + n, t->len - n);
  t->len -= n;
  pthread_mutex_unlock(&t->lock);
  return n;
}

/* Appends a line whole or not at all. */
static bool trace_append(rf_bpf_trace *t, const char *s, size_t n) {
  if (!t) return false;
  pthread_mutex_lock(&t->lock);
  bool fits = t->len + n <= sizeof t->buf;
  if (fits) {
    memcpy(t->buf + t->len, s, n);
    t->len += n;
  }
  pthread_mutex_unlock(&t->lock);
  return fits;
}

#define TRACE_LINE 1024

/* The line being formatted: at most TRACE_LINE - 1 bytes, the rest is cut. */
typedef struct trace_line { size_t n; char b[TRACE_LINE]; } trace_line;

static void put(trace_line *l, const char *s, size_t k) {
  size_t room = sizeof l->b - 1 - l->n;
  if (k > room) k = room;
  memcpy(l->b + l->n, s, k);
  l->n += k;
}
static void put_u(trace_line *l, uint64_t v, unsigned base) {
  char t[20];
  int i = 20;
  do {
    t[--i] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  put(l, t + i, (size_t)(20 - i));
}
static void put_d(trace_line *l, int64_t v) {
  if (v < 0) put(l, "-", 1);
  put_u(l, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10);
}

static uint64_t h_trace_printk(rf_exec *x, uint32_t id, const uint64_t *a) {
  uint64_t fmt_addr = a[0], fmt_size = a[1];
  if (fmt_size == 0) return (uint64_t)-EINVAL;
  const char *fmt = rf_mem(x, fmt_addr, fmt_size, false);
  if (!fmt) return 0;
  /* the format is scanned whole (memchr, then the loop at string speed); the line and each
   * conversion are bounded (TRACE_LINE) */
  if (!rf_charge(x, CHARGE_CALL + CHARGE_TRACE + rf_bpf_bytes_cost(fmt_size))) return 0;
  if (!memchr(fmt, 0, fmt_size)) { /* unterminated: reading on would leave the region */
    x->status = RF_BPF_MEMFAULT;
    x->fault_addr = fmt_addr + fmt_size;
    return 0;
  }
  trace_line l;
  l.n = 0;
  int argi = 0;
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') { /* a run of literal text, up to the next % or the end */
      size_t lit = strcspn(f, "%");
      put(&l, f, lit);
      f += lit - 1;
      continue;
    }
    f++;
    if (*f == '%') {
      put(&l, "%", 1);
      continue;
    }
    int longs = 0;
    while (*f == 'l' && longs < 2) { longs++; f++; }
    char c = *f;
    if (c != 'd' && c != 'i' && c != 'u' && c != 'x' && c != 's' && c != 'p') return (uint64_t)-EINVAL;
    if ((c == 's' || c == 'p') && longs) return (uint64_t)-EINVAL;
    if (argi >= 3) return (uint64_t)-EINVAL;
    if (!rf_charge(x, CHARGE_CONVERSION)) return 0;
    uint64_t v = a[2 + argi++];
    switch (c) {
      case 'd':
      case 'i':
        put_d(&l, longs ? (int64_t)v : (int64_t)(int32_t)v);
        break;
      case 'u':
        put_u(&l, longs ? v : (uint32_t)v, 10);
        break;
      case 'x':
        put_u(&l, longs ? v : (uint32_t)v, 16);
        break;
      case 'p':
        put(&l, "0x", 2);
        put_u(&l, v, 16);
        break;
      case 's': {
        uint64_t span = rf_mem_span(x, v);
        if (span == 0) {
          x->status = RF_BPF_MEMFAULT;
          x->fault_addr = v;
          return 0;
        }
        size_t room = sizeof l.b - 1 - l.n;
        const char *str = (const char *)(uintptr_t)v;
        put(&l, str, strnlen(str, span < room ? span : room));
        break;
      }
    }
  }
  l.b[l.n] = 0;
  if (!rf_charge(x, rf_bpf_bytes_cost(l.n))) return 0;
  return trace_append(x->prog->trace, l.b, l.n) ? l.n : (uint64_t)-ENOSPC;
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
  if (!rf_charge(x, CHARGE_CALL + CHARGE_LOCKED)) return 0;
  void *rec = rf_ringbuf_reserve(m, a[2]);
  if (!rec) return (uint64_t)-EAGAIN;
  bool paid = rf_charge(x, CHARGE_LOCKED + rf_bpf_bytes_cost(a[2]));
  if (paid) memcpy(rec, src, a[2]);
  rf_ringbuf_commit(m, rec, !paid);
  return 0;
}

/* 131: void *bpf_ringbuf_reserve(ringbuf, size, flags) */
static uint64_t h_rb_reserve(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_map *m = ringbuf_arg(x, a[0]);
  if (!rf_charge(x, CHARGE_CALL) || !m || a[2] != 0 || x->nresv >= RF_BPF_MAX_RESERVATIONS) return 0;
  if (!rf_charge(x, CHARGE_LOCKED)) return 0;
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
  if (!rf_charge(x, CHARGE_CALL)) return 0;
  for (uint32_t i = 0; i < x->nresv; i++) {
    if (x->resv[i].base == a[0]) {
      if (!rf_charge(x, CHARGE_LOCKED)) return 0; /* the record is discarded at the run's end */
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
  if (!rf_charge(x, CHARGE_CALL) || !m || !rf_charge(x, CHARGE_LOCKED)) return 0;
  return rf_ringbuf_query(m, a[1]);
}

/* ---- embedder helpers (HelperSet.Ring: 164-167, 148) ---- */

static uint64_t h_embedder(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_bpf_run *run = x->run;
  if (!rf_charge(x, CHARGE_CALL)) return 0; /* the embedder charges its own work */
  if (!run->helper) return (uint64_t)-ENOSYS;
  uint64_t r0 = 0;
  int st = run->helper(run, id, a, &r0);
  if (st != RF_BPF_OK && !x->status) { /* a charge over the budget (rf_bpf_charge) stopped it first */
    x->status = st;
    x->fault_addr = run->fault_addr;
  }
  return r0;
}

/* ---- bpf_conformance plug-in helpers (ids 0-4; 5 = unwind runs inline) ---- */

static uint64_t c_gather_bytes(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_charge(x, CHARGE_CALL);
  return ((a[0] & 0xff) << 32) | ((a[1] & 0xff) << 24) | ((a[2] & 0xff) << 16) |
         ((a[3] & 0xff) << 8) | (a[4] & 0xff);
}

static uint64_t c_memfrob(rf_exec *x, uint32_t id, const uint64_t *a) {
  uint8_t *p = rf_mem(x, a[0], a[1], true);
  if (!p) return 0;
  if (!rf_charge(x, CHARGE_CALL + rf_bpf_bytes_cost(a[1]))) return 0;
  uint64_t i = 0, w;
  for (; i + 8 <= a[1]; i += 8) { /* a word at a time: about a copy's speed */
    memcpy(&w, p + i, 8);
    w ^= 0x2a2a2a2a2a2a2a2aull;
    memcpy(p + i, &w, 8);
  }
  for (; i < a[1]; i++) p[i] ^= 42;
  return 0;
}

static uint64_t c_no_op(rf_exec *x, uint32_t id, const uint64_t *a) {
  rf_charge(x, CHARGE_CALL);
  return 0;
}

static uint64_t c_sqrti(rf_exec *x, uint32_t id, const uint64_t *a) {
  /* floor(sqrt(a)) exactly, without libm */
  if (!rf_charge(x, CHARGE_CALL + CHARGE_SQRTI)) return 0;
  uint64_t v = a[0], r = 0, bit = 1ull << 62;
  while (bit > v) bit >>= 2;
  while (bit) {
    if (v >= r + bit) { v -= r + bit; r = (r >> 1) + bit; }
    else r >>= 1;
    bit >>= 2;
  }
  return r;
}

/* True when a word has a zero byte. */
static inline bool has_zero(uint64_t v) { return ((v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull) != 0; }

static uint64_t c_strcmp(rf_exec *x, uint32_t id, const uint64_t *a) {
  if (!rf_charge(x, CHARGE_CALL)) return 0;
  uint64_t sa = rf_mem_span(x, a[0]), sb = rf_mem_span(x, a[1]);
  const unsigned char *p = (const unsigned char *)(uintptr_t)a[0];
  const unsigned char *q = (const unsigned char *)(uintptr_t)a[1];
  uint64_t lim = sa < sb ? sa : sb, i = 0, wp, wq;
  rf_work w = work_allowance(x);
  /* whole words while both are equal and hold no NUL, inside both regions and the allowance */
  while (i + 8 <= lim && i + 8 <= w.cap) {
    memcpy(&wp, p + i, 8);
    memcpy(&wq, q + i, 8);
    if (wp != wq || has_zero(wp)) break;
    i += 8;
  }
  for (;; i++) {
    if (i >= lim) { /* a string runs to the end of its region */
      x->status = RF_BPF_MEMFAULT;
      x->fault_addr = i >= sa ? a[0] + i : a[1] + i;
      return 0;
    }
    if (i >= w.cap) { rf_charge(x, x->left); return 0; } /* over the budget */
    if (p[i] != q[i] || p[i] == 0) break;
  }
  w.done = i;
  if (!charge_work(x, &w)) return 0;
  return (uint64_t)(int64_t)((int)p[i] - (int)q[i]);
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
      case 148: case 164: case 165: case 166: case 167: case 1000: case 1001: case 1002: return h_embedder;
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
