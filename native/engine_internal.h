/* Internal types of the completion-program engine, shared by engine.c (requests, CQs,
 * scheduling, the reaping pass), engine_policy.c (what a program may submit), engine_helpers.c
 * (the ring helpers) and the bindings on top (engine_napi.c). Plain C: no Node-API, no libuv. */
#ifndef RINGFLOW_ENGINE_INTERNAL_H
#define RINGFLOW_ENGINE_INTERNAL_H

#include "ring.h"
#include "engine.h"
#include "mem.h"
#include "bpf/bpf.h"
#include "grow.h"
#include "engine_groups.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An engine request's user_data in the kernel: TAG_MARK in bits 48-63, the slot's generation in
 * bits 32-47 (a slot's next occupant has another, so a CQE the kernel produced for one request can
 * never be taken for the next), the slot in bits 0-31. */
#define TAG_MARK 0xA5A5u
/* user_data of messages from other rings (src/ops/msg-ring-abi.ts): MESSAGE_TAG high word; bit 31 of
 * the low word marks a file message (bits 0-30: target slot + 1, or 0 when the kernel picked it: res) */
#define RF_MESSAGE_TAG 0xfffffffdu
#define RF_FILE_MESSAGE_BIT 0x80000000ull
static inline uint64_t req_tag(uint32_t idx, uint16_t gen) { return ((uint64_t)TAG_MARK << 48) | ((uint64_t)gen << 32) | idx; }
#define MAX_CQS 1025u /* CQ 0 + IO_MAX_CQRINGS (1024) extra, as in the prototype */
#define MAX_PROGS 100u /* IORING_MAX_BPF_PROGS */
#define MAX_UREGIONS 14u /* + the ctx region, within RF_BPF_MAX_REGIONS */
#define RUNS_PER_TURN 1024u
#define PASS_ROUNDS RUNS_PER_TURN /* submit rounds per pass, then it yields (re-armed on idle) */
#define NOPROGRESS_MAX 64u
/* A program's return values (IORING_BPF_OK / IORING_BPF_WAIT of the 2021 prototype, bpf_v3). */
#define RF_PROG_OK 0
#define RF_PROG_WAIT 1
#define MAX_STAGED 65536u
/* program requests alive at once (staged, runnable, waiting, in the kernel): a program that queues
 * copies of itself meets -EBUSY here instead of growing memory without bound */
#define MAX_PROG_REQS 65536u
/* bytes of submission-time copies (paths, iovec arrays, timespecs, open_how) programs' requests may
 * hold at once: the count cap alone would allow 65,536 × 16 KiB iovec arrays */
#define MAX_PROG_SCRATCH ((size_t)64 << 20)
#define XCQ_HDR 64u

/* What the engine itself reads of SQEs and CQEs (6.18 uapi). What a program may put in an SQE is
 * not here: the policy derives it from the opcode table (src/ops/table.ts, native/policy.c). */
enum { OP_ASYNC_CANCEL = 14 };   /* a cancel by fd, op or any names no user_data; one may end a waiting program request */
enum { F_FIXED_FILE = 1, F_DRAIN = 2, F_LINK = 4, F_HARDLINK = 8, F_ASYNC = 16, F_BUFFER_SELECT = 32, F_SKIP = 64 }; /* IOSQE_* */
#define CANCEL_FD (1u << 1)       /* IORING_ASYNC_CANCEL_*: cancels that name no user_data */
#define CANCEL_ANY (1u << 2)
#define CANCEL_FD_FIXED (1u << 3)
#define CANCEL_OP (1u << 5)
#define CQE_F_MORE (1u << 1)

typedef struct { uint64_t user_data; int32_t res; uint32_t flags; } rf_cqe;
/* A CQE waiting in a CQ's park; `req`: idx + 1 of the request it ends (which stays alive until
 * this CQE reaches the CQ, so live requests bound what is parked), 0 for one with F_MORE */
typedef struct { rf_cqe c; uint32_t req; } parked_cqe;

/* An SQE waiting to enter the SQ: staged by a program, or held back behind a program request. */
typedef struct {
  uint8_t sqe[64];
  uint32_t cq;
  uint32_t owner; /* 0: JS; else 1 + the index of the program whose run submitted it */
  void *scratch; /* engine-owned copies the SQE points into */
  uint64_t pin;  /* a program-owned group buffer the kernel uses for it (engine_groups.h), + 1; 0: none */
} staged_sqe;

typedef struct {
  uint8_t *mem; /* header + entries, in m */
  uint32_t entries, mask;
  rf_mem *m;    /* the engine's reference; JS's ArrayBuffer over it holds its own */
  /* CQEs of multishot requests that found the queue full, oldest at phead: moved in, in order, as
   * the queue drains (engine_park.c). Engine memory, never seen by programs or JS. */
  parked_cqe *park;
  uint32_t phead, ptail, pcap;
} xcq;
/* shared header: head u32 @0, tail u32 @4, mask u32 @8, entries u32 @12, dropped u32 @16, posted u64 @24,
 * parked u32 @32 (CQEs waiting in the park now: JS asks for them to move in after reading) */
#define H_HEAD(q) ((uint32_t *)((q)->mem + 0))
#define H_TAIL(q) ((uint32_t *)((q)->mem + 4))
#define H_DROPPED(q) ((uint32_t *)((q)->mem + 16))
#define H_POSTED(q) ((uint64_t *)((q)->mem + 24))
#define H_PARKED(q) ((uint32_t *)((q)->mem + 32))
#define XCQES(q) ((rf_cqe *)((q)->mem + XCQ_HDR))

/* K_PARKED: a multishot request the kernel has ended, whose last CQE waits in a park */
enum { K_FREE = 0, K_KERNEL, K_STANDIN, K_WAITING, K_RUNNABLE, K_PARKED };

typedef struct {
  uint64_t user_data; /* as submitted */
  uint32_t cq;
  uint32_t owner; /* 0: JS; else 1 + the index of the program whose run submitted it */
  uint8_t kind, opcode, sqe_flags;
  uint8_t multi; /* a program's multishot request whose CQEs each hand over a buffer or an fd (the policy's declaration) */
  int32_t fail; /* program request known bad at submission: complete with this instead of running */
  uint32_t prog;
  int32_t fd;
  uint32_t wait_nr, wait_idx; /* what its last run asked for (struct io_uring_bpf_ctx) */
  uint64_t token;
  uint32_t noprogress;
  uint16_t gen;        /* the slot's generation (kept across free and alloc): part of its tag */
  staged_sqe *defer;   /* requests linked after this program request */
  uint32_t ndefer, capdefer;
  void *scratch;
  uint64_t pin;   /* as staged_sqe.pin */
  uint16_t bgid;  /* buf_group as submitted (IOSQE_BUFFER_SELECT) */
  uint32_t next_free;
} rf_req;

typedef struct { uint64_t base, len; uint32_t writable; rf_mem *m; } uregion;

/* counters JS reads (BigUint64Array over ctl) */
typedef struct {
  uint64_t js_pending; /* written by JS: 1 while it has SQEs it has not handed over */
  uint64_t enter_calls, sqes_submitted, program_runs, program_insns, budget_stops, dropped_cqes,
      program_sqes, program_rejects, livelock_stops, faults;
  uint64_t js_enters_skipped; /* JS submits that needed no enter (only unlinked program requests) */
  uint64_t js_reads_prog_cq0; /* written by JS: 1 while onCompletion wants the programs' CQ 0 */
  uint64_t pass_yields;       /* passes that stopped at their instruction budget and yielded */
  uint64_t in_kernel;         /* while closing: engine requests the kernel still holds (close waits for 0) */
  uint64_t parked_cqes;       /* multishot CQEs that found their CQ full and waited in its park */
} engine_ctl;

struct rf_engine {
  rf_ring *ring;
  engine_ctl *ctl;
  rf_mem *ctl_mem;
  /* JS's CQ 0: kernel completions of requests JS submitted, and nothing else (a CQE settles a JS
   * promise only if the kernel produced it for that request). cqs[0] is the programs' CQ 0:
   * completions of program-submitted requests that name CQ 0 and CQEs programs emit to CQ 0;
   * programs reap and wait on it, JS sees it only through onCompletion. */
  xcq js;
  xcq cqs[MAX_CQS];
  uint32_t ncq;
  uint32_t nparked_reqs; /* requests the kernel ended whose last CQE is parked (K_PARKED) */
  rf_bpf_prog *progs[MAX_PROGS];
  uint32_t nprogs;
  uregion regions[MAX_UREGIONS];
  uint32_t nregions;
  uint64_t *fdbits;
  uint32_t fdcap; /* bits */
  rf_req *reqs;
  uint32_t nreqs, capreqs, free_head; /* free list: idx + 1 */
  uint32_t nprog_reqs; /* live requests programs submitted (MAX_PROG_REQS) */
  uint32_t nprog_fixed; /* of those, the ones naming a registered-file-table slot (IOSQE_FIXED_FILE) */
  size_t scratch_bytes; /* bytes of their copies alive (MAX_PROG_SCRATCH) */
  staged_sqe *staged;
  uint32_t nstaged, capstaged;
  rf_cqe *cq0_over; /* request completions for CQ 0 that did not fit: CQ 0 never drops them */
  uint32_t nover, capover, overhead;
  uint32_t *runnable;
  uint32_t rhead, rtail, rcap; /* FIFO of req idx (rtail - rhead entries, power-of-two capacity) */
  uint32_t *waiting;
  uint32_t nwaiting, capwaiting;
  uint64_t budget;
  uint64_t pass_insns; /* instructions run in this pass: a pass yields once it passes `budget` */
  /* the run every program request uses: regions (ctx, then the user's) built once and rebuilt
   * when a region is registered; the context struct lives here during a run */
  rf_bpf_run run;
  struct { uint64_t user_data; uint32_t wait_nr, wait_idx; } run_ctx;
  bool run_stale;
  /* opcodes whose addr names a request by user_data (the table's namesRequest, given by JS:
   * rf_engine_set_naming): the engine translates it to its own tag (translate_target) */
  uint64_t names_request[4];
  uint32_t runs_this_turn;
  bool progress;
  uint32_t cur_owner; /* the owner of what the running program submits: 1 + its index */
  bool closing;
  bool in_pass;
  /* the bindings' hook: another turn of the event loop is wanted (more) or not */
  void (*want_turn)(void *data, bool more);
  void *hook_data;
  /* the program policy, its grants and fd dups (native/policy.h; loaded by src/ring/grants.ts at enable) */
  struct rf_policy *policy;
  /* provided-buffer groups granted to programs (engine_groups.c) */
  struct rf_group **groups;
  uint32_t ngroups, capgroups;
};

/* ------------------------------------------------------------------ small utilities */

static inline uint64_t rd64(const uint8_t *p, int off) { uint64_t v; memcpy(&v, p + off, 8); return v; }
static inline uint32_t rd32(const uint8_t *p, int off) { uint32_t v; memcpy(&v, p + off, 4); return v; }
static inline uint16_t rd16(const uint8_t *p, int off) { uint16_t v; memcpy(&v, p + off, 2); return v; }
static inline void wr64(uint8_t *p, int off, uint64_t v) { memcpy(p + off, &v, 8); }
static inline void wr32(uint8_t *p, int off, uint32_t v) { memcpy(p + off, &v, 4); }

static inline bool fd_allowed(rf_engine *e, int64_t fd) {
  return fd >= 0 && fd < e->fdcap && (e->fdbits[fd >> 6] >> (fd & 63) & 1);
}

void fd_set_allowed(rf_engine *e, int64_t fd, bool on);

/* A program-submitted request ends (however: completed, cancelled, refused, dropped at close):
 * one fewer alive, one fewer holding a slot of the registered file table frozen (policy.h
 * rf_policy_slots_change), and one fewer holding a granted buffer group or one of its buffers
 * (engine_groups.h). */
static inline void prog_req_end(rf_engine *e, uint8_t sqe_flags, uint16_t bgid, uint64_t pin) {
  e->nprog_reqs--;
  if (sqe_flags & F_FIXED_FILE) e->nprog_fixed--;
  if (sqe_flags & F_BUFFER_SELECT) rf_group_select(e, bgid, -1);
  rf_group_pin(e, pin, -1);
}
/* The same for an SQE that never became a request (staged, held back behind a program request). */
static inline void prog_sqe_end(rf_engine *e, const uint8_t *sqe, uint64_t pin) {
  prog_req_end(e, sqe[1], rd16(sqe, 40), pin);
}

/* Engine memory for a request's submission-time copies, counted against MAX_PROG_SCRATCH: NULL
 * with errno EBUSY over the budget, ENOMEM when malloc fails. Freed only with scratch_free. */
static inline void *scratch_alloc(rf_engine *e, size_t n) {
  if (n > MAX_PROG_SCRATCH || e->scratch_bytes + n > MAX_PROG_SCRATCH) { errno = EBUSY; return NULL; }
  size_t *h = malloc(n + 16);
  if (!h) { errno = ENOMEM; return NULL; }
  h[0] = n;
  e->scratch_bytes += n;
  return (uint8_t *)h + 16;
}
static inline size_t scratch_size(const void *p) { return p ? *(const size_t *)(const void *)((const uint8_t *)p - 16) : 0; }
static inline void scratch_free(rf_engine *e, void *p) {
  if (!p) return;
  size_t *h = (size_t *)(void *)((uint8_t *)p - 16);
  e->scratch_bytes -= h[0];
  free(h);
}
/* host pointer if [addr, addr+len) lies in one registered region with the permission */
void *uregion_of(rf_engine *e, uint64_t addr, uint64_t len, bool write);
/* bytes from addr to the end of its region (0 if none) */
uint64_t uregion_span(rf_engine *e, uint64_t addr);

/* engine_policy.c: validates an SQE built by a program (copies what the kernel reads at submission). */
int rf_engine_check_sqe(rf_engine *e, uint8_t *sqe, bool modern, void **scratch_out);
/* The same, also saying which program-owned group buffer the request would use (*pin, 0: none). */
int rf_engine_check_sqe_pin(rf_engine *e, uint8_t *sqe, bool modern, void **scratch_out, uint64_t *pin_out);
/* engine_helpers.c: the ring helpers, rf_bpf_run.helper of every program run */
int rf_engine_helper(rf_bpf_run *run, uint32_t id, const uint64_t a[5], uint64_t *r0);

/* engine.c: posts a CQE to a CQ as programs name them (0 = the programs' CQ 0, never JS's); a full
 * CQ drops it and counts (-ENOMEM), a bad index is -EINVAL */
int cq_post(rf_engine *e, uint32_t cq, uint64_t ud, int32_t res, uint32_t flags);
static inline uint32_t xcq_count(xcq *q) {
  return __atomic_load_n(H_TAIL(q), __ATOMIC_RELAXED) - __atomic_load_n(H_HEAD(q), __ATOMIC_ACQUIRE);
}
/* engine.c: the request table, a queue's raw post (a full queue drops it and counts, -ENOMEM),
 * and the programs waiting on a CQ made runnable when it holds what they wait for */
void req_free(rf_engine *e, uint32_t idx);
int xcq_post(rf_engine *e, xcq *q, uint64_t ud, int32_t res, uint32_t flags);
void wake_waiters(rf_engine *e, uint32_t cq);
/* engine_park.c: moves a CQ's parked multishot CQEs in while it has room (each reader calls it
 * after reading); posts a program's multishot CQE, or parks it: 0 posted, 1 parked, -ENOMEM
 * dropped (`last`: idx + 1 of the request it ends, freed when it moves in; 0 with F_MORE) */
void park_flush(rf_engine *e, uint32_t cq);
int cq_post_multi(rf_engine *e, uint32_t cq, uint64_t ud, int32_t res, uint32_t flags, uint32_t last);
/* engine.c: a request's completion: to JS's CQ 0 (never dropped) when JS submitted it and it names
 * CQ 0, otherwise to the CQ it names */
int cq_post_req(rf_engine *e, uint32_t cq, uint32_t owner, uint64_t ud, int32_t res, uint32_t flags);
/* a user_data no request of the engine ever carries (a cancel whose target is not its own) */
#define TAG_NONE (((uint64_t)TAG_MARK << 48) | 0xFFFFFFFFFFFFull)



#endif
