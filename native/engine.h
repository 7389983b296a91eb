/* Completion-program engine: the 2021 io_uring BPF prototype's model (program requests, several
 * completion queues, helpers 164-167/148, waiting on a CQ) implemented next to the ring, in the
 * ring's thread. See docs/completion-programs.md for the contract. */
#ifndef RINGFLOW_ENGINE_H
#define RINGFLOW_ENGINE_H

#include "common.h"
#include <uv.h>

struct rf_ring;
typedef struct rf_engine rf_engine;

/* ringflow's opcode for a program request (the prototype's 37 is MKDIRAT on 6.18). */
#define RF_OP_BPF 0xA0

/* Native hooks called from ring.c. */
/* Rewrites the SQEs in [from, to) (user_data remapping, linked program requests → NOP stand-ins,
 * unlinked ones queued to run, chains after program requests cut out), appends staged program SQEs when `append`, and returns the
 * new tail to publish. */
uint32_t rf_engine_prepare(rf_engine *e, uint32_t from, uint32_t to, bool append);
/* JS's submit on an engine ring: prepares the SQEs up to `tail`, appends staged program SQEs,
 * enters the kernel once (not at all when nothing needs it), then runs a reaping pass. JS's SQEs
 * count as accepted whatever enter says (they stay published for the next enter). */
void rf_engine_submit(rf_engine *e, uint32_t tail, uint32_t min_complete, uint32_t flags);
/* One reaping pass: kernel CQ → per-CQ queues, program runs, staged submissions. Returns true
 * when CQ 0 has entries for JS. */
bool rf_engine_pass(rf_engine *e);
void rf_engine_free(rf_engine *e, napi_env env);

void rf_engine_register(napi_env env, napi_value exports);
void rf_policy_register(napi_env env, napi_value exports); /* policy_napi.c */

#endif
