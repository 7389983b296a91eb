/* ringflow/buffers.h: provided buffers in completion programs (include after <ringflow/bpf.h>).
 *
 * JS grants a ring-mapped BufferGroup to programs with ring.allowBufferGroup(group). A RECV with
 * IOSQE_BUFFER_SELECT and buf_group = the group's id (addr 0; len 0 = the whole buffer, or a cap)
 * then gets a buffer the kernel picks; its CQE names it (IORING_CQE_F_BUFFER, id = flags >> 16)
 * and the buffer is the programs' from that CQE until rf_buf_return gives it back: the engine
 * writes the ring entry itself (a program never writes a buffer ring). While programs hold it they
 * may read it (rf_buf_read) and name it in what the kernel uses while a request runs (a SEND's
 * buffer): such a request pins it, and giving it back before that request ends is -EBUSY.
 * docs/completion-programs.md "Provided buffers in programs"; helper table: src/programs/helpers.ts. */
#ifndef RINGFLOW_BUFFERS_H
#define RINGFLOW_BUFFERS_H

#include "bpf.h"

/* Gives buffer bid back to granted group `group`: 0, -ENOENT (group not granted), -EINVAL (no
 * such buffer), -EPERM (programs do not hold it: the kernel's, JS's, or given back already),
 * -EBUSY (a live program request still uses it). */
static long (*rf_buf_return)(void *ctx, __u32 group, __u32 bid) = (void *)1001;
/* Copies size bytes from `offset` of buffer bid into dst: 0, or dst zeroed and -ENOENT / -EINVAL /
 * -EPERM (programs do not hold it) / -EFAULT (past the buffer, or past the pieces of an
 * incremental buffer the kernel handed to programs so far). */
static long (*rf_buf_read)(void *dst, __u32 size, __u32 group, __u32 bid, __u32 offset) = (void *)1002;
/* The buffer id of a CQE with IORING_CQE_F_BUFFER. */
#define RF_CQE_BUFFER_SHIFT 16

#endif /* RINGFLOW_BUFFERS_H */
