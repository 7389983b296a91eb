/* The scenarios of the 2021 prototype's ebpf_v2 examples (isilence/liburing ebpf_v2,
 * examples/bpf), written for ringflow in that tree's style: one include, the ring helpers declared
 * by the program itself with the ebpf_v2 ids, the SQE tail zeroed through __pad2[3], programs in
 * SEC("iouring.s/") that always return 0 and wait by setting wait_nr, a legacy SEC("maps") map.
 * test/prototype.test.ts runs them with the results the prototype's host program expects. */
#include <ringflow/prototype.h>
#include "uring.h"

static long (*iouring_queue_sqe)(void *ctx, struct io_uring_sqe *sqe, u32 len) = (void *)164;
static long (*iouring_emit_cqe)(void *ctx, u32 cq, u64 data, u32 res, u32 flags) = (void *)165;
static long (*iouring_reap_cqe)(void *ctx, u32 cq, struct io_uring_cqe *cqe, u32 len) = (void *)166;
static long (*bpf_copy_to_user)(void *user_ptr, const void *src, __u32 size) = (void *)167;

#define IOSQE_FIXED_FILE (1U << IOSQE_FIXED_FILE_BIT)

/* slot k of the result array the host reads (unsigned long values) */
struct bpf_map_def SEC("maps") arr = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(u32),
	.value_size = sizeof(unsigned long),
	.max_entries = 256,
};

static void put(u32 k, unsigned long v)
{
	unsigned long *p = bpf_map_lookup_elem(&arr, &k);

	if (p)
		*p = v;
}

static unsigned long get(u32 k)
{
	unsigned long *p = bpf_map_lookup_elem(&arr, &k);

	return p ? *p : -1UL;
}

/* fills every byte of the SQE: the fields, then the 24-byte tail as __pad2 */
static inline void prep(struct io_uring_sqe *sqe, int op, int fd, const void *addr, unsigned len, __u64 off)
{
	sqe->opcode = op;
	sqe->flags = 0;
	sqe->ioprio = 0;
	sqe->fd = fd;
	sqe->off = off;
	sqe->addr = (unsigned long)addr;
	sqe->len = len;
	sqe->rw_flags = 0;
	sqe->user_data = 0;
	sqe->__pad2[0] = 0;
	sqe->__pad2[1] = 0;
	sqe->__pad2[2] = 0;
}

#define DONE_SLOT 10

/* test: CQEs emitted to CQ 0 and CQ 1, the latter reaped; a NOP submitted; user memory read and
 * written; then a wait for one CQE on CQ 0, after which the second run ends the request. */
SEC("iouring.s/")
int test(struct io_uring_bpf_ctx *ctx)
{
	struct io_uring_sqe sqe;
	struct io_uring_cqe cqe = {};
	u64 *mem = (u64 *)(unsigned long)ctx->user_data;
	unsigned long val;
	long r;

	if (get(DONE_SLOT))
		return 0;
	put(DONE_SLOT, 1);
	put(0, 11);

	iouring_emit_cqe(ctx, 0, 3, 13, 0);
	iouring_emit_cqe(ctx, 1, 4, 17, 0);
	iouring_emit_cqe(ctx, 1, 5, 19, 0);
	r = iouring_reap_cqe(ctx, 1, &cqe, sizeof(cqe));
	put(1, r ? r : cqe.user_data);
	r = iouring_reap_cqe(ctx, 1, &cqe, sizeof(cqe));
	put(2, r ? r : cqe.user_data);

	prep(&sqe, IORING_OP_NOP, -1, 0, 0, 0);
	sqe.user_data = 2;
	r = iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
	put(3, r < 0 ? r : 21);

	put(4, ctx->user_data);
	bpf_copy_from_user(&val, sizeof(val), mem);
	put(5, val);
	val = 31;
	bpf_copy_to_user(mem, &val, sizeof(val));

	ctx->wait_idx = 0;
	ctx->wait_nr = 1;
	return 0;
}

/* counting: one timeout at a time on CQ 1, 11 of them; each run reaps the previous one */
SEC("iouring.s/")
int counting(struct io_uring_bpf_ctx *ctx)
{
	struct counting_ctx *c = (void *)(unsigned long)ctx->user_data;
	struct io_uring_sqe sqe;
	struct io_uring_cqe cqe;
	unsigned long n = get(0);

	if (n > 10)
		return 0;
	put(0, n + 1);
	if (n) {
		long r = iouring_reap_cqe(ctx, 1, &cqe, sizeof(cqe));
		put(1, r ? r : cqe.user_data);
	}
	prep(&sqe, IORING_OP_TIMEOUT, -1, &c->ts, 1, 0);
	sqe.timeout_flags = 0;
	sqe.user_data = 5;
	sqe.cq_idx = 1;
	iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
	ctx->wait_idx = 1;
	ctx->wait_nr = 1;
	return 0;
}

/* pingpong: two requests of this program; player i waits on CQ i+1, and answers each value v
 * found there with v + 1 on the other's CQ, until it has seen 20 or more. */
SEC("iouring.s/")
int pingpong(struct io_uring_bpf_ctx *ctx)
{
	struct ping_ctx *p = (void *)(unsigned long)ctx->user_data;
	struct io_uring_cqe cqe;
	int me, v;

	bpf_copy_from_user(&me, sizeof(me), &p->idx);
	if (get(me)) {
		iouring_reap_cqe(ctx, me + 1, &cqe, sizeof(cqe));
		v = cqe.user_data;
		iouring_emit_cqe(ctx, (me ^ 1) + 1, v + 1, 0, 0);
		if (v >= 20) {
			put(5 + me, v);
			return 0;
		}
	} else {
		put(me, 1);
	}
	ctx->wait_idx = me + 1;
	ctx->wait_nr = 1;
	return 0;
}

/* write_file: FILL_BLOCKS blocks from user memory to registered file 0, FILL_QD at a time, their
 * completions on CQ 1; slot 0 = writes in flight, slot 1 = next block */
SEC("iouring.s/")
int write_file(struct io_uring_bpf_ctx *ctx)
{
	void *buf = (void *)(unsigned long)ctx->user_data;
	struct io_uring_sqe sqe;
	struct io_uring_cqe cqe;
	u64 inflight = get(0), next = get(1), i;

	for (i = 0; i < FILL_QD; i++)
		if (inflight) {
			iouring_reap_cqe(ctx, 1, &cqe, sizeof(cqe));
			inflight--;
		}
	for (i = 0; i < FILL_QD && inflight < FILL_QD && next < FILL_BLOCKS; i++) {
		prep(&sqe, IORING_OP_WRITE, 0, buf, FILL_BLOCK_SIZE, next * FILL_BLOCK_SIZE);
		sqe.flags = IOSQE_FIXED_FILE;
		sqe.cq_idx = 1;
		iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
		inflight++;
		next++;
	}
	put(1, next);
	put(0, inflight);
	ctx->wait_idx = 1;
	ctx->wait_nr = inflight;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
