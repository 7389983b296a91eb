/* Shared by the prototype-style programs and their host (test/prototype*.test.ts): ringflow's own
 * equivalent of the prototype examples' "uring.h" (the context structs user_data points at, and
 * the write_file geometry). The originals include it in place of theirs. */
#pragma once

struct counting_ctx {
	struct __kernel_timespec ts; /* period of each timeout */
};

struct ping_ctx {
	int idx; /* 0 or 1: which player, waiting on CQ idx + 1 */
};

#define FILL_QD 4                /* writes in flight */
#define FILL_BLOCKS 16           /* blocks written */
#define FILL_BLOCK_SIZE (4096 * 4)
#define FILL_FSIZE (FILL_BLOCKS * FILL_BLOCK_SIZE)
