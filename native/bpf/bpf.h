/* ringflow eBPF engine: the C API the rest of the addon (the io_uring ring) uses.
 *
 * One engine, three parts:
 *   maps      array (2), hash (1) and ring buffer (27) maps, kernel numbering, refcounted;
 *   programs  an RFC 9669 (CPU v4) instruction stream, re-checked structurally and pre-decoded
 *             at creation, immutable afterwards (safe to run from several threads at once);
 *   runs      one execution of a program with a caller-owned rf_bpf_run: initial r1..r5, the
 *             memory regions the program may touch, an instruction budget, an embedder helper
 *             callback for helper ids the engine does not implement itself, and the results.
 *
 * Memory model: program addresses are host addresses. Every load, store, atomic and every pointer
 * a helper receives is checked against the run's regions: the current and parent stack frames,
 * the prog's array map storage and hash value pools, ring buffer records reserved by this run,
 * and the regions the embedder adds with rf_bpf_run_add_region(). A miss stops the run with
 * RF_BPF_MEMFAULT; nothing outside those regions is ever read or written.
 *
 * Work model: every instruction costs 1 of the run's budget; a helper charges the work it does
 * (bytes moved, compared, hashed or formatted, at RF_BPF_CHARGE_BYTES per instruction, and fixed
 * costs measured against an interpreted instruction) with rf_bpf_charge() before doing it. A run
 * whose charges exceed what is left stops with RF_BPF_BUDGET, as if it ran out of instructions.
 *
 * State: plain C, no process-global mutable state (the only global is an atomic id counter for
 * programs). Trace output goes to an rf_bpf_trace the embedder owns; bpf_get_prandom_u32's state
 * lives in the run.
 *
 * All functions return 0 / a pointer / a status, or -errno; none of them touches errno. */
#ifndef RINGFLOW_BPF_H
#define RINGFLOW_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants (match src/programs/binding.ts) ---------------------------------------- */

enum rf_bpf_map_type { RF_BPF_MAP_HASH = 1, RF_BPF_MAP_ARRAY = 2, RF_BPF_MAP_RINGBUF = 27 };

/* BPF_F_RDONLY_PROG: programs may read but not write the values (.rodata). */
#define RF_BPF_F_RDONLY_PROG (1u << 7)
/* Accepted and ignored (our hash maps are always preallocated, arrays always mappable). */
#define RF_BPF_F_NO_PREALLOC (1u << 0)
#define RF_BPF_F_MMAPABLE (1u << 10)

/* Update flags (kernel values). */
enum { RF_BPF_ANY = 0, RF_BPF_NOEXIST = 1, RF_BPF_EXIST = 2 };

enum rf_bpf_helper_set {
  RF_BPF_HELPERS_STANDARD = 0,    /* kernel ids: map ops, ktime, trace, prandom, ringbuf, loop */
  RF_BPF_HELPERS_CONFORMANCE = 1, /* bpf_conformance plug-in ids 0..5 (5 = unwind) */
  RF_BPF_HELPERS_RING = 2,        /* standard + 164..167, 148 and 1000, sent to rf_bpf_run.helper */
};

enum rf_bpf_status {
  RF_BPF_OK = 0,
  RF_BPF_BUDGET = 1,    /* the instruction budget ran out */
  RF_BPF_MEMFAULT = 2,  /* access outside the run's regions; fault_pc / fault_addr set */
  RF_BPF_CALLDEPTH = 3, /* more than RF_BPF_MAX_FRAMES nested frames */
  RF_BPF_BADINSN = 4,   /* reached an instruction slot that is not executable (end of code) */
  RF_BPF_HELPER = 5,    /* a helper refused its arguments fatally (bad callback, bad record) */
};

/* Reasons rf_bpf_prog_create rejects a stream (returned negated; err_pc says where). */
enum rf_bpf_reject {
  RF_BPF_REJ_EMPTY = 1,
  RF_BPF_REJ_TOO_LONG = 2,
  RF_BPF_REJ_BAD_OPCODE = 3,
  RF_BPF_REJ_BAD_REGISTER = 4,
  RF_BPF_REJ_JUMP_OUT_OF_RANGE = 5,
  RF_BPF_REJ_JUMP_INTO_LDIMM64 = 6,
  RF_BPF_REJ_BAD_LDIMM64 = 7,
  RF_BPF_REJ_BAD_MAP_INDEX = 8,
  RF_BPF_REJ_BAD_CALL_TARGET = 9,
  RF_BPF_REJ_UNKNOWN_HELPER = 10,
  RF_BPF_REJ_WRITE_TO_R10 = 11,
};

#define RF_BPF_MAX_INSNS 1000000u   /* like the kernel's BPF_COMPLEXITY_LIMIT_INSNS */
#define RF_BPF_MAX_MAPS 64u         /* like the kernel's MAX_USED_MAPS */
#define RF_BPF_STACK_SIZE 512u      /* bytes per frame */
#define RF_BPF_MAX_FRAMES 8u        /* like the kernel's MAX_CALL_FRAMES */
#define RF_BPF_MAX_REGIONS 16u      /* embedder regions per run */
#define RF_BPF_MAX_RESERVATIONS 16u /* ring buffer records a run may hold reserved at once */
#define RF_BPF_DEFAULT_BUDGET (1ull << 24) /* used when rf_bpf_run.budget == 0 (JS passes 1e6) */
#define RF_BPF_LOOP_MAX (1u << 23)  /* bpf_loop nr_loops limit (-E2BIG above) */

/* Budget charging: bytes of helper work per instruction of budget. Chosen by measurement on the
 * development machine (AMD EPYC, 2 cores, tools/charge-bench.ts) so that a charged instruction
 * costs about what an interpreted one does (~1 ns) for the slowest per-byte work of a helper:
 * copies that miss the cache (32 MiB memmove: 5-6 bytes/ns, 1.1-1.4 ns per charged instruction;
 * in-cache copies run at 35-55 bytes/ns, overcharged). */
#define RF_BPF_CHARGE_BYTES 8u

/* ---- maps -------------------------------------------------------------------------------- */

typedef struct rf_bpf_map rf_bpf_map;

/* Creates a map with one reference. -EINVAL (bad type/sizes/flags; ringbuf size not a power of
 * two multiple of the page size), -E2BIG (too large), -ENOMEM.
 * array: key_size 4, element stride round_up(value_size, 8), zero-filled.
 * hash: fixed capacity max_entries, preallocated. ringbuf: key/value size 0, max_entries bytes. */
int rf_bpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                      uint32_t flags, rf_bpf_map **out);
void rf_bpf_map_get(rf_bpf_map *m);
void rf_bpf_map_put(rf_bpf_map *m); /* frees on the last reference */

uint32_t rf_bpf_map_type(const rf_bpf_map *m);
uint32_t rf_bpf_map_key_size(const rf_bpf_map *m);
uint32_t rf_bpf_map_value_size(const rf_bpf_map *m);
uint32_t rf_bpf_map_max_entries(const rf_bpf_map *m);
/* Array maps: the value storage (max_entries * stride bytes); NULL for other types. */
void *rf_bpf_map_values(rf_bpf_map *m, size_t *len);

/* User-side map operations (the same semantics as bpf(2) BPF_MAP_*_ELEM). */
int rf_bpf_map_lookup(rf_bpf_map *m, const void *key, void *value);               /* 0, -ENOENT, -EINVAL */
int rf_bpf_map_update(rf_bpf_map *m, const void *key, const void *value, uint64_t flags);
int rf_bpf_map_delete(rf_bpf_map *m, const void *key);                            /* 0, -ENOENT, -EINVAL */
int rf_bpf_map_next_key(rf_bpf_map *m, const void *key /* NULL: first */, void *next);
/* Ring buffer consumer: copies the oldest committed record (returns its length), 0 when none is
 * ready, -ENOSPC (record kept) when cap is too small, -EINVAL for other map types. */
long rf_bpf_ringbuf_read(rf_bpf_map *m, void *dst, size_t cap);

/* ---- programs ---------------------------------------------------------------------------- */

typedef struct rf_bpf_prog rf_bpf_prog;

/* Creates a program from n 8-byte instructions (copied). maps[i] is what ld_imm64 src 1/5 and
 * 2/6 with imm = i refer to; the program takes a reference on each. Returns 0, -RF_BPF_REJ_*
 * (with *err_pc set), -EINVAL or -ENOMEM. The program starts with one reference. */
int rf_bpf_prog_create(const void *insns, uint32_t n, rf_bpf_map *const *maps, uint32_t nmaps,
                       uint32_t helper_set, rf_bpf_prog **out, uint32_t *err_pc);
void rf_bpf_prog_get(rf_bpf_prog *p);
void rf_bpf_prog_put(rf_bpf_prog *p); /* frees on the last reference, dropping its map refs */
uint32_t rf_bpf_prog_len(const rf_bpf_prog *p);

/* ---- runs -------------------------------------------------------------------------------- */

typedef struct rf_bpf_run rf_bpf_run;

typedef struct rf_bpf_region {
  uint64_t base;     /* host address */
  uint64_t len;      /* bytes */
  uint32_t writable; /* 0: loads only */
  uint32_t _pad;
} rf_bpf_region;

/* A region a run touched recently (the interpreter's hit cache, see rf_bpf_run.hit). */
#define RF_BPF_HIT_CACHE 4u
typedef struct rf_bpf_hit { uint64_t base, len; uint32_t writable, _pad; } rf_bpf_hit;

/* Helper ids the engine does not implement (RF_BPF_HELPERS_RING: 164-167, 148) are sent here.
 * args = r1..r5. Set *r0 and return RF_BPF_OK to continue, or another status to stop the run
 * (use rf_bpf_fault() for a bad pointer). Validate every pointer with rf_bpf_check(). */
typedef int (*rf_bpf_helper_fn)(rf_bpf_run *run, uint32_t id, const uint64_t args[5], uint64_t *r0);

struct rf_bpf_run {
  /* in */
  uint64_t args[5];   /* r1..r5 at entry */
  uint64_t budget;    /* max instructions (0: RF_BPF_DEFAULT_BUDGET), helper charges included */
  void *embedder;     /* for the helper callback */
  rf_bpf_helper_fn helper; /* NULL: embedder helper ids return -ENOSYS */
  uint64_t prandom;   /* in/out: bpf_get_prandom_u32 state (xorshift64*); 0: seeded at first use */
  uint32_t nregions;
  rf_bpf_region regions[RF_BPF_MAX_REGIONS];
  /* out */
  int status;          /* enum rf_bpf_status, also returned by rf_bpf_run() */
  uint64_t r0;
  uint64_t insns;      /* instructions executed plus helper charges (budget when it ran out) */
  uint64_t fault_pc;   /* instruction index of the fault (MEMFAULT, HELPER, CALLDEPTH, BADINSN) */
  uint64_t fault_addr; /* faulting address (MEMFAULT) or offending value (HELPER) */
  /* engine-private, valid during rf_bpf_run() */
  void *priv;
  /* engine-private: the regions the last run hit, reused by the next run of the same program.
   * rf_bpf_run_init and rf_bpf_run_add_region forget them: change regions[] only through those. */
  uint64_t hit_prog;
  rf_bpf_hit hit[RF_BPF_HIT_CACHE];
};

/* Zeroes the run (no regions, no helper, default budget). */
void rf_bpf_run_init(rf_bpf_run *run);
/* Adds a region the program may access. 0, -E2BIG (RF_BPF_MAX_REGIONS), -EINVAL (wraps). */
int rf_bpf_run_add_region(rf_bpf_run *run, const void *base, uint64_t len, bool writable);
/* Runs prog; returns run->status. Reentrant; the run may be reused after rf_bpf_run_init or
 * after changing its inputs. */
int rf_bpf_prog_run(const rf_bpf_prog *prog, rf_bpf_run *run);

/* For helpers: the host pointer for [addr, addr+len) if the whole range lies in one region of
 * the current run (stack frames, maps, reservations, embedder regions) with the needed
 * permission, else NULL. len 0 is always valid. Outside a run only embedder regions count. */
void *rf_bpf_check(rf_bpf_run *run, uint64_t addr, uint64_t len, bool write);
/* For helpers: records a memory fault at addr; returns RF_BPF_MEMFAULT (return it). */
int rf_bpf_fault(rf_bpf_run *run, uint64_t addr);
/* For helpers (the engine's and the embedder's): charges insns instructions of the run's budget
 * for work the helper is about to do (use rf_bpf_bytes_cost() for bytes). Returns true when the
 * run may go on; false when the charge exceeds what is left of the budget: the helper should
 * then return without doing the work (any r0 and RF_BPF_OK), and the run stops right after it
 * with RF_BPF_BUDGET, insns = budget, fault_pc = the call, in the interpreter and the JIT alike.
 * Charges are added to run->insns. Outside a run it does nothing and returns true. */
bool rf_bpf_charge(rf_bpf_run *run, uint64_t insns);
/* Instructions of budget for n bytes of helper work (copied, compared, hashed, formatted). */
static inline uint64_t rf_bpf_bytes_cost(uint64_t n) { return n / RF_BPF_CHARGE_BYTES; }

/* ---- trace output ------------------------------------------------------------------------ */

/* A bounded buffer for bpf_trace_printk output (RF_BPF_TRACE_CAP bytes; a line that does not fit
 * is dropped and the helper returns -ENOSPC). The embedder owns it (one per Node environment in
 * the addon) and gives it to programs; refcounted, safe to share between threads. */
#define RF_BPF_TRACE_CAP (64u * 1024u)
typedef struct rf_bpf_trace rf_bpf_trace;
/* NULL when out of memory. One reference. */
rf_bpf_trace *rf_bpf_trace_create(void);
void rf_bpf_trace_get(rf_bpf_trace *t);
void rf_bpf_trace_put(rf_bpf_trace *t); /* frees on the last reference */
/* Drains pending output into dst; returns bytes copied. */
size_t rf_bpf_trace_read(rf_bpf_trace *t, void *dst, size_t cap);
/* Where p's bpf_trace_printk writes (takes a reference; NULL: nowhere, the helper returns
 * -ENOSPC). Call before p is run or shared: programs are otherwise immutable. */
void rf_bpf_prog_set_trace(rf_bpf_prog *p, rf_bpf_trace *t);

#ifdef __cplusplus
}
#endif
#endif
