/* ringflow eBPF engine internals: shared by check.c, interp.c, maps.c, helpers.c. */
#ifndef RINGFLOW_BPF_INTERNAL_H
#define RINGFLOW_BPF_INTERNAL_H

#include "bpf.h"
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <string.h>

#define RF_LIKELY(x) __builtin_expect(!!(x), 1)
#define RF_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Opaque values a program sees for a map (ld_imm64 src 1/5) and a code address (src 4). They are
 * non-canonical x86-64/arm64 addresses: never inside a region, so dereferencing them faults. */
#define RF_TAG_MASK 0xffffffff00000000ull
#define RF_MAP_TAG 0xb9f0ab0000000000ull
#define RF_CODE_TAG 0xb9f0c00000000000ull

/* ---- maps -------------------------------------------------------------------------------- */

struct rf_bpf_map {
  atomic_int refs;
  uint32_t type, key_size, value_size, max_entries, flags;
  uint32_t stride;        /* round_up(value_size, 8) */
  uint8_t *values;        /* array: storage; hash: value pool (slot i at i*stride); ringbuf: data */
  size_t values_len;
  pthread_mutex_t lock;   /* hash and ringbuf structure */
  /* hash */
  uint8_t *keys;          /* slot i at i*key_size */
  uint32_t *next;         /* chain link per slot; free list when unused */
  uint32_t *buckets;      /* head slot per bucket, RF_NIL if empty */
  uint8_t *used;
  uint32_t nbuckets, free_head, count;
  uint64_t seed;          /* keyed hash: random per map, so keys cannot be chosen to collide */
  /* ringbuf */
  uint64_t cons, prod;    /* byte positions, monotonic; data index = pos & (size - 1) */
};
#define RF_NIL 0xffffffffu

/* Work of a map operation, in bytes (RF_BPF_CHARGE_BYTES per instruction of budget): keys hashed
 * and compared, values copied, RF_MAP_PROBE_BYTES + key size per hash chain link followed past the first
 * RF_MAP_FREE_PROBES (covered by the helper's fixed charge). An operation stops early, changing
 * nothing, as soon as done would pass cap. */
#define RF_MAP_FREE_PROBES 4u
#define RF_MAP_PROBE_BYTES 64u /* a dependent load that may miss the cache */
typedef struct rf_work { uint64_t done, cap; } rf_work;
#define RF_WORK_ANY ((rf_work){0, UINT64_MAX})
static inline bool rf_work_add(rf_work *w, uint64_t n) {
  w->done = n > UINT64_MAX - w->done ? UINT64_MAX : w->done + n;
  return w->done <= w->cap;
}
static inline bool rf_work_over(const rf_work *w) { return w->done > w->cap; }

/* Program-side operations (pointers already validated by the caller); over the allowance they
 * return NULL / -E2BIG and leave the map as it was. */
void *rf_map_lookup_ptr(rf_bpf_map *m, const void *key, rf_work *w);
long rf_map_update_ptr(rf_bpf_map *m, const void *key, const void *value, uint64_t flags, rf_work *w);
long rf_map_delete_ptr(rf_bpf_map *m, const void *key, rf_work *w);
/* Ring buffer producer: payload pointer of a new busy record of size bytes, NULL when full. */
void *rf_ringbuf_reserve(rf_bpf_map *m, uint64_t size);
void rf_ringbuf_commit(rf_bpf_map *m, void *payload, bool discard);
uint64_t rf_ringbuf_query(rf_bpf_map *m, uint64_t flags);

/* ---- programs ---------------------------------------------------------------------------- */

/* Handler kinds: one per specialised interpreter label. */
#define RF_ALU_OPS(M, W) \
  M(ADD##W##K) M(ADD##W##X) M(SUB##W##K) M(SUB##W##X) M(MUL##W##K) M(MUL##W##X) \
  M(DIV##W##K) M(DIV##W##X) M(SDIV##W##K) M(SDIV##W##X) M(MOD##W##K) M(MOD##W##X) \
  M(SMOD##W##K) M(SMOD##W##X) M(OR##W##K) M(OR##W##X) M(AND##W##K) M(AND##W##X) \
  M(XOR##W##K) M(XOR##W##X) M(LSH##W##K) M(LSH##W##X) M(RSH##W##K) M(RSH##W##X) \
  M(ARSH##W##K) M(ARSH##W##X) M(MOV##W##K) M(MOV##W##X) M(NEG##W)
#define RF_JMP_OPS(M, W) \
  M(JEQ##W##K) M(JEQ##W##X) M(JGT##W##K) M(JGT##W##X) M(JGE##W##K) M(JGE##W##X) \
  M(JSET##W##K) M(JSET##W##X) M(JNE##W##K) M(JNE##W##X) M(JSGT##W##K) M(JSGT##W##X) \
  M(JSGE##W##K) M(JSGE##W##X) M(JLT##W##K) M(JLT##W##X) M(JLE##W##K) M(JLE##W##X) \
  M(JSLT##W##K) M(JSLT##W##X) M(JSLE##W##K) M(JSLE##W##X)
#define RF_ATOMIC_OPS(M, W) \
  M(AADD##W) M(AOR##W) M(AAND##W) M(AXOR##W) M(AFADD##W) M(AFOR##W) M(AFAND##W) M(AFXOR##W) \
  M(AXCHG##W) M(ACMPXCHG##W)
#define RF_KINDS(M) \
  M(BAD) M(SLOT2) \
  RF_ALU_OPS(M, 64) RF_ALU_OPS(M, 32) \
  M(MOVSX8_64) M(MOVSX16_64) M(MOVSX32_64) M(MOVSX8_32) M(MOVSX16_32) \
  M(LE16) M(LE32) M(LE64) M(BE16) M(BE32) M(BE64) \
  M(JA) RF_JMP_OPS(M, 64) RF_JMP_OPS(M, 32) \
  M(CALL) M(CALL_MAP_LOOKUP) M(CALL_LOCAL) M(CALL_LOOP) M(CALL_UNWIND) M(EXIT) \
  M(LDXB) M(LDXH) M(LDXW) M(LDXDW) M(LDXSB) M(LDXSH) M(LDXSW) \
  M(STB) M(STH) M(STW) M(STDW) M(STXB) M(STXH) M(STXW) M(STXDW) \
  RF_ATOMIC_OPS(M, 32) RF_ATOMIC_OPS(M, 64) \
  M(LDDW)

#define RF_KIND_ENUM(k) RK_##k,
enum rf_kind { RF_KINDS(RF_KIND_ENUM) RK__COUNT };

typedef struct rf_exec rf_exec;
/* A helper implemented by the engine: args = r1..r5; may set x->status to stop the run. */
typedef uint64_t (*rf_helper_impl)(rf_exec *x, uint32_t id, const uint64_t *args);

/* A pre-decoded instruction. */
typedef struct rf_dinsn {
  const void *h;  /* interpreter label (threaded code) */
  uint8_t dst, src, kind, _pad;
  int32_t off;    /* memory offset; jumps and local calls: relative target (pc += off) */
  uint64_t imm;   /* pre-extended immediate; LDDW: the 64-bit value; CALL: rf_helper_impl;
                   * CALL_*: helper id in off */
} rf_dinsn;

typedef struct rf_map_region { uint64_t base, len; uint32_t writable; } rf_map_region;

struct rf_bpf_prog {
  atomic_int refs;
  uint64_t id;            /* unique per program created in this process (never reused) */
  uint32_t n;             /* instructions (the decoded array has n + 1 entries: a BAD sentinel) */
  uint32_t helper_set;
  uint32_t nmaps, nregions;
  rf_bpf_map *maps[RF_BPF_MAX_MAPS];
  rf_map_region regions[RF_BPF_MAX_MAPS]; /* value storage of array/hash maps */
  rf_dinsn *code;
  rf_bpf_trace *trace;    /* where bpf_trace_printk writes (NULL: nowhere) */
  void *jit;              /* x86-64 code compiled by jit.c, NULL: interpreted */
  size_t jit_len;
};

/* check.c: validates raw instructions and fills code[0..n] with kinds and operands. */
int rf_check_decode(const void *raw, uint32_t n, rf_bpf_map *const *maps, uint32_t nmaps,
                    uint32_t helper_set, rf_dinsn *code, uint32_t *err_pc);
/* helpers.c: the implementation for helper id in a set; NULL if unknown. *kind is set to
 * RK_CALL, or RK_CALL_LOOP / RK_CALL_UNWIND for helpers the interpreter runs inline. */
rf_helper_impl rf_helper_find(uint32_t helper_set, int32_t id, enum rf_kind *kind);
/* interp.c: the label table (index: enum rf_kind). */
const void *const *rf_interp_labels(void);

/* ---- runs -------------------------------------------------------------------------------- */

typedef struct rf_resv { uint64_t base, len; rf_bpf_map *map; } rf_resv;

struct rf_exec {
  rf_bpf_run *run;
  const rf_bpf_prog *prog;
  uint64_t stack_lo, stack_hi;           /* accessible stack: current + parent frames */
  rf_bpf_hit c[RF_BPF_HIT_CACHE]; /* regions hit last, most recent first */
  int status;
  uint64_t fault_addr;
  uint64_t left;        /* during a helper call: the budget left + 1 (rf_bpf_charge takes from it) */
  uint32_t nresv;
  rf_resv resv[RF_BPF_MAX_RESERVATIONS];
};

/* Zeroes a stack frame through libc's memset (vector stores): with the size visible GCC inlines
 * `rep stos`, whose start-up cost showed as ~15 % of a short program run. */
static inline void rf_zero_frame(void *p) {
  size_t n = RF_BPF_STACK_SIZE;
  __asm__("" : "+r"(n)); /* hide the constant */
  memset(p, 0, n);
}

/* jit.c: compiles p (sets p->jit) when the host and the program allow it; frees that code; runs a
 * compiled program with the interpreter's semantics (x prepared by rf_bpf_prog_run). */
void rf_jit_prepare(rf_bpf_prog *p);
void rf_jit_release(rf_bpf_prog *p);
int rf_jit_exec(rf_exec *x, uint64_t budget, uint8_t *top);
/* The run without the compiled code (the differential test's reference). */
int rf_bpf_prog_run_interpreted(const rf_bpf_prog *p, rf_bpf_run *run);
#define RF_BPF_STACK_AREA (RF_BPF_MAX_FRAMES * RF_BPF_STACK_SIZE)
/* bpf_loop's charges beyond the instructions it runs (interp.c; measured like helpers.c's): the
 * call (a frame pushed and popped) and each iteration (the callback's re-entry). */
#define RF_CHARGE_LOOP_CALL 12u
#define RF_CHARGE_LOOP_ITER 1u

/* Region lookup past the stack and the first two hit-cache entries (the JIT checked those). */
bool rf_mem_after_hits(rf_exec *x, uint64_t addr, uint64_t len, bool write);
/* Region lookup without the stack fast path; updates the cache on a hit. */
bool rf_mem_slow(rf_exec *x, uint64_t addr, uint64_t len, bool write);
/* Bytes readable from addr up to the end of its region (0 if none). For strings. */
uint64_t rf_mem_span(rf_exec *x, uint64_t addr);
/* Checked host pointer or NULL (records the fault in x). */
static inline void *rf_mem(rf_exec *x, uint64_t addr, uint64_t len, bool write) {
  if (len == 0) return (void *)(uintptr_t)addr;
  if (rf_mem_slow(x, addr, len, write)) return (void *)(uintptr_t)addr;
  x->status = RF_BPF_MEMFAULT;
  x->fault_addr = addr;
  return NULL;
}
/* The map a tagged handle names, or NULL. */
static inline rf_bpf_map *rf_map_from_handle(rf_exec *x, uint64_t v) {
  if ((v & RF_TAG_MASK) != RF_MAP_TAG) return NULL;
  uint32_t i = (uint32_t)v;
  return i < x->prog->nmaps ? x->prog->maps[i] : NULL;
}

#endif
