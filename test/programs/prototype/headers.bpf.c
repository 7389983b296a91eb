/* Both of ringflow's complete headers in one program: <ringflow/bpf.h> includes
 * <ringflow/liburing_bpf.h>, and a program naming the helpers either way builds
 * (test/prototype-abi.test.ts). */
#include <ringflow/liburing_bpf.h>
#include <ringflow/bpf.h>
#define IOSQE_FIXED_FILE (1U << IOSQE_FIXED_FILE_BIT)

SEC("iouring")
int both(struct io_uring_bpf_ctx *ctx)
{
	struct io_uring_sqe sqe;

	io_uring_prep_nop(&sqe);
	sqe.flags = IOSQE_IO_LINK;
	bpf_io_uring_submit(ctx, &sqe, sizeof(sqe));
	rf_prep_nop(&sqe);
	iouring_queue_sqe(ctx, &sqe, sizeof(sqe));
	return IORING_BPF_OK;
}
