/* Native structural re-check and pre-decoding of RFC 9669 instruction streams.
 * The TypeScript verifier gives the rich diagnostics; this is the safety net that never trusts
 * JS: anything that passes here can be executed by interp.c without undefined behaviour
 * (the run-time region checks do the rest). */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

typedef struct rf_raw {
  uint8_t code;
  uint8_t regs; /* dst: low nibble, src: high nibble */
  int16_t off;
  int32_t imm;
} rf_raw;

enum { C_LD = 0, C_LDX = 1, C_ST = 2, C_STX = 3, C_ALU = 4, C_JMP = 5, C_JMP32 = 6, C_ALU64 = 7 };
enum { M_IMM = 0x00, M_MEM = 0x60, M_MEMSX = 0x80, M_ATOMIC = 0xc0 };
enum { S_W = 0x00, S_H = 0x08, S_B = 0x10, S_DW = 0x18 };

#define REJ(code) do { *err_pc = pc; return -(code); } while (0)

static int alu_kind(uint8_t op, bool is64, bool x) {
  /* index into the 29-entry block of RF_ALU_OPS: K/X pairs then NEG */
  static const int base[16] = {
      [0x0] = 0, [0x1] = 2, [0x2] = 4, [0x3] = 6, [0x4] = 14, [0x5] = 16, [0x6] = 20,
      [0x7] = 22, [0x8] = -1, [0x9] = 10, [0xa] = 18, [0xb] = 26, [0xc] = 24, [0xd] = -1,
      [0xe] = -1, [0xf] = -1};
  int b = base[op >> 4];
  if (b < 0) return -1;
  return (is64 ? RK_ADD64K : RK_ADD32K) + b + (x ? 1 : 0);
}

static int jmp_kind(uint8_t op, bool is64, bool x) {
  static const int base[16] = {
      [0x0] = -1, [0x1] = 0, [0x2] = 2, [0x3] = 4, [0x4] = 6, [0x5] = 8, [0x6] = 10,
      [0x7] = 12, [0x8] = -1, [0x9] = -1, [0xa] = 14, [0xb] = 16, [0xc] = 18, [0xd] = 20,
      [0xe] = -1, [0xf] = -1};
  int b = base[op >> 4];
  if (b < 0) return -1;
  return (is64 ? RK_JEQ64K : RK_JEQ32K) + b + (x ? 1 : 0);
}

static int atomic_kind(int32_t imm, bool is64) {
  int k;
  switch (imm) {
    case 0x00: k = 0; break;
    case 0x40: k = 1; break;
    case 0x50: k = 2; break;
    case 0xa0: k = 3; break;
    case 0x01: k = 4; break;
    case 0x41: k = 5; break;
    case 0x51: k = 6; break;
    case 0xa1: k = 7; break;
    case 0xe1: k = 8; break;
    case 0xf1: k = 9; break;
    default: return -1;
  }
  return (is64 ? RK_AADD64 : RK_AADD32) + k;
}

int rf_check_decode(const void *rawp, uint32_t n, rf_bpf_map *const *maps, uint32_t nmaps,
                    uint32_t helper_set, rf_dinsn *code, uint32_t *err_pc) {
  const rf_raw *raw = (const rf_raw *)rawp;
  uint32_t pc = 0;
  if (n == 0) REJ(RF_BPF_REJ_EMPTY);
  if (n > RF_BPF_MAX_INSNS) REJ(RF_BPF_REJ_TOO_LONG);
  if (helper_set > RF_BPF_HELPERS_RING) return -EINVAL;

  /* Pass 1: ld_imm64 pairs (second slots are not instructions). */
  uint8_t *slot2 = calloc(n + 1, 1);
  if (!slot2) return -ENOMEM;
  for (pc = 0; pc < n; pc++) {
    if (raw[pc].code == 0x18) {
      if (pc + 1 >= n) { free(slot2); REJ(RF_BPF_REJ_BAD_LDIMM64); }
      slot2[++pc] = 1;
    }
  }

#undef REJ
#define REJ(c) do { rc = -(c); goto out; } while (0)
  int rc = 0;
  for (pc = 0; pc < n; pc++) {
    const rf_raw *in = &raw[pc];
    rf_dinsn *d = &code[pc];
    uint8_t op = in->code, cls = op & 7, dst = in->regs & 0xf, src = in->regs >> 4;
    memset(d, 0, sizeof *d);
    d->dst = dst;
    d->src = src;
    d->off = in->off;
    int kind = -1;
    int64_t target = INT64_MIN; /* jump/call target, checked below */

    switch (cls) {
      case C_ALU:
      case C_ALU64: {
        bool is64 = cls == C_ALU64, x = (op & 0x08) != 0;
        uint8_t aop = op & 0xf0;
        if (aop == 0x80) { /* NEG */
          if (x || src || in->imm || in->off) REJ(RF_BPF_REJ_BAD_OPCODE);
          kind = is64 ? RK_NEG64 : RK_NEG32;
        } else if (aop == 0xd0) { /* END / BSWAP */
          if (src || in->off || (is64 && x)) REJ(RF_BPF_REJ_BAD_OPCODE);
          int w = in->imm == 16 ? 0 : in->imm == 32 ? 1 : in->imm == 64 ? 2 : -1;
          if (w < 0) REJ(RF_BPF_REJ_BAD_OPCODE);
          kind = (is64 || x) ? RK_BE16 + w : RK_LE16 + w;
        } else {
          kind = alu_kind(aop, is64, x);
          if (kind < 0) REJ(RF_BPF_REJ_BAD_OPCODE);
          if (aop == 0x30 || aop == 0x90) { /* DIV/MOD: offset 1 = signed */
            if (in->off != 0 && in->off != 1) REJ(RF_BPF_REJ_BAD_OPCODE);
            if (in->off == 1) kind += 2; /* DIV -> SDIV, MOD -> SMOD */
          } else if (aop == 0xb0 && x && in->off != 0) { /* MOVSX */
            if (in->off == 8) kind = is64 ? RK_MOVSX8_64 : RK_MOVSX8_32;
            else if (in->off == 16) kind = is64 ? RK_MOVSX16_64 : RK_MOVSX16_32;
            else if (in->off == 32 && is64) kind = RK_MOVSX32_64;
            else REJ(RF_BPF_REJ_BAD_OPCODE);
          } else if (in->off != 0) {
            REJ(RF_BPF_REJ_BAD_OPCODE);
          }
          if (dst > 10 || src > 10) REJ(RF_BPF_REJ_BAD_REGISTER);
          if (x ? in->imm != 0 : src != 0) REJ(RF_BPF_REJ_BAD_OPCODE);
        }
        if (dst > 10) REJ(RF_BPF_REJ_BAD_REGISTER);
        if (dst == 10) REJ(RF_BPF_REJ_WRITE_TO_R10);
        /* pre-extend the immediate */
        if (is64) d->imm = (uint64_t)(int64_t)in->imm;
        else d->imm = (uint32_t)in->imm;
        if (aop == 0x60 || aop == 0x70 || aop == 0xc0) d->imm &= is64 ? 63 : 31;
        break;
      }
      case C_JMP:
      case C_JMP32: {
        bool is64 = cls == C_JMP, x = (op & 0x08) != 0;
        uint8_t jop = op & 0xf0;
        if (jop == 0x00) { /* JA / gotol */
          if (x || src || dst) REJ(RF_BPF_REJ_BAD_OPCODE);
          if (is64) {
            if (in->imm) REJ(RF_BPF_REJ_BAD_OPCODE);
            target = (int64_t)pc + in->off + 1;
          } else {
            if (in->off) REJ(RF_BPF_REJ_BAD_OPCODE);
            target = (int64_t)pc + in->imm + 1;
          }
          kind = RK_JA;
        } else if (jop == 0x80) { /* CALL */
          if (!is64 || x || dst || in->off) REJ(RF_BPF_REJ_BAD_OPCODE);
          if (src == 0) {
            enum rf_kind k = RK_CALL;
            rf_helper_impl fn = rf_helper_find(helper_set, in->imm, &k);
            if (!fn && k == RK_CALL) REJ(RF_BPF_REJ_UNKNOWN_HELPER);
            kind = k;
            d->imm = (uint64_t)(uintptr_t)fn;
            d->off = in->imm;
          } else if (src == 1) {
            target = (int64_t)pc + in->imm + 1;
            if (target < 0 || target >= n || slot2[target]) REJ(RF_BPF_REJ_BAD_CALL_TARGET);
            kind = RK_CALL_LOCAL;
          } else if (src == 2) {
            REJ(RF_BPF_REJ_UNKNOWN_HELPER); /* kfunc by BTF id */
          } else {
            REJ(RF_BPF_REJ_BAD_OPCODE);
          }
          d->src = 0;
        } else if (jop == 0x90) { /* EXIT */
          if (!is64 || x || src || dst || in->off || in->imm) REJ(RF_BPF_REJ_BAD_OPCODE);
          kind = RK_EXIT;
        } else {
          kind = jmp_kind(jop, is64, x);
          if (kind < 0) REJ(RF_BPF_REJ_BAD_OPCODE);
          if (dst > 10 || src > 10) REJ(RF_BPF_REJ_BAD_REGISTER);
          if (x ? in->imm != 0 : src != 0) REJ(RF_BPF_REJ_BAD_OPCODE);
          target = (int64_t)pc + in->off + 1;
          d->imm = is64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm;
        }
        if (kind != RK_CALL_LOCAL && target != INT64_MIN) {
          if (target < 0 || target >= n) REJ(RF_BPF_REJ_JUMP_OUT_OF_RANGE);
          if (slot2[target]) REJ(RF_BPF_REJ_JUMP_INTO_LDIMM64);
        }
        if (target != INT64_MIN) d->off = (int32_t)(target - (int64_t)pc);
        break;
      }
      case C_LD: {
        if (op != 0x18) REJ(RF_BPF_REJ_BAD_OPCODE); /* legacy ABS/IND are not supported */
        const rf_raw *nx = &raw[pc + 1];
        if (in->off) REJ(RF_BPF_REJ_BAD_LDIMM64);
        if (dst > 10) REJ(RF_BPF_REJ_BAD_REGISTER);
        if (dst == 10) REJ(RF_BPF_REJ_WRITE_TO_R10);
        kind = RK_LDDW;
        switch (src) {
          case 0:
            d->imm = (uint64_t)(uint32_t)in->imm | ((uint64_t)(uint32_t)nx->imm << 32);
            break;
          case 1:
          case 5:
            if (nx->imm) REJ(RF_BPF_REJ_BAD_LDIMM64);
            if ((uint32_t)in->imm >= nmaps) REJ(RF_BPF_REJ_BAD_MAP_INDEX);
            d->imm = RF_MAP_TAG | (uint32_t)in->imm;
            break;
          case 2:
          case 6: {
            if ((uint32_t)in->imm >= nmaps) REJ(RF_BPF_REJ_BAD_MAP_INDEX);
            rf_bpf_map *m = maps[(uint32_t)in->imm];
            if (m->type != RF_BPF_MAP_ARRAY || (uint32_t)nx->imm >= m->value_size)
              REJ(RF_BPF_REJ_BAD_LDIMM64);
            d->imm = (uint64_t)(uintptr_t)m->values + (uint32_t)nx->imm;
            break;
          }
          case 4: {
            if (nx->imm) REJ(RF_BPF_REJ_BAD_LDIMM64);
            int64_t t = (int64_t)pc + in->imm + 1;
            if (t < 0 || t >= n || slot2[t]) REJ(RF_BPF_REJ_BAD_CALL_TARGET);
            d->imm = RF_CODE_TAG | (uint64_t)t;
            break;
          }
          default: /* 3 = var_addr: no BTF variables here */
            REJ(RF_BPF_REJ_BAD_LDIMM64);
        }
        d->src = 0;
        break;
      }
      case C_LDX: {
        uint8_t mode = op & 0xe0, sz = op & 0x18;
        if (mode == M_MEM) kind = sz == S_B ? RK_LDXB : sz == S_H ? RK_LDXH : sz == S_W ? RK_LDXW : RK_LDXDW;
        else if (mode == M_MEMSX && sz != S_DW) kind = sz == S_B ? RK_LDXSB : sz == S_H ? RK_LDXSH : RK_LDXSW;
        else REJ(RF_BPF_REJ_BAD_OPCODE);
        if (dst > 10 || src > 10) REJ(RF_BPF_REJ_BAD_REGISTER);
        if (in->imm) REJ(RF_BPF_REJ_BAD_OPCODE);
        if (dst == 10) REJ(RF_BPF_REJ_WRITE_TO_R10);
        break;
      }
      case C_ST:
      case C_STX: {
        uint8_t mode = op & 0xe0, sz = op & 0x18;
        if (mode == M_MEM) {
          int b = sz == S_B ? 0 : sz == S_H ? 1 : sz == S_W ? 2 : 3;
          kind = (cls == C_ST ? RK_STB : RK_STXB) + b;
          if (dst > 10 || src > 10) REJ(RF_BPF_REJ_BAD_REGISTER);
          if (cls == C_ST ? src != 0 : in->imm != 0) REJ(RF_BPF_REJ_BAD_OPCODE);
          d->imm = (uint64_t)(int64_t)in->imm;
        } else if (mode == M_ATOMIC && cls == C_STX && (sz == S_W || sz == S_DW)) {
          kind = atomic_kind(in->imm, sz == S_DW);
          if (kind < 0) REJ(RF_BPF_REJ_BAD_OPCODE);
          if (dst > 10 || src > 10) REJ(RF_BPF_REJ_BAD_REGISTER);
          if ((in->imm & 1) && src == 10 && in->imm != 0xf1) REJ(RF_BPF_REJ_WRITE_TO_R10);
        } else {
          REJ(RF_BPF_REJ_BAD_OPCODE);
        }
        break;
      }
    }
    d->kind = (uint8_t)kind;
    if (op == 0x18) { /* second half of ld_imm64: opcode, registers and offset must be zero */
      const rf_raw *nx = &raw[pc + 1];
      if (nx->code != 0 || nx->regs != 0 || nx->off != 0) REJ(RF_BPF_REJ_BAD_LDIMM64);
      pc++;
      memset(&code[pc], 0, sizeof code[pc]);
      code[pc].kind = RK_SLOT2;
    }
  }
  /* The last instruction must not fall off the end. */
  {
    uint8_t last = raw[n - 1].code;
    if (slot2[n - 1] || (last != 0x95 && last != 0x05 && last != 0x06)) {
      pc = n - 1;
      REJ(RF_BPF_REJ_JUMP_OUT_OF_RANGE);
    }
  }
  memset(&code[n], 0, sizeof code[n]);
  code[n].kind = RK_BAD;
out:
  free(slot2);
  if (rc) *err_pc = pc;
  return rc;
}

/* ---- program objects ------------------------------------------------------------------------ */

int rf_bpf_prog_create(const void *insns, uint32_t n, rf_bpf_map *const *maps, uint32_t nmaps,
                       uint32_t helper_set, rf_bpf_prog **out, uint32_t *err_pc) {
  uint32_t epc = 0;
  if (!err_pc) err_pc = &epc;
  *err_pc = 0;
  *out = NULL;
  if (nmaps > RF_BPF_MAX_MAPS) return -E2BIG;
  if (n == 0) return -RF_BPF_REJ_EMPTY;
  if (n > RF_BPF_MAX_INSNS) return -RF_BPF_REJ_TOO_LONG;
  for (uint32_t i = 0; i < nmaps; i++)
    if (!maps[i]) return -EINVAL;
  rf_bpf_prog *p = calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  p->code = calloc((size_t)n + 1, sizeof(rf_dinsn));
  if (!p->code) { free(p); return -ENOMEM; }
  int rc = rf_check_decode(insns, n, maps, nmaps, helper_set, p->code, err_pc);
  if (rc) { free(p->code); free(p); return rc; }
  const void *const *labels = rf_interp_labels();
  for (uint32_t i = 0; i <= n; i++) p->code[i].h = labels[p->code[i].kind];
  /* The one process-global: an id counter (atomic, never reused), so that a run's region hit
   * cache is never taken for another program's, even one at a freed program's address. */
  static atomic_uint_fast64_t next_id = 1;
  atomic_init(&p->refs, 1);
  p->id = atomic_fetch_add(&next_id, 1);
  p->n = n;
  p->helper_set = helper_set;
  p->nmaps = nmaps;
  for (uint32_t i = 0; i < nmaps; i++) {
    rf_bpf_map *m = maps[i];
    rf_bpf_map_get(m);
    p->maps[i] = m;
    if (m->type == RF_BPF_MAP_ARRAY || m->type == RF_BPF_MAP_HASH) {
      /* the same map listed twice needs one region */
      bool dup = false;
      for (uint32_t j = 0; j < i; j++) dup |= maps[j] == m;
      if (dup) continue;
      rf_map_region *r = &p->regions[p->nregions++];
      r->base = (uint64_t)(uintptr_t)m->values;
      r->len = m->values_len;
      r->writable = !(m->flags & RF_BPF_F_RDONLY_PROG);
    }
  }
  *out = p;
  return 0;
}

void rf_bpf_prog_get(rf_bpf_prog *p) { atomic_fetch_add(&p->refs, 1); }

void rf_bpf_prog_put(rf_bpf_prog *p) {
  if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
  for (uint32_t i = 0; i < p->nmaps; i++) rf_bpf_map_put(p->maps[i]);
  rf_bpf_trace_put(p->trace);
  rf_jit_release(p);
  free(p->code);
  free(p);
}

uint32_t rf_bpf_prog_len(const rf_bpf_prog *p) { return p->n; }

void rf_bpf_prog_set_trace(rf_bpf_prog *p, rf_bpf_trace *t) {
  if (t) rf_bpf_trace_get(t);
  rf_bpf_trace_put(p->trace);
  p->trace = t;
}
