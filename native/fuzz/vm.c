/* libFuzzer target: the eBPF VM's ELF-free entry (rf_bpf_prog_create with its native checks),
 * every program run compiled and interpreted from the same start, which must agree.
 * fuzz-sources: native/bpf/interp.c native/bpf/jit.c native/bpf/check.c native/bpf/helpers.c native/bpf/maps.c
 *
 * Input: an 8-byte header, the bytes of the two run regions, then the instruction stream:
 *   [0] bits 0-1: helper set (0 standard, 1 conformance, 2 ring with the fuzz embedder's helpers,
 *       3 standard); bit 2: region 2 read-only; bit 3: no maps
 *   [1..2] budget - 1 (little-endian u16: budgets 1..65536)
 *   [3] length of region 1, [4] length of region 2 (0..255 bytes each)
 *   [5..7] the embedder helper's charge scale and the prandom seed
 * Region 1 ends at a PROT_NONE page, region 2 starts right after one: a stray access by compiled
 * code (which ASan does not instrument) faults at once. r1 = region 1, r2 = its length, r3 =
 * region 2, r4 = its length. The maps are those of tools/fuzz-jit.ts (FUZZ_MAPS) plus a ring
 * buffer at index 6, reset to the same contents before each run.
 *
 * VM_FUZZ_VERBOSE=1 in the environment prints each run's outcome.
 * Compared: status, r0, insns, fault pc (stops), fault address (memory faults, helper stops),
 * both regions, every map's contents, the trace output. Programs calling bpf_ktime_get_ns are
 * skipped (the clock differs between the runs). */
#include "../bpf/internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NMAPS 7
#define MAX_FUZZ_INSNS 512u

static void fail(const char *what, unsigned long long a, unsigned long long b) {
  fprintf(stderr, "vm fuzz: compiled and interpreted runs differ: %s (compiled 0x%llx, interpreted 0x%llx)\n", what, a, b);
  abort();
}

/* ---- maps: created once, reset from a snapshot before each run ---- */

typedef struct snapshot {
  uint8_t *values, *keys, *used;
  uint32_t *next, *buckets;
  uint32_t free_head, count;
  uint64_t cons, prod;
} snapshot;

static rf_bpf_map *maps[NMAPS];
static snapshot snaps[NMAPS], after[2][NMAPS];

static void *copy_of(const void *p, size_t n) {
  void *q = malloc(n ? n : 1);
  if (!q) abort();
  if (n) memcpy(q, p, n);
  return q;
}

static void take(rf_bpf_map *m, snapshot *s) {
  s->values = copy_of(m->values, m->values_len);
  if (m->type == RF_BPF_MAP_HASH) {
    s->keys = copy_of(m->keys, (size_t)m->max_entries * m->key_size);
    s->used = copy_of(m->used, m->max_entries);
    s->next = copy_of(m->next, sizeof(uint32_t) * m->max_entries);
    s->buckets = copy_of(m->buckets, sizeof(uint32_t) * m->nbuckets);
  }
  s->free_head = m->free_head;
  s->count = m->count;
  s->cons = m->cons;
  s->prod = m->prod;
}

static void drop(snapshot *s) {
  free(s->values);
  free(s->keys);
  free(s->used);
  free(s->next);
  free(s->buckets);
  memset(s, 0, sizeof *s);
}

static void restore(rf_bpf_map *m, const snapshot *s) {
  memcpy(m->values, s->values, m->values_len);
  if (m->type == RF_BPF_MAP_HASH) {
    memcpy(m->keys, s->keys, (size_t)m->max_entries * m->key_size);
    memcpy(m->used, s->used, m->max_entries);
    memcpy(m->next, s->next, sizeof(uint32_t) * m->max_entries);
    memcpy(m->buckets, s->buckets, sizeof(uint32_t) * m->nbuckets);
  }
  m->free_head = s->free_head;
  m->count = s->count;
  m->cons = s->cons;
  m->prod = s->prod;
}

static void compare_maps(void) {
  for (int i = 0; i < NMAPS; i++) {
    const snapshot *a = &after[0][i], *b = &after[1][i];
    const rf_bpf_map *m = maps[i];
    if (memcmp(a->values, b->values, m->values_len)) fail("map values", (unsigned long long)i, (unsigned long long)i);
    if (a->count != b->count || a->free_head != b->free_head || a->cons != b->cons || a->prod != b->prod)
      fail("map state", a->count, b->count);
    if (m->type == RF_BPF_MAP_HASH &&
        (memcmp(a->keys, b->keys, (size_t)m->max_entries * m->key_size) || memcmp(a->used, b->used, m->max_entries) ||
         memcmp(a->next, b->next, sizeof(uint32_t) * m->max_entries) ||
         memcmp(a->buckets, b->buckets, sizeof(uint32_t) * m->nbuckets)))
      fail("hash map structure", (unsigned long long)i, (unsigned long long)i);
  }
}

static void make_maps(void) {
  static const struct { uint32_t type, key, value, entries, flags; } spec[NMAPS] = {
      {RF_BPF_MAP_ARRAY, 4, 16, 2, 0},                    /* A */
      {RF_BPF_MAP_HASH, 4, 8, 2, 0},                      /* H */
      {RF_BPF_MAP_ARRAY, 4, 8, 1, RF_BPF_F_RDONLY_PROG},  /* R */
      {RF_BPF_MAP_ARRAY, 4, 8, 1, 0},                     /* B */
      {RF_BPF_MAP_ARRAY, 4, 12, 2, 0},                    /* C */
      {RF_BPF_MAP_ARRAY, 4, 24, 1, RF_BPF_F_RDONLY_PROG}, /* S */
      {RF_BPF_MAP_RINGBUF, 0, 0, 4096, 0},                /* ring buffer */
  };
  for (int i = 0; i < NMAPS; i++) {
    if (rf_bpf_map_create(spec[i].type, spec[i].key, spec[i].value, spec[i].entries, spec[i].flags, &maps[i]))
      abort();
    if (spec[i].type == RF_BPF_MAP_ARRAY)
      for (size_t k = 0; k < maps[i]->values_len; k++) maps[i]->values[k] = (uint8_t)(0x80 + 37 * k);
    take(maps[i], &snaps[i]);
  }
}

/* ---- run regions next to guard pages ---- */

static uint8_t *page1, *page2; /* region 1 ends at page1's end, region 2 starts at page2 */
static size_t pagesz;

static void make_regions(void) {
  pagesz = (size_t)sysconf(_SC_PAGESIZE);
  uint8_t *m = mmap(NULL, 5 * pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) abort();
  /* guard | page1 | guard | page2 | guard */
  if (mprotect(m, pagesz, PROT_NONE) || mprotect(m + 2 * pagesz, pagesz, PROT_NONE) ||
      mprotect(m + 4 * pagesz, pagesz, PROT_NONE))
    abort();
  page1 = m + pagesz;
  page2 = m + 3 * pagesz;
}

/* ---- the embedder's helpers (helper set 2): charge, check, read or write ---- */

static uint32_t charge_scale;

static int embedder(rf_bpf_run *run, uint32_t id, const uint64_t a[5], uint64_t *r0) {
  rf_bpf_charge(run, (a[0] & 0xffff) * charge_scale); /* may stop the run: then no work below */
  uint64_t len = a[2] & 0x1ff;
  bool write = id & 1;
  uint8_t *p = rf_bpf_check(run, a[1], len, write);
  if (!p) return rf_bpf_fault(run, a[1]);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < len; i++) {
    if (write) p[i] = (uint8_t)(a[3] + i);
    else sum = sum * 31 + p[i];
  }
  *r0 = sum ^ id;
  return id == 1000 && a[4] == 7 ? RF_BPF_HELPER : RF_BPF_OK; /* a helper that stops the run */
}

/* ---- one run ---- */

typedef struct outcome {
  int status;
  uint64_t r0, insns, fault_pc, fault_addr;
  uint8_t r1[256], r2[256];
  char trace[RF_BPF_TRACE_CAP];
  size_t trace_len;
} outcome;

static outcome out[2];

/* One call site for both modes: the two runs then use the same stack address. */
static __attribute__((noinline)) void run_mode(const rf_bpf_prog *p, rf_bpf_run *run, bool compiled) {
  int (*fn)(const rf_bpf_prog *, rf_bpf_run *) = compiled ? rf_bpf_prog_run : rf_bpf_prog_run_interpreted;
  fn(p, run);
}

static void run_once(const rf_bpf_prog *p, rf_bpf_trace *trace, int k, const uint8_t *hdr, const uint8_t *m1,
                     size_t n1, const uint8_t *m2, size_t n2) {
  uint8_t *r1 = page1 + pagesz - n1, *r2 = page2;
  memcpy(r1, m1, n1);
  memcpy(r2, m2, n2);
  for (int i = 0; i < NMAPS; i++) restore(maps[i], &snaps[i]);
  rf_bpf_run run;
  rf_bpf_run_init(&run);
  run.budget = 1 + (uint64_t)(hdr[1] | hdr[2] << 8);
  run.prandom = 0x9e3779b97f4a7c15ull ^ hdr[7];
  run.helper = embedder;
  run.args[0] = (uint64_t)(uintptr_t)r1;
  run.args[1] = n1;
  run.args[2] = (uint64_t)(uintptr_t)r2;
  run.args[3] = n2;
  if (n1) rf_bpf_run_add_region(&run, r1, n1, true);
  if (n2) rf_bpf_run_add_region(&run, r2, n2, !(hdr[0] & 4));
  run_mode(p, &run, k == 0);
  outcome *o = &out[k];
  o->status = run.status;
  o->r0 = run.r0;
  o->insns = run.insns;
  o->fault_pc = run.fault_pc;
  o->fault_addr = run.fault_addr;
  memcpy(o->r1, r1, n1);
  memcpy(o->r2, r2, n2);
  o->trace_len = rf_bpf_trace_read(trace, o->trace, sizeof o->trace);
  for (int i = 0; i < NMAPS; i++) take(maps[i], &after[k][i]);
}

static bool calls_clock(const uint8_t *insns, uint32_t n, uint32_t set) {
  if (set == RF_BPF_HELPERS_CONFORMANCE) return false;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *x = insns + 8 * i;
    int32_t imm;
    memcpy(&imm, x + 4, 4);
    if (x[0] == 0x85 && (x[1] >> 4) == 0 && imm == 5) return true;
  }
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready) {
    make_maps();
    make_regions();
    ready = true;
  }
  if (size < 8) return 0;
  const uint8_t *hdr = data;
  size_t n1 = hdr[3], n2 = hdr[4];
  if (size < 8 + n1 + n2 + 8) return 0;
  const uint8_t *m1 = data + 8, *m2 = m1 + n1, *code = m2 + n2;
  uint32_t n = (uint32_t)((size - 8 - n1 - n2) / 8);
  if (n > MAX_FUZZ_INSNS) n = MAX_FUZZ_INSNS;
  uint32_t set = hdr[0] & 3;
  if (set == 3) set = RF_BPF_HELPERS_STANDARD;
  if (calls_clock(code, n, set)) return 0;
  charge_scale = hdr[5] | (uint32_t)hdr[6] << 8;
  uint8_t *insns = copy_of(code, (size_t)n * 8); /* aligned copy, as the binding makes */
  uint32_t err_pc = 0, nmaps = (hdr[0] & 8) ? 0 : NMAPS;
  rf_bpf_prog *p = NULL;
  int rc = rf_bpf_prog_create(insns, n, maps, nmaps, set, &p, &err_pc);
  free(insns);
  if (rc) {
    if (rc > 0 || err_pc >= n) abort(); /* -RF_BPF_REJ_* with a pc inside the stream, or -errno */
    return 0;
  }
  rf_bpf_trace *trace = rf_bpf_trace_create();
  if (!trace) abort();
  rf_bpf_prog_set_trace(p, trace);
  rf_jit_prepare(p);
  run_once(p, trace, 0, hdr, m1, n1, m2, n2);
  run_once(p, trace, 1, hdr, m1, n1, m2, n2);
  const outcome *c = &out[0], *i = &out[1];
  if (c->status != i->status) fail("status", (unsigned long long)c->status, (unsigned long long)i->status);
  if (c->r0 != i->r0) fail("r0", c->r0, i->r0);
  if (c->insns != i->insns) fail("insns", c->insns, i->insns);
  if (c->status == RF_BPF_BUDGET && c->insns != 1 + (uint64_t)(hdr[1] | hdr[2] << 8)) fail("insns at a budget stop", c->insns, 0);
  if (c->status != RF_BPF_OK && c->fault_pc != i->fault_pc) fail("fault pc", c->fault_pc, i->fault_pc);
  if ((c->status == RF_BPF_MEMFAULT || c->status == RF_BPF_HELPER) && c->fault_addr != i->fault_addr)
    fail("fault address", c->fault_addr, i->fault_addr);
  if (memcmp(c->r1, i->r1, n1)) fail("region 1", 0, 0);
  if (memcmp(c->r2, i->r2, n2)) fail("region 2", 0, 0);
  if (c->trace_len != i->trace_len || memcmp(c->trace, i->trace, c->trace_len)) fail("trace output", c->trace_len, i->trace_len);
  compare_maps();
  static int verbose = -1;
  if (verbose < 0) verbose = getenv("VM_FUZZ_VERBOSE") != NULL;
  if (verbose)
    fprintf(stderr, "vm fuzz: %u insns, %s, status %d, r0 0x%llx, insns %llu, fault pc %llu\n", n, p->jit ? "compiled" : "interpreted",
            c->status, (unsigned long long)c->r0, (unsigned long long)c->insns, (unsigned long long)c->fault_pc);
  for (int k = 0; k < 2; k++)
    for (int j = 0; j < NMAPS; j++) drop(&after[k][j]);
  rf_bpf_prog_put(p);
  rf_bpf_trace_put(trace);
  return 0;
}
