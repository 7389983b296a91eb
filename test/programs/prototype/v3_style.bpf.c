/* The scenarios of the 2021 prototype's bpf_v3 examples (isilence/liburing bpf_v3,
 * examples/bpf), written for ringflow in that tree's style: one include in place of
 * "liburing_bpf.h", the helpers under their bpf_v3 names, io_uring_prep_* from the header,
 * programs in plain SEC("iouring") returning IORING_BPF_OK or IORING_BPF_WAIT. The same results
 * as v2_style.bpf.c (test/prototype.test.ts). */
#include <ringflow/liburing_bpf.h>
#include "uring.h"

#define MAIN_CQ 0
#define AUX_CQ 1

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

SEC("iouring")
int test(struct io_uring_bpf_ctx *ctx)
{
	struct io_uring_sqe sqe;
	struct io_uring_cqe cqe;
	u64 *mem = (u64 *)(unsigned long)ctx->user_data;
	unsigned long val;
	long r;

	/* the second run, after the wait below */
	if (get(10))
		return IORING_BPF_OK;
	put(10, 1);
	put(0, 11);

	bpf_io_uring_emit_cqe(ctx, MAIN_CQ, 3, 13, 0);
	bpf_io_uring_emit_cqe(ctx, AUX_CQ, 4, 17, 0);
	bpf_io_uring_emit_cqe(ctx, AUX_CQ, 5, 19, 0);
	r = bpf_io_uring_reap_cqe(ctx, AUX_CQ, &cqe, sizeof(cqe));
	put(1, r ? r : cqe.user_data);
	r = bpf_io_uring_reap_cqe(ctx, AUX_CQ, &cqe, sizeof(cqe));
	put(2, r ? r : cqe.user_data);

	io_uring_prep_nop(&sqe);
	io_uring_sqe_set_data(&sqe, (void *)2);
	r = bpf_io_uring_submit(ctx, &sqe, sizeof(sqe));
	put(3, r < 0 ? r : 21);

	put(4, ctx->user_data);
	bpf_copy_from_user(&val, sizeof(val), mem);
	put(5, val);
	val = 31;
	bpf_copy_to_user(mem, &val, sizeof(val));

	ctx->wait_idx = MAIN_CQ;
	ctx->wait_nr = 1;
	return IORING_BPF_WAIT;
}

SEC("iouring")
int counting(struct io_uring_bpf_ctx *ctx)
{
	struct counting_ctx *c = (void *)(unsigned long)ctx->user_data;
	struct io_uring_sqe sqe;
	struct io_uring_cqe cqe;
	unsigned long n = get(0);

	if (n > 10)
		return IORING_BPF_OK;
	put(0, n + 1);
	if (n) {
		long r = bpf_io_uring_reap_cqe(ctx, AUX_CQ, &cqe, sizeof(cqe));
		put(1, r ? r : cqe.user_data);
	}
	io_uring_prep_timeout(&sqe, &c->ts, 0, 0);
	sqe.user_data = 5;
	sqe.cq_idx = AUX_CQ;
	bpf_io_uring_submit(ctx, &sqe, sizeof(sqe));
	ctx->wait_idx = AUX_CQ;
	ctx->wait_nr = 1;
	return IORING_BPF_WAIT;
}

SEC("iouring")
int pingpong(struct io_uring_bpf_ctx *ctx)
{
	struct ping_ctx *p = (void *)(unsigned long)ctx->user_data;
	struct io_uring_cqe cqe;
	int me, v;

	bpf_copy_from_user(&me, sizeof(me), &p->idx);
	if (!get(me)) {
		put(me, 1);
	} else {
		bpf_io_uring_reap_cqe(ctx, me + 1, &cqe, sizeof(cqe));
		v = cqe.user_data;
		bpf_io_uring_emit_cqe(ctx, (me ^ 1) + 1, v + 1, 0, 0);
		if (v >= 20) {
			put(5 + me, v);
			return IORING_BPF_OK;
		}
	}
	ctx->wait_idx = me + 1;
	ctx->wait_nr = 1;
	return IORING_BPF_WAIT;
}

SEC("iouring")
int write_file(struct io_uring_bpf_ctx *ctx)
{
	void *buf = (void *)(unsigned long)ctx->user_data;
	struct io_uring_sqe sqe;
	struct io_uring_cqe cqe;
	u64 inflight = get(0), next = get(1), i;

	for (i = 0; i < FILL_QD; i++)
		if (inflight) {
			bpf_io_uring_reap_cqe(ctx, AUX_CQ, &cqe, sizeof(cqe));
			inflight--;
		}
	for (i = 0; i < FILL_QD && inflight < FILL_QD && next < FILL_BLOCKS; i++) {
		io_uring_prep_write(&sqe, 0, buf, FILL_BLOCK_SIZE, next * FILL_BLOCK_SIZE);
		io_uring_sqe_set_flags(&sqe, IOSQE_FIXED_FILE);
		sqe.cq_idx = AUX_CQ;
		bpf_io_uring_submit(ctx, &sqe, sizeof(sqe));
		inflight++;
		next++;
	}
	put(1, next);
	put(0, inflight);
	if (!inflight)
		return IORING_BPF_OK;
	ctx->wait_idx = AUX_CQ;
	ctx->wait_nr = inflight;
	return IORING_BPF_WAIT;
}

char LICENSE[] SEC("license") = "GPL";
