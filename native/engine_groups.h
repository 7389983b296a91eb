/* Provided-buffer groups granted to completion programs (ring.allowBufferGroup; src/buffers/
 * program-groups.ts). The engine keeps a reference to the group's memory (its buffers, its
 * buffer ring and the ownership table it shares with JS's BufferGroup) while it is granted, so
 * nothing a program request may still name is freed under it. Plain C, one engine's state.
 *
 * The ownership table (written by JS's BufferGroup and by the engine; both run on the ring's
 * thread, never at once) is the one source of truth of who holds each buffer:
 *   header (64 bytes): tail u32 @0 (next ring position), available u32 @4 (buffers the kernel
 *   holds), prog_owned u32 @8 (buffers programs hold), prog_returned u32 @12 (buffers programs
 *   gave back, a counter), anomalies u32 @16 (CQEs naming a buffer the kernel did not hold);
 *   then state u8[count] @64, offset u32[count] (bytes the kernel consumed of a buffer it still
 *   holds: incremental groups), pos u32[count] (the buffer's ring position), order u16[entries]
 *   (the bid at each ring position), each array 4-byte aligned (src/buffers/group-state.ts). */
#ifndef RINGFLOW_ENGINE_GROUPS_H
#define RINGFLOW_ENGINE_GROUPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct rf_engine;
struct rf_mem;

/* buffer owners in the state table (buffer-group.ts: GROUP, KERNEL, USER, PROGRAM) */
enum { RF_BUF_GROUP = 0, RF_BUF_KERNEL = 1, RF_BUF_JS = 2, RF_BUF_PROGRAM = 3 };
#define RF_GROUP_HDR 64u
#define RF_CQE_F_BUFFER 1u
#define RF_CQE_F_BUF_MORE (1u << 4)
#define RF_CQE_BUFFER_SHIFT 16

typedef struct rf_group {
  uint16_t bgid;
  bool incremental;
  uint32_t count, size, entries;
  uint8_t *bufs, *ring, *table;
  struct rf_mem *m_bufs, *m_ring, *m_table;
  uint32_t *prog_bytes; /* bytes of a kernel-held buffer handed to program requests so far */
  uint32_t *pins;       /* per buffer: live program requests the kernel reads or writes it for */
  uint32_t nsel;        /* live program requests that selected from the group */
  uint32_t npins;
} rf_group;

/* Bytes of the ownership table for count buffers and a ring of entries. */
size_t rf_group_table_size(uint32_t count, uint32_t entries);
/* Grants group bgid (references taken on the three blocks). 0, -EEXIST, -EINVAL (sizes), -ENOMEM. */
int rf_group_grant(struct rf_engine *e, uint16_t bgid, struct rf_mem *bufs, struct rf_mem *ring, struct rf_mem *table,
                   uint32_t count, uint32_t size, uint32_t entries, bool incremental);
/* Takes the grant back: 0, -ENOENT (not granted), -EBUSY (a live program request selected from it
 * or uses one of its buffers). Buffers programs still hold go back to the kernel (no program can
 * reach the group any more). */
int rf_group_revoke(struct rf_engine *e, uint16_t bgid);
rf_group *rf_group_of(struct rf_engine *e, uint32_t bgid);
/* Engine teardown: drops every grant. */
void rf_group_free_all(struct rf_engine *e);

/* A program request that selects from bgid was accepted / ended. */
void rf_group_select(struct rf_engine *e, uint16_t bgid, int delta);
/* A program request's CQE names a buffer of bgid (flags has IORING_CQE_F_BUFFER): the buffer
 * becomes the programs' (or, incremental with F_BUF_MORE, a piece of it does). `lost`: the CQE
 * reaches nobody (CQE_SKIP_SUCCESS, or dropped by a full CQ): nobody would learn the id, so the
 * buffer goes back at once. */
void rf_group_cqe(struct rf_engine *e, uint16_t bgid, int32_t res, uint32_t flags, bool lost);
/* Memory [addr, addr + n) a program request's kernel use may reach: inside one buffer programs
 * own (write: only a whole buffer they hold). 0 with *pin set (0 when n is 0), or -EFAULT. */
int rf_group_reach(struct rf_engine *e, uint64_t addr, uint64_t n, bool write, uint64_t *pin);
/* Pins taken when a request is accepted, dropped when it ends. */
void rf_group_pin(struct rf_engine *e, uint64_t pin, int delta);
/* Helper 1001: programs give buffer bid back. 0, -ENOENT (group not granted), -EINVAL (no such
 * buffer), -EPERM (programs do not hold it: never given, the kernel's, JS's, returned already),
 * -EBUSY (a live program request still uses it). */
long rf_group_return(struct rf_engine *e, uint32_t bgid, uint32_t bid);
/* Helper 1002: the host pointer to [off, off + n) of buffer bid if programs may read it, else
 * NULL with *err = -ENOENT / -EINVAL / -EPERM / -EFAULT (past what they may read). */
const void *rf_group_readable(struct rf_engine *e, uint32_t bgid, uint32_t bid, uint64_t off, uint64_t n, long *err);

#endif
