/* Completion-program engine: the 2021 io_uring BPF prototype's model (program requests, several
 * completion queues, helpers 164-167/148, waiting on a CQ) implemented next to the ring, in the
 * ring's thread. See docs/completion-programs.md for the contract and docs/security.md for what
 * a program can reach. Plain C: no Node-API, no libuv, no global state; the bindings
 * (engine_napi.c) sit on top and reach it only through this header. */
#ifndef RINGFLOW_ENGINE_H
#define RINGFLOW_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct rf_ring;
struct rf_mem;
struct rf_bpf_prog;
typedef struct rf_engine rf_engine;

/* ringflow's opcode for a program request (the prototype's 37 is MKDIRAT on 6.18). */
#define RF_OP_BPF 0xA0

/* An engine for ring r: JS's CQ 0 and the programs' CQ 0 with cq0_entries each (power of two),
 * counters, and `budget` instructions per program run. NULL with *err = -errno on failure. */
rf_engine *rf_engine_create(struct rf_ring *r, uint32_t cq0_entries, uint64_t budget, int *err);
/* Frees everything the engine owns (its references to CQ and region memory: JS's ArrayBuffers
 * over them keep theirs). Waiting program requests complete first, as rf_engine_shutdown says. */
void rf_engine_destroy(rf_engine *e);
/* The opcodes whose SQE names another request by user_data in addr (cancel, timeout and poll
 * remove/update: the opcode table's namesRequest). Requests get the engine's tags in the kernel, so
 * such a target is translated, within its submitter's own requests. */
void rf_engine_set_naming(rf_engine *e, const uint8_t *opcodes, uint32_t n);
/* The hook the bindings use to be called again on the next loop turn when a pass leaves work. */
void rf_engine_set_turn_hook(rf_engine *e, void (*want_turn)(void *data, bool more), void *data);
void *rf_engine_turn_hook_data(rf_engine *e);

/* Adds an extra CQ (entries: power of two in [1, 65536]); its index, or -errno. */
int rf_engine_add_cq(rf_engine *e, uint32_t entries);
/* The memory of CQ i (0: the programs' CQ 0), of JS's CQ 0 and of the counters (engine_ctl). */
struct rf_mem *rf_engine_cq_mem(rf_engine *e, uint32_t i);
struct rf_mem *rf_engine_js_cq_mem(rf_engine *e);
struct rf_mem *rf_engine_ctl_mem(rf_engine *e);
/* Puts a program in the ring's table (takes a reference); its index, or -errno. */
int rf_engine_add_prog(rf_engine *e, struct rf_bpf_prog *p);
/* A new zeroed region of len bytes that programs may read (and write when writable); its id, or
 * -errno. *mem_out is the region's memory (the engine keeps its own reference). */
int rf_engine_add_region(rf_engine *e, size_t len, bool writable, struct rf_mem **mem_out);

/* Rewrites the SQEs in [from, to) (user_data remapping, linked program requests → NOP stand-ins,
 * unlinked ones queued to run, chains after program requests cut out), appends staged program
 * SQEs when `append`, and returns the new tail to publish. */
uint32_t rf_engine_prepare(rf_engine *e, uint32_t from, uint32_t to, bool append);
/* JS's submit on an engine ring: prepares the SQEs up to `tail`, appends staged program SQEs,
 * enters the kernel once (not at all when nothing needs it), then runs a reaping pass. JS's SQEs
 * count as accepted whatever enter says (they stay published for the next enter). Returns how many
 * JS SQEs it took, or -EINVAL for a tail behind the published one or past the SQ. */
int rf_engine_submit(rf_engine *e, uint32_t tail, uint32_t min_complete, uint32_t flags);
/* One reaping pass: kernel CQ → per-CQ queues, program runs, staged submissions. Returns true
 * when JS has completions to read (JS's CQ 0, or the programs' CQ 0 while JS listens to it). */
bool rf_engine_pass(rf_engine *e);
/* A pass at the start of an event-loop turn (the watcher, the idle hook, JS's submit): program
 * runs and instructions are counted from zero, so a turn runs at most RUNS_PER_TURN programs and
 * about one run's budget of instructions beyond `budget` before the loop gets control back. */
bool rf_engine_turn(rf_engine *e);
/* Ring closing: waiting and not-yet-run program requests complete with -EAGAIN, held-back chains
 * and staged SQEs fail with -ECANCELED, and nothing new is accepted. */
void rf_engine_shutdown(rf_engine *e);
/* Posts a CQE to CQ `cq` as programs name it (0: the programs' CQ 0; never JS's CQ 0) and wakes
 * the programs waiting on it: the copy of a JS request's completion that asked for one (the `cq`
 * option). 0, -EINVAL (no such CQ), -ENOMEM (the CQ is full: dropped and counted). */
int rf_engine_post(rf_engine *e, uint32_t cq, uint64_t user_data, int32_t res, uint32_t flags);
/* JS read CQ `cq` itself (ring.cq(i)): CQEs parked behind it move in. True when that made programs
 * runnable (they run on the next turn: the bindings' hook is asked for one). */
bool rf_engine_flush_park(rf_engine *e, uint32_t cq);
/* Has the engine work that runs without JS asking (program requests alive, runnable or waiting
 * programs, staged SQEs, JS completions held back)? While it has, the bindings keep the ring alive
 * (GC) whatever JS has in flight. O(1). */
bool rf_engine_busy(const rf_engine *e);

#endif
