/* The RFC 9669 (CPU v4) interpreter: threaded code (GCC labels-as-values) over instructions that
 * check.c pre-decoded, one specialised label per operation and operand form. Every memory access
 * is checked against the run's regions (stack fast path, then a last-hit cache, then the lists);
 * every instruction is counted against the budget. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the eBPF engine assumes a little-endian host (to_le is a truncation, to_be a swap)"
#endif

typedef struct rf_frame {
  const rf_dinsn *ret;     /* where EXIT continues in the caller */
  uint64_t saved[4];       /* caller's r6..r9 */
  const rf_dinsn *loop_cb; /* bpf_loop frame: the callback, NULL for a plain call */
  uint64_t loop_i, loop_nr, loop_ctx;
} rf_frame;

static inline uint64_t sdiv64(uint64_t a, uint64_t b) {
  if (b == 0) return 0;
  if ((int64_t)b == -1) return 0 - a; /* INT64_MIN / -1 = INT64_MIN, no trap */
  return (uint64_t)((int64_t)a / (int64_t)b);
}
static inline uint64_t smod64(uint64_t a, uint64_t b) {
  if (b == 0) return a;
  if ((int64_t)b == -1) return 0;
  return (uint64_t)((int64_t)a % (int64_t)b);
}
static inline uint32_t sdiv32(uint32_t a, uint32_t b) {
  if (b == 0) return 0;
  if ((int32_t)b == -1) return 0 - a;
  return (uint32_t)((int32_t)a / (int32_t)b);
}
static inline uint32_t smod32(uint32_t a, uint32_t b) {
  if (b == 0) return a;
  if ((int32_t)b == -1) return 0;
  return (uint32_t)((int32_t)a % (int32_t)b);
}

/* Remembers a region as the most recent hit; the oldest is forgotten. */
static inline void hit_insert(rf_exec *x, uint64_t base, uint64_t len, uint32_t w) {
  for (uint32_t i = RF_BPF_HIT_CACHE - 1; i > 0; i--) x->c[i] = x->c[i - 1];
  x->c[0].base = base;
  x->c[0].len = len;
  x->c[0].writable = w;
}

static bool in_list_r(const rf_bpf_region *r, uint32_t n, uint64_t a, uint64_t len, bool w,
                      rf_exec *x) {
  for (uint32_t i = 0; i < n; i++) {
    uint64_t o = a - r[i].base;
    if (o < r[i].len && len <= r[i].len - o && (!w || r[i].writable)) {
      if (x) hit_insert(x, r[i].base, r[i].len, r[i].writable);
      return true;
    }
  }
  return false;
}

/* The regions past the stack: the recent hits from c[from] on (a program touches a few regions,
 * map values, ctx, a buffer, in turn), then the program's and the run's lists. */
static bool mem_search(rf_exec *x, uint64_t a, uint64_t len, bool w, uint32_t from) {
  uint64_t o;
  for (uint32_t i = from; i < RF_BPF_HIT_CACHE; i++) {
    o = a - x->c[i].base;
    if (o < x->c[i].len && len <= x->c[i].len - o && (!w || x->c[i].writable)) {
      if (i) { /* to the front, swapping places with the previous front */
        __typeof__(x->c[0]) t = x->c[i];
        x->c[i] = x->c[0];
        x->c[0] = t;
      }
      return true;
    }
  }
  const rf_bpf_prog *p = x->prog;
  for (uint32_t i = 0; i < p->nregions; i++) {
    const rf_map_region *r = &p->regions[i];
    o = a - r->base;
    if (o < r->len && len <= r->len - o && (!w || r->writable)) {
      hit_insert(x, r->base, r->len, r->writable);
      return true;
    }
  }
  if (in_list_r(x->run->regions, x->run->nregions, a, len, w, x)) return true;
  for (uint32_t i = 0; i < x->nresv; i++) {
    o = a - x->resv[i].base;
    if (o < x->resv[i].len && len <= x->resv[i].len - o) return true; /* not cached: transient */
  }
  return false;
}

bool rf_mem_slow(rf_exec *x, uint64_t a, uint64_t len, bool w) {
  uint64_t o = a - x->stack_lo;
  if (o < x->stack_hi - x->stack_lo && len <= x->stack_hi - x->stack_lo - o) return true;
  return mem_search(x, a, len, w, 0);
}

uint64_t rf_mem_span(rf_exec *x, uint64_t a) {
  uint64_t best = 0, o;
#define SPAN(base, len) do { o = a - (base); if (o < (len) && (len) - o > best) best = (len) - o; } while (0)
  SPAN(x->stack_lo, x->stack_hi - x->stack_lo);
  for (uint32_t i = 0; i < x->prog->nregions; i++) SPAN(x->prog->regions[i].base, x->prog->regions[i].len);
  for (uint32_t i = 0; i < x->run->nregions; i++) SPAN(x->run->regions[i].base, x->run->regions[i].len);
  for (uint32_t i = 0; i < x->nresv; i++) SPAN(x->resv[i].base, x->resv[i].len);
#undef SPAN
  return best;
}

static inline bool mem_cached(rf_exec *x, uint64_t a, uint64_t len, bool w) {
  /* (the interpreter checked the stack) the two most recent regions inline: programs alternate
   * between two map values often; then the rest */
  uint64_t o = a - x->c[0].base;
  if (RF_LIKELY(o < x->c[0].len && len <= x->c[0].len - o && (!w || x->c[0].writable))) return true;
  o = a - x->c[1].base;
  if (RF_LIKELY(o < x->c[1].len && len <= x->c[1].len - o && (!w || x->c[1].writable))) return true;
  return mem_search(x, a, len, w, 2);
}

bool rf_mem_after_hits(rf_exec *x, uint64_t a, uint64_t len, bool w) { return mem_search(x, a, len, w, 2); }

/* stack: RF_BPF_MAX_FRAMES frames, frame 0 at the top (the caller's, so that a compiled and an
 * interpreted run from the same caller see the same addresses) */
static int interp(rf_exec *x, const void *const **labels_out, uint8_t *stack, uint64_t budget) {
#define RF_LBL(k) &&L_##k,
  static const void *const labels[RK__COUNT] = {RF_KINDS(RF_LBL)};
#undef RF_LBL
  if (labels_out) {
    *labels_out = labels;
    return 0;
  }

  const rf_bpf_prog *p = x->prog;
  rf_bpf_run *run = x->run;
  const rf_dinsn *const base = p->code;
  const rf_dinsn *pc = base;
  rf_frame frames[RF_BPF_MAX_FRAMES];
  uint64_t reg[11];
  uint32_t depth = 0, zeroed = 0;
  uint64_t left = budget + 1;

  uint64_t shi = (uint64_t)(uintptr_t)(stack + RF_BPF_STACK_AREA);
  uint64_t slo = shi - RF_BPF_STACK_SIZE, sspan = RF_BPF_STACK_SIZE;
  rf_zero_frame(stack + RF_BPF_STACK_AREA - RF_BPF_STACK_SIZE);
  x->stack_lo = slo;
  x->stack_hi = shi;
  reg[0] = 0;
  for (int i = 0; i < 5; i++) reg[i + 1] = run->args[i];
  reg[6] = reg[7] = reg[8] = reg[9] = 0;
  reg[10] = shi;

#define DST reg[pc->dst]
#define SRC reg[pc->src]
#define IMM pc->imm
#define NEXT() do { if (RF_UNLIKELY(--left == 0)) goto out_budget; goto *pc->h; } while (0)
#define STEP() do { pc++; NEXT(); } while (0)
#define FAULT(a) do { x->fault_addr = (a); goto out_fault; } while (0)
#define MEMCHK(A, N, W) do { \
    if (RF_UNLIKELY((A) - slo > sspan - (N)) && RF_UNLIKELY(!mem_cached(x, (A), (N), (W)))) FAULT(A); \
  } while (0)
#define PTR(a) ((void *)(uintptr_t)(a))

  NEXT();

  /* ---- ALU ---- */
#define ALU64(NAME, EXPR) \
  L_##NAME##64K: { uint64_t a = DST, b = IMM; (void)a; DST = (EXPR); STEP(); } \
  L_##NAME##64X: { uint64_t a = DST, b = SRC; (void)a; DST = (EXPR); STEP(); }
#define ALU32(NAME, EXPR) \
  L_##NAME##32K: { uint32_t a = (uint32_t)DST, b = (uint32_t)IMM; (void)a; DST = (uint32_t)(EXPR); STEP(); } \
  L_##NAME##32X: { uint32_t a = (uint32_t)DST, b = (uint32_t)SRC; (void)a; DST = (uint32_t)(EXPR); STEP(); }

  ALU64(ADD, a + b)
  ALU64(SUB, a - b)
  ALU64(MUL, a * b)
  ALU64(DIV, b ? a / b : 0)
  ALU64(SDIV, sdiv64(a, b))
  ALU64(MOD, b ? a % b : a)
  ALU64(SMOD, smod64(a, b))
  ALU64(OR, a | b)
  ALU64(AND, a & b)
  ALU64(XOR, a ^ b)
  ALU64(LSH, a << (b & 63))
  ALU64(RSH, a >> (b & 63))
  ALU64(ARSH, (uint64_t)((int64_t)a >> (b & 63)))
  ALU64(MOV, b)
  ALU32(ADD, a + b)
  ALU32(SUB, a - b)
  ALU32(MUL, a * b)
  ALU32(DIV, b ? a / b : 0)
  ALU32(SDIV, sdiv32(a, b))
  ALU32(MOD, b ? a % b : a)
  ALU32(SMOD, smod32(a, b))
  ALU32(OR, a | b)
  ALU32(AND, a & b)
  ALU32(XOR, a ^ b)
  ALU32(LSH, a << (b & 31))
  ALU32(RSH, a >> (b & 31))
  ALU32(ARSH, (uint32_t)((int32_t)a >> (b & 31)))
  ALU32(MOV, b)
L_NEG64: DST = 0 - DST; STEP();
L_NEG32: DST = (uint32_t)(0 - (uint32_t)DST); STEP();
L_MOVSX8_64: DST = (uint64_t)(int64_t)(int8_t)SRC; STEP();
L_MOVSX16_64: DST = (uint64_t)(int64_t)(int16_t)SRC; STEP();
L_MOVSX32_64: DST = (uint64_t)(int64_t)(int32_t)SRC; STEP();
L_MOVSX8_32: DST = (uint32_t)(int32_t)(int8_t)SRC; STEP();
L_MOVSX16_32: DST = (uint32_t)(int32_t)(int16_t)SRC; STEP();
L_LE16: DST = (uint16_t)DST; STEP();
L_LE32: DST = (uint32_t)DST; STEP();
L_LE64: STEP();
L_BE16: DST = __builtin_bswap16((uint16_t)DST); STEP();
L_BE32: DST = __builtin_bswap32((uint32_t)DST); STEP();
L_BE64: DST = __builtin_bswap64(DST); STEP();

  /* ---- jumps ---- */
L_JA: pc += pc->off; NEXT();
#define JCMP(NAME, W, T, EXPR) \
  L_##NAME##W##K: { T a = (T)DST, b = (T)IMM; pc += (EXPR) ? pc->off : 1; NEXT(); } \
  L_##NAME##W##X: { T a = (T)DST, b = (T)SRC; pc += (EXPR) ? pc->off : 1; NEXT(); }
#define JCMPS(W, U, S) \
  JCMP(JEQ, W, U, a == b) JCMP(JGT, W, U, a > b) JCMP(JGE, W, U, a >= b) \
  JCMP(JSET, W, U, (a & b) != 0) JCMP(JNE, W, U, a != b) JCMP(JSGT, W, S, a > b) \
  JCMP(JSGE, W, S, a >= b) JCMP(JLT, W, U, a < b) JCMP(JLE, W, U, a <= b) \
  JCMP(JSLT, W, S, a < b) JCMP(JSLE, W, S, a <= b)
  JCMPS(64, uint64_t, int64_t)
  JCMPS(32, uint32_t, int32_t)

  /* ---- calls ---- */
L_CALL:
  x->left = left; /* what the helper's charges take from */
  reg[0] = ((rf_helper_impl)(uintptr_t)IMM)(x, (uint32_t)pc->off, &reg[1]);
  left = x->left;
  if (RF_UNLIKELY(x->status)) {
    if (x->status == RF_BPF_BUDGET) goto out_budget; /* charged more than was left */
    goto out_stop;
  }
  STEP();

L_CALL_MAP_LOOKUP: {
  /* bpf_map_lookup_elem on an array map with its key on the stack: h_map_lookup's checks and
   * lookup without the calls (programs look up their state on every run); else the helper */
  uint64_t h = reg[1], k = reg[2];
  if ((h & RF_TAG_MASK) == RF_MAP_TAG && (uint32_t)h < p->nmaps && k - slo <= sspan - 4) {
    const rf_bpf_map *m = p->maps[(uint32_t)h];
    if (m->type == RF_BPF_MAP_ARRAY) {
      uint32_t i;
      memcpy(&i, PTR(k), 4);
      reg[0] = i < m->max_entries ? (uint64_t)(uintptr_t)(m->values + (size_t)i * m->stride) : 0;
      STEP();
    }
  }
  goto L_CALL;
}

#define PUSH_FRAME(RET, CB) do { \
    if (RF_UNLIKELY(depth + 1 >= RF_BPF_MAX_FRAMES)) { x->status = RF_BPF_CALLDEPTH; goto out_stop; } \
    rf_frame *f_ = &frames[depth++]; \
    f_->ret = (RET); f_->loop_cb = (CB); \
    memcpy(f_->saved, &reg[6], sizeof f_->saved); \
    reg[10] = slo; slo -= RF_BPF_STACK_SIZE; sspan += RF_BPF_STACK_SIZE; x->stack_lo = slo; \
    if (depth > zeroed) { rf_zero_frame(PTR(slo)); zeroed = depth; } \
  } while (0)

L_CALL_LOCAL:
  PUSH_FRAME(pc + 1, NULL);
  pc += pc->off;
  NEXT();

L_CALL_LOOP: {
  uint64_t nr = (uint32_t)reg[1], cb = reg[2], ctx = reg[3];
  if (reg[4] != 0) { reg[0] = (uint64_t)-EINVAL; STEP(); }
  if (nr > RF_BPF_LOOP_MAX) { reg[0] = (uint64_t)-E2BIG; STEP(); }
  uint64_t t = cb & ~RF_TAG_MASK;
  if ((cb & RF_TAG_MASK) != RF_CODE_TAG || t >= p->n || base[t].kind == RK_SLOT2) {
    x->status = RF_BPF_HELPER;
    x->fault_addr = cb;
    goto out_stop;
  }
  if (nr == 0) { reg[0] = 0; STEP(); }
  if (RF_UNLIKELY(left <= RF_CHARGE_LOOP_CALL)) goto out_budget;
  left -= RF_CHARGE_LOOP_CALL;
  PUSH_FRAME(pc + 1, base + t);
  rf_frame *f = &frames[depth - 1];
  f->loop_i = 0;
  f->loop_nr = nr;
  f->loop_ctx = ctx;
  reg[1] = 0;
  reg[2] = ctx;
  pc = base + t;
  NEXT();
}

L_CALL_UNWIND: /* bpf_conformance helper 5: returns r1; 0 ends the whole program with r0 = 0 */
  reg[0] = reg[1];
  if (reg[0] == 0) goto out_ok;
  STEP();

L_EXIT: {
  if (depth == 0) goto out_ok;
  rf_frame *f = &frames[depth - 1];
  if (f->loop_cb) {
    f->loop_i++;
    if (reg[0] == 0 && f->loop_i < f->loop_nr) { /* next iteration in the same frame */
      if (RF_UNLIKELY(left <= RF_CHARGE_LOOP_ITER)) goto out_budget;
      left -= RF_CHARGE_LOOP_ITER;
      reg[1] = f->loop_i;
      reg[2] = f->loop_ctx;
      pc = f->loop_cb;
      NEXT();
    }
    reg[0] = f->loop_i; /* iterations performed */
  }
  depth--;
  memcpy(&reg[6], f->saved, sizeof f->saved);
  slo += RF_BPF_STACK_SIZE;
  sspan -= RF_BPF_STACK_SIZE;
  reg[10] = slo + RF_BPF_STACK_SIZE;
  x->stack_lo = slo;
  pc = f->ret;
  NEXT();
}

  /* ---- loads and stores ---- */
#define LDX(NAME, T, N, CONV) \
  L_##NAME: { uint64_t a = SRC + (int64_t)pc->off; MEMCHK(a, N, false); \
    T v; memcpy(&v, PTR(a), N); DST = CONV v; STEP(); }
  LDX(LDXB, uint8_t, 1, (uint64_t))
  LDX(LDXH, uint16_t, 2, (uint64_t))
  LDX(LDXW, uint32_t, 4, (uint64_t))
  LDX(LDXDW, uint64_t, 8, (uint64_t))
  LDX(LDXSB, int8_t, 1, (uint64_t)(int64_t))
  LDX(LDXSH, int16_t, 2, (uint64_t)(int64_t))
  LDX(LDXSW, int32_t, 4, (uint64_t)(int64_t))
#define STORE(NAME, T, N, VAL) \
  L_##NAME: { uint64_t a = DST + (int64_t)pc->off; MEMCHK(a, N, true); \
    T v = (T)(VAL); memcpy(PTR(a), &v, N); STEP(); }
  STORE(STB, uint8_t, 1, IMM)
  STORE(STH, uint16_t, 2, IMM)
  STORE(STW, uint32_t, 4, IMM)
  STORE(STDW, uint64_t, 8, IMM)
  STORE(STXB, uint8_t, 1, SRC)
  STORE(STXH, uint16_t, 2, SRC)
  STORE(STXW, uint32_t, 4, SRC)
  STORE(STXDW, uint64_t, 8, SRC)

  /* ---- atomics (naturally aligned, writable memory only) ---- */
#define AADDR(N) \
  uint64_t a = DST + (int64_t)pc->off; MEMCHK(a, N, true); if (RF_UNLIKELY(a & ((N) - 1))) FAULT(a);
#define ATOMICS(W, T, N) \
  L_AADD##W: { AADDR(N) __atomic_fetch_add((T *)PTR(a), (T)SRC, __ATOMIC_SEQ_CST); STEP(); } \
  L_AOR##W: { AADDR(N) __atomic_fetch_or((T *)PTR(a), (T)SRC, __ATOMIC_SEQ_CST); STEP(); } \
  L_AAND##W: { AADDR(N) __atomic_fetch_and((T *)PTR(a), (T)SRC, __ATOMIC_SEQ_CST); STEP(); } \
  L_AXOR##W: { AADDR(N) __atomic_fetch_xor((T *)PTR(a), (T)SRC, __ATOMIC_SEQ_CST); STEP(); } \
  L_AFADD##W: { AADDR(N) SRC = __atomic_fetch_add((T *)PTR(a), (T)SRC, __ATOMIC_SEQ_CST); STEP(); } \
  L_AFOR##W: { AADDR(N) SRC = __atomic_fetch_or((T *)PTR(a), (T)SRC, __ATOMIC_SEQ_CST); STEP(); } \
  L_AFAND##W: { AADDR(N) SRC = __atomic_fetch_and((T *)PTR(a), (T)SRC, __ATOMIC_SEQ_CST); STEP(); } \
  L_AFXOR##W: { AADDR(N) SRC = __atomic_fetch_xor((T *)PTR(a), (T)SRC, __ATOMIC_SEQ_CST); STEP(); } \
  L_AXCHG##W: { AADDR(N) SRC = __atomic_exchange_n((T *)PTR(a), (T)SRC, __ATOMIC_SEQ_CST); STEP(); } \
  L_ACMPXCHG##W: { AADDR(N) T e = (T)reg[0]; \
    __atomic_compare_exchange_n((T *)PTR(a), &e, (T)SRC, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
    reg[0] = e; STEP(); }
  ATOMICS(32, uint32_t, 4)
  ATOMICS(64, uint64_t, 8)

L_LDDW: DST = IMM; pc += 2; NEXT();

L_BAD:
L_SLOT2:
  x->status = RF_BPF_BADINSN;
  goto out_stop;

out_ok:
  run->status = RF_BPF_OK;
  run->r0 = reg[0];
  run->insns = budget + 1 - left;
  return RF_BPF_OK;
out_budget:
  x->status = RF_BPF_BUDGET;
  run->status = RF_BPF_BUDGET;
  run->r0 = reg[0];
  run->insns = budget;
  run->fault_pc = (uint64_t)(pc - base);
  return RF_BPF_BUDGET;
out_fault:
  x->status = RF_BPF_MEMFAULT;
out_stop:
  run->status = x->status;
  run->r0 = reg[0];
  run->insns = budget + 1 - left;
  run->fault_pc = (uint64_t)(pc - base);
  run->fault_addr = x->fault_addr;
  return x->status;
}

const void *const *rf_interp_labels(void) {
  const void *const *l = NULL;
  interp(NULL, &l, NULL, 0);
  return l;
}

void rf_bpf_run_init(rf_bpf_run *run) { memset(run, 0, sizeof *run); }

int rf_bpf_run_add_region(rf_bpf_run *run, const void *b, uint64_t len, bool writable) {
  uint64_t a = (uint64_t)(uintptr_t)b;
  run->hit_prog = 0;
  if (a + len < a) return -EINVAL;
  if (run->nregions >= RF_BPF_MAX_REGIONS) return -E2BIG;
  rf_bpf_region *r = &run->regions[run->nregions++];
  r->base = a;
  r->len = len;
  r->writable = writable;
  r->_pad = 0;
  return 0;
}

/* Not inlined: both run modes of one caller then use the same stack addresses (tools/fuzz.ts
 * compares compiled and interpreted runs value for value, pointers included). */
static __attribute__((noinline)) int prog_run(const rf_bpf_prog *p, rf_bpf_run *run, bool interpret) {
  uint8_t stack[RF_BPF_STACK_AREA] __attribute__((aligned(16)));
  rf_exec x;
  memset(&x, 0, offsetof(rf_exec, resv));
  x.run = run;
  x.prog = p;
  if (run->nregions > RF_BPF_MAX_REGIONS) run->nregions = RF_BPF_MAX_REGIONS;
  /* regions of this program and run found by its previous run (none are transient) */
  if (run->hit_prog == p->id) memcpy(x.c, run->hit, sizeof x.c);
  run->status = RF_BPF_OK;
  run->r0 = run->insns = run->fault_pc = run->fault_addr = 0;
  void *prev = run->priv;
  run->priv = &x;
  int st;
  uint64_t budget = run->budget ? run->budget : RF_BPF_DEFAULT_BUDGET;
  if (budget > (1ull << 62)) budget = 1ull << 62;
  if (p->jit && !interpret) st = rf_jit_exec(&x, budget, stack + RF_BPF_STACK_AREA);
  else st = interp(&x, NULL, stack, budget);
  /* Records the program reserved but neither submitted nor discarded: discard them so the
   * ring buffer does not stay blocked behind a busy record. */
  for (uint32_t i = 0; i < x.nresv; i++)
    rf_ringbuf_commit(x.resv[i].map, PTR(x.resv[i].base), true);
  run->priv = prev;
  memcpy(run->hit, x.c, sizeof x.c);
  run->hit_prog = p->id;
  return st;
}

int rf_bpf_prog_run(const rf_bpf_prog *p, rf_bpf_run *run) { return prog_run(p, run, false); }
int rf_bpf_prog_run_interpreted(const rf_bpf_prog *p, rf_bpf_run *run) { return prog_run(p, run, true); }

void *rf_bpf_check(rf_bpf_run *run, uint64_t addr, uint64_t len, bool write) {
  if (len == 0) return PTR(addr);
  rf_exec *x = (rf_exec *)run->priv;
  if (x ? rf_mem_slow(x, addr, len, write)
        : in_list_r(run->regions, run->nregions < RF_BPF_MAX_REGIONS ? run->nregions : RF_BPF_MAX_REGIONS,
                    addr, len, write, NULL))
    return PTR(addr);
  return NULL;
}

int rf_bpf_fault(rf_bpf_run *run, uint64_t addr) {
  rf_exec *x = (rf_exec *)run->priv;
  if (x) x->fault_addr = addr;
  run->fault_addr = addr;
  return RF_BPF_MEMFAULT;
}
