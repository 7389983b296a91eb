/* libFuzzer target: the completion-program engine's CQE routing (docs/security.md, "Completions"),
 * with the engine's plain-C API over a fake kernel the input drives.
 * fuzz-sources: native/engine.c native/engine_park.c native/engine_policy.c native/engine_groups.c native/policy.c native/engine_helpers.c native/mem.c native/bpf/interp.c native/bpf/jit.c native/bpf/check.c native/bpf/helpers.c native/bpf/maps.c
 *
 * The input is a script: JS submits requests (NOPs, program requests with a chosen token, links),
 * the "kernel" completes in-flight requests in any order with any result (and F_MORE), JS drains
 * its CQ 0, programs (five fixed programs that emit, submit, cancel by guessed tags, reap and wait,
 * and queue copies of themselves) run in the engine's passes, and the ring shuts down.
 * Invariants (abort on violation): every CQE on JS's CQ 0 carries the user_data of a JS request
 * that is still outstanding (so program-made CQEs never reach a promise and nothing completes
 * twice); after shutdown every JS request was answered; ASan/UBSan/LSan see nothing.
 *
 * The fake kernel replaces ring.c's three entry points (rf_ring_enter, rf_needs_getevents,
 * rf_ring_quiet): it consumes SQEs at enter and completes each consumed request once (or several
 * times with F_MORE), as the real kernel does. */
#include "../engine.h"
#include "../engine_internal.h"
#include "../policy.h"
#include "policy_file.h"
#include "../mem.h"
#include "../bpf/bpf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQ_N 64u
#define CQ_N 128u
#define MAX_INFLIGHT 4096u
#define MAX_JS 4096u

typedef struct { uint64_t ud; uint8_t op; } inflight;

static struct {
  uint8_t sqes[SQ_N * 64];
  uint32_t sq_head, sq_tail, sq_flags;
  uint8_t cqes[CQ_N * 16];
  uint32_t cq_head, cq_tail;
  uint32_t kernel_head; /* SQEs consumed by the fake kernel */
  uint32_t js_tail;     /* where JS writes its next SQE (published by rf_engine_submit) */
  inflight fl[MAX_INFLIGHT];
  uint32_t nfl;
  uint64_t js[MAX_JS]; /* outstanding JS user_data */
  uint32_t njs;
  uint64_t next_js;
} K;

/* ---- the fake kernel (ring.c's entry points) ---------------------------------------------- */

long rf_ring_enter(rf_ring *r, unsigned to_submit, unsigned min_complete, unsigned flags) {
  (void)to_submit; (void)min_complete; (void)flags;
  while (K.kernel_head != *r->sq_tail) {
    const uint8_t *s = r->sqes + (size_t)(K.kernel_head & r->sq_mask) * 64;
    if (K.nfl < MAX_INFLIGHT) {
      uint64_t ud;
      memcpy(&ud, s + 32, 8);
      K.fl[K.nfl++] = (inflight){ud, s[0]};
    }
    K.kernel_head++;
  }
  __atomic_store_n(r->sq_head, K.kernel_head, __ATOMIC_RELEASE);
  return 0;
}
bool rf_needs_getevents(rf_ring *r) { (void)r; return false; }
bool rf_ring_quiet(rf_ring *r, bool quiet) { return !quiet && *r->cq_tail != *r->cq_head; }
void rf_ring_notify_js(rf_ring *r, int status) { (void)r; (void)status; }

static bool kernel_complete(uint32_t i, int32_t res, bool more) {
  if (i >= K.nfl || K.cq_tail - K.cq_head >= CQ_N) return false;
  uint8_t *c = K.cqes + (size_t)(K.cq_tail & (CQ_N - 1)) * 16;
  uint32_t flags = more ? CQE_F_MORE : 0;
  memcpy(c, &K.fl[i].ud, 8);
  memcpy(c + 8, &res, 4);
  memcpy(c + 12, &flags, 4);
  __atomic_store_n(&K.cq_tail, K.cq_tail + 1, __ATOMIC_RELEASE);
  if (!more) K.fl[i] = K.fl[--K.nfl];
  return true;
}

/* ---- the programs ------------------------------------------------------------------------- */

typedef struct { uint8_t code, regs; int16_t off; int32_t imm; } insn;
#define I(c, d, s, o, i) ((insn){(c), (uint8_t)((d) | ((s) << 4)), (o), (i)})
#define MOVI(d, i) I(0xb7, d, 0, 0, i)
#define MOVR(d, s) I(0xbf, d, s, 0, 0)
#define ADDI(d, i) I(0x07, d, 0, 0, i)
#define ANDI(d, i) I(0x57, d, 0, 0, i)
#define RSHI(d, i) I(0x77, d, 0, 0, i)
#define LDXDW(d, s, o) I(0x79, d, s, o, 0)
#define STXDW(d, s, o) I(0x7b, d, s, o, 0)
#define STDW(d, o, i) I(0x7a, d, 0, o, i)
#define STW(d, o, i) I(0x62, d, 0, o, i)
#define STB(d, o, i) I(0x72, d, 0, o, i)
#define STXH(d, s, o) I(0x6b, d, s, o, 0)
#define STXW(d, s, o) I(0x63, d, s, o, 0)
#define JEQI(d, i, o) I(0x15, d, 0, o, i)
#define CALL(i) I(0x85, 0, 0, 0, i)
#define EXIT() I(0x95, 0, 0, 0, 0)
#define ZERO_SQE STDW(10, -64, 0), STDW(10, -56, 0), STDW(10, -48, 0), STDW(10, -40, 0), \
                 STDW(10, -32, 0), STDW(10, -24, 0), STDW(10, -16, 0), STDW(10, -8, 0)
#define SUBMIT MOVR(1, 6), MOVR(2, 10), ADDI(2, -64), MOVI(3, 64), CALL(164)

/* r6 = ctx, r7 = token (ctx->user_data) */
#define PROLOGUE MOVR(6, 1), LDXDW(7, 1, 0)
static const insn P_EMIT[] = { /* emit { token } to CQ token & 3 */
  PROLOGUE, MOVR(1, 6), MOVR(2, 7), ANDI(2, 3), MOVR(3, 7), MOVI(4, 1), MOVI(5, 0), CALL(165), MOVI(0, 0), EXIT()};
static const insn P_NOP[] = { /* submit a NOP with user_data = token to CQ (token >> 8) & 1 */
  PROLOGUE, ZERO_SQE, STXDW(10, 7, -32), MOVR(8, 7), RSHI(8, 8), ANDI(8, 1), STXH(10, 8, -16), SUBMIT, MOVI(0, 0), EXIT()};
static const insn P_CANCEL[] = { /* ASYNC_CANCEL (or TIMEOUT_REMOVE) of target = token, on CQ 1 */
  PROLOGUE, ZERO_SQE, STB(10, -64, 14), STXDW(10, 7, -48), STDW(10, -32, 0x77), STW(10, -16, 1), SUBMIT,
  ZERO_SQE, STB(10, -64, 12), STXDW(10, 7, -48), STDW(10, -32, 0x78), STW(10, -16, 1), SUBMIT, MOVI(0, 0), EXIT()};
static const insn P_REAP[] = { /* reap CQ token & 1; empty and token & 2: wait for 1 CQE on it */
  PROLOGUE, MOVR(1, 6), MOVR(2, 7), ANDI(2, 1), MOVR(3, 10), ADDI(3, -16), MOVI(4, 16), CALL(166),
  JEQI(0, 0, 7), MOVR(8, 7), ANDI(8, 2), JEQI(8, 0, 4), STW(6, 8, 1), MOVR(8, 7), ANDI(8, 1),
  STXW(6, 8, 12), MOVI(0, 0), EXIT()};
static const insn P_SELF[] = { /* queue program request (token & 7) twice: a self-replicating chain */
  PROLOGUE, ZERO_SQE, STB(10, -64, RF_OP_BPF), MOVR(8, 7), ANDI(8, 7), STXDW(10, 8, -56), SUBMIT, SUBMIT, MOVI(0, 0), EXIT()};

static rf_bpf_prog *make(const insn *p, uint32_t n) {
  rf_bpf_prog *out = NULL;
  uint32_t pc = 0;
  if (rf_bpf_prog_create(p, n, NULL, 0, RF_BPF_HELPERS_RING, &out, &pc) != 0) {
    fprintf(stderr, "engine_routing: program rejected at insn %u\n", pc);
    abort();
  }
  return out;
}

/* ---- JS's side ---------------------------------------------------------------------------- */

static void js_forget(uint64_t ud) {
  for (uint32_t i = 0; i < K.njs; i++)
    if (K.js[i] == ud) { K.js[i] = K.js[--K.njs]; return; }
  fprintf(stderr, "engine_routing: JS's CQ 0 carried user_data %#llx, which no outstanding JS request has\n", (unsigned long long)ud);
  abort();
}

static void js_drain(rf_engine *e) {
  uint8_t *q = rf_mem_ptr(rf_engine_js_cq_mem(e));
  uint32_t head = rd32(q, 0), tail = rd32(q, 4), mask = rd32(q, 8);
  for (; head != tail; head++) {
    const rf_cqe *c = (const rf_cqe *)(q + XCQ_HDR) + (head & mask);
    if (!(c->flags & CQE_F_MORE)) js_forget(c->user_data);
  }
  wr32(q, 0, head);
}

static void prog_cq0_drain(rf_engine *e) { /* onCompletion: takes the programs' CQ 0 */
  uint8_t *q = rf_mem_ptr(rf_engine_cq_mem(e, 0));
  wr32(q, 0, rd32(q, 4));
}

static void js_submit(rf_engine *e, rf_ring *r, const uint8_t *a) {
  uint32_t n = 1 + (a[0] & 3);
  K.js_tail = *r->sq_tail; /* as the ring's JS does: write after what is published (passes append) */
  e->ctl->js_pending = 1;
  for (uint32_t i = 0; i < n && K.js_tail + 1 - *r->sq_head <= SQ_N && K.njs < MAX_JS; i++) {
    uint8_t *s = r->sqes + (size_t)(K.js_tail & r->sq_mask) * 64;
    memset(s, 0, 64);
    uint64_t ud = ((K.next_js >> 8) << 32) | (K.next_js & 0xff); /* JS-style slot | gen << 32 */
    K.next_js++;
    if (a[1] & 1) { /* a program request: index, token */
      s[0] = RF_OP_BPF;
      uint64_t idx = a[2] % 6, token;
      memcpy(&token, a + 3, 8);
      memcpy(s + 8, &idx, 8);
      memcpy(s + 16, &token, 8);
      uint32_t one = 1;
      memcpy(s + 24, &one, 4);
    }
    s[1] = (i + 1 < n && (a[1] & 2)) ? F_LINK : 0;
    memcpy(s + 32, &ud, 8);
    K.js[K.njs++] = ud;
    K.js_tail++;
  }
  rf_engine_submit(e, K.js_tail, 0, 0);
  K.js_tail = *r->sq_tail; /* the engine may have appended program SQEs */
}

/* The program policy (RF_POLICY, written by scripts/fuzz-native.sh from src/ops/policy.ts): without
 * it every program submission is refused and the routing of their completions goes untested. */
static uint8_t *policy_bytes;
static size_t policy_len;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  policy_bytes = read_policy_file("engine_routing", &policy_len);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  memset(&K, 0, sizeof K);
  K.next_js = 1;
  rf_ring r = {0};
  r.fd = -1;
  r.sqes = K.sqes;
  r.sq_head = &K.sq_head;
  r.sq_tail = &K.sq_tail;
  r.sq_flags = &K.sq_flags;
  r.sq_mask = SQ_N - 1;
  r.sq_entries = SQ_N;
  r.cq_head = &K.cq_head;
  r.cq_tail = &K.cq_tail;
  r.cq_mask = CQ_N - 1;
  r.cqes = K.cqes;
  r.sqe_size = RF_SQE_SIZE; /* a plain ring: the engine refuses SQE128/CQE32 rings */
  r.cqe_size = RF_CQE_SIZE;
  int err = 0;
  rf_engine *e = rf_engine_create(&r, 64, 20000, &err);
  if (!e) return 0;
  r.engine = e;
  /* what the addon's JS gives (src/ring/programs.ts: the table's namesRequest ops) */
  static const uint8_t naming[] = {7 /* POLL_REMOVE */, 12 /* TIMEOUT_REMOVE */, 14 /* ASYNC_CANCEL */};
  rf_engine_set_naming(e, naming, sizeof naming);
  if (rf_policy_load(e, policy_bytes, policy_len) != 0) {
    fprintf(stderr, "engine_routing: RF_POLICY is not a valid policy\n");
    abort();
  }
  rf_engine_add_cq(e, 8);
  static const struct { const insn *p; uint32_t n; } progs[] = {
    {P_EMIT, sizeof P_EMIT / sizeof(insn)}, {P_NOP, sizeof P_NOP / sizeof(insn)},
    {P_CANCEL, sizeof P_CANCEL / sizeof(insn)}, {P_REAP, sizeof P_REAP / sizeof(insn)},
    {P_SELF, sizeof P_SELF / sizeof(insn)},
  };
  for (uint32_t i = 0; i < 5; i++) {
    rf_bpf_prog *p = make(progs[i].p, progs[i].n);
    rf_engine_add_prog(e, p);
    rf_bpf_prog_put(p);
  }
  for (size_t at = 0; at + 12 <= size; at += 12) {
    const uint8_t *a = data + at;
    switch (a[0] >> 5) {
      case 0: case 1: js_submit(e, &r, a + 1); break;
      case 2: case 3: { /* the kernel completes one in-flight request */
        if (!K.nfl) break;
        int32_t res;
        memcpy(&res, a + 2, 4);
        if (a[6] & 1) res = -(res & 0xff);
        kernel_complete(a[1] % K.nfl, res, (a[6] & 6) == 6);
        rf_engine_turn(e);
        break;
      }
      case 4: js_drain(e); break;
      case 5: prog_cq0_drain(e); rf_engine_turn(e); break;
      case 6: rf_engine_turn(e); break;
      case 7: if (a[1] == 0xff) goto out; break;
    }
  }
out:
  /* shutdown: every JS request still in the kernel completes (cancelled), then JS drains */
  rf_engine_shutdown(e);
  for (int round = 0; round < 64 && (K.nfl || K.njs); round++) {
    while (K.nfl && kernel_complete(0, -125, false)) {}
    rf_engine_pass(e);
    js_drain(e);
  }
  if (K.njs) {
    fprintf(stderr, "engine_routing: %u JS requests never answered after shutdown\n", K.njs);
    abort();
  }
  rf_engine_destroy(e);
  return 0;
}
