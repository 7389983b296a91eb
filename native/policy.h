/* The program policy's own state (src/ops/policy.ts derives and serialises it; policy.c loads and
 * re-validates it; engine_policy.c interprets it for every SQE a program submits). Plain C: no
 * Node-API here (policy_napi.c binds it). One per engine (rf_engine.policy). */
#ifndef RINGFLOW_POLICY_H
#define RINGFLOW_POLICY_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct rf_engine;

/* serialised form (little-endian), version 1 */
#define RF_POLICY_MAGIC 0x4c504652u /* 'RFPL' */
#define RF_POLICY_VERSION 2
#define RF_POLICY_HEADER 80
#define RF_POLICY_OP 16
#define RF_POLICY_RULE 24
#define RF_POLICY_MEM 32
#define RF_POLICY_MAX_SLOTS 16
#define RF_NO_SLOT 0xff
#define RF_NO_MEM 0xffff
/* the most a submit-time pointer may make the engine copy, and a path */
#define RF_POLICY_MAX_COPY 65536u
#define RF_POLICY_MAX_PATH 4096u
/* pointers one SQE may hold (the engine plans their copies on its stack) */
#define RF_POLICY_MAX_MEMS 8

enum { RF_RULE_ANY = 0, RF_RULE_ZERO, RF_RULE_EQ, RF_RULE_MASK, RF_RULE_REQUIRE, RF_RULE_FD, RF_RULE_GRANT,
       RF_RULE_FD_OR_GRANT, RF_RULE_PROGRAM, RF_RULE_MEM, RF_RULE_ZERO_TAIL, RF_RULE_GROUP, RF_RULE_KINDS };
enum { RF_SIZE_BYTES = 0, RF_SIZE_SLOT, RF_SIZE_FIELD, RF_SIZE_CSTRING };
enum { RF_MEM_READ = 1, RF_MEM_WRITE = 2 };
enum { RF_MEM_SUBMIT = 0, RF_MEM_COMPLETE = 1 };
#define RF_MEM_EMPTY 1u
enum { RF_ACTION_NONE = 0, RF_ACTION_OPEN_BENEATH = 1 };
/* RF_RULE_FD's arg: with IOSQE_FIXED_FILE the field names a registered-file-table slot */
#define RF_FD_SLOT 1u
#define RF_IOSQE_FIXED_FILE 1u
#define RF_IOSQE_BUFFER_SELECT 32u
/* the slot table may name the IOSQE_* byte (offset 1, width 1), for conditions only */
#define RF_SQE_FLAGS_OFFSET 1
enum { RF_EFFECT_NONE = 0, RF_EFFECT_OPENS = 1, RF_EFFECT_CLOSES = 2 };

typedef struct {
  uint8_t kind, slot, cond_slot, cond_neg;
  uint16_t at;
  uint8_t width;
  uint64_t cond_bits, arg;
} rf_policy_rule;

typedef struct {
  uint8_t access, when, size_kind, size_slot, flags;
  uint16_t size_at;
  uint32_t size_value, min, max, stride;
  uint16_t first_sub, nsub;
} rf_policy_mem;

typedef struct {
  uint8_t opcode, sqe_flags, action, effect;
  uint16_t first_rule, nrules, how_mem;
  uint8_t open_flags_slot, open_mode_slot;
  /* the request posts more than one CQE (multishot) when (slot & multi_bits) != 0 (RF_NO_SLOT: never) */
  uint8_t multi_slot;
  uint16_t multi_bits;
} rf_policy_op;

typedef struct { int fd; bool write; } rf_grant;
typedef struct { int32_t name, real; } rf_fd_dup; /* the fd number programs use → the engine's dup */

struct rf_policy {
  /* the loaded policy */
  uint8_t nslots;
  struct { uint8_t offset, width; } slots[RF_POLICY_MAX_SLOTS];
  rf_policy_op *ops;
  uint32_t nops;
  rf_policy_rule *rules;
  uint32_t nrules;
  rf_policy_mem *mems;
  uint32_t nmems;
  int16_t by_opcode[256]; /* index into ops, -1: refused */
  uint8_t openat2;
  uint64_t read_flags, write_flags, forced_flags, required_resolve, allowed_resolve, mode_mask, create_flags;
  /* the engine's capabilities: directories granted (O_PATH dirfds it owns) */
  rf_grant *grants;
  uint32_t ngrants, capgrants;
  /* allowFd: the engine's own dup of each fd JS allowed, and dups no longer named (closed with the engine) */
  rf_fd_dup *dups;
  uint32_t ndups, capdups;
  int *retired;
  uint32_t nretired, capretired;
  /* slots of the ring's registered file table programs may name with IOSQE_FIXED_FILE
   * (ring.allowFd(fixed(i))), and the slots accepted program requests named while any such
   * request is alive (JS may not change those: rf_policy_slots_change) */
  uint64_t *slot_allowed, *slot_named;
  uint32_t slotcap; /* bits of each */
};
typedef struct rf_policy rf_policy;

/* Parses and validates a serialised policy into e->policy (only once per engine). 0 or -errno
 * (-EINVAL: malformed, -EEXIST: already loaded, -ENOMEM). */
int rf_policy_load(struct rf_engine *e, const uint8_t *bytes, size_t len);
/* Only checks a serialised policy (tests, fuzzing): 0 or -EINVAL. */
int rf_policy_validate(const uint8_t *bytes, size_t len);
/* Closes the grants and dups and frees the policy (engine teardown). */
void rf_policy_free(struct rf_engine *e);
/* Takes ownership of an O_PATH|O_DIRECTORY fd as a grant. 0 or -errno. */
int rf_policy_grant(struct rf_engine *e, int dirfd, bool write);
rf_grant *rf_policy_grant_of(rf_policy *p, int32_t fd);
/* allowFd(fd, on): on = the engine dups fd and programs naming fd reach that dup. 0 or -errno. */
int rf_policy_allow_fd(struct rf_engine *e, int32_t fd, bool on);
/* The fd the kernel gets for a program's fd (its dup, or itself); -1 when programs may not name it. */
int32_t rf_policy_fd(struct rf_engine *e, int32_t fd);
/* Slots: the most a table has (IORING_MAX_FIXED_FILES, 6.18). */
#define RF_MAX_FIXED_FILES (1u << 20)
/* allowFd(fixed(slot), on). 0 or -errno. */
int rf_policy_allow_slot(struct rf_engine *e, uint32_t slot, bool on);
bool rf_policy_slot_allowed(struct rf_engine *e, int32_t slot);
/* An accepted program request names slot: it is frozen until no such request is alive. */
void rf_policy_slot_named(struct rf_engine *e, int32_t slot);
/* JS is about to change slots [start, start + count) of the table (count UINT32_MAX: all of it):
 * -EBUSY while a live program request named one of them; else their allowances are taken back. */
int rf_policy_slots_change(struct rf_engine *e, uint32_t start, uint32_t count);
/* The kernel put another file into `slot` behind JS's back (another ring's msg_ring SEND_FD into a
 * slot it named): programs lose the slot's grant, whatever requests named it. */
void rf_policy_slot_replaced(struct rf_engine *e, uint32_t slot);
/* Is a program's SQE (accepted by the policy) a multishot request, by its op's declaration? */
bool rf_policy_multishot(const rf_policy *p, const uint8_t *sqe);
/* A program's request completed: an open's new fd becomes allowed (closed at once when its CQE is
 * `delivered` to nobody: dropped by a full CQ or skipped), a close's fd stops being. */
void rf_policy_completed(struct rf_engine *e, uint8_t opcode, int32_t fd, int32_t res, bool delivered);

#endif
