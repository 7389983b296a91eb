/* x86-64 JIT for pre-decoded programs (check.c). It compiles a program to native code once, at
 * creation, and runs it with exactly the interpreter's semantics (interp.c is the reference):
 *  - the instruction budget is counted per instruction (`dec r12; jz`), so budget stops, insns
 *    counts and fault pcs match the interpreter's;
 *  - every load, store and atomic is checked like MEMCHK: accesses through r10 whose offset lies
 *    in the frame are proved at compile time; others check the frame, then the first entry of the
 *    run's region hit cache inline, the second out of line, then the interpreter's search;
 *  - helpers are called through the same rf_helper_impl with r1..r5 in memory; r1..r5 keep their
 *    values across a call as they do in the interpreter; what is left of the budget goes to
 *    x->left for the call and comes back with the helper's charges taken; DIV and MOD call a C
 *    routine.
 * Programs with subprogram calls, bpf_loop or the fetching atomic or/and/xor are not compiled
 * (they run in the interpreter), nor are programs of more than RF_JIT_MAX_INSNS instructions.
 * W^X: code is written to an anonymous mapping that is then made read+exec.
 * The differential test is tools/fuzz.ts: every case runs compiled and interpreted. */
#include "internal.h"
#include "../grow.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#include <sys/mman.h>

#define RF_JIT_MAX_INSNS 65536u
#define RF_JIT_INLINE_REGIONS 4u /* map value regions checked with constants at each access */
#define RF_JIT_INLINE_LOOKUPS 8u /* array maps a map lookup resolves inline */
enum { RF_JIT_STOP = 100 }; /* exit code: a helper set x->status */

/* What the compiled function reads and writes (pointer in rdi, kept at [rsp]). */
typedef struct rf_jit_state {
  rf_exec *x;
  uint64_t top;     /* r10: top of the 512-byte frame */
  uint64_t regs[6]; /* in: r1..r5 (regs[1..5]); spill area of r0..r5 around calls; out: r0 */
  uint64_t left;    /* in: budget + 1; out: what is left */
  uint64_t pc;      /* out: instruction index of a stop */
  uint64_t fault;   /* out: faulting address */
} rf_jit_state;

#define S_X offsetof(rf_jit_state, x)
#define S_TOP offsetof(rf_jit_state, top)
#define S_REG(i) (offsetof(rf_jit_state, regs) + 8 * (i))
#define S_LEFT offsetof(rf_jit_state, left)
#define S_PC offsetof(rf_jit_state, pc)
#define S_FAULT offsetof(rf_jit_state, fault)
#define X_HIT(i, f) (offsetof(rf_exec, c) + (i) * sizeof(rf_bpf_hit) + offsetof(rf_bpf_hit, f))
#define X_STATUS offsetof(rf_exec, status)
#define X_LEFT offsetof(rf_exec, left)

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
/* BPF r0..r10. r0..r5 live in caller-saved registers (spilled around calls), r6..r10 in
 * callee-saved ones. Scratch: r9, r10, r11. Budget: r12. */
static const uint8_t MAP[11] = {RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP};
#define FRAME RF_BPF_STACK_SIZE

typedef struct { uint32_t pos, label; } jfix;
typedef struct { uint8_t kind, n, w; uint32_t pc, status, entry, back; } jcold;
enum { CD_EXIT, CD_MEM };

typedef struct jit {
  const rf_bpf_prog *p;
  uint8_t *b;
  uint32_t n, cap; /* code bytes (RF_JIT_MAX_INSNS keeps them far below 4 GiB) */
  bool oom;
  uint32_t *lbl, nlbl, caplbl;
  jfix *fix;
  uint32_t nfix, capfix;
  jcold *cold;
  uint32_t ncold, capcold;
  uint32_t l_exit, l_ok, l_memslow[4][2];
  bool memslow_used[4][2];
} jit;

static void e1(jit *j, uint8_t v) {
  if (!grow((void **)&j->b, &j->cap, j->n + 1, 1)) { j->oom = true; j->n = 0; return; }
  j->b[j->n++] = v;
}
static void e4(jit *j, uint32_t v) { for (int i = 0; i < 4; i++) e1(j, (uint8_t)(v >> (8 * i))); }
static void e8(jit *j, uint64_t v) { e4(j, (uint32_t)v); e4(j, (uint32_t)(v >> 32)); }

static uint32_t new_label(jit *j) {
  if (!grow((void **)&j->lbl, &j->caplbl, j->nlbl + 1, sizeof(uint32_t))) { j->oom = true; return 0; }
  j->lbl[j->nlbl] = UINT32_MAX;
  return j->nlbl++;
}
static void bind(jit *j, uint32_t l) { if (!j->oom) j->lbl[l] = (uint32_t)j->n; }
/* A rel32 to label l at the current position. */
static void rel_to(jit *j, uint32_t l) {
  if (!grow((void **)&j->fix, &j->capfix, j->nfix + 1, sizeof(jfix))) { j->oom = true; return; }
  j->fix[j->nfix++] = (jfix){(uint32_t)j->n, l};
  e4(j, 0);
}
static void jmp_to(jit *j, uint32_t l) { e1(j, 0xE9); rel_to(j, l); }
static void jcc_to(jit *j, uint8_t cc, uint32_t l) { e1(j, 0x0F); e1(j, 0x80 | cc); rel_to(j, l); }
static void call_to(jit *j, uint32_t l) { e1(j, 0xE8); rel_to(j, l); }
enum { CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_BE = 6, CC_A = 7, CC_L = 0xC, CC_GE = 0xD, CC_LE = 0xE, CC_G = 0xF };

static uint32_t cold_exit(jit *j, uint32_t pc, uint32_t status) {
  if (!grow((void **)&j->cold, &j->capcold, j->ncold + 1, sizeof(jcold))) { j->oom = true; return 0; }
  uint32_t l = new_label(j);
  j->cold[j->ncold++] = (jcold){CD_EXIT, 0, 0, pc, status, l, 0};
  return l;
}

/* ---- encodings ---- */

static void rex(jit *j, bool w, int r, int x, int b, bool force) {
  uint8_t v = (uint8_t)(0x40 | (w ? 8 : 0) | ((r >> 3) & 1) << 2 | ((x >> 3) & 1) << 1 | ((b >> 3) & 1));
  if (v != 0x40 || force) e1(j, v);
}
static void modrm_rr(jit *j, int reg, int rm) { e1(j, (uint8_t)(0xC0 | (reg & 7) << 3 | (rm & 7))); }
static void modrm_mem(jit *j, int reg, int base, int32_t disp) {
  e1(j, (uint8_t)(0x80 | (reg & 7) << 3 | (base & 7)));
  if ((base & 7) == RSP) e1(j, 0x24);
  e4(j, (uint32_t)disp);
}
/* op r/m(dst), reg(src) */
static void op_rr(jit *j, bool w, uint8_t op, int dst, int src) { rex(j, w, src, 0, dst, false); e1(j, op); modrm_rr(j, src, dst); }
/* op reg, [base+disp] (or op [base+disp], reg: same encoding, the opcode says which) */
static void op_rm(jit *j, bool w, uint8_t op, int reg, int base, int32_t disp) { rex(j, w, reg, 0, base, false); e1(j, op); modrm_mem(j, reg, base, disp); }
static void op_rm0f(jit *j, bool w, uint8_t op, int reg, int base, int32_t disp, bool force) {
  rex(j, w, reg, 0, base, force); e1(j, 0x0F); e1(j, op); modrm_mem(j, reg, base, disp);
}
static void mov_rr(jit *j, int dst, int src) { if (dst != src) op_rr(j, true, 0x89, dst, src); }
static void load64(jit *j, int dst, int base, int32_t disp) { op_rm(j, true, 0x8B, dst, base, disp); }
static void store64(jit *j, int base, int32_t disp, int src) { op_rm(j, true, 0x89, src, base, disp); }
static void mov_ri(jit *j, int dst, uint64_t v) {
  if (v <= 0xffffffffull) { rex(j, false, 0, 0, dst, false); e1(j, (uint8_t)(0xB8 | (dst & 7))); e4(j, (uint32_t)v); }
  else if ((int64_t)v == (int32_t)v) { rex(j, true, 0, 0, dst, false); e1(j, 0xC7); modrm_rr(j, 0, dst); e4(j, (uint32_t)v); }
  else { rex(j, true, 0, 0, dst, false); e1(j, (uint8_t)(0xB8 | (dst & 7))); e8(j, v); }
}
/* group-1 op with an immediate: ext 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp */
static void alu_ri(jit *j, bool w, int ext, int dst, int32_t imm) {
  rex(j, w, 0, 0, dst, false);
  if (imm >= -128 && imm <= 127) { e1(j, 0x83); modrm_rr(j, ext, dst); e1(j, (uint8_t)imm); }
  else { e1(j, 0x81); modrm_rr(j, ext, dst); e4(j, (uint32_t)imm); }
}
static void lea(jit *j, int dst, int base, int32_t disp) { op_rm(j, true, 0x8D, dst, base, disp); }
static void budget_dec(jit *j, uint32_t pc) {
  e1(j, 0x49); e1(j, 0xFF); e1(j, 0xCC); /* dec r12 */
  jcc_to(j, CC_E, cold_exit(j, pc, RF_BPF_BUDGET));
}

/* Saves r0..r5 to the state's spill area (r10 = state). */
static void spill(jit *j) {
  load64(j, R10, RSP, 0);
  for (int i = 0; i < 6; i++) store64(j, R10, (int32_t)S_REG(i), MAP[i]);
}
/* Reloads r1..r5 (and r0 if with_r0) from the spill area. */
static void reload(jit *j, bool with_r0) {
  load64(j, R10, RSP, 0);
  for (int i = with_r0 ? 0 : 1; i < 6; i++) load64(j, MAP[i], R10, (int32_t)S_REG(i));
}
/* The value of BPF register r into host register dst, after spill() (r0..r5 read from memory). */
static void spilled_value(jit *j, int dst, int r) {
  if (r <= 5) load64(j, dst, R10, (int32_t)S_REG(r));
  else mov_rr(j, dst, MAP[r]);
}
static void call_abs(jit *j, const void *fn) { mov_ri(j, RAX, (uint64_t)(uintptr_t)fn); e1(j, 0xFF); e1(j, 0xD0); }

static int nidx(uint32_t n) { return n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : 3; }

/* r9 = address of a checked access of n bytes at BPF register base + off; code after it may use
 * [r9]. Faults exit with MEMFAULT at pc. Returns false when the access is proved to be in the
 * frame (base r10): then the caller addresses [rbp + off] itself. */
static bool mem_check(jit *j, uint32_t pc, int base, int32_t off, uint32_t n, bool w) {
  if (base == 10 && off >= -(int32_t)FRAME && off <= -(int32_t)n) return false;
  lea(j, R9, MAP[base], off);
  uint32_t ok = new_label(j), cold = new_label(j);
  /* frame: top - n - a <= FRAME - n */
  lea(j, R10, RBP, -(int32_t)n);
  op_rr(j, true, 0x29, R10, R9); /* sub r10, r9 */
  alu_ri(j, true, 7, R10, (int32_t)(FRAME - n));
  jcc_to(j, CC_BE, ok);
  /* the program's map values (fixed for its life): base and length are constants here */
  for (uint32_t r = 0, done = 0; r < j->p->nregions && done < RF_JIT_INLINE_REGIONS; r++) {
    const rf_map_region *m = &j->p->regions[r];
    if (m->len < n || m->len - n > INT32_MAX || (w && !m->writable)) continue;
    mov_ri(j, R11, 0 - m->base);
    op_rr(j, true, 0x01, R11, R9); /* add r11, r9: o = a - base */
    alu_ri(j, true, 7, R11, (int32_t)(m->len - n));
    jcc_to(j, CC_BE, ok);
    done++;
  }
  /* the most recent region hit: o = a - base < len, o + n <= len, writable if writing */
  load64(j, R10, RSP, 8);
  mov_rr(j, R11, R9);
  op_rm(j, true, 0x2B, R11, R10, (int32_t)X_HIT(0, base));
  op_rm(j, true, 0x3B, R11, R10, (int32_t)X_HIT(0, len));
  jcc_to(j, CC_AE, cold);
  alu_ri(j, true, 0, R11, (int32_t)n);
  op_rm(j, true, 0x3B, R11, R10, (int32_t)X_HIT(0, len));
  jcc_to(j, CC_A, cold);
  if (w) {
    rex(j, false, 0, 0, R10, false); e1(j, 0x83); modrm_mem(j, 7, R10, (int32_t)X_HIT(0, writable)); e1(j, 0);
    jcc_to(j, CC_E, cold);
  }
  bind(j, ok);
  if (!grow((void **)&j->cold, &j->capcold, j->ncold + 1, sizeof(jcold))) { j->oom = true; return true; }
  j->cold[j->ncold++] = (jcold){CD_MEM, (uint8_t)n, w, pc, 0, cold, ok};
  j->memslow_used[nidx(n)][w] = true;
  return true;
}

static void emit_cold(jit *j, jcold cd) {
  const jcold *c = &cd; /* a copy: cold_exit() may move j->cold */
  bind(j, c->entry);
  if (c->kind == CD_EXIT) {
    rex(j, false, 0, 0, R11, false); e1(j, 0xB8 | (R11 & 7)); e4(j, c->pc); /* mov r11d, pc */
    e1(j, 0xBA); e4(j, c->status);                                          /* mov edx, status */
    jmp_to(j, j->l_exit);
    return;
  }
  /* second hit-cache entry (r10 = x, r9 = address), then the interpreter's search */
  uint32_t slow = new_label(j);
  mov_rr(j, R11, R9);
  op_rm(j, true, 0x2B, R11, R10, (int32_t)X_HIT(1, base));
  op_rm(j, true, 0x3B, R11, R10, (int32_t)X_HIT(1, len));
  jcc_to(j, CC_AE, slow);
  alu_ri(j, true, 0, R11, c->n);
  op_rm(j, true, 0x3B, R11, R10, (int32_t)X_HIT(1, len));
  jcc_to(j, CC_A, slow);
  if (c->w) {
    rex(j, false, 0, 0, R10, false); e1(j, 0x83); modrm_mem(j, 7, R10, (int32_t)X_HIT(1, writable)); e1(j, 0);
    jcc_to(j, CC_E, slow);
  }
  jmp_to(j, c->back);
  bind(j, slow);
  call_to(j, j->l_memslow[nidx(c->n)][c->w]);
  jcc_to(j, CC_E, cold_exit(j, c->pc, RF_BPF_MEMFAULT));
  jmp_to(j, c->back);
}

/* C routines the code calls. */
static uint64_t jit_divmod(uint64_t a, uint64_t b, uint32_t kind) {
  uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
  switch (kind) {
    case RK_DIV64K: case RK_DIV64X: return b ? a / b : 0;
    case RK_MOD64K: case RK_MOD64X: return b ? a % b : a;
    case RK_SDIV64K: case RK_SDIV64X:
      if (b == 0) return 0;
      if ((int64_t)b == -1) return 0 - a;
      return (uint64_t)((int64_t)a / (int64_t)b);
    case RK_SMOD64K: case RK_SMOD64X:
      if (b == 0) return a;
      if ((int64_t)b == -1) return 0;
      return (uint64_t)((int64_t)a % (int64_t)b);
    case RK_DIV32K: case RK_DIV32X: return b32 ? a32 / b32 : 0;
    case RK_MOD32K: case RK_MOD32X: return b32 ? a32 % b32 : a32;
    case RK_SDIV32K: case RK_SDIV32X:
      if (b32 == 0) return 0;
      if ((int32_t)b32 == -1) return (uint32_t)(0 - a32);
      return (uint32_t)((int32_t)a32 / (int32_t)b32);
    default: /* SMOD32 */
      if (b32 == 0) return a32;
      if ((int32_t)b32 == -1) return 0;
      return (uint32_t)((int32_t)a32 % (int32_t)b32);
  }
}

/* A helper call: r1..r5 through the spill area, r0 = the result; a helper that sets x->status
 * stops the run at pc. */
static void emit_call(jit *j, const rf_dinsn *d, uint32_t pc) {
  spill(j);
  load64(j, RDI, RSP, 8);
  store64(j, RDI, (int32_t)X_LEFT, R12); /* x->left: what the helper's charges take from */
  e1(j, 0xBE); e4(j, (uint32_t)d->off); /* mov esi, helper id */
  lea(j, RDX, R10, (int32_t)S_REG(1));
  call_abs(j, (const void *)(uintptr_t)d->imm);
  load64(j, R11, RSP, 8);
  load64(j, R12, R11, (int32_t)X_LEFT);
  rex(j, false, 0, 0, R11, false); e1(j, 0x83); modrm_mem(j, 7, R11, (int32_t)X_STATUS); e1(j, 0);
  jcc_to(j, CC_NE, cold_exit(j, pc, RF_JIT_STOP));
  reload(j, false);
}

static bool jit_supported(const rf_bpf_prog *p) {
  if (p->n > RF_JIT_MAX_INSNS) return false;
  for (uint32_t i = 0; i < p->n; i++) {
    switch (p->code[i].kind) {
      case RK_CALL_LOCAL: case RK_CALL_LOOP:
      case RK_AFOR32: case RK_AFAND32: case RK_AFXOR32: case RK_AFOR64: case RK_AFAND64: case RK_AFXOR64:
        return false;
      default: break;
    }
  }
  return true;
}

static void emit_insn(jit *j, const rf_dinsn *code, uint32_t i) {
  const rf_dinsn *d = &code[i];
  uint8_t k = d->kind;
  if (k == RK_SLOT2) return;
  budget_dec(j, i);
  int D = MAP[d->dst < 11 ? d->dst : 0], S = MAP[d->src < 11 ? d->src : 0];
  int32_t imm32 = (int32_t)d->imm;

  /* ALU: K/X pairs */
  static const int8_t grp1[RK__COUNT] = {
      [RK_ADD64K] = 0, [RK_OR64K] = 1, [RK_AND64K] = 4, [RK_SUB64K] = 5, [RK_XOR64K] = 6,
      [RK_ADD32K] = 0, [RK_OR32K] = 1, [RK_AND32K] = 4, [RK_SUB32K] = 5, [RK_XOR32K] = 6};
  static const uint8_t rr_op[RK__COUNT] = {
      [RK_ADD64X] = 0x01, [RK_OR64X] = 0x09, [RK_AND64X] = 0x21, [RK_SUB64X] = 0x29, [RK_XOR64X] = 0x31, [RK_MOV64X] = 0x89,
      [RK_ADD32X] = 0x01, [RK_OR32X] = 0x09, [RK_AND32X] = 0x21, [RK_SUB32X] = 0x29, [RK_XOR32X] = 0x31, [RK_MOV32X] = 0x89};
  bool is64 = k < RK_ADD32K;
  switch (k) {
    case RK_ADD64K: case RK_OR64K: case RK_AND64K: case RK_SUB64K: case RK_XOR64K:
    case RK_ADD32K: case RK_OR32K: case RK_AND32K: case RK_SUB32K: case RK_XOR32K:
      alu_ri(j, is64, grp1[k], D, imm32);
      return;
    case RK_ADD64X: case RK_OR64X: case RK_AND64X: case RK_SUB64X: case RK_XOR64X: case RK_MOV64X:
    case RK_ADD32X: case RK_OR32X: case RK_AND32X: case RK_SUB32X: case RK_XOR32X: case RK_MOV32X:
      op_rr(j, is64, rr_op[k], D, S);
      return;
    case RK_MOV64K: mov_ri(j, D, d->imm); return;
    case RK_MOV32K: mov_ri(j, D, (uint32_t)d->imm); return;
    case RK_MUL64K: case RK_MUL32K:
      rex(j, is64, D, 0, D, false); e1(j, 0x69); modrm_rr(j, D, D); e4(j, (uint32_t)imm32);
      return;
    case RK_MUL64X: case RK_MUL32X:
      rex(j, is64, D, 0, S, false); e1(j, 0x0F); e1(j, 0xAF); modrm_rr(j, D, S);
      return;
    case RK_LSH64K: case RK_RSH64K: case RK_ARSH64K: case RK_LSH32K: case RK_RSH32K: case RK_ARSH32K: {
      int ext = (k == RK_LSH64K || k == RK_LSH32K) ? 4 : (k == RK_RSH64K || k == RK_RSH32K) ? 5 : 7;
      rex(j, is64, 0, 0, D, false); e1(j, 0xC1); modrm_rr(j, ext, D); e1(j, (uint8_t)d->imm);
      if (!is64 && (d->imm & 31) == 0) op_rr(j, false, 0x89, D, D); /* a 0 count leaves the upper half */
      return;
    }
    case RK_LSH64X: case RK_RSH64X: case RK_ARSH64X: case RK_LSH32X: case RK_RSH32X: case RK_ARSH32X: {
      int ext = (k == RK_LSH64X || k == RK_LSH32X) ? 4 : (k == RK_RSH64X || k == RK_RSH32X) ? 5 : 7;
      mov_rr(j, R9, D);
      mov_rr(j, R11, RCX);
      mov_rr(j, RCX, S);
      rex(j, is64, 0, 0, R9, false); e1(j, 0xD3); modrm_rr(j, ext, R9);
      if (!is64) op_rr(j, false, 0x89, R9, R9); /* zero-extend even for a 0 count */
      mov_rr(j, RCX, R11);
      mov_rr(j, D, R9);
      return;
    }
    case RK_DIV64K: case RK_DIV64X: case RK_SDIV64K: case RK_SDIV64X: case RK_MOD64K: case RK_MOD64X:
    case RK_SMOD64K: case RK_SMOD64X: case RK_DIV32K: case RK_DIV32X: case RK_SDIV32K: case RK_SDIV32X:
    case RK_MOD32K: case RK_MOD32X: case RK_SMOD32K: case RK_SMOD32X: {
      bool x = (k - (is64 ? RK_DIV64K : RK_DIV32K)) % 2 == 1; /* K/X pairs from DIV */
      spill(j);
      spilled_value(j, RDI, d->dst);
      if (x) spilled_value(j, RSI, d->src);
      else mov_ri(j, RSI, d->imm);
      e1(j, 0xBA); e4(j, k); /* mov edx, kind */
      call_abs(j, (const void *)jit_divmod);
      mov_rr(j, R9, RAX);
      reload(j, true);
      mov_rr(j, D, R9);
      return;
    }
    case RK_NEG64: case RK_NEG32: rex(j, k == RK_NEG64, 0, 0, D, false); e1(j, 0xF7); modrm_rr(j, 3, D); return;
    case RK_MOVSX8_64: rex(j, true, D, 0, S, false); e1(j, 0x0F); e1(j, 0xBE); modrm_rr(j, D, S); return;
    case RK_MOVSX16_64: rex(j, true, D, 0, S, false); e1(j, 0x0F); e1(j, 0xBF); modrm_rr(j, D, S); return;
    case RK_MOVSX32_64: rex(j, true, D, 0, S, false); e1(j, 0x63); modrm_rr(j, D, S); return;
    case RK_MOVSX8_32: rex(j, false, D, 0, S, true); e1(j, 0x0F); e1(j, 0xBE); modrm_rr(j, D, S); return;
    case RK_MOVSX16_32: rex(j, false, D, 0, S, false); e1(j, 0x0F); e1(j, 0xBF); modrm_rr(j, D, S); return;
    case RK_LE16: rex(j, false, D, 0, D, false); e1(j, 0x0F); e1(j, 0xB7); modrm_rr(j, D, D); return;
    case RK_LE32: op_rr(j, false, 0x89, D, D); return;
    case RK_LE64: return;
    case RK_BE16: case RK_BE32: case RK_BE64:
      rex(j, k == RK_BE64, 0, 0, D, false); e1(j, 0x0F); e1(j, (uint8_t)(0xC8 | (D & 7)));
      if (k == RK_BE16) { rex(j, false, 0, 0, D, false); e1(j, 0xC1); modrm_rr(j, 5, D); e1(j, 16); }
      return;
    case RK_JA: jmp_to(j, i + d->off); return;
    case RK_CALL_MAP_LOOKUP: {
      /* bpf_map_lookup_elem(r1 = an array map of the program, r2 = key in the frame) inline, as
       * the interpreter does; anything else calls the helper */
      uint32_t call = new_label(j), done = new_label(j), null = new_label(j);
      lea(j, R10, RBP, -4);
      op_rr(j, true, 0x29, R10, RSI);
      alu_ri(j, true, 7, R10, (int32_t)(FRAME - 4));
      jcc_to(j, CC_A, call);
      for (uint32_t m = 0, done_n = 0; m < j->p->nmaps && done_n < RF_JIT_INLINE_LOOKUPS; m++) {
        const rf_bpf_map *map = j->p->maps[m];
        if (map->type != RF_BPF_MAP_ARRAY || map->stride > INT32_MAX) continue;
        uint32_t next = new_label(j);
        mov_ri(j, R9, RF_MAP_TAG | m);
        op_rr(j, true, 0x39, RDI, R9); /* cmp rdi, r9 */
        jcc_to(j, CC_NE, next);
        op_rm(j, false, 0x8B, R10, RSI, 0); /* mov r10d, [rsi]: the key */
        alu_ri(j, false, 7, R10, (int32_t)map->max_entries);
        jcc_to(j, CC_AE, null);
        rex(j, true, R10, 0, R10, false); e1(j, 0x69); modrm_rr(j, R10, R10); e4(j, map->stride);
        mov_ri(j, RAX, (uint64_t)(uintptr_t)map->values);
        op_rr(j, true, 0x01, RAX, R10);
        jmp_to(j, done);
        bind(j, next);
        done_n++;
      }
      jmp_to(j, call);
      bind(j, null);
      op_rr(j, false, 0x31, RAX, RAX);
      jmp_to(j, done);
      bind(j, call);
      emit_call(j, d, i);
      bind(j, done);
      return;
    }
    case RK_CALL:
      emit_call(j, d, i);
      return;
    case RK_CALL_UNWIND:
      mov_rr(j, RAX, RDI);
      op_rr(j, true, 0x85, RAX, RAX);
      jcc_to(j, CC_E, j->l_ok);
      return;
    case RK_EXIT: jmp_to(j, j->l_ok); return;
    case RK_LDDW: mov_ri(j, D, d->imm); return;
    case RK_BAD: jmp_to(j, cold_exit(j, i, RF_BPF_BADINSN)); return;
    default: break;
  }
  if (k >= RK_JEQ64K && k <= RK_JSLE32X) {
    static const uint8_t cc[11] = {CC_E, CC_A, CC_AE, CC_NE /* jset: test */, CC_NE, CC_G, CC_GE, CC_B, CC_BE, CC_L, CC_LE};
    bool j64 = k < RK_JEQ32K;
    uint32_t rel = k - (j64 ? RK_JEQ64K : RK_JEQ32K), op = rel / 2;
    bool x = rel % 2;
    bool jset = op == 3;
    if (x) op_rr(j, j64, jset ? 0x85 : 0x39, D, S);
    else if (jset) { rex(j, j64, 0, 0, D, false); e1(j, 0xF7); modrm_rr(j, 0, D); e4(j, (uint32_t)imm32); }
    else alu_ri(j, j64, 7, D, imm32);
    jcc_to(j, cc[op], i + d->off);
    return;
  }
  if (k >= RK_LDXB && k <= RK_LDXSW) {
    static const uint8_t sz[] = {1, 2, 4, 8, 1, 2, 4};
    uint32_t n = sz[k - RK_LDXB];
    int base = R9;
    int32_t disp = 0;
    if (!mem_check(j, i, d->src, d->off, n, false)) { base = RBP; disp = d->off; }
    switch (k) {
      case RK_LDXB: op_rm0f(j, false, 0xB6, D, base, disp, false); break;
      case RK_LDXH: op_rm0f(j, false, 0xB7, D, base, disp, false); break;
      case RK_LDXW: op_rm(j, false, 0x8B, D, base, disp); break;
      case RK_LDXDW: op_rm(j, true, 0x8B, D, base, disp); break;
      case RK_LDXSB: op_rm0f(j, true, 0xBE, D, base, disp, false); break;
      case RK_LDXSH: op_rm0f(j, true, 0xBF, D, base, disp, false); break;
      default: op_rm(j, true, 0x63, D, base, disp); break;
    }
    return;
  }
  if (k >= RK_STB && k <= RK_STXDW) {
    bool x = k >= RK_STXB;
    uint32_t b = (k - (x ? RK_STXB : RK_STB)), n = 1u << b;
    int base = R9;
    int32_t disp = 0;
    if (!mem_check(j, i, d->dst, d->off, n, true)) { base = RBP; disp = d->off; }
    if (n == 2) e1(j, 0x66);
    if (x) {
      rex(j, n == 8, S, 0, base, n == 1);
      e1(j, n == 1 ? 0x88 : 0x89);
      modrm_mem(j, S, base, disp);
    } else {
      rex(j, n == 8, 0, 0, base, false);
      e1(j, n == 1 ? 0xC6 : 0xC7);
      modrm_mem(j, 0, base, disp);
      if (n == 1) e1(j, (uint8_t)d->imm);
      else if (n == 2) { e1(j, (uint8_t)d->imm); e1(j, (uint8_t)(d->imm >> 8)); }
      else e4(j, (uint32_t)imm32);
    }
    return;
  }
  if ((k >= RK_AADD32 && k <= RK_ACMPXCHG32) || (k >= RK_AADD64 && k <= RK_ACMPXCHG64)) {
    bool a64 = k >= RK_AADD64;
    uint32_t op = k - (a64 ? RK_AADD64 : RK_AADD32), n = a64 ? 8 : 4;
    int base = R9;
    int32_t disp = 0;
    if (!mem_check(j, i, d->dst, d->off, n, true)) {
      base = RBP;
      disp = d->off;
      if ((d->off & (int32_t)(n - 1)) != 0) { /* misaligned (the frame's top is 16-aligned) */
        lea(j, R9, RBP, disp);
        jmp_to(j, cold_exit(j, i, RF_BPF_MEMFAULT));
        return;
      }
    } else {
      rex(j, false, 0, 0, R9, false); e1(j, 0xF6); modrm_rr(j, 0, R9); e1(j, (uint8_t)(n - 1)); /* test r9b, n-1 */
      jcc_to(j, CC_NE, cold_exit(j, i, RF_BPF_MEMFAULT));
    }
    static const uint8_t lock_op[4] = {0x01, 0x09, 0x21, 0x31}; /* add or and xor */
    if (op <= 3) { e1(j, 0xF0); op_rm(j, a64, lock_op[op], S, base, disp); }
    else if (op == 4) { e1(j, 0xF0); op_rm0f(j, a64, 0xC1, S, base, disp, false); } /* lock xadd */
    else if (op == 8) op_rm(j, a64, 0x87, S, base, disp);                             /* xchg */
    else { /* 9: cmpxchg against r0 (rax) */
      e1(j, 0xF0); op_rm0f(j, a64, 0xB1, S, base, disp, false);
      if (!a64) op_rr(j, false, 0x89, RAX, RAX);
    }
    return;
  }
  jmp_to(j, cold_exit(j, i, RF_BPF_BADINSN)); /* not reached: jit_supported() filtered the rest */
}

static void emit_memslow(jit *j, uint32_t n, bool w) {
  /* r9 = address; preserves every register; ZF = 1 when the access is refused */
  static const uint8_t saved[9] = {RAX, RCX, RDX, RSI, RDI, R8, R9, R10, R11};
  for (int i = 0; i < 9; i++) { rex(j, false, 0, 0, saved[i], false); e1(j, (uint8_t)(0x50 | (saved[i] & 7))); }
  load64(j, RDI, RSP, 9 * 8 + 8 + 8); /* x: [rsp+8] of the body, past 9 pushes and the return */
  mov_rr(j, RSI, R9);
  e1(j, 0xBA); e4(j, n);
  e1(j, 0xB9); e4(j, w);
  call_abs(j, (const void *)rf_mem_after_hits);
  e1(j, 0x84); e1(j, 0xC0); /* test al, al */
  for (int i = 8; i >= 0; i--) { rex(j, false, 0, 0, saved[i], false); e1(j, (uint8_t)(0x58 | (saved[i] & 7))); }
  e1(j, 0xC3);
}

static void *jit_compile(const rf_bpf_prog *p, size_t *len_out) {
  jit J = {0}, *j = &J;
  j->p = p;
  void *mem = NULL;
  for (uint32_t i = 0; i <= p->n; i++) new_label(j); /* label i = instruction i */
  j->l_exit = new_label(j);
  j->l_ok = new_label(j);
  for (int a = 0; a < 4; a++) for (int b = 0; b < 2; b++) j->l_memslow[a][b] = new_label(j);

  /* prologue: endbr64 (a NOP without CET: an indirect-call target where IBT is enforced), save
   * callee-saved registers, keep the state at [rsp] and x at [rsp+8] */
  e1(j, 0xF3); e1(j, 0x0F); e1(j, 0x1E); e1(j, 0xFA);
  static const uint8_t callee[6] = {RBX, RBP, R12, R13, R14, R15};
  for (int i = 0; i < 6; i++) { rex(j, false, 0, 0, callee[i], false); e1(j, (uint8_t)(0x50 | (callee[i] & 7))); }
  alu_ri(j, true, 5, RSP, 24);
  store64(j, RSP, 0, RDI);
  mov_rr(j, R11, RDI);
  load64(j, RAX, R11, (int32_t)S_X);
  store64(j, RSP, 8, RAX);
  load64(j, RBP, R11, (int32_t)S_TOP);
  load64(j, R12, R11, (int32_t)S_LEFT);
  for (int r = 2; r <= 5; r++) load64(j, MAP[r], R11, (int32_t)S_REG(r));
  load64(j, RDI, R11, (int32_t)S_REG(1));
  static const uint8_t zero[5] = {RAX, RBX, R13, R14, R15};
  for (int i = 0; i < 5; i++) op_rr(j, false, 0x31, zero[i], zero[i]);

  for (uint32_t i = 0; i <= p->n && !j->oom; i++) {
    bind(j, i);
    emit_insn(j, p->code, i);
  }
  /* ok: status 0 */
  bind(j, j->l_ok);
  op_rr(j, false, 0x31, RDX, RDX);
  /* exit: edx = status, r11 = pc, r9 = fault address */
  bind(j, j->l_exit);
  load64(j, R10, RSP, 0);
  store64(j, R10, (int32_t)S_REG(0), RAX);
  store64(j, R10, (int32_t)S_LEFT, R12);
  store64(j, R10, (int32_t)S_PC, R11);
  store64(j, R10, (int32_t)S_FAULT, R9);
  op_rr(j, false, 0x89, RAX, RDX);
  alu_ri(j, true, 0, RSP, 24);
  for (int i = 5; i >= 0; i--) { rex(j, false, 0, 0, callee[i], false); e1(j, (uint8_t)(0x58 | (callee[i] & 7))); }
  e1(j, 0xC3);
  for (uint32_t c = 0; c < j->ncold && !j->oom; c++) emit_cold(j, j->cold[c]); /* may append exits */
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 2; b++)
      if (j->memslow_used[a][b]) { bind(j, j->l_memslow[a][b]); emit_memslow(j, 1u << a, b); }
  if (j->oom) goto out;
  for (uint32_t f = 0; f < j->nfix; f++) {
    uint32_t t = j->lbl[j->fix[f].label];
    if (t == UINT32_MAX) goto out; /* a label never bound: refuse rather than run wild */
    int32_t rel = (int32_t)t - (int32_t)(j->fix[f].pos + 4);
    memcpy(j->b + j->fix[f].pos, &rel, 4);
  }
  size_t len = ((size_t)j->n + 4095) & ~(size_t)4095;
  mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) { mem = NULL; goto out; }
  memcpy(mem, j->b, j->n);
  if (mprotect(mem, len, PROT_READ | PROT_EXEC) != 0) { munmap(mem, len); mem = NULL; goto out; }
  *len_out = len;
out:
  free(j->b);
  free(j->lbl);
  free(j->fix);
  free(j->cold);
  return mem;
}

void rf_jit_prepare(rf_bpf_prog *p) {
  if (!jit_supported(p)) return;
  size_t len = 0;
  void *code = jit_compile(p, &len);
  if (!code) return;
  p->jit = code;
  p->jit_len = len;
}

void rf_jit_release(rf_bpf_prog *p) {
  if (p->jit) munmap(p->jit, p->jit_len);
  p->jit = NULL;
  p->jit_len = 0;
}

int rf_jit_exec(rf_exec *x, uint64_t budget, uint8_t *top) {
  rf_bpf_run *run = x->run;
  rf_zero_frame(top - FRAME);
  rf_jit_state s;
  s.x = x;
  s.top = (uint64_t)(uintptr_t)top;
  s.regs[0] = 0;
  memcpy(&s.regs[1], run->args, sizeof run->args);
  s.left = budget + 1;
  s.pc = s.fault = 0;
  x->stack_lo = s.top - FRAME;
  x->stack_hi = s.top;
  int rc = ((int (*)(rf_jit_state *))x->prog->jit)(&s);
  run->r0 = s.regs[0];
  if (rc == RF_BPF_OK) {
    run->status = RF_BPF_OK;
    run->insns = budget + 1 - s.left;
    return RF_BPF_OK;
  }
  run->fault_pc = s.pc;
  if (rc == RF_BPF_BUDGET || (rc == RF_JIT_STOP && x->status == RF_BPF_BUDGET)) {
    /* out of instructions, or a helper charged more than was left (as in the interpreter) */
    x->status = RF_BPF_BUDGET;
    run->status = RF_BPF_BUDGET;
    run->insns = budget;
    return RF_BPF_BUDGET;
  }
  if (rc == RF_BPF_MEMFAULT) {
    x->status = RF_BPF_MEMFAULT;
    x->fault_addr = s.fault;
  } else if (rc == RF_BPF_BADINSN) {
    x->status = RF_BPF_BADINSN;
  } /* RF_JIT_STOP: the helper's status is in x */
  run->status = x->status;
  run->insns = budget + 1 - s.left;
  run->fault_addr = x->fault_addr;
  return x->status;
}

#else /* no JIT for this host: every program is interpreted */
void rf_jit_prepare(rf_bpf_prog *p) { (void)p; }
void rf_jit_release(rf_bpf_prog *p) { (void)p; }
int rf_jit_exec(rf_exec *x, uint64_t budget, uint8_t *top) { (void)x; (void)budget; (void)top; return RF_BPF_BADINSN; }
#endif
